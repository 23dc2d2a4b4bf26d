/*
 * shmnetd.h: the daemon, and everything its threads share.
 *
 * The files of daemon/ form layers, listed here in an order where each
 * file calls only files before it (tests/layers.sh checks it); no module
 * reads another's state but through a function or the hand-off below:
 *
 *   1. log.c conf.c cframe.c notify.c wake.c     leaves: logging, the
 *      tapio.c sockstat.c sockdiag.c tcpwmem.c   configuration, control
 *      sdnotify.c, then metricsd.c               frames, the pipe to the
 *                                                main loop, doorbells, TAP
 *                                                batches, socket scans,
 *                                                the service manager, the
 *                                                /metrics endpoint
 *   2. netif.c follow.c mcast.c gnet.c           a network's interface, CPU
 *                                                following, multicast
 *                                                groups, global routing
 *   3. rxpath.c, then txpath.c                   the data path: rings ->
 *                                                TAP, TAP -> rings
 *   4. resize.c watch.c mcwatch.c groute.c,      ring growth, peers' deaths,
 *      announce.c rlocal.c health.c, then        multicast joins, policy
 *      lscan.c                                   routing, G's announced
 *                                                route, the local
 *                                                address's way out,
 *                                                health checks, listener
 *                                                scan
 *   5. member.c                                  membership
 *   6. reload.c                                  configuration reload
 *   7. shmnetd.c, main.c                         lifecycle: start, serve,
 *                                                leave
 *
 * Threads:
 *   main   libevent loop: signals, the 1 s tick, the notify pipe, the
 *          kernel's multicast join notifications, HTTP /metrics, the
 *          health checks' timers, connects and scripts (health.c).  Owns the node's
 *          directory: allocates, replaces and retires the rings into it.
 *   tx     one per network (txpath.c): TAP -> pair, broadcast or
 *          multicast ring.  Owns its peers' transmit state.
 *   rx     one per network (rxpath.c): pair, broadcast and followed
 *          multicast rings -> TAP.
 *   watch  (watch.c) sleeps on the peers' keepers; a death asks the main
 *          loop for a membership scan.
 *
 * The data threads' contract:
 *   - The tx and rx threads never call into libevent.  They ask the main
 *     loop for work with one byte on the notify pipe (a ring found
 *     corrupt, a peer's request for a larger ring, an old ring drained,
 *     a control frame heard, a flow with no listener).
 *   - The main thread tells the data threads of a directory change by
 *     bumping dir_version in the segment and ringing their doorbell (rx)
 *     or interrupting their TAP read with a signal (tx, tx_kick).
 *   - The reader side of a network's pair rings (rxpath.c's state under
 *     rx_lock) belongs to whichever thread holds rx_lock: the rx thread
 *     for each of its rounds, or the tx thread, which, while it polls its
 *     TAP during a stream, takes the lock when it is free (rx_help) and
 *     delivers what waits with its own batched TAP I/O.  A ring thus has
 *     one reader at a time and its frames keep their order; each thread
 *     only ever uses and closes its own struct tapio.
 *   - follow.c's CPU choices cross between tx and rx through app_cpu,
 *     rx_cpu and rx_flood_us: hints, relaxed, re-read every round.
 *   - A reload (reload.c) changes keys of the running struct conf on
 *     the main thread.  The data threads read only keys that never
 *     change after the start there; a live key they use reaches them
 *     through an atomic: busy_poll_us below, gnet.c's timeouts.
 *   - Everything else the threads share is in struct handoff, below, with
 *     who writes and who reads each field and how it is ordered.
 */
#ifndef SHMNETD_H
#define SHMNETD_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "conf.h"
#include "netif.h"
#include "notify.h"
#include "shmnet.h"
#include "tcpwmem.h"

/* Multicast groups a TAP has joined (mcast.c); all: take every group. */
#define MC_GROUPS_MAX	128
struct mcgroups {
	uint64_t	label[MC_GROUPS_MAX];	/* mcast_label() of each */
	uint32_t	n;
	int		all;	/* promiscuous, allmulti or too many */
};

/* What the threads of one network share. */
struct handoff_net {
	/* the network's interface (netif.h): set up by main before the
	 * threads start, only read after */
	struct netif		 ni;

	/* main (tx_stop, rx_stop) writes 1, release; tx and rx read it
	 * every loop, acquire or relaxed (the stop is re-checked after
	 * every wake-up) */
	_Atomic int		 stop;

	/* rx_lock: held by the rx thread for each round, taken by the tx
	 * thread when free (rx_help); guards rxpath.c's pair-ring reader
	 * state and the rx_done_key writes */
	pthread_mutex_t		 rx_lock;

	/* follow.c: tx writes app_cpu (and rx withdraws it, -1, on a
	 * flood); rx writes rx_cpu and rx_flood_us; the other reads;
	 * relaxed: hints, a stale value only delays a move */
	_Atomic int		 app_cpu;	/* the application's CPU, -1 */
	_Atomic int		 rx_cpu;	/* the rx thread's CPU, -1 */
	_Atomic uint64_t	 rx_flood_us;	/* rx's last flood, us */

	/* rx writes rx_nap_bell (relaxed), then bumps rx_nap (release: odd
	 * while it sleeps on its doorbell, even when awake); main reads
	 * rx_nap (acquire), then rx_nap_bell (rx_watchdog) */
	_Atomic uint32_t	 rx_nap;
	_Atomic uint32_t	 rx_nap_bell;	/* the bell value it sleeps on */

	/* [max_nodes + 1], peer by peer.  tx_seen_dv: tx writes the peer's
	 * dir_version at attach, 0 when detached; main reads it (relaxed,
	 * a hint: resize.c kicks tx when the peer's directory moved on).
	 * rx_done_key: whoever holds rx_lock writes the key of an old
	 * ring it drained (release, after its last read of that ring);
	 * main reads it (acquire) and only then frees the ring. */
	_Atomic uint32_t	*tx_seen_dv;
	_Atomic uint64_t	*rx_done_key;

	/* the TAP's multicast groups: main writes mc_pub under mc_lock and
	 * then bumps mc_gen (release); rx compares mc_gen (acquire) and
	 * copies mc_pub under mc_lock */
	pthread_mutex_t		 mc_lock;
	struct mcgroups		 mc_pub;
	_Atomic uint32_t	 mc_gen;

	/* busy-poll of the network, microseconds: main writes it before the
	 * threads start and on reload; tx and rx read it each time they
	 * open a polling window; relaxed, a value on its own */
	_Atomic uint32_t	 busy_poll_us;
	/* tx and rx: io_uring or not, said once per network (exchange) */
	_Atomic int		 tapio_said;
};

/* What the daemon's threads share. */
struct handoff {
	/* this node in the segment: set by main as it attaches and claims
	 * the node, before any other thread starts (pthread_create orders
	 * them), and cleared only once they all ended; every thread reads
	 * them */
	struct shmseg		*seg;
	struct shm_node		*node;		/* own node table entry */
	uint32_t		 self, gen, max_nodes;
	/* the cluster addresses this node carries: gidx[i] is the index
	 * of [global] address's i-th, gaddrs one bit per index */
	uint8_t			 gidx[CONF_GADDR_MAX];
	uint32_t		 gaddrs;

	/* any thread writes a byte, main reads (notify.c); descriptors
	 * set before the threads start */
	struct notify		 notify;

	/* watch thread: main bumps watch_kick and sets watch_stop
	 * (release, then keeper_kick wakes it), watch reads them
	 * (acquire); watch posts watch_armed once its keeper is armed,
	 * main waits for it */
	_Atomic uint32_t	 watch_kick;
	_Atomic uint32_t	 watch_stop;
	sem_t			 watch_armed;

	struct handoff_net	 net[SHM_NETS];
};

struct event_base;
struct event;
struct tx;
struct rx;
struct mc;
struct gnet;
struct resize;
struct member;
struct watch;
struct mcwatch;
struct groute;
struct announce;
struct rlocal;
struct lscan;
struct metricsd;
struct health;

/* The daemon: its configuration, the hand-off and each module's state
 * (opaque to all but the module).  Only shmnetd.c, reload.c and main.c
 * use it. */
struct daemon {
	struct conf		 conf;		/* in effect: reload.c changes
						 * its live keys */
	struct conf_src		 src;		/* where it was read from */
	int			 foreground;
	int			 verbose;
	struct handoff		 ho;

	int			 nnets;		/* local, and global if on */
	struct tx		*tx[SHM_NETS];
	struct rx		*rx[SHM_NETS];
	struct mc		*mc[SHM_NETS];
	struct resize		*rs[SHM_NETS];
	struct gnet		*gnet;		/* global network */
	struct member		*member;
	struct watch		*watch;
	struct mcwatch		*mcw;
	struct groute		*groute;
	struct announce		*announce;	/* gateway-mode = route */
	struct rlocal		*rlocal;	/* route-local, off gateways */
	struct lscan		*lscan;
	struct metricsd		*metricsd;	/* /metrics, if configured */
	struct health		*health;	/* the ports' checks */
	struct tcpwmem		 tcpwmem;	/* to put back at exit */
	uint32_t		 gseen;		/* the cluster address table's
						 * first empty index at the
						 * last look (gaddr_read) */
	uint32_t		 lock_busy;	/* shmseg_lock_busy last tick */
	int			 lock_busy_said; /* and said so */

	struct event_base	*base;
	struct event		*ev_tick, *ev_notify, *ev_rescan;
	struct event		*ev_leave;	/* the withdraw delay, once
						 * leaving has begun */
	struct event		*ev_sig[4];
	int			 overwritten;	/* the segment's header was
						 * overwritten: left, exit 1 */
	int			 watchdog;	/* WATCHDOG=1 every tick */
};

/* shmnetd.c: start, serve until a signal, leave; returns the exit code. */
int	 shmnetd_run(struct daemon *d);

#endif /* SHMNETD_H */
