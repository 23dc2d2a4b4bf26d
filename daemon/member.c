/*
 * member.c: cluster membership, run by the main thread.
 *
 * There is no join protocol: a node claims its slot, provisions the rings
 * its live peers will transmit into, goes UP and announces itself on the
 * broadcast ring.  Every daemon runs member_scan on each announce, when
 * its watch thread sees a peer's keeper die, and every tick: it reaps
 * peers whose daemon died (their OFD lock is gone), provisions a ring for
 * each live peer generation it has no ring for, and retires rings from
 * peers that are gone or whose ring was found corrupt.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cframe.h"
#include "conf.h"
#include "log.h"
#include "member.h"
#include "resize.h"
#include "shmnetd.h"
#include "watch.h"
#include "wake.h"

/* Quick rescans while a keeper is dead and its lock held. */
#define MEMBER_RESCANS 100
/* Scans in a row a moving heartbeat alone may say a node lives. */
#define MEMBER_HB_TRUST 8
/* A live node whose heartbeat stood still this long stopped answering:
 * it takes no new flow of the global network (its tick, which bumps it
 * every second, is late by three). */
#define MEMBER_STALL_MS 4000
/* A node down this long is gone: the flows it served are dropped.  A
 * daemon restarted within it (an upgrade) finds its flows still pinned
 * to it, their sockets alive in its namespace. */
#define MEMBER_FLOW_GRACE_MS 10000

struct member {
	struct shmseg *seg;
	struct shm_node *node; /* own */
	uint32_t self, gen, max_nodes;
	int global; /* purge flows of the dead */
	int nnets;
	struct netif *ni[SHM_NETS];
	struct resize *rs[SHM_NETS];
	struct watch *watch;
	uint32_t *seen_gen;  /* gen seen up, 0 down */
	uint64_t *seen_hb;   /* heartbeat last scan */
	uint8_t *hb_trusted; /* scans it alone said alive */
	uint8_t *ring_err;   /* alloc error logged */
	uint64_t *hb_ms;     /* when its heartbeat last moved (ms clock) */
	uint8_t *stalled;    /* said to have stopped answering */
	uint64_t *purge_ms;  /* when its flows go, if still down; 0 none */
	uint32_t rescans;    /* quick rescans left */
	int published;       /* our entry says UP (member_publish) */
};

/* member_new: membership of the claimed node. */
struct member *
member_new(const struct handoff *ho, int global)
{
	struct member *m;
	size_t n = ho->max_nodes + 1;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->seg = ho->seg;
	m->node = ho->node;
	m->self = ho->self;
	m->gen = ho->gen;
	m->max_nodes = ho->max_nodes;
	m->global = global;
	m->seen_gen = calloc(n, sizeof(*m->seen_gen));
	m->seen_hb = calloc(n, sizeof(*m->seen_hb));
	m->hb_trusted = calloc(n, sizeof(*m->hb_trusted));
	m->ring_err = calloc(n, sizeof(*m->ring_err));
	m->hb_ms = calloc(n, sizeof(*m->hb_ms));
	m->stalled = calloc(n, sizeof(*m->stalled));
	m->purge_ms = calloc(n, sizeof(*m->purge_ms));
	if (m->seen_gen == NULL || m->seen_hb == NULL ||
	    m->hb_trusted == NULL || m->ring_err == NULL || m->hb_ms == NULL ||
	    m->stalled == NULL || m->purge_ms == NULL) {
		member_free(m);
		return NULL;
	}
	return m;
}

/* member_free: undo member_new. */
void
member_free(struct member *m)
{
	if (m == NULL)
		return;
	free(m->seen_gen);
	free(m->seen_hb);
	free(m->hb_trusted);
	free(m->ring_err);
	free(m->hb_ms);
	free(m->stalled);
	free(m->purge_ms);
	free(m);
}

/* member_net: a network whose rings we keep, or its resize state now. */
void
member_net(struct member *m, struct netif *ni, struct resize *rs)
{
	int i;

	for (i = 0; i < m->nnets; i++)
		if (m->ni[i] == ni) {
			m->rs[i] = rs;
			return;
		}
	if (m->nnets < SHM_NETS) {
		m->ni[m->nnets] = ni;
		m->rs[m->nnets++] = rs;
	}
}

/* member_watch: the watch thread to kick when a peer comes up. */
void
member_watch(struct member *m, struct watch *w)
{
	m->watch = w;
}

/* member_announce: broadcast an ANNOUNCE, LEAVE or RESCAN frame. */
int
member_announce(struct member *m, uint8_t type)
{
	uint8_t buf[CFRAME_LEN];
	uint32_t len, size;
	void *mem;
	int rc;

	len = cframe_build(buf, SHM_NET_LOCAL, m->self, m->gen, type);
	mem = shmseg_cast(m->seg, SHM_NET_LOCAL, &size);
	rc = cast_write(m->seg, mem, size, m->self, NULL, buf, len);
	if (rc == 0)
		wake_all(m->seg, m->self, SHM_NET_LOCAL);
	return rc;
}

/* member_ring_ok: the ring we provisioned for a peer if it is still fine,
 * else NULL.  A header that no longer validates (scribbled) is marked
 * corrupt here, reported once, and replaced by the caller. */
static struct shm_ring_hdr *
member_ring_ok(struct member *m, struct netif *ni, uint32_t id,
    const struct shm_dirent *de, uint32_t gen)
{
	struct shm_ring_hdr *r;

	if (de->peer_gen != gen || de->size < sizeof(*r) ||
	    (r = shmseg_ring(m->seg, de->off, de->size)) == NULL)
		return NULL;
	if (ring_check(r, de->size, de->key, (uint16_t)id, (uint16_t)m->self) ==
	    0)
		return r;
	if (ring_mark(r, SHM_RING_CORRUPT)) {
		atomic_fetch_add_explicit(&ni->stats->corrupt, 1,
		    memory_order_relaxed);
		log_warnx("%s: ring from node %u has a corrupt header; marked "
			  "down",
		    ni->name, id);
	}
	return NULL;
}

/* member_ring: make our ring from peer id match its state. */
static void
member_ring(struct member *m, int i, uint32_t id, int up, uint32_t gen)
{
	struct netif *ni = m->ni[i];
	const struct netconf *nc = ni->nc;
	struct shm_ring_hdr *r;
	struct shm_dirent de;
	int have, rc;

	if (!up) {
		/* also frees a ring retired while the heap was busy */
		node_dirent_clear(m->seg, m->self, ni->net, id);
		return;
	}
	have = node_dirent_read(m->seg, m->self, ni->net, id, &de) == 0;
	if (have && (r = member_ring_ok(m, ni, id, &de, gen)) != NULL) {
		if (m->rs[i] != NULL)
			rs_ring(m->rs[i], id, &de, r);
		return;
	}
	if (have && de.peer_gen == gen)
		log_info("%s: replacing the ring from node %u", ni->name, id);
	rc = node_dirent_alloc(m->seg, m->self, ni->net, id, gen,
	    conf_ring_min_slots(nc), nc->slot_size);
	if (rc == 0) {
		m->ring_err[id] = 0;
		return;
	}
	if (rc == -EBUSY)
		return; /* the heap lock: said once (shmnetd_lock_busy), and
			 * the next scan tries again */
	if (!m->ring_err[id]++)
		log_warnx("%s: cannot provision the ring from node %u "
			  "(%u x %u bytes): %s%s",
		    ni->name, id, conf_ring_min_slots(nc), nc->slot_size,
		    strerror(-rc),
		    rc == -ENOSPC     ? " (the segment's file system is full)" :
			rc == -ENOMEM ? " (segment-size too small)" :
					"");
}

/* member_reaped: we found node id dead and reaped it: its flows and
 * listeners go with it. */
static void
member_reaped(struct member *m, uint32_t id)
{
	listen_publish(m->seg, id, NULL, 0);
	log_info("node %u died; reaped its rings and listeners", id);
}

/* member_flows: the flows a node down MEMBER_FLOW_GRACE_MS served are
 * dropped; a node back up within it keeps them.  went_down: it was
 * seen go down this scan. */
static void
member_flows(struct member *m, uint32_t id, int up, int went_down)
{
	uint32_t flows;

	if (!m->global || up) {
		m->purge_ms[id] = 0;
		return;
	}
	if (went_down)
		m->purge_ms[id] = clock_ms() + MEMBER_FLOW_GRACE_MS;
	if (m->purge_ms[id] == 0 || clock_ms() < m->purge_ms[id])
		return;
	m->purge_ms[id] = 0;
	if ((flows = conn_purge_node(m->seg, m->self, (uint16_t)id)) > 0)
		log_info("node %u: dropped the %u flows it served (down for "
			 "%d s)",
		    id, flows, MEMBER_FLOW_GRACE_MS / 1000);
}

/* member_alive: does UP node id live?  A heartbeat that moved since the
 * last scan says so, unless its keeper died (watch.c); otherwise its OFD
 * lock is probed (a syscall), so an idle cluster makes about none per
 * tick.  The heartbeat is anybody's to write: at least every
 * MEMBER_HB_TRUST scans the lock is probed anyway.  *suspect: the keeper
 * died but the lock is still held. */
static int
member_alive(struct member *m, struct shm_node *n, uint32_t id, int *suspect)
{
	uint64_t hb = atomic_load_explicit(&n->heartbeat, memory_order_relaxed);
	int died = keeper_died(m->seg, id), alive;

	if (hb != m->seen_hb[id])
		m->hb_ms[id] = clock_ms();
	if (hb != m->seen_hb[id] && !died &&
	    m->hb_trusted[id] < MEMBER_HB_TRUST) {
		m->seen_hb[id] = hb;
		m->hb_trusted[id]++;
		return 1;
	}
	m->seen_hb[id] = hb;
	m->hb_trusted[id] = 0;
	alive = ofd_alive(m->seg, id);
	*suspect += died && alive;
	return alive;
}

/* member_stall: a live node whose heartbeat stood still for
 * MEMBER_STALL_MS stopped answering (stopped, or its main loop hangs):
 * this process gives it no new flow until it moves again. */
static void
member_stall(struct member *m, uint32_t id, int up, int fresh)
{
	int stalled;

	if (fresh)
		m->hb_ms[id] = clock_ms();
	stalled = up && clock_ms() - m->hb_ms[id] >= MEMBER_STALL_MS;
	if (stalled == m->stalled[id])
		return;
	m->stalled[id] = (uint8_t)stalled;
	backend_set_stalled(m->seg, id, stalled);
	if (stalled)
		log_warnx("node %u stopped answering (heartbeat still for "
			  "%d s): it takes no new flow",
		    id, MEMBER_STALL_MS / 1000);
	else if (up)
		log_info("node %u answers again", id);
}

/* member_peer: reconcile our rings with peer id's state; kicked[i] once
 * a network's tx thread was kicked this scan.  The kick is for a peer
 * that went down too: our tx thread may sit in a read into room it
 * reserved in that peer's ring, which is freed now, and must let go of
 * it before the memory serves another ring. */
static void
member_peer(struct member *m, uint32_t id, int *suspect, int *kicked)
{
	struct shm_node *n = shmseg_node(m->seg, id);
	uint32_t gen;
	int up, i;

	up = atomic_load_explicit(&n->state, memory_order_acquire) ==
		SHM_NODE_UP &&
	    member_alive(m, n, id, suspect);
	if (!up && node_reap(m->seg, m->self, id))
		member_reaped(m, id);
	gen = atomic_load_explicit(&n->gen, memory_order_acquire);
	member_stall(m, id, up, up && m->seen_gen[id] != gen);
	member_flows(m, id, up, !up && m->seen_gen[id] != 0);
	if (up && m->seen_gen[id] != gen) {
		log_info("node %u up (generation %u)", id, gen);
		watch_kick(m->watch); /* watch its keeper */
	} else if (!up && m->seen_gen[id] != 0)
		log_info("node %u down", id);
	m->seen_gen[id] = up ? gen : 0;
	for (i = 0; i < m->nnets; i++) {
		member_ring(m, i, id, up, gen);
		if (!kicked[i] && m->rs[i] != NULL)
			kicked[i] = rs_kick(m->rs[i], id);
	}
}

/* member_publish: our node is ready for traffic: UP in the table. */
void
member_publish(struct member *m)
{
	node_publish(m->seg, m->self);
	m->published = 1;
}

/* member_self: our own entry still says UP and our generation.  Peers
 * route by them, and only we write them while we live: an entry that
 * says otherwise was overwritten (anybody who may write the segment can),
 * and left so, would cut us off for good.  Published again, as at the
 * start: peers see a generation come up and provision its rings anew. */
static void
member_self(struct member *m)
{
	uint32_t state = atomic_load_explicit(&m->node->state,
	    memory_order_relaxed);
	uint32_t gen = atomic_load_explicit(&m->node->gen,
	    memory_order_relaxed);

	if (!m->published || (state == SHM_NODE_UP && gen == m->gen))
		return;
	log_warnx("node %u: our node table entry was overwritten (state %u, "
		  "generation %u; ours: %u); published again",
	    m->self, state, gen, m->gen);
	atomic_store_explicit(&m->node->gen, m->gen, memory_order_relaxed);
	node_publish(m->seg, m->self);
}

/* member_scan: reconcile our rings with the node table (and our own
 * entry with what we are). */
int
member_scan(struct member *m)
{
	uint32_t id, dv;
	int i, kicked[SHM_NETS] = { 0 }, suspect = 0, again = 0;

	member_self(m);
	dv = atomic_load_explicit(&m->node->dir_version, memory_order_relaxed);
	for (id = 1; id <= m->max_nodes; id++)
		if (id != m->self)
			member_peer(m, id, &suspect, kicked);
	/* a crashed peer's lock goes a moment after its keeper: look again
	 * soon, MEMBER_RESCANS times at most */
	if (suspect == 0)
		m->rescans = MEMBER_RESCANS;
	else if (m->rescans > 0) {
		m->rescans--;
		again = 1;
	}
	/* our rx threads nap until rung: tell them the directory moved */
	if (atomic_load_explicit(&m->node->dir_version, memory_order_relaxed) !=
	    dv)
		for (i = 0; i < m->nnets; i++)
			bell_force(m->ni[i]->bell);
	return again;
}
