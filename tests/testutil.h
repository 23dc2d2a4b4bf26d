/*
 * testutil.h: helpers shared by the unit tests.
 */
#ifndef SHMNET_TESTUTIL_H
#define SHMNET_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/*
 * Skipped tests.  A test that cannot run here (no root, no TAP, one CPU)
 * calls tu_skip and returns; Check would count it as passed, so tu_skip
 * also counts it, in a page shared with the forked children Check runs
 * tests in, and tu_run makes the binary's exit status automake's SKIP
 * (77) when a test skipped and none failed: a PASS says that every test
 * ran.
 */
#define TU_EXIT_SKIP 77

static _Atomic unsigned int *tu_skips;

/* tu_skip: test is skipped, for the reason why */
static inline void
tu_skip(const char *test, const char *why)
{
	fprintf(stderr, "%s: %s; skipped\n", test, why);
	if (tu_skips != NULL)
		atomic_fetch_add(tu_skips, 1);
}

/* tu_run: run a suite; the exit status for automake (0, 1, or 77 when
 * tests skipped and none failed) */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	unsigned int skipped;
	int failed, ran;

	tu_skips = mmap(NULL, sizeof(*tu_skips), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tu_skips == MAP_FAILED)
		tu_skips = NULL; /* skips then pass, as Check has it */
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	skipped = tu_skips != NULL ? atomic_load(tu_skips) : 0;
	if (failed != 0)
		return EXIT_FAILURE;
	if (skipped == 0)
		return EXIT_SUCCESS;
	printf("%u of %d tests skipped (why: above); the others passed\n",
	    skipped, ran);
	return TU_EXIT_SKIP;
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
 * test's own), or that test is skipped (tu_skip) */
static inline int
tu_can_tap(const char *test)
{
	if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0)
		return 1;
	tu_skip(test, "needs root and /dev/net/tun");
	return 0;
}

/* tu_sh: run a shell command (in the test's namespace); must succeed */
static inline void
tu_sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/*
 * A peer that writes pads into a ring for as long as it is let (at most
 * TU_PAD_MS): it keeps up to half the ring of them ahead of the reader,
 * whose private index (ring_rx.ridx, cast_rx.cursor) it reads, as only a
 * test can, so that a reader that follows pads does not catch up while
 * the writer runs (it may, when a busy machine preempts the writer).
 * Pads of a broadcast ring (cast) carry their slot's seq.
 * tests/tsan.supp names tu_pad_writer: its reads of the reader's index
 * race by design.
 */
#define TU_PAD_MS 3000

struct tu_pads {
	uint8_t *mem;              /* the ring */
	uint32_t slots;            /* its slots */
	const uint32_t *reader;    /* the reader's index */
	int cast;                  /* a broadcast ring */
	_Atomic int stop, stopped; /* asked to stop; has stopped */
	pthread_t th;
};

static inline void *
tu_pad_writer(void *arg)
{
	struct tu_pads *p = arg;
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)p->mem;
	struct shm_desc *d = (struct shm_desc *)(p->mem + sizeof(*h)), *e;
	uint64_t end = clock_ms() + TU_PAD_MS;
	uint32_t w = atomic_load(&h->widx), r = w, n = 0;

	/* the clock may cost a system call: read it now and then */
	while (!atomic_load(&p->stop) && (++n % 1024 || clock_ms() < end)) {
		/* published four at a time, the reader's index read only
		 * when half the ring is ahead of it, to outpace the reader */
		while (w - r < p->slots / 2) {
			e = &d[w & (p->slots - 1)];
			__atomic_store_n(&e->len, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&e->span, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&e->flags, SHM_DESC_PAD,
			    __ATOMIC_RELAXED);
			if (p->cast)
				atomic_store_explicit(&e->seq, w + 1,
				    memory_order_release);
			if (++w % 4 == 0)
				atomic_store_explicit(&h->widx, w,
				    memory_order_release);
		}
		atomic_store_explicit(&h->widx, w, memory_order_release);
		r = __atomic_load_n(p->reader, __ATOMIC_RELAXED);
	}
	atomic_store(&p->stopped, 1);
	return NULL;
}

/* tu_pads_start: run tu_pad_writer on p until tu_pads_stop; returns
 * once the first pads are published. */
static inline void
tu_pads_start(struct tu_pads *p)
{
	struct shm_ring_hdr *h = (struct shm_ring_hdr *)p->mem;
	uint32_t w = atomic_load(&h->widx);

	atomic_store(&p->stop, 0);
	atomic_store(&p->stopped, 0);
	ck_assert_int_eq(pthread_create(&p->th, NULL, tu_pad_writer, p), 0);
	while (atomic_load(&h->widx) == w)
		sched_yield();
}

/* tu_pads_stop: stop the writer; 1 if it was still writing (it had not
 * run out its TU_PAD_MS). */
static inline int
tu_pads_stop(struct tu_pads *p)
{
	int running = !atomic_load(&p->stopped);

	atomic_store(&p->stop, 1);
	pthread_join(p->th, NULL);
	return running;
}

/* tu_age_flows: make every flow of the connection table ms older (so
 * that embryonic ones may be evicted without the test waiting). */
static inline void
tu_age_flows(struct shmseg *seg, uint32_t ms)
{
	uint32_t b, i;

	for (b = 0; b < shmseg_conn_buckets(seg); b++)
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++)
			shmseg_conn_bucket(seg, b)->e[i].created_ms -= ms;
}

/* tu_add_flow: 192.0.2.7:fport -> G:8080 in state, served by node 2,
 * entered by node 1, recorded by node 1's handle seg. */
static inline void
tu_add_flow(struct shmseg *seg, uint16_t fport, uint16_t state)
{
	static const struct conn_timeouts tmo = { 30, 900, 10, 30 };
	struct conn_key k = {
		.family = 4, .proto = 6 /* TCP */, .lport = 8080, .fport = fport
	};
	const uint8_t client[4] = { 192, 0, 2, 7 };
	struct shm_conn e;

	memcpy(k.faddr, client, sizeof(client));
	ck_assert_int_eq(conn_insert(seg, 1, &k, 2, 1, state, conn_now(), &tmo,
			     &e, NULL),
	    1);
}

/* tu_segment_case: a test case whose tests each have a segment that
 * setup fills (teardown undoes), in a directory removed after them,
 * whatever they did. */
static inline TCase *
tu_segment_case(Suite *s, const char *name, void (*setup)(void),
    void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, tu_mkdir, tu_rmdir);
	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

/* tu_dgram_listen: a datagram socket bound to path (a leading '@': an
 * abstract name), as a service manager's NOTIFY_SOCKET is. */
static inline int
tu_dgram_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* tu_received: the next datagram on fd, as a string (there must be
 * one). */
static inline const char *
tu_received(int fd)
{
	static char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return buf;
}

#endif /* SHMNET_TESTUTIL_H */
