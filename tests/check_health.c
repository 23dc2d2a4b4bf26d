/*
 * check_health.c: the health checks of a node's ports (daemon/health.c):
 * the rise/fall state machine, a pure function; what a publish's
 * listeners carry; and one real round of each kind of check, run on an
 * event loop until the state changes (no assertion on time).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "health.h"
#include "testutil.h"

/* results: feed a string of results ('+' success, '-' failure) to sm;
 * the number of state changes. */
static int
results(struct health_sm *sm, const char *r, uint32_t rise, uint32_t fall)
{
	int changes = 0;

	for (; *r != '\0'; r++)
		changes += health_step(sm, *r == '+', rise, fall);
	return changes;
}

START_TEST(test_pending_decides_on_rise_or_fall)
{
	struct health_sm sm;

	health_sm_init(&sm);
	ck_assert_uint_eq(sm.state, SHM_CHECK_PENDING);
	ck_assert_int_eq(results(&sm, "+", 2, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_PENDING);
	ck_assert_int_eq(health_step(&sm, 1, 2, 3), 1);
	ck_assert_uint_eq(sm.state, SHM_CHECK_UP);

	health_sm_init(&sm);
	ck_assert_int_eq(results(&sm, "--", 2, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_PENDING);
	ck_assert_int_eq(health_step(&sm, 0, 2, 3), 1);
	ck_assert_uint_eq(sm.state, SHM_CHECK_DOWN);
	ck_assert_uint_eq(sm.bad, 3);

	/* alternating results decide nothing */
	health_sm_init(&sm);
	ck_assert_int_eq(results(&sm, "+-+-+--+-++-", 3, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_PENDING);
}
END_TEST

START_TEST(test_up_goes_down_after_fall_in_a_row)
{
	struct health_sm sm;

	health_sm_init(&sm);
	ck_assert_int_eq(results(&sm, "++", 2, 3), 1);
	/* two failures, then a success: the count starts again */
	ck_assert_int_eq(results(&sm, "--+--+", 2, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_UP);
	ck_assert_int_eq(results(&sm, "--", 2, 3), 0);
	ck_assert_int_eq(results(&sm, "-", 2, 3), 1);
	ck_assert_uint_eq(sm.state, SHM_CHECK_DOWN);
	/* more failures: still down, no change */
	ck_assert_int_eq(results(&sm, "-----", 2, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_DOWN);
}
END_TEST

START_TEST(test_down_comes_up_after_rise_in_a_row)
{
	struct health_sm sm;

	health_sm_init(&sm);
	ck_assert_int_eq(results(&sm, "---", 4, 3), 1);
	ck_assert_int_eq(results(&sm, "+++-+++-", 4, 3), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_DOWN);
	ck_assert_int_eq(results(&sm, "+++", 4, 3), 0);
	ck_assert_int_eq(results(&sm, "+", 4, 3), 1);
	ck_assert_uint_eq(sm.state, SHM_CHECK_UP);
	ck_assert_uint_eq(sm.ok, 4);
	ck_assert_uint_eq(sm.bad, 0);
}
END_TEST

START_TEST(test_rise_and_fall_of_one_flip_every_time)
{
	struct health_sm sm;

	health_sm_init(&sm);
	ck_assert_int_eq(results(&sm, "+-+-", 1, 1), 4);
	ck_assert_uint_eq(sm.state, SHM_CHECK_DOWN);
	ck_assert_int_eq(results(&sm, "--", 1, 1), 0);
}
END_TEST

START_TEST(test_none_never_changes)
{
	struct health_sm sm = { SHM_CHECK_NONE, 0, 0 };

	ck_assert_int_eq(results(&sm, "+++---+", 1, 1), 0);
	ck_assert_uint_eq(sm.state, SHM_CHECK_NONE);
}
END_TEST

/* A health module on an event loop of its own; SIGCHLD reaps. */
static struct event_base *base;
static struct event *ev_chld, *ev_cap;
static struct health *hl;
static struct conf cf;
static int changes;

/* on_change: a check changed (or the settings did): count, and stop the
 * loop. */
static void
on_change(void *arg)
{
	changes++;
	event_base_loopbreak(base);
}

/* on_chld: SIGCHLD, through the loop, as shmnetd.c does. */
static void
on_chld(evutil_socket_t sig, short ev, void *arg)
{
	health_reap(hl);
}

/* on_cap: the test's loop ran far too long. */
static void
on_cap(evutil_socket_t fd, short ev, void *arg)
{
	ck_abort_msg("no check changed in 30 s");
}

static void
loop_setup(void)
{
	conf_defaults(&cf);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(ev_chld = evsignal_new(base, SIGCHLD, on_chld,
				  NULL));
	ck_assert_int_eq(event_add(ev_chld, NULL), 0);
	ck_assert_ptr_nonnull(ev_cap = evtimer_new(base, on_cap, NULL));
	ck_assert_ptr_nonnull(hl = health_new(base, &cf, 0, on_change, NULL));
	changes = 0;
}

static void
loop_teardown(void)
{
	health_free(hl);
	event_free(ev_cap);
	event_free(ev_chld);
	event_base_free(base);
}

/* configure: check, rise and fall, interval 1 s, timeout 1 s. */
static void
configure(const char *check, uint32_t rise, uint32_t fall)
{
	strcpy(cf.g.check, check);
	cf.g.check_interval = 1;
	cf.g.check_timeout = 1;
	cf.g.check_rise = rise;
	cf.g.check_fall = fall;
	ck_assert_int_eq(health_configure(hl, &cf.g), 0);
}

/* run: the loop until a check changes; the state then of l's port. */
static uint8_t
run(struct shm_listen *l)
{
	struct timeval cap = { 30, 0 };
	int before = changes;

	evtimer_add(ev_cap, &cap);
	while (changes == before)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	evtimer_del(ev_cap);
	health_merge(hl, l, 1);
	return l->check;
}

/* listener: a published listener of port (wildcard). */
static struct shm_listen
listener(uint8_t proto, uint16_t port)
{
	struct shm_listen l;

	memset(&l, 0, sizeof(l));
	l.family = 4;
	l.proto = proto;
	l.port = port;
	return l;
}

START_TEST(test_merge_fills_every_listener)
{
	struct shm_listen l[4] = { listener(IPPROTO_TCP, 80),
		listener(IPPROTO_UDP, 53), listener(IPPROTO_TCP, 80),
		listener(IPPROTO_TCP, 81) };

	l[2].flags = SHM_LISTEN_SPECIFIC | SHM_LISTEN_FAILING;
	configure("none", 2, 3);
	health_merge(hl, l, 4);
	ck_assert_uint_eq(l[0].check, SHM_CHECK_NONE);
	ck_assert_uint_eq(l[1].check, SHM_CHECK_NONE);
	ck_assert_uint_eq(l[2].flags, SHM_LISTEN_SPECIFIC); /* not failing */

	/* tcp: TCP ports on the wildcard address pending; UDP ones, and a
	 * port with a socket bound to G (unreachable from its node) none */
	configure("tcp", 2, 3);
	health_merge(hl, l, 4);
	ck_assert_uint_eq(l[0].check, SHM_CHECK_NONE);
	ck_assert_uint_eq(l[1].check, SHM_CHECK_NONE);
	ck_assert_uint_eq(l[2].check, SHM_CHECK_NONE);
	ck_assert_uint_eq(l[3].check, SHM_CHECK_PENDING);
	ck_assert_uint_ne(l[3].check_since, 0);
	ck_assert_uint_eq(l[3].flags & SHM_LISTEN_FAILING, 0);
	/* the socket bound to G gone, port 80 is checked */
	health_merge(hl, l, 2);
	ck_assert_uint_eq(l[0].check, SHM_CHECK_PENDING);
	ck_assert_uint_eq(l[1].check, SHM_CHECK_NONE);

	/* exec: every port */
	configure("exec:/bin/true", 2, 3);
	health_merge(hl, l, 4);
	ck_assert_uint_eq(l[1].check, SHM_CHECK_PENDING);
	ck_assert_uint_eq(l[2].check, SHM_CHECK_PENDING);

	/* a value conf.c refuses changes nothing */
	strcpy(cf.g.check, "exec:relative");
	ck_assert_int_eq(health_configure(hl, &cf.g), -EINVAL);
	health_merge(hl, l, 4);
	ck_assert_uint_eq(l[1].check, SHM_CHECK_PENDING);
}
END_TEST

START_TEST(test_exec_success_and_failure)
{
	struct shm_listen l = listener(IPPROTO_TCP, 7);

	configure("exec:/bin/true", 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(run(&l), SHM_CHECK_UP);
	ck_assert_uint_eq(l.flags & SHM_LISTEN_FAILING, 0);
	/* another program: pending again, then its verdict */
	configure("exec:/bin/false", 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(l.check, SHM_CHECK_PENDING);
	ck_assert_uint_eq(run(&l), SHM_CHECK_DOWN);
	ck_assert_uint_eq(l.flags & SHM_LISTEN_FAILING, SHM_LISTEN_FAILING);
	/* the same program again keeps the verdict */
	configure("exec:/bin/false", 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(l.check, SHM_CHECK_DOWN);
}
END_TEST

START_TEST(test_exec_gets_port_and_environment)
{
	char path[PATH_MAX], check[PATH_MAX + 8];
	struct shm_listen l = listener(IPPROTO_UDP, 5353);
	FILE *fp;

	tu_mkdir();
	snprintf(path, sizeof(path), "%s/check.sh", tu_dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp,
	    "#!/bin/sh\n"
	    "[ \"$1\" = 5353 ] && [ \"$SHMNET_PORT\" = 5353 ] &&\n"
	    "[ \"$SHMNET_PROTO\" = udp ] && [ \"$SHMNET_FAMILY\" = 4 ] "
	    "&&\n"
	    "[ ! -t 0 ] &&\n"
	    "! read -r line\n");
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	snprintf(check, sizeof(check), "exec:%s", path);
	configure(check, 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(run(&l), SHM_CHECK_UP);
	unlink(path);
	tu_rmdir();
}
END_TEST

START_TEST(test_exec_timeout_kills_the_script)
{
	struct shm_listen l = listener(IPPROTO_TCP, 60);

	/* sleep 60: far past the 1 s timeout */
	configure("exec:/bin/sleep", 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(run(&l), SHM_CHECK_DOWN);
	/* killed: reaped by the next SIGCHLD, no child left to wait for */
	while (waitpid(-1, NULL, WNOHANG) == 0)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_tcp_connects_to_loopback)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct shm_listen l;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	l = listener(IPPROTO_TCP, ntohs(sa.sin_port));
	configure("tcp", 1, 1);
	health_merge(hl, &l, 1);
	ck_assert_uint_eq(run(&l), SHM_CHECK_UP);
	/* closed: refused */
	close(fd);
	ck_assert_uint_eq(run(&l), SHM_CHECK_DOWN);
	ck_assert_uint_eq(l.flags & SHM_LISTEN_FAILING, SHM_LISTEN_FAILING);
}
END_TEST

static Suite *
health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("state machine");
	TCase *tl = tcase_create("checks");

	tcase_add_test(tc, test_pending_decides_on_rise_or_fall);
	tcase_add_test(tc, test_up_goes_down_after_fall_in_a_row);
	tcase_add_test(tc, test_down_comes_up_after_rise_in_a_row);
	tcase_add_test(tc, test_rise_and_fall_of_one_flip_every_time);
	tcase_add_test(tc, test_none_never_changes);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tl, loop_setup, loop_teardown);
	tcase_set_timeout(tl, 60);
	tcase_add_test(tl, test_merge_fills_every_listener);
	tcase_add_test(tl, test_exec_success_and_failure);
	tcase_add_test(tl, test_exec_gets_port_and_environment);
	tcase_add_test(tl, test_exec_timeout_kills_the_script);
	tcase_add_test(tl, test_tcp_connects_to_loopback);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	return tu_run(health_suite());
}
