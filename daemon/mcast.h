/*
 * mcast.h: multicast on one network of this node (see mcast.c).
 */
#ifndef SHMNETD_MCAST_H
#define SHMNETD_MCAST_H

#include <stdint.h>

struct handoff;
struct handoff_net;
struct netif;
struct cast_rx;
struct shmseg;
struct mc;

/* Main thread, once the node is claimed: the network's multicast state
 * and a reader for each of its multicast rings; 0, or -ENOMEM, or
 * -EBADMSG when a ring's header is corrupt. */
int	 mc_new(const struct handoff *ho, struct handoff_net *h,
	    const struct netif *ni, struct mc **out);
void	 mc_free(struct mc *m);
/* Main thread: re-read the TAP's groups, publish them if they moved. */
void	 mc_refresh(struct mc *m);

/* tx thread: the multicast ring for frame's group, -1 for the broadcast
 * ring; *wake_all when the ring just changed group (its new followers do
 * not know yet). */
int	 mc_tx_ring(struct shmseg *seg, uint32_t net, const uint8_t *frame,
	    int *wake_all);

/* How many multicast rings the network has (any thread: fixed). */
uint32_t mc_rx_rings(const struct mc *m);

/* Main thread, as the rx thread starts: its readers begin at the rings'
 * write positions. */
void	 mc_rx_skip(struct mc *m);
/* rx thread: follow the rings of the groups joined (once a round). */
void	 mc_rx_update(struct mc *m);
/* rx thread: multicast ring i if it is followed, else NULL (i below
 * mc_rx_rings). */
struct cast_rx *mc_rx_followed(struct mc *m, uint32_t i);
/* rx thread: should a frame with this destination reach the TAP? */
int	 mc_wanted(const struct mc *m, const uint8_t *dst);

#endif /* SHMNETD_MCAST_H */
