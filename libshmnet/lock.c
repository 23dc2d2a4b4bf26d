/*
 * lock.c: locks in shared memory that survive their holder's death.
 *
 * The owner word is the holder's node id in the low 16 bits and a
 * per-thread tag above, so two threads of one daemon exclude each other
 * too.  A waiter spins, then yields, then sleeps briefly; every few
 * milliseconds it asks whether the holder's node is still alive (its OFD
 * lock) and takes the lock over from a dead one, counting a recovery.
 * A node that claims id frees every lock still held in id's name.
 */
#include "config.h"

#include <sched.h>
#include <time.h>

#include "shmnet_private.h"

#define LOCK_SPINS		200
#define LOCK_YIELDS		400
#define LOCK_NAP_NS		50000
#define LOCK_CHECK_EVERY	20	/* naps between liveness checks */

static _Atomic uint32_t	lock_next_tag;
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
		return 1;		/* garbage: nobody can own it */
	return !node_alive(s, id);
}

/* lock_acquire: take the lock, recovering it from a dead holder. */
int
lock_acquire(struct shmseg *s, struct shm_lock *l, uint32_t owner)
{
	struct timespec nap = { 0, LOCK_NAP_NS };
	uint32_t expect, n = 0;

	for (;;) {
		expect = 0;
		if (atomic_compare_exchange_weak_explicit(&l->owner, &expect,
		    owner, memory_order_acquire, memory_order_relaxed)) {
			atomic_fetch_add_explicit(&l->acquisitions, 1,
			    memory_order_relaxed);
			return 0;
		}
		if (expect == 0)
			continue;
		n++;
		if (n < LOCK_SPINS) {
			cpu_relax();
			continue;
		}
		if (n < LOCK_YIELDS) {
			sched_yield();
			continue;
		}
		if ((n - LOCK_YIELDS) % LOCK_CHECK_EVERY == 0 &&
		    lock_holder_dead(s, expect) &&
		    atomic_compare_exchange_strong_explicit(&l->owner, &expect,
		    owner, memory_order_acquire, memory_order_relaxed)) {
			atomic_fetch_add_explicit(&l->recoveries, 1,
			    memory_order_relaxed);
			atomic_fetch_add_explicit(&l->acquisitions, 1,
			    memory_order_relaxed);
			return 1;
		}
		nanosleep(&nap, NULL);
	}
}

/* lock_release: free the lock if we still hold it. */
void
lock_release(struct shm_lock *l, uint32_t owner)
{
	uint32_t expect = owner;

	atomic_compare_exchange_strong_explicit(&l->owner, &expect, 0,
	    memory_order_release, memory_order_relaxed);
}

/* lock_clear_one: free l if it is held in id's name. */
static int
lock_clear_one(struct shm_lock *l, uint32_t id)
{
	uint32_t v = atomic_load_explicit(&l->owner, memory_order_relaxed);

	if (v == 0 || (v & 0xffff) != id)
		return 0;
	if (!atomic_compare_exchange_strong(&l->owner, &v, 0))
		return 0;
	atomic_fetch_add_explicit(&l->recoveries, 1, memory_order_relaxed);
	return 1;
}

/* lock_clear_node: free every segment lock held by a previous life of id. */
int
lock_clear_node(struct shmseg *s, uint32_t id)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	struct shm_ring_hdr *r;
	uint32_t net;
	int n = 0;

	n += lock_clear_one(&h->table_lock, id);
	n += lock_clear_one(&h->heap_lock, id);
	for (net = 0; net < SHM_NETS; net++) {
		r = (struct shm_ring_hdr *)(s->base + s->cast_off[net]);
		n += lock_clear_one(&r->lock, id);
	}
	return n;
}
