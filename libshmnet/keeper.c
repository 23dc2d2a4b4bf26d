/*
 * keeper.c: a node's death as an event, with robust futexes.
 *
 * A node's keeper word (shm_node.keeper) holds the TID of one of its
 * threads, which registers the word as its robust futex list
 * (set_robust_list(2)).  However that thread ends -- the daemon killed
 * by SIGKILL included -- the kernel sets FUTEX_OWNER_DIED in the word and
 * wakes one waiter.  keeper_wait sleeps on the keepers of all live peers
 * at once (futex_waitv(2), Linux 5.16) and wakes the other waiters of a
 * keeper it finds dead, so every peer learns of a crash within
 * microseconds instead of at its next timer tick.
 *
 * The kernel marks the word as the thread exits, before the process has
 * closed its files: the dead node's OFD lock may still be held for a
 * moment, and the lock stays what decides that a node is dead.  A keeper
 * that is 0 (an older build, a node leaving, or a kernel without the
 * calls) is simply not watched: membership then falls back to heartbeats.
 * The words are shared memory: any value is accepted, a wrong one only
 * costs a spurious wake-up or a missed event the fallback covers.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shmnet_private.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif
#define KEEPER_WAITV_MAX 128 /* FUTEX_WAITV_MAX */

/* struct futex_waitv of <linux/futex.h>, which older headers lack */
struct keeper_waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* the calling thread's robust list: one entry, the keeper word */
static _Thread_local struct robust_list_head keeper_head;
static _Thread_local struct robust_list keeper_entry;

/* keeper_word: node id's keeper, or NULL. */
static _Atomic uint32_t *
keeper_word(struct shmseg *s, uint32_t id)
{
	struct shm_node *n = shmseg_node(s, id);

	return n != NULL ? &n->keeper : NULL;
}

/* keeper_arm: make the calling thread node id's keeper; it must live as
 * long as the node.  0, or -errno (-ENOSYS: no robust futexes). */
int
keeper_arm(struct shmseg *s, uint32_t id)
{
	_Atomic uint32_t *w = keeper_word(s, id);
	uint32_t tid = (uint32_t)syscall(SYS_gettid);

	if (w == NULL || (tid & ~FUTEX_TID_MASK) != 0)
		return -EINVAL;
	keeper_entry.next = &keeper_head.list;
	keeper_head.list.next = &keeper_entry;
	keeper_head.futex_offset = (long)((uintptr_t)w -
	    (uintptr_t)&keeper_entry);
	keeper_head.list_op_pending = NULL;
	if (syscall(SYS_set_robust_list, &keeper_head, sizeof(keeper_head)) ==
	    -1)
		return -errno;
	atomic_store_explicit(w, tid, memory_order_release);
	return 0;
}

/* keeper_disarm: the node leaves in order; its thread may then end
 * without anyone taking it for a death. */
void
keeper_disarm(struct shmseg *s, uint32_t id)
{
	_Atomic uint32_t *w = keeper_word(s, id);

	if (w != NULL)
		atomic_store_explicit(w, 0, memory_order_release);
}

/* keeper_died: did node id's keeper thread end without disarming? */
int
keeper_died(struct shmseg *s, uint32_t id)
{
	_Atomic uint32_t *w = keeper_word(s, id);

	return w != NULL &&
	    (atomic_load_explicit(w, memory_order_acquire) &
		FUTEX_OWNER_DIED) != 0;
}

/* keeper_wake_all: wake every waiter of a word (the kernel woke one). */
static void
keeper_wake_all(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* keeper_add: put peer id's live keeper on the wait list, with
 * FUTEX_WAITERS set so that the kernel wakes us at its death.  Returns 1
 * when the keeper died since seen[id] (reported once per value), -1 when
 * the word changed under us (look again before sleeping), else 0. */
static int
keeper_add(struct shmseg *s, uint32_t id, uint32_t *seen,
    struct keeper_waitv *wv, int *n)
{
	_Atomic uint32_t *w = keeper_word(s, id);
	uint32_t v = atomic_load_explicit(w, memory_order_acquire);

	if ((v & FUTEX_TID_MASK) != 0 && !(v & FUTEX_OWNER_DIED) &&
	    !(v & FUTEX_WAITERS)) {
		if (!atomic_compare_exchange_strong(w, &v, v | FUTEX_WAITERS))
			return -1;
		v |= FUTEX_WAITERS;
	}
	if (v & FUTEX_OWNER_DIED) {
		if (v == seen[id])
			return 0;
		seen[id] = v;
		keeper_wake_all(w);
		return 1;
	}
	seen[id] = v;
	if ((v & FUTEX_TID_MASK) == 0 || *n >= KEEPER_WAITV_MAX)
		return 0;
	wv[*n].val = v;
	wv[*n].uaddr = (uintptr_t)w;
	wv[*n].flags = FUTEX2_SIZE_U32;
	wv[*n].reserved = 0;
	(*n)++;
	return 0;
}

/* keeper_wait: the keepers of nodes other than self that died since the
 * last call (seen[]: max_nodes + 1 words, zeroed at first), waking their
 * other waiters; when there are none, sleep until a keeper dies or *kick
 * moves from kick_seen (FUTEX_WAKE_PRIVATE on it) and return 0.  -errno
 * when futex_waitv(2) is missing or forbidden (ENOSYS, EPERM). */
int
keeper_wait(struct shmseg *s, uint32_t self, uint32_t *seen,
    _Atomic uint32_t *kick, uint32_t kick_seen)
{
	struct keeper_waitv wv[KEEPER_WAITV_MAX];
	uint32_t id;
	int n = 1, dead = 0, again = 0, rc;

	wv[0].val = kick_seen;
	wv[0].uaddr = (uintptr_t)kick;
	wv[0].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
	wv[0].reserved = 0;
	for (id = 1; id <= s->max_nodes; id++) {
		if (id == self)
			continue;
		if ((rc = keeper_add(s, id, seen, wv, &n)) > 0)
			dead++;
		else if (rc < 0)
			again = 1;
	}
	if (dead > 0 || again)
		return dead;
	/* EAGAIN: a word moved before we slept; EINTR: a signal.  Anything
	 * else (ENOSYS, or EPERM from a seccomp filter) would fail at once
	 * every time: the caller must stop calling. */
	if (syscall(SYS_futex_waitv, wv, n, 0, NULL, CLOCK_MONOTONIC) == -1 &&
	    errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

/* keeper_probe: may this process call futex_waitv(2)?  One call on a
 * private word whose value differs from the one given: the kernel
 * answers EAGAIN without sleeping.  0, or -errno (ENOSYS, EPERM). */
int
keeper_probe(void)
{
	uint32_t word = 1;
	struct keeper_waitv wv = { .val = 0,
		.uaddr = (uintptr_t)&word,
		.flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE };

	if (syscall(SYS_futex_waitv, &wv, 1, 0, NULL, CLOCK_MONOTONIC) == -1 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

/* keeper_pause: sleep until keeper_kick moves *kick from kick_seen. */
void
keeper_pause(_Atomic uint32_t *kick, uint32_t kick_seen)
{
	syscall(SYS_futex, (uint32_t *)kick, FUTEX_WAIT_PRIVATE, kick_seen,
	    NULL, NULL, 0);
}

/* keeper_kick: make keeper_wait return (any thread of the process). */
void
keeper_kick(_Atomic uint32_t *kick)
{
	atomic_fetch_add_explicit(kick, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)kick, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
	    NULL, 0);
}
