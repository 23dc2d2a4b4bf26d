/*
 * bell.c: doorbells in shared memory with wake suppression.
 *
 * The receiver says it is about to sleep (sleeping = 1), re-checks its
 * rings, then waits on the futex word `bell`.  A transmitter that
 * published a frame wakes it only if sleeping was set, and only the one
 * transmitter that flips sleeping back to 0 issues the syscall: at most one
 * wake per sleep, whatever the batch size.  Both sides order their store
 * and their load with a full fence (Dekker), so no wake-up is lost.
 * The futex is not FUTEX_PRIVATE: it is keyed by the shared page, which
 * works across processes and namespaces.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shmnet_private.h"

/* bell_futex: raw futex call on a shared word. */
static long
bell_futex(_Atomic uint32_t *word, int op, uint32_t val,
    const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

/* bell_ring: wake the receiver if (and only if) it sleeps. */
int
bell_ring(struct shm_bell *b)
{
	/* seq_cst: the caller's frame before sleeping is read; pairs with
	 * the fence in bell_prepare (sleeping before the rings are read) */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&b->sleeping, memory_order_relaxed) == 0)
		return 0;
	if (atomic_exchange_explicit(&b->sleeping, 0, memory_order_acq_rel) ==
	    0)
		return 0;
	/* release: pairs with the acquire in bell_prepare */
	atomic_fetch_add_explicit(&b->bell, 1, memory_order_release);
	bell_futex(&b->bell, FUTEX_WAKE, INT_MAX, NULL);
	return 1;
}

/* bell_prepare: announce sleep; return the value to wait on. */
uint32_t
bell_prepare(struct shm_bell *b)
{
	/* acquire: pairs with the release bump in bell_ring and bell_force */
	uint32_t v = atomic_load_explicit(&b->bell, memory_order_acquire);

	atomic_store_explicit(&b->sleeping, 1, memory_order_relaxed);
	/* seq_cst: pairs with the fence in bell_ring */
	atomic_thread_fence(memory_order_seq_cst);
	return v;
}

/* bell_wait: sleep until rung (bell != seen) or timeout. */
void
bell_wait(struct shm_bell *b, uint32_t seen, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000,
		(long)(timeout_ms % 1000) * 1000000L };

	if (bell_futex(&b->bell, FUTEX_WAIT, seen, &ts) == 0)
		atomic_fetch_add_explicit(&b->wakeups, 1, memory_order_relaxed);
	atomic_store_explicit(&b->sleeping, 0, memory_order_relaxed);
}

/* bell_cancel: work turned up after bell_prepare. */
void
bell_cancel(struct shm_bell *b)
{
	atomic_store_explicit(&b->sleeping, 0, memory_order_relaxed);
}

/* bell_force: unconditional wake. */
void
bell_force(struct shm_bell *b)
{
	/* release: pairs with the acquire in bell_prepare */
	atomic_fetch_add_explicit(&b->bell, 1, memory_order_release);
	bell_futex(&b->bell, FUTEX_WAKE, INT_MAX, NULL);
}
