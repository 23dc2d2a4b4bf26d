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

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "shmnetd.h"

#define TICK_MS		100

/* shmnetd_tick: heartbeat and membership scan, every TICK_MS. */
static void
shmnetd_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;

	atomic_fetch_add_explicit(&d->node->heartbeat, 1, memory_order_relaxed);
	member_scan(d);
}

/* shmnetd_notified: a data thread asked for a membership scan. */
static void
shmnetd_notified(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon *d = arg;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	member_scan(d);
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

/* shmnetd_events: event base, tick, notify pipe and signals. */
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
	if (d->ev_tick == NULL || d->ev_notify == NULL ||
	    event_add(d->ev_tick, &tick) || event_add(d->ev_notify, NULL))
		return -1;
	for (i = 0; i < 3; i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], shmnetd_signal, d);
		if (d->ev_sig[i] == NULL || event_add(d->ev_sig[i], NULL))
			return -1;
	}
	return 0;
}

/* shmnetd_events_free: undo shmnetd_events. */
static void
shmnetd_events_free(struct daemon *d)
{
	int i;

	for (i = 0; i < 3; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	if (d->ev_tick != NULL)
		event_free(d->ev_tick);
	if (d->ev_notify != NULL)
		event_free(d->ev_notify);
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
	};
	int rc;

	if ((rc = shmseg_open(&p, &d->seg, err, errlen)) != 0)
		return rc;
	d->max_nodes = shmseg_max_nodes(d->seg);
	if (d->max_nodes != d->conf.max_nodes)
		log_info("segment %s has max-nodes %u (configured %u); using "
		    "the segment's", d->conf.segment, d->max_nodes,
		    d->conf.max_nodes);
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
	d->local.stats = &d->node->stats[SHM_NET_LOCAL];
	d->local.bell = &d->node->bell[SHM_NET_LOCAL];
	d->seen_gen = calloc(d->max_nodes + 1, sizeof(*d->seen_gen));
	d->ring_err = calloc(d->max_nodes + 1, sizeof(*d->ring_err));
	if (d->seen_gen == NULL || d->ring_err == NULL) {
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
	if (d->self != 0)
		node_leave(d->seg, d->self);
	if (shmseg_close(d->seg, 1))
		log_info("last node out: removed %s", d->conf.segment);
	d->seg = NULL;
	free(d->seen_gen);
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

/* shmnetd_run: start, serve until a signal, leave.  Returns exit code. */
int
shmnetd_run(struct daemon *d)
{
	char err[512];
	int rc, code = 1;

	d->local.d = d;
	d->local.net = SHM_NET_LOCAL;
	d->local.name = "local";
	d->local.nc = &d->conf.local;
	d->local.tap.fd = -1;
	d->notify[0] = d->notify[1] = -1;
	signal(SIGPIPE, SIG_IGN);

	if (netif_open(&d->local, err, sizeof(err)) != 0)
		goto fail;
	if (shmnetd_attach(d, err, sizeof(err)) != 0)
		goto fail_tap;
	if (netif_configure(&d->local, err, sizeof(err)) != 0)
		goto fail_node;
	if (pipe2(d->notify, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, sizeof(err), "pipe: %s", strerror(errno));
		goto fail_node;
	}
	member_scan(d);
	node_publish(d->seg, d->self);
	if ((rc = shmnetd_daemonize(d)) != 0) {
		snprintf(err, sizeof(err), "daemon: %s", strerror(-rc));
		goto fail_node;
	}
	if (shmnetd_events(d) != 0) {
		snprintf(err, sizeof(err), "cannot set up the event loop");
		goto fail_events;
	}
	if ((rc = shmnetd_threads(&d->local)) != 0) {
		snprintf(err, sizeof(err), "start data threads: %s",
		    strerror(-rc));
		goto fail_threads;
	}
	if (member_announce(d, CFRAME_ANNOUNCE) != 0)
		log_warnx("announce on the broadcast ring failed");
	log_info("node %u (generation %u) joined cluster %s (segment %s)",
	    d->self, d->gen, d->conf.cluster, d->conf.segment);

	event_base_dispatch(d->base);

	code = 0;
	member_announce(d, CFRAME_LEAVE);
fail_threads:
	shmnetd_threads_stop(&d->local);
fail_events:
	shmnetd_events_free(d);
fail_node:
	shmnetd_detach(d);
fail_tap:
	netif_close(&d->local);
fail:
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
