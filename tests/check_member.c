/*
 * check_member.c: membership (daemon/member.c) against a peer that died
 * while someone keeps its heartbeat moving: its lock is probed anyway
 * within a few scans, and it is reaped.
 */
#include "config.h"

#include <signal.h>
#include <sys/prctl.h>

#include "testutil.h"
#include "member.h"
#include "shmnetd.h"

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

static Suite *
member_suite(void)
{
	Suite *s = suite_create("member");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_moving_heartbeat_of_the_dead_not_trusted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(member_suite());
}
