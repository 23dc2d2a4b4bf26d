/*
 * check_follow.c: the rules of daemon/follow.c on the test's own thread,
 * with a sending CPU it sets itself (as tun/steer.c's program would):
 * FOLLOW_RUN_EXACT sends in a row from one CPU publish it, fewer do
 * not, a change of CPU starts over; a flood withdraws the CPU and the
 * next send from the same CPU publishes it again; a stream withdraws it
 * and starts over; the receive thread keeps to the published CPU and
 * shows it, the transmit thread keeps with it, a flood frees both; in a
 * flood of small frames the transmit thread keeps to the sender's CPU,
 * unless large frames or a received flood came within 100 ms; with
 * cpu-follow off nothing is published.  No root needed.
 */
#include "config.h"

#include <sched.h>

#include "testutil.h"
#include "follow.h"
#include "shmnetd.h"

#define EXACT 8 /* FOLLOW_RUN_EXACT */

static struct netconf nc;
static struct netif ni;
static struct handoff_net h;
static _Atomic uint32_t send_cpu;

/* net: a network as the threads see it, following on */
static void
net(int follow)
{
	memset(&nc, 0, sizeof(nc));
	memset(&ni, 0, sizeof(ni));
	memset(&h, 0, sizeof(h));
	nc.cpu_follow = (uint32_t)follow;
	ni.nc = &nc;
	ni.name = "local";
	ni.tap.send_cpu = &send_cpu;
	h.app_cpu = -1;
	h.rx_cpu = -1;
	atomic_store(&send_cpu, TAP_CPU_NONE);
}

/* sends: n frames sent from cpu, each read by a blocking read */
static void
sends(struct txfollow *f, int cpu, int n)
{
	atomic_store(&send_cpu, (uint32_t)cpu);
	while (n-- > 0)
		follow_tx_wake(&ni, &h, f);
}

/* two_cpus: the first two CPUs we may run on, or 0 if fewer (then
 * test is skipped: with one CPU there is nothing to follow) */
static int
two_cpus(const char *test, int *a, int *b)
{
	cpu_set_t s;
	int c, n = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &s))
			*(n++ == 0 ? a : b) = c;
	if (n < 2)
		tu_skip(test, "needs two CPUs it may run on");
	return n == 2;
}

/* allowed: how many CPUs this thread may run on */
static int
allowed(void)
{
	cpu_set_t s;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(s), &s), 0);
	return CPU_COUNT(&s);
}

START_TEST(test_a_run_of_sends_publishes_the_cpu)
{
	struct txfollow f;

	net(1);
	follow_tx_init(&ni, &h, &f);
	sends(&f, 3, EXACT - 1);
	ck_assert_int_eq(h.app_cpu, -1);
	sends(&f, 2, 1); /* another CPU: start over */
	sends(&f, 3, EXACT - 1);
	ck_assert_int_eq(h.app_cpu, -1);
	sends(&f, 3, 1);
	ck_assert_int_eq(h.app_cpu, 3);
	atomic_store(&send_cpu, TAP_CPU_NONE); /* nothing sent yet */
	follow_tx_wake(&ni, &h, &f);
	ck_assert_int_eq(h.app_cpu, 3);
}
END_TEST

START_TEST(test_published_again_after_a_flood)
{
	struct txfollow f;
	struct follow rx;
	int a, b;

	if (!two_cpus(__func__, &a, &b)) /* else the receive side is off */
		return;
	net(1);
	follow_tx_init(&ni, &h, &f);
	follow_rx_init(&ni, &h, &rx);
	sends(&f, 0, EXACT);
	ck_assert_int_eq(h.app_cpu, 0);
	follow_rx(&ni, &h, &rx, RX_FLOOD_FRAMES, 64 * RX_FLOOD_FRAMES);
	ck_assert_int_eq(h.app_cpu, -1);
	sends(&f, 0, 1); /* same CPU: the run still holds */
	ck_assert_int_eq(h.app_cpu, 0);
	(void)a;
	(void)b;
}
END_TEST

START_TEST(test_a_stream_withdraws_and_starts_over)
{
	struct txfollow f;

	net(1);
	follow_tx_init(&ni, &h, &f);
	sends(&f, 1, EXACT);
	ck_assert_int_eq(h.app_cpu, 1);
	follow_tx_stream(&ni, &h, &f, 1, 0);
	ck_assert_int_eq(h.app_cpu, -1);
	sends(&f, 1, EXACT - 1);
	ck_assert_int_eq(h.app_cpu, -1);
	sends(&f, 1, 1);
	ck_assert_int_eq(h.app_cpu, 1);
}
END_TEST

START_TEST(test_threads_keep_to_the_cpu_and_a_flood_frees_them)
{
	struct txfollow f;
	struct follow rx;
	int a, b, all = allowed();

	if (!two_cpus(__func__, &a, &b))
		return;
	net(1);
	follow_tx_init(&ni, &h, &f);
	follow_rx_init(&ni, &h, &rx);
	sends(&f, b, EXACT);
	follow_rx(&ni, &h, &rx, 1, 64); /* a lone small frame */
	ck_assert_int_eq(rx.pinned, b);
	ck_assert_int_eq(h.rx_cpu, b);
	ck_assert_int_eq(allowed(), 1); /* this thread is the "rx" one */
	sends(&f, b, 1);                /* the tx thread keeps with it */
	ck_assert_int_eq(f.th.pinned, b);
	follow_rx(&ni, &h, &rx, 1, 8192); /* a large frame: a stream */
	ck_assert_int_eq(rx.pinned, -1);
	ck_assert_int_eq(h.rx_cpu, -1);
	ck_assert_int_eq(allowed(), all);
	sends(&f, b, 1);
	ck_assert_int_eq(f.th.pinned, -1);
	follow_rx(&ni, &h, &rx, 1, 64); /* within 100 ms of the flood */
	ck_assert_int_eq(rx.pinned, -1);
	(void)a;
}
END_TEST

START_TEST(test_a_small_flood_keeps_tx_on_the_senders_cpu)
{
	struct txfollow f;
	int a, b, all = allowed();

	if (!two_cpus(__func__, &a, &b))
		return;
	net(1);
	follow_tx_init(&ni, &h, &f);
	atomic_store(&send_cpu, (uint32_t)b);
	follow_tx_stream(&ni, &h, &f, 0, 1); /* a batch of small frames */
	ck_assert_int_eq(f.th.pinned, b);
	ck_assert_int_eq(allowed(), 1);
	ck_assert_int_eq(h.app_cpu, -1);     /* rx stays free */
	follow_tx_stream(&ni, &h, &f, 0, 0); /* a smaller backlog */
	ck_assert_int_eq(f.th.pinned, b);
	sends(&f, b, EXACT); /* blocking reads do not follow rx */
	ck_assert_int_eq(f.th.pinned, b);
	follow_tx_stream(&ni, &h, &f, 1, 0); /* a large frame */
	ck_assert_int_eq(f.th.pinned, -1);
	ck_assert_int_eq(allowed(), all);
	follow_tx_stream(&ni, &h, &f, 0, 1); /* within 100 ms of it */
	ck_assert_int_eq(f.th.pinned, -1);
	(void)a;
}
END_TEST

START_TEST(test_no_small_flood_pinning_while_receiving_one)
{
	struct txfollow f;
	struct follow rx;
	int a, b;

	if (!two_cpus(__func__, &a, &b))
		return;
	net(1);
	follow_tx_init(&ni, &h, &f);
	follow_rx_init(&ni, &h, &rx);
	follow_rx(&ni, &h, &rx, RX_FLOOD_FRAMES, 64 * RX_FLOOD_FRAMES);
	atomic_store(&send_cpu, (uint32_t)b);
	follow_tx_stream(&ni, &h, &f, 0, 1);
	ck_assert_int_eq(f.th.pinned, -1);
	atomic_store(&send_cpu, TAP_CPU_NONE); /* sender unknown */
	h.rx_flood_us = 0;
	follow_tx_stream(&ni, &h, &f, 0, 1);
	ck_assert_int_eq(f.th.pinned, -1);
	(void)a;
}
END_TEST

START_TEST(test_the_guess_needs_long_runs_and_leaves_tx_free)
{
	struct txfollow f;
	cpu_set_t one;
	int a, b, i;

	if (!two_cpus(__func__, &a, &b))
		return;
	net(1);
	ni.tap.send_cpu = NULL; /* no steering eBPF */
	CPU_ZERO(&one);
	CPU_SET(b, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	follow_tx_init(&ni, &h, &f);
	ck_assert(f.th.off);
	for (i = 0; i < 127; i++)
		follow_tx_wake(&ni, &h, &f);
	ck_assert_int_eq(h.app_cpu, -1);
	follow_tx_wake(&ni, &h, &f);
	ck_assert_int_eq(h.app_cpu, b);
	(void)a;
}
END_TEST

START_TEST(test_off_publishes_nothing)
{
	struct txfollow f;
	struct follow rx;

	net(0);
	follow_tx_init(&ni, &h, &f);
	follow_rx_init(&ni, &h, &rx);
	sends(&f, 0, 4 * EXACT);
	ck_assert_int_eq(h.app_cpu, -1);
	ck_assert(rx.off && f.th.off);
}
END_TEST

static Suite *
follow_suite(void)
{
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_a_run_of_sends_publishes_the_cpu);
	tcase_add_test(tc, test_published_again_after_a_flood);
	tcase_add_test(tc, test_a_stream_withdraws_and_starts_over);
	tcase_add_test(tc, test_threads_keep_to_the_cpu_and_a_flood_frees_them);
	tcase_add_test(tc, test_a_small_flood_keeps_tx_on_the_senders_cpu);
	tcase_add_test(tc, test_no_small_flood_pinning_while_receiving_one);
	tcase_add_test(tc, test_the_guess_needs_long_runs_and_leaves_tx_free);
	tcase_add_test(tc, test_off_publishes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(follow_suite());
}
