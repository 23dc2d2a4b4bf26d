/*
 * check_cast.c: broadcast rings (libshmnet/cast.c) and their lock
 * (libshmnet/lock.c), including recovery from a writer that died
 * holding it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static struct shmseg *seg;
static uint32_t gen;

static void
setup(void)
{
	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &gen), 1);
	node_publish(seg, 1);
}

static void
teardown(void)
{
	shmseg_close(seg, 0);
	tu_rmdir();
}

static void
mkframe(uint8_t *f, uint32_t len, uint32_t seq)
{
	memset(f, 0xff, 6);
	memset(f + 6, 0x02, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, (int)(seq & 0xff), len - 14);
	if (len >= 18)
		memcpy(f + 14, &seq, 4);
}

/* bwrite: write a frame as node 1 to the local network's broadcast ring */
static int
bwrite(const uint8_t *f, uint32_t len)
{
	uint32_t size;
	void *mem = shmseg_cast(seg, SHM_NET_LOCAL, &size);

	return cast_write(seg, mem, size, 1, NULL, f, len);
}

static struct cast_rx
reader(void)
{
	struct cast_rx rx;
	uint32_t size;
	void *mem = shmseg_cast(seg, 0, &size);

	ck_assert_int_eq(cast_attach(&rx, mem, size), 0);
	return rx;
}

static int
read1(struct cast_rx *rx, uint32_t *seq, uint32_t *len, uint64_t *lost)
{
	uint8_t buf[SHM_FRAME_MAX], vnet[SHM_VNET_HDR_LEN];
	uint16_t from;
	int rc = cast_read(rx, buf, sizeof(buf), len, vnet, &from, lost);

	if (rc == 1)
		memcpy(seq, buf + 14, 4);
	return rc;
}

START_TEST(test_write_read_in_order)
{
	struct cast_rx a = reader(), b = reader();
	uint8_t f[1000];
	uint32_t i, seq, len;
	uint64_t lost = 0;

	for (i = 0; i < 20; i++) {
		mkframe(f, 60 + i * 40, i);
		ck_assert_int_eq(bwrite(f, 60 + i * 40), 0);
	}
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(read1(&a, &seq, &len, &lost), 1);
		ck_assert_uint_eq(seq, i);
		ck_assert_uint_eq(len, 60 + i * 40);
	}
	ck_assert_int_eq(read1(&a, &seq, &len, &lost), 0);
	ck_assert_uint_eq(lost, 0);
	/* an independent reader has its own cursor */
	ck_assert_int_eq(read1(&b, &seq, &len, &lost), 1);
	ck_assert_uint_eq(seq, 0);
}
END_TEST

START_TEST(test_overrun_counted_exactly)
{
	struct cast_rx rx = reader();
	uint8_t f[300];
	uint32_t i, seq, len, got = 0;
	uint64_t lost = 0;

	/* read 10 of the first 20, then let the writer lap the reader:
	 * 64 slots of 256 bytes, 300-byte frames take 2 slots */
	for (i = 0; i < 20; i++) {
		mkframe(f, sizeof(f), i);
		ck_assert_int_eq(bwrite(f, sizeof(f)), 0);
	}
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
		ck_assert_uint_eq(seq, i);
	}
	for (i = 20; i < 100; i++) {
		mkframe(f, sizeof(f), i);
		ck_assert_int_eq(bwrite(f, sizeof(f)), 0);
	}
	while (read1(&rx, &seq, &len, &lost) == 1)
		got++;
	/* lapped: the reader jumped to the head; the next frame tells it
	 * exactly how many it missed, and delivery resumes in order */
	mkframe(f, sizeof(f), 100);
	bwrite(f, sizeof(f));
	ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
	ck_assert_uint_eq(seq, 100);
	ck_assert_uint_eq(10 + got + lost + 1, 101);
	ck_assert_uint_eq(lost, 90);
}
END_TEST

START_TEST(test_multi_slot_and_pad)
{
	struct cast_rx rx = reader();
	uint8_t f[3000];
	uint32_t i, seq, len;
	uint64_t lost = 0;

	for (i = 0; i < 40; i++) { /* 12-slot frames wrap with pads */
		mkframe(f, sizeof(f), i);
		ck_assert_int_eq(bwrite(f, sizeof(f)), 0);
		ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
		ck_assert_uint_eq(seq, i);
		ck_assert_uint_eq(len, sizeof(f));
	}
	ck_assert_uint_eq(lost, 0);
	ck_assert_int_eq(bwrite(f, 10), -EMSGSIZE);
}
END_TEST

START_TEST(test_torn_slot_skipped)
{
	struct cast_rx rx = reader();
	struct shm_desc *d = rx.v.desc;
	uint8_t f[100];
	uint32_t seq, len;
	uint64_t lost = 0;

	mkframe(f, sizeof(f), 1);
	bwrite(f, sizeof(f));
	atomic_store(&d[0].seq, 0); /* a writer is on it */
	ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 0);
	mkframe(f, sizeof(f), 2);
	bwrite(f, sizeof(f));
	ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
	ck_assert_uint_eq(seq, 2);
	ck_assert_uint_eq(lost, 1);
}
END_TEST

START_TEST(test_garbage_descriptors_never_crash)
{
	struct cast_rx rx = reader();
	uint8_t f[100], buf[SHM_FRAME_MAX], vnet[12];
	uint32_t i, j, len;
	uint16_t from;
	uint64_t lost = 0;

	srandom(42);
	for (i = 0; i < 2000; i++) {
		mkframe(f, sizeof(f), i);
		bwrite(f, sizeof(f));
		j = (uint32_t)random() % rx.v.slots;
		switch (random() % 4) {
		case 0:
			rx.v.desc[j].span = (uint16_t)random();
			break;
		case 1:
			rx.v.desc[j].len = (uint32_t)random();
			break;
		case 2:
			rx.v.desc[j].flags = (uint16_t)random();
			break;
		case 3:
			atomic_store(&rx.v.desc[j].seq, (uint32_t)random());
		}
		while (cast_read(&rx, buf, sizeof(buf), &len, vnet, &from,
			   &lost) == 1)
			ck_assert_uint_le(len, sizeof(buf));
	}
}
END_TEST

START_TEST(test_lock_recovered_from_dead_writer)
{
	struct shm_ring_hdr *h;
	uint8_t f[64];
	uint32_t size;
	pid_t pid;
	int status;

	h = shmseg_cast(seg, 0, &size);
	pid = fork();
	if (pid == 0) {
		struct shmseg *c = tu_open(8 << 20, 8);
		uint32_t g;
		if (node_claim(c, 2, &g) != 2)
			_exit(2);
		node_publish(c, 2);
		lock_acquire(c, &h->lock, lock_owner_word(2));
		_exit(0); /* dies holding the lock */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(atomic_load(&h->lock.owner) & 0xffff, 2);
	mkframe(f, sizeof(f), 7);
	ck_assert_int_eq(bwrite(f, sizeof(f)), 0);
	ck_assert_uint_eq(atomic_load(&h->lock.recoveries), 1);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
}
END_TEST

START_TEST(test_lock_cleared_by_next_life)
{
	struct shm_ring_hdr *h;
	uint32_t size;

	h = shmseg_cast(seg, 0, &size);
	atomic_store(&h->lock.owner, 3 | (77u << 16)); /* old life of 3 */
	ck_assert_int_eq(node_clear_locks(seg, 3), 1);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
	ck_assert_uint_ne(lock_owner_word(1), lock_owner_word(2));
}
END_TEST

START_TEST(test_live_holder_costs_a_frame_not_the_thread)
{
	struct shm_ring_hdr *h;
	int fds[2], status;
	uint8_t f[64];
	uint32_t size;
	pid_t pid;
	char c;

	h = shmseg_cast(seg, 0, &size);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		struct shmseg *cs = tu_open(8 << 20, 8);
		uint32_t g;
		if (node_claim(cs, 2, &g) != 2)
			_exit(2);
		lock_acquire(cs, &h->lock, lock_owner_word(2));
		if (write(fds[1], "x", 1) != 1)
			_exit(3);
		pause(); /* alive, holding the lock */
		_exit(0);
	}
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	mkframe(f, sizeof(f), 7);
	ck_assert_int_eq(bwrite(f, sizeof(f)), -ETIMEDOUT);
	ck_assert_uint_eq(atomic_load(&h->drops), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(bwrite(f, sizeof(f)), 0);
	ck_assert_uint_eq(atomic_load(&h->lock.recoveries), 1);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_mcast_labels)
{
	static const uint8_t a[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	static const uint8_t b[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x04 };
	static const uint8_t c[6] = { 0x33, 0x33, 0x00, 0x00, 0x12, 0x34 };
	static const uint8_t d[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01 };
	struct shm_ring_hdr *h;
	uint8_t m[6];
	uint32_t size;
	int taken;

	ck_assert_uint_eq(shmseg_mcast_count(seg, 0), 3);
	ck_assert_uint_eq(shmseg_mcast_count(seg, 1), 1);
	ck_assert_ptr_null(shmseg_mcast(seg, 0, 3, &size));
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(a), 30000, &taken), 0);
	ck_assert_int_eq(taken, 1);
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(a), 30000, &taken), 0);
	ck_assert_int_eq(taken, 0);
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(b), 30000, &taken), 1);
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(c), 30000, &taken), 2);
	ck_assert_int_eq(mcast_find(seg, 0, mcast_label(c)), 2);
	ck_assert_int_eq(mcast_find(seg, 1, mcast_label(c)), -1);
	/* every ring written to just now: d has none */
	for (int i = 0; i < 3; i++) {
		h = shmseg_mcast(seg, 0, (uint32_t)i, &size);
		atomic_store(&h->last_ms, clock_ms());
	}
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(d), 30000, &taken), -1);
	/* ring 1 idle for a minute: d takes it over */
	h = shmseg_mcast(seg, 0, 1, &size);
	atomic_store(&h->last_ms, clock_ms() - 60000);
	ck_assert_int_eq(mcast_take(seg, 0, mcast_label(d), 30000, &taken), 1);
	ck_assert_int_eq(taken, 1);
	ck_assert_int_eq(mcast_find(seg, 0, mcast_label(b)), -1);
	mcast_label_mac(atomic_load(&h->label), m);
	ck_assert_mem_eq(m, d, 6);
}
END_TEST

START_TEST(test_mcast_worthy)
{
	static const uint8_t yes[][6] = {
		{ 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 }, /* 239.1.2.3 */
		{ 0x33, 0x33, 0x00, 0x01, 0x00, 0x03 }, /* ff05::1:3 */
	};
	static const uint8_t no[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, /* broadcast */
		{ 0x02, 0x53, 0x4d, 0x4c, 0x00, 0x01 }, /* unicast */
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb }, /* 224.0.0.251 */
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 }, /* ff02::1 */
		{ 0x33, 0x33, 0xff, 0x00, 0x00, 0x02 }, /* solicited-node */
		{ 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e }, /* LLDP */
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_int_eq(mcast_ring_worthy(yes[i]), 1);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_int_eq(mcast_ring_worthy(no[i]), 0);
}
END_TEST

START_TEST(test_mcast_lock_cleared_by_next_life)
{
	struct shm_ring_hdr *h;
	uint32_t size;

	h = shmseg_mcast(seg, 0, 2, &size);
	atomic_store(&h->lock.owner, 5 | (9u << 16));
	ck_assert_int_eq(node_clear_locks(seg, 5), 1);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
}
END_TEST

#define RACE_FRAMES 50000

static _Atomic int race_done;

/* race_writer: RACE_FRAMES frames of varying length as node 1. */
static void *
race_writer(void *arg)
{
	uint8_t f[600];
	uint32_t i, len;

	(void)arg;
	for (i = 1; i <= RACE_FRAMES; i++) {
		len = 18 + (i * 37) % 580;
		mkframe(f, len, i);
		if (bwrite(f, len) != 0)
			abort();
		if (i % 16 == 0)
			usleep(20); /* bursts: the reader both reads and
					 * gets lapped */
	}
	atomic_store(&race_done, 1);
	return NULL;
}

/* A reader racing a writer never returns a torn frame, reads in order,
 * and counts every frame it skipped before the last one it read. */
START_TEST(test_writer_reader_race)
{
	struct cast_rx rx = reader();
	uint32_t seq, len, last = 0, i;
	uint8_t buf[SHM_FRAME_MAX], vnet[SHM_VNET_HDR_LEN];
	uint64_t lost = 0, got = 0;
	uint16_t from;
	pthread_t th;
	int done;

	atomic_store(&race_done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, race_writer, NULL), 0);
	for (;;) {
		done = atomic_load(&race_done);
		while (cast_read(&rx, buf, sizeof(buf), &len, vnet, &from,
			   &lost) == 1) {
			memcpy(&seq, buf + 14, 4);
			ck_assert_uint_gt(seq, last);
			ck_assert_uint_eq(len, 18 + (seq * 37) % 580);
			for (i = 18; i < len; i++)
				if (buf[i] != (uint8_t)seq)
					ck_abort_msg("frame %u torn at %u", seq,
					    i);
			last = seq;
			got++;
		}
		if (done)
			break;
	}
	pthread_join(th, NULL);
	/* frames up to the last one read were each read or counted lost
	 * (a loss is counted when the next frame is read, so frames skipped
	 * after the last read are not counted yet) */
	ck_assert_uint_eq(got + lost, last);
	ck_assert_uint_le(last, RACE_FRAMES);
	ck_assert_uint_gt(got, 0);
}
END_TEST

#define PAD_SLOTS 1024

/* A broadcast ring whose every slot is a stamped pad, and a peer that
 * keeps writing such pads: each read returns "nothing now" after a few
 * of them, not after the whole ring, nor when the peer stops. */
START_TEST(test_pads_do_not_hold_the_reader)
{
	uint64_t size = ring_bytes(PAD_SLOTS, 256);
	uint8_t *m = aligned_alloc(64, size), buf[SHM_FRAME_MAX];
	uint8_t vnet[SHM_VNET_HDR_LEN];
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)m;
	struct shm_desc *d = (struct shm_desc *)(m + sizeof(*h));
	struct tu_pads p = { .mem = m, .slots = PAD_SLOTS, .cast = 1 };
	struct cast_rx rx;
	uint64_t lost = 0;
	uint32_t i, len, calls;
	uint16_t from;
	int rc, running;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(cast_init(m, size, PAD_SLOTS, 256, 0), 0);
	ck_assert_int_eq(cast_attach(&rx, m, size), 0);
	for (i = 0; i < PAD_SLOTS; i++) {
		d[i].span = 1;
		d[i].flags = SHM_DESC_PAD;
		atomic_store(&d[i].seq, i + 1);
	}
	atomic_store(&h->widx, PAD_SLOTS);
	ck_assert_int_eq(
	    cast_read(&rx, buf, sizeof(buf), &len, vnet, &from, &lost), 0);
	ck_assert_uint_gt(rx.cursor, 0);
	ck_assert_uint_le(rx.cursor, 64);
	ck_assert(cast_pending(&rx));
	for (calls = 1; cast_pending(&rx) && calls <= PAD_SLOTS; calls++)
		ck_assert_int_eq(cast_read(&rx, buf, sizeof(buf), &len, vnet,
				     &from, &lost),
		    0);
	ck_assert_uint_eq(rx.cursor, PAD_SLOTS);
	ck_assert_uint_ge(calls, PAD_SLOTS / 64);

	p.reader = &rx.cursor;
	tu_pads_start(&p);
	rc = cast_read(&rx, buf, sizeof(buf), &len, vnet, &from, &lost);
	running = tu_pads_stop(&p);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(running,
	    "cast_read followed pads until their writer "
	    "gave up");
	free(m);
}
END_TEST

static uint64_t race_counter;

/* race_locker: bump a plain counter under the shm lock. */
static void *
race_locker(void *arg)
{
	struct shm_lock *l = arg;
	uint32_t owner = lock_owner_word(1), i;

	for (i = 0; i < 100000; i++) {
		lock_acquire(seg, l, owner);
		race_counter++;
		lock_release(l, owner);
	}
	return NULL;
}

/* Two threads of one node exclude each other through the lock. */
START_TEST(test_lock_excludes_threads)
{
	uint32_t size;
	struct shm_ring_hdr *h = shmseg_cast(seg, 0, &size);
	pthread_t a, b;

	race_counter = 0;
	ck_assert_int_eq(pthread_create(&a, NULL, race_locker, &h->lock), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, race_locker, &h->lock), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	ck_assert_uint_eq(race_counter, 200000);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
}
END_TEST

static Suite *
cast_suite(void)
{
	Suite *s = suite_create("cast");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* the race tests under ThreadSanitizer */
	tcase_add_test(tc, test_write_read_in_order);
	tcase_add_test(tc, test_overrun_counted_exactly);
	tcase_add_test(tc, test_multi_slot_and_pad);
	tcase_add_test(tc, test_torn_slot_skipped);
	tcase_add_test(tc, test_garbage_descriptors_never_crash);
	tcase_add_test(tc, test_lock_recovered_from_dead_writer);
	tcase_add_test(tc, test_lock_cleared_by_next_life);
	tcase_add_test(tc, test_live_holder_costs_a_frame_not_the_thread);
	tcase_add_test(tc, test_mcast_labels);
	tcase_add_test(tc, test_mcast_worthy);
	tcase_add_test(tc, test_mcast_lock_cleared_by_next_life);
	tcase_add_test(tc, test_writer_reader_race);
	tcase_add_test(tc, test_lock_excludes_threads);
	tcase_add_test(tc, test_pads_do_not_hold_the_reader);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(cast_suite());
}
