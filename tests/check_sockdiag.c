/*
 * check_sockdiag.c: the sockets sock_diag finds for the cluster address
 * (daemon/sockdiag.c), in a network namespace of the test's own where
 * 127.0.0.1 plays G: a listener, its accept queue filling (it is then
 * published full, and sockets of one port merge), and the connections
 * this node serves (local address G), as the keys they are re-pinned
 * under.  Needs root (a namespace); skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "testutil.h"
#include "sockdiag.h"

/* listening: a TCP socket on 127.0.0.1:port with this backlog */
static int
listening(uint16_t port, int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

/* connected: a client socket connected to 127.0.0.1:port from fport */
static int
connected(uint16_t port, uint16_t fport)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in me = a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	me.sin_port = htons(fport);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* find: the published listener of port, NULL if none */
static const struct shm_listen *
find(const struct shm_listen *l, uint32_t n, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (l[i].port == port && l[i].proto == IPPROTO_TCP &&
		    l[i].family == 4)
			return &l[i];
	return NULL;
}

START_TEST(queue_full_and_served_connections)
{
	struct pkt_g g = { .g4 = htonl(INADDR_LOOPBACK) };
	struct shm_listen l[16];
	const struct shm_listen *e;
	struct sd_sock s = { 0 };
	struct conn_key k[16];
	uint32_t n, i, lo = htonl(INADDR_LOOPBACK);
	int srv, srv2, c[3], tr, found = 0;

	if (!tu_can_tap("queue_full_and_served_connections"))
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	tu_sh("ip link set lo up"); /* 127.0.0.1 plays G */
	srv = listening(9300, 1);
	ck_assert_int_eq(sd_scan(&s, &g, 0, l, 16, &n, &tr), 0);
	ck_assert_ptr_nonnull(e = find(l, n, 9300));
	ck_assert(e->flags & SHM_LISTEN_SPECIFIC);
	ck_assert(!(e->flags & SHM_LISTEN_FULL));
	ck_assert_uint_eq(e->qmax, 1);
	/* never accepted: backlog 1 holds 2, then it is full */
	for (i = 0; i < 2; i++)
		c[i] = connected(9300, (uint16_t)(45000 + i));
	ck_assert_int_eq(sd_scan(&s, &g, 0, l, 16, &n, &tr), 0);
	ck_assert_ptr_nonnull(e = find(l, n, 9300));
	ck_assert_uint_eq(e->qlen, 2);
	ck_assert(e->flags & SHM_LISTEN_FULL);
	/* a second socket of the port with room: the port has room */
	srv2 = listening(9300, 8);
	ck_assert_int_eq(sd_scan(&s, &g, 0, l, 16, &n, &tr), 0);
	ck_assert_ptr_nonnull(e = find(l, n, 9300));
	ck_assert(!(e->flags & SHM_LISTEN_FULL));
	ck_assert_uint_eq(e->qmax, 9);
	for (i = 0; i < n; i++)
		ck_assert(l[i].port != 9300 || &l[i] == e); /* merged */
	/* the connections G serves: their server ends (local 127.0.0.1:9300)
	 * among what the dump finds, keyed as flows */
	ck_assert_int_eq(sd_established(&s, &g, k, 16, &n, &tr), 0);
	ck_assert(!tr);
	for (i = 0; i < n; i++)
		if (k[i].lport == 9300 && k[i].family == 4 &&
		    k[i].proto == IPPROTO_TCP &&
		    (k[i].fport == 45000 || k[i].fport == 45001) &&
		    memcmp(k[i].faddr, &lo, 4) == 0)
			found++;
	ck_assert_int_eq(found, 2);
	/* a dump that does not fit says so */
	ck_assert_int_eq(sd_established(&s, &g, k, 1, &n, &tr), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(tr);
	for (i = 0; i < 2; i++)
		close(c[i]);
	close(srv2);
	close(srv);
	sd_close(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sockdiag");
	TCase *tc = tcase_create("sockdiag");

	tcase_add_test(tc, queue_full_and_served_connections);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
