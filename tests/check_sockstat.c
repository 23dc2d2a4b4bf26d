/*
 * check_sockstat.c: the namespace's socket counts that decide whether the
 * listener scan runs (daemon/sockstat.c).  In a network namespace of the
 * test's own: the first look reports a change, a second with nothing
 * done reports none; a TCP listener, an IPv6 one and a bound UDP socket
 * opening, and each closing, are reported once.  Needs root (a
 * namespace); skipped otherwise.
 */
#include "config.h"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "testutil.h"
#include "sockstat.h"

/* bound: a wildcard socket of family and type bound to port (listening
 * for TCP) */
static int
bound(int family, int type, uint16_t port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
		.sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET,
		.sin_port = htons(port) };
	int fd = socket(family, type, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(family == AF_INET6 ?
		bind(fd, (struct sockaddr *)&s6, sizeof(s6)) :
		bind(fd, (struct sockaddr *)&s4, sizeof(s4)),
	    0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

START_TEST(counts_move)
{
	static const int fam[3] = { AF_INET, AF_INET6, AF_INET };
	static const int type[3] = { SOCK_STREAM, SOCK_STREAM, SOCK_DGRAM };
	struct sockstat s;
	int fd, i;

	if (!tu_can_tap("counts_move"))
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ss_init(&s);
	ck_assert_int_eq(ss_moved(&s), 1); /* nothing known yet */
	ck_assert_int_eq(ss_moved(&s), 0);
	for (i = 0; i < 3; i++) {
		fd = bound(fam[i], type[i], (uint16_t)(9200 + i));
		ck_assert_int_eq(ss_moved(&s), 1);
		ck_assert_int_eq(ss_moved(&s), 0);
		close(fd);
		ck_assert_int_eq(ss_moved(&s), 1);
		ck_assert_int_eq(ss_moved(&s), 0);
	}
	/* an unbound socket is not hashed: nothing a scan could find */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ss_moved(&s), 0);
	close(fd);
	ss_close(&s);
	ck_assert_int_eq(s.fd[0], -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sockstat");
	TCase *tc = tcase_create("sockstat");

	tcase_add_test(tc, counts_move);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
