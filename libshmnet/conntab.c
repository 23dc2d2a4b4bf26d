/*
 * conntab.c: the global network's connection table, in shared memory.
 *
 * A fixed array of buckets of SHM_CONN_PER_BUCKET entries.  Lookups take
 * no lock: each entry carries a sequence number, odd while a writer
 * changes it, and a reader that saw the same even value before and after
 * copying the entry holds a consistent copy.  Inserts and removals hold
 * the bucket's shm_lock (recovered from a dead holder).  Every node that
 * forwards a packet of a flow accounts it with atomics.  The ingress node
 * of a flow collects it when it expires; a dead node's flows are purged by
 * whoever reaps it.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "shmnet_private.h"

#define CONN_READ_TRIES 64

/* conn_now: monotonic seconds. */
uint32_t
conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

/* conn_hash: mix the key into a bucket number. */
static uint32_t
conn_hash(const struct conn_key *k)
{
	uint64_t a, b, h;

	memcpy(&a, k->faddr, 8);
	memcpy(&b, k->faddr + 8, 8);
	h = a ^ (b * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)k->lport << 48) ^
	    ((uint64_t)k->fport << 32) ^ ((uint64_t)k->proto << 8) ^ k->family;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* conn_match: does a live entry hold this key?  (fields read once) */
static int
conn_match(const volatile struct shm_conn *e, const struct conn_key *k)
{
	return e->family == k->family && e->proto == k->proto &&
	    e->lport == k->lport && e->fport == k->fport &&
	    memcmp((const void *)e->faddr, k->faddr, 16) == 0;
}

/* conn_copy: copy an entry out under its seqlock; 1 if consistent. */
static int
conn_copy(struct shm_conn *e, struct shm_conn *out)
{
	volatile struct shm_conn *v = e;
	uint32_t s1, s2;
	int tries;

	for (tries = 0; tries < CONN_READ_TRIES; tries++) {
		s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
		if (s1 & 1) {
			shm_cpu_relax();
			continue;
		}
		out->family = v->family;
		out->proto = v->proto;
		out->lport = v->lport;
		out->fport = v->fport;
		out->node = v->node;
		out->ingress = v->ingress;
		memcpy(out->faddr, (const void *)v->faddr, 16);
		out->created = v->created;
		atomic_store_explicit(&out->stflags,
		    atomic_load_explicit(&e->stflags, memory_order_relaxed),
		    memory_order_relaxed);
		atomic_store_explicit(&out->last_seen,
		    atomic_load_explicit(&e->last_seen, memory_order_relaxed),
		    memory_order_relaxed);
		atomic_store_explicit(&out->packets,
		    atomic_load_explicit(&e->packets, memory_order_relaxed),
		    memory_order_relaxed);
		atomic_store_explicit(&out->bytes,
		    atomic_load_explicit(&e->bytes, memory_order_relaxed),
		    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		if (s1 == s2)
			return 1;
	}
	return 0;
}

/* conn_lookup: find a flow without locking. */
int
conn_lookup(struct shmseg *s, const struct conn_key *k, struct shm_conn *out,
    struct shm_conn **where)
{
	struct shm_conn_bucket *b = shmseg_conn_bucket(s, conn_hash(k));
	struct shm_conn tmp;
	int i;

	for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
		if (b->e[i].family == 0 || !conn_match(&b->e[i], k) ||
		    !conn_copy(&b->e[i], &tmp) || tmp.family == 0 ||
		    !conn_match(&tmp, k))
			continue;
		if (out != NULL)
			memcpy(out, &tmp, sizeof(tmp));
		if (where != NULL)
			*where = &b->e[i];
		return 1;
	}
	return 0;
}

/* conn_write_begin / end: seqlock write section (bucket lock held). */
static void
conn_write_begin(struct shm_conn *e)
{
	atomic_store_explicit(&e->seq,
	    atomic_load_explicit(&e->seq, memory_order_relaxed) | 1,
	    memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void
conn_write_end(struct shm_conn *e)
{
	atomic_store_explicit(&e->seq,
	    (atomic_load_explicit(&e->seq, memory_order_relaxed) | 1) + 1,
	    memory_order_release);
}

/* conn_expired: idle beyond what its state allows? */
int
conn_expired(const struct shm_conn *e, uint32_t now,
    const struct conn_timeouts *t)
{
	uint32_t idle = now -
	    atomic_load_explicit(&e->last_seen, memory_order_relaxed),
		 limit;

	switch (atomic_load_explicit(&e->stflags, memory_order_relaxed) &
	    0xff) {
	case SHM_CONN_SYN:
		limit = t->syn;
		break;
	case SHM_CONN_EST:
		limit = t->established;
		break;
	case SHM_CONN_CLOSING:
		limit = t->closing;
		break;
	case SHM_CONN_UDP:
		limit = t->udp;
		break;
	default:
		return 1;
	}
	return (int32_t)idle >= 0 && idle >= limit;
}

/* conn_live: the segment's count of entries in use. */
static _Atomic uint64_t *
conn_live(struct shmseg *s)
{
	return &((struct shm_hdr *)s->base)->conn_live;
}

/* conn_clear: empty an entry (bucket lock held). */
static void
conn_clear(struct shmseg *s, struct shm_conn *e)
{
	conn_write_begin(e);
	e->family = 0;
	conn_write_end(e);
	atomic_fetch_sub_explicit(conn_live(s), 1, memory_order_relaxed);
}

/* conn_insert: add a flow unless it exists. */
int
conn_insert(struct shmseg *s, uint32_t self, const struct conn_key *k,
    uint16_t node, uint16_t ingress, uint16_t state, uint32_t now,
    const struct conn_timeouts *t, struct shm_conn *out,
    struct shm_conn **where)
{
	struct shm_conn_bucket *b = shmseg_conn_bucket(s, conn_hash(k));
	uint32_t owner = lock_owner_word(self);
	struct shm_conn *e, *free_e = NULL, tmp;
	int i, rc = 1;

	if (lock_acquire_for(s, &b->lock, owner, CONN_LOCK_MS) < 0)
		return -EBUSY;
	for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
		e = &b->e[i];
		if (e->family != 0 && conn_match(e, k)) {
			if (!conn_copy(e, &tmp)) {
				/* torn: its writer died mid-write (a writer
				 * holds the lock we hold): written anew */
				free_e = e;
				break;
			}
			if (out != NULL)
				memcpy(out, &tmp, sizeof(tmp));
			if (where != NULL)
				*where = e;
			rc = 0;
			goto out;
		}
		if (free_e == NULL &&
		    (e->family == 0 || conn_expired(e, now, t)))
			free_e = e;
	}
	if ((e = free_e) == NULL) {
		atomic_fetch_add_explicit(
		    &((struct shm_hdr *)s->base)->conn_full, 1,
		    memory_order_relaxed);
		rc = -ENOSPC;
		goto out;
	}
	if (e->family == 0)
		atomic_fetch_add_explicit(conn_live(s), 1,
		    memory_order_relaxed);
	conn_write_begin(e);
	e->family = k->family;
	e->proto = k->proto;
	e->lport = k->lport;
	e->fport = k->fport;
	memcpy(e->faddr, k->faddr, 16);
	e->node = node;
	e->ingress = ingress;
	e->created = now;
	atomic_store_explicit(&e->stflags, state, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	atomic_store_explicit(&e->packets, 0, memory_order_relaxed);
	atomic_store_explicit(&e->bytes, 0, memory_order_relaxed);
	conn_write_end(e);
	if (out != NULL)
		conn_copy(e, out);
	if (where != NULL)
		*where = e;
out:
	lock_release(&b->lock, owner);
	return rc;
}

/* conn_next_state: TCP state after a packet with these flags. */
static uint16_t
conn_next_state(uint16_t old, uint8_t fl, int inbound)
{
	uint16_t st = old & 0xff, bits = old & 0xff00;

	if (st == SHM_CONN_UDP)
		return old;
	if (fl & CONN_TCP_RST)
		return SHM_CONN_CLOSING | bits;
	if (fl & CONN_TCP_FIN) {
		bits |= inbound ? SHM_CONN_FIN_IN : SHM_CONN_FIN_OUT;
		if ((bits & (SHM_CONN_FIN_IN | SHM_CONN_FIN_OUT)) ==
		    (SHM_CONN_FIN_IN | SHM_CONN_FIN_OUT))
			st = SHM_CONN_CLOSING;
		else if (st == SHM_CONN_SYN)
			st = SHM_CONN_EST;
		return st | bits;
	}
	if (st == SHM_CONN_SYN && (fl & CONN_TCP_ACK) && !(fl & CONN_TCP_SYN) &&
	    inbound)
		st = SHM_CONN_EST;
	return st | bits;
}

/* conn_touch: count a packet and follow TCP state. */
void
conn_touch(struct shm_conn *e, uint32_t now, uint32_t len, uint8_t fl,
    int inbound)
{
	uint16_t old, nw;

	atomic_fetch_add_explicit(&e->packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->bytes, len, memory_order_relaxed);
	if (atomic_load_explicit(&e->last_seen, memory_order_relaxed) != now)
		atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	old = atomic_load_explicit(&e->stflags, memory_order_relaxed);
	do {
		nw = conn_next_state(old, fl, inbound);
		if (nw == old)
			return;
	} while (!atomic_compare_exchange_weak_explicit(&e->stflags, &old, nw,
	    memory_order_relaxed, memory_order_relaxed));
}

/* conn_sweep: remove entries matching a predicate, bucket by bucket. */
static uint32_t
conn_sweep(struct shmseg *s, uint32_t self, uint16_t node, int purge,
    uint32_t now, const struct conn_timeouts *t)
{
	uint32_t owner = lock_owner_word(self), n = 0, bi, nb;
	struct shm_conn_bucket *b;
	struct shm_conn *e;
	int i, hit;

	nb = shmseg_conn_buckets(s);
	for (bi = 0; bi < nb; bi++) {
		b = shmseg_conn_bucket(s, bi);
		for (i = 0, hit = 0; i < SHM_CONN_PER_BUCKET; i++)
			hit |= b->e[i].family != 0;
		if (!hit ||
		    lock_acquire_for(s, &b->lock, owner, CONN_LOCK_MS) < 0)
			continue; /* a bucket a live holder keeps: next time */
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			e = &b->e[i];
			if (e->family == 0)
				continue;
			if (purge ? (e->node == node || e->ingress == node) :
				    ((node == 0 || e->ingress == node) &&
					conn_expired(e, now, t))) {
				conn_clear(s, e);
				n++;
			}
		}
		lock_release(&b->lock, owner);
	}
	return n;
}

/* conn_gc: expire idle flows that entered by `ingress`.  An empty table
 * (conn_live 0) is not swept, except every 64th call: the count is a
 * hint that a writer killed mid-insert may have left off by one. */
uint32_t
conn_gc(struct shmseg *s, uint32_t self, uint16_t ingress, uint32_t now,
    const struct conn_timeouts *t)
{
	static _Atomic uint32_t calls;

	if (atomic_load_explicit(conn_live(s), memory_order_relaxed) == 0 &&
	    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) % 64)
		return 0;
	return conn_sweep(s, self, ingress, 0, now, t);
}

/* conn_purge_node: drop every flow of a node that is gone. */
uint32_t
conn_purge_node(struct shmseg *s, uint32_t self, uint16_t node)
{
	return conn_sweep(s, self, node, 1, 0, NULL);
}

/* conn_state_name: for displays. */
const char *
conn_state_name(uint16_t stflags)
{
	switch (stflags & 0xff) {
	case SHM_CONN_SYN:
		return "syn";
	case SHM_CONN_EST:
		return "established";
	case SHM_CONN_CLOSING:
		return "closing";
	case SHM_CONN_UDP:
		return "udp";
	}
	return "none";
}
