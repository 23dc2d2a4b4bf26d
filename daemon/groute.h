/*
 * groute.h: policy routing for the cluster addresses (groute.c).
 */
#ifndef SHMNETD_GROUTE_H
#define SHMNETD_GROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "shmnet.h"

struct groute;

/* Main thread, once the global interface (ifindex, ifname) is up and the
 * node (self, of the segment's max_nodes) claimed: sysctls, rules,
 * routes and addresses, all recorded for groute_free to undo.  0, or
 * -errno with err set (then nothing is left behind); *out is set either
 * way and goes to groute_free. */
int	 groute_setup(const struct conf *c, uint32_t self, uint32_t max_nodes,
	    int ifindex, const char *ifname, struct groute **out, char *err,
	    size_t errlen);
/* Main thread, whenever the cluster's address table grows: reach each
 * cluster address of g (index i's at g[i], for the indexes of mask)
 * through the global interface, as this node's own are.  What cannot be
 * set up is said once and tried again at the next call. */
void	 groute_addrs(struct groute *gr, const uint32_t *g, uint32_t mask);
/* Keep one rule per UDP port served on the wildcard address. */
void	 groute_udp_ports(struct groute *gr, const struct shm_listen *l,
	    uint32_t n);
/* Undo everything, newest first, and free; gr may be NULL. */
void	 groute_free(struct groute *gr);

#endif /* SHMNETD_GROUTE_H */
