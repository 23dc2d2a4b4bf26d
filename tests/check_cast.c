/*
 * check_cast.c: broadcast rings (libshmnet/cast.c) and their lock
 * (libshmnet/lock.c), including recovery from a writer that died
 * holding it.
 */
#include "config.h"

#include <errno.h>
#include <sys/wait.h>

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
		ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, 60 + i * 40), 0);
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
		ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, sizeof(f)), 0);
	}
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
		ck_assert_uint_eq(seq, i);
	}
	for (i = 20; i < 100; i++) {
		mkframe(f, sizeof(f), i);
		ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, sizeof(f)), 0);
	}
	while (read1(&rx, &seq, &len, &lost) == 1)
		got++;
	/* lapped: the reader jumped to the head; the next frame tells it
	 * exactly how many it missed, and delivery resumes in order */
	mkframe(f, sizeof(f), 100);
	cast_write(seg, 0, 1, NULL, f, sizeof(f));
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

	for (i = 0; i < 40; i++) {	/* 12-slot frames wrap with pads */
		mkframe(f, sizeof(f), i);
		ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, sizeof(f)), 0);
		ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 1);
		ck_assert_uint_eq(seq, i);
		ck_assert_uint_eq(len, sizeof(f));
	}
	ck_assert_uint_eq(lost, 0);
	ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, 10), -EMSGSIZE);
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
	cast_write(seg, 0, 1, NULL, f, sizeof(f));
	atomic_store(&d[0].seq, 0);		/* a writer is on it */
	ck_assert_int_eq(read1(&rx, &seq, &len, &lost), 0);
	mkframe(f, sizeof(f), 2);
	cast_write(seg, 0, 1, NULL, f, sizeof(f));
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
		cast_write(seg, 0, 1, NULL, f, sizeof(f));
		j = (uint32_t)random() % rx.v.slots;
		switch (random() % 4) {
		case 0: rx.v.desc[j].span = (uint16_t)random(); break;
		case 1: rx.v.desc[j].len = (uint32_t)random(); break;
		case 2: rx.v.desc[j].flags = (uint16_t)random(); break;
		case 3: atomic_store(&rx.v.desc[j].seq, (uint32_t)random());
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
		_exit(0);		/* dies holding the lock */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(atomic_load(&h->lock.owner) & 0xffff, 2);
	mkframe(f, sizeof(f), 7);
	ck_assert_int_eq(cast_write(seg, 0, 1, NULL, f, sizeof(f)), 0);
	ck_assert_uint_eq(atomic_load(&h->lock.recoveries), 1);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
}
END_TEST

START_TEST(test_lock_cleared_by_next_life)
{
	struct shm_ring_hdr *h;
	uint32_t size;

	h = shmseg_cast(seg, 0, &size);
	atomic_store(&h->lock.owner, 3 | (77u << 16));	/* old life of 3 */
	ck_assert_int_eq(lock_clear_node(seg, 3), 1);
	ck_assert_uint_eq(atomic_load(&h->lock.owner), 0);
	ck_assert_uint_ne(lock_owner_word(1), lock_owner_word(2));
}
END_TEST

static Suite *
cast_suite(void)
{
	Suite *s = suite_create("cast");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_read_in_order);
	tcase_add_test(tc, test_overrun_counted_exactly);
	tcase_add_test(tc, test_multi_slot_and_pad);
	tcase_add_test(tc, test_torn_slot_skipped);
	tcase_add_test(tc, test_garbage_descriptors_never_crash);
	tcase_add_test(tc, test_lock_recovered_from_dead_writer);
	tcase_add_test(tc, test_lock_cleared_by_next_life);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(cast_suite());
}
