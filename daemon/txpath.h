/*
 * txpath.h: the transmit thread of a network, TAP -> rings (txpath.c).
 */
#ifndef SHMNETD_TXPATH_H
#define SHMNETD_TXPATH_H

#include <stdint.h>

struct handoff;
struct handoff_net;
struct netif;
struct rx;
struct gnet;
struct tx;
struct txpeer;
struct ring_slot;

/* Main thread, once the node is claimed: the transmit state of a network
 * (gn: the global network's routing, NULL on the local network; rx: the
 * receive side it helps while it polls); NULL without memory. */
struct tx *tx_new(const struct handoff *ho, struct handoff_net *h,
	    const struct netif *ni, struct rx *rx, struct gnet *gn);
/* Make the TAP blocking for reads and start the thread; 0 or -errno. */
int	 tx_start(struct tx *tx);
/* Make the thread look at its rings again (it may sit in read()). */
void	 tx_kick(struct tx *tx);
/* Stop the thread and join it. */
void	 tx_stop(struct tx *tx);
void	 tx_free(struct tx *tx);

/* One frame read straight into ring memory (the tx thread; tests):
 * tx_zc_reserve reserves room for a maximal frame in the ring toward the
 * peer the last unicast frame went to, and returns that peer's transmit
 * state and, in *slot, where to read (slot->desc->vnet, slot->data); or
 * NULL: read into a buffer of one's own.  tx_zc_frame then sends the
 * frame read (zc: what tx_zc_reserve returned). */
struct txpeer *tx_zc_reserve(struct tx *tx, struct ring_slot *slot);
void	 tx_zc_frame(struct tx *tx, struct txpeer *zc, struct ring_slot *slot,
	    const uint8_t *vnet, uint8_t *frame, uint32_t len);

#endif /* SHMNETD_TXPATH_H */
