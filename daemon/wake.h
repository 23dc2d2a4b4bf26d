/*
 * wake.h: ringing other nodes' doorbells.
 */
#ifndef SHMNETD_WAKE_H
#define SHMNETD_WAKE_H

#include <stdint.h>

struct shmseg;

/* Node id's doorbell on net. */
void	 wake_node(struct shmseg *seg, uint32_t net, uint32_t id);
/* Every UP node's but self's. */
void	 wake_all(struct shmseg *seg, uint32_t self, uint32_t net);
/* Every UP node's but self's that follows multicast ring `ring`. */
void	 wake_followers(struct shmseg *seg, uint32_t self, uint32_t net,
	    uint32_t ring);

#endif /* SHMNETD_WAKE_H */
