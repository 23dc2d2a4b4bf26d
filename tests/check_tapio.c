/*
 * check_tapio.c: batched TAP I/O (daemon/tapio.c) on a real TAP in a
 * network namespace of the test's own: one batch of reads returns the
 * queued frames in order and -EAGAIN for the rest without waiting for
 * more; one batch of writes delivers every frame, in order, to a socket;
 * a depth out of range is refused; io_uring forbidden by seccomp is an
 * error the caller can fall back from.  Needs root (TAP, namespace);
 * skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "testutil.h"
#include "tap.h"
#include "tapio.h"

#define NFRAMES 8
#define DEPTH   16

static struct tap tap;
static uint8_t tap_mac[6];

/* tap_up: tapio0 with 10.77.0.1/24 and a pinned neighbour 10.77.0.2,
 * in a fresh namespace with IPv6 off (no router solicitations or MLD
 * reports in the TAP's queue) */
static void
tap_up(void)
{
	struct ifreq ifr;
	char err[256];
	int s;

	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	tu_sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	ck_assert_msg(tap_open(&tap, "tapio0", 1, 0, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(fcntl(tap.fd, F_SETFL, 0), 0); /* blocking */
	tu_sh("ip link set tapio0 up && ip addr add 10.77.0.1/24 dev tapio0 && "
	      "ip neigh add 10.77.0.2 lladdr 02:00:00:00:00:02 dev tapio0");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "tapio0");
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

/* udp_payload: the first payload byte of a UDP/IPv4 frame to port, or -1 */
static int
udp_payload(const uint8_t *f, int32_t len, uint16_t port)
{
	if (len < 14 + 20 + 8 + 1 || f[12] != 0x08 || f[13] != 0x00 ||
	    f[23] != 17 || ((f[36] << 8) | f[37]) != port)
		return -1;
	return f[42];
}

START_TEST(test_read_batch_in_order_then_eagain)
{
	static uint8_t buf[DEPTH][SHM_FRAME_MAX], vnet[DEPTH][12];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct iovec iov[DEPTH][2];
	int32_t res[DEPTH];
	struct tapio t;
	int s, i, seen = 0, p;
	char c;

	if (!tu_can_tap("check_tapio"))
		return;
	tap_up();
	inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (i = 0; i < NFRAMES; i++) {
		c = (char)('a' + i);
		ck_assert_int_eq(
		    sendto(s, &c, 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	}
	for (i = 0; i < DEPTH; i++) {
		iov[i][0] = (struct iovec){ vnet[i], 12 };
		iov[i][1] = (struct iovec){ buf[i], SHM_FRAME_MAX };
	}
	ck_assert_int_eq(tapio_open(&t, tap.fd, DEPTH, "test"), 0);
	alarm(5); /* a read that waits would hang here */
	ck_assert_int_eq(tapio_rw(&t, 0, iov, DEPTH, res), 0);
	alarm(0);
	for (i = 0; i < DEPTH && res[i] > 0; i++)
		if ((p = udp_payload(buf[i], res[i] - 12, 9)) >= 0)
			ck_assert_int_eq(p, 'a' + seen++);
	ck_assert_int_eq(seen, NFRAMES);
	for (; i < DEPTH; i++)
		ck_assert_int_eq(res[i], -EAGAIN); /* ran dry, no wait */
	tapio_close(&t);
	close(s);
}
END_TEST

/* csum: the IPv4 header checksum */
static uint16_t
csum(const uint8_t *p, int n)
{
	uint32_t sum = 0;

	for (int i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* mkframe: UDP 10.77.0.2:6000 -> 10.77.0.1:5000 carrying one byte */
static int
mkframe(uint8_t *f, char c)
{
	static const uint8_t peer[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t k;

	memset(f, 0, 14 + 20 + 8 + 1);
	memcpy(f, tap_mac, 6);
	memcpy(f + 6, peer, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 1;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, "10.77.0.2", ip + 12);
	inet_pton(AF_INET, "10.77.0.1", ip + 16);
	k = csum(ip, 20);
	ip[10] = (uint8_t)(k >> 8);
	ip[11] = (uint8_t)k;
	udp[0] = 6000 >> 8, udp[1] = 6000 & 0xff;
	udp[2] = 5000 >> 8, udp[3] = 5000 & 0xff;
	udp[5] = 8 + 1; /* checksum 0: none */
	udp[8] = (uint8_t)c;
	return 14 + 20 + 8 + 1;
}

START_TEST(test_write_batch_delivers_all_in_order)
{
	static uint8_t frames[NFRAMES][64], vnet[12];
	struct sockaddr_in me = { .sin_family = AF_INET,
		.sin_port = htons(5000) };
	struct iovec iov[NFRAMES][2];
	struct pollfd pfd;
	int32_t res[NFRAMES];
	struct tapio t;
	int s, i, len;
	char c;

	if (!tu_can_tap("check_tapio"))
		return;
	tap_up();
	inet_pton(AF_INET, "10.77.0.1", &me.sin_addr);
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	for (i = 0; i < NFRAMES; i++) {
		len = mkframe(frames[i], (char)('A' + i));
		iov[i][0] = (struct iovec){ vnet, 12 };
		iov[i][1] = (struct iovec){ frames[i], (size_t)len };
	}
	ck_assert_int_eq(tapio_open(&t, tap.fd, DEPTH, "test"), 0);
	ck_assert_int_eq(tapio_rw(&t, 1, iov, NFRAMES, res), 0);
	for (i = 0; i < NFRAMES; i++)
		ck_assert_int_eq(res[i], 12 + (int32_t)iov[i][1].iov_len);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	for (i = 0; i < NFRAMES; i++) {
		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
		ck_assert_int_eq(recv(s, &c, 1, 0), 1);
		ck_assert_int_eq(c, 'A' + i);
	}
	tapio_close(&t);
	close(s);
}
END_TEST

START_TEST(test_depth_out_of_range_refused)
{
	struct tapio t;

	ck_assert_int_eq(tapio_open(&t, 0, 0, "test"), -EINVAL);
	ck_assert_ptr_null(t.ring);
	ck_assert_int_eq(tapio_open(&t, 0, TAPIO_MAX + 1, "test"), -EINVAL);
	ck_assert_ptr_null(t.ring);
	tapio_close(&t); /* harmless on a ring never opened */
}
END_TEST

START_TEST(test_forbidden_io_uring_is_an_error)
{
	struct tapio t;
	pid_t pid;

	/* as Docker's default seccomp profile does */
	if ((pid = fork()) == 0)
		_exit(tu_forbid(SYS_io_uring_setup) != 0 ? 2 :
			tapio_open(&t, 0, DEPTH, "test") == -EPERM &&
			    t.ring == NULL ?
							   0 :
							   1);
	tu_child_ok(pid);
}
END_TEST

static Suite *
tapio_suite(void)
{
	Suite *s = suite_create("tapio");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_read_batch_in_order_then_eagain);
	tcase_add_test(tc, test_write_batch_delivers_all_in_order);
	tcase_add_test(tc, test_depth_out_of_range_refused);
	tcase_add_test(tc, test_forbidden_io_uring_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(tapio_suite());
}
