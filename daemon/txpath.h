/*
 * txpath.h: the transmit thread of a network, TAP -> rings (txpath.c).
 */
#ifndef SHMNETD_TXPATH_H
#define SHMNETD_TXPATH_H

struct handoff;
struct handoff_net;
struct netif;
struct rx;
struct gnet;
struct tx;

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

#endif /* SHMNETD_TXPATH_H */
