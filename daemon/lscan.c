/*
 * lscan.c: the listener scan.  The sockets of this namespace that can
 * take a flow to G (sockdiag.c) are published in the node's listener
 * table, where every ingress node picks a serving node for a new flow
 * (libshmnet/listen.c).  A scan runs at start, when a flow finds no
 * listener anywhere (a rescan every node is asked for), and on the tick:
 * its dumps walk the host's socket hash tables, so the tick skips it
 * while no TCP or UDP socket of ours came or went (sockstat.c), up to
 * LSCAN_FULL_TICKS in a row (a connect() on a bound UDP socket, or one
 * listener closed as another opened, moves no count), and on every tick
 * while a listener's accept queue is full: a full queue takes no new
 * flow (listen.c), and is seen to have room again within a tick.
 * Before each publish the health checks (health.c) put their state into
 * the listeners; a check's change publishes the last scan again
 * (lscan_republish), without a dump.  Sockets on the ports of [global]
 * ignore-ports are never published (BFD and BGP by default: a routing
 * daemon on a gateway listens on the wildcard address as a server of G
 * would, and would keep G announced, and its port served, with no
 * server).
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "gnet.h"
#include "groute.h"
#include "health.h"
#include "log.h"
#include "lscan.h"
#include "shmnetd.h"
#include "sockdiag.h"
#include "sockstat.h"

#define LSCAN_FULL_TICKS 10    /* a scan at least this often */
#define LSCAN_REPIN_MAX  65536 /* connections re-pinned at start */

struct lscan {
	struct shmseg *seg;
	uint32_t self;
	struct pkt_g g; /* what a socket must serve */
	const struct conf
	    *c;      /* the daemon's: ignore-ports, read at each scan */
	int ifindex; /* the global interface */
	struct groute *gr;
	struct shm_listen *buf; /* SHM_LISTEN_MAX entries */
	uint32_t n;             /* the last scan's, in buf */
	int valid;              /* buf holds the last scan, whole */
	struct health *health;  /* the checks, or NULL */
	struct shm_listen *old; /* what the last scan published */
	uint32_t nold;
	int full;            /* a listener's accept queue was full */
	struct sd_sock diag; /* kept sock_diag socket */
	struct sockstat ss;  /* has a socket come or gone */
	uint32_t quiet;      /* ticks without a scan */
	int warned;
};

/* lscan_new: the scan's state; the first scan is lscan_now's. */
struct lscan *
lscan_new(const struct handoff *ho, const struct conf *c, int ifindex,
    struct groute *gr)
{
	struct lscan *ls;

	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return NULL;
	if ((ls->buf = calloc(SHM_LISTEN_MAX, sizeof(*ls->buf))) == NULL ||
	    (ls->old = calloc(SHM_LISTEN_MAX, sizeof(*ls->old))) == NULL) {
		free(ls->buf);
		free(ls);
		return NULL;
	}
	ls->seg = ho->seg;
	ls->self = ho->self;
	gnet_carried(ho, c, &ls->g);
	ls->c = c;
	ls->ifindex = ifindex;
	ls->gr = gr;
	ss_init(&ls->ss);
	return ls;
}

/* lscan_free: undo lscan_new. */
void
lscan_free(struct lscan *ls)
{
	if (ls == NULL)
		return;
	sd_close(&ls->diag);
	ss_close(&ls->ss);
	free(ls->buf);
	free(ls->old);
	free(ls);
}

/* lscan_find: the entry of set[0..n) that publishes the same listener
 * as l, full or not; NULL if none. */
static const struct shm_listen *
lscan_find(const struct shm_listen *set, uint32_t n, const struct shm_listen *l)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (set[i].family == l->family && set[i].proto == l->proto &&
		    set[i].port == l->port && set[i].rport == l->rport &&
		    ((set[i].flags ^ l->flags) &
			~(SHM_LISTEN_FULL | SHM_LISTEN_FAILING)) == 0 &&
		    memcmp(set[i].raddr, l->raddr, 16) == 0)
			return &set[i];
	return NULL;
}

/* lscan_queues: say when a listener's accept queue fills (it takes no
 * new flow then) and when it has room again; keep the full ones for the
 * next scan.  Whether any is full. */
static int
lscan_queues(struct lscan *ls, uint32_t n)
{
	const struct shm_listen *l, *now;
	uint32_t i;

	for (i = 0; i < n; i++) {
		l = &ls->buf[i];
		if ((l->flags & SHM_LISTEN_FULL) &&
		    lscan_find(ls->old, ls->nold, l) == NULL)
			log_warnx("global: port %u/%s (IPv%u): accept queue "
				  "full (%u of %u): no new flow here until "
				  "it has room",
			    l->port, l->proto == IPPROTO_TCP ? "tcp" : "udp",
			    l->family, l->qlen, l->qmax);
	}
	for (i = 0; i < ls->nold; i++) {
		l = &ls->old[i];
		now = lscan_find(ls->buf, n, l);
		if (now == NULL || !(now->flags & SHM_LISTEN_FULL))
			log_info("global: port %u/%s (IPv%u): accept queue "
				 "has room again%s",
			    l->port, l->proto == IPPROTO_TCP ? "tcp" : "udp",
			    l->family, now == NULL ? " (closed)" : "");
	}
	ls->nold = 0;
	for (i = 0; i < n; i++)
		if (ls->buf[i].flags & SHM_LISTEN_FULL)
			ls->old[ls->nold++] = ls->buf[i];
	return ls->nold > 0;
}

/* lscan_health: the checks whose state goes into each publish. */
void
lscan_health(struct lscan *ls, struct health *h)
{
	ls->health = h;
}

/* lscan_publish: the last scan, with the checks' state, in the node's
 * table. */
static void
lscan_publish(struct lscan *ls)
{
	if (ls->health != NULL)
		health_merge(ls->health, ls->buf, ls->n);
	listen_publish(ls->seg, ls->self, ls->buf, ls->n);
}

/* lscan_republish: publish the last scan again, as a check changed; a
 * scan if the last one failed. */
void
lscan_republish(struct lscan *ls)
{
	if (!ls->valid) {
		lscan_now(ls);
		return;
	}
	lscan_publish(ls);
}

/* lscan_ignored: drop from the scan's n listeners those on the ports of
 * [global] ignore-ports (a routing daemon's, serving no cluster address);
 * how many are left. */
static uint32_t
lscan_ignored(struct lscan *ls, uint32_t n)
{
	const struct conf_pports *ig = &ls->c->g.ignore;
	uint32_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < ig->n && j < CONF_IGNORE_MAX; j++)
			if (ls->buf[i].proto == ig->proto[j] &&
			    ls->buf[i].port == ig->port[j])
				break;
		if (j == ig->n || j == CONF_IGNORE_MAX)
			ls->buf[kept++] = ls->buf[i];
	}
	return kept;
}

/* lscan_now: publish the sockets that can serve G here. */
void
lscan_now(struct lscan *ls)
{
	uint32_t n = 0;
	int truncated = 0, rc;

	ls->valid = 0;
	rc = sd_scan(&ls->diag, &ls->g, ls->ifindex, ls->buf, SHM_LISTEN_MAX,
	    &n, &truncated);
	if (rc != 0) {
		if (!ls->warned++)
			log_warnx("global: listener scan (sock_diag): %s",
			    strerror(-rc));
		ls->quiet = LSCAN_FULL_TICKS; /* again next tick */
		return;
	}
	if (truncated && !ls->warned++)
		log_warnx("global: more than %d listening sockets; publishing "
			  "the first %d",
		    SHM_LISTEN_MAX, SHM_LISTEN_MAX);
	n = lscan_ignored(ls, n);
	ls->full = lscan_queues(ls, n);
	ls->n = n;
	ls->valid = 1;
	lscan_publish(ls);
	groute_udp_ports(ls->gr, ls->buf, n);
}

/* lscan_tick: the tick's scan, when it can find anything new. */
void
lscan_tick(struct lscan *ls)
{
	if (ss_moved(&ls->ss) || ls->full || ++ls->quiet >= LSCAN_FULL_TICKS) {
		ls->quiet = 0;
		lscan_now(ls);
	}
}

/* lscan_repin: at start, the connections this node's sockets still
 * serve (a daemon stopped longer than the peers keep its flows) are
 * recorded again, pinned here (gnet_repin). */
void
lscan_repin(struct lscan *ls, const struct gnet *gn)
{
	uint32_t n = 0, done;
	struct conn_key *k;
	int truncated = 0, rc;

	if ((k = calloc(LSCAN_REPIN_MAX, sizeof(*k))) == NULL)
		return;
	rc = sd_established(&ls->diag, &ls->g, k, LSCAN_REPIN_MAX, &n,
	    &truncated);
	if (rc != 0)
		log_warnx("global: connections to re-pin (sock_diag): %s",
		    strerror(-rc));
	else if ((done = gnet_repin(gn, k, n)) > 0 || truncated)
		log_info("global: %u of this node's %u%s connections to G were "
			 "recorded again",
		    done, n, truncated ? " (and more: the first)" : "");
	free(k);
}
