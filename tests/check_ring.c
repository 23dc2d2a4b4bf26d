/*
 * check_ring.c: pair rings (libshmnet/ring.c).
 */
#include "config.h"

#include <check.h>

#include "testutil.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shmnet.h"

#define SLOTS     8
#define SLOT_SIZE 256

static uint8_t *mem;
static uint64_t memsize;
static struct ring_tx tx;
static struct ring_rx rx;

static void
setup(void)
{
	memsize = ring_bytes(SLOTS, SLOT_SIZE);
	mem = aligned_alloc(64, memsize);
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(
	    ring_init(mem, memsize, SLOTS, SLOT_SIZE, 1, 2, 7, 0, 0x1234), 0);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize, 0x1234, 1, 2), 0);
	ck_assert_int_eq(ring_rx_attach(&rx, mem, memsize, 0x1234, 1, 2), 0);
}

static void
teardown(void)
{
	free(mem);
}

static void
fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
}

/* pop one frame and check its length and content. */
static void
expect_frame(uint32_t len, uint32_t seed)
{
	uint8_t want[4096];
	struct ring_slot s;

	ck_assert_int_eq(ring_rx_peek(&rx, &s), 1);
	ck_assert_uint_eq(s.len, len);
	fill(want, len, seed);
	ck_assert_mem_eq(s.data, want, len);
	ring_rx_consume(&rx, &s);
	ring_rx_publish(&rx);
}

static int
push(uint32_t len, uint32_t seed)
{
	uint8_t buf[4096];

	fill(buf, len, seed);
	return ring_tx_push(&tx, NULL, buf, len);
}

START_TEST(test_single_frames)
{
	struct ring_slot s;

	ck_assert_int_eq(ring_rx_peek(&rx, &s), 0);
	ck_assert_int_eq(push(100, 1), 0);
	ck_assert_int_eq(push(60, 2), 0);
	ck_assert_uint_eq(ring_tx_used(&tx), 2);
	expect_frame(100, 1);
	expect_frame(60, 2);
	ck_assert_int_eq(ring_rx_peek(&rx, &s), 0);
	ck_assert_uint_eq(ring_tx_used(&tx), 0);
}
END_TEST

START_TEST(test_multi_slot_frame)
{
	struct ring_slot s;

	ck_assert_int_eq(push(700, 3), 0); /* 3 slots of 256 */
	ck_assert_uint_eq(ring_tx_used(&tx), 3);
	ck_assert_int_eq(ring_rx_peek(&rx, &s), 1);
	ck_assert_uint_eq(s.span, 3);
	ring_rx_consume(&rx, &s);
	ring_rx_publish(&rx);
	ck_assert_uint_eq(ring_tx_used(&tx), 0);
}
END_TEST

START_TEST(test_pad_at_wrap)
{
	/* advance to slot 6, then a 3-slot frame cannot fit in 2 tail slots */
	ck_assert_int_eq(push(3 * 256, 1), 0);
	ck_assert_int_eq(push(3 * 256, 2), 0);
	expect_frame(3 * 256, 1);
	expect_frame(3 * 256, 2);
	ck_assert_int_eq(push(600, 3), 0); /* pad 2 + frame at 0 */
	ck_assert_uint_eq(ring_tx_used(&tx), 5);
	expect_frame(600, 3);
	ck_assert_uint_eq(ring_tx_used(&tx), 0);
}
END_TEST

START_TEST(test_full_and_too_large)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		ck_assert_int_eq(push(100, (uint32_t)i), 0);
	ck_assert_int_eq(push(100, 99), -ENOBUFS);
	ck_assert_int_eq(ring_tx_wait(&tx, 100, 1), -ETIMEDOUT);
	expect_frame(100, 0);
	ck_assert_int_eq(push(100, 99), 0);
	ck_assert_int_eq(push(SLOTS * SLOT_SIZE + 1, 1), -EMSGSIZE);
}
END_TEST

START_TEST(test_index_wraps_at_2_32)
{
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)mem;
	uint32_t i;

	atomic_store(&h->widx, UINT32_MAX - 5);
	atomic_store(&h->ridx, UINT32_MAX - 5);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize, 0x1234, 1, 2), 0);
	ck_assert_int_eq(ring_rx_attach(&rx, mem, memsize, 0x1234, 1, 2), 0);
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(push(300 + i, i), 0);
		expect_frame(300 + i, i);
	}
	ck_assert_uint_lt(atomic_load(&h->widx), 100);
}
END_TEST

START_TEST(test_vnet_header_travels)
{
	uint8_t vnet[SHM_VNET_HDR_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
		12 },
		frame[64] = { 0 };
	struct ring_slot s;

	ck_assert_int_eq(ring_tx_push(&tx, vnet, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ring_rx_peek(&rx, &s), 1);
	ck_assert(s.flags & SHM_DESC_VNET);
	ck_assert_mem_eq(s.desc->vnet, vnet, sizeof(vnet));
}
END_TEST

START_TEST(test_zero_copy_reserve_commit)
{
	struct ring_slot s;

	ck_assert_int_eq(ring_tx_reserve(&tx, 1000, &s), 0);
	ck_assert_uint_ge(s.cap, 1000);
	fill(s.data, 200, 5); /* a read returned 200 bytes */
	ring_tx_commit(&tx, &s, 200, 0);
	expect_frame(200, 5);
}
END_TEST

/* corruptions the consumer must reject without touching memory */
START_TEST(test_corrupt_descriptors)
{
	struct shm_desc *d = (struct shm_desc *)(mem +
	    sizeof(struct shm_ring_hdr));
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)mem;
	struct ring_slot s;
	int variant = _i;

	ck_assert_int_eq(push(100, 1), 0);
	switch (variant) {
	case 0:
		d[0].span = 0;
		break;
	case 1:
		d[0].span = SLOTS + 1;
		break;
	case 2:
		d[0].len = 5000;
		break;
	case 3:
		d[0].flags = 0x80;
		break;
	case 4:
		d[0].len = 3;
		break;
	case 5:
		atomic_store(&h->widx, 1000);
		break;
	case 6:
		d[0].span = 2;
		d[0].len = 300;
		break; /* past widx */
	case 7:
		d[0].len = 600;
		d[0].span = 1;
		break;
	}
	ck_assert_int_eq(ring_rx_peek(&rx, &s), -EBADMSG);
}
END_TEST

START_TEST(test_corrupt_read_index)
{
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)mem;
	int i;

	for (i = 0; i < SLOTS; i++)
		ck_assert_int_eq(push(100, 1), 0);
	atomic_store(&h->ridx, 12345); /* consumer went mad */
	ck_assert_int_eq(push(100, 1), -EBADMSG);
}
END_TEST

#define PAD_SLOTS 1024

/* A ring whose every descriptor is a pad, all published, and a peer that
 * keeps writing pads: each read returns "nothing now" after a few of
 * them, not after the whole ring, nor when the peer stops. */
START_TEST(test_pads_do_not_hold_the_reader)
{
	uint64_t size = ring_bytes(PAD_SLOTS, 64);
	uint8_t *m = aligned_alloc(64, size);
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)m;
	struct shm_desc *d = (struct shm_desc *)(m + sizeof(*h));
	struct tu_pads p = { .mem = m, .slots = PAD_SLOTS, .reader = NULL };
	struct ring_rx r;
	struct ring_slot s;
	uint32_t i, calls;
	int rc, running;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(ring_init(m, size, PAD_SLOTS, 64, 1, 2, 1, 0, 9), 0);
	ck_assert_int_eq(ring_rx_attach(&r, m, size, 9, 1, 2), 0);
	for (i = 0; i < PAD_SLOTS; i++) {
		d[i].span = 1;
		d[i].flags = SHM_DESC_PAD;
	}
	atomic_store(&h->widx, PAD_SLOTS);
	ck_assert_int_eq(ring_rx_peek(&r, &s), 0);
	ck_assert_uint_gt(r.ridx, 0);
	ck_assert_uint_le(r.ridx, 64);
	ck_assert(ring_rx_pending(&r));
	for (calls = 1; ring_rx_pending(&r) && calls <= PAD_SLOTS; calls++)
		ck_assert_int_eq(ring_rx_peek(&r, &s), 0);
	ck_assert_uint_eq(r.ridx, PAD_SLOTS);
	ck_assert_uint_ge(calls, PAD_SLOTS / 64);

	p.reader = &r.ridx;
	tu_pads_start(&p);
	rc = ring_rx_peek(&r, &s);
	running = tu_pads_stop(&p);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(running,
	    "ring_rx_peek followed pads until their "
	    "writer gave up");
	free(m);
}
END_TEST

START_TEST(test_attach_rejects)
{
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)mem;

	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize, 0x9999, 1, 2),
	    -ESTALE);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize, 0x1234, 2, 1),
	    -ESTALE);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize - 1, 0x1234, 1, 2),
	    -EBADMSG);
	h->slots = 6;
	ck_assert_int_eq(ring_rx_attach(&rx, mem, memsize, 0x1234, 1, 2),
	    -EBADMSG);
	h->slots = SLOTS;
	h->data_off += 64;
	ck_assert_int_eq(ring_rx_attach(&rx, mem, memsize, 0x1234, 1, 2),
	    -EBADMSG);
	h->data_off -= 64;
	ring_mark(h, SHM_RING_DOWN);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, memsize, 0x1234, 1, 2),
	    -ENETDOWN);
	h->magic = 0;
	ck_assert_int_eq(ring_check(mem, memsize, 0x1234, 1, 2), -EBADMSG);
	ck_assert_int_eq(ring_init(mem, memsize, 6, SLOT_SIZE, 1, 2, 0, 0, 1),
	    -EINVAL);
}
END_TEST

/* ---- two threads, 3 x 10^5 frames: thousands of laps of the ring ---- */

#define THREAD_FRAMES 300000u

struct big {
	uint8_t *mem;
	uint64_t size;
	uint64_t bad;
};

static uint32_t
frame_len(uint32_t i)
{
	return 14 + (i * 2654435761u) % 1200;
}

static void *
producer(void *arg)
{
	struct big *b = arg;
	struct ring_tx t;
	uint8_t buf[2048];
	uint32_t i, len;
	int rc;

	ck_assert_int_eq(ring_tx_attach(&t, b->mem, b->size, 77, 3, 4), 0);
	for (i = 0; i < THREAD_FRAMES; i++) {
		len = frame_len(i);
		memcpy(buf, &i, sizeof(i));
		memset(buf + 4, (int)(i & 0xff), len - 4);
		while ((rc = ring_tx_push(&t, NULL, buf, len)) == -ENOBUFS)
			ring_tx_wait(&t, len, 100);
		if (rc != 0)
			b->bad++;
	}
	return NULL;
}

START_TEST(test_threads_many_frames)
{
	struct big b;
	struct ring_rx r;
	struct ring_slot s;
	pthread_t th;
	uint32_t want = 0, seq, i;
	int rc;

	b.size = ring_bytes(128, 256);
	b.mem = aligned_alloc(64, b.size);
	b.bad = 0;
	ck_assert_int_eq(ring_init(b.mem, b.size, 128, 256, 3, 4, 1, 0, 77), 0);
	ck_assert_int_eq(ring_rx_attach(&r, b.mem, b.size, 77, 3, 4), 0);
	pthread_create(&th, NULL, producer, &b);
	while (want < THREAD_FRAMES) {
		rc = ring_rx_peek(&r, &s);
		ck_assert_int_ge(rc, 0);
		if (rc == 0) {
			sched_yield();
			continue;
		}
		memcpy(&seq, s.data, sizeof(seq));
		ck_assert_uint_eq(seq, want);
		ck_assert_uint_eq(s.len, frame_len(want));
		for (i = 4; i < s.len; i++)
			if (s.data[i] != (uint8_t)(want & 0xff))
				ck_abort_msg("frame %u byte %u corrupt", want,
				    i);
		ring_rx_consume(&r, &s);
		ring_rx_publish(&r);
		want++;
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(b.bad, 0);
	ck_assert_int_eq(ring_rx_peek(&r, &s), 0);
	free(b.mem);
}
END_TEST

static Suite *
ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_single_frames);
	tcase_add_test(tc, test_multi_slot_frame);
	tcase_add_test(tc, test_pad_at_wrap);
	tcase_add_test(tc, test_full_and_too_large);
	tcase_add_test(tc, test_index_wraps_at_2_32);
	tcase_add_test(tc, test_vnet_header_travels);
	tcase_add_test(tc, test_zero_copy_reserve_commit);
	tcase_add_loop_test(tc, test_corrupt_descriptors, 0, 8);
	tcase_add_test(tc, test_corrupt_read_index);
	tcase_add_test(tc, test_attach_rejects);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pads_do_not_hold_the_reader);
	tcase_add_test(tc, test_threads_many_frames);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(ring_suite());
}
