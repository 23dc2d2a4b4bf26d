/*
 * announce.h: a gateway's routes to the cluster addresses for a routing
 * daemon (announce.c).
 */
#ifndef SHMNETD_ANNOUNCE_H
#define SHMNETD_ANNOUNCE_H

#include <stdint.h>

#include "conf.h"
#include "shmnet.h"

struct announce;

/* Main thread, for a gateway in route mode, once the global interface
 * (ifindex) and the local one (lifindex) are up and the node (self)
 * claimed.  NULL: out of memory. */
struct announce *announce_new(const struct conf *c, struct shmseg *seg,
		    uint32_t self, int ifindex, int lifindex);
/* Keep each cluster address's route while this node is up and some up
 * node that carries the address listens on it (G6's: some up node
 * listens in IPv6), and with route-local the local network's while this
 * node is up; a may be NULL. */
void		 announce_update(struct announce *a);
/* Withdraw the routes for good, as the daemon starts to leave; whether
 * one was in place.  a may be NULL. */
int		 announce_withdraw(struct announce *a);
/* Withdraw the routes and free; a may be NULL. */
void		 announce_free(struct announce *a);

#endif /* SHMNETD_ANNOUNCE_H */
