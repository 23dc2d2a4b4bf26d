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
	struct pkt_g g = { .g4 = { htonl(INADDR_LOOPBACK) } };
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

/* listening_at: a TCP socket on a:port (network order address) */
static int
listening_at(uint32_t a, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = a };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* Several cluster addresses (127.0.0.1 index 0, 127.0.0.2 index 3): a
 * socket bound to one is published with its index, and so is a
 * connection it serves; one bound to another address of the node is
 * none of theirs. */
START_TEST(sockets_name_their_address)
{
	uint32_t g0 = inet_addr("127.0.0.1"), g3 = inet_addr("127.0.0.2");
	struct pkt_g g = { .g4 = { g0, 0, 0, g3 } };
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons(9301),
		.sin_addr.s_addr = g3 };
	int fd[4], cl, tr, found = 0;
	struct shm_listen l[16];
	const struct shm_listen *e;
	struct sd_sock s = { 0 };
	struct conn_key k[16];
	uint32_t n, i;

	if (!tu_can_tap("sockets_name_their_address"))
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	tu_sh("ip link set lo up");
	fd[0] = listening_at(g3, 9301);
	fd[1] = listening_at(INADDR_ANY, 9302);
	fd[2] = listening_at(inet_addr("127.0.0.3"), 9303);
	fd[3] = listening_at(g0, 9304);
	ck_assert_int_eq(sd_scan(&s, &g, 0, l, 16, &n, &tr), 0);
	ck_assert_ptr_nonnull(e = find(l, n, 9301));
	ck_assert_uint_eq(e->flags,
	    SHM_LISTEN_SPECIFIC | (3 << SHM_LISTEN_AIDX_SHIFT));
	ck_assert_ptr_nonnull(e = find(l, n, 9302));
	ck_assert_uint_eq(e->flags, 0);
	ck_assert_ptr_null(find(l, n, 9303));
	ck_assert_ptr_nonnull(e = find(l, n, 9304));
	ck_assert_uint_eq(e->flags, SHM_LISTEN_SPECIFIC);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(sd_established(&s, &g, k, 16, &n, &tr), 0);
	for (i = 0; i < n; i++)
		if (k[i].lport == 9301 && k[i].family == 4) {
			ck_assert_uint_eq(k[i].aidx, 3);
			found++;
		}
	ck_assert_int_eq(found, 1);
	close(cl);
	for (i = 0; i < 4; i++)
		close(fd[i]);
	sd_close(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sockdiag");
	TCase *tc = tcase_create("sockdiag");

	tcase_add_test(tc, queue_full_and_served_connections);
	tcase_add_test(tc, sockets_name_their_address);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
