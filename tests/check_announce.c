/*
 * check_announce.c: a gateway in route mode keeps G's route (and G6's)
 * in its table exactly while its node is up and some up node listens in
 * that family (daemon/announce.c), in a network namespace of the test's
 * own; and withdraws it when it is freed.  Needs root; skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>

#include "announce.h"
#include "conf.h"
#include "shmnet_private.h"
#include "testutil.h"

#define TABLE 4243

static struct shmseg *seg, *peer;

static void
setup(void)
{
	uint32_t g;

	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &g), 1);
	peer = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(peer, 2, &g), 2);
	node_publish(peer, 2);
}

static void
teardown(void)
{
	shmseg_close(peer, 0);
	shmseg_close(seg, 0);
	tu_rmdir();
}

/* netns_lo: a namespace of our own with lo up; lo's index, 0 to skip */
static int
netns_lo(const char *test)
{
	if (!tu_can_tap(test))
		return 0;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	return (int)if_nametoindex("lo");
}

/* routes: how many routes to dst the table has (ip -4 or -6). */
static int
routes(int fam6, const char *dst)
{
	char cmd[128], line[256];
	FILE *fp;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ip -%d route show table %d %s 2>/dev/null",
	    fam6 ? 6 : 4, TABLE, dst);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, "dev lo") != NULL;
	pclose(fp);
	return n;
}

/* listen: node id listens on TCP port 80 in family fam, or not at all
 * (fam 0); remote: as a connected UDP socket, which takes no client. */
static void
listen_fam(uint32_t id, uint8_t fam, int remote)
{
	struct shm_listen l = {
		.family = fam, .proto = IPPROTO_TCP, .port = 80
	};

	if (remote)
		l.flags = SHM_LISTEN_REMOTE;
	listen_publish(id == 1 ? seg : peer, id, &l, fam != 0);
}

static struct conf
gateway_conf(int v6)
{
	struct conf c;

	conf_defaults(&c);
	c.g.gateway_mode = CONF_GW_ROUTE;
	c.g.announce_table = TABLE;
	if (v6)
		inet_pton(AF_INET6, "fd00:202::1", c.g.addr6);
	return c;
}

START_TEST(test_route_while_a_node_listens)
{
	struct conf c = gateway_conf(0);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo));
	listen_fam(2, 4, 0);
	announce_update(a);
	/* not before this node is up, though another listens */
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw, SHM_GW_ROUTE);
	node_publish(seg, 1);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw, SHM_GW_ROUTE | SHM_GW_G);
	announce_update(a); /* idempotent */
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	/* a connected UDP socket takes no new client */
	listen_fam(2, 4, 1);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	/* this node's own listener counts too */
	listen_fam(1, 4, 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	announce_free(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw, 0); /* a node that left */
}
END_TEST

START_TEST(test_each_family_on_its_own)
{
	struct conf c = gateway_conf(1);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	node_publish(seg, 1);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo));
	listen_fam(2, 6, 0);
	announce_update(a);
	ck_assert_int_eq(routes(1, "fd00:202::1"), 1);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw,
	    SHM_GW_ROUTE | SHM_GW_HAS6 | SHM_GW_G6);
	listen_fam(2, 4, 0);
	announce_update(a);
	ck_assert_int_eq(routes(1, "fd00:202::1"), 0);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	/* a node that leaves takes its listeners out of the count */
	ck_assert_int_eq(node_leave(peer, 2), 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	announce_free(a);
}
END_TEST

/* A change the kernel refused is tried again at the next update. */
START_TEST(test_failed_change_tried_again)
{
	struct conf c = gateway_conf(0);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	node_publish(seg, 1);
	listen_fam(2, 4, 0);
	ck_assert_int_eq(system("ip link set lo down"), 0);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo));
	announce_update(a); /* the link is down: the add fails */
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	announce_free(a);
}
END_TEST

static Suite *
announce_suite(void)
{
	Suite *s = suite_create("announce");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_route_while_a_node_listens);
	tcase_add_test(tc, test_each_family_on_its_own);
	tcase_add_test(tc, test_failed_change_tried_again);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(announce_suite());
}
