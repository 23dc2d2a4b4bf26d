/*
 * rxpath.h: the receive thread of a network, rings -> TAP (rxpath.c).
 */
#ifndef SHMNETD_RXPATH_H
#define SHMNETD_RXPATH_H

struct handoff;
struct handoff_net;
struct netif;
struct mc;
struct tapio;
struct rx;

/* Main thread, once the node is claimed: the receive state of a network
 * and its broadcast ring reader; 0, or -ENOMEM, or -EBADMSG when the
 * ring's header is corrupt. */
int	 rx_new(const struct handoff *ho, struct handoff_net *h,
	    const struct netif *ni, struct mc *mc, struct rx **out);
/* Start the thread, its ring readers at the rings' write positions; 0 or
 * -errno.  rx_stop makes it leave and joins it. */
int	 rx_start(struct rx *rx);
void	 rx_stop(struct rx *rx);
void	 rx_free(struct rx *rx);
/* tx thread, while it polls: deliver what waits in the pair rings with
 * its own TAP I/O, unless the rx thread is at it; frames delivered. */
int	 rx_help(struct rx *rx, struct tapio *io);
/* Main thread, every tick: wake an rx thread whose wake-up was lost. */
void	 rx_watchdog(struct rx *rx);

#endif /* SHMNETD_RXPATH_H */
