/*
 * resize.h: ring growth and shrink of one network (resize.c).
 */
#ifndef SHMNETD_RESIZE_H
#define SHMNETD_RESIZE_H

#include <stdint.h>

#include "shmnet.h"

struct handoff;
struct handoff_net;
struct netif;
struct tx;
struct resize;

/* Main thread, once the node is claimed; NULL without memory. */
struct resize *rs_new(const struct handoff *ho, struct handoff_net *h,
	    const struct netif *ni, struct tx *tx);
void	 rs_free(struct resize *rs);
/* The data threads run (rs_on) or stop (rs_off): nothing is resized, and
 * no thread kicked, while they do not. */
void	 rs_on(struct resize *rs);
void	 rs_off(struct resize *rs);
/* Look after the ring from peer id, whose dirent is de and header h. */
void	 rs_ring(struct resize *rs, uint32_t id, const struct shm_dirent *de,
	    const struct shm_ring_hdr *h);
/* Kick our tx thread if it is attached to a ring of peer id whose
 * directory moved on since; 1 if it did. */
int	 rs_kick(struct resize *rs, uint32_t id);

#endif /* SHMNETD_RESIZE_H */
