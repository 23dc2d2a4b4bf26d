/*
 * lock.c: locks in shared memory that survive their holder's death.
 *
 * The owner word is the holder's node id in the low 16 bits and a
 * per-thread tag above, so two threads of one daemon exclude each other
 * too.  A waiter spins, then yields, then sleeps briefly; every
 * millisecond it asks whether the holder's node is still alive (its OFD
 * lock) and takes the lock over from a dead one, counting a recovery.
 * Data-path writers wait a bounded time (lock_acquire_for): a live holder
 * that is stopped or starved costs them a frame, never their thread.  The
 * segment-wide locks (heap, node table) are waited for a bounded time too
 * (lock_acquire_seg): the caller goes on without the lock and tries again
 * later, and does not wait again for a while, only tries.
 * A node that claims id frees every lock still held in id's name
 * (node_clear_locks).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

#include "shmnet_private.h"

#define LOCK_SPINS    200
#define LOCK_YIELDS   400
#define LOCK_NAP_NS   50000
#define LOCK_CHECK_NS 1000000 /* between liveness checks */

static _Atomic uint32_t lock_next_tag;
static _Thread_local uint32_t lock_tag;

/* lock_owner_word: id | this thread's tag << 16. */
uint32_t
lock_owner_word(uint32_t id)
{
	while (lock_tag == 0)
		lock_tag = (atomic_fetch_add(&lock_next_tag, 1) + 1) & 0xffff;
	return (id & 0xffff) | (lock_tag << 16);
}

/* lock_holder_dead: is the node holding `word` gone? */
static int
lock_holder_dead(struct shmseg *s, uint32_t word)
{
	uint32_t id = word & 0xffff;

	if (id < 1 || id > s->max_nodes)
		return 1; /* garbage: nobody can own it */
	return !ofd_alive(s, id);
}

/* lock_try: one CAS from free; counts the acquisition. */
static int
lock_try(struct shm_lock *l, uint32_t owner, uint32_t *seen)
{
	*seen = 0;
	if (!atomic_compare_exchange_strong_explicit(&l->owner, seen, owner,
		memory_order_acquire, memory_order_relaxed))
		return 0;
	atomic_fetch_add_explicit(&l->acquisitions, 1, memory_order_relaxed);
	return 1;
}

/* lock_steal: take the lock over from holder `seen` if its node died. */
static int
lock_steal(struct shmseg *s, struct shm_lock *l, uint32_t owner, uint32_t seen)
{
	if (!lock_holder_dead(s, seen) ||
	    !atomic_compare_exchange_strong_explicit(&l->owner, &seen, owner,
		memory_order_acquire, memory_order_relaxed))
		return 0;
	atomic_fetch_add_explicit(&l->recoveries, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->acquisitions, 1, memory_order_relaxed);
	return 1;
}

/* lock_acquire_for: take the lock within timeout_ms (< 0: no limit),
 * recovering it from a dead holder.  Returns 0, 1 when recovered, or
 * -ETIMEDOUT when a live holder kept it all that time.  The clock runs
 * from the first yield: on a loaded CPU a yield can give the CPU away
 * for a whole time slice (milliseconds), so the yields count against
 * the timeout too. */
int
lock_acquire_for(struct shmseg *s, struct shm_lock *l, uint32_t owner,
    int timeout_ms)
{
	struct timespec nap = { 0, LOCK_NAP_NS };
	uint64_t start = 0, now, last_check = 0;
	uint32_t seen, n;

	for (n = 0;; n++) {
		if (lock_try(l, owner, &seen))
			return 0;
		if (seen == 0)
			continue;
		if (n < LOCK_SPINS) {
			shm_cpu_relax();
			continue;
		}
		now = clock_ns();
		if (start == 0)
			start = last_check = now;
		if (now - last_check >= LOCK_CHECK_NS) {
			last_check = now;
			if (lock_steal(s, l, owner, seen))
				return 1;
		}
		if (timeout_ms >= 0 &&
		    now - start >= (uint64_t)timeout_ms * 1000000ull)
			return lock_steal(s, l, owner, seen) ? 1 : -ETIMEDOUT;
		if (n < LOCK_YIELDS)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

/* lock_acquire: take the lock, however long a live holder keeps it. */
int
lock_acquire(struct shmseg *s, struct shm_lock *l, uint32_t owner)
{
	return lock_acquire_for(s, l, owner, -1);
}

/* lock_acquire_seg: take a segment-wide lock within timeout_ms, or only
 * try while *busy_ms (this process's memo of a lock that a live holder
 * kept) lies ahead.  Returns 0 or 1 as lock_acquire_for does, or -EBUSY,
 * which it counts in s->lock_busy with the holder's id. */
int
lock_acquire_seg(struct shmseg *s, struct shm_lock *l, uint32_t owner,
    int timeout_ms, _Atomic uint64_t *busy_ms)
{
	uint64_t busy = atomic_load_explicit(busy_ms, memory_order_relaxed);
	int rc;

	if (busy != 0 && clock_ms() < busy)
		timeout_ms = 0;
	if ((rc = lock_acquire_for(s, l, owner, timeout_ms)) >= 0) {
		atomic_store_explicit(busy_ms, 0, memory_order_relaxed);
		return rc;
	}
	atomic_store_explicit(busy_ms, clock_ms() + SEG_LOCK_BACKOFF_MS,
	    memory_order_relaxed);
	atomic_store_explicit(&s->lock_busy_holder,
	    atomic_load_explicit(&l->owner, memory_order_relaxed) & 0xffff,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lock_busy, 1, memory_order_relaxed);
	return -EBUSY;
}

/* lock_release: free the lock if we still hold it. */
void
lock_release(struct shm_lock *l, uint32_t owner)
{
	uint32_t expect = owner;

	atomic_compare_exchange_strong_explicit(&l->owner, &expect, 0,
	    memory_order_release, memory_order_relaxed);
}

/* lock_clear: free l if it is held in id's name. */
int
lock_clear(struct shm_lock *l, uint32_t id)
{
	uint32_t v = atomic_load_explicit(&l->owner, memory_order_relaxed);

	if (v == 0 || (v & 0xffff) != id)
		return 0;
	if (!atomic_compare_exchange_strong(&l->owner, &v, 0))
		return 0;
	atomic_fetch_add_explicit(&l->recoveries, 1, memory_order_relaxed);
	return 1;
}
