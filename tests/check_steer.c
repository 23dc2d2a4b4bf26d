/*
 * check_steer.c: the TAP's steering eBPF hook (tun/steer.c) on a real
 * multi-queue TAP in a network namespace of the test's own: every frame
 * sent still reaches the one queue the daemon reads, and send_cpu names
 * the CPU the send ran on, for each CPU the test can run on; a
 * single-queue TAP is refused; bpf(2) forbidden by seccomp (as container
 * profiles do) is an error that leaves the TAP single-queue and working.
 * Needs root (TAP, namespace, bpf); skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "testutil.h"
#include "tap.h"

static struct tap tap;

/* tap_up: steer0 (multi-queue if mq) with 10.78.0.1/24 and a pinned
 * neighbour 10.78.0.2, in a fresh namespace with IPv6 off (nothing but
 * the test's frames in the queue) */
static void
tap_up(int mq)
{
	char err[256];

	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	tu_sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	ck_assert_msg(tap_open(&tap, "steer0", 1, mq, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(tap.multi_queue, mq);
	tu_sh("ip link set steer0 up && ip addr add 10.78.0.1/24 dev steer0 && "
	      "ip neigh add 10.78.0.2 lladdr 02:00:00:00:00:02 dev steer0");
}

/* send_read: send one UDP datagram from CPU cpu and read its frame from
 * the daemon's queue (t->fd) within 2 s */
static void
send_read(int cpu)
{
	static uint8_t buf[70000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct pollfd p = { .fd = tap.fd, .events = POLLIN };
	cpu_set_t one;
	ssize_t n;
	int s;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	inet_pton(AF_INET, "10.78.0.2", &to.sin_addr);
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(
	    sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	close(s);
	ck_assert_msg(poll(&p, 1, 2000) == 1,
	    "the frame sent from CPU %d did not reach queue 0", cpu);
	ck_assert_int_gt(n = read(tap.fd, buf, sizeof(buf)), 12 + 14 + 20);
	ck_assert_int_eq(buf[12 + 12], 0x08); /* IPv4 */
}

START_TEST(test_send_cpu_is_the_senders)
{
	cpu_set_t all;
	uint32_t got;
	int cpu, tried = 0;

	if (!tu_can_tap("check_steer"))
		return;
	tap_up(1);
	ck_assert_int_eq(tap_steer_open(&tap), 0);
	ck_assert_ptr_nonnull(tap.send_cpu);
	ck_assert_int_ge(tap.queue2, 0);
	ck_assert_uint_eq(atomic_load(tap.send_cpu), TAP_CPU_NONE);
	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	for (int round = 0; round < 2; round++) /* each CPU, twice */
		for (cpu = 0; cpu < CPU_SETSIZE && tried < 16; cpu++) {
			if (!CPU_ISSET(cpu, &all))
				continue;
			send_read(cpu);
			got = atomic_load(tap.send_cpu);
			ck_assert_msg(got == (uint32_t)cpu,
			    "a send from CPU %d recorded as CPU %u", cpu, got);
			tried++;
		}
	ck_assert_int_gt(tried, 0);
	tap_close(&tap);
	ck_assert_ptr_null(tap.send_cpu);
	ck_assert_int_eq(tap.queue2, -1);
}
END_TEST

START_TEST(test_single_queue_tap_refused)
{
	if (!tu_can_tap("check_steer"))
		return;
	tap_up(0);
	ck_assert_int_eq(tap_steer_open(&tap), -EOPNOTSUPP);
	ck_assert_ptr_null(tap.send_cpu);
	ck_assert_int_eq(tap.queue2, -1);
	tap_close(&tap);
}
END_TEST

START_TEST(test_forbidden_bpf_leaves_a_working_tap)
{
	pid_t pid;

	if (!tu_can_tap("check_steer"))
		return;
	if ((pid = fork()) == 0) {
		tap_up(1);
		if (tu_forbid(SYS_bpf) != 0)
			_exit(2);
		if (tap_steer_open(&tap) != -EPERM || tap.send_cpu != NULL ||
		    tap.queue2 != -1)
			_exit(1);
		send_read(0); /* single queue: the frame is in t->fd */
		_exit(0);
	}
	tu_child_ok(pid);
}
END_TEST

static Suite *
steer_suite(void)
{
	Suite *s = suite_create("steer");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_send_cpu_is_the_senders);
	tcase_add_test(tc, test_single_queue_tap_refused);
	tcase_add_test(tc, test_forbidden_bpf_leaves_a_working_tap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(steer_suite());
}
