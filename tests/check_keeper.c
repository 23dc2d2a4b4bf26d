/*
 * check_keeper.c: a node's death as an event (libshmnet/keeper.c): a
 * killed keeper wakes a peer that sleeps in keeper_wait, once; a keeper
 * disarmed before a clean exit is no death; a new claim clears the word;
 * futex_waitv forbidden by seccomp is reported, not retried at once;
 * keeper_probe tells whether futex_waitv may be called, without sleeping.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testutil.h"

struct waiter {
	struct shmseg *seg;
	uint32_t seen[17];
	_Atomic uint32_t kick;
	_Atomic int tid;
	int rc;
};

static void
setup(void)
{
	tu_mkdir();
}

static void
teardown(void)
{
	tu_rmdir();
}

/* waiter_main: keeper_wait as node 1 until it reports or is kicked. */
static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint32_t k;

	atomic_store(&w->tid, (int)syscall(SYS_gettid));
	do {
		k = atomic_load(&w->kick);
		w->rc = keeper_wait(w->seg, 1, w->seen, &w->kick, k);
	} while (w->rc == 0 && atomic_load(&w->kick) == k);
	return NULL;
}

/* thread_sleeps: the thread is blocked in the kernel (state S). */
static int
thread_sleeps(int tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	int s = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		s = p[2] == 'S';
	fclose(f);
	return s;
}

/* waiter_open: a segment with node 1 claimed, for w. */
static void
waiter_open(struct waiter *w)
{
	uint32_t g;

	memset(w, 0, sizeof(*w));
	w->seg = tu_open(8 << 20, 16);
	ck_assert_int_eq(node_claim(w->seg, 1, &g), 1);
}

/* waiter_start: run waiter_main and return once it sleeps in the kernel. */
static void
waiter_start(struct waiter *w, pthread_t *t)
{
	ck_assert_int_eq(pthread_create(t, NULL, waiter_main, w), 0);
	while (atomic_load(&w->tid) == 0 ||
	    !thread_sleeps(atomic_load(&w->tid)))
		usleep(1000);
}

/* no_report: with nothing new, keeper_wait reports nobody (kicked). */
static void
no_report(struct waiter *w)
{
	keeper_kick(&w->kick);
	ck_assert_int_eq(keeper_wait(w->seg, 1, w->seen, &w->kick, 0), 0);
}

/* child_node2: claim node 2 and arm its keeper; disarm and exit if
 * asked, else wait to be killed.  Returns the child's PID. */
static pid_t
child_node2(int disarm)
{
	int fds[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct shmseg *s = tu_open(8 << 20, 16);
		uint32_t g;

		if (node_claim(s, 2, &g) != 2 || keeper_arm(s, 2) != 0)
			_exit(1);
		if (disarm)
			keeper_disarm(s, 2);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		if (disarm)
			_exit(0);
		for (;;)
			pause();
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

START_TEST(test_killed_keeper_wakes_peer_once)
{
	struct waiter w;
	pthread_t t;
	uint32_t g, v;
	pid_t pid;
	int st;

	waiter_open(&w);
	pid = child_node2(0);
	v = atomic_load(&shmseg_node(w.seg, 2)->keeper);
	ck_assert_uint_ne(v & FUTEX_TID_MASK, 0);
	ck_assert(!keeper_died(w.seg, 2));
	waiter_start(&w, &t); /* asleep on node 2's keeper before the kill */
	ck_assert_uint_ne(
	    atomic_load(&shmseg_node(w.seg, 2)->keeper) & FUTEX_WAITERS, 0);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	pthread_join(t, NULL); /* hangs (test times out) if missed */
	ck_assert_int_eq(w.rc, 1);
	ck_assert(keeper_died(w.seg, 2));
	ck_assert(!ofd_alive(w.seg, 2));
	no_report(&w); /* reported once */
	/* a new life of node 2 starts with a clear word */
	{
		struct shmseg *b = tu_open(8 << 20, 16);
		ck_assert_int_eq(node_claim(b, 2, &g), 2);
		ck_assert_uint_eq(atomic_load(&shmseg_node(w.seg, 2)->keeper),
		    0);
		ck_assert(!keeper_died(w.seg, 2));
		shmseg_close(b, 0);
	}
	shmseg_close(w.seg, 0);
}
END_TEST

START_TEST(test_disarmed_keeper_is_no_death)
{
	struct waiter w;
	pid_t pid;
	int st;

	waiter_open(&w);
	pid = child_node2(1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(atomic_load(&shmseg_node(w.seg, 2)->keeper), 0);
	ck_assert(!keeper_died(w.seg, 2));
	no_report(&w);
	shmseg_close(w.seg, 0);
}
END_TEST

START_TEST(test_kick_ends_the_wait)
{
	struct waiter w;
	pthread_t t;

	waiter_open(&w);
	ck_assert_int_eq(keeper_arm(w.seg, 1), 0); /* self: not watched */
	waiter_start(&w, &t);
	keeper_kick(&w.kick);
	pthread_join(t, NULL);
	ck_assert_int_eq(w.rc, 0);
	keeper_disarm(w.seg, 1);
	shmseg_close(w.seg, 0);
}
END_TEST

START_TEST(test_forbidden_waitv_is_an_error_not_a_spin)
{
	struct waiter w;
	pid_t pid;

	waiter_open(&w);
	if ((pid = fork()) == 0) {
		/* a return of 0 would make the watch thread loop at once */
		_exit(tu_forbid(449 /* futex_waitv */) != 0 ? 2 :
			keeper_wait(w.seg, 1, w.seen, &w.kick, 0) == -EPERM ?
							      0 :
							      1);
	}
	tu_child_ok(pid);
	shmseg_close(w.seg, 0);
}
END_TEST

START_TEST(test_probe_says_whether_waitv_is_allowed)
{
	pid_t pid;

	ck_assert_int_eq(keeper_probe(), 0);
	if ((pid = fork()) == 0)
		_exit(tu_forbid(449 /* futex_waitv */) != 0 ? 2 :
			keeper_probe() == -EPERM            ? 0 :
							      1);
	tu_child_ok(pid);
}
END_TEST

static Suite *
keeper_suite(void)
{
	Suite *s = suite_create("keeper");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_killed_keeper_wakes_peer_once);
	tcase_add_test(tc, test_disarmed_keeper_is_no_death);
	tcase_add_test(tc, test_kick_ends_the_wait);
	tcase_add_test(tc, test_forbidden_waitv_is_an_error_not_a_spin);
	tcase_add_test(tc, test_probe_says_whether_waitv_is_allowed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(keeper_suite());
}
