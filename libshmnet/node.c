/*
 * node.c: the node table, node liveness and each node's ring directory.
 *
 * A node is alive while it holds the OFD lock on byte `id` of the lock
 * file (ofd.c).  Its table entry is written by itself while it holds that lock,
 * or, once the lock is gone, by whoever reaps it under the table lock.
 * Its directory (the rings other nodes transmit into it) is written only
 * by itself, or by a reaper after its death, through a seqlock so that
 * transmitters never act on a half-written entry.
 *
 * The node table and heap locks are waited for a bounded time
 * (lock_acquire_seg): a live holder that does not let go delays a claim,
 * a reap or the freeing of a ring, never forever.  A retired ring whose
 * pages could not be freed stays in its dirent, DOWN (or as old_off),
 * so that the next clear of that dirent, by its owner or by whoever
 * reaps or claims the owner's id, frees it: nothing is lost when the
 * process that retired it goes away.  A reap completes, and a leave
 * marks the node DOWN, only once the whole directory is freed; until
 * then the node stays UP (a leaving one, dead) for a reaper to finish.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "shmnet_private.h"

/* node_is_up: UP in the table and alive. */
int
node_is_up(struct shmseg *s, uint32_t id)
{
	struct shm_node *n = shmseg_node(s, id);

	if (n == NULL ||
	    atomic_load_explicit(&n->state, memory_order_acquire) !=
		SHM_NODE_UP)
		return 0;
	return ofd_alive(s, id);
}

/* node_dir_bump: tell transmitters that id's directory changed. */
static void
node_dir_bump(struct shmseg *s, uint32_t id)
{
	struct shm_node *n = shmseg_node(s, id);

	/* release: the dirents written before; pairs with the acquire of
	 * dir_version in the transmitters' and receiver's re-validation
	 * (tx_peer, rx_refresh) */
	if (n != NULL)
		atomic_fetch_add_explicit(&n->dir_version, 1,
		    memory_order_release);
}

/* dirent_begin: open a seqlock write section (seq becomes odd). */
static void
dirent_begin(struct shm_dirent *d)
{
	uint32_t v = atomic_load_explicit(&d->seq, memory_order_relaxed);

	atomic_store_explicit(&d->seq, (v | 1) == v ? v + 2 : v + 1,
	    memory_order_relaxed);
	/* release: the odd seq before the fields change; pairs with the
	 * acquire fence in node_dirent_read, whose second read of seq then
	 * sees it change */
	atomic_thread_fence(memory_order_release);
}

/* dirent_end: close the write section (seq becomes even). */
static void
dirent_end(struct shm_dirent *d)
{
	uint32_t v = atomic_load_explicit(&d->seq, memory_order_relaxed);

	/* release: the fields before the even seq; pairs with the first,
	 * acquire read of seq in node_dirent_read */
	atomic_store_explicit(&d->seq, (v + 1) & ~1u, memory_order_release);
}

/* dirent_no_old: forget the replaced ring (inside a write section). */
static void
dirent_no_old(struct shm_dirent *d)
{
	d->old_off = 0;
	d->old_key = 0;
	d->old_size = 0;
}

/* node_ring_free: mark a ring of owner's directory DOWN and free it;
 * -EBUSY when the heap lock was busy (the pages stay allocated). */
static int
node_ring_free(struct shmseg *s, uint64_t off, uint64_t size, uint64_t key)
{
	struct shm_ring_hdr *r;

	r = shmseg_ring(s, off, size);
	if (r != NULL && r->key == key)
		ring_mark(r, SHM_RING_DOWN);
	/* -EINVAL for garbage: nothing to free */
	return heap_free(s, off, size) == -EBUSY ? -EBUSY : 0;
}

/* node_dirent_clear: retire the ring in a dirent (UP, or DOWN and not
 * yet freed), and the ring it was replacing, if any, and free them.  A
 * ring left unfreed (-EBUSY) stays in the dirent for the next clear. */
int
node_dirent_clear(struct shmseg *s, uint32_t owner, uint32_t net, uint32_t peer)
{
	struct shm_dirent *d = shmseg_dirent(s, owner, net, peer);
	uint64_t off, size, key, ooff, osize, okey;
	uint32_t state;
	int busy = 0, obusy = 0;

	if (d == NULL)
		return 0;
	state = d->state;
	off = state == SHM_RING_UP || state == SHM_RING_DOWN ? d->off : 0;
	size = d->size;
	key = d->key;
	ooff = d->old_off;
	osize = d->old_size;
	okey = d->old_key;
	if (off == 0 && ooff == 0 && state != SHM_RING_UP)
		return 0;
	dirent_begin(d);
	d->state = off != 0 ? SHM_RING_DOWN : 0;
	dirent_end(d);
	/* before the memory goes: a transmitter that finds dir_version
	 * unchanged may go on writing its ring (tx_zc_valid) */
	node_dir_bump(s, owner);
	if (off != 0)
		busy = node_ring_free(s, off, size, key) != 0;
	if (ooff != 0)
		obusy = node_ring_free(s, ooff, osize, okey) != 0;
	dirent_begin(d);
	if (!busy) {
		d->state = 0;
		d->key = 0;
	}
	if (!obusy)
		dirent_no_old(d);
	dirent_end(d);
	node_dir_bump(s, owner);
	return busy || obusy ? -EBUSY : 0;
}

/* node_ring_new: allocate and lay out a ring peer -> owner. */
static int
node_ring_new(struct shmseg *s, uint32_t owner, uint32_t net, uint32_t peer,
    uint32_t peer_gen, uint32_t slots, uint32_t slot_size,
    struct shm_dirent *out)
{
	uint64_t off, bytes, key;
	void *mem;
	int rc;

	/* the geometry is checked before the allocation: once the pages
	 * are ours, nothing below fails but for a heap that lies */
	if (owner == peer || slots > 65536 ||
	    !ring_geometry_ok(slots, slot_size))
		return -EINVAL;
	bytes = ring_bytes(slots, slot_size);
	if ((rc = heap_alloc(s, bytes, &off)) != 0)
		return rc;
	if ((mem = shmseg_at(s, off, bytes)) == NULL) {
		heap_free(s, off, bytes);
		return -EFAULT;
	}
	arc4random_buf(&key, sizeof(key));
	key |= 1;
	rc = ring_init(mem, bytes, slots, slot_size, (uint16_t)peer,
	    (uint16_t)owner, peer_gen, net, key);
	if (rc != 0) {
		heap_free(s, off, bytes);
		return rc;
	}
	out->off = off;
	out->size = (uint32_t)bytes;
	out->key = key;
	out->peer_gen = peer_gen;
	return 0;
}

/* node_dirent_alloc: allocate and publish the ring peer -> owner. */
int
node_dirent_alloc(struct shmseg *s, uint32_t owner, uint32_t net, uint32_t peer,
    uint32_t peer_gen, uint32_t slots, uint32_t slot_size)
{
	struct shm_dirent *d = shmseg_dirent(s, owner, net, peer);
	struct shm_dirent n;
	int rc;

	if (d == NULL)
		return -EINVAL;
	/* a ring not yet freed keeps the dirent (and the heap is busy) */
	if ((rc = node_dirent_clear(s, owner, net, peer)) != 0)
		return rc;
	if ((rc = node_ring_new(s, owner, net, peer, peer_gen, slots, slot_size,
		 &n)) != 0)
		return rc;
	dirent_begin(d);
	d->off = n.off;
	d->size = n.size;
	d->key = n.key;
	d->peer_gen = peer_gen;
	d->state = SHM_RING_UP;
	dirent_end(d);
	node_dir_bump(s, owner);
	return 0;
}

/* node_dirent_replace: publish a new ring of `slots` slots for the same
 * transmitter generation; the current ring becomes the old one, which the
 * receiver drains first.  -EBUSY while an earlier replacement is pending. */
int
node_dirent_replace(struct shmseg *s, uint32_t owner, uint32_t net,
    uint32_t peer, uint32_t slots, uint32_t slot_size)
{
	struct shm_dirent *d = shmseg_dirent(s, owner, net, peer);
	struct shm_dirent n;
	int rc;

	if (d == NULL || d->state != SHM_RING_UP)
		return -ENOENT;
	if (d->old_off != 0)
		return -EBUSY;
	if ((rc = node_ring_new(s, owner, net, peer, d->peer_gen, slots,
		 slot_size, &n)) != 0)
		return rc;
	dirent_begin(d);
	d->old_off = d->off;
	d->old_key = d->key;
	d->old_size = d->size;
	d->off = n.off;
	d->size = n.size;
	d->key = n.key;
	dirent_end(d);
	node_dir_bump(s, owner);
	return 0;
}

/* node_dirent_drop_old: the receiver has drained the replaced ring whose
 * key is key: free it, or keep it in the dirent while the heap is busy. */
int
node_dirent_drop_old(struct shmseg *s, uint32_t owner, uint32_t net,
    uint32_t peer, uint64_t key)
{
	struct shm_dirent *d = shmseg_dirent(s, owner, net, peer);
	uint64_t off, size;

	if (d == NULL || d->old_off == 0 || d->old_key != key)
		return -ENOENT;
	off = d->old_off;
	size = d->old_size;
	if (node_ring_free(s, off, size, key) != 0)
		return -EBUSY;
	dirent_begin(d);
	dirent_no_old(d);
	dirent_end(d);
	node_dir_bump(s, owner);
	return 0;
}

/* node_dirent_read: consistent copy of a dirent (seqlock read). */
int
node_dirent_read(struct shmseg *s, uint32_t owner, uint32_t net, uint32_t peer,
    struct shm_dirent *out)
{
	struct shm_dirent *d = shmseg_dirent(s, owner, net, peer);
	volatile struct shm_dirent *v = d;
	uint32_t s1, s2;
	int tries;

	if (d == NULL)
		return -ENOENT;
	for (tries = 0; tries < 1000; tries++) {
		s1 = atomic_load_explicit(&d->seq, memory_order_acquire);
		if (s1 & 1) {
			shm_cpu_relax();
			continue;
		}
		out->state = v->state;
		out->off = v->off;
		out->key = v->key;
		out->size = v->size;
		out->peer_gen = v->peer_gen;
		out->old_off = v->old_off;
		out->old_key = v->old_key;
		out->old_size = v->old_size;
		/* acquire: the copy before seq is read again; pairs with the
		 * release fence in dirent_begin */
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&d->seq, memory_order_relaxed);
		if (s1 != s2)
			continue;
		return out->state == SHM_RING_UP ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

/* node_free_dir: retire every ring in id's directory; how many dirents
 * keep a ring not yet freed. */
static int
node_free_dir(struct shmseg *s, uint32_t id)
{
	uint32_t net, peer;
	int left = 0;

	for (net = 0; net < SHM_NETS; net++)
		for (peer = 1; peer <= s->max_nodes; peer++)
			left += node_dirent_clear(s, id, net, peer) != 0;
	return left;
}

/* node_table_lock: take the node table lock within timeout_ms; -EBUSY
 * when a live node kept it. */
static int
node_table_lock(struct shmseg *s, uint32_t owner, int timeout_ms)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	int rc = lock_acquire_seg(s, &h->table_lock, owner, timeout_ms,
	    &s->table_busy_ms);

	return rc < 0 ? rc : 0;
}

/* node_clear_locks: free every lock a previous life of id held. */
int
node_clear_locks(struct shmseg *s, uint32_t id)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	struct shm_ring_hdr *r;
	uint32_t net, i, size;
	int n = 0;

	n += lock_clear(&h->table_lock, id);
	n += lock_clear(&h->heap_lock, id);
	for (net = 0; net < SHM_NETS; net++) {
		r = shmseg_cast(s, net, &size);
		n += lock_clear(&r->lock, id);
		for (i = 0; i < shmseg_mcast_count(s, net); i++) {
			r = shmseg_mcast(s, net, i, &size);
			n += lock_clear(&r->lock, id);
		}
	}
	/* an empty bucket is never collected: nobody else would take its
	 * lock over once id lives again */
	for (i = 0; i < shmseg_conn_buckets(s); i++)
		n += lock_clear(&shmseg_conn_bucket(s, i)->lock, id);
	return n;
}

/* node_claim_one: try to become node id.  A previous life's rings that
 * cannot be freed now (heap busy) stay in the directory, DOWN: the node's
 * own membership scans free them (node_dirent_clear). */
static int
node_claim_one(struct shmseg *s, uint32_t id, uint32_t *gen)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	struct shm_node *n = shmseg_node(s, id);
	uint32_t owner, g;
	int rc;

	if ((rc = ofd_lock(s->lockfd, (off_t)id, 0)) != 0)
		return rc;
	s->self = id;
	node_clear_locks(s, id); /* a previous life of id may hold locks */
	owner = lock_owner_word(id);
	if ((rc = node_table_lock(s, owner, (int)s->wait_ms)) != 0) {
		s->self = 0;
		ofd_unlock(s->lockfd, (off_t)id);
		return rc;
	}
	atomic_store_explicit(&n->state, SHM_NODE_DOWN, memory_order_release);
	node_free_dir(s, id);
	g = atomic_load_explicit(&n->gen, memory_order_relaxed) + 1;
	if (g == 0)
		g = 1;
	atomic_store_explicit(&n->gen, g, memory_order_release);
	n->pid = (uint32_t)getpid();
	n->flags = 0;
	atomic_store_explicit(&n->gw, 0, memory_order_relaxed);
	atomic_store_explicit(&n->gaddrs, 0, memory_order_relaxed);
	atomic_store_explicit(&n->gw_gaddrs, 0, memory_order_relaxed);
	atomic_store_explicit(&n->tx_hazard[SHM_NET_LOCAL], 0,
	    memory_order_relaxed);
	atomic_store_explicit(&n->tx_hazard[SHM_NET_GLOBAL], 0,
	    memory_order_relaxed);
	n->started_ns = (uint64_t)time(NULL) * 1000000000ull;
	atomic_store_explicit(&n->heartbeat, 0, memory_order_relaxed);
	atomic_store_explicit(&n->keeper, 0, memory_order_release);
	memset(n->stats, 0, sizeof(n->stats));
	backend_reset(s, id, BACKEND_WEIGHT_DEFAULT);
	lock_release(&h->table_lock, owner);
	*gen = g;
	return (int)id;
}

/* node_claim_lowest: the lowest free id. */
static int
node_claim_lowest(struct shmseg *s, uint32_t *gen)
{
	uint32_t i;
	int rc;

	for (i = 1; i <= s->max_nodes; i++)
		if ((rc = node_claim_one(s, i, gen)) != -EADDRINUSE)
			return rc;
	return -EUSERS;
}

/* node_claim: claim id, or the lowest free id when id is 0. */
int
node_claim(struct shmseg *s, uint32_t id, uint32_t *gen)
{
	int rc;

	if (!s->writable || s->admin)
		return -EROFS;
	if (id > s->max_nodes)
		return -ERANGE;
	/* under the init lock: a last node out checks that no node byte is
	 * held and removes the files under it, so a claim comes either
	 * before (and keeps the files) or after (and finds them gone) */
	if ((rc = ofd_lock_for(s->lockfd, SEG_LOCK_INIT, (int)s->wait_ms)) != 0)
		return rc;
	if (!ofd_same_file(s->lockfd, s->lockpath) ||
	    !ofd_same_file(s->fd, s->path))
		rc = -ESTALE;
	else
		rc = id != 0 ? node_claim_one(s, id, gen) :
			       node_claim_lowest(s, gen);
	ofd_unlock(s->lockfd, SEG_LOCK_INIT);
	return rc;
}

/* node_publish: the node is ready for traffic. */
void
node_publish(struct shmseg *s, uint32_t id)
{
	struct shm_node *n = shmseg_node(s, id);

	if (n == NULL)
		return;
	atomic_store_explicit(&n->state, SHM_NODE_UP, memory_order_release);
	node_dir_bump(s, id);
}

/* node_leave: free the directory, mark DOWN, release the node lock.  A
 * busy lock leaves the node UP: dead once its node lock is released,
 * it is reaped by the others. */
int
node_leave(struct shmseg *s, uint32_t id)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	struct shm_node *n = shmseg_node(s, id);
	uint32_t owner = lock_owner_word(id);
	int rc;

	if (n == NULL || id != s->self)
		return -EINVAL;
	if ((rc = node_table_lock(s, owner, NODE_LEAVE_LOCK_MS)) == 0) {
		if (node_free_dir(s, id) == 0)
			atomic_store_explicit(&n->state, SHM_NODE_DOWN,
			    memory_order_release);
		else
			rc = -EBUSY;
		lock_release(&h->table_lock, owner);
	}
	ofd_unlock(s->lockfd, (off_t)id);
	s->self = 0;
	return rc;
}

/* node_reap: mark a dead node DOWN and free its directory. */
int
node_reap(struct shmseg *s, uint32_t self, uint32_t id)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	struct shm_node *n = shmseg_node(s, id);
	uint32_t owner;
	int reaped = 0;

	if (n == NULL || id == self || !s->writable ||
	    atomic_load_explicit(&n->state, memory_order_acquire) !=
		SHM_NODE_UP ||
	    ofd_alive(s, id))
		return 0;
	owner = lock_owner_word(self);
	if (node_table_lock(s, owner, SEG_LOCK_MS) != 0)
		return 0; /* the next scan tries again */
	/* DOWN only once the whole directory is freed: until then the
	 * next scan finishes the reap */
	if (atomic_load_explicit(&n->state, memory_order_acquire) ==
		SHM_NODE_UP &&
	    !ofd_alive(s, id) && node_free_dir(s, id) == 0) {
		atomic_store_explicit(&n->state, SHM_NODE_DOWN,
		    memory_order_release);
		reaped = 1;
	}
	lock_release(&h->table_lock, owner);
	return reaped;
}
