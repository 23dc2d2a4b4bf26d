/*
 * cast.c: broadcast rings ("ticker tape").
 *
 * Many writers, serialised by a shm_lock that is recovered from a dead
 * holder; readers are not serialised, each keeps its own cursor, and a
 * writer never waits for them: it overwrites the oldest slots.  Every slot
 * a writer covers carries a sequence number, its free-running index + 1
 * when complete and 0 while being written, so a reader detects that it was
 * lapped (or raced) and resynchronises; the per-frame number fseq then
 * tells it exactly how many frames it lost.
 *
 * Writer order: zero the seq of every slot it will cover, release fence,
 * write descriptors and data, release fence, stamp the seqs, publish widx.
 * Reader order: load widx (acquire), check the first seq, copy, acquire
 * fence, re-check the seq of every slot it copied.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "shmnet_private.h"

/* Steps (resyncs after being lapped or raced, and pads) cast_read takes
 * in one call.  A reader that nothing disturbs needs three at most: a
 * resync, a pad, the frame.  Writers that keep lapping it, or a peer
 * that keeps writing pads, must not keep it in its loop: after this many
 * the call says "nothing now" and cast_pending brings the caller back. */
#define CAST_READ_STEPS 16

/* cast_init: lay out a broadcast ring. */
int
cast_init(void *mem, uint64_t size, uint32_t slots, uint32_t slot_size,
    uint32_t net)
{
	int rc;

	rc = ring_init(mem, size, slots, slot_size, 0, 0, 0, net, 0);
	return rc;
}

/* cast_attach: start reading at the current write position. */
int
cast_attach(struct cast_rx *rx, void *mem, uint64_t size)
{
	int rc;

	memset(rx, 0, sizeof(*rx));
	if ((rc = ring_view_attach(&rx->v, mem, size)) != 0)
		return rc;
	cast_skip(rx);
	return 0;
}

/* cast_stamp: set the seq of slots [first, first+n) (free-running). */
static void
cast_stamp(struct ring_view *g, uint32_t first, uint32_t n, int done)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		atomic_store_explicit(&g->desc[(first + i) & g->mask].seq,
		    done ? first + i + 1 : 0, memory_order_relaxed);
}

/*
 * Slots are rewritten while lapped readers may still copy them: that is
 * the ticker tape's design, and the per-slot seq re-checked after the copy
 * tells the reader to discard what it copied.  Descriptor fields are
 * therefore stored and loaded as relaxed atomics, and payload bytes are
 * copied only by cast_copy_in/cast_copy_out, the two functions the
 * ThreadSanitizer suppressions (tests/tsan.supp) name.
 */
#define CAST_ST(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define CAST_LD(field)    __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* cast_copy_in: payload into ring memory (src NULL: zeros). */
__attribute__((noinline)) static void
cast_copy_in(uint8_t *dst, const void *src, uint32_t n)
{
	if (src != NULL)
		memcpy(dst, src, n);
	else
		memset(dst, 0, n);
}

/* cast_copy_out: payload out of ring memory, validated afterwards. */
__attribute__((noinline)) static void
cast_copy_out(void *dst, const uint8_t *src, uint32_t n)
{
	memcpy(dst, src, n);
}

/* cast_desc_put: fill a descriptor (relaxed stores, see above). */
static void
cast_desc_put(struct shm_desc *d, uint32_t len, uint16_t span, uint16_t flags,
    uint16_t from, uint32_t fseq)
{
	CAST_ST(d->len, len);
	CAST_ST(d->span, span);
	CAST_ST(d->flags, flags);
	CAST_ST(d->from, from);
	CAST_ST(d->fseq, fseq);
}

/* cast_write_locked: write one frame; the caller holds the ring lock. */
int
cast_write_locked(void *mem, uint64_t size, uint32_t self, const void *vnet,
    const void *frame, uint32_t len)
{
	struct ring_view g;
	struct shm_desc *d;
	uint32_t w, span, pos, tail, pad, fseq;
	int rc;

	if ((rc = ring_view_attach(&g, mem, size)) != 0)
		return rc;
	span = div_up_shift(len ? len : 1, g.slot_shift);
	if (len < SHM_FRAME_MIN || len > SHM_FRAME_MAX || span > g.slots / 2) {
		atomic_fetch_add_explicit(&g.hdr->drops, 1,
		    memory_order_relaxed);
		return -EMSGSIZE;
	}
	w = atomic_load_explicit(&g.hdr->widx, memory_order_relaxed);
	pos = w & g.mask;
	tail = g.slots - pos;
	pad = span <= tail ? 0 : tail;
	cast_stamp(&g, w, pad + span, 0);
	atomic_thread_fence(memory_order_release);
	fseq = (uint32_t)atomic_load_explicit(&g.hdr->frames,
		   memory_order_relaxed) +
	    1;
	if (pad) {
		cast_desc_put(&g.desc[pos], 0, (uint16_t)pad, SHM_DESC_PAD,
		    (uint16_t)self, fseq - 1);
		pos = 0;
	}
	d = &g.desc[pos];
	cast_desc_put(d, len, (uint16_t)span, vnet != NULL ? SHM_DESC_VNET : 0,
	    (uint16_t)self, fseq);
	cast_copy_in(d->vnet, vnet, SHM_VNET_HDR_LEN);
	cast_copy_in(g.data + ((size_t)pos << g.slot_shift), frame, len);
	atomic_thread_fence(memory_order_release);
	cast_stamp(&g, w, pad + span, 1);
	atomic_store_explicit(&g.hdr->frames, fseq, memory_order_relaxed);
	atomic_store_explicit(&g.hdr->last_ms, clock_ms(),
	    memory_order_relaxed);
	atomic_store_explicit(&g.hdr->widx, w + pad + span,
	    memory_order_release);
	atomic_fetch_add_explicit(&g.hdr->bytes, len, memory_order_relaxed);
	return 0;
}

/* cast_write: write one frame to the ring at mem under its lock. */
int
cast_write(struct shmseg *seg, void *mem, uint32_t size, uint32_t self,
    const void *vnet, const void *frame, uint32_t len)
{
	struct shm_ring_hdr *h = mem;
	uint32_t owner = lock_owner_word(self);
	int rc;

	if (h == NULL || size < sizeof(*h))
		return -EINVAL;
	if (lock_acquire_for(seg, &h->lock, owner, CAST_LOCK_MS) < 0) {
		atomic_fetch_add_explicit(&h->drops, 1, memory_order_relaxed);
		return -ETIMEDOUT;
	}
	rc = cast_write_locked(h, size, self, vnet, frame, len);
	lock_release(&h->lock, owner);
	return rc;
}

/* cast_seq_ok: do slots [c, c+n) still carry the seqs of index c..? */
static int
cast_seq_ok(struct cast_rx *rx, uint32_t c, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (atomic_load_explicit(&rx->v.desc[(c + i) & rx->v.mask].seq,
			memory_order_relaxed) != c + i + 1)
			return 0;
	return 1;
}

/* cast_count_loss: account for frames between last_fseq and fseq. */
static void
cast_count_loss(struct cast_rx *rx, uint32_t fseq, uint64_t *lost)
{
	uint32_t gap = fseq - rx->last_fseq;

	if (gap > 1 && gap < (1u << 31))
		*lost += gap - 1;
	if (gap != 0 && gap < (1u << 31))
		rx->last_fseq = fseq;
}

/* cast_read: copy the next frame out; 1 if one was read, 0 if none
 * within CAST_READ_STEPS steps. */
int
cast_read(struct cast_rx *rx, void *buf, uint32_t buflen, uint32_t *len,
    uint8_t *vnet, uint16_t *from, uint64_t *lost)
{
	struct shm_desc *d;
	uint32_t w, pos, span, flags, dlen, fseq, step;
	uint16_t dfrom;

	for (step = 0; step < CAST_READ_STEPS; step++) {
		w = atomic_load_explicit(&rx->v.hdr->widx,
		    memory_order_acquire);
		if (w == rx->cursor)
			return 0;
		if (w - rx->cursor > rx->v.slots) { /* lapped */
			rx->cursor = w;
			continue;
		}
		pos = rx->cursor & rx->v.mask;
		d = &rx->v.desc[pos];
		if (atomic_load_explicit(&d->seq, memory_order_acquire) !=
		    rx->cursor + 1) { /* raced a writer */
			rx->cursor = w;
			continue;
		}
		span = CAST_LD(d->span);
		flags = CAST_LD(d->flags);
		dlen = CAST_LD(d->len);
		dfrom = CAST_LD(d->from);
		fseq = CAST_LD(d->fseq);
		if (span == 0 || span > rx->v.slots - pos ||
		    span > w - rx->cursor || (flags & ~SHM_DESC_KNOWN)) {
			rx->cursor = w; /* corrupt: resync */
			continue;
		}
		if (flags & SHM_DESC_PAD) {
			rx->cursor += span;
			continue;
		}
		if (dlen < SHM_FRAME_MIN || dlen > buflen ||
		    div_up_shift(dlen, rx->v.slot_shift) != span) {
			rx->cursor = w;
			continue;
		}
		cast_copy_out(buf,
		    rx->v.data + ((size_t)pos << rx->v.slot_shift), dlen);
		if (flags & SHM_DESC_VNET)
			cast_copy_out(vnet, d->vnet, SHM_VNET_HDR_LEN);
		else
			memset(vnet, 0, SHM_VNET_HDR_LEN);
		atomic_thread_fence(memory_order_acquire);
		if (!cast_seq_ok(rx, rx->cursor, span)) {
			rx->cursor = w;
			continue;
		}
		rx->cursor += span;
		cast_count_loss(rx, fseq, lost);
		*len = dlen;
		*from = dfrom;
		return 1;
	}
	return 0; /* more next time */
}

/* cast_pending: a frame may be waiting. */
int
cast_pending(struct cast_rx *rx)
{
	return atomic_load_explicit(&rx->v.hdr->widx, memory_order_acquire) !=
	    rx->cursor;
}

/* cast_skip: start reading at the current write position. */
void
cast_skip(struct cast_rx *rx)
{
	rx->cursor = atomic_load_explicit(&rx->v.hdr->widx,
	    memory_order_acquire);
	rx->last_fseq = (uint32_t)atomic_load_explicit(&rx->v.hdr->frames,
	    memory_order_acquire);
}
