/*
 * heap.c: page allocator for pair rings, inside the segment.
 *
 * One uint32_t per heap page, under the segment's heap lock: FREE, USED,
 * or a quarantine stamp (kind 2 in the low two bits, the monotonic clock in
 * milliseconds above).  Quarantined pages are not reused for
 * SHM_QUARANTINE_MS, so a peer that still holds a stale reference to a
 * retired ring (it re-validates at least once per batch) cannot write into
 * the ring that replaces it; nor, however long after, while a live node's
 * transmitter names the ring as its hazard (shm_node.tx_hazard: a
 * transmitter stopped in the middle of a copy, or blocked in a read into
 * the ring, writes only into memory that nobody else has).  Pages are committed with fallocate when
 * allocated, so a full file system is -ENOSPC here rather than a SIGBUS
 * later.  The heap lock is waited for SEG_LOCK_MS at most: a live holder
 * that does not let go (stopped) makes an allocation fail with -EBUSY
 * and a free leave the pages allocated (the caller keeps the range and
 * frees it later), never the calling thread hang.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>

#include "shmnet_private.h"

#define PAGE_KIND_MASK  3u
#define PAGE_QUARANTINE 2u
#define PAGE_CLOCK_MASK 0x3fffffffu

/* heap_map: the page map, NULL on a read-only segment. */
static _Atomic uint32_t *
heap_map(struct shmseg *s)
{
	return (_Atomic uint32_t *)(s->base + s->pagemap_off);
}

/* heap_lock: take the heap lock, or -EBUSY when a live node kept it
 * (lock_acquire_seg). */
static int
heap_lock(struct shmseg *s, uint32_t owner)
{
	int rc = lock_acquire_seg(s, &((struct shm_hdr *)s->base)->heap_lock,
	    owner, SEG_LOCK_MS, &s->heap_busy_ms);

	return rc < 0 ? rc : 0;
}

/* heap_page_free: is a page free now (free, or quarantine expired)? */
static int
heap_page_free(uint32_t v, uint32_t now)
{
	if (v == SHM_PAGE_FREE)
		return 1;
	if ((v & PAGE_KIND_MASK) != PAGE_QUARANTINE)
		return 0;
	return ((now - (v >> 2)) & PAGE_CLOCK_MASK) >= SHM_QUARANTINE_MS;
}

/* The rings live nodes' transmitters may be writing (tx_hazard), read
 * once per heap pass. */
struct heap_hz {
	uint32_t n;
	uint64_t w[2 * SHM_NODES_MAX];
};

/* heap_hazard_word: the tx_hazard word naming the ring at off, size
 * bytes; 0 for none (off outside the heap). */
uint64_t
heap_hazard_word(const struct shmseg *s, uint64_t off, uint64_t size)
{
	if (off < s->heap_off || size == 0 ||
	    (off - s->heap_off) / SHM_PAGE_SIZE >= s->heap_pages)
		return 0;
	return (off - s->heap_off) / SHM_PAGE_SIZE << 32 |
	    (uint32_t)(align_up(size, SHM_PAGE_SIZE) / SHM_PAGE_SIZE);
}

/* heap_hazards: the hazards of the nodes that are up (a transmitter
 * dies with its node; a stopped one's node stays up). */
static void
heap_hazards(struct shmseg *s, struct heap_hz *hz)
{
	struct shm_node *nd;
	uint32_t id, net;
	uint64_t w;

	hz->n = 0;
	/* seq_cst: pairs with the fence in tx_hazard (txpath.c): either the
	 * transmitter sees the ring retired, or we see its hazard */
	atomic_thread_fence(memory_order_seq_cst);
	for (id = 1; id <= s->max_nodes; id++) {
		nd = shmseg_node(s, id);
		if (atomic_load_explicit(&nd->state, memory_order_relaxed) !=
		    SHM_NODE_UP)
			continue;
		for (net = 0; net < SHM_NETS; net++)
			if ((w = atomic_load_explicit(&nd->tx_hazard[net],
				 memory_order_relaxed)) != 0)
				hz->w[hz->n++] = w;
	}
}

/* heap_hazarded: does a transmitter's hazard cover page i? */
static int
heap_hazarded(const struct heap_hz *hz, uint32_t i)
{
	uint32_t k;

	for (k = 0; k < hz->n; k++)
		if (i - (uint32_t)(hz->w[k] >> 32) < (uint32_t)hz->w[k])
			return 1;
	return 0;
}

/* heap_page_usable: may page i (state v) be given out now? */
static int
heap_page_usable(const struct heap_hz *hz, uint32_t i, uint32_t v, uint32_t now)
{
	return heap_page_free(v, now) &&
	    (v == SHM_PAGE_FREE || !heap_hazarded(hz, i));
}

/* heap_find: first run of n free pages, or UINT32_MAX. */
static uint32_t
heap_find(struct shmseg *s, uint32_t n, uint32_t now, const struct heap_hz *hz)
{
	_Atomic uint32_t *map = heap_map(s);
	uint32_t i, run = 0;

	for (i = 0; i < s->heap_pages; i++) {
		if (!heap_page_usable(hz, i,
			atomic_load_explicit(&map[i], memory_order_relaxed),
			now)) {
			run = 0;
			continue;
		}
		if (++run == n)
			return i + 1 - n;
	}
	return UINT32_MAX;
}

/* heap_alloc: allocate and commit a run of pages. */
int
heap_alloc(struct shmseg *s, uint64_t size, uint64_t *off)
{
	struct heap_hz hz;
	_Atomic uint32_t *map;
	uint32_t owner, now, first, n, i;
	int rc = 0;

	if (!s->writable)
		return -EROFS;
	if (size == 0 || size > (uint64_t)s->heap_pages * SHM_PAGE_SIZE)
		return -EINVAL;
	n = (uint32_t)(align_up(size, SHM_PAGE_SIZE) / SHM_PAGE_SIZE);
	map = heap_map(s);
	owner = lock_owner_word(s->self);
	if ((rc = heap_lock(s, owner)) != 0)
		return rc;
	now = (uint32_t)clock_ms() & PAGE_CLOCK_MASK;
	heap_hazards(s, &hz);
	if ((first = heap_find(s, n, now, &hz)) == UINT32_MAX) {
		rc = -ENOMEM;
		goto out;
	}
	*off = s->heap_off + (uint64_t)first * SHM_PAGE_SIZE;
	rc = posix_fallocate(s->fd, (off_t)*off, (off_t)n * SHM_PAGE_SIZE);
	if (rc != 0) {
		rc = -rc;
		goto out;
	}
	for (i = first; i < first + n; i++)
		atomic_store_explicit(&map[i], SHM_PAGE_USED,
		    memory_order_relaxed);
out:
	lock_release(&((struct shm_hdr *)s->base)->heap_lock, owner);
	return rc;
}

/* heap_free: quarantine a run of pages returned by heap_alloc. */
int
heap_free(struct shmseg *s, uint64_t off, uint64_t size)
{
	_Atomic uint32_t *map;
	uint32_t owner, stamp, first, n, i;
	int rc = 0;

	if (!s->writable)
		return -EROFS;
	/* off and size may come from a scribbled dirent: range-checked in
	 * 64 bits before they become page indexes */
	if (off < s->heap_off || (off - s->heap_off) % SHM_PAGE_SIZE ||
	    (off - s->heap_off) / SHM_PAGE_SIZE >= s->heap_pages || size == 0 ||
	    size > (uint64_t)s->heap_pages * SHM_PAGE_SIZE)
		return -EINVAL;
	first = (uint32_t)((off - s->heap_off) / SHM_PAGE_SIZE);
	n = (uint32_t)(align_up(size, SHM_PAGE_SIZE) / SHM_PAGE_SIZE);
	if (n > s->heap_pages - first)
		return -EINVAL;
	map = heap_map(s);
	owner = lock_owner_word(s->self);
	if ((rc = heap_lock(s, owner)) != 0)
		return rc;
	for (i = first; i < first + n; i++)
		if (atomic_load_explicit(&map[i], memory_order_relaxed) !=
		    SHM_PAGE_USED)
			rc = -EINVAL;
	if (rc == 0) {
		stamp = (((uint32_t)clock_ms() & PAGE_CLOCK_MASK) << 2) |
		    PAGE_QUARANTINE;
		for (i = first; i < first + n; i++)
			atomic_store_explicit(&map[i], stamp,
			    memory_order_relaxed);
		atomic_store_explicit(&s->reclaim_ms,
		    clock_ms() + SHM_QUARANTINE_MS, memory_order_relaxed);
	}
	lock_release(&((struct shm_hdr *)s->base)->heap_lock, owner);
	return rc;
}

/* heap_usage: pages in use (quarantined count as used) and in all. */
void
heap_usage(struct shmseg *s, uint32_t *used, uint32_t *total)
{
	_Atomic uint32_t *map = heap_map(s);
	uint32_t i, n = 0, now = (uint32_t)clock_ms() & PAGE_CLOCK_MASK;

	for (i = 0; i < s->heap_pages; i++)
		if (!heap_page_free(atomic_load_explicit(&map[i],
					memory_order_relaxed),
			now))
			n++;
	*used = n;
	*total = s->heap_pages;
}

/* heap_punch: give the memory of pages [first, first + n) back. */
static void
heap_punch(struct shmseg *s, uint32_t first, uint32_t n)
{
	/* failure only leaves the pages committed: they are reused as is */
	(void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)(s->heap_off + (uint64_t)first * SHM_PAGE_SIZE),
	    (off_t)n * SHM_PAGE_SIZE);
}

/* heap_reclaim: punch out and free pages whose quarantine has ended, so
 * that a ring that shrank or whose node left costs no memory.  Each
 * process reclaims after its own frees (the pass covers the whole heap):
 * an idle node does not scan the page map. */
uint32_t
heap_reclaim(struct shmseg *s)
{
	struct heap_hz hz;
	_Atomic uint32_t *map;
	uint32_t owner, now, i, v, run = 0, total = 0;
	uint64_t due = atomic_load_explicit(&s->reclaim_ms,
	    memory_order_relaxed);

	if (!s->writable || due == 0 || clock_ms() < due)
		return 0;
	map = heap_map(s);
	owner = lock_owner_word(s->self);
	if (heap_lock(s, owner) != 0)
		return 0; /* due still: the next call tries again */
	atomic_store_explicit(&s->reclaim_ms, 0, memory_order_relaxed);
	now = (uint32_t)clock_ms() & PAGE_CLOCK_MASK;
	heap_hazards(s, &hz);
	for (i = 0; i <= s->heap_pages; i++) {
		v = i < s->heap_pages ?
		    atomic_load_explicit(&map[i], memory_order_relaxed) :
		    SHM_PAGE_USED;
		if (v != SHM_PAGE_FREE && heap_page_free(v, now) &&
		    heap_hazarded(&hz, i)) {
			/* a transmitter may still write it: later */
			atomic_store_explicit(&s->reclaim_ms,
			    clock_ms() + SHM_QUARANTINE_MS,
			    memory_order_relaxed);
			v = SHM_PAGE_USED;
		}
		if (v != SHM_PAGE_FREE && heap_page_free(v, now)) {
			atomic_store_explicit(&map[i], SHM_PAGE_FREE,
			    memory_order_relaxed);
			run++;
			continue;
		}
		if (run != 0)
			heap_punch(s, i - run, run);
		total += run;
		run = 0;
	}
	lock_release(&((struct shm_hdr *)s->base)->heap_lock, owner);
	return total;
}
