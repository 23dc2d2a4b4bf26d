/*
 * check_mcwatch.c: the kernel's multicast join notifications
 * (daemon/mcwatch.c).  On a real TAP in a network namespace of the test's
 * own, an IPv4 and an IPv6 join and leave, and an IFF_ALLMULTI change, are
 * each reported for the TAP and for no other interface; malformed
 * messages are ignored without reading past the buffer.  The kernel part
 * needs root and Linux 6.13; it is skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "testutil.h"
#include "tap.h"
#include "mcwatch.h"

static struct tap tap;
static int nl = -1;

/* watch_up: mcw0 up in a fresh namespace, and a subscribed socket;
 * 0 when the test cannot run here (said why) */
static int
watch_up(const char *test, int ipv6)
{
	char err[256];

	if (!tu_can_tap(test))
		return 0;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	if (!ipv6) /* no joins of its own from addrconf */
		tu_sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	ck_assert_msg(tap_open(&tap, "mcw0", 0, 0, err, sizeof(err)) == 0, "%s",
	    err);
	tu_sh("ip link set mcw0 up");
	if ((nl = mcw_open()) == -EINVAL) {
		tu_skip(test,
		    "no multicast notifications from this kernel "
		    "(Linux 6.13 has them)");
		return 0;
	}
	ck_assert_msg(nl >= 0, "mcw_open: %s", strerror(-nl));
	return 1;
}

/* heard: what the socket says about {lo, mcw0} as a mask, read until
 * bit want shows up or nothing more comes for ms */
static uint32_t
heard(uint32_t want, int ms)
{
	union {
		struct nlmsghdr h;
		char b[8192];
	} u;
	int idx[2] = { (int)if_nametoindex("lo"), tap.ifindex };
	struct pollfd p = { .fd = nl, .events = POLLIN };
	uint32_t hit = 0;
	ssize_t n;

	while (!(hit & want) && poll(&p, 1, ms) == 1)
		while ((n = recv(nl, &u, sizeof(u), 0)) > 0)
			hit |= mcw_parse(&u, (size_t)n, idx, 2);
	return hit;
}

/* join4: join (1) or leave (0) group on mcw0 with socket s */
static void
join4(int s, const char *group, int join)
{
	struct ip_mreqn m = { .imr_ifindex = tap.ifindex };

	inet_pton(AF_INET, group, &m.imr_multiaddr);
	ck_assert_int_eq(setsockopt(s, IPPROTO_IP,
			     join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m,
			     sizeof(m)),
	    0);
}

START_TEST(ipv4_join_and_leave)
{
	int s;

	if (!watch_up(__func__, 0))
		return;
	heard(0, 300); /* what coming up said */
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	join4(s, "239.7.7.7", 1);
	ck_assert_msg(heard(2, 2000) == 2,
	    "IPv4 join not reported for mcw0 alone");
	join4(s, "239.7.7.7", 0);
	ck_assert_msg(heard(2, 2000) == 2,
	    "IPv4 leave not reported for mcw0 alone");
	close(s);
}
END_TEST

START_TEST(ipv6_join_and_leave)
{
	struct ipv6_mreq m = { .ipv6mr_interface = 0 };
	int s;

	if (!watch_up(__func__, 1))
		return;
	heard(0, 500);
	m.ipv6mr_interface = (unsigned int)tap.ifindex;
	inet_pton(AF_INET6, "ff15::77", &m.ipv6mr_multiaddr);
	ck_assert_int_ge(s = socket(AF_INET6, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(
	    setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m)), 0);
	ck_assert_msg(heard(2, 2000) == 2,
	    "IPv6 join not reported for mcw0 alone");
	ck_assert_int_eq(setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &m,
			     sizeof(m)),
	    0);
	ck_assert_msg(heard(2, 2000) == 2,
	    "IPv6 leave not reported for mcw0 alone");
	close(s);
}
END_TEST

START_TEST(allmulti_flag)
{
	if (!watch_up(__func__, 0))
		return;
	heard(0, 500);
	tu_sh("ip link set mcw0 allmulticast on");
	ck_assert_msg(heard(2, 2000) == 2,
	    "IFF_ALLMULTI not reported for mcw0");
}
END_TEST

/* msg: a message of type and length len (header included) at b, whose
 * index field (ifaddrmsg or ifinfomsg) is idx; returns its aligned size */
static size_t
msg(char *b, uint16_t type, uint32_t len, int idx)
{
	struct nlmsghdr *h = (struct nlmsghdr *)b;

	memset(b, 0, NLMSG_ALIGN(len));
	h->nlmsg_type = type;
	h->nlmsg_len = len;
	if (type == RTM_NEWLINK &&
	    len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = idx;
	else if (len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_index = (uint32_t)idx;
	return NLMSG_ALIGN(len);
}

START_TEST(parse_bounds)
{
	union {
		struct nlmsghdr h;
		char b[512];
	} u;
	const int idx[2] = { 7, 9 };
	const uint32_t a4 = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	size_t off;

	/* two messages, the second about 9: bit 1 */
	off = msg(u.b, 56, a4, 3);
	off += msg(u.b + off, 57, a4, 9);
	ck_assert_uint_eq(mcw_parse(&u, off, idx, 2), 2);
	/* a link message about 7: bit 0; a route message about 7: nothing */
	off = msg(u.b, RTM_NEWLINK, NLMSG_LENGTH(sizeof(struct ifinfomsg)), 7);
	ck_assert_uint_eq(mcw_parse(&u, off, idx, 2), 1);
	msg(u.b, RTM_NEWROUTE, a4, 7);
	ck_assert_uint_eq(mcw_parse(&u, a4, idx, 2), 0);
	/* too short for its body, or longer than the buffer: ignored */
	msg(u.b, 56, NLMSG_LENGTH(2), 7);
	((struct ifaddrmsg *)NLMSG_DATA(&u.h))->ifa_index = 7;
	ck_assert_uint_eq(mcw_parse(&u, NLMSG_LENGTH(2), idx, 2), 0);
	msg(u.b, 56, a4, 7);
	ck_assert_uint_eq(mcw_parse(&u, a4 - 1, idx, 2), 0);
	u.h.nlmsg_len = 4; /* shorter than a header */
	ck_assert_uint_eq(mcw_parse(&u, a4, idx, 2), 0);
	ck_assert_uint_eq(mcw_parse(&u, 0, idx, 2), 0);
	/* random bytes in a buffer of their own length: whatever they
	 * say, nothing is read past it (ASan) */
	srandom(5);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(random() % 128);
		struct nlmsghdr *h = malloc(len + 1);

		ck_assert_ptr_nonnull(h);
		for (size_t j = 0; j < len; j++)
			((char *)h)[j] = (char)random();
		if (len >= sizeof(*h) && random() % 2)
			h->nlmsg_len = (uint32_t)(random() % 140);
		ck_assert_uint_le(mcw_parse(h, len, idx, 2), 3);
		free(h);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mcwatch");
	TCase *tc = tcase_create("mcwatch");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ipv4_join_and_leave);
	tcase_add_test(tc, ipv6_join_and_leave);
	tcase_add_test(tc, allmulti_flag);
	tcase_add_test(tc, parse_bounds);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
