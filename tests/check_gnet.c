/*
 * check_gnet.c: the global network's routing decision (daemon/gnet.c)
 * against a scribbled connection table: a flow whose entry names a node
 * the segment does not have is dropped and counted, never handed on as
 * an index; a sane entry routes as it says; a packet of a flow another
 * node serves or carries in is dropped and counted as foreign.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"
#include "gnet.h"
#include "shmnetd.h"

static struct shmseg *seg;
static struct handoff ho;
static struct netif ni;
static struct conf conf;
static struct gnet *gn;
static const struct conn_timeouts tmo = { 30, 900, 10, 30 };
static uint8_t f[128];

static void
setup(void)
{
	uint32_t gen;

	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &gen), 1);
	node_publish(seg, 1);
	ho.seg = seg;
	ho.self = 1;
	ho.gen = gen;
	ho.max_nodes = shmseg_max_nodes(seg);
	ho.node = shmseg_node(seg, 1);
	notify_init(&ho.notify);
	ck_assert_int_eq(notify_open(&ho.notify), 0);
	ni.net = SHM_NET_GLOBAL;
	ni.name = "global";
	netif_attach(&ni, ho.node);
	conf_defaults(&conf);
	/* node 1 is a gateway: outside clients come in here */
	snprintf(conf.g.gateway, sizeof(conf.g.gateway), "gw0");
	ho.node->flags |= SHM_NODE_F_GATEWAY;
	ck_assert_ptr_nonnull(gn = gnet_new(&ho, &ni, &conf));
}

static void
teardown(void)
{
	gnet_free(gn);
	notify_close(&ho.notify);
	shmseg_close(seg, 0);
	tu_rmdir();
}

/* tcp_to_g: an ACK from client:fport to G:8080; returns its length */
static uint32_t
tcp_to_g(uint32_t client, uint16_t fport)
{
	uint32_t g = conf.global.addr;

	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 40;
	f[23] = IPPROTO_TCP;
	memcpy(f + 26, &client, 4);
	memcpy(f + 30, &g, 4);
	f[34] = (uint8_t)(fport >> 8);
	f[35] = (uint8_t)fport;
	f[36] = 8080 >> 8;
	f[37] = 8080 & 0xff;
	f[46] = 0x50;
	f[47] = CONN_TCP_ACK;
	return 54;
}

/* tcp_from_g: a reply from G:8080 to client:fport with these flags */
static uint32_t
tcp_from_g(uint32_t client, uint16_t fport, uint8_t flags)
{
	uint32_t g = conf.global.addr, len = tcp_to_g(client, fport);

	memcpy(f + 26, &g, 4);
	memcpy(f + 30, &client, 4);
	f[34] = 8080 >> 8;
	f[35] = 8080 & 0xff;
	f[36] = (uint8_t)(fport >> 8);
	f[37] = (uint8_t)fport;
	f[47] = flags;
	return len;
}

/* pin_via: record the flow client:fport -> G:8080 as served by node,
 * entered by ingress */
static void
pin_via(uint32_t client, uint16_t fport, uint16_t node, uint16_t ingress)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};

	memcpy(k.faddr, &client, 4);
	ck_assert_int_eq(conn_insert(seg, 1, &k, node, ingress, SHM_CONN_EST,
			     conn_now(), &tmo, NULL, NULL),
	    1);
}

/* state: the flow client:fport's state */
static uint16_t
state(uint32_t client, uint16_t fport)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};
	struct shm_conn c;

	memcpy(k.faddr, &client, 4);
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 1);
	return atomic_load(&c.stflags) & 0xff;
}

/* pin: record the flow client:fport -> G:8080 as served by node */
static void
pin(uint32_t client, uint16_t fport, uint16_t node)
{
	pin_via(client, fport, node, 1);
}

/* A node that is no gateway, id, with its own handle and routing state
 * (the test segment's other nodes). */
struct other {
	struct shmseg *seg;
	struct handoff ho;
	struct netif ni;
	struct conf conf;
	struct gnet *gn;
};

static void
other_up(struct other *o, uint32_t id)
{
	uint32_t gen;
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 8080
	};

	ck_assert_ptr_nonnull(o->seg = tu_open(8 << 20, 8));
	ck_assert_int_eq(node_claim(o->seg, id, &gen), (int)id);
	node_publish(o->seg, id);
	ck_assert_uint_eq(listen_publish(o->seg, id, &l, 1), 1);
	o->ho = ho;
	o->ho.seg = o->seg;
	o->ho.self = id;
	o->ho.node = shmseg_node(o->seg, id);
	o->ni.net = SHM_NET_GLOBAL;
	o->ni.name = "global";
	netif_attach(&o->ni, o->ho.node);
	conf_defaults(&o->conf);
	ck_assert_ptr_nonnull(o->gn = gnet_new(&o->ho, &o->ni, &o->conf));
}

static void
other_down(struct other *o)
{
	gnet_free(o->gn);
	shmseg_close(o->seg, 0);
}

START_TEST(test_out_of_range_node_dropped)
{
	uint32_t c = inet_addr("192.0.2.7"), len;
	uint64_t unrouted = atomic_load(&ni.stats->unrouted);

	pin(c, 40000, 60000);
	len = tcp_to_g(c, 40000);
	ck_assert_uint_eq(gnet_route(gn, f, len), 0);
	ck_assert_uint_eq(atomic_load(&ni.stats->unrouted), unrouted + 1);
	pin(c, 40001, 9); /* max-nodes is 8 */
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, 40001)), 0);
	pin(c, 40002, 3);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, 40002)), 3);
}
END_TEST

START_TEST(test_other_nodes_flows_not_forwarded)
{
	struct other o2;
	uint32_t c = inet_addr("192.0.2.8");
	uint64_t foreign = atomic_load(&ni.stats->foreign);

	/* this is node 1: a RST from G into a flow node 3 serves (a raw
	 * socket here) goes nowhere and leaves the flow as it was */
	pin_via(c, 41000, 3, 2);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_from_g(c, 41000, CONN_TCP_RST)),
	    0);
	ck_assert_uint_eq(state(c, 41000), SHM_CONN_EST);
	/* nor does a packet to G "from" node 2's client, in its flow */
	pin_via(conf_client_addr(&conf, 2), 41002, 3, 2);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp_to_g(conf_client_addr(&conf, 2), 41002)), 0);
	ck_assert_uint_eq(atomic_load(&ni.stats->foreign), foreign + 2);
	/* the replies of a flow this node serves go to its ingress, up */
	other_up(&o2, 2);
	pin_via(c, 41001, 1, 2);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_from_g(c, 41001, CONN_TCP_ACK)),
	    2);
	ck_assert_uint_eq(atomic_load(&ni.stats->foreign), foreign + 2);
	other_down(&o2);
}
END_TEST

/* tcp_syn: a SYN from client:fport to G:8080 */
static uint32_t
tcp_syn(uint32_t client, uint16_t fport)
{
	uint32_t len = tcp_to_g(client, fport);

	f[47] = CONN_TCP_SYN;
	return len;
}

/* recorded: is the flow client:fport in the table? */
static int
recorded(uint32_t client, uint16_t fport)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};

	memcpy(k.faddr, &client, 4);
	return conn_lookup(seg, &k, NULL, NULL);
}

/* by_hash: the node the hash of client:fport -> G:8080 picks */
static uint32_t
by_hash(uint32_t client, uint16_t fport)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};
	uint32_t node = 0;

	memcpy(k.faddr, &client, 4);
	ck_assert_int_eq(listen_pick_by(seg, &k, conn_hash(seg, &k), &node), 0);
	return node;
}

/* fill: spoofed SYNs in every place, sent more than a second ago */
static void
fill(void)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080
	};
	uint32_t i;

	for (i = 0; i < 4 * shmseg_conn_buckets(seg) * SHM_CONN_PER_BUCKET;
	     i++) {
		k.fport = (uint16_t)i;
		memcpy(k.faddr, &i, 4);
		conn_insert(seg, 1, &k, 1, 1, SHM_CONN_SYN, conn_now(), &tmo,
		    NULL, NULL);
	}
	tu_age_flows(seg, 2000);
}

START_TEST(test_full_table_goes_by_hash_then_records)
{
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 8080
	};
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(seg);
	uint32_t c = inet_addr("192.0.2.9"), inside, srv;
	uint16_t p = 42000;
	struct other o2, o3, *os;

	ck_assert_uint_eq(listen_publish(seg, 1, &l, 1), 1);
	other_up(&o2, 2);
	other_up(&o3, 3);
	fill();
	/* a client's SYN whose server the hash makes node 2 or 3 */
	while (by_hash(c, p) == 1)
		p++;
	srv = by_hash(c, p);
	os = srv == 2 ? &o2 : &o3;
	/* it goes by its hash, not in turn, and is not recorded */
	ck_assert_uint_eq(gnet_route(gn, f, tcp_syn(c, p)), srv);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_syn(c, p)), srv);
	ck_assert(!recorded(c, p));
	/* its server answers out by the gateway, node 1; another node
	 * (not the hash's) may not */
	ck_assert_uint_eq(gnet_route(os->gn, f,
			      tcp_from_g(c, p, CONN_TCP_SYN | CONN_TCP_ACK)),
	    1);
	ck_assert_uint_eq(gnet_route((os == &o2 ? &o3 : &o2)->gn, f,
			      tcp_from_g(c, p, CONN_TCP_SYN | CONN_TCP_ACK)),
	    os == &o2 ? 3 : 2);
	/* its ACK goes the same way and is recorded, in a SYN's place */
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, p)), srv);
	ck_assert(recorded(c, p));
	ck_assert_uint_eq(atomic_load(&h->conn_evicted), 1);
	/* a client inside, on node 1: its answer goes to node 1 */
	inside = conf_client_addr(&conf, 1);
	for (p = 1000; by_hash(inside, p) != srv; p++)
		;
	ck_assert_uint_eq(
	    gnet_route(os->gn, f,
		tcp_from_g(inside, p, CONN_TCP_SYN | CONN_TCP_ACK)),
	    1);
	other_down(&o2);
	other_down(&o3);
}
END_TEST

START_TEST(test_no_node_speaks_for_others_clients)
{
	uint32_t out = inet_addr("192.0.2.10");
	uint64_t foreign;
	struct other o2;
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 8080
	};

	ck_assert_uint_eq(listen_publish(seg, 1, &l, 1), 1);
	other_up(&o2, 2);
	foreign = atomic_load(&o2.ni.stats->foreign);
	/* node 2 is no gateway: no outside client comes in by it */
	ck_assert_uint_eq(gnet_route(o2.gn, f, tcp_syn(out, 5000)), 0);
	ck_assert_uint_eq(gnet_route(o2.gn, f, tcp_to_g(out, 5000)), 0);
	ck_assert(!recorded(out, 5000));
	/* nor node 1's client address */
	ck_assert_uint_eq(
	    gnet_route(o2.gn, f, tcp_syn(conf_client_addr(&conf, 1), 5000)), 0);
	ck_assert_uint_eq(atomic_load(&o2.ni.stats->foreign), foreign + 3);
	/* its own client address is fine */
	ck_assert_uint_ne(
	    gnet_route(o2.gn, f, tcp_syn(conf_client_addr(&conf, 2), 5000)), 0);
	ck_assert(recorded(conf_client_addr(&conf, 2), 5000));
	other_down(&o2);
}
END_TEST

START_TEST(test_any_gateway_carries_outside_clients)
{
	uint32_t c = inet_addr("192.0.2.11");

	/* a flow that entered by gateway 4 (an ARP or route change moved
	 * its client to this gateway): its packets still reach node 3 */
	pin_via(c, 43000, 3, 4);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, 43000)), 3);
}
END_TEST

/* ingress_of: the node flow client:fport -> G:8080 enters by */
static uint32_t
ingress_of(uint32_t client, uint16_t fport)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};
	struct shm_conn c;

	memcpy(k.faddr, &client, 4);
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 1);
	return c.ingress;
}

START_TEST(test_flows_outlive_their_gateway)
{
	uint32_t c = inet_addr("192.0.2.12");
	struct other o4;

	/* gateway 4 carried these flows in, and is down: this node's
	 * server answers out by this gateway, which takes the flow over */
	pin_via(c, 43100, 1, 4);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_from_g(c, 43100, CONN_TCP_ACK)),
	    1);
	ck_assert_uint_eq(ingress_of(c, 43100), 1);
	/* the client's packets of a flow node 3 serves, now coming in here:
	 * still to node 3, and the flow enters here from now on */
	pin_via(c, 43101, 3, 4);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, 43101)), 3);
	ck_assert_uint_eq(ingress_of(c, 43101), 1);
	/* while gateway 4 is up, its flows stay its own */
	other_up(&o4, 4);
	pin_via(c, 43102, 3, 4);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_to_g(c, 43102)), 3);
	ck_assert_uint_eq(ingress_of(c, 43102), 4);
	pin_via(c, 43103, 1, 4);
	ck_assert_uint_eq(gnet_route(gn, f, tcp_from_g(c, 43103, CONN_TCP_ACK)),
	    4);
	other_down(&o4);
}
END_TEST

START_TEST(test_repin_at_start)
{
	struct conn_key k[3] = {
		{ .family = 4,
		    .proto = IPPROTO_TCP,
		    .lport = 8080,
		    .fport = 44000 },
		{ .family = 4,
		    .proto = IPPROTO_TCP,
		    .lport = 8080,
		    .fport = 44001 },
		{ .family = 4,
		    .proto = IPPROTO_TCP,
		    .lport = 8080,
		    .fport = 44002 },
	};
	uint32_t out = inet_addr("192.0.2.13"),
		 in2 = conf_client_addr(&conf, 2);
	struct other o2;

	other_up(&o2, 2);
	memcpy(k[0].faddr, &out, 4);
	memcpy(k[1].faddr, &in2, 4);
	memcpy(k[2].faddr, &out, 4);
	pin_via(out, 44002, 3, 4); /* already recorded: left alone */
	ck_assert_uint_eq(gnet_repin(gn, k, 3), 2);
	/* served here; an outside client's flow enters by this gateway, an
	 * inside client's by its node */
	ck_assert_uint_eq(ingress_of(out, 44000), 1);
	ck_assert_uint_eq(ingress_of(in2, 44001), 2);
	ck_assert_uint_eq(ingress_of(out, 44002), 4);
	ck_assert_uint_eq(state(out, 44000), SHM_CONN_EST);
	ck_assert_uint_eq(gnet_repin(gn, k, 3), 0);
	other_down(&o2);
}
END_TEST

static Suite *
gnet_suite(void)
{
	Suite *s = suite_create("gnet");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_out_of_range_node_dropped);
	tcase_add_test(tc, test_other_nodes_flows_not_forwarded);
	tcase_add_test(tc, test_full_table_goes_by_hash_then_records);
	tcase_add_test(tc, test_no_node_speaks_for_others_clients);
	tcase_add_test(tc, test_any_gateway_carries_outside_clients);
	tcase_add_test(tc, test_flows_outlive_their_gateway);
	tcase_add_test(tc, test_repin_at_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gnet_suite());
}
