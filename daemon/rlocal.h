/*
 * rlocal.h: answers from a node's local address leave by the gateways
 * (rlocal.c).
 */
#ifndef SHMNETD_RLOCAL_H
#define SHMNETD_RLOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "shmnet.h"

struct rlocal;

/* Main thread, for a node that is no gateway, with [global] route-local
 * set, once its local interface (ifindex) has its address addr (network
 * order): the rules.  0, or -errno with err set (nothing left behind). */
int	 rlocal_new(const struct conf *c, struct shmseg *seg, uint32_t self,
	    int ifindex, uint32_t addr, struct rlocal **out, char *err,
	    size_t errlen);
/* Keep the default route over the up gateways; rl may be NULL. */
void	 rlocal_update(struct rlocal *rl);
/* Remove the route and the rules, and free; rl may be NULL. */
void	 rlocal_free(struct rlocal *rl);

#endif /* SHMNETD_RLOCAL_H */
