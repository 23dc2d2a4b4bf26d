/*
 * check_gaddr.c: the cluster's address table (libshmnet/gaddr.c): an
 * index per address, the same through every mapping, taken once; a full
 * table, a scribbled one, and the addresses each node carries.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>

#include "testutil.h"

#define G1 "10.202.0.1"

static struct shmseg *a, *b;

/* ip: a dotted quad in network order. */
static uint32_t
ip(const char *s)
{
	struct in_addr in;

	ck_assert_int_eq(inet_pton(AF_INET, s, &in), 1);
	return in.s_addr;
}

/* host: 10.202.0.n in network order. */
static uint32_t
host(uint32_t n)
{
	return htonl(0x0aca0000u | n);
}

static void
setup(void)
{
	struct shmseg_params p;
	char err[256];

	tu_mkdir();
	p = tu_params(8 << 20, 8);
	p.global_addr4 = ip(G1);
	ck_assert_msg(shmseg_open(&p, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(shmseg_open(&p, &b, err, sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	shmseg_close(b, 0);
	shmseg_close(a, 0);
	tu_rmdir();
}

START_TEST(test_two_mappings_agree)
{
	uint32_t ta[SHM_GADDR_MAX], tb[SHM_GADDR_MAX], seen;

	/* index 0 is the creator's address, in the header */
	ck_assert_int_eq(gaddr_find(a, ip(G1)), 0);
	ck_assert_int_eq(gaddr_claim(b, ip(G1)), 0);
	ck_assert_int_eq(gaddr_find(a, host(2)), -ENOENT);
	ck_assert_int_eq(gaddr_claim(b, host(2)), 1);
	ck_assert_int_eq(gaddr_claim(a, host(2)), 1);
	ck_assert_int_eq(gaddr_claim(a, host(3)), 2);
	ck_assert_int_eq(gaddr_find(b, host(3)), 2);
	ck_assert_uint_eq(gaddr_read(a, ta, &seen), 0x7);
	ck_assert_uint_eq(seen, 3);
	ck_assert_uint_eq(gaddr_read(b, tb, NULL), 0x7);
	ck_assert_mem_eq(ta, tb, sizeof(ta));
	ck_assert_uint_eq(ta[0], ip(G1));
	ck_assert_uint_eq(ta[1], host(2));
	ck_assert_uint_eq(ta[2], host(3));
	ck_assert_uint_eq(ta[3], 0);
	/* a reader that saw 3 entries learns of a fourth with one load */
	ck_assert_int_eq(gaddr_more(a, seen), 0);
	ck_assert_int_eq(gaddr_claim(b, host(4)), 3);
	ck_assert_int_eq(gaddr_more(a, seen), 1);
}
END_TEST

START_TEST(test_full_table_is_an_error)
{
	uint32_t t[SHM_GADDR_MAX], i;

	for (i = 1; i < SHM_GADDR_MAX; i++)
		ck_assert_int_eq(gaddr_claim(i % 2 ? a : b, host(i + 1)),
		    (int)i);
	ck_assert_int_eq(gaddr_claim(a, host(100)), -ENOSPC);
	ck_assert_int_eq(gaddr_claim(b, host(100)), -ENOSPC);
	/* the addresses that have an index keep it */
	ck_assert_int_eq(gaddr_claim(b, host(9)), 8);
	ck_assert_int_eq(gaddr_claim(a, ip(G1)), 0);
	ck_assert_uint_eq(gaddr_read(b, t, NULL), (1u << SHM_GADDR_MAX) - 1);
	ck_assert_int_eq(gaddr_more(b, SHM_GADDR_MAX), 0);
}
END_TEST

START_TEST(test_bad_address_and_read_only)
{
	struct shmseg *r = NULL;
	char err[256];

	ck_assert_int_eq(gaddr_claim(a, 0), -EINVAL);
	ck_assert_int_eq(gaddr_claim(a, ip("224.0.0.1")), -EINVAL);
	ck_assert_int_eq(gaddr_claim(a, ip("255.255.255.255")), -EINVAL);
	ck_assert_int_eq(gaddr_claim(a, ip("127.0.0.2")), -EINVAL);
	ck_assert_int_eq(shmseg_open_ro(tu_path, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(gaddr_claim(r, host(2)), -EROFS);
	ck_assert_int_eq(gaddr_find(r, host(2)), -ENOENT);
	ck_assert_int_eq(gaddr_claim(a, host(2)), 1);
	ck_assert_int_eq(gaddr_find(r, host(2)), 1);
	shmseg_close(r, 0);
}
END_TEST

START_TEST(test_scribbled_table_names_nothing)
{
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(a);
	uint32_t t[SHM_GADDR_MAX];

	ck_assert_int_eq(gaddr_claim(a, host(2)), 1);
	/* a peer wrote a multicast address, then index 0's again */
	atomic_store(&h->gaddr4[1], ip("239.1.2.3"));
	atomic_store(&h->gaddr4[2], ip(G1));
	ck_assert_uint_eq(gaddr_read(b, t, NULL), 0x3);
	ck_assert_uint_eq(t[2], 0);
	ck_assert_uint_eq(t[3], 0);
	ck_assert_int_eq(gaddr_find(b, ip(G1)), 0);
	/* the next address goes past them */
	ck_assert_int_eq(gaddr_claim(b, host(5)), 4);
}
END_TEST

/* What one racing claimer does: claim hosts 2..9 in its order. */
struct racer {
	struct shmseg *s;
	int reverse;
	int idx[10];
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	uint32_t i, n;

	for (i = 0; i < 8; i++) {
		n = r->reverse ? 9 - i : 2 + i;
		r->idx[n] = gaddr_claim(r->s, host(n));
	}
	return NULL;
}

START_TEST(test_racing_claims_agree)
{
	struct racer x = { .s = a }, y = { .s = b, .reverse = 1 };
	uint32_t t[SHM_GADDR_MAX], n, i, seen = 0;
	pthread_t tx, ty;

	ck_assert_int_eq(pthread_create(&tx, NULL, race, &x), 0);
	ck_assert_int_eq(pthread_create(&ty, NULL, race, &y), 0);
	pthread_join(tx, NULL);
	pthread_join(ty, NULL);
	ck_assert_uint_eq(gaddr_read(a, t, NULL), 0x1ff);
	for (n = 2; n <= 9; n++) {
		ck_assert_int_eq(x.idx[n], y.idx[n]);
		ck_assert_int_ge(x.idx[n], 1);
		ck_assert_uint_eq(t[x.idx[n]], host(n));
		seen |= 1u << x.idx[n];
	}
	ck_assert_uint_eq(seen, 0x1fe); /* each index once */
	for (i = 9; i < SHM_GADDR_MAX; i++)
		ck_assert_uint_eq(t[i], 0);
}
END_TEST

START_TEST(test_carried)
{
	uint32_t g;

	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	ck_assert_int_eq(node_claim(b, 2, &g), 2);
	/* a node that says nothing (an older build's) carries G */
	ck_assert_uint_eq(gaddr_carried(b, 1), 1);
	gaddr_publish(a, 1, 0x6);
	gaddr_publish(b, 2, 0);
	ck_assert_uint_eq(gaddr_carried(b, 1), 0x6);
	ck_assert_uint_eq(gaddr_carried(a, 2), 0);
	ck_assert_uint_eq(gaddr_carried(a, 9), 0);
	/* a new life of the node says again */
	node_leave(a, 1);
	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	ck_assert_uint_eq(gaddr_carried(b, 1), 1);
}
END_TEST

START_TEST(test_names)
{
	char buf[8];

	gaddr_name(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "G");
	gaddr_name(12, buf, sizeof(buf));
	ck_assert_str_eq(buf, "G#12");
}
END_TEST

static Suite *
gaddr_suite(void)
{
	Suite *s = suite_create("gaddr");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_mappings_agree);
	tcase_add_test(tc, test_full_table_is_an_error);
	tcase_add_test(tc, test_bad_address_and_read_only);
	tcase_add_test(tc, test_scribbled_table_names_nothing);
	tcase_add_test(tc, test_racing_claims_agree);
	tcase_add_test(tc, test_carried);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gaddr_suite());
}
