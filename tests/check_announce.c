/*
 * check_announce.c: the routes that take outside traffic to the cluster
 * and back, in a network namespace of the test's own.  A gateway in route
 * mode keeps G's route (and G6's) in its table exactly while its node is
 * up and some up node listens in that family, with route-local the local
 * network's while it is up (daemon/announce.c), and withdraws them when
 * it leaves; a node with route-local sends its local address's answers
 * over the gateways that are up (daemon/rlocal.c).  Needs root; skipped
 * otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>

#include "announce.h"
#include "conf.h"
#include "rlocal.h"
#include "shmnet_private.h"
#include "testutil.h"

#define TABLE 4243

static struct shmseg *seg, *peer;

static void
setup(void)
{
	struct shmseg_params p;
	char err[256];
	uint32_t g;

	tu_mkdir();
	p = tu_params(8 << 20, 8);
	p.global_addr4 = inet_addr("10.202.0.1"); /* G, index 0 */
	ck_assert_msg(shmseg_open(&p, &seg, err, sizeof(err)) == 0, "%s", err);
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

/* output: what a command prints, NUL-terminated, in buf. */
static void
output(const char *cmd, char *buf, size_t len)
{
	FILE *fp;
	size_t n;

	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	pclose(fp);
}

/* routes: how many routes to dst the table has (ip -4 or -6). */
static int
routes(int fam6, const char *dst)
{
	char cmd[128], out[4096], *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ip -%d route show table %d %s 2>/dev/null",
	    fam6 ? 6 : 4, TABLE, dst);
	output(cmd, out, sizeof(out));
	for (p = out; (p = strstr(p, "dev lo")) != NULL; p++)
		n++;
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
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
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
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
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
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
	announce_update(a); /* the link is down: the add fails */
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_int_eq(system("ip link set lo up"), 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	announce_free(a);
}
END_TEST

/* Nodes that reach the outside through the gateways need the way back:
 * G (and G6) for egress from G, with no listener anywhere; the client
 * network for egress from the nodes' client addresses. */
START_TEST(test_routes_back_for_egress)
{
	struct conf c = gateway_conf(1);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	node_publish(seg, 1);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	shmseg_node(peer, 2)->flags |= SHM_NODE_F_EGRESS;
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	ck_assert_int_eq(routes(1, "fd00:202::1"), 1);
	ck_assert_int_eq(routes(0, "10.203.0.0/16"), 0);
	shmseg_node(peer, 2)->flags = SHM_NODE_F_EGRESS_NODE;
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_int_eq(routes(0, "10.203.0.0/16"), 1);
	ck_assert_int_eq(routes(1, "fd53:4d47:0:1::/64"), 1);
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw,
	    SHM_GW_ROUTE | SHM_GW_HAS6 | SHM_GW_CLIENT);
	/* a node with egress that leaves takes its need with it */
	ck_assert_int_eq(node_leave(peer, 2), 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.203.0.0/16"), 0);
	announce_free(a);
}
END_TEST

/* Each cluster address has its route while some up node that carries
 * it listens; the node table says which. */
START_TEST(test_route_per_address)
{
	struct conf c = gateway_conf(0);
	struct shm_node *n = shmseg_node(seg, 1);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	/* G2 = 10.202.0.2 (index 1) on node 2 only; node 1 carries G */
	ck_assert_int_eq(gaddr_claim(peer, inet_addr("10.202.0.2")), 1);
	gaddr_publish(seg, 1, 0x1);
	gaddr_publish(peer, 2, 0x2);
	node_publish(seg, 1);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
	listen_fam(2, 4, 0); /* a wildcard socket: G2 only, node 2's */
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.2"), 1);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_uint_eq(n->gw, SHM_GW_ROUTE);
	ck_assert_uint_eq(n->gw_gaddrs, 0x2);
	listen_fam(1, 4, 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	ck_assert_uint_eq(n->gw, SHM_GW_ROUTE | SHM_GW_G);
	ck_assert_uint_eq(n->gw_gaddrs, 0x3);
	/* node 2 goes: G2 has no listener left */
	ck_assert_int_eq(node_leave(peer, 2), 0);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.202.0.2"), 0);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 1);
	ck_assert_uint_eq(n->gw_gaddrs, 0x1);
	ck_assert_int_eq(announce_withdraw(a), 1);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0);
	ck_assert_uint_eq(n->gw_gaddrs, 0);
	announce_free(a);
}
END_TEST

/* With route-local, a gateway keeps the local network's route while it
 * is up, whoever listens. */
START_TEST(test_local_network_while_up)
{
	struct conf c = gateway_conf(0);
	struct announce *a;
	int lo;

	if ((lo = netns_lo(__func__)) == 0)
		return;
	c.g.route_local = 1;
	shmseg_node(seg, 1)->addr4[SHM_NET_LOCAL] = htonl(0x0ac90001);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, lo, lo));
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.201.0.0/16"), 0); /* not up */
	node_publish(seg, 1);
	announce_update(a);
	ck_assert_int_eq(routes(0, "10.201.0.0/16"), 1);
	ck_assert_int_eq(routes(0, "10.202.0.1"), 0); /* nobody listens */
	ck_assert_uint_eq(shmseg_node(seg, 1)->gw, SHM_GW_ROUTE | SHM_GW_LOCAL);
	ck_assert_int_eq(announce_withdraw(a), 1);
	ck_assert_int_eq(routes(0, "10.201.0.0/16"), 0);
	announce_update(a); /* leaving: stays withdrawn */
	ck_assert_int_eq(routes(0, "10.201.0.0/16"), 0);
	announce_free(a);
}
END_TEST

/* ... but in the main table (FRR's way) the local network's connected
 * route is there already: left alone, neither replaced nor removed. */
START_TEST(test_local_network_in_main_left_alone)
{
	struct conf c = gateway_conf(0);
	struct announce *a;
	char out[4096];
	int ifi;

	if (netns_lo(__func__) == 0)
		return;
	ck_assert_int_eq(system("ip link add v0 type veth peer name v1 && "
				"ip addr add 10.201.0.1/16 dev v0 && "
				"ip link set v0 up && ip link set v1 up"),
	    0);
	ifi = (int)if_nametoindex("v0");
	c.g.route_local = 1;
	c.g.announce_table = 254;
	shmseg_node(seg, 1)->addr4[SHM_NET_LOCAL] = htonl(0x0ac90001);
	node_publish(seg, 1);
	ck_assert_ptr_nonnull(a = announce_new(&c, seg, 1, ifi, ifi));
	announce_update(a);
	announce_free(a);
	output("ip -4 route show 10.201.0.0/16", out, sizeof(out));
	ck_assert_msg(strstr(out,
			  "dev v0 proto kernel scope link src "
			  "10.201.0.1") != NULL,
	    "connected route: %s", out);
}
END_TEST

/* gateway_node: node id (on its own mapping) is an up gateway whose
 * local address is 10.201.0.id. */
static struct shmseg *
gateway_node(uint32_t id)
{
	struct shmseg *s = tu_open(8 << 20, 8);
	uint32_t g;

	ck_assert_int_eq(node_claim(s, id, &g), (int)id);
	shmseg_node(s, id)->flags |= SHM_NODE_F_GATEWAY;
	shmseg_node(s, id)->addr4[SHM_NET_LOCAL] = htonl(0x0ac90000 | id);
	node_publish(s, id);
	return s;
}

START_TEST(test_local_answers_leave_by_the_gateways)
{
	struct conf c = gateway_conf(0);
	struct shmseg *gw3, *gw4;
	struct rlocal *rl;
	char err[256], out[4096];
	int ifi;

	if (netns_lo(__func__) == 0)
		return;
	ck_assert_int_eq(system("ip link add v0 type veth peer name v1 && "
				"ip addr add 10.201.0.1/16 dev v0 && "
				"ip link set v0 up && ip link set v1 up"),
	    0);
	ifi = (int)if_nametoindex("v0");
	c.g.route_local = 1;
	c.g.local_table = TABLE;
	node_publish(seg, 1);
	ck_assert_int_eq(rlocal_new(&c, seg, 1, ifi, htonl(0x0ac90001), &rl,
			     err, sizeof(err)),
	    0);
	output("ip -4 rule show", out, sizeof(out));
	ck_assert_msg(strstr(out, "15:\tfrom 10.201.0.1 iif lo lookup local") &&
		strstr(out,
		    "16:\tfrom 10.201.0.1 iif lo lookup main "
		    "suppress_prefixlength 0") &&
		strstr(out, "17:\tfrom 10.201.0.1 iif lo lookup 4243"),
	    "rules: %s", out);
	rlocal_update(rl);
	ck_assert_int_eq(routes(0, "default"), 0); /* no gateway yet */
	gw3 = gateway_node(3);
	rlocal_update(rl);
	output("ip -4 route show table 4243", out, sizeof(out));
	ck_assert_msg(strstr(out, "default via 10.201.0.3 dev v0") != NULL,
	    "one gateway: %s", out);
	gw4 = gateway_node(4);
	rlocal_update(rl);
	output("ip -4 route show table 4243", out, sizeof(out));
	ck_assert_msg(strstr(out, "nexthop via 10.201.0.3 dev v0") != NULL &&
		strstr(out, "nexthop via 10.201.0.4 dev v0") != NULL,
	    "two gateways: %s", out);
	/* a gateway that leaves leaves the route */
	ck_assert_int_eq(node_leave(gw3, 3), 0);
	rlocal_update(rl);
	output("ip -4 route show table 4243", out, sizeof(out));
	ck_assert_msg(strstr(out, "default via 10.201.0.4 dev v0") != NULL,
	    "after a leave: %s", out);
	/* the way out for a real answer from 10.201.0.1 */
	output("ip -4 route get 10.99.0.1 from 10.201.0.1", out, sizeof(out));
	ck_assert_msg(strstr(out, "via 10.201.0.4 dev v0") != NULL, "get: %s",
	    out);
	/* the local network keeps its way */
	output("ip -4 route get 10.201.0.9 from 10.201.0.1", out, sizeof(out));
	ck_assert_msg(strstr(out, "via") == NULL, "get: %s", out);
	rlocal_free(rl);
	output("ip -4 rule show; ip -4 route show table 4243", out,
	    sizeof(out));
	ck_assert_msg(strstr(out, "10.201.0.1") == NULL, "left: %s", out);
	shmseg_close(gw4, 0);
	shmseg_close(gw3, 0);
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
	tcase_add_test(tc, test_routes_back_for_egress);
	tcase_add_test(tc, test_route_per_address);
	tcase_add_test(tc, test_local_network_while_up);
	tcase_add_test(tc, test_local_network_in_main_left_alone);
	tcase_add_test(tc, test_local_answers_leave_by_the_gateways);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(announce_suite());
}
