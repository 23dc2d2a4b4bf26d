/*
 * fuzz_live: library operations on a live segment that a peer scribbles
 * on meanwhile.
 *
 * One segment is made once, in $TMPDIR: nodes 1 and 2 claimed through
 * handles of their own (a and b), node 3 claimed and then gone without
 * leaving (UP in the table, its lock dropped: reapable), pair rings
 * between them, flows in the connection table, published listeners, a
 * labelled multicast ring and frames in the rings.  Every input starts
 * from a copy of that whole segment and is a list of commands: library
 * operations (ring push, peek and consume, zero-copy reserve and commit,
 * cast write and read, node_dirent_read, conn_lookup, conn_insert,
 * conn_gc, conn_purge_node, listen_pick and listen_read, the cluster
 * address table (gaddr_claim, gaddr_read, gaddr_pick), heap_alloc,
 * heap_free and heap_reclaim, dirent changes, node_reap, multicast
 * labels, a claim by a third handle) interleaved with scribbles of
 * input-chosen values at input-chosen offsets anywhere in the segment,
 * header included.  A "step" command makes the next operation run one
 * instruction at a time (x86-64 trap flag) and scribbles at input-chosen
 * instruction counts, so that a value can change between two reads of
 * one operation, always at the same point for the same input.
 *
 * What must hold: no access outside the mappings (guard pages at both
 * ends of a and b's mappings where the address space allows), none to
 * the gaps between the segment's tables (poisoned for ASan), and every
 * pointer an operation hands back lies in what it names (a frame in its
 * ring, an entry in its table); a node id from listen_pick is a node's.
 *
 * The owner words of the table and heap locks are never scribbled:
 * their waiters wait without a limit for a holder that lives, and this
 * process's two nodes live, so a forged owner would hang the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#include "shmnet.h"

#define SEG_SIZE  (1u << 20)
#define SEG_NODES 4
#define NPAIRS    4
#define NKEYS     8
#define NREG      16
#define NSTEP     4   /* scribbles per stepped operation */
#define STEP_MAX  512 /* the last instruction one may come after */
#define NHEAP     4   /* ranges heap_alloc gave, per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, read front to back; zeros once it runs out. */
struct in {
	const uint8_t *p;
	size_t n;
};

/* A table of the segment, for scribbles and for the poisoned gaps. */
struct region {
	uint64_t off, len;
};

/* A pair ring: who receives (owner), on which network, from whom, and
 * the handles of the two sides. */
struct pair {
	uint32_t owner, net, peer;
	struct shmseg **rxs, **txs;
	struct ring_rx rx;
	struct ring_tx tx;
	uint8_t *rxm, *txm; /* attached: the ring's memory, else NULL */
	uint64_t rxsize, txsize;
};

/* One scribble: width (1 << (kind & 3)) bytes at an offset of a
 * region, set to a value, or the value there moved by it (kind & 4),
 * or one of the values that mean something here (kind & 8). */
struct scrib {
	uint32_t region, off, at; /* at: the instruction it comes after */
	uint8_t kind;
	uint64_t val;
};

static char seg_path[PATH_MAX], lock_path[PATH_MAX + 8];
static struct shmseg *sa, *sb; /* nodes 1 and 2 */
static uint8_t *live;          /* the scribbler's own mapping */
static uint8_t *pristine;      /* the segment as made */
static struct region reg[NREG];
static uint32_t nreg;
static struct region gap[16];
static uint32_t ngap;
static struct region heap; /* the heap, in segment offsets */
static uint64_t lock_word[2];
static uint64_t special[24];
static uint32_t nspecial;
static uint32_t gen[SEG_NODES + 1];
static uint32_t now0;
static struct conn_key keys[NKEYS];
static const struct conn_timeouts touts = { 30, 300, 10, 60 };
static struct pair pairs[NPAIRS] = {
	{ .owner = 1, .net = 0, .peer = 2, .rxs = &sa, .txs = &sb },
	{ .owner = 2, .net = 0, .peer = 1, .rxs = &sb, .txs = &sa },
	/* from node 3, which is gone: its ring is written through a */
	{ .owner = 1, .net = 1, .peer = 3, .rxs = &sa, .txs = &sa },
	/* into node 3: read through a */
	{ .owner = 3, .net = 0, .peer = 1, .rxs = &sa, .txs = &sa },
};

/* ---- scribbles, and scribbles between the instructions of one call -- */

static struct scrib sched[NSTEP];
static volatile uint32_t nsched, next_sched, steps;
static volatile sig_atomic_t stepping;

/* scribble: one scribble through the scribbler's mapping; the lock owner
 * words excepted (see the top).  Async-signal-safe. */
static void
scribble(const struct scrib *s)
{
	const struct region *g = &reg[s->region % nreg];
	uint32_t w = 1u << (s->kind & 3);
	uint64_t at, v = s->val, cur = 0;

	if (g->len < w)
		return;
	at = g->off + s->off % (g->len - w + 1);
	if ((at < lock_word[0] + 4 && at + w > lock_word[0]) ||
	    (at < lock_word[1] + 4 && at + w > lock_word[1]))
		return;
	if (s->kind & 8)
		v = special[v % nspecial];
	if (s->kind & 4) {
		memcpy(&cur, live + at, w);
		v = cur + (uint64_t)(int64_t)(int8_t)s->val;
	}
	memcpy(live + at, &v, w);
}

#if defined(__x86_64__)
#define TRAP_FLAG 0x100

/* on_trap: one instruction of a stepped call has run: scribble what is
 * due after it; stop stepping after the last one. */
static void
on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	if (stepping) {
		steps++;
		while (next_sched < nsched && sched[next_sched].at <= steps)
			scribble(&sched[next_sched++]);
		if (next_sched < nsched)
			return;
		stepping = 0;
	}
	uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)TRAP_FLAG;
}

/* step_begin / step_end: run what is between them one instruction at
 * a time while scribbles are due (the red zone is stepped over: the
 * flags go through the stack). */
static void
step_begin(void)
{
	if (nsched == 0)
		return;
	steps = 0;
	next_sched = 0;
	stepping = 1;
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\t"
			 "orq $0x100, (%%rsp)\n\tpopfq\n\t"
			 "lea 128(%%rsp), %%rsp" ::
			     : "memory", "cc");
}

static void
step_end(void)
{
	if (nsched == 0)
		return;
	stepping = 0;
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\t"
			 "andq $-257, (%%rsp)\n\tpopfq\n\t"
			 "lea 128(%%rsp), %%rsp" ::
			     : "memory", "cc");
	/* scribbles due after the call's last instruction: now */
	while (next_sched < nsched)
		scribble(&sched[next_sched++]);
	nsched = 0;
}

static void
step_setup(void)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = on_trap;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGTRAP, &act, NULL) != 0)
		abort();
}
#else
/* Elsewhere the scribbles of a stepped call all come before it. */
static void
step_begin(void)
{
	while (next_sched < nsched)
		scribble(&sched[next_sched++]);
	nsched = 0;
}

static void
step_end(void)
{
}

static void
step_setup(void)
{
}
#endif

/* ---- the input ------------------------------------------------------ */

static uint64_t
get(struct in *in, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		if (in->n > 0) {
			v |= (uint64_t)*in->p++ << (8 * i);
			in->n--;
		}
	return v;
}

/* get_scrib: a scribble's description from the input. */
static void
get_scrib(struct in *in, struct scrib *s)
{
	s->region = (uint32_t)get(in, 1);
	s->off = (uint32_t)get(in, 3);
	s->kind = (uint8_t)get(in, 1);
	s->val = get(in, s->kind & 8 ? 1 : 1u << (s->kind & 3));
}

/* ---- what must hold -------------------------------------------------- */

/* inside: [p, p + len) lies in [base, base + size), or abort. */
static void
inside(const void *p, uint64_t len, const void *base, uint64_t size)
{
	const uint8_t *a = p, *b = base;

	if (a < b || a > b + size || len > (uint64_t)(b + size - a))
		abort();
}

/* seg_base: the start of a handle's mapping. */
static uint8_t *
seg_base(struct shmseg *s)
{
	return (uint8_t *)(uintptr_t)shmseg_hdr(s);
}

/* touch: read every byte of [p, p + len) (ASan, guard pages). */
static void
touch(const uint8_t *p, uint64_t len)
{
	volatile uint8_t sink = 0;
	uint64_t i;

	for (i = 0; i < len; i += 61)
		sink ^= p[i];
	if (len > 0)
		sink ^= p[len - 1];
	(void)sink;
}

/* poison: the gaps between tables in a handle's mapping (1) or not. */
static void
poison(struct shmseg *s, int on)
{
	uint32_t i;

	for (i = 0; i < ngap; i++)
		if (on)
			ASAN_POISON_MEMORY_REGION(seg_base(s) + gap[i].off,
			    gap[i].len);
		else
			ASAN_UNPOISON_MEMORY_REGION(seg_base(s) + gap[i].off,
			    gap[i].len);
}

/* guard: PROT_NONE pages just before and after a handle's mapping, where
 * nothing else is mapped. */
static void
guard(struct shmseg *s)
{
	uint8_t *b = seg_base(s);
	long pg = sysconf(_SC_PAGESIZE);

	(void)mmap(b + SEG_SIZE, (size_t)pg, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	(void)mmap(b - pg, (size_t)pg, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
}

/* ---- the segment as every input finds it ----------------------------- */

static struct shmseg_params
seg_params(void)
{
	struct shmseg_params p = { .path = seg_path,
		.cluster = "fuzz",
		.size = SEG_SIZE,
		.max_nodes = SEG_NODES,
		.cast_slots = 16,
		.cast_slot_size = 256,
		.conn_buckets = 16,
		.mcast_rings = { 2, 1 },
		.global_addr4 = 0x0100000a,
		.wait_ms = 100 };

	return p;
}

static void
seg_remove(void)
{
	unlink(seg_path);
	unlink(lock_path);
}

/* attach: a node's handle: open, claim id, publish. */
static struct shmseg *
attach(uint32_t id)
{
	struct shmseg_params p = seg_params();
	struct shmseg *s;
	char err[256];

	if (shmseg_open(&p, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_live: %s\n", err);
		abort();
	}
	if (node_claim(s, id, &gen[id]) != (int)id)
		abort();
	node_publish(s, id);
	return s;
}

/* frame: a small Ethernet frame of len bytes (len >= 14) in buf. */
static void
frame(uint8_t *buf, uint32_t len, uint8_t fill)
{
	memset(buf, fill, len);
	memset(buf, 0xff, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
}

/* add_region / add_gap: a table for scribbles; a gap to poison. */
static void
add_region(uint64_t off, uint64_t len)
{
	if (nreg < NREG && len > 0)
		reg[nreg++] = (struct region){ off, len };
}

static void
add_gap(uint64_t from, uint64_t to)
{
	from = (from + 7) & ~7ull;
	if (ngap < sizeof(gap) / sizeof(gap[0]) && to > from)
		gap[ngap++] = (struct region){ from, to - from };
}

/* seg_tables: the regions, gaps and special values of the segment as
 * made (trusted: nobody has scribbled yet). */
static void
seg_tables(void)
{
	const struct shm_hdr *h = shmseg_hdr(sa);
	uint64_t end, cast_ring = ring_bytes(16, 256);
	struct shm_dirent d;
	uint32_t i, net;

	add_region(0, SEG_SIZE);
	add_region(0, SHM_HDR_SIZE);
	add_region(h->node_off, (uint64_t)SEG_NODES * sizeof(struct shm_node));
	add_gap(h->node_off + (uint64_t)SEG_NODES * sizeof(struct shm_node),
	    h->dir_off);
	end = h->dir_off +
	    (uint64_t)SEG_NODES * SHM_NETS * SEG_NODES *
		sizeof(struct shm_dirent);
	add_region(h->dir_off, end - h->dir_off);
	add_gap(end, h->cast_off[0]);
	/* a broadcast ring's page-rounded tail is not poisoned: a header
	 * may describe any geometry that fits the ring's size */
	for (net = 0; net < SHM_NETS; net++)
		add_region(h->cast_off[net], cast_ring);
	add_region(h->mcast_off[0], cast_ring);
	end = h->conn_off +
	    (uint64_t)h->conn_buckets * sizeof(struct shm_conn_bucket);
	add_region(h->conn_off, end - h->conn_off);
	add_gap(end, h->listen_off);
	end = h->listen_off +
	    (uint64_t)SEG_NODES * sizeof(struct shm_listen_table);
	add_region(h->listen_off, end - h->listen_off);
	add_gap(end, h->svc_off);
	end = h->svc_off + SHM_SVC_SLOTS * sizeof(struct shm_svc);
	add_gap(end, h->backend_off);
	end = h->backend_off + (uint64_t)SEG_NODES * sizeof(struct shm_backend);
	add_region(h->backend_off, end - h->backend_off);
	add_gap(end, h->pagemap_off);
	end = h->pagemap_off + (uint64_t)h->heap_pages * 4;
	add_region(h->pagemap_off, end - h->pagemap_off);
	add_gap(end, h->heap_off);
	heap.off = h->heap_off;
	heap.len = (uint64_t)h->heap_pages * SHM_PAGE_SIZE;
	add_gap(heap.off + heap.len, SEG_SIZE);
	lock_word[0] = offsetof(struct shm_hdr, table_lock.owner);
	lock_word[1] = offsetof(struct shm_hdr, heap_lock.owner);

	special[nspecial++] = 0;
	special[nspecial++] = 1;
	special[nspecial++] = UINT32_MAX;
	special[nspecial++] = UINT64_MAX;
	special[nspecial++] = 0x80000000u;
	special[nspecial++] = SHM_RING_MAGIC;
	special[nspecial++] = SHM_DESC_PAD;
	special[nspecial++] = SHM_PAGE_SIZE;
	special[nspecial++] = h->heap_off;
	special[nspecial++] = SEG_SIZE;
	special[nspecial++] = lock_owner_word(1);
	special[nspecial++] = lock_owner_word(3);
	for (i = 0; i < NPAIRS; i++)
		if (node_dirent_read(sa, pairs[i].owner, pairs[i].net,
			pairs[i].peer, &d) == 0) {
			add_region(d.off, d.size);
			special[nspecial++] = d.off;
			special[nspecial++] = d.size;
			special[nspecial++] = d.key;
		}
}

/* seg_make: the segment every input starts from (see the top). */
static void
seg_make(void)
{
	const char *dir = getenv("TMPDIR");
	struct shm_listen l[3];
	struct shmseg *sc;
	struct ring_tx tx;
	struct shm_dirent d;
	uint8_t buf[600];
	uint32_t size, i;
	int fd, taken;
	uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };

	snprintf(seg_path, sizeof(seg_path), "%s/shmnet-fuzz-live-%d",
	    dir != NULL && *dir != '\0' ? dir : "/tmp", (int)getpid());
	snprintf(lock_path, sizeof(lock_path), "%s.lock", seg_path);
	atexit(seg_remove);
	sa = attach(1);
	sb = attach(2);
	sc = attach(3);
	if (node_dirent_alloc(sa, 1, 0, 2, gen[2], 8, 256) != 0 ||
	    node_dirent_alloc(sb, 2, 0, 1, gen[1], 8, 256) != 0 ||
	    node_dirent_alloc(sa, 1, 1, 3, gen[3], 4, 512) != 0 ||
	    node_dirent_alloc(sc, 3, 0, 1, gen[1], 8, 256) != 0)
		abort();
	now0 = conn_now();
	for (i = 0; i < NKEYS; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].family = 4;
		keys[i].proto = i & 1 ? 17 : 6;
		keys[i].lport = (uint16_t)(80 + i % 3);
		keys[i].fport = (uint16_t)(40000 + i);
		keys[i].faddr[0] = 10;
		keys[i].faddr[3] = (uint8_t)i;
		if (i < 6 &&
		    conn_insert(sa, 1, &keys[i], (uint16_t)(1 + i % 3),
			(uint16_t)(1 + i % 2),
			i & 1 ? SHM_CONN_UDP : SHM_CONN_SYN, now0, &touts, NULL,
			NULL) != 1)
			abort();
	}
	memset(l, 0, sizeof(l));
	for (i = 0; i < 3; i++) {
		l[i].family = 4;
		l[i].proto = i & 1 ? 17 : 6;
		l[i].port = (uint16_t)(80 + i);
	}
	l[2].flags = SHM_LISTEN_SPECIFIC;
	listen_publish(sa, 1, l, 3);
	listen_publish(sb, 2, l, 2);
	listen_publish(sc, 3, l + 1, 2);
	if (mcast_take(sa, 0, mcast_label(mac), 1000, &taken) < 0)
		abort();
	for (i = 0; i < 5; i++) {
		frame(buf, 60 + 100 * i, (uint8_t)i);
		cast_write(sb, shmseg_cast(sb, 0, &size), size, 2, NULL, buf,
		    60 + 100 * i);
	}
	if (node_dirent_read(sb, 1, 0, 2, &d) != 0 ||
	    ring_tx_attach(&tx, shmseg_ring(sb, d.off, d.size), d.size, d.key,
		2, 1) != 0)
		abort();
	for (i = 0; i < 3; i++) {
		frame(buf, 60 + 200 * i, (uint8_t)i);
		if (ring_tx_push(&tx, NULL, buf, 60 + 200 * i) != 0)
			abort();
	}
	shmseg_close(sc, 0); /* node 3 is gone, still UP */

	if ((fd = open(seg_path, O_RDWR)) == -1)
		abort();
	live = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (live == MAP_FAILED || (pristine = malloc(SEG_SIZE)) == NULL)
		abort();
	memcpy(pristine, live, SEG_SIZE);
	seg_tables();
	guard(sa);
	guard(sb);
	step_setup();
}

/* ---- the operations -------------------------------------------------- */

/* pair_attach: a side of pair k, as a daemon attaches it: a consistent
 * dirent, then the ring it names. */
static void
pair_attach(struct pair *p, int tx)
{
	struct shmseg *s = tx ? *p->txs : *p->rxs;
	struct shm_dirent d;
	uint8_t *m;
	int rc;

	if (tx)
		p->txm = NULL;
	else
		p->rxm = NULL;
	if (node_dirent_read(s, p->owner, p->net, p->peer, &d) != 0 ||
	    (m = (uint8_t *)shmseg_ring(s, d.off, d.size)) == NULL)
		return;
	inside(m, d.size, seg_base(s) + heap.off, heap.len);
	if (tx) {
		step_begin();
		rc = ring_tx_attach(&p->tx, m, d.size, d.key, (uint16_t)p->peer,
		    (uint16_t)p->owner);
		step_end();
		if (rc == 0) {
			p->txm = m;
			p->txsize = d.size;
		}
	} else {
		step_begin();
		rc = ring_rx_attach(&p->rx, m, d.size, d.key, (uint16_t)p->peer,
		    (uint16_t)p->owner);
		step_end();
		if (rc == 0) {
			p->rxm = m;
			p->rxsize = d.size;
		}
	}
}

/* op_push: frames into a pair ring, copied or reserved and committed. */
static void
op_push(struct in *in)
{
	struct pair *p = &pairs[get(in, 1) % NPAIRS];
	uint32_t len = (uint32_t)get(in, 2) % 2100, n = get(in, 1) % 4 + 1;
	uint8_t buf[2100], vnet[SHM_VNET_HDR_LEN] = { 0 };
	struct ring_slot s;
	int rc, zc = (int)(len & 1);

	if (p->txm == NULL)
		return;
	frame(buf, len < 14 ? 14 : len, (uint8_t)len);
	while (n-- > 0) {
		if (zc) {
			step_begin();
			rc = ring_tx_reserve(&p->tx, len, &s);
			step_end();
			if (rc != 0)
				break;
			inside(s.desc, sizeof(*s.desc), p->txm, p->txsize);
			inside(s.data, s.cap, p->txm, p->txsize);
			if (s.cap < len)
				abort();
			memcpy(s.data, buf, len);
			ring_tx_commit(&p->tx, &s, len, 0);
		} else {
			step_begin();
			rc = ring_tx_push(&p->tx, len & 2 ? vnet : NULL, buf,
			    len);
			step_end();
			if (rc == -ENOBUFS)
				(void)ring_tx_wait(&p->tx, len, 0);
			if (rc != 0)
				break;
		}
	}
	if (len & 4)
		ring_tx_ask_grow(&p->tx, len);
	if (len & 8)
		ring_tx_moved(&p->tx);
	(void)ring_tx_used(&p->tx);
}

/* op_drain: peek, consume and publish frames of a pair ring. */
static void
op_drain(struct in *in)
{
	struct pair *p = &pairs[get(in, 1) % NPAIRS];
	uint32_t n = get(in, 1) % 16 + 1;
	struct ring_slot s;
	int rc;

	if (p->rxm == NULL)
		return;
	while (n-- > 0) {
		step_begin();
		rc = ring_rx_peek(&p->rx, &s);
		step_end();
		if (rc != 1)
			break;
		inside(s.desc, sizeof(*s.desc), p->rxm, p->rxsize);
		inside(s.data, s.len, p->rxm, p->rxsize);
		if (s.len > s.cap)
			abort();
		touch(s.data, s.len);
		ring_rx_consume(&p->rx, &s);
	}
	ring_rx_publish(&p->rx);
	(void)ring_rx_pending(&p->rx);
	(void)ring_rx_retired(&p->rx);
	(void)ring_grow_req(&p->rx.v);
	if (rc < 0)
		ring_mark(p->rx.v.hdr, SHM_RING_CORRUPT);
}

/* op_cast_write: a frame into the broadcast or a multicast ring. */
static void
op_cast_write(struct in *in, struct shmseg *s, uint32_t self)
{
	uint32_t which = (uint32_t)get(in, 1), len, size;
	uint8_t buf[1500], vnet[SHM_VNET_HDR_LEN] = { 0 };
	void *m;

	len = (uint32_t)get(in, 2) % sizeof(buf);
	m = which & 4 ? shmseg_mcast(s, which & 1, (which >> 1) & 1, &size) :
			shmseg_cast(s, which & 1, &size);
	if (m == NULL)
		return;
	frame(buf, len < 14 ? 14 : len, (uint8_t)which);
	step_begin();
	(void)cast_write(s, m, size, self, which & 8 ? vnet : NULL, buf, len);
	step_end();
}

/* op_cast_read: frames out of a broadcast or multicast ring, by a reader
 * that starts behind the writers. */
static void
op_cast_read(struct in *in)
{
	static uint8_t buf[SHM_FRAME_MAX];
	uint32_t which = (uint32_t)get(in, 1), n = get(in, 1) % 16 + 1, size;
	uint8_t vnet[SHM_VNET_HDR_LEN];
	struct cast_rx rx;
	uint64_t lost = 0;
	uint32_t len, buflen = which & 16 ? 300 : sizeof(buf);
	uint16_t from;
	void *m;
	int rc;

	m = which & 4 ? shmseg_mcast(sa, which & 1, (which >> 1) & 1, &size) :
			shmseg_cast(sa, which & 1, &size);
	if (m == NULL || cast_attach(&rx, m, size) != 0)
		return;
	rx.cursor -= (uint32_t)get(in, 1) % 32;
	while (n-- > 0) {
		step_begin();
		rc = cast_read(&rx, buf, buflen, &len, vnet, &from, &lost);
		step_end();
		if (rc != 1)
			break;
		if (len > buflen)
			abort();
	}
	(void)cast_pending(&rx);
	if (which & 8)
		cast_skip(&rx);
}

/* op_dirent: a dirent read as a transmitter or receiver reads it, and
 * the ring it names checked. */
static void
op_dirent(struct in *in)
{
	uint32_t owner = (uint32_t)get(in, 1) % (SEG_NODES + 2);
	uint32_t net = (uint32_t)get(in, 1) % (SHM_NETS + 1);
	uint32_t peer = (uint32_t)get(in, 1) % (SEG_NODES + 2);
	struct shm_dirent d;
	void *m;
	int rc;

	step_begin();
	rc = node_dirent_read(sa, owner, net, peer, &d);
	step_end();
	if (rc != 0)
		return;
	if ((m = shmseg_ring(sa, d.off, d.size)) != NULL) {
		inside(m, d.size, seg_base(sa) + heap.off, heap.len);
		(void)ring_check(m, d.size, d.key, (uint16_t)peer,
		    (uint16_t)owner);
	}
	if (d.old_off != 0 && (m = shmseg_ring(sa, d.old_off, d.old_size)))
		inside(m, d.old_size, seg_base(sa) + heap.off, heap.len);
}

/* get_key: one of the flows made, or one from the input. */
static void
get_key(struct in *in, struct conn_key *k)
{
	uint32_t i = (uint32_t)get(in, 1);

	if (i < 0xf0) {
		*k = keys[i % NKEYS];
		return;
	}
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)get(in, 1);
	k->proto = (uint8_t)get(in, 1);
	k->lport = (uint16_t)get(in, 2);
	k->fport = (uint16_t)get(in, 2);
	k->faddr[0] = (uint8_t)get(in, 1);
	k->faddr[3] = (uint8_t)get(in, 1);
	k->aidx = (uint8_t)get(in, 1); /* past SHM_GADDR_MAX too */
}

/* conn_inside: an entry a conntab call handed back is one of the
 * table's. */
static void
conn_inside(struct shmseg *s, const struct shm_conn *e)
{
	inside(e, sizeof(*e), shmseg_conn_bucket(s, 0),
	    (uint64_t)shmseg_conn_buckets(s) * sizeof(struct shm_conn_bucket));
}

/* op_conn: lookup, insert (and touch), collect, purge. */
static void
op_conn(struct in *in)
{
	uint32_t what = (uint32_t)get(in, 1), now = now0 + (uint32_t)get(in, 2);
	struct shmseg *s = what & 8 ? sb : sa;
	uint32_t self = what & 8 ? 2 : 1;
	struct shm_conn out, *where = NULL;
	struct conn_key k;
	int rc;

	get_key(in, &k);
	switch (what % 4) {
	case 0:
		step_begin();
		rc = conn_lookup(s, &k, &out, &where);
		step_end();
		if (rc == 1) {
			conn_inside(s, where);
			conn_touch(where, now, 100, (uint8_t)get(in, 1),
			    (int)(what & 16));
			(void)conn_expired(&out, now, &touts);
		}
		break;
	case 1:
		step_begin();
		rc = conn_insert(s, self, &k, (uint16_t)get(in, 1) % 6,
		    (uint16_t)get(in, 1) % 6, (uint16_t)get(in, 2), now, &touts,
		    &out, &where);
		step_end();
		if (rc >= 0)
			conn_inside(s, where);
		break;
	case 2:
		step_begin();
		(void)conn_gc(s, self, (uint16_t)(what >> 5), now, &touts,
		    (const uint64_t[SHM_NODES_MAX / 64 + 1]){ what });
		step_end();
		break;
	case 3:
		step_begin();
		(void)conn_purge_node(s, self, (uint16_t)get(in, 1) % 6);
		step_end();
		break;
	}
}

/* op_gaddr: the cluster address table: claim, say what a node carries,
 * read; the table read names no index twice and no empty entry. */
static void
op_gaddr(struct in *in, uint32_t what)
{
	uint32_t t[SHM_GADDR_MAX], seen, mask, i, j, node;
	uint32_t a = htonl(0x0aca0000u | (uint32_t)get(in, 1));
	int rc;

	step_begin();
	if (what & 8)
		rc = gaddr_claim(what & 16 ? sb : sa, a);
	else {
		gaddr_publish(what & 16 ? sb : sa, what & 16 ? 2 : 1,
		    (uint32_t)get(in, 2));
		rc = gaddr_pick(sa, (uint32_t)get(in, 1) % 20,
		    (uint64_t)get(in, 2) << 32, &node);
		if (rc == 0 && (node < 1 || node > SEG_NODES))
			abort();
		rc = 0;
	}
	mask = gaddr_read(sa, t, &seen);
	step_end();
	if (rc >= SHM_GADDR_MAX || seen > SHM_GADDR_MAX)
		abort();
	for (i = 0; i < SHM_GADDR_MAX; i++) {
		if (((mask >> i) & 1) != (t[i] != 0))
			abort();
		for (j = 0; j < i; j++)
			if (t[i] != 0 && t[j] == t[i])
				abort();
	}
	(void)gaddr_more(sb, seen);
}

/* op_listen: publish, read, pick; weigh and drain; read the services. */
static void
op_listen(struct in *in)
{
	static struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t what = (uint32_t)get(in, 1), node = 0, n, i;
	struct svc_table v;
	struct conn_key k;
	int rc;

	switch (what % 6) {
	case 0:
		n = (uint32_t)get(in, 1) % 5;
		memset(l, 0, n * sizeof(l[0]));
		for (i = 0; i < n; i++) {
			l[i].family = (uint8_t)(4 + (get(in, 1) & 2));
			l[i].proto = get(in, 1) & 1 ? 17 : 6;
			l[i].port = (uint16_t)(80 + get(in, 1) % 4);
			l[i].flags = (uint8_t)get(in, 1);
		}
		step_begin();
		(void)listen_publish(what & 8 ? sb : sa, what & 8 ? 2 : 1, l,
		    n);
		step_end();
		break;
	case 1:
		step_begin();
		n = listen_read(sa, (uint32_t)get(in, 1) % (SEG_NODES + 2), l);
		step_end();
		if (n > SHM_LISTEN_MAX)
			abort();
		break;
	case 2:
		get_key(in, &k);
		step_begin();
		rc = listen_pick(sa, &k, &node);
		step_end();
		if (rc == 0 && (node < 1 || node > SEG_NODES))
			abort();
		(void)svc_take(sa, svc_key(k.family, k.aidx, k.proto, k.lport));
		break;
	case 3:
		n = (uint32_t)get(in, 1);
		step_begin();
		if (what & 8)
			(void)backend_set_drain(sa, n % (SEG_NODES + 2),
			    (int)(what >> 4) % 90, what & 16);
		else
			(void)backend_set_weight(sa, n % (SEG_NODES + 2),
			    (int)(what >> 4) % 90, (int)(n >> 8) % 258 - 1);
		step_end();
		break;
	case 4:
		if (svc_table_read(sa, &v) == 0) {
			for (i = 0; i < v.nb; i++)
				if (v.b[i].service >= v.ns || v.b[i].node < 1 ||
				    v.b[i].node > SEG_NODES)
					abort();
			svc_table_free(&v);
		}
		break;
	case 5:
		op_gaddr(in, what);
		break;
	}
}

/* heap_open: heap pages may be handed out: unpoisoned from now on. */
static void
heap_open(void)
{
	poison(sa, 0);
	poison(sb, 0);
}

/* op_heap: allocate, free (what was allocated, or anything), reclaim. */
static void
op_heap(struct in *in, struct region *got, uint32_t *ngot)
{
	uint32_t what = (uint32_t)get(in, 1), used, total;
	uint64_t off, size;
	int rc;

	switch (what % 4) {
	case 0:
		size = get(in, 3) % (64u << 10) + 1;
		step_begin();
		rc = heap_alloc(sa, size, &off);
		step_end();
		if (rc != 0)
			break;
		inside(seg_base(sa) + off, size, seg_base(sa) + heap.off,
		    heap.len);
		if (*ngot < NHEAP)
			got[(*ngot)++] = (struct region){ off, size };
		break;
	case 1:
		if (*ngot > 0 && !(what & 8)) {
			off = got[*ngot - 1].off;
			size = got[*ngot - 1].len;
			--*ngot;
		} else {
			off = get(in, 8);
			size = get(in, 4);
		}
		step_begin();
		(void)heap_free(sa, off, size);
		step_end();
		break;
	case 2:
		step_begin();
		(void)heap_reclaim(sa);
		step_end();
		break;
	case 3:
		heap_usage(sa, &used, &total);
		if (used > total)
			abort();
		break;
	}
}

/* op_dir: a node changes its directory: a new ring, a replacement, the
 * end of one, a drained old ring dropped. */
static void
op_dir(struct in *in)
{
	uint32_t what = (uint32_t)get(in, 1);
	struct shmseg *s = what & 8 ? sb : sa;
	uint32_t owner = what & 8 ? 2 : 1, net = (what >> 4) & 1;
	uint32_t peer = (uint32_t)get(in, 1) % (SEG_NODES + 1) + 1;
	uint32_t slots = 2u << (get(in, 1) % 6), sz = 64u << (get(in, 1) % 4);
	struct shm_dirent d;

	switch (what % 4) {
	case 0:
		heap_open();
		step_begin();
		(void)node_dirent_alloc(s, owner, net, peer, gen[peer % 4],
		    slots, sz);
		step_end();
		break;
	case 1:
		heap_open();
		step_begin();
		(void)node_dirent_replace(s, owner, net, peer, slots, sz);
		step_end();
		break;
	case 2:
		step_begin();
		node_dirent_clear(s, owner, net, peer);
		step_end();
		break;
	case 3:
		d.old_key = get(in, 8);
		if (what & 32)
			(void)node_dirent_read(s, owner, net, peer, &d);
		step_begin();
		(void)node_dirent_drop_old(s, owner, net, peer, d.old_key);
		step_end();
		break;
	}
}

/* op_reap: a node reaps another that it finds dead, and purges its
 * flows, as member.c does. */
static void
op_reap(struct in *in)
{
	uint32_t id = (uint32_t)get(in, 1) % (SEG_NODES + 2);
	int rc;

	step_begin();
	rc = node_reap(sa, 1, id);
	step_end();
	if (rc == 1)
		(void)conn_purge_node(sa, 1, (uint16_t)id);
	(void)node_is_up(sa, id);
}

/* op_mcast: find or take a multicast ring for a group. */
static void
op_mcast(struct in *in)
{
	uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	uint32_t net = (uint32_t)get(in, 1);
	int taken, r;

	mac[5] = (uint8_t)get(in, 1) % 4;
	step_begin();
	r = net & 2 ?
	    mcast_find(sa, net & 1, mcast_label(mac)) :
	    mcast_take(sa, net & 1, mcast_label(mac), get(in, 2), &taken);
	step_end();
	if (r >= (int)shmseg_mcast_count(sa, net & 1))
		abort();
}

/* op_claim: a third handle opens the scribbled segment, claims a node
 * (3, 4, or the lowest free), publishes, takes a ring and leaves. */
static void
op_claim(struct in *in)
{
	struct shmseg_params p = seg_params();
	uint32_t id = (uint32_t)get(in, 1) % 3, g;
	struct shmseg *s;
	char err[256];
	int rc;

	if (shmseg_open(&p, &s, err, sizeof(err)) != 0)
		return;
	step_begin();
	rc = node_claim(s, id == 2 ? 0 : 3 + id, &g);
	step_end();
	if (rc > 0) {
		node_publish(s, (uint32_t)rc);
		heap_open();
		(void)node_dirent_alloc(s, (uint32_t)rc, 0, 1, gen[1], 4, 256);
		node_leave(s, (uint32_t)rc);
	}
	shmseg_close(s, 0);
}

enum {
	OP_SCRIB,
	OP_STEP,
	OP_ATTACH,
	OP_PUSH,
	OP_DRAIN,
	OP_CAST_WRITE,
	OP_CAST_READ,
	OP_DIRENT,
	OP_CONN,
	OP_LISTEN,
	OP_HEAP,
	OP_DIR,
	OP_REAP,
	OP_MCAST,
	OP_CLAIM,
	OP_N
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct region got[NHEAP];
	struct scrib sc;
	uint32_t i, ngot = 0, ops = 0;

	if (pristine == NULL)
		seg_make();
	poison(sa, 0);
	poison(sb, 0);
	memcpy(live, pristine, SEG_SIZE);
	poison(sa, 1);
	poison(sb, 1);
	nsched = 0;
	for (i = 0; i < NPAIRS; i++) {
		pair_attach(&pairs[i], 0);
		pair_attach(&pairs[i], 1);
	}
	while (in.n > 0 && ops++ < 64) {
		switch (get(&in, 1) % OP_N) {
		case OP_SCRIB:
			get_scrib(&in, &sc);
			scribble(&sc);
			break;
		case OP_STEP:
			nsched = (uint32_t)get(&in, 1) % NSTEP + 1;
			for (i = 0; i < nsched; i++) {
				get_scrib(&in, &sched[i]);
				sched[i].at = (uint32_t)get(&in, 2) % STEP_MAX;
			}
			for (i = 1; i < nsched; i++) /* in order of time */
				if (sched[i].at < sched[i - 1].at)
					sched[i].at = sched[i - 1].at;
			next_sched = 0;
			continue; /* for the next operation */
		case OP_ATTACH:
			i = (uint32_t)get(&in, 1);
			pair_attach(&pairs[i % NPAIRS], (int)(i & 4));
			break;
		case OP_PUSH:
			op_push(&in);
			break;
		case OP_DRAIN:
			op_drain(&in);
			break;
		case OP_CAST_WRITE:
			op_cast_write(&in, sb, 2);
			break;
		case OP_CAST_READ:
			op_cast_read(&in);
			break;
		case OP_DIRENT:
			op_dirent(&in);
			break;
		case OP_CONN:
			op_conn(&in);
			break;
		case OP_LISTEN:
			op_listen(&in);
			break;
		case OP_HEAP:
			op_heap(&in, got, &ngot);
			break;
		case OP_DIR:
			op_dir(&in);
			break;
		case OP_REAP:
			op_reap(&in);
			break;
		case OP_MCAST:
			op_mcast(&in);
			break;
		case OP_CLAIM:
			op_claim(&in);
			break;
		}
		/* a schedule not taken by a stepped call is dropped */
		nsched = 0;
	}
	return 0;
}
