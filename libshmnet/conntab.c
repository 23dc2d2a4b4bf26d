/*
 * conntab.c: the global network's connection table, in shared memory.
 *
 * A flow is known by its protocol, its two ports, its foreign address and
 * which cluster address it goes to (its index: a client may use the same
 * port to two of them at once).
 * A fixed array of buckets of SHM_CONN_PER_BUCKET entries.  A flow lives
 * in one of two buckets chosen by SipHash under the segment's random key;
 * when both are full it takes the place of a closing flow or an echo, or,
 * past its handshake, of the oldest embryonic flow older than a second
 * (conn_rank): spoofed SYNs fill the table but push out no flow that
 * lives, and the flows they keep out go by their hash (gnet.c) until
 * their handshake records them.  Lookups take no lock: each entry carries a sequence
 * number, odd while a writer changes it, and a reader that saw the same
 * even value before and after copying the entry holds a consistent copy.
 * A writer holds the lock of the bucket it writes in (an insert holds
 * both of the flow's, lower index first; each recovered from a dead
 * holder, waited for at most CONN_LOCK_MS).  Every node that forwards a
 * packet of a flow accounts it with atomics.  The ingress node of a flow
 * collects it when it expires; a dead node's flows are purged by whoever
 * reaps it.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "shmnet_private.h"

#define CONN_READ_TRIES 64
#define CONN_EMBRYO_MS  1000 /* an embryonic flow is safe from eviction */
#define CONN_BUSY_MS    100  /* a bucket a live holder kept: only tried */

/* conn_now: monotonic seconds. */
uint32_t
conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

/* conn_hash: the flow's SipHash under the table's key, so that outside
 * clients cannot aim flows at one bucket (or one node). */
uint64_t
conn_hash(const struct shmseg *s, const struct conn_key *k)
{
	uint8_t m[24] = { 0 };

	memcpy(m, k->faddr, 16);
	memcpy(m + 16, &k->lport, 2);
	memcpy(m + 18, &k->fport, 2);
	m[20] = k->proto;
	m[21] = k->family;
	m[22] = k->aidx; /* 0 hashes as before, in older builds' places */
	return siphash24(s->conn_key, m, sizeof(m));
}

/* conn_places: the two buckets a flow may live in; they differ. */
void
conn_places(const struct shmseg *s, const struct conn_key *k, uint32_t b[2])
{
	uint32_t mask = s->conn_buckets - 1;
	uint64_t h = conn_hash(s, k);

	b[0] = (uint32_t)h & mask;
	b[1] = (uint32_t)(h >> 32) & mask;
	if (b[1] == b[0])
		b[1] = b[0] ^ 1;
}

/* conn_match: does a live entry hold this key?  (fields read once) */
static int
conn_match(const volatile struct shm_conn *e, const struct conn_key *k)
{
	return e->family == k->family && e->proto == k->proto &&
	    e->lport == k->lport && e->fport == k->fport &&
	    e->aidx == k->aidx &&
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
		out->aidx = v->aidx;
		out->node = v->node;
		out->ingress = v->ingress;
		memcpy(out->faddr, (const void *)v->faddr, 16);
		out->created = v->created;
		out->created_ms = v->created_ms;
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
		if (s1 == s2) {
			atomic_store_explicit(&out->seq, s1,
			    memory_order_relaxed);
			return 1;
		}
	}
	return 0;
}

/* conn_find: a consistent copy of the flow k in bucket b, 1 if found. */
static int
conn_find(struct shm_conn_bucket *b, const struct conn_key *k,
    struct shm_conn *out, struct shm_conn **where)
{
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

/* conn_lookup: find a flow without locking. */
int
conn_lookup(struct shmseg *s, const struct conn_key *k, struct shm_conn *out,
    struct shm_conn **where)
{
	uint32_t b[2];

	conn_places(s, k, b);
	return conn_find(shmseg_conn_bucket(s, b[0]), k, out, where) ||
	    conn_find(shmseg_conn_bucket(s, b[1]), k, out, where);
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

/* conn_rank: how readily an entry gives its place to a new flow: 2 for
 * a closing flow or an echo, 1 for an embryonic one (a TCP SYN with no
 * handshake completed, a flow its server never answered) older than
 * CONN_EMBRYO_MS (a younger one may still be a client's handshake in
 * progress, routed by the rotation: evicted, it would be routed by hash
 * to another node), 0 for one that must stay. */
static int
conn_rank(const struct shm_conn *e, uint32_t now_ms)
{
	uint16_t f = atomic_load_explicit(&e->stflags, memory_order_relaxed);

	if ((f & 0xff) == SHM_CONN_CLOSING || (f & SHM_CONN_ECHO))
		return 2;
	if (((f & 0xff) == SHM_CONN_SYN || !(f & SHM_CONN_REPLIED)) &&
	    (int32_t)(now_ms - e->created_ms) >= CONN_EMBRYO_MS)
		return 1;
	return 0;
}

/* A place for a new flow: a free (or expired) entry, else the entry to
 * evict, the oldest of the highest rank. */
struct conn_room {
	struct shm_conn *free_e, *victim;
	int rank, min_rank; /* the victim's; the least it may have */
	uint32_t age;       /* the victim's, ms */
};

/* conn_consider: weigh entry e as the new flow's place. */
static void
conn_consider(struct conn_room *r, struct shm_conn *e, uint32_t now,
    uint32_t now_ms, const struct conn_timeouts *t)
{
	uint32_t age;
	int rank;

	if (r->free_e != NULL)
		return;
	if (e->family == 0 || conn_expired(e, now, t)) {
		r->free_e = e;
		return;
	}
	if ((rank = conn_rank(e, now_ms)) < r->min_rank)
		return;
	age = now_ms - e->created_ms;
	if (rank > r->rank || (rank == r->rank && age > r->age)) {
		r->victim = e;
		r->rank = rank;
		r->age = age;
	}
}

/* conn_fill: a flow's fields, as a new entry has them. */
static void
conn_fill(struct shm_conn *e, const struct conn_key *k, uint16_t node,
    uint16_t ingress, uint16_t state, uint32_t now, uint32_t now_ms)
{
	e->family = k->family;
	e->proto = k->proto;
	e->lport = k->lport;
	e->fport = k->fport;
	e->aidx = k->aidx;
	memcpy(e->faddr, k->faddr, 16);
	e->node = node;
	e->ingress = ingress;
	e->created = now;
	e->created_ms = now_ms;
	atomic_store_explicit(&e->stflags, state, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	atomic_store_explicit(&e->packets, 0, memory_order_relaxed);
	atomic_store_explicit(&e->bytes, 0, memory_order_relaxed);
}

/* conn_write: record a flow in entry e (bucket lock held). */
static void
conn_write(struct shm_conn *e, const struct conn_key *k, uint16_t node,
    uint16_t ingress, uint16_t state, uint32_t now, uint32_t now_ms)
{
	conn_write_begin(e);
	conn_fill(e, k, node, ingress, state, now, now_ms);
	conn_write_end(e);
}

/* conn_lock_bucket: take bucket i's lock, waiting CONN_LOCK_MS, or only
 * trying while this process remembers that a live holder kept it. */
static int
conn_lock_bucket(struct shmseg *s, uint32_t i, uint32_t owner)
{
	_Atomic uint64_t *memo = &s->conn_busy[i % CONN_BUSY_SLOTS];
	uint64_t m = atomic_load_explicit(memo, memory_order_relaxed);
	uint32_t now = (uint32_t)clock_ms();
	int wait = CONN_LOCK_MS;

	if ((uint32_t)(m >> 32) == i && (int32_t)((uint32_t)m - now) > 0)
		wait = 0;
	if (lock_acquire_for(s, &shmseg_conn_bucket(s, i)->lock, owner, wait) >=
	    0)
		return 0;
	if (wait > 0) {
		atomic_store_explicit(memo,
		    (uint64_t)i << 32 | (uint32_t)(now + CONN_BUSY_MS),
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&s->conn_busy_waits, 1,
		    memory_order_relaxed);
	}
	return -EBUSY;
}

/* conn_lock2: lock both buckets of a flow, lower index first; -EBUSY if
 * either stays held by a node that does not run. */
static int
conn_lock2(struct shmseg *s, const uint32_t b[2], uint32_t owner,
    struct shm_conn_bucket *bk[2])
{
	int lo = b[0] > b[1];

	bk[0] = shmseg_conn_bucket(s, b[0]);
	bk[1] = shmseg_conn_bucket(s, b[1]);
	if (conn_lock_bucket(s, b[lo] & (s->conn_buckets - 1), owner) < 0)
		return -EBUSY;
	if (bk[1] == bk[0]) /* a table of one bucket */
		return 0;
	if (conn_lock_bucket(s, b[!lo] & (s->conn_buckets - 1), owner) < 0) {
		lock_release(&bk[lo]->lock, owner);
		return -EBUSY;
	}
	return 0;
}

/* conn_place: find the flow k in its buckets (0, copied out), or the
 * room for it (1); both bucket locks held. */
static int
conn_place(struct shm_conn_bucket *bk[2], const struct conn_key *k,
    uint32_t now, uint32_t now_ms, const struct conn_timeouts *t,
    struct conn_room *r, struct shm_conn *out, struct shm_conn **where)
{
	struct shm_conn *e, tmp;
	int i, j;

	for (j = 0; j < (bk[1] != bk[0] ? 2 : 1); j++) {
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			e = &bk[j]->e[i];
			if (e->family != 0 && conn_match(e, k)) {
				if (!conn_copy(e, &tmp)) {
					/* torn: its writer died mid-write
					 * (a writer holds the lock we
					 * hold): written anew */
					r->free_e = e;
					return 1;
				}
				if (out != NULL)
					memcpy(out, &tmp, sizeof(tmp));
				if (where != NULL)
					*where = e;
				return 0;
			}
			conn_consider(r, e, now, now_ms, t);
		}
	}
	return 1;
}

/* conn_insert: add a flow unless it exists. */
int
conn_insert(struct shmseg *s, uint32_t self, const struct conn_key *k,
    uint16_t node, uint16_t ingress, uint16_t state, uint32_t now,
    const struct conn_timeouts *t, struct shm_conn *out,
    struct shm_conn **where)
{
	struct shm_hdr *h = (struct shm_hdr *)s->base;
	uint32_t owner = lock_owner_word(self), b[2];
	uint32_t now_ms = (uint32_t)clock_ms();
	struct shm_conn_bucket *bk[2];
	struct conn_room r = { 0 };
	struct shm_conn *e;
	int rc;

	r.min_rank = (state & 0xff) == SHM_CONN_EST ? 1 : 2;
	conn_places(s, k, b);
	if (conn_lock2(s, b, owner, bk) < 0)
		return -EBUSY;
	if ((rc = conn_place(bk, k, now, now_ms, t, &r, out, where)) == 0)
		goto out;
	if ((e = r.free_e) == NULL && (e = r.victim) != NULL)
		atomic_fetch_add_explicit(&h->conn_evicted, 1,
		    memory_order_relaxed);
	if (e == NULL) {
		atomic_fetch_add_explicit(&h->conn_full, 1,
		    memory_order_relaxed);
		rc = -ENOSPC;
		goto out;
	}
	if (e->family == 0)
		atomic_fetch_add_explicit(conn_live(s), 1,
		    memory_order_relaxed);
	conn_write(e, k, node, ingress, state, now, now_ms);
	if (out != NULL && !conn_copy(e, out)) {
		/* a scribbler left seq odd: what was written, not garbage */
		memset(out, 0, sizeof(*out));
		conn_fill(out, k, node, ingress, state, now, now_ms);
	}
	if (where != NULL)
		*where = e;
out:
	lock_release(&bk[0]->lock, owner);
	if (bk[1] != bk[0])
		lock_release(&bk[1]->lock, owner);
	return rc;
}

/* conn_next_state: a flow's state after a packet with these flags
 * (inbound: from the flow's client, which for an egress flow is G's
 * side).  The serving node's stack is the authority on a TCP
 * connection: a client's
 * RST only closes the entry until the server is heard from again (an
 * answer means the RST did not close its socket: it may have been
 * forged), and only the server's FIN promotes a flow whose handshake was
 * not seen to established. */
static uint16_t
conn_next_state(uint16_t old, uint8_t fl, int inbound)
{
	const uint16_t fins = SHM_CONN_FIN_IN | SHM_CONN_FIN_OUT;
	uint16_t st = old & 0xff, bits = old & 0xff00;

	if (!inbound)
		bits |= SHM_CONN_REPLIED;
	if (st == SHM_CONN_UDP)
		return st | bits;
	if (st == SHM_CONN_CLOSING && inbound &&
	    (fl & (CONN_TCP_SYN | CONN_TCP_ACK | CONN_TCP_RST)) == CONN_TCP_SYN)
		/* the client's ports, used again */
		return SHM_CONN_SYN | (bits & SHM_CONN_EGRESS);
	if (fl & CONN_TCP_RST)
		return SHM_CONN_CLOSING |
		    (inbound ? bits | SHM_CONN_RST_IN :
			       bits & ~SHM_CONN_RST_IN);
	if (!inbound && (bits & SHM_CONN_RST_IN)) {
		bits &= ~SHM_CONN_RST_IN;
		if (st == SHM_CONN_CLOSING && (bits & fins) != fins)
			st = SHM_CONN_EST;
	}
	if (fl & CONN_TCP_FIN) {
		bits |= inbound ? SHM_CONN_FIN_IN : SHM_CONN_FIN_OUT;
		if ((bits & fins) == fins)
			st = SHM_CONN_CLOSING;
		else if (st == SHM_CONN_SYN && !inbound)
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

/* conn_account: conn_touch, when e still holds the flow whose copy had
 * sequence seq (an insert may have given its place to another since). */
void
conn_account(struct shm_conn *e, uint32_t seq, uint32_t now, uint32_t len,
    uint8_t fl, int inbound)
{
	if (atomic_load_explicit(&e->seq, memory_order_acquire) == seq)
		conn_touch(e, now, len, fl, inbound);
}

/* conn_rehome: flow k, entered by node from, enters by node to from now
 * on (its replies go out there): 1 if it did, 0 if the flow is gone or
 * another writer re-homed it first, -EBUSY if a bucket stayed locked. */
int
conn_rehome(struct shmseg *s, uint32_t self, const struct conn_key *k,
    uint16_t from, uint16_t to)
{
	uint32_t owner = lock_owner_word(self), b[2];
	struct shm_conn_bucket *bk[2];
	struct shm_conn *e;
	int i, j, done = 0;

	conn_places(s, k, b);
	if (conn_lock2(s, b, owner, bk) < 0)
		return -EBUSY;
	for (j = 0; j < (bk[1] != bk[0] ? 2 : 1) && !done; j++)
		for (i = 0; i < SHM_CONN_PER_BUCKET && !done; i++) {
			e = &bk[j]->e[i];
			if (e->family == 0 || !conn_match(e, k) ||
			    e->ingress != from)
				continue;
			conn_write_begin(e);
			e->ingress = to;
			conn_write_end(e);
			done = 1;
		}
	lock_release(&bk[0]->lock, owner);
	if (bk[1] != bk[0])
		lock_release(&bk[1]->lock, owner);
	return done;
}

/* conn_gone: does ingress id fall under the bitmap also (NULL: none)? */
static int
conn_gone(const uint64_t *also, uint32_t id)
{
	return also != NULL && id <= SHM_NODES_MAX &&
	    ((also[id / 64] >> (id % 64)) & 1);
}

/* conn_sweep: remove entries matching a predicate, bucket by bucket:
 * purge, those node serves; else the expired ones that entered by node
 * (0: any) or by a node in also. */
static uint32_t
conn_sweep(struct shmseg *s, uint32_t self, uint16_t node, int purge,
    uint32_t now, const struct conn_timeouts *t, const uint64_t *also)
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
		if (!hit || conn_lock_bucket(s, bi, owner) < 0)
			continue; /* a bucket a live holder keeps: next time */
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			e = &b->e[i];
			if (e->family == 0)
				continue;
			if (purge ? e->node == node :
				    ((node == 0 || e->ingress == node ||
					 conn_gone(also, e->ingress)) &&
					conn_expired(e, now, t))) {
				conn_clear(s, e);
				n++;
			}
		}
		lock_release(&b->lock, owner);
	}
	return n;
}

/* conn_gc: expire idle flows that entered by `ingress`, or by a node in
 * also.  An empty table (conn_live 0) is not swept, except every 64th
 * call: the count is a hint that a writer killed mid-insert may have
 * left off by one. */
uint32_t
conn_gc(struct shmseg *s, uint32_t self, uint16_t ingress, uint32_t now,
    const struct conn_timeouts *t, const uint64_t *also)
{
	static _Atomic uint32_t calls;

	if (atomic_load_explicit(conn_live(s), memory_order_relaxed) == 0 &&
	    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) % 64)
		return 0;
	return conn_sweep(s, self, ingress, 0, now, t, also);
}

/* conn_purge_node: drop every flow a node that is gone served. */
uint32_t
conn_purge_node(struct shmseg *s, uint32_t self, uint16_t node)
{
	return conn_sweep(s, self, node, 1, 0, NULL, NULL);
}

/* conn_read_slot: a consistent copy of the flow in slot e, for readers
 * walking the table: the slot's key is read racily, then the flow is
 * looked up as the daemons do, so a slot that changed under the reader
 * gives the flow now there or none.  1 and *f when the flow names a
 * node of the cluster, else 0. */
int
conn_read_slot(struct shmseg *s, const struct shm_conn *e, struct shm_conn *f)
{
	struct conn_key k = { .family = e->family,
		.proto = e->proto,
		.lport = e->lport,
		.fport = e->fport,
		.aidx = e->aidx };

	memcpy(k.faddr, e->faddr, sizeof(k.faddr));
	return (k.family == 4 || k.family == 6) &&
	    conn_lookup(s, &k, f, NULL) == 1 && f->node >= 1 &&
	    f->node <= s->max_nodes;
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
