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
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shmnetd.h"

#define MEMBER_RESCANS	100	/* quick rescans while a keeper is dead
				 * and its lock held (daemon_rescan_soon) */

/* member_wake_all: ring every other UP node's doorbell on net. */
void
member_wake_all(struct daemon *d, uint32_t net)
{
	struct shm_node *n;
	uint32_t id;

	for (id = 1; id <= d->max_nodes; id++) {
		if (id == d->self || (n = shmseg_node(d->seg, id)) == NULL ||
		    atomic_load_explicit(&n->state, memory_order_relaxed) !=
		    SHM_NODE_UP)
			continue;
		bell_ring(&n->bell[net]);
	}
}

/* member_announce: broadcast an ANNOUNCE or LEAVE control frame. */
int
member_announce(struct daemon *d, uint8_t type)
{
	uint8_t buf[CFRAME_LEN];
	uint32_t len, size;
	void *mem;
	int rc;

	len = cframe_build(buf, SHM_NET_LOCAL, d->self, d->gen, type);
	mem = shmseg_cast(d->seg, SHM_NET_LOCAL, &size);
	rc = cast_write(d->seg, mem, size, d->self, NULL, buf, len);
	if (rc == 0)
		member_wake_all(d, SHM_NET_LOCAL);
	return rc;
}

/* member_ring_ok: the ring we provisioned for a peer if it is still fine,
 * else NULL.  A header that no longer validates (scribbled) is marked
 * corrupt here, reported once, and replaced by the caller. */
static struct shm_ring_hdr *
member_ring_ok(struct daemon *d, struct dnet *dn, uint32_t id,
    const struct shm_dirent *de, uint32_t gen)
{
	struct shm_ring_hdr *r;

	if (de->peer_gen != gen || de->size < sizeof(*r) ||
	    (r = shmseg_at(d->seg, de->off, de->size)) == NULL)
		return NULL;
	if (ring_check(r, de->size, de->key, (uint16_t)id,
	    (uint16_t)d->self) == 0)
		return r;
	if (ring_mark(r, SHM_RING_CORRUPT)) {
		atomic_fetch_add_explicit(&dn->stats->corrupt, 1,
		    memory_order_relaxed);
		log_warnx("%s: ring from node %u has a corrupt header; marked "
		    "down", dn->name, id);
	}
	return NULL;
}

/* member_ring: make our ring from peer id match its state. */
static void
member_ring(struct daemon *d, struct dnet *dn, uint32_t id, int up,
    uint32_t gen)
{
	struct shm_ring_hdr *r;
	struct shm_dirent de;
	int have, rc;

	have = node_dirent_read(d->seg, d->self, dn->net, id, &de) == 0;
	if (!up) {
		if (have)
			node_dirent_clear(d->seg, d->self, dn->net, id);
		return;
	}
	if (have && (r = member_ring_ok(d, dn, id, &de, gen)) != NULL) {
		if (dn->threads == 2)
			rs_ring(dn, id, &de, r);
		return;
	}
	if (have && de.peer_gen == gen)
		log_info("%s: replacing the ring from node %u", dn->name, id);
	rc = node_dirent_alloc(d->seg, d->self, dn->net, id, gen,
	    conf_ring_min_slots(dn->nc), dn->nc->slot_size);
	if (rc == 0) {
		d->ring_err[id] = 0;
		return;
	}
	if (!d->ring_err[id]++)
		log_warnx("%s: cannot provision the ring from node %u "
		    "(%u x %u bytes): %s%s", dn->name, id,
		    conf_ring_min_slots(dn->nc), dn->nc->slot_size, strerror(-rc),
		    rc == -ENOSPC ? " (the segment's file system is full)" :
		    rc == -ENOMEM ? " (segment-size too small)" : "");
}

/* member_reaped: we found node id dead and reaped it: its flows and
 * listeners go with it. */
static void
member_reaped(struct daemon *d, uint32_t id)
{
	uint32_t flows = 0;

	listen_publish(d->seg, id, NULL, 0);
	if (d->conf.g.enabled)
		flows = conn_purge_node(d->seg, d->self, (uint16_t)id);
	log_info("node %u died; reaped its rings, listeners and %u flows",
	    id, flows);
}

/* member_alive: does UP node id live?  A heartbeat that moved since the
 * last scan says so, unless its keeper died (watch.c); otherwise its OFD
 * lock is probed (a syscall), so an idle cluster makes about none per
 * tick.  *suspect: the keeper died but the lock is still held. */
static int
member_alive(struct daemon *d, struct shm_node *n, uint32_t id, int *suspect)
{
	uint64_t hb = atomic_load_explicit(&n->heartbeat, memory_order_relaxed);
	int died = keeper_died(d->seg, id), alive;

	if (hb != d->seen_hb[id] && !died) {
		d->seen_hb[id] = hb;
		return 1;
	}
	d->seen_hb[id] = hb;
	alive = ofd_alive(d->seg, id);
	*suspect += died && alive;
	return alive;
}

/* member_scan: reconcile our rings with the node table. */
void
member_scan(struct daemon *d)
{
	struct shm_node *n;
	uint32_t id, gen, dv;
	int up, i, kicked[SHM_NETS] = { 0 }, suspect = 0;

	dv = atomic_load_explicit(&d->node->dir_version, memory_order_relaxed);
	for (id = 1; id <= d->max_nodes; id++) {
		if (id == d->self)
			continue;
		n = shmseg_node(d->seg, id);
		up = atomic_load_explicit(&n->state, memory_order_acquire) ==
		    SHM_NODE_UP && member_alive(d, n, id, &suspect);
		if (!up && node_reap(d->seg, d->self, id))
			member_reaped(d, id);
		gen = atomic_load_explicit(&n->gen, memory_order_acquire);
		if (up && d->seen_gen[id] != gen) {
			log_info("node %u up (generation %u)", id, gen);
			watch_kick(d);		/* watch its keeper */
		} else if (!up && d->seen_gen[id] != 0)
			log_info("node %u down", id);
		d->seen_gen[id] = up ? gen : 0;
		for (i = 0; i < d->nnets; i++) {
			member_ring(d, d->nets[i], id, up, gen);
			if (up && !kicked[i] && d->nets[i]->threads == 2)
				kicked[i] = rs_kick(d->nets[i], id);
		}
	}
	/* a crashed peer's lock goes a moment after its keeper: look again
	 * soon, for a second at most */
	if (suspect == 0)
		d->rescans = MEMBER_RESCANS;
	else if (d->rescans > 0) {
		d->rescans--;
		daemon_rescan_soon(d);
	}
	/* our rx threads sleep up to a second: tell them the directory moved */
	if (atomic_load_explicit(&d->node->dir_version, memory_order_relaxed) !=
	    dv)
		for (i = 0; i < d->nnets; i++)
			bell_force(d->nets[i]->bell);
}
