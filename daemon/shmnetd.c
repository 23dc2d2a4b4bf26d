/*
 * shmnetd.c: the daemon's life: start in a fixed order, serve, leave.
 *
 * Start: TAP (fails early without /dev/net/tun or CAP_NET_ADMIN), the
 * /metrics socket if configured, segment, node claim, the modules' state,
 * interface configuration, rings for live peers, UP, data threads,
 * announce.  Each step undoes the ones before it
 * on failure, so a failed start leaves nothing behind.  SIGTERM/SIGINT
 * leave the cluster: LEAVE is broadcast, the threads stop, the node goes
 * DOWN and frees its rings, the TAP disappears and the last node out
 * removes the segment.  A node whose segment header was overwritten
 * leaves the same way (shmnetd_intact).  SIGHUP reloads the
 * configuration (reload.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "announce.h"
#include "cframe.h"
#include "gnet.h"
#include "groute.h"
#include "health.h"
#include "log.h"
#include "lscan.h"
#include "mcast.h"
#include "mcwatch.h"
#include "member.h"
#include "metricsd.h"
#include "reload.h"
#include "resize.h"
#include "rlocal.h"
#include "rxpath.h"
#include "sdnotify.h"
#include "shmnetd.h"
#include "txpath.h"
#include "watch.h"

/* A peer's crash is an event (watch.c), so is a join (mcwatch.c), a ring
 * growth request and an announce: the tick is the fallback, ring shrink
 * timers and the listener scan. */
#define TICK_MS 1000
/* A dead peer's lock outlives its keeper by the time its process takes
 * to exit. */
#define RESCAN_MS 10

/* shmnetd_members: a membership scan, and another in RESCAN_MS when it
 * asks for one (a peer's keeper died and its lock is not gone yet). */
static void
shmnetd_members(struct daemon *d)
{
	struct timeval tv = { 0, RESCAN_MS * 1000 };

	if (member_scan(d->member) && d->ev_rescan != NULL)
		evtimer_add(d->ev_rescan, &tv);
	announce_update(d->announce);
	rlocal_update(d->rlocal);
}

/* shmnetd_lock_busy: say once that a live node keeps the segment's
 * heap or node table lock (ring changes, frees and reaps wait for it and
 * are tried again each tick), and once that it let go. */
static void
shmnetd_lock_busy(struct daemon *d)
{
	uint32_t holder, n = shmseg_lock_busy(d->ho.seg, &holder);

	if (n != d->lock_busy && !d->lock_busy_said) {
		log_warnx("the segment's heap or node table lock is kept by "
			  "live node %u (stopped?); ring changes and reaps "
			  "wait for it",
		    holder);
		d->lock_busy_said = 1;
	} else if (n == d->lock_busy && d->lock_busy_said) {
		log_info("the segment's locks are free again");
		d->lock_busy_said = 0;
	}
	d->lock_busy = n;
}

/* shmnetd_intact: the segment's header still describes it.  Once its
 * magic or geometry was overwritten nobody can join the cluster or
 * inspect it, and a start makes no new one while the files remain: the
 * node leaves (the last one out removes them, so that the cluster can
 * be started anew).  Our own copy of the geometry is intact, so the
 * leave is the ordinary one.  0, or -1 when leaving. */
static int
shmnetd_intact(struct daemon *d)
{
	char err[512];

	if (shmseg_intact(d->ho.seg, err, sizeof(err)) == 0)
		return 0;
	log_warnx("%s; leaving the cluster", err);
	d->overwritten = 1;
	event_base_loopbreak(d->base);
	return -1;
}

/* shmnetd_routes: the cluster addresses other nodes took since the last
 * look at the table, reached through the global interface. */
static void
shmnetd_routes(struct daemon *d)
{
	uint32_t g[SHM_GADDR_MAX], mask;

	if (d->groute == NULL ||
	    (d->gseen != 0 && !gaddr_more(d->ho.seg, d->gseen)))
		return;
	mask = gaddr_read(d->ho.seg, g, &d->gseen);
	groute_addrs(d->groute, g, mask);
}

/* shmnetd_tick: every TICK_MS, heartbeat, membership scan (with ring
 * shrink), the multicast groups joined (for link-layer joins, which the
 * kernel does not announce), lost rx wake-ups, memory of retired rings
 * back to /dev/shm, routes to new cluster addresses, expired flows and
 * the listener scan: an idle daemon's main thread wakes once a
 * second. */
static void
shmnetd_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;
	int i;

	if (shmnetd_intact(d) != 0)
		return;
	atomic_fetch_add_explicit(&d->ho.node->heartbeat, 1,
	    memory_order_relaxed);
	if (d->watchdog)
		sdnotify("WATCHDOG=1");
	shmnetd_members(d);
	for (i = 0; i < d->nnets; i++) {
		mc_refresh(d->mc[i]);
		rx_watchdog(d->rx[i]);
	}
	heap_reclaim(d->ho.seg);
	shmnetd_lock_busy(d);
	if (d->conf.g.enabled) {
		shmnetd_routes(d);
		gnet_gc(d->gnet);
		lscan_tick(d->lscan);
		announce_update(d->announce);
	}
}

/* shmnetd_notified: another thread asked for work (notify.c). */
static void
shmnetd_notified(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;
	int what = notify_take(&d->ho.notify);

	if (what & NOTIFY_MEMBERS)
		shmnetd_members(d);
	if (what & NOTIFY_RESCAN_ALL)
		member_announce(d->member, CFRAME_RESCAN);
	if ((what & (NOTIFY_RESCAN | NOTIFY_RESCAN_ALL)) && d->conf.g.enabled) {
		lscan_now(d->lscan);
		announce_update(d->announce);
	}
}

/* shmnetd_rescan: the quick rescan shmnetd_members asked for. */
static void
shmnetd_rescan(evutil_socket_t fd, short ev, void *arg)
{
	shmnetd_members(arg);
}

/* shmnetd_left: the withdraw delay is over. */
static void
shmnetd_left(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;

	event_base_loopbreak(d->base);
}

/* shmnetd_leave: leave the cluster; a gateway that announced G first
 * withdraws it and goes on forwarding for withdraw-delay, while the
 * routers move its flows to other gateways (a second signal cuts that
 * short). */
static void
shmnetd_leave(struct daemon *d)
{
	uint32_t ms = d->conf.g.withdraw_delay_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (d->ev_leave != NULL || ms == 0 || !announce_withdraw(d->announce) ||
	    (d->ev_leave = evtimer_new(d->base, shmnetd_left, d)) == NULL ||
	    evtimer_add(d->ev_leave, &tv) != 0) {
		event_base_loopbreak(d->base);
		return;
	}
	sdnotify("STOPPING=1\nSTATUS=node %u of cluster %s: G withdrawn, "
		 "leaving in %u ms",
	    d->ho.self, d->conf.cluster, ms);
	log_info("global: G withdrawn; forwarding %u ms more while the "
		 "routers move away (withdraw-delay)",
	    ms);
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
		shmnetd_leave(d);
		break;
	case SIGHUP:
		reload_run(d, NULL);
		break;
	case SIGCHLD:
		health_reap(d->health);
		break;
	}
}

/* shmnetd_health_changed: a check changed: publish the listeners again,
 * so that pickers see it at once. */
static void
shmnetd_health_changed(void *arg)
{
	struct daemon *d = arg;

	lscan_republish(d->lscan);
}

/* shmnetd_health: the ports' health checks, run from the loop (after
 * daemon(3): they fork), in every publish of the listeners. */
static int
shmnetd_health(struct daemon *d)
{
	if (!d->conf.g.enabled)
		return 0;
	if ((d->health = health_new(d->base, &d->conf, d->foreground,
		 shmnetd_health_changed, d)) == NULL)
		return -1;
	lscan_health(d->lscan, d->health);
	return health_configure(d->health, &d->conf.g);
}

/* shmnetd_events: event base, tick, notify pipe, signals, the health
 * checks and the multicast join notifications. */
static int
shmnetd_events(struct daemon *d)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct timeval tick = { 0, TICK_MS * 1000 };
	int i, ifindex[SHM_NETS];

	if ((d->base = event_base_new()) == NULL ||
	    (d->metricsd != NULL &&
		metricsd_serve(d->metricsd, d->base, d->ho.seg) != 0))
		return -1;
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, shmnetd_tick, d);
	d->ev_notify = event_new(d->base, d->ho.notify.fd[0],
	    EV_READ | EV_PERSIST, shmnetd_notified, d);
	d->ev_rescan = evtimer_new(d->base, shmnetd_rescan, d);
	if (d->ev_tick == NULL || d->ev_notify == NULL ||
	    d->ev_rescan == NULL || event_add(d->ev_tick, &tick) ||
	    event_add(d->ev_notify, NULL))
		return -1;
	for (i = 0; i < 4; i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], shmnetd_signal,
		    d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL))
			return -1;
	}
	if (shmnetd_health(d) != 0)
		return -1;
	for (i = 0; i < d->nnets; i++)
		ifindex[i] = d->ho.net[i].ni.tap.ifindex;
	return mcw_start(d->base, d->mc, ifindex, d->nnets, &d->mcw);
}

/* shmnetd_events_free: undo shmnetd_events. */
static void
shmnetd_events_free(struct daemon *d)
{
	int i;

	mcw_stop(d->mcw);
	d->mcw = NULL;
	if (d->lscan != NULL)
		lscan_health(d->lscan, NULL);
	health_free(d->health);
	d->health = NULL;
	for (i = 0; i < 4; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	if (d->ev_tick != NULL)
		event_free(d->ev_tick);
	if (d->ev_notify != NULL)
		event_free(d->ev_notify);
	if (d->ev_rescan != NULL)
		event_free(d->ev_rescan);
	d->ev_rescan = NULL;
	if (d->ev_leave != NULL)
		event_free(d->ev_leave);
	d->ev_leave = NULL;
	metricsd_free(d->metricsd); /* evhttp first: it uses the base */
	d->metricsd = NULL;
	if (d->base != NULL)
		event_base_free(d->base);
}

/* shmnetd_handoff: the hand-off before anything else: no pipe yet, the
 * networks' locks, no CPU known, no multicast filter until the first
 * read of the groups (mc_gen 1: the rx thread, at 0, takes it), and
 * the live keys the data threads read. */
static int
shmnetd_handoff(struct handoff *ho, const struct conf *c)
{
	struct handoff_net *h;
	int i, rc;

	notify_init(&ho->notify);
	for (i = 0; i < SHM_NETS; i++) {
		h = &ho->net[i];
		if ((rc = pthread_mutex_init(&h->rx_lock, NULL)) != 0 ||
		    (rc = pthread_mutex_init(&h->mc_lock, NULL)) != 0)
			return -rc;
		atomic_init(&h->app_cpu, -1);
		atomic_init(&h->rx_cpu, -1);
		h->mc_pub.all = 1;
		atomic_init(&h->mc_gen, 1);
		atomic_init(&h->busy_poll_us,
		    i == SHM_NET_LOCAL ? c->local.busy_poll_us :
					 c->global.busy_poll_us);
	}
	return 0;
}

/* shmnetd_handoff_peers: the hand-off's per-peer words, once max_nodes
 * is known. */
static int
shmnetd_handoff_peers(struct handoff *ho)
{
	struct handoff_net *h;
	int i;

	for (i = 0; i < SHM_NETS; i++) {
		h = &ho->net[i];
		h->tx_seen_dv = calloc(ho->max_nodes + 1,
		    sizeof(*h->tx_seen_dv));
		h->rx_done_key = calloc(ho->max_nodes + 1,
		    sizeof(*h->rx_done_key));
		if (h->tx_seen_dv == NULL || h->rx_done_key == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* shmnetd_handoff_free: undo both. */
static void
shmnetd_handoff_free(struct handoff *ho)
{
	int i;

	for (i = 0; i < SHM_NETS; i++) {
		free(ho->net[i].tx_seen_dv);
		free(ho->net[i].rx_done_key);
		ho->net[i].tx_seen_dv = NULL;
		ho->net[i].rx_done_key = NULL;
	}
	notify_close(&ho->notify);
}

/* shmnetd_params: the segment this configuration creates. */
static int
shmnetd_params(const struct conf *c, struct shmseg_params *p, char *err,
    size_t errlen)
{
	struct group *gr;

	memset(p, 0, sizeof(*p));
	p->path = c->segment;
	p->cluster = c->cluster;
	p->size = c->segment_size;
	p->max_nodes = c->max_nodes;
	p->cast_slots = c->cast_slots;
	p->cast_slot_size = c->cast_slot_size;
	p->conn_buckets = conf_conn_buckets(c);
	p->global_addr4 = c->global.addr;
	memcpy(p->global_addr6, c->g.addr6, 16);
	p->mcast_rings[SHM_NET_LOCAL] = c->local.mcast_rings;
	p->mcast_rings[SHM_NET_GLOBAL] = c->global.mcast_rings;
	p->mode = c->segment_mode;
	p->gid = -1;
	if (c->segment_group[0] == '\0')
		return 0;
	if ((gr = getgrnam(c->segment_group)) == NULL) {
		snprintf(err, errlen, "segment-group %s: no such group",
		    c->segment_group);
		return -EINVAL;
	}
	p->gid = gr->gr_gid;
	return 0;
}

/* shmnetd_gaddrs_room: the segment's address table has room for the
 * addresses of ours it lacks, before any is taken: a node refused for
 * want of room leaves no index behind (short of a race with another
 * node's start, whose claims gaddr_claim then refuses one by one). */
static int
shmnetd_gaddrs_room(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *c = &d->conf;
	uint32_t t[SHM_GADDR_MAX], seen, i, lack = 0;

	gaddr_read(d->ho.seg, t, &seen);
	for (i = 0; i < c->g.addrs.n && i < CONF_GADDR_MAX; i++)
		lack += gaddr_find(d->ho.seg, c->g.addrs.a[i]) < 0;
	if (lack <= SHM_GADDR_MAX - seen)
		return 0;
	snprintf(err, errlen,
	    "cluster %s has %u cluster addresses (at most %d): this node's "
	    "%u new ones do not fit (shmnetctl addresses lists them)",
	    c->cluster, seen, SHM_GADDR_MAX, lack);
	return -ENOSPC;
}

/* shmnetd_gaddrs: the segment's G6 is ours, and each of our cluster
 * addresses has its index in the segment's table: found, or the lowest
 * free one taken (gaddr.c).  0, or -errno with err set. */
static int
shmnetd_gaddrs(struct daemon *d, char *err, size_t errlen)
{
	static const uint8_t none[16];
	const struct conf *c = &d->conf;
	const struct shm_hdr *h = shmseg_hdr(d->ho.seg);
	char a[INET6_ADDRSTRLEN] = "none", b[INET6_ADDRSTRLEN] = "none";
	uint32_t i;
	int rc;

	d->ho.gaddrs = 0;
	if (!c->g.enabled)
		return 0;
	if (memcmp(h->global_addr6, c->g.addr6, 16) != 0) {
		if (memcmp(h->global_addr6, none, 16) != 0)
			inet_ntop(AF_INET6, h->global_addr6, a, sizeof(a));
		if (conf_has_g6(c))
			inet_ntop(AF_INET6, c->g.addr6, b, sizeof(b));
		snprintf(err, errlen,
		    "cluster %s uses address6 %s, this node is configured "
		    "with %s: all nodes must agree",
		    c->cluster, a, b);
		return -EINVAL;
	}
	if ((rc = shmnetd_gaddrs_room(d, err, errlen)) != 0)
		return rc;
	for (i = 0; i < c->g.addrs.n && i < CONF_GADDR_MAX; i++) {
		if ((rc = gaddr_claim(d->ho.seg, c->g.addrs.a[i])) < 0) {
			inet_ntop(AF_INET, &c->g.addrs.a[i], a, sizeof(a));
			if (rc == -ENOSPC)
				snprintf(err, errlen,
				    "cluster %s has %d cluster addresses "
				    "already, the most it can: %s gets no "
				    "index (shmnetctl addresses lists them)",
				    c->cluster, SHM_GADDR_MAX, a);
			else
				snprintf(err, errlen,
				    "cluster %s: cluster address %s: %s",
				    c->cluster, a, strerror(-rc));
			return rc;
		}
		d->ho.gidx[i] = (uint8_t)rc;
		d->ho.gaddrs |= 1u << rc;
	}
	return 0;
}

/* shmnetd_geometry: say where the segment's geometry overrides ours. */
static void
shmnetd_geometry(const struct conf *c, const struct shmseg_params *p,
    struct shmseg *seg)
{
	uint32_t i, n;

	if (shmseg_max_nodes(seg) != c->max_nodes)
		log_info("segment %s has max-nodes %u (configured %u); using "
			 "the segment's",
		    c->segment, shmseg_max_nodes(seg), c->max_nodes);
	for (i = 0; i < SHM_NETS; i++)
		if ((n = shmseg_mcast_count(seg, i)) != p->mcast_rings[i])
			log_info("segment %s has %u multicast rings on the %s "
				 "network (configured %u); using the segment's",
			    c->segment, n,
			    i == SHM_NET_LOCAL ? "local" : "global",
			    p->mcast_rings[i]);
}

/* shmnetd_segment: open (or create) the segment. */
static int
shmnetd_segment(struct daemon *d, char *err, size_t errlen)
{
	struct shmseg_params p;
	int rc;

	if ((rc = shmnetd_params(&d->conf, &p, err, errlen)) != 0 ||
	    (rc = shmseg_open(&p, &d->ho.seg, err, errlen)) != 0)
		return rc;
	if ((rc = shmnetd_gaddrs(d, err, errlen)) != 0) {
		shmseg_close(d->ho.seg, 1);
		d->ho.seg = NULL;
		return rc;
	}
	shmnetd_geometry(&d->conf, &p, d->ho.seg);
	d->ho.max_nodes = shmseg_max_nodes(d->ho.seg);
	return 0;
}

/* shmnetd_claim_err: why node_claim refused; holder: who kept the node
 * table lock (-EBUSY). */
static void
shmnetd_claim_err(const struct daemon *d, int rc, uint32_t holder, char *err,
    size_t errlen)
{
	const struct conf *c = &d->conf;

	if (rc == -EADDRINUSE)
		snprintf(err, errlen,
		    "node %u of cluster %s is already in use "
		    "by a live daemon",
		    c->node, c->cluster);
	else if (rc == -EUSERS)
		snprintf(err, errlen,
		    "cluster %s has no free node id "
		    "(max-nodes %u)",
		    c->cluster, d->ho.max_nodes);
	else if (rc == -ESTALE)
		snprintf(err, errlen,
		    "the files of cluster %s were removed "
		    "as this node joined, three times in a row",
		    c->cluster);
	else if (rc == -ENOLCK)
		snprintf(err, errlen,
		    "claim node %u: another process holds a "
		    "read lock on cluster %s's lock file (no daemon takes one; "
		    "lslocks shows it): end it",
		    c->node, c->cluster);
	else if (rc == -ERANGE)
		snprintf(err, errlen,
		    "node %u out of range (1-%u, the "
		    "segment's max-nodes)",
		    c->node, d->ho.max_nodes);
	else if (rc == -EBUSY)
		snprintf(err, errlen,
		    "claim node %u: the node table of cluster %s stayed "
		    "locked by live node %u (stopped?)",
		    c->node, c->cluster, holder);
	else
		snprintf(err, errlen, "claim node %u: %s", c->node,
		    strerror(-rc));
}

/* shmnetd_claim: open the segment and claim our node; the id, or
 * -errno with err set.  A last node out may remove the cluster's files
 * between the two (-ESTALE): then again, on the files made anew. */
static int
shmnetd_claim(struct daemon *d, char *err, size_t errlen)
{
	struct handoff *ho = &d->ho;
	uint32_t holder = 0;
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if ((rc = shmnetd_segment(d, err, errlen)) != 0)
			return rc;
		if ((rc = node_claim(ho->seg, d->conf.node, &ho->gen)) >= 0)
			return rc;
		shmseg_lock_busy(ho->seg, &holder);
		shmseg_close(ho->seg, rc != -ESTALE);
		ho->seg = NULL;
		if (rc != -ESTALE)
			break;
	}
	shmnetd_claim_err(d, rc, holder, err, errlen);
	return rc;
}

/* shmnetd_attach: open the segment and claim our node. */
static int
shmnetd_attach(struct daemon *d, char *err, size_t errlen)
{
	struct handoff *ho = &d->ho;
	int rc, i;

	if ((rc = shmnetd_claim(d, err, errlen)) < 0)
		return rc;
	ho->self = (uint32_t)rc;
	ho->node = shmseg_node(ho->seg, ho->self);
	gaddr_publish(ho->seg, ho->self, ho->gaddrs);
	backend_reset(ho->seg, ho->self, d->conf.g.weight);
	for (i = 0; i < d->nnets; i++)
		netif_attach(&d->ho.net[i].ni, ho->node);
	if ((rc = shmnetd_handoff_peers(ho)) != 0 ||
	    (d->member = member_new(ho, d->conf.g.enabled)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < d->nnets; i++)
		member_net(d->member, &d->ho.net[i].ni, NULL);
	return 0;
}

/* shmnetd_detach: leave the node table; the last one out removes files. */
static void
shmnetd_detach(struct daemon *d)
{
	struct handoff *ho = &d->ho;

	member_free(d->member);
	d->member = NULL;
	if (ho->seg == NULL)
		return;
	if (ho->self != 0) {
		/* the flows it serves stay pinned for a while: a daemon
		 * started again at once (an upgrade) finds them (member.c) */
		listen_publish(ho->seg, ho->self, NULL, 0);
		if (node_leave(ho->seg, ho->self) == -EBUSY)
			log_warnx("node %u left without freeing its rings: a "
				  "segment lock is kept by a live node; the "
				  "others reap them",
			    ho->self);
	}
	if (shmseg_close(ho->seg, 1))
		log_info("last node out: removed %s", d->conf.segment);
	ho->seg = NULL;
}

/* shmnetd_net_modules: the data path's state of network i. */
static int
shmnetd_net_modules(struct daemon *d, int i)
{
	struct handoff_net *h = &d->ho.net[i];
	struct netif *ni = &d->ho.net[i].ni;
	int rc;

	if ((rc = mc_new(&d->ho, h, ni, &d->mc[i])) != 0 ||
	    (rc = rx_new(&d->ho, h, ni, d->mc[i], &d->rx[i])) != 0)
		return rc;
	if (ni->net == SHM_NET_GLOBAL &&
	    (d->gnet = gnet_new(&d->ho, ni, &d->conf)) == NULL)
		return -ENOMEM;
	if ((d->tx[i] = tx_new(&d->ho, h, ni, d->rx[i],
		 ni->net == SHM_NET_GLOBAL ? d->gnet : NULL)) == NULL ||
	    (d->rs[i] = rs_new(&d->ho, h, ni, d->tx[i])) == NULL)
		return -ENOMEM;
	member_net(d->member, ni, d->rs[i]);
	return 0;
}

/* shmnetd_modules: every network's data path state, threads not yet
 * started. */
static int
shmnetd_modules(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < d->nnets; i++)
		if ((rc = shmnetd_net_modules(d, i)) != 0) {
			snprintf(err, errlen,
			    "set up the %s network's data "
			    "path: %s",
			    d->ho.net[i].ni.name,
			    rc == -EBADMSG ?
				"a broadcast or multicast ring of the segment is "
				"corrupt" :
				strerror(-rc));
			return rc;
		}
	return 0;
}

/* shmnetd_modules_free: undo shmnetd_modules (threads stopped). */
static void
shmnetd_modules_free(struct daemon *d)
{
	int i;

	for (i = 0; i < SHM_NETS; i++) {
		rs_free(d->rs[i]);
		tx_free(d->tx[i]);
		rx_free(d->rx[i]);
		mc_free(d->mc[i]);
		d->rs[i] = NULL;
		d->tx[i] = NULL;
		d->rx[i] = NULL;
		d->mc[i] = NULL;
	}
	gnet_free(d->gnet);
	d->gnet = NULL;
}

/* shmnetd_daemonize: detach from the terminal once setup succeeded. */
static int
shmnetd_daemonize(struct daemon *d, char *err, size_t errlen)
{
	if (d->foreground)
		return 0;
	if (daemon(0, 0) == -1) {
		snprintf(err, errlen, "daemon: %s", strerror(errno));
		return -errno;
	}
	log_init(0, "shmnetd");
	d->ho.node->pid = (uint32_t)getpid();
	return 0;
}

/* shmnetd_open_taps: every network's TAP (fails early without
 * /dev/net/tun or CAP_NET_ADMIN). */
static int
shmnetd_open_taps(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	d->nnets = d->conf.g.enabled ? 2 : 1;
	for (i = 0; i < SHM_NETS; i++)
		d->ho.net[i].ni.tap.fd = d->ho.net[i].ni.tap.queue2 = -1;
	for (i = 0; i < d->nnets; i++)
		if ((rc = netif_open(&d->ho.net[i].ni, (uint32_t)i,
			 i == SHM_NET_LOCAL ? &d->conf.local : &d->conf.global,
			 err, errlen)) != 0)
			return rc;
	return 0;
}

/* shmnetd_metrics_open: the /metrics socket, if metrics-listen is set:
 * bound before the node joins, so that a bind failure stops the start
 * with nothing to undo in the cluster. */
static int
shmnetd_metrics_open(struct daemon *d, char *err, size_t errlen)
{
	if (d->conf.metrics.family == 0)
		return 0;
	return metricsd_open(&d->conf.metrics, &d->metricsd, err, errlen);
}

/* shmnetd_configure: addresses, links and the global routing. */
static int
shmnetd_configure(struct daemon *d, char *err, size_t errlen)
{
	struct netif *g = &d->ho.net[SHM_NET_GLOBAL].ni;
	struct netif *l = &d->ho.net[SHM_NET_LOCAL].ni;
	int i, rc;

	/* the groups each TAP joined are read by mcw_start, once subscribed
	 * to the kernel's join notifications */
	for (i = 0; i < d->nnets; i++)
		if ((rc = netif_configure(&d->ho.net[i].ni, &d->conf,
			 d->ho.node, d->ho.self, err, errlen)) != 0)
			return rc;
	if (!d->conf.g.enabled)
		return 0;
	if ((rc = groute_setup(&d->conf, d->ho.self, d->ho.max_nodes,
		 g->tap.ifindex, g->tap.name, &d->groute, err, errlen)) != 0)
		return rc;
	shmnetd_routes(d);
	if ((d->lscan = lscan_new(&d->ho, &d->conf, g->tap.ifindex,
		 d->groute)) == NULL) {
		snprintf(err, errlen, "global: out of memory");
		return -ENOMEM;
	}
	lscan_now(d->lscan);
	if (d->gnet != NULL)
		lscan_repin(d->lscan, d->gnet);
	if (d->conf.g.gateway[0] != '\0' &&
	    d->conf.g.gateway_mode == CONF_GW_ROUTE &&
	    (d->announce = announce_new(&d->conf, d->ho.seg, d->ho.self,
		 g->tap.ifindex, l->tap.ifindex)) == NULL) {
		snprintf(err, errlen, "global: out of memory");
		return -ENOMEM;
	}
	if (d->conf.g.route_local && d->conf.g.gateway[0] == '\0' &&
	    (rc = rlocal_new(&d->conf, d->ho.seg, d->ho.self, l->tap.ifindex,
		 d->ho.node->addr4[SHM_NET_LOCAL], &d->rlocal, err, errlen)) !=
		0)
		return rc;
	rlocal_update(d->rlocal);
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
			 "\"%" PRIu64 " %" PRIu64 " %" PRIu64
			 "\", was \"%" PRIu64 " %" PRIu64 " %" PRIu64
			 "\" (namespace.tcp-wmem-max; put "
			 "back at exit)",
		    t->set[0], t->set[1], t->set[2], t->old[0], t->old[1],
		    t->old[2]);
	else if (rc < 0)
		log_warnx(
		    "cannot raise net.ipv4.tcp_wmem's maximum to %" PRIu64
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
			 " %" PRIu64 "\"",
		    t->old[0], t->old[1], t->old[2]);
	else if (rc == -EBUSY)
		log_info("net.ipv4.tcp_wmem changed since the start; left as "
			 "it is");
	else if (rc < 0)
		log_warnx("cannot put net.ipv4.tcp_wmem back to \"%" PRIu64
			  " %" PRIu64 " %" PRIu64 "\": %s",
		    t->old[0], t->old[1], t->old[2], strerror(-rc));
}

/* shmnetd_threads: start every network's data threads, rx first (tx
 * helps it); resizing starts with them. */
static int
shmnetd_threads(struct daemon *d, char *err, size_t errlen)
{
	int i, rc;

	for (i = 0; i < d->nnets; i++) {
		if ((rc = rx_start(d->rx[i])) != 0 ||
		    (rc = tx_start(d->tx[i])) != 0) {
			snprintf(err, errlen, "start %s data threads: %s",
			    d->ho.net[i].ni.name, strerror(-rc));
			return rc;
		}
		rs_on(d->rs[i]);
	}
	return 0;
}

/* shmnetd_threads_stop: stop and join the data threads (tx first: it
 * may be helping rx). */
static void
shmnetd_threads_stop(struct daemon *d)
{
	int i;

	for (i = 0; i < d->nnets; i++) {
		if (d->rs[i] != NULL)
			rs_off(d->rs[i]);
		if (d->tx[i] != NULL)
			tx_stop(d->tx[i]);
		if (d->rx[i] != NULL)
			rx_stop(d->rx[i]);
	}
}

/* shmnetd_up: the node is ready: scan the members once (rings for the
 * live peers), go UP, and set up the events the loop will serve. */
static int
shmnetd_up(struct daemon *d, char *err, size_t errlen)
{
	member_watch(d->member, d->watch);
	shmnetd_members(d);
	member_publish(d->member);
	if (shmnetd_events(d) != 0) {
		snprintf(err, errlen, "cannot set up the event loop");
		return -1;
	}
	return 0;
}

/* shmnetd_close: the modules' state, the TAPs and the hand-off, once
 * the threads are joined and the node has left. */
static void
shmnetd_close(struct daemon *d)
{
	int i;

	shmnetd_modules_free(d);
	for (i = 0; i < d->nnets; i++)
		netif_close(&d->ho.net[i].ni);
	shmnetd_handoff_free(&d->ho);
	metricsd_free(d->metricsd); /* a start that never served it */
	d->metricsd = NULL;
}

/* How far a start got: what shmnetd_stop undoes. */
enum shmnetd_stage {
	STAGE_NONE,       /* the hand-off, the TAPs opened so far */
	STAGE_NODE,       /* the segment and maybe our node */
	STAGE_CONFIGURED, /* modules, interfaces, routing, tcp_wmem */
	STAGE_WATCH,      /* the watch thread */
	STAGE_EVENTS,     /* UP, the event loop */
	STAGE_THREADS,    /* the data threads */
	STAGE_UP          /* announced: serving */
};

/* shmnetd_start: every step of the start, in order; the stage reached
 * (STAGE_UP on success, with err unset). */
static enum shmnetd_stage
shmnetd_start(struct daemon *d, char *err, size_t errlen)
{
	signal(SIGPIPE, SIG_IGN);
	if (shmnetd_handoff(&d->ho, &d->conf) != 0) {
		snprintf(err, errlen, "cannot initialise a mutex");
		return STAGE_NONE;
	}
	if (shmnetd_open_taps(d, err, errlen) != 0 ||
	    shmnetd_metrics_open(d, err, errlen) != 0)
		return STAGE_NONE;
	if (shmnetd_attach(d, err, errlen) != 0)
		return STAGE_NODE;
	if (notify_open(&d->ho.notify) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return STAGE_NODE;
	}
	if (shmnetd_modules(d, err, errlen) != 0 ||
	    shmnetd_configure(d, err, errlen) != 0)
		return STAGE_CONFIGURED;
	shmnetd_tcpwmem_raise(d);
	/* before any thread: daemon(3) forks, and threads stay behind */
	if (shmnetd_daemonize(d, err, errlen) != 0)
		return STAGE_CONFIGURED;
	if ((d->watch = watch_start(&d->ho)) == NULL) {
		snprintf(err, errlen, "cannot start the watch thread");
		return STAGE_CONFIGURED;
	}
	if (shmnetd_up(d, err, errlen) != 0)
		return STAGE_EVENTS;
	if (shmnetd_threads(d, err, errlen) != 0)
		return STAGE_THREADS;
	if (member_announce(d->member, CFRAME_ANNOUNCE) != 0)
		log_warnx("announce on the broadcast ring failed");
	return STAGE_UP;
}

/* shmnetd_stop: undo a start that reached stage, newest step first. */
static void
shmnetd_stop(struct daemon *d, enum shmnetd_stage stage)
{
	switch (stage) {
	case STAGE_UP:
		/* the routers stop sending G here before the node leaves */
		announce_free(d->announce);
		d->announce = NULL;
		member_announce(d->member, CFRAME_LEAVE);
		/* FALLTHROUGH */
	case STAGE_THREADS:
		shmnetd_threads_stop(d);
		/* FALLTHROUGH */
	case STAGE_EVENTS:
		shmnetd_events_free(d);
		/* FALLTHROUGH */
	case STAGE_WATCH:
		member_watch(d->member, NULL);
		watch_stop(d->watch);
		d->watch = NULL;
		/* FALLTHROUGH */
	case STAGE_CONFIGURED:
		shmnetd_tcpwmem_restore(d);
		announce_free(d->announce);
		d->announce = NULL;
		rlocal_free(d->rlocal);
		d->rlocal = NULL;
		lscan_free(d->lscan);
		d->lscan = NULL;
		groute_free(d->groute);
		d->groute = NULL;
		/* FALLTHROUGH */
	case STAGE_NODE:
		shmnetd_detach(d);
		/* FALLTHROUGH */
	case STAGE_NONE:
		shmnetd_close(d);
	}
}

/* shmnetd_run: start, serve until a signal, leave.  Returns exit code. */
int
shmnetd_run(struct daemon *d)
{
	enum shmnetd_stage stage;
	char err[512];

	if ((stage = shmnetd_start(d, err, sizeof(err))) != STAGE_UP) {
		shmnetd_stop(d, stage);
		log_warnx("%s", err);
		sdnotify("STATUS=%s", err);
		return 1;
	}
	log_info("node %u (generation %u) joined cluster %s (segment %s)",
	    d->ho.self, d->ho.gen, d->conf.cluster, d->conf.segment);
	d->watchdog = sdnotify_watchdog_usec() != 0;
	sdnotify("READY=1\nSTATUS=node %u of cluster %s: up", d->ho.self,
	    d->conf.cluster);
	event_base_dispatch(d->base);
	sdnotify("STOPPING=1\nSTATUS=node %u of cluster %s: leaving",
	    d->ho.self, d->conf.cluster);
	shmnetd_stop(d, STAGE_UP);
	log_info("node left the cluster");
	return d->overwritten ? 1 : 0;
}
