/*
 * testutil.h: helpers shared by the unit tests.
 */
#ifndef SHMNET_TESTUTIL_H
#define SHMNET_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forbid.h"
#include "shmnet.h"

/* A private directory for one test's segment files. */
static char tu_dir[256] __attribute__((unused));
static char tu_path[PATH_MAX] __attribute__((unused));

static inline void
tu_mkdir(void)
{
	snprintf(tu_dir, sizeof(tu_dir), "/tmp/shmnet-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tu_dir));
	snprintf(tu_path, sizeof(tu_path), "%s/seg", tu_dir);
}

static inline void
tu_rmdir(void)
{
	DIR *d = opendir(tu_dir);
	struct dirent *e;
	char p[PATH_MAX + 300];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tu_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tu_dir);
}

/* tu_params: the parameters of a test segment at tu_path */
static inline struct shmseg_params
tu_params(uint64_t size, uint32_t max_nodes)
{
	struct shmseg_params p = { .path = tu_path,
		.cluster = "test",
		.size = size,
		.max_nodes = max_nodes,
		.cast_slots = 64,
		.cast_slot_size = 256,
		.conn_buckets = 64,
		.mcast_rings = { 3, 1 } };

	return p;
}

static inline struct shmseg *
tu_open(uint64_t size, uint32_t max_nodes)
{
	struct shmseg_params p = tu_params(size, max_nodes);
	struct shmseg *s = NULL;
	char err[256];
	int rc = shmseg_open(&p, &s, err, sizeof(err));

	ck_assert_msg(rc == 0, "shmseg_open: %s", err);
	return s;
}

static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* tu_child_ok: wait for child pid; it exited with status 0 */
static inline void
tu_child_ok(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* tu_can_tap: root and /dev/net/tun (a TAP and a namespace of the
 * test's own), or say that test is skipped */
static inline int
tu_can_tap(const char *test)
{
	if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0)
		return 1;
	fprintf(stderr, "%s: needs root and /dev/net/tun; skipped\n", test);
	return 0;
}

/* tu_sh: run a shell command (in the test's namespace); must succeed */
static inline void
tu_sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

#endif /* SHMNET_TESTUTIL_H */
