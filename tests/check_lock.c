/*
 * check_lock.c: the segment-wide locks (heap, node table) held by a node
 * that is alive but does not let go (paused, or stopped by SIGSTOP):
 * heap_alloc, heap_free, heap_reclaim, node_claim, node_leave and
 * node_reap give up after a bounded wait instead of hanging, and what
 * they could not do is done once the lock is free, with no page lost
 * (libshmnet/lock.c, heap.c, node.c).  alarm() turns a hang into a
 * failure.
 */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>

#include "testutil.h"

#define HOLDER   9
#define DEADLINE 20 /* s: a call that hangs fails the test */

enum which { HEAP, TABLE };

static void
setup(void)
{
	tu_mkdir();
	alarm(DEADLINE);
}

static void
teardown(void)
{
	alarm(0);
	tu_rmdir();
}

/* open_seg: the test segment, claim and table waits of wait_ms */
static struct shmseg *
open_seg(uint32_t wait_ms)
{
	struct shmseg_params p = tu_params(8 << 20, 16);
	struct shmseg *s = NULL;
	char err[256];

	p.wait_ms = wait_ms;
	if (shmseg_open(&p, &s, err, sizeof(err)) != 0)
		return NULL;
	return s;
}

/* holder_body: the child: become node HOLDER, take the lock in its name,
 * say so, then stay alive without ever letting go */
static void
holder_body(int fd, enum which w, int stop)
{
	struct shmseg *s;
	struct shm_hdr *h;
	uint32_t g;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(0);
	if ((s = open_seg(0)) == NULL || node_claim(s, HOLDER, &g) != HOLDER)
		_exit(1);
	node_publish(s, HOLDER);
	h = (struct shm_hdr *)shmseg_hdr(s);
	lock_acquire(s, w == HEAP ? &h->heap_lock : &h->table_lock,
	    lock_owner_word(HOLDER));
	if (write(fd, "x", 1) != 1)
		_exit(1);
	if (stop)
		raise(SIGSTOP);
	for (;;)
		pause();
}

/* holder_start: a live node HOLDER that keeps lock w (stopped if stop) */
static pid_t
holder_start(enum which w, int stop)
{
	int fd[2], st;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		close(fd[0]);
		holder_body(fd[1], w, stop);
	}
	ck_assert_int_gt(pid, 0);
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], &c, 1), 1);
	close(fd[0]);
	if (stop) {
		ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
		ck_assert(WIFSTOPPED(st));
	}
	return pid;
}

/* holder_kill: the holder dies: its lock may be taken over */
static void
holder_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

/* peer_with_ring: node id comes up in a child with a ring from node 1 in
 * its directory, then dies (UP, dead) */
static void
peer_with_ring(uint32_t id)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		struct shmseg *mine;
		uint32_t g;

		alarm(0);
		if ((mine = open_seg(0)) == NULL ||
		    node_claim(mine, id, &g) != (int)id ||
		    node_dirent_alloc(mine, id, 0, 1, 1, 64, 1024) != 0)
			_exit(1);
		node_publish(mine, id);
		_exit(0);
	}
	tu_child_ok(pid);
}

/* used_pages: pages the heap holds (quarantined ones count) */
static uint32_t
used_pages(struct shmseg *s)
{
	uint32_t used, total;

	heap_usage(s, &used, &total);
	return used;
}

/* quarantine_ends: wait out the quarantine and reclaim */
static void
quarantine_ends(struct shmseg *s)
{
	usleep((SHM_QUARANTINE_MS + 100) * 1000);
	heap_reclaim(s);
}

START_TEST(test_heap_kept_by_paused_node)
{
	struct shmseg *a = open_seg(0);
	struct shm_dirent de;
	uint64_t spare, tmp, off;
	uint32_t g, base, holder;
	pid_t pid;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	base = used_pages(a);
	ck_assert_int_eq(node_dirent_alloc(a, 1, 0, 2, 5, 64, 1024), 0);
	ck_assert_int_eq(heap_alloc(a, 4096, &spare), 0);
	/* a free whose reclaim falls due while the lock is kept */
	ck_assert_int_eq(heap_alloc(a, 4096, &tmp), 0);
	ck_assert_int_eq(heap_free(a, tmp, 4096), 0);
	pid = holder_start(HEAP, 0);
	usleep((SHM_QUARANTINE_MS + 100) * 1000);

	ck_assert_int_eq(heap_alloc(a, 4096, &off), -EBUSY);
	ck_assert_int_eq(heap_free(a, spare, 4096), -EBUSY);
	ck_assert_uint_eq(heap_reclaim(a), 0);
	ck_assert_int_eq(node_dirent_alloc(a, 1, 0, 3, 5, 64, 1024), -EBUSY);
	/* the ring is retired at once, its pages freed later */
	ck_assert_int_eq(node_dirent_clear(a, 1, 0, 2), -EBUSY);
	ck_assert_int_eq(node_dirent_read(a, 1, 0, 2, &de), -ENOENT);
	ck_assert_uint_ge(shmseg_lock_busy(a, &holder), 1);
	ck_assert_uint_eq(holder, HOLDER);

	holder_kill(pid);
	ck_assert_uint_gt(heap_reclaim(a), 0); /* the free due before */
	ck_assert_int_eq(node_dirent_clear(a, 1, 0, 2), 0);
	ck_assert_int_eq(node_dirent_clear(a, 1, 0, 2), 0); /* done: no-op */
	ck_assert_int_eq(heap_free(a, spare, 4096), 0);
	quarantine_ends(a);
	ck_assert_uint_eq(used_pages(a), base); /* not a page lost */
	ck_assert_int_eq(node_dirent_alloc(a, 1, 0, 3, 5, 64, 1024), 0);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_table_kept_by_stopped_node)
{
	struct shmseg *a = open_seg(0), *b = open_seg(300), *c = open_seg(0);
	struct shm_node *n2, *n4;
	uint32_t g, base;
	pid_t pid;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	node_publish(a, 1);
	base = used_pages(a);
	peer_with_ring(2);
	ck_assert_int_eq(node_claim(c, 4, &g), 4);
	node_publish(c, 4);
	n2 = shmseg_node(a, 2);
	n4 = shmseg_node(a, 4);
	pid = holder_start(TABLE, 1);

	ck_assert_int_eq(node_reap(a, 1, 2), 0);
	ck_assert_uint_eq(atomic_load(&n2->state), SHM_NODE_UP);
	ck_assert_int_eq(node_claim(b, 3, &g), -EBUSY);
	ck_assert(!ofd_alive(a, 3)); /* the claim let go of node 3 */
	/* a leave that cannot have the table lock drops the node lock and
	 * leaves the node UP, for the others to reap */
	ck_assert_int_eq(node_leave(c, 4), -EBUSY);
	ck_assert(!ofd_alive(a, 4));
	ck_assert_uint_eq(atomic_load(&n4->state), SHM_NODE_UP);

	holder_kill(pid);
	ck_assert_int_eq(node_reap(a, 1, 2), 1);
	ck_assert_int_eq(node_reap(a, 1, 4), 1);
	ck_assert_uint_eq(atomic_load(&n2->state), SHM_NODE_DOWN);
	ck_assert_int_eq(node_claim(b, 3, &g), 3);
	quarantine_ends(a);
	ck_assert_uint_eq(used_pages(a), base);
	shmseg_close(c, 0);
	shmseg_close(b, 0);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_leave_with_heap_kept_is_reaped)
{
	struct shmseg *a = open_seg(0), *c = open_seg(0);
	struct shm_node *n4;
	uint32_t g, base;
	pid_t pid;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	node_publish(a, 1);
	base = used_pages(a);
	ck_assert_int_eq(node_claim(c, 4, &g), 4);
	node_publish(c, 4);
	ck_assert_int_eq(node_dirent_alloc(c, 4, 0, 1, 1, 64, 1024), 0);
	n4 = shmseg_node(a, 4);
	pid = holder_start(HEAP, 1);

	/* the rings of node 4 cannot be freed: it leaves them to a reaper */
	ck_assert_int_eq(node_leave(c, 4), -EBUSY);
	ck_assert(!ofd_alive(a, 4));
	ck_assert_uint_eq(atomic_load(&n4->state), SHM_NODE_UP);
	shmseg_close(c, 0);
	ck_assert_int_eq(node_reap(a, 1, 4), 0); /* the heap is still kept */
	ck_assert_uint_eq(atomic_load(&n4->state), SHM_NODE_UP);

	holder_kill(pid);
	ck_assert_int_eq(node_reap(a, 1, 4), 1);
	ck_assert_uint_eq(atomic_load(&n4->state), SHM_NODE_DOWN);
	quarantine_ends(a);
	ck_assert_uint_eq(used_pages(a), base);
	shmseg_close(a, 0);
}
END_TEST

static Suite *
lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, DEADLINE + 10);
	tcase_add_test(tc, test_heap_kept_by_paused_node);
	tcase_add_test(tc, test_table_kept_by_stopped_node);
	tcase_add_test(tc, test_leave_with_heap_kept_is_reaped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(lock_suite());
}
