/*
 * check_member.c: membership (daemon/member.c) against a peer that died
 * while someone keeps its heartbeat moving: its lock is probed anyway
 * within a few scans, and it is reaped; and the watch thread
 * (daemon/watch.c) asks for a scan at each death of a peer, life after
 * life.
 */
#include "config.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "testutil.h"
#include "member.h"
#include "notify.h"
#include "shmnetd.h"
#include "watch.h"

static struct shmseg *seg;
static struct handoff ho;

static void
setup(void)
{
	uint32_t gen;

	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &gen), 1);
	node_publish(seg, 1);
	ho.seg = seg;
	ho.self = 1;
	ho.gen = gen;
	ho.max_nodes = shmseg_max_nodes(seg);
	ho.node = shmseg_node(seg, 1);
}

static void
teardown(void)
{
	shmseg_close(seg, 0);
	tu_rmdir();
}

/* peer_dies: node id comes up in a child, which then dies */
static void
peer_dies(uint32_t id)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		struct shmseg *mine;
		uint32_t g;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		mine = tu_open(8 << 20, 8);
		if (node_claim(mine, id, &g) != (int)id)
			_exit(1);
		node_publish(mine, id);
		_exit(0); /* dead, its lock gone, still UP */
	}
	tu_child_ok(pid);
}

START_TEST(test_moving_heartbeat_of_the_dead_not_trusted)
{
	struct member *m = member_new(&ho, 0);
	struct shm_node *n = shmseg_node(seg, 2);
	int scan;

	ck_assert_ptr_nonnull(m);
	peer_dies(2);
	ck_assert_uint_eq(atomic_load(&n->state), SHM_NODE_UP);
	/* a scribbler keeps node 2's heartbeat moving */
	for (scan = 0; scan < 20 && atomic_load(&n->state) == SHM_NODE_UP;
	     scan++) {
		atomic_fetch_add(&n->heartbeat, 1);
		member_scan(m);
	}
	ck_assert_uint_eq(atomic_load(&n->state), SHM_NODE_DOWN);
	ck_assert_int_le(scan, 10);
	member_free(m);
}
END_TEST

/* armed_life: node id comes up in a child with its keeper armed, and
 * dies when told (a byte on *die); its PID */
static pid_t
armed_life(uint32_t id, int *die)
{
	int up[2], down[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	if ((pid = fork()) == 0) {
		struct shmseg *mine;
		uint32_t g;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(up[0]);
		close(down[1]); /* the parent's close is the word to die */
		mine = tu_open(8 << 20, 8);
		if (node_claim(mine, id, &g) != (int)id ||
		    keeper_arm(mine, id) != 0)
			_exit(1);
		node_publish(mine, id);
		if (write(up[1], "u", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		_exit(0); /* its keeper armed: a death */
	}
	ck_assert_int_gt(pid, 0);
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	close(up[0]);
	*die = down[1];
	return pid;
}

/* asked_within: the watch thread asks for a scan within 2 s */
static int
asked_within(void)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (notify_take(&ho.notify) & NOTIFY_MEMBERS)
			return 1;
		usleep(1000);
	}
	return 0;
}

START_TEST(test_watch_sees_every_death)
{
	struct shm_node *n = shmseg_node(seg, 2);
	struct watch *w;
	int life, die, i, st;
	pid_t pid;

	if (keeper_probe() != 0)
		return; /* no futex_waitv here: heartbeats only */
	notify_init(&ho.notify);
	ck_assert_int_eq(notify_open(&ho.notify), 0);
	ck_assert_ptr_nonnull(w = watch_start(&ho));
	for (life = 1; life <= 3; life++) {
		pid = armed_life(2, &die);
		watch_kick(w); /* as member.c does when it comes up */
		for (i = 0;
		     i < 2000 && !(atomic_load(&n->keeper) & FUTEX_WAITERS);
		     i++)
			usleep(1000);
		ck_assert_msg(atomic_load(&n->keeper) & FUTEX_WAITERS,
		    "life %d of node 2: nobody waits on its keeper", life);
		while (notify_take(&ho.notify) != 0)
			;
		close(die);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(asked_within(),
		    "life %d of node 2: its death asked for no scan", life);
	}
	watch_stop(w);
	notify_close(&ho.notify);
}
END_TEST

static Suite *
member_suite(void)
{
	Suite *s = suite_create("member");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_moving_heartbeat_of_the_dead_not_trusted);
	tcase_add_test(tc, test_watch_sees_every_death);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(member_suite());
}
