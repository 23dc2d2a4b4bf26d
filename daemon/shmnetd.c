/*
 * shmnetd.c: the daemon's life: start in a fixed order, serve, leave.
 *
 * Start: TAP (fails early without /dev/net/tun or CAP_NET_ADMIN), segment,
 * node claim, interface configuration, rings for live peers, UP, data
 * threads, announce.  Each step undoes the ones before it on failure, so
 * a failed start leaves nothing behind.  SIGTERM/SIGINT leave the cluster:
 * threads stop, LEAVE is broadcast, the node goes DOWN and frees its
 * rings, the TAP disappears and the last node out removes the segment.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "shmnetd.h"

#define TICK_MS		1000	/* a peer's crash is an event (watch.c),
				 * so is a join (mcwatch.c), a ring growth
				 * request and an announce: the tick is the
				 * fallback, ring shrink timers and the
				 * listener scan */
#define RESCAN_MS	10	/* a dead peer's lock outlives its keeper
				 * by the time its process takes to exit */
#define LISTEN_FULL_TICKS 10	/* a listener scan at least this often,
				 * even with no socket come or gone */

/* shmnetd_listeners: publish the sockets that can serve G here. */
static void
shmnetd_listeners(struct daemon *d)
{
	uint32_t n = 0;
	int truncated = 0, rc;

	rc = sd_scan(&d->diag, &d->g, d->global.tap.ifindex, d->lbuf,
	    SHM_LISTEN_MAX, &n, &truncated);
	if (rc != 0) {
		if (!d->listen_warned++)
			log_warnx("global: listener scan (sock_diag): %s",
			    strerror(-rc));
		d->listen_quiet = LISTEN_FULL_TICKS;	/* again next tick */
		return;
	}
	if (truncated && !d->listen_warned++)
		log_warnx("global: more than %d listening sockets; publishing "
		    "the first %d", SHM_LISTEN_MAX, SHM_LISTEN_MAX);
	listen_publish(d->seg, d->self, d->lbuf, n);
	groute_udp_ports(d, d->lbuf, n);
}

/* shmnetd_tick: every TICK_MS, heartbeat, membership scan (with ring
 * shrink), the multicast groups joined (for link-layer joins, which the
 * kernel does not announce), lost rx wake-ups, memory of retired rings
 * back to /dev/shm, expired flows and the listener scan: an idle
 * daemon's main thread wakes once a second. */
static void
shmnetd_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;

	atomic_fetch_add_explicit(&d->node->heartbeat, 1, memory_order_relaxed);
	member_scan(d);
	for (int i = 0; i < d->nnets; i++) {
		mc_refresh(d->nets[i]);		/* groups joined */
		rx_watchdog(d->nets[i]);
	}
	heap_reclaim(d->seg);
	if (d->conf.g.enabled) {
		gnet_gc(d);
		/* new listeners: a connection to a port nobody serves yet
		 * asks every node to rescan at once; this is the safety net,
		 * and the way a closed listener leaves.  Its dumps walk the
		 * host's hash tables: skipped while no TCP or UDP socket of
		 * ours came or went, up to LISTEN_FULL_TICKS in a row (a
		 * connect() on a bound UDP socket, or one listener closed as
		 * another opened, moves no count) */
		if (ss_moved(&d->sockstat) ||
		    ++d->listen_quiet >= LISTEN_FULL_TICKS) {
			d->listen_quiet = 0;
			shmnetd_listeners(d);
		}
	}
}

/* daemon_notify: a data thread asks the main loop for work (any thread;
 * a full pipe already asks). */
void
daemon_notify(struct daemon *d, char what)
{
	ssize_t n = write(d->notify[1], &what, 1);

	(void)n;
}

/* shmnetd_notified: a data thread asked for a membership scan. */
static void
shmnetd_notified(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;
	char buf[64];
	int members = 0, rescan = 0, all = 0;
	ssize_t n, i;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			members |= buf[i] == NOTIFY_MEMBERS;
			rescan |= buf[i] == NOTIFY_RESCAN;
			all |= buf[i] == NOTIFY_RESCAN_ALL;
		}
	if (members)
		member_scan(d);
	if (all)
		member_announce(d, CFRAME_RESCAN);
	if ((rescan || all) && d->conf.g.enabled)
		shmnetd_listeners(d);
}

/* shmnetd_rescan: the quick rescan member_scan asked for. */
static void
shmnetd_rescan(evutil_socket_t fd, short ev, void *arg)
{
	member_scan(arg);
}

/* daemon_rescan_soon: a membership scan in RESCAN_MS (a peer's keeper
 * died and its lock is not gone yet). */
void
daemon_rescan_soon(struct daemon *d)
{
	struct timeval tv = { 0, RESCAN_MS * 1000 };

	if (d->ev_rescan != NULL)
		evtimer_add(d->ev_rescan, &tv);
}

/* shmnetd_signal: the one place signals are handled. */
static void
shmnetd_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon *d = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received %s, leaving the cluster",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		event_base_loopbreak(d->base);
		break;
	case SIGHUP:
		log_info("SIGHUP: configuration reload is not supported; "
		    "restart the daemon to apply changes");
		break;
	}
}

/* shmnetd_events: event base, tick, notify pipe, signals and the
 * multicast join notifications. */
static int
shmnetd_events(struct daemon *d)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct timeval tick = { 0, TICK_MS * 1000 };
	int i;

	if ((d->base = event_base_new()) == NULL)
		return -1;
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, shmnetd_tick, d);
	d->ev_notify = event_new(d->base, d->notify[0], EV_READ | EV_PERSIST,
	    shmnetd_notified, d);
	d->ev_rescan = evtimer_new(d->base, shmnetd_rescan, d);
	if (d->ev_tick == NULL || d->ev_notify == NULL || d->ev_rescan == NULL ||
	    event_add(d->ev_tick, &tick) || event_add(d->ev_notify, NULL))
		return -1;
	for (i = 0; i < 3; i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], shmnetd_signal, d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL))
			return -1;
	}
	return mcw_start(d);
}

/* shmnetd_events_free: undo shmnetd_events. */
static void
shmnetd_events_free(struct daemon *d)
{
	int i;

	mcw_stop(d);
	for (i = 0; i < 3; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	if (d->ev_tick != NULL)
		event_free(d->ev_tick);
	if (d->ev_notify != NULL)
		event_free(d->ev_notify);
	if (d->ev_rescan != NULL)
		event_free(d->ev_rescan);
	d->ev_rescan = NULL;
	if (d->base != NULL)
		event_base_free(d->base);
}

/* shmnetd_threads: start the data threads of a network. */
static int
shmnetd_threads(struct dnet *dn)
{
	int rc;

	if ((rc = tx_init(dn)) != 0 || (rc = rx_init(dn)) != 0)
		return rc;
	if ((rc = pthread_create(&dn->rx_thread, NULL, rx_main, dn)) != 0)
		return -rc;
	dn->threads = 1;
	if ((rc = tx_start(dn)) != 0) {
		rx_stop(dn);
		pthread_join(dn->rx_thread, NULL);
		dn->threads = 0;
		return rc;
	}
	dn->threads = 2;
	return 0;
}

/* shmnetd_threads_stop: stop and join the data threads. */
static void
shmnetd_threads_stop(struct dnet *dn)
{
	if (dn->threads > 1)
		tx_stop(dn);
	if (dn->threads > 0) {
		rx_stop(dn);
		pthread_join(dn->rx_thread, NULL);
	}
	dn->threads = 0;
	tx_free(dn);
	rx_free(dn);
}

/* shmnetd_attach: open the segment and claim our node. */
static int
shmnetd_attach(struct daemon *d, char *err, size_t errlen)
{
	struct shmseg_params p = {
		.path = d->conf.segment, .cluster = d->conf.cluster,
		.size = d->conf.segment_size, .max_nodes = d->conf.max_nodes,
		.cast_slots = d->conf.cast_slots,
		.cast_slot_size = d->conf.cast_slot_size,
		.conn_buckets = conf_conn_buckets(&d->conf),
		.global_addr4 = d->conf.global.addr,
		.mcast_rings = { d->conf.local.mcast_rings,
		    d->conf.global.mcast_rings },
	};
	const struct shm_hdr *h;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int rc, i;

	memcpy(p.global_addr6, d->conf.g.addr6, 16);
	p.mode = d->conf.segment_mode;
	p.gid = -1;
	if (d->conf.segment_group[0]) {
		struct group *gr = getgrnam(d->conf.segment_group);
		if (gr == NULL) {
			snprintf(err, errlen, "segment-group %s: no such group",
			    d->conf.segment_group);
			return -EINVAL;
		}
		p.gid = gr->gr_gid;
	}
	d->g.g4 = d->conf.global.addr;
	d->g.has6 = conf_has_g6(&d->conf);
	memcpy(d->g.g6, d->conf.g.addr6, 16);
	if ((rc = shmseg_open(&p, &d->seg, err, errlen)) != 0)
		return rc;
	d->max_nodes = shmseg_max_nodes(d->seg);
	h = shmseg_hdr(d->seg);
	if (d->conf.g.enabled && (h->global_addr4 != d->conf.global.addr ||
	    memcmp(h->global_addr6, d->conf.g.addr6, 16) != 0)) {
		inet_ntop(AF_INET, &h->global_addr4, a, sizeof(a));
		inet_ntop(AF_INET, &d->conf.global.addr, b, sizeof(b));
		snprintf(err, errlen, "cluster %s uses global address %s%s, "
		    "this node is configured with %s%s", d->conf.cluster, a,
		    memcmp(h->global_addr6, d->conf.g.addr6, 16) ?
		    " (and another address6)" : "", b,
		    memcmp(h->global_addr6, d->conf.g.addr6, 16) ?
		    " (and another address6)" : "");
		shmseg_close(d->seg, 1);
		d->seg = NULL;
		return -EINVAL;
	}
	if (d->max_nodes != d->conf.max_nodes)
		log_info("segment %s has max-nodes %u (configured %u); using "
		    "the segment's", d->conf.segment, d->max_nodes,
		    d->conf.max_nodes);
	for (i = 0; i < SHM_NETS; i++)
		if (shmseg_mcast_count(d->seg, (uint32_t)i) !=
		    p.mcast_rings[i])
			log_info("segment %s has %u multicast rings on the %s "
			    "network (configured %u); using the segment's",
			    d->conf.segment, shmseg_mcast_count(d->seg,
			    (uint32_t)i), i == SHM_NET_LOCAL ? "local" :
			    "global", p.mcast_rings[i]);
	rc = node_claim(d->seg, d->conf.node, &d->gen);
	if (rc < 0) {
		if (rc == -EADDRINUSE)
			snprintf(err, errlen, "node %u of cluster %s is already "
			    "in use by a live daemon", d->conf.node,
			    d->conf.cluster);
		else if (rc == -EUSERS)
			snprintf(err, errlen, "cluster %s has no free node id "
			    "(max-nodes %u)", d->conf.cluster, d->max_nodes);
		else if (rc == -ERANGE)
			snprintf(err, errlen, "node %u out of range (1-%u, the "
			    "segment's max-nodes)", d->conf.node, d->max_nodes);
		else
			snprintf(err, errlen, "claim node %u: %s", d->conf.node,
			    strerror(-rc));
		shmseg_close(d->seg, 1);
		d->seg = NULL;
		return rc;
	}
	d->self = (uint32_t)rc;
	d->node = shmseg_node(d->seg, d->self);
	for (i = 0; i < d->nnets; i++) {
		d->nets[i]->stats = &d->node->stats[d->nets[i]->net];
		d->nets[i]->bell = &d->node->bell[d->nets[i]->net];
	}
	d->seen_gen = calloc(d->max_nodes + 1, sizeof(*d->seen_gen));
	d->seen_hb = calloc(d->max_nodes + 1, sizeof(*d->seen_hb));
	d->ring_err = calloc(d->max_nodes + 1, sizeof(*d->ring_err));
	if (d->seen_gen == NULL || d->seen_hb == NULL || d->ring_err == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* shmnetd_detach: leave the node table; the last one out removes files. */
static void
shmnetd_detach(struct daemon *d)
{
	if (d->seg == NULL)
		return;
	if (d->self != 0) {
		listen_publish(d->seg, d->self, NULL, 0);
		if (d->conf.g.enabled)
			conn_purge_node(d->seg, d->self, (uint16_t)d->self);
		node_leave(d->seg, d->self);
	}
	if (shmseg_close(d->seg, 1))
		log_info("last node out: removed %s", d->conf.segment);
	d->seg = NULL;
	free(d->seen_gen);
	free(d->seen_hb);
	d->seen_hb = NULL;
	free(d->ring_err);
	d->seen_gen = NULL;
	d->ring_err = NULL;
}

/* shmnetd_daemonize: detach from the terminal once setup succeeded. */
static int
shmnetd_daemonize(struct daemon *d)
{
	if (d->foreground)
		return 0;
	if (daemon(0, 0) == -1)
		return -errno;
	log_init(0, "shmnetd");
	d->node->pid = (uint32_t)getpid();
	return 0;
}

/* shmnetd_nets: the networks this node serves. */
static void
shmnetd_nets(struct daemon *d)
{
	struct dnet *dn;

	d->nets[d->nnets++] = &d->local;
	if (d->conf.g.enabled)
		d->nets[d->nnets++] = &d->global;
	for (int i = 0; i < d->nnets; i++) {
		dn = d->nets[i];
		dn->d = d;
		dn->net = dn == &d->local ? SHM_NET_LOCAL : SHM_NET_GLOBAL;
		dn->name = dn == &d->local ? "local" : "global";
		dn->nc = dn == &d->local ? &d->conf.local : &d->conf.global;
		dn->tap.fd = dn->tap.queue2 = -1;
		if (mc_init(dn) != 0)
			log_warnx("%s: cannot initialise a mutex", dn->name);
	}
}

/* shmnetd_open_taps: every network's TAP (fails early without
 * /dev/net/tun or CAP_NET_ADMIN). */
static int
shmnetd_open_taps(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < d->nnets; i++)
		if ((rc = netif_open(d->nets[i], err, errlen)) != 0)
			return rc;
	return 0;
}

/* shmnetd_configure: addresses, links and the global routing. */
static int
shmnetd_configure(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	/* the groups each TAP joined are read by mcw_start, once subscribed
	 * to the kernel's join notifications */
	for (i = 0; i < d->nnets; i++)
		if ((rc = netif_configure(d->nets[i], err, errlen)) != 0)
			return rc;
	if (d->conf.g.enabled) {
		if ((d->lbuf = calloc(SHM_LISTEN_MAX, sizeof(*d->lbuf))) == NULL)
			return -ENOMEM;
		if ((rc = groute_setup(d, err, errlen)) != 0)
			return rc;
		shmnetd_listeners(d);
	}
	return 0;
}

/* shmnetd_tcpwmem_raise: the namespace's TCP send buffer ceiling up to
 * [namespace] tcp-wmem-max (tcpwmem.c); a failure costs speed, not the
 * start, and says how to set it from outside. */
static void
shmnetd_tcpwmem_raise(struct daemon *d)
{
	struct tcpwmem *t = &d->tcpwmem;
	uint64_t want = d->conf.tcp_wmem_max;
	int rc;

	rc = tcpwmem_raise(t, TCPWMEM_SYSCTL, want);
	if (rc == 1)
		log_info("net.ipv4.tcp_wmem in this network namespace: "
		    "\"%" PRIu64 " %" PRIu64 " %" PRIu64 "\", was \"%" PRIu64
		    " %" PRIu64 " %" PRIu64 "\" (namespace.tcp-wmem-max; put "
		    "back at exit)", t->set[0], t->set[1], t->set[2],
		    t->old[0], t->old[1], t->old[2]);
	else if (rc < 0)
		log_warnx("cannot raise net.ipv4.tcp_wmem's maximum to %" PRIu64
		    " (namespace.tcp-wmem-max): %s; TCP streams over %s "
		    "may be slower.  Set it when the namespace is made (docker "
		    "run --sysctl net.ipv4.tcp_wmem=\"4096 16384 %" PRIu64
		    "\"), or set tcp-wmem-max = 0 to leave it alone",
		    want, strerror(-rc), d->conf.local.ifname, want);
}

/* shmnetd_tcpwmem_restore: undo shmnetd_tcpwmem_raise, unless somebody
 * changed the value since. */
static void
shmnetd_tcpwmem_restore(struct daemon *d)
{
	struct tcpwmem *t = &d->tcpwmem;
	int rc;

	rc = tcpwmem_restore(t, TCPWMEM_SYSCTL);
	if (rc == 1)
		log_info("net.ipv4.tcp_wmem put back to \"%" PRIu64 " %" PRIu64
		    " %" PRIu64 "\"", t->old[0], t->old[1], t->old[2]);
	else if (rc == -EBUSY)
		log_info("net.ipv4.tcp_wmem changed since the start; left as "
		    "it is");
	else if (rc < 0)
		log_warnx("cannot put net.ipv4.tcp_wmem back to \"%" PRIu64
		    " %" PRIu64 " %" PRIu64 "\": %s", t->old[0], t->old[1],
		    t->old[2], strerror(-rc));
}

/* shmnetd_start_threads: data threads of every network. */
static int
shmnetd_start_threads(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < d->nnets; i++)
		if ((rc = shmnetd_threads(d->nets[i])) != 0) {
			snprintf(err, errlen, "start %s data threads: %s",
			    d->nets[i]->name, strerror(-rc));
			return rc;
		}
	return 0;
}

/* shmnetd_daemonize_step: detach, or say why not. */
static int
shmnetd_daemonize_step(struct daemon *d, char *err, size_t errlen)
{
	int rc;

	if ((rc = shmnetd_daemonize(d)) != 0)
		snprintf(err, errlen, "daemon: %s", strerror(-rc));
	return rc;
}

/* shmnetd_run: start, serve until a signal, leave.  Returns exit code. */
int
shmnetd_run(struct daemon *d)
{
	char err[512];
	int i, code = 1;

	d->notify[0] = d->notify[1] = d->mcw_fd = -1;
	ss_init(&d->sockstat);
	signal(SIGPIPE, SIG_IGN);
	shmnetd_nets(d);

	if (shmnetd_open_taps(d, err, sizeof(err)) != 0)
		goto fail_tap;
	if (shmnetd_attach(d, err, sizeof(err)) != 0)
		goto fail_tap;
	if (pipe2(d->notify, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, sizeof(err), "pipe: %s", strerror(errno));
		goto fail_node;
	}
	if (shmnetd_configure(d, err, sizeof(err)) != 0)
		goto fail_route;
	shmnetd_tcpwmem_raise(d);
	/* before any thread: daemon(3) forks, and threads stay behind */
	if (shmnetd_daemonize_step(d, err, sizeof(err)) != 0)
		goto fail_route;
	if (watch_start(d) != 0) {
		snprintf(err, sizeof(err), "cannot start the watch thread");
		goto fail_watch;
	}
	member_scan(d);
	node_publish(d->seg, d->self);
	if (shmnetd_events(d) != 0) {
		snprintf(err, sizeof(err), "cannot set up the event loop");
		goto fail_events;
	}
	if (shmnetd_start_threads(d, err, sizeof(err)) != 0)
		goto fail_threads;
	if (member_announce(d, CFRAME_ANNOUNCE) != 0)
		log_warnx("announce on the broadcast ring failed");
	log_info("node %u (generation %u) joined cluster %s (segment %s)",
	    d->self, d->gen, d->conf.cluster, d->conf.segment);

	event_base_dispatch(d->base);

	code = 0;
	member_announce(d, CFRAME_LEAVE);
fail_threads:
	for (i = 0; i < d->nnets; i++)
		shmnetd_threads_stop(d->nets[i]);
fail_events:
	shmnetd_events_free(d);
fail_watch:
	watch_stop(d);
fail_route:
	shmnetd_tcpwmem_restore(d);
	if (d->conf.g.enabled)
		groute_teardown(d);
fail_node:
	shmnetd_detach(d);
fail_tap:
	for (i = 0; i < d->nnets; i++) {
		mc_close(d->nets[i]);
		netif_close(d->nets[i]);
	}
	sd_close(&d->diag);
	ss_close(&d->sockstat);
	free(d->lbuf);
	if (d->notify[0] != -1) {
		close(d->notify[0]);
		close(d->notify[1]);
	}
	if (code != 0)
		log_warnx("%s", err);
	else
		log_info("node left the cluster");
	return code;
}
