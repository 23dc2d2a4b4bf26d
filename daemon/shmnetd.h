/*
 * shmnetd.h: the daemon's objects, shared by its modules.
 *
 * Threads and what they own:
 *   main thread   libevent loop: signals, the 1 s tick (heartbeat,
 *                 membership scan, ring shrink, joined multicast groups,
 *                 listener scan), the notify pipe (ring growth, announces),
 *                 the kernel's multicast join notifications (mcwatch.c).
 *                 Owns the node's directory (allocates and retires the
 *                 rings into it).
 *   tx thread     one per network: TAP -> pair ring or broadcast ring.
 *                 Owns dnet.peers and dnet.predict.
 *   rx thread     one per network: pair rings, broadcast ring and the
 *                 multicast rings it follows -> TAP.  Owns dnet.rx,
 *                 dnet.cast, dnet.rx_dir_version, dnet.mc, dnet.mc_rx.
 * Hand-off: the data threads never call into libevent; they write one byte
 * to the notify pipe (announce heard, ring found corrupt) and the main
 * loop runs a membership scan.  The main thread talks to the data threads
 * only through shared memory (the directory and its dir_version) and the
 * stop flag.
 */
#ifndef SHMNETD_H
#define SHMNETD_H

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conf.h"
#include "shmnet.h"
#include "route.h"
#include "tap.h"
#include "tcpwmem.h"

struct daemon;

/*
 * A port delivers frames to a local transport.  Rings deliver through it
 * by direct call: no queue between the ring and the TAP.  vnet points to
 * SHM_VNET_HDR_LEN bytes; frame may point into shared memory.
 */
struct port_ops {
	const char	*kind;
	int		(*output)(void *ctx, const uint8_t *vnet,
			    const uint8_t *frame, uint32_t len);
};

struct port {
	const struct port_ops	*ops;
	void			*ctx;
};

struct io_uring;

/* Batched TAP I/O of one data thread (tapio.c); ring NULL: none. */
#define TAPIO_MAX	CONF_IO_BATCH_MAX
#define TAPIO_UNDONE	INT32_MIN	/* tapio_rw did not get to it */
struct tapio {
	struct io_uring	*ring;
	int		 fd;
	unsigned int	 depth;
};

/* Transmit state toward one peer (tx thread only). */
struct txpeer {
	struct ring_tx	ring;
	uint32_t	gen;		/* peer generation attached to */
	uint32_t	dir_version;	/* peer's dir_version at attach */
	int		ok;
	int		stalled;	/* consumer made no room in time */
	uint32_t	stalled_ridx;
	_Atomic uint32_t seen_dv;	/* dir_version attached at, 0 when
					 * not attached (read by main) */
};

/* Receive state from one peer (rx thread only). */
struct rxpeer {
	struct ring_rx	ring;
	int		ok;
	int		grow_told;	/* main loop told of grow_req */
	uint64_t	key;		/* of ring */
	struct ring_rx	old;		/* ring being replaced: drained first */
	int		old_ok;
	uint64_t	old_key;
	_Atomic uint64_t done_key;	/* old ring drained (read by main) */
};

/* Ring growth and shrink bookkeeping of one peer's ring (main thread). */
struct ringsz {
	uint64_t	frames;		/* ring's frame count last seen */
	uint64_t	since;		/* ms it was last seen to change */
	uint32_t	warned;
};

/* Where the first fragment of a datagram went, so that the later ones
 * (which carry no ports) follow it.  Private to the global tx thread: all
 * fragments of a datagram reach the same ingress node. */
#define GNET_FRAGS	1024
#define GNET_FRAG_MS	2000
struct gnet_frag {
	uint8_t		src[16], dst[16];
	uint32_t	id;
	uint8_t		proto;
	uint8_t		family;
	uint8_t		used;
	uint32_t	node;
	uint64_t	expires;	/* monotonic ms */
};

/* Multicast groups a TAP has joined (mcast.c). */
#define MC_GROUPS_MAX	128
struct mcgroups {
	uint64_t	label[MC_GROUPS_MAX];	/* mcast_label() of each */
	uint32_t	n;
	int		all;	/* promiscuous, allmulti or too many: take all */
};

/* Reader of one multicast ring (rx thread only). */
struct mcring {
	struct cast_rx	c;
	uint64_t	label;		/* as last seen */
	int		follow;		/* label is a group we joined */
};

/* One network (local or global) of this node. */
struct dnet {
	struct daemon		*d;
	uint32_t		 net;
	const char		*name;		/* "local" */
	struct netconf		*nc;
	struct tap		 tap;
	struct port		 out;
	struct shm_node_stats	*stats;		/* own counters */
	struct shm_bell		*bell;		/* own doorbell */

	pthread_t		 tx_thread, rx_thread;
	struct tapio		 txio, rxio;	/* each thread's own */
	_Atomic int		 tapio_warned;
	int			 threads;	/* started */
	_Atomic int		 stop;
	_Atomic int		 app_cpu;	/* follow.c: -1 = none */
	_Atomic int		 rx_cpu;	/* follow.c: rx thread's, -1 */
	_Atomic uint64_t	 rx_flood_us;	/* follow.c: rx's last flood */
	uint64_t		 rx_round_bytes;	/* rx thread's */
	_Atomic uint32_t	 rx_nap;	/* rx: odd while asleep */
	_Atomic uint32_t	 rx_nap_bell;	/* rx: the bell it sleeps on */
	uint32_t		 wd_nap;	/* main: nap seen stuck, or 0 */
	int			 wd_warned;	/* main */

	struct txpeer		*peers;		/* [max_nodes + 1] */
	uint32_t		 predict;	/* last unicast destination */

	uint64_t		 last_rescan;	/* gnet: ms of last request */
	struct gnet_frag	*frags;		/* gnet: GNET_FRAGS entries */
	uint32_t		 warned_full;	/* gnet: table-full warnings */

	pthread_mutex_t		 rx_lock;	/* the pair rings' reader side:
						 * rx thread, or rx_help */
	int			 rx_helped;	/* rx_help: said so once */
	struct rxpeer		*rx;		/* [max_nodes + 1] */
	struct ringsz		*rsz;		/* main: [max_nodes + 1] */
	uint32_t		*rx_ids;	/* peers with a ring, rx_n of them */
	uint32_t		 rx_n;
	uint32_t		 rx_dir_version;
	struct cast_rx		 cast;
	uint8_t			*cast_buf;	/* SHM_FRAME_MAX bytes */

	pthread_mutex_t		 mc_lock;	/* guards mc_pub */
	struct mcgroups		 mc_pub;	/* main thread's last read */
	_Atomic uint32_t	 mc_gen;	/* bumped when mc_pub changes */
	int			 mc_warned;	/* main thread */
	int			 mc_proc;	/* main: MC_PROC, kept open */
	char			*mc_text;	/* main: its last text, */
	size_t			 mc_text_len;
	struct mcgroups		 mc_parsed;	/* parsed (no flags) */
	int			 mc_sock;	/* main: for SIOCGIFFLAGS */
	struct mcgroups		 mc_rx;		/* rx thread's copy */
	uint32_t		 mc_rx_gen;
	struct mcring		*mc;		/* rx: [mc_n] multicast rings */
	uint32_t		 mc_n;
};

struct mnl_socket;

/* The namespace's TCP and UDP socket counts at the last look (main
 * thread; sockstat.c). */
#define SS_COUNTS	4		/* TCP, UDP, TCP6, UDP6 */
struct sockstat {
	int			 fd[2];		/* sockstat, sockstat6; -1 */
	unsigned long		 last[SS_COUNTS];
	int			 known;
};

/* The kept sock_diag socket of the listener scan (main thread). */
struct sd_sock {
	struct mnl_socket	*nl;		/* NULL: open on next scan */
	unsigned int		 seq;
};

struct daemon {
	struct conf		 conf;
	int			 foreground;
	int			 verbose;
	struct shmseg		*seg;
	uint32_t		 self, gen, max_nodes;
	struct shm_node		*node;
	struct dnet		 local;
	struct dnet		 global;
	struct dnet		*nets[SHM_NETS];
	int			 nnets;
	struct rt_undo		 undo;		/* global routing state */
	uint16_t		 udp_ports[SHM_LISTEN_MAX];	/* per-port rules */
	uint32_t		 n_udp_ports;
	struct shm_listen	*lbuf;		/* listener scan buffer */
	struct sd_sock		 diag;		/* its sock_diag socket */
	struct sockstat		 sockstat;	/* has a socket come or gone */
	uint32_t		 listen_quiet;	/* ticks without a scan */
	struct pkt_g		 g;		/* G and G6, for the data path */
	int			 listen_warned;
	struct tcpwmem		 tcpwmem;	/* the namespace's TCP send
						 * buffer ceiling, to put back */

	struct event_base	*base;
	struct event		*ev_tick, *ev_notify, *ev_rescan;
	struct event		*ev_sig[3];
	struct event		*ev_mcw;	/* mcwatch.c: socket or timer */
	int			 mcw_fd;	/* its netlink socket, or -1 */
	int			 notify[2];	/* data threads -> main */
	uint32_t		*seen_gen;	/* member: gen seen up, 0 down */
	uint64_t		*seen_hb;	/* member: heartbeat last tick */
	uint8_t			*ring_err;	/* member: alloc error logged */
	uint32_t		 rescans;	/* member: quick rescans left */

	pthread_t		 watch_thread;	/* watch.c */
	int			 watching;
	sem_t			 watch_armed;
	_Atomic uint32_t	 watch_kick, watch_stop;
	uint32_t		*keeper_seen;
};

/* stat_add: bump a shared-memory counter that only the calling thread
 * writes (a plain load and store: no locked instruction on the hot path). */
static inline void
stat_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
	    + v, memory_order_relaxed);
}

/* netif.c: the TAP of a network and its port. */
int	 netif_open(struct dnet *dn, char *err, size_t errlen);
int	 netif_configure(struct dnet *dn, char *err, size_t errlen);
void	 netif_close(struct dnet *dn);
void	 netif_tapio(struct dnet *dn, struct tapio *t);

/* txpath.c */
void	*tx_main(void *arg);
/* Start the tx thread (reads the TAP blocking); tx_stop joins it. */
int	 tx_start(struct dnet *dn);
void	 tx_stop(struct dnet *dn);
int	 tx_init(struct dnet *dn);
/* Make the tx thread look at its rings again (it may sit in read()). */
void	 tx_kick(struct dnet *dn);
void	 tx_free(struct dnet *dn);

/* rxpath.c */
void	*rx_main(void *arg);
int	 rx_init(struct dnet *dn);
void	 rx_free(struct dnet *dn);
/* Deliver frames of one pair ring; returns frames moved, -1 if corrupt. */
int	 rx_drain_ring(struct dnet *dn, struct tapio *io, uint32_t peer,
	    int budget);
/* Another thread delivers what waits (its own TAP I/O); frames moved. */
int	 rx_help(struct dnet *dn, struct tapio *io);
/* Ask the rx thread to stop (wakes it). */
void	 rx_stop(struct dnet *dn);
/* Main thread, every tick: wake an rx thread whose wake-up was lost. */
void	 rx_watchdog(struct dnet *dn);

/* follow.c: the data threads follow the application's CPU. */
#define RX_FLOOD_FRAMES	16	/* frames in one rx round that make a flood */
struct follow {				/* one thread's */
	cpu_set_t	 all;		/* the set it started with */
	int		 pinned;	/* CPU it keeps to, -1: all */
	int		 off;		/* one CPU, refused, or cpu-follow=no */
	uint64_t	 moved_us, flood_us;
	const char	*who;		/* "rx", "tx" for logs */
	_Atomic int	*shown;		/* where pinned is shown, or NULL */
};
struct txfollow {			/* tx thread's */
	int		 cpu;		/* of the last wake-up */
	int		 run;		/* wake-ups in a row there */
	uint64_t	 large_us;	/* last stream of large frames */
	struct follow	 th;		/* the tx thread itself */
};
void	 follow_tx_init(struct dnet *dn, struct txfollow *f);
void	 follow_tx_wake(struct dnet *dn, struct txfollow *f);
void	 follow_tx_stream(struct dnet *dn, struct txfollow *f, int large,
	    int flood);
void	 follow_rx_init(struct dnet *dn, struct follow *f);
void	 follow_rx(struct dnet *dn, struct follow *f, int frames,
	    uint64_t bytes);

/* What a data thread asks of the main loop (one byte on the pipe). */
#define NOTIFY_MEMBERS		'M'	/* membership scan */
#define NOTIFY_RESCAN		'L'	/* rescan our listeners */
#define NOTIFY_RESCAN_ALL	'R'	/* ... and ask every node to */
void	 daemon_notify(struct daemon *d, char what);
/* A membership scan in a few milliseconds (main thread). */
void	 daemon_rescan_soon(struct daemon *d);

/* mcast.c: multicast groups, rings and filtering (see the file). */
int	 mc_init(struct dnet *dn);
void	 mc_refresh(struct dnet *dn);
void	 mc_close(struct dnet *dn);
int	 mc_tx_ring(struct dnet *dn, const uint8_t *frame, int *wake_all);
void	 mc_tx_wake(struct dnet *dn, uint32_t ring);
int	 mc_rx_init(struct dnet *dn);
void	 mc_rx_free(struct dnet *dn);
void	 mc_rx_update(struct dnet *dn);
int	 mc_wanted(struct dnet *dn, const uint8_t *dst);

/* mcwatch.c: the kernel's join notifications drive mc_refresh. */
int	 mcw_open(void);
uint32_t mcw_parse(const void *buf, size_t len, const int *ifindex, int n);
int	 mcw_start(struct daemon *d);
void	 mcw_stop(struct daemon *d);

/* resize.c: ring growth and shrink (main thread). */
void	 rs_ring(struct dnet *dn, uint32_t id, const struct shm_dirent *de,
	    const struct shm_ring_hdr *h);
int	 rs_kick(struct dnet *dn, uint32_t id);

/* member.c */
void	 member_scan(struct daemon *d);

int	 member_announce(struct daemon *d, uint8_t type);
/* Ring the doorbell of every other UP node on net. */
void	 member_wake_all(struct daemon *d, uint32_t net);

/* watch.c: the thread that sees peers die (robust futexes). */
int	 watch_start(struct daemon *d);
void	 watch_kick(struct daemon *d);
void	 watch_stop(struct daemon *d);

/* tapio.c: batched TAP reads and writes (io_uring). */
int	 tapio_open(struct tapio *t, int fd, unsigned int depth);
void	 tapio_close(struct tapio *t);
int	 tapio_rw(struct tapio *t, int write, struct iovec (*iov)[2],
	    unsigned int n, int32_t *res);

/* sockdiag.c: the sockets that can serve the cluster address. */
int	 sd_scan(struct sd_sock *s, const struct pkt_g *g, int ifindex,
	    struct shm_listen *out, uint32_t max, uint32_t *count,
	    int *truncated);
void	 sd_close(struct sd_sock *s);

/* sockstat.c: has a TCP or UDP socket of this namespace come or gone? */
void	 ss_init(struct sockstat *s);
/* 1 when the counts moved since the last call (or cannot be read). */
int	 ss_moved(struct sockstat *s);
void	 ss_close(struct sockstat *s);

/* gnet.c: the global network's routing decision (tx thread). */
uint32_t gnet_route(struct dnet *dn, const uint8_t *frame, uint32_t len);
void	 gnet_macs(struct dnet *dn, uint8_t *frame, uint32_t id);
uint32_t gnet_gc(struct daemon *d);
int	 gnet_init(struct dnet *dn);
void	 gnet_free(struct dnet *dn);

/* groute.c: policy routing for G (main thread). */
int	 groute_setup(struct daemon *d, char *err, size_t errlen);
void	 groute_teardown(struct daemon *d);
/* Keep one rule per UDP port served on the wildcard address. */
void	 groute_udp_ports(struct daemon *d, const struct shm_listen *l,
	    uint32_t n);

/* cframe.c: control frames between daemons (never reach a TAP). */
#define CFRAME_ANNOUNCE	1
#define CFRAME_LEAVE	2
#define CFRAME_RESCAN	3	/* look at your listeners again */
#define CFRAME_LEN	32
/* Build a control frame from node id (net's MAC); returns its length. */
uint32_t cframe_build(uint8_t *buf, uint32_t net, uint32_t id, uint32_t gen,
	    uint8_t type);
/* Parse one; returns 0 and fills type/id/gen, -1 if it is not valid. */
int	 cframe_parse(const uint8_t *buf, uint32_t len, uint8_t *type,
	    uint32_t *id, uint32_t *gen);

/* shmnetd.c */
int	 shmnetd_run(struct daemon *d);

#endif /* SHMNETD_H */
