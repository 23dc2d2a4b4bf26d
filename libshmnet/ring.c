/*
 * ring.c: single-producer single-consumer pair rings.
 *
 * A ring is `slots` fixed-size partitions plus one descriptor per slot.  A
 * frame occupies `span` contiguous slots starting at a descriptor that
 * carries its length, span, flags and virtio_net_hdr; a frame never wraps,
 * a PAD descriptor fills the tail instead.  Indexes are free-running
 * uint32_t slot counts masked by slots - 1.  The producer alone writes
 * widx (release, after the descriptors and data), the consumer alone ridx
 * (release, after it is done with the slots).
 *
 * Each side keeps its own copy of the geometry, validated at attach, and
 * treats every index and descriptor read from the ring as untrusted: a
 * value that cannot be right makes the call return -EBADMSG, never an
 * access outside the ring.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shmnet_private.h"

#define RING_HDR_BYTES sizeof(struct shm_ring_hdr)
#define RING_SLOTS_MAX (1u << 20)
#define RING_SLOT_MIN  64u
#define RING_SLOT_MAX  (1u << 17)
/* Pads ring_rx_peek skips in one call.  A producer writes a pad only in
 * front of the frame that wraps (ring_tx_commit), so a valid ring never
 * holds two in a row; a longer run is a peer's doing, and a peer that
 * keeps writing pads must not keep the reader in its loop: past this
 * many the call says "nothing now" and ring_rx_pending brings the caller
 * back on its next round. */
#define RING_PEEK_PADS 8

/* ring_data_off: where slot data starts. */
static uint64_t
ring_data_off(uint32_t slots)
{
	return align_up(RING_HDR_BYTES +
		(uint64_t)slots * sizeof(struct shm_desc),
	    SHM_CACHELINE);
}

/* ring_bytes: total size of a ring. */
uint64_t
ring_bytes(uint32_t slots, uint32_t slot_size)
{
	return ring_data_off(slots) + (uint64_t)slots * slot_size;
}

/* ring_slots_for: largest power-of-two slot count that fits size. */
uint32_t
ring_slots_for(uint64_t size, uint32_t slot_size)
{
	uint32_t s = RING_SLOTS_MAX;

	if (!is_pow2(slot_size))
		return 0;
	while (s >= 2 && ring_bytes(s, slot_size) > size)
		s >>= 1;
	return s >= 2 ? s : 0;
}

/* ring_geometry_ok: can a ring have slots x slot_size? */
int
ring_geometry_ok(uint32_t slots, uint32_t slot_size)
{
	return is_pow2(slots) && slots >= 2 && slots <= RING_SLOTS_MAX &&
	    is_pow2(slot_size) && slot_size >= RING_SLOT_MIN &&
	    slot_size <= RING_SLOT_MAX;
}

/* ring_init: lay out a ring in fresh memory. */
int
ring_init(void *mem, uint64_t size, uint32_t slots, uint32_t slot_size,
    uint16_t from, uint16_t to, uint32_t gen, uint32_t net, uint64_t key)
{
	struct shm_ring_hdr *h = mem;

	if (!ring_geometry_ok(slots, slot_size) ||
	    ring_bytes(slots, slot_size) > size)
		return -EINVAL;
	memset(h, 0, RING_HDR_BYTES);
	memset((uint8_t *)mem + RING_HDR_BYTES, 0,
	    (size_t)slots * sizeof(struct shm_desc));
	h->key = key;
	h->slots = slots;
	h->slot_size = slot_size;
	h->desc_off = RING_HDR_BYTES;
	h->data_off = (uint32_t)ring_data_off(slots);
	h->from = from;
	h->to = to;
	h->gen = gen;
	h->net = net;
	atomic_store_explicit(&h->state, SHM_RING_UP, memory_order_relaxed);
	h->magic = SHM_RING_MAGIC;
	/* release: the header is whole before the dirent that publishes the
	 * ring is written (dirent_end); pairs with the acquire in
	 * node_dirent_read, which both sides pass before they attach */
	atomic_thread_fence(memory_order_release);
	return 0;
}

/* ring_view_attach: validate a header against the bytes it was given and
 * fill the caller's private copy of its geometry. */
int
ring_view_attach(struct ring_view *v, void *mem, uint64_t size)
{
	struct shm_ring_hdr *h = mem;
	uint32_t n, sz, doff;

	memset(v, 0, sizeof(*v));
	if (mem == NULL || size < RING_HDR_BYTES || h->magic != SHM_RING_MAGIC)
		return -EBADMSG;
	n = h->slots;
	sz = h->slot_size;
	doff = h->data_off;
	if (!is_pow2(n) || n < 2 || n > RING_SLOTS_MAX || !is_pow2(sz) ||
	    sz < RING_SLOT_MIN || sz > RING_SLOT_MAX ||
	    h->desc_off != RING_HDR_BYTES || doff != ring_data_off(n) ||
	    (uint64_t)doff + (uint64_t)n * sz > size)
		return -EBADMSG;
	v->hdr = h;
	v->desc = (struct shm_desc *)((uint8_t *)mem + RING_HDR_BYTES);
	v->data = (uint8_t *)mem + doff;
	v->slots = n;
	v->mask = n - 1;
	v->slot_size = sz;
	v->slot_shift = log2_u32(sz);
	return 0;
}

/* ring_attach_common: a pair ring's geometry, key, endpoints and state. */
static int
ring_attach_common(struct ring_view *v, void *mem, uint64_t size, uint64_t key,
    uint16_t from, uint16_t to)
{
	int rc;

	if ((rc = ring_view_attach(v, mem, size)) != 0)
		return rc;
	if (v->hdr->key != key || v->hdr->from != from || v->hdr->to != to)
		return -ESTALE;
	/* acquire: pairs with the acq_rel CAS in ring_mark */
	if (atomic_load_explicit(&v->hdr->state, memory_order_acquire) !=
	    SHM_RING_UP)
		return -ENETDOWN;
	return 0;
}

/* ring_check: validate a ring without attaching. */
int
ring_check(void *mem, uint64_t size, uint64_t key, uint16_t from, uint16_t to)
{
	struct ring_view v;

	return ring_attach_common(&v, mem, size, key, from, to);
}

/* ring_tx_attach: become the producer of a ring. */
int
ring_tx_attach(struct ring_tx *tx, void *mem, uint64_t size, uint64_t key,
    uint16_t from, uint16_t to)
{
	int rc;

	memset(tx, 0, sizeof(*tx));
	if ((rc = ring_attach_common(&tx->v, mem, size, key, from, to)) != 0)
		return rc;
	tx->widx = atomic_load_explicit(&tx->v.hdr->widx, memory_order_relaxed);
	/* acquire: pairs with the release of ridx in ring_rx_publish */
	tx->ridx_seen = atomic_load_explicit(&tx->v.hdr->ridx,
	    memory_order_acquire);
	if (tx->widx - tx->ridx_seen > tx->v.slots) {
		memset(tx, 0, sizeof(*tx));
		return -EBADMSG;
	}
	return 0;
}

/* ring_rx_attach: become the consumer of a ring. */
int
ring_rx_attach(struct ring_rx *rx, void *mem, uint64_t size, uint64_t key,
    uint16_t from, uint16_t to)
{
	int rc;

	memset(rx, 0, sizeof(*rx));
	if ((rc = ring_attach_common(&rx->v, mem, size, key, from, to)) != 0)
		return rc;
	rx->ridx = atomic_load_explicit(&rx->v.hdr->ridx, memory_order_relaxed);
	return 0;
}

/* ring_tx_room: free slots, re-reading the consumer index; -1 if corrupt. */
static int64_t
ring_tx_room(struct ring_tx *tx)
{
	uint32_t used;

	/* acquire: pairs with the release of ridx in ring_rx_publish: the
	 * consumer is done with the slots before we write them again */
	tx->ridx_seen = atomic_load_explicit(&tx->v.hdr->ridx,
	    memory_order_acquire);
	used = tx->widx - tx->ridx_seen;
	if (used > tx->v.slots)
		return -1;
	return tx->v.slots - used;
}

/* ring_tx_reserve: find contiguous room for a frame of up to len bytes. */
int
ring_tx_reserve(struct ring_tx *tx, uint32_t len, struct ring_slot *s)
{
	uint32_t span, pos, tail, need;
	int64_t room;

	span = div_up_shift(len ? len : 1, tx->v.slot_shift);
	if (span > tx->v.slots || len > SHM_FRAME_MAX)
		return -EMSGSIZE;
	pos = tx->widx & tx->v.mask;
	tail = tx->v.slots - pos;
	need = span <= tail ? span : tail + span;
	if (tx->widx - tx->ridx_seen + need > tx->v.slots) {
		if ((room = ring_tx_room(tx)) < 0)
			return -EBADMSG;
		if (need > room)
			return -ENOBUFS;
	}
	s->pad = span <= tail ? 0 : tail;
	pos = s->pad ? 0 : pos;
	s->desc = &tx->v.desc[pos];
	s->data = tx->v.data + ((size_t)pos << tx->v.slot_shift);
	s->cap = span << tx->v.slot_shift;
	s->span = span;
	s->len = 0;
	s->flags = 0;
	return 0;
}

/* ring_tx_commit: publish a reserved frame. */
void
ring_tx_commit(struct ring_tx *tx, const struct ring_slot *s, uint32_t len,
    uint16_t flags)
{
	struct shm_ring_hdr *h = tx->v.hdr;
	struct shm_desc *pd;
	uint32_t span = div_up_shift(len ? len : 1, tx->v.slot_shift);

	if (s->pad) {
		pd = &tx->v.desc[tx->widx & tx->v.mask];
		pd->len = 0;
		pd->span = (uint16_t)s->pad;
		pd->flags = SHM_DESC_PAD;
		tx->widx += s->pad;
	}
	s->desc->len = len;
	s->desc->span = (uint16_t)span;
	s->desc->flags = flags;
	tx->widx += span;
	/* release: descriptors and data before the index; pairs with the
	 * acquire of widx in ring_rx_peek, ring_rx_pending and
	 * ring_rx_retired */
	atomic_store_explicit(&h->widx, tx->widx, memory_order_release);
	/* single writer: plain read-modify-write of our own counters */
	atomic_store_explicit(&h->frames,
	    atomic_load_explicit(&h->frames, memory_order_relaxed) + 1,
	    memory_order_relaxed);
	atomic_store_explicit(&h->bytes,
	    atomic_load_explicit(&h->bytes, memory_order_relaxed) + len,
	    memory_order_relaxed);
}

/* ring_tx_push: copy a frame into the ring. */
int
ring_tx_push(struct ring_tx *tx, const void *vnet, const void *frame,
    uint32_t len)
{
	struct ring_slot s;
	int rc;

	if ((rc = ring_tx_reserve(tx, len, &s)) != 0)
		return rc;
	if (vnet != NULL)
		memcpy(s.desc->vnet, vnet, SHM_VNET_HDR_LEN);
	memcpy(s.data, frame, len);
	ring_tx_commit(tx, &s, len, vnet != NULL ? SHM_DESC_VNET : 0);
	return 0;
}

/* ring_tx_used: slots not yet consumed. */
uint32_t
ring_tx_used(const struct ring_tx *tx)
{
	uint32_t r = atomic_load_explicit(&tx->v.hdr->ridx,
	    memory_order_relaxed);
	uint32_t used = tx->widx - r;

	return used > tx->v.slots ? tx->v.slots : used;
}

/* ring_tx_ask_grow: ask the receiver for a ring of at least slots. */
void
ring_tx_ask_grow(struct ring_tx *tx, uint32_t slots)
{
	_Atomic uint32_t *req = &tx->v.hdr->grow_req;

	if (atomic_load_explicit(req, memory_order_relaxed) < slots)
		atomic_store_explicit(req, slots, memory_order_relaxed);
}

/* ring_tx_moved: after the last commit here, say we went to the successor
 * (release: the receiver that sees it sees every frame we wrote; pairs
 * with the acquire of moved in ring_rx_retired). */
void
ring_tx_moved(struct ring_tx *tx)
{
	atomic_store_explicit(&tx->v.hdr->moved, 1, memory_order_release);
}

/* ring_grow_req: the producer's request, for the receiver. */
uint32_t
ring_grow_req(const struct ring_view *v)
{
	return atomic_load_explicit(&v->hdr->grow_req, memory_order_relaxed);
}

/* ring_rx_retired: producer gone to the successor and everything read. */
int
ring_rx_retired(struct ring_rx *rx)
{
	/* acquire: pairs with the release in ring_tx_moved, then with the
	 * one in ring_tx_commit */
	if (!atomic_load_explicit(&rx->v.hdr->moved, memory_order_acquire))
		return 0;
	return atomic_load_explicit(&rx->v.hdr->widx, memory_order_acquire) ==
	    rx->ridx;
}

/* ring_tx_wait: sleep until the consumer frees `need` slots or timeout. */
int
ring_tx_wait(struct ring_tx *tx, uint32_t len, int timeout_ms)
{
	struct shm_ring_hdr *h = tx->v.hdr;
	struct timespec ts;
	uint64_t deadline = clock_ms() + (uint64_t)timeout_ms, now;
	uint32_t v, span, tail, need, mark;
	int64_t room;

	span = div_up_shift(len ? len : 1, tx->v.slot_shift);
	tail = tx->v.slots - (tx->widx & tx->v.mask);
	need = span <= tail ? span : tail + span;
	/* hysteresis: sleep until half the ring is free, not just enough for
	 * one frame, so that one wake-up refills many frames */
	mark = need > tx->v.slots / 2 ? need : tx->v.slots / 2;

	for (;;) {
		/* acquire: pairs with the release bump in ring_rx_publish */
		v = atomic_load_explicit(&h->space_bell, memory_order_acquire);
		atomic_store_explicit(&h->prod_waiting, mark,
		    memory_order_relaxed);
		/* seq_cst: prod_waiting before ridx is read; pairs with the
		 * fence in ring_rx_publish (ridx before prod_waiting is
		 * read), so one side always sees the other: no lost wake */
		atomic_thread_fence(memory_order_seq_cst);
		room = ring_tx_room(tx);
		if (room < 0 || room >= need ||
		    atomic_load_explicit(&h->state, memory_order_relaxed) !=
			SHM_RING_UP)
			break;
		if ((now = clock_ms()) >= deadline)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(deadline - now) * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec = ts.tv_nsec / 1000000000L,
			ts.tv_nsec %= 1000000000L;
		syscall(SYS_futex, (uint32_t *)&h->space_bell, FUTEX_WAIT, v,
		    &ts, NULL, 0);
	}
	atomic_store_explicit(&h->prod_waiting, 0, memory_order_relaxed);
	return room >= 0 && room >= need ? 0 : -ETIMEDOUT;
}

/* ring_rx_peek: next frame, skipping at most RING_PEEK_PADS pads;
 * validates everything read. */
int
ring_rx_peek(struct ring_rx *rx, struct ring_slot *s)
{
	struct shm_desc *d;
	uint32_t avail, pos, span, len, flags, pads = 0;

	for (;;) {
		/* acquire: pairs with the release in ring_tx_commit */
		rx->widx_seen = atomic_load_explicit(&rx->v.hdr->widx,
		    memory_order_acquire);
		avail = rx->widx_seen - rx->ridx;
		if (avail == 0)
			return 0;
		if (avail > rx->v.slots)
			return -EBADMSG;
		pos = rx->ridx & rx->v.mask;
		d = &rx->v.desc[pos];
		/* read each untrusted field once */
		span = *(volatile uint16_t *)&d->span;
		flags = *(volatile uint16_t *)&d->flags;
		len = *(volatile uint32_t *)&d->len;
		if ((flags & ~SHM_DESC_KNOWN) || span == 0 ||
		    span > rx->v.slots - pos || span > avail)
			return -EBADMSG;
		if (flags & SHM_DESC_PAD) {
			rx->ridx += span;
			if (++pads == RING_PEEK_PADS)
				return 0; /* more next time */
			continue;
		}
		if (len < SHM_FRAME_MIN || len > SHM_FRAME_MAX ||
		    div_up_shift(len, rx->v.slot_shift) != span)
			return -EBADMSG;
		s->desc = d;
		s->data = rx->v.data + ((size_t)pos << rx->v.slot_shift);
		s->len = len;
		s->span = span;
		s->cap = span << rx->v.slot_shift;
		s->pad = 0;
		s->flags = (uint16_t)flags;
		return 1;
	}
}

/* ring_rx_consume: step past the frame returned by peek. */
void
ring_rx_consume(struct ring_rx *rx, const struct ring_slot *s)
{
	rx->ridx += s->span;
	atomic_store_explicit(&rx->v.hdr->rx_frames,
	    atomic_load_explicit(&rx->v.hdr->rx_frames, memory_order_relaxed) +
		1,
	    memory_order_relaxed);
}

/* ring_rx_publish: make consumed slots free; wake a waiting producer. */
void
ring_rx_publish(struct ring_rx *rx)
{
	struct shm_ring_hdr *h = rx->v.hdr;
	uint32_t mark, used;

	/* release: done with the slots before they are handed back; pairs
	 * with the acquire of ridx in ring_tx_room and ring_tx_attach */
	atomic_store_explicit(&h->ridx, rx->ridx, memory_order_release);
	/* seq_cst: pairs with the fence in ring_tx_wait */
	atomic_thread_fence(memory_order_seq_cst);
	mark = atomic_load_explicit(&h->prod_waiting, memory_order_relaxed);
	if (mark == 0)
		return;
	used = atomic_load_explicit(&h->widx, memory_order_relaxed) - rx->ridx;
	if (used <= rx->v.slots && rx->v.slots - used < mark && used != 0)
		return; /* not enough room yet: keep draining */
	if (atomic_exchange_explicit(&h->prod_waiting, 0,
		memory_order_acq_rel)) {
		/* release: pairs with the acquire in ring_tx_wait */
		atomic_fetch_add_explicit(&h->space_bell, 1,
		    memory_order_release);
		syscall(SYS_futex, (uint32_t *)&h->space_bell, FUTEX_WAKE,
		    INT_MAX, NULL, NULL, 0);
	}
}

/* ring_rx_pending: anything to read?  (acquire: pairs with the release
 * in ring_tx_commit) */
int
ring_rx_pending(struct ring_rx *rx)
{
	return atomic_load_explicit(&rx->v.hdr->widx, memory_order_acquire) !=
	    rx->ridx;
}

/* ring_mark: move a ring's state to DOWN or CORRUPT from anything else
 * (UP, or garbage); returns 1 if this call made the change, so that of
 * all the sides that find a ring bad, exactly one reports it. */
int
ring_mark(struct shm_ring_hdr *h, uint32_t state)
{
	uint32_t cur = atomic_load_explicit(&h->state, memory_order_acquire);

	/* acq_rel: pairs with itself on the other sides and with the
	 * acquire of state in ring_attach_common */
	while (cur != SHM_RING_DOWN && cur != SHM_RING_CORRUPT)
		if (atomic_compare_exchange_weak_explicit(&h->state, &cur,
			state, memory_order_acq_rel, memory_order_acquire))
			return 1;
	return 0;
}
