/*
 * listen.c: listeners published by each node, and the choice of the node
 * that serves a new flow of the global network.
 *
 * Each node publishes the sockets that can take a flow to G (TCP in
 * LISTEN, bound UDP) in its own table, under a seqlock.  A reader waits
 * for a publish in progress, up to 20 ms (its writer may have been
 * preempted halfway), rather than take the node for one without
 * listeners; a table whose writer died halfway reads empty.  A new flow
 * to a cluster address goes to the nodes that carry that address (G6:
 * every node) whose sockets match it best: a connected socket for this
 * very peer, else a socket bound to that very address, else a wildcard
 * socket.  Among
 * several, a rotation counter per service, shared by the whole cluster,
 * picks the next one, so the balance is exact whatever node a flow enters
 * by.  Weights (backend.c) make the rotation a weighted one; a node
 * drained, weighted 0 or stalled, and a listener whose accept queue is
 * full or whose check fails, take no new flow (but when every node is
 * full or stalled: a burst is queued, not refused).  Flows the
 * connection table cannot record go by their hash among every node
 * listening, whatever its weight or health, so that nothing moves them.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "shmnet_private.h"

#define LISTEN_CLASS_WILD 1
#define LISTEN_CLASS_G    2
#define LISTEN_CLASS_PEER 3
/* A reader meeting a publish in progress spins LISTEN_SPINS times (a
 * publish takes well under 1 us); its writer preempted meanwhile (for a
 * slice or two of a busy CPU), it yields to it for LISTEN_WAIT_US;
 * longer, the writer died mid-publish. */
#define LISTEN_SPINS   64
#define LISTEN_WAIT_US 20000
/* After a pick gave up waiting, the picks of the next LISTEN_BUSY_US do
 * not wait at all (every packet of a flow the connection table cannot
 * record is picked for). */
#define LISTEN_BUSY_US 100000

/* A reader's wait for a table's writer. */
struct listen_wait {
	uint64_t deadline; /* 0 until the spins are spent */
	int spins;
};

/* listen_backoff: wait a little more for a publish in progress (spin,
 * then yield: a writer preempted mid-publish may need this CPU); 0 once
 * LISTEN_WAIT_US have gone by. */
static int
listen_backoff(struct listen_wait *w)
{
	if (w->spins < LISTEN_SPINS) {
		w->spins++;
		shm_cpu_relax();
		return 1;
	}
	if (w->deadline == 0)
		w->deadline = clock_us() + LISTEN_WAIT_US;
	else if (clock_us() >= w->deadline)
		return 0;
	sched_yield();
	return 1;
}

/* listen_begin: the sequence of t once no publish is in progress, in
 * *seq; 0 if none ended in time. */
static int
listen_begin(const struct shm_listen_table *t, struct listen_wait *w,
    uint32_t *seq)
{
	while ((*seq = atomic_load_explicit(&t->seq, memory_order_acquire)) & 1)
		if (!listen_backoff(w))
			return 0;
	return 1;
}

/* listen_end: 1 if what was read since listen_begin gave seq is
 * consistent. */
static int
listen_end(const struct shm_listen_table *t, uint32_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&t->seq, memory_order_relaxed) == seq;
}

/* listen_publish: replace node id's table. */
uint32_t
listen_publish(struct shmseg *s, uint32_t id, const struct shm_listen *l,
    uint32_t n)
{
	struct shm_listen_table *t = shmseg_listen(s, id);
	uint32_t v;

	if (t == NULL)
		return 0;
	if (n > SHM_LISTEN_MAX)
		n = SHM_LISTEN_MAX;
	v = atomic_load_explicit(&t->seq, memory_order_relaxed);
	atomic_store_explicit(&t->seq, v | 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (n > 0)
		memcpy(t->l, l, n * sizeof(*l));
	t->count = n;
	atomic_fetch_add_explicit(&t->scans, 1, memory_order_relaxed);
	atomic_store_explicit(&t->seq, (v | 1) + 1, memory_order_release);
	return n;
}

/* listen_read: consistent copy of node id's table. */
uint32_t
listen_read(struct shmseg *s, uint32_t id, struct shm_listen *out)
{
	struct shm_listen_table *t = shmseg_listen(s, id);
	struct listen_wait w = { 0, 0 };
	uint32_t seq, n;

	if (t == NULL)
		return 0;
	while (listen_begin(t, &w, &seq)) {
		n = *(volatile uint32_t *)&t->count;
		if (n > SHM_LISTEN_MAX)
			n = SHM_LISTEN_MAX; /* untrusted */
		memcpy(out, t->l, n * sizeof(*out));
		if (listen_end(t, seq))
			return n;
		if (!listen_backoff(&w))
			break;
	}
	return 0;
}

/* listen_families: the families (LISTEN_V4, LISTEN_V6) in which some UP
 * node publishes a listener that takes new clients (not a connected UDP
 * socket): what a gateway in route mode announces G and G6 for. */
unsigned
listen_families(struct shmseg *s)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, n, i;
	unsigned fam = 0;

	for (id = 1; id <= s->max_nodes && fam != (LISTEN_V4 | LISTEN_V6);
	     id++) {
		if (atomic_load_explicit(&shmseg_node(s, id)->state,
			memory_order_acquire) != SHM_NODE_UP)
			continue;
		n = listen_read(s, id, l);
		for (i = 0; i < n; i++)
			if (!(l[i].flags & SHM_LISTEN_REMOTE))
				fam |= l[i].family == 4 ? LISTEN_V4 :
				    l[i].family == 6    ? LISTEN_V6 :
							  0;
	}
	return fam;
}

/* listen_addresses: the IPv4 cluster addresses (bit i: index i) that
 * some UP node carrying the address publishes a listener for new
 * clients on: one bound to the address, or a wildcard one: what a
 * gateway in route mode announces each address for. */
uint32_t
listen_addresses(struct shmseg *s)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, n, i, carried, mask = 0;

	for (id = 1; id <= s->max_nodes; id++) {
		if (atomic_load_explicit(&shmseg_node(s, id)->state,
			memory_order_acquire) != SHM_NODE_UP ||
		    (carried = gaddr_carried(s, id) & ~mask) == 0)
			continue;
		n = listen_read(s, id, l);
		for (i = 0; i < n; i++) {
			if (l[i].family != 4 ||
			    (l[i].flags & SHM_LISTEN_REMOTE))
				continue;
			if (!(l[i].flags & SHM_LISTEN_SPECIFIC))
				mask |= carried;
			else /* flags: 8 bits, an index below 16 */
				mask |= carried &
				    (1u << SHM_LISTEN_AIDX(l[i].flags));
		}
	}
	return mask;
}

/* Which nodes and listeners a choice leaves out (listen_candidates). */
#define LISTEN_ADMIN  0x01 /* weight 0 or drained nodes; else unweighted */
#define LISTEN_HEALTH 0x02 /* listeners failing their check */
#define LISTEN_LOAD   0x04 /* full accept queues, stalled nodes */

/* listen_class: how well one listener of a node that carries flow k's
 * address matches the flow (0: not at all), leaving out those the
 * choice's rules (LISTEN_*) do: a socket bound to a cluster address
 * serves that address only. */
static int
listen_class(const struct shm_listen *l, const struct conn_key *k,
    unsigned rules)
{
	if (l->family != k->family || l->proto != k->proto ||
	    l->port != k->lport ||
	    ((l->flags & SHM_LISTEN_SPECIFIC) &&
		SHM_LISTEN_AIDX(l->flags) != k->aidx) ||
	    ((rules & LISTEN_HEALTH) && (l->flags & SHM_LISTEN_FAILING)) ||
	    ((rules & LISTEN_LOAD) && (l->flags & SHM_LISTEN_FULL)))
		return 0;
	if (l->flags & SHM_LISTEN_REMOTE)
		return l->rport == k->fport &&
			memcmp(l->raddr, k->faddr, 16) == 0 ?
		    LISTEN_CLASS_PEER :
		    0;
	return (l->flags & SHM_LISTEN_SPECIFIC) ? LISTEN_CLASS_G :
						  LISTEN_CLASS_WILD;
}

/* listen_node_class: best class among node id's listeners; a wait for a
 * publish in progress comes out of the pick's one budget w, so tables
 * stuck mid-publish cost a pick LISTEN_WAIT_US however many there are. */
static int
listen_node_class(struct shmseg *s, uint32_t id, const struct conn_key *k,
    unsigned rules, struct listen_wait *w)
{
	struct shm_listen_table *t = shmseg_listen(s, id);
	struct shm_listen l;
	uint32_t seq, n, i;
	int best, c;

	while (listen_begin(t, w, &seq)) {
		n = *(volatile uint32_t *)&t->count;
		if (n > SHM_LISTEN_MAX)
			n = SHM_LISTEN_MAX; /* untrusted */
		for (i = 0, best = 0; i < n; i++) {
			memcpy(&l, &t->l[i], sizeof(l));
			if ((c = listen_class(&l, k, rules)) > best)
				best = c;
		}
		if (listen_end(t, seq))
			return best;
		if (!listen_backoff(w))
			break;
	}
	return 0;
}

/* svc_key: the key of service (family, aidx, proto, port). */
uint32_t
svc_key(uint8_t family, uint8_t aidx, uint8_t proto, uint16_t port)
{
	return ((uint32_t)(aidx & 0xf) << 28) | ((uint32_t)family << 24) |
	    ((uint32_t)proto << 16) | port;
}

/* svc_slot: service key's entry, taken if it has none and take is set;
 * NULL when it has none (or, taking, the table is full). */
static struct shm_svc *
svc_slot(struct shmseg *s, uint32_t key, int take)
{
	struct shm_svc *svc = shmseg_svc(s), *e;
	uint32_t h = (key * 2654435761u) % SHM_SVC_SLOTS, i, cur;

	for (i = 0; i < SHM_SVC_SLOTS; i++) {
		e = &svc[(h + i) % SHM_SVC_SLOTS];
		cur = atomic_load_explicit(&e->key, memory_order_acquire);
		if (cur == 0 && !take)
			return NULL;
		if (cur == 0 &&
		    (atomic_compare_exchange_strong(&e->key, &cur, key) ||
			cur == key))
			return e;
		if (cur == key)
			return e;
	}
	return NULL;
}

/* svc_find: service key's entry, NULL if it has none. */
const struct shm_svc *
svc_find(struct shmseg *s, uint32_t key)
{
	return svc_slot(s, key, 0);
}

/* svc_take: the next position of service key's rotation, counting the
 * flow; the first picker of a new second moves the rate's window. */
uint64_t
svc_take(struct shmseg *s, uint32_t key)
{
	struct shm_svc *e = svc_slot(s, key, 1);
	uint32_t now, sec;
	uint64_t n;

	if (e == NULL) /* table full: a rotation of this process's own */
		return atomic_fetch_add_explicit(&s->svc_overflow, 1,
		    memory_order_relaxed);
	n = atomic_fetch_add_explicit(&e->flows, 1, memory_order_relaxed);
	now = conn_now();
	sec = atomic_load_explicit(&e->sec, memory_order_relaxed);
	if (now != sec && atomic_compare_exchange_strong(&e->sec, &sec, now)) {
		uint64_t base = atomic_exchange(&e->base, n);
		atomic_store_explicit(&e->rate,
		    now == sec + 1 ? (uint32_t)(n - base) : 0,
		    memory_order_relaxed);
	}
	return n;
}

/* svc_rate: the flows of e that began in the last whole second. */
uint32_t
svc_rate(const struct shm_svc *e, uint32_t now_s)
{
	uint32_t sec = atomic_load_explicit(&e->sec, memory_order_relaxed);

	if (now_s == sec)
		return atomic_load_explicit(&e->rate, memory_order_relaxed);
	if (now_s == sec + 1)
		return (uint32_t)(atomic_load_explicit(&e->flows,
				      memory_order_relaxed) -
		    atomic_load_explicit(&e->base, memory_order_relaxed));
	return 0;
}

/* A node that may serve a flow, and its weight. */
struct listen_cand {
	uint32_t id;
	uint32_t weight;
};

/* listen_weight: node id's share of new flows to port under the rules:
 * 0 leaves it out. */
static uint32_t
listen_weight(struct shmseg *s, uint32_t id, uint16_t port, unsigned rules)
{
	struct backend_view v;

	if (!(rules & LISTEN_ADMIN))
		return 1;
	backend_view(s, id, port, &v);
	return v.drained || ((rules & LISTEN_LOAD) && v.stalled) ? 0 : v.weight;
}

/* listen_candidates: the up nodes whose listeners match flow k best,
 * among those the rules (LISTEN_*) leave, in cand; their number. */
static uint32_t
listen_candidates(struct shmseg *s, const struct conn_key *k, unsigned rules,
    struct listen_cand *cand)
{
	uint32_t n = 0, id, max = s->max_nodes, weight;
	struct listen_wait w = { 0, 0 }; /* one budget for all tables */
	uint64_t now = clock_us();
	struct shm_node *nd;
	int best = 0, c;

	if (now <
	    atomic_load_explicit(&s->listen_busy_us, memory_order_relaxed))
		w = (struct listen_wait){ 1, 0 }; /* spins, no wait */

	if (k->family == 4 && k->aidx >= SHM_GADDR_MAX)
		return 0;
	for (id = 1; id <= max; id++) {
		nd = shmseg_node(s, id);
		if (atomic_load_explicit(&nd->state, memory_order_acquire) !=
			SHM_NODE_UP ||
		    (k->family == 4 &&
			!((gaddr_node_carried(nd) >> k->aidx) & 1)) ||
		    (weight = listen_weight(s, id, k->lport, rules)) == 0)
			continue;
		if ((c = listen_node_class(s, id, k, rules, &w)) == 0 ||
		    c < best)
			continue;
		if (c > best) {
			best = c;
			n = 0;
		}
		cand[n++] = (struct listen_cand){ id, weight };
	}
	if (w.deadline > 1 && clock_us() >= w.deadline)
		atomic_store_explicit(&s->listen_busy_us,
		    clock_us() + LISTEN_BUSY_US, memory_order_relaxed);
	return n;
}

/* listen_serves: who serves flow k among UP nodes, whatever their weight,
 * drain or health (those whose listener matches it best): whether node
 * self is one of them, and in *other another one, or 0. */
int
listen_serves(struct shmseg *s, uint32_t self, const struct conn_key *k,
    uint32_t *other)
{
	struct listen_cand cand[SHM_NODES_MAX];
	uint32_t n = listen_candidates(s, k, 0, cand), i;
	int mine = 0;

	*other = 0;
	for (i = 0; i < n; i++)
		if (cand[i].id == self)
			mine = 1;
		else if (*other == 0)
			*other = cand[i].id;
	return mine;
}

/* listen_weighted: the candidate at position pos of the weighted
 * rotation.  The rotation goes in rounds: round r gives one flow to
 * each candidate of weight above r, in id order, so weights 3:1:1 give
 * a b c a a, a b c a a, ...  pos is taken modulo the weights' sum. */
static uint32_t
listen_weighted(const struct listen_cand *cand, uint32_t n, uint64_t pos)
{
	uint16_t hist[SHM_ADMIN_WEIGHT + 1];
	uint32_t i, sum = 0, above = n, r, same = 1;
	uint64_t p;

	for (i = 0; i < n; i++) {
		sum += cand[i].weight;
		same &= cand[i].weight == cand[0].weight;
	}
	if (same)
		return cand[pos % n].id;
	p = pos % sum;
	memset(hist, 0, sizeof(hist));
	for (i = 0; i < n; i++)
		hist[cand[i].weight]++;
	for (r = 0; r < SHM_ADMIN_WEIGHT; r++) {
		above -= hist[r]; /* candidates of weight above r */
		if (p < above)
			break;
		p -= above;
	}
	for (i = 0; i < n; i++)
		if (cand[i].weight > r && p-- == 0)
			return cand[i].id;
	return cand[0].id; /* not reached: p < above */
}

/* listen_pick: the node that serves a new flow, in turn: among the
 * nodes in rotation; when every one of them is loaded (accept queue
 * full, stalled), among those anyway, as the kernel would queue or drop
 * the SYN rather than refuse it. */
int
listen_pick(struct shmseg *s, const struct conn_key *k, uint32_t *node)
{
	struct listen_cand cand[SHM_NODES_MAX];
	uint32_t key = svc_key(k->family, k->aidx, k->proto, k->lport), n;

	if ((n = listen_candidates(s, k,
		 LISTEN_ADMIN | LISTEN_HEALTH | LISTEN_LOAD, cand)) == 0 &&
	    (n = listen_candidates(s, k, LISTEN_ADMIN | LISTEN_HEALTH, cand)) ==
		0)
		return -ENOENT;
	*node = listen_weighted(cand, n, svc_take(s, key));
	backend_count(s, *node, key);
	return 0;
}

/* listen_pick_by: the node that serves flow k, chosen by its hash among
 * every up node listening for it, whatever its weight, drain or health:
 * the same for every packet of the flow while the listeners stay, so
 * that a drain or a check leaves the flow where it is. */
int
listen_pick_by(struct shmseg *s, const struct conn_key *k, uint64_t hash,
    uint32_t *node)
{
	struct listen_cand cand[SHM_NODES_MAX];
	uint32_t n = listen_candidates(s, k, 0, cand);

	if (n == 0)
		return -ENOENT;
	*node = listen_weighted(cand, n, hash >> 32);
	return 0;
}
