/*
 * check_gnet.c: the global network's routing decision (daemon/gnet.c)
 * against a scribbled connection table: a flow whose entry names a node
 * the segment does not have is dropped and counted, never handed on as
 * an index; a sane entry routes as it says; a packet of a flow another
 * node serves or carries in is dropped and counted as foreign.  Egress:
 * a flow a node opens from G to the outside is recorded as its own and
 * leaves by a gateway, whose answers find it; it follows a gateway's
 * death; it never takes another node's flow; from a client address,
 * the address routes it.
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
	ho.gaddrs = 1; /* G, the configuration's only address, index 0 */
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

/* ---- egress ---------------------------------------------------------- */

#define EG_PORT 80 /* the outside server's */

/* ip4_frame: Ethernet + IPv4 src -> dst of proto with l4len bytes of
 * payload; returns the offset of the payload */
static uint32_t
ip4_frame(uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4len)
{
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = (uint8_t)(20 + l4len);
	f[23] = proto;
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	return 34;
}

/* tcp4: a TCP segment src:sport -> dst:dport with flags; its length */
static uint32_t
tcp4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags)
{
	uint32_t o = ip4_frame(src, dst, IPPROTO_TCP, 20);

	f[o] = (uint8_t)(sport >> 8);
	f[o + 1] = (uint8_t)sport;
	f[o + 2] = (uint8_t)(dport >> 8);
	f[o + 3] = (uint8_t)dport;
	f[o + 12] = 0x50;
	f[o + 13] = flags;
	return o + 20;
}

/* udp4: a UDP datagram src:sport -> dst:dport; its length */
static uint32_t
udp4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint32_t o = ip4_frame(src, dst, IPPROTO_UDP, 8);

	f[o] = (uint8_t)(sport >> 8);
	f[o + 1] = (uint8_t)sport;
	f[o + 2] = (uint8_t)(dport >> 8);
	f[o + 3] = (uint8_t)dport;
	f[o + 5] = 8;
	return o + 8;
}

/* echo4: an ICMP echo request (or reply) src -> dst, identifier id */
static uint32_t
echo4(uint32_t src, uint32_t dst, uint16_t id, int request)
{
	uint32_t o = ip4_frame(src, dst, IPPROTO_ICMP, 8);

	f[o] = request ? 8 : 0;
	f[o + 4] = (uint8_t)(id >> 8);
	f[o + 5] = (uint8_t)id;
	return o + 8;
}

/* out_flow: the flow G:lport <-> x:fport of proto, as the table has it;
 * 0 when it has none */
static int
out_flow(uint32_t x, uint16_t lport, uint16_t fport, uint8_t proto,
    struct shm_conn *c)
{
	struct conn_key k = {
		.family = 4, .proto = proto, .lport = lport, .fport = fport
	};

	memcpy(k.faddr, &x, 4);
	return conn_lookup(seg, &k, c, NULL);
}

/* gateway_up: another node as a gateway (o->conf says so; the segment's
 * flag makes it one for the others) */
static void
gateway_up(struct other *o, uint32_t id)
{
	other_up(o, id);
	gnet_free(o->gn);
	snprintf(o->conf.g.gateway, sizeof(o->conf.g.gateway), "gw0");
	o->ho.node->flags |= SHM_NODE_F_GATEWAY;
	ck_assert_ptr_nonnull(o->gn = gnet_new(&o->ho, &o->ni, &o->conf));
}

/* The first port of the egress node's share of egress-ports (egress_up,
 * from G): the egress tests' flows come from it on. */
static uint16_t eg;

/* egress_up: a node that is no gateway, with egress = yes */
static void
egress_up(struct other *o, uint32_t id, uint32_t source)
{
	uint32_t lo, hi;

	other_up(o, id);
	gnet_free(o->gn);
	o->conf.g.egress = 1;
	o->conf.g.egress_source = source;
	ck_assert_ptr_nonnull(o->gn = gnet_new(&o->ho, &o->ni, &o->conf));
	ck_assert_int_eq(
	    conf_egress_ports(&o->conf, o->ho.max_nodes, id, &lo, &hi), 0);
	ck_assert_uint_ge(hi - lo, 3500); /* room for the tests' ports */
	eg = (uint16_t)lo;
}

START_TEST(test_egress_records_a_flow_that_gateways_bring_back)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.80"), gw;
	uint32_t used[3] = { 0, 0, 0 };
	uint16_t p;
	struct other o2, o3, o4;
	struct shm_conn c;
	uint64_t flows;

	gateway_up(&o2, 2);
	other_up(&o3, 3);
	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	flows = atomic_load(&o4.ni.stats->egress_flows);
	/* node 4's SYN from G: recorded as its own, entering by a gateway */
	gw = gnet_route(o4.gn, f, tcp4(g, eg, x, EG_PORT, CONN_TCP_SYN));
	ck_assert(gw == 1 || gw == 2);
	ck_assert(out_flow(x, eg, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(c.node, 4);
	ck_assert_uint_eq(c.ingress, gw);
	ck_assert_uint_eq(atomic_load(&c.stflags),
	    SHM_CONN_SYN | SHM_CONN_EGRESS);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_flows), flows + 1);
	/* a retransmission goes the same way, and is no new flow */
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, eg, x, EG_PORT, CONN_TCP_SYN)), gw);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_flows), flows + 1);
	/* the outside's SYN-ACK, at either gateway, goes to node 4 */
	ck_assert_uint_eq(
	    gnet_route(gn, f,
		tcp4(x, EG_PORT, g, eg, CONN_TCP_SYN | CONN_TCP_ACK)),
	    4);
	ck_assert_uint_eq(
	    gnet_route(o2.gn, f,
		tcp4(x, EG_PORT, g, eg, CONN_TCP_SYN | CONN_TCP_ACK)),
	    4);
	/* node 4's ACK completes the handshake: node 4 is the client */
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, eg, x, EG_PORT, CONN_TCP_ACK)), gw);
	ck_assert(out_flow(x, eg, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(atomic_load(&c.stflags) & 0xff, SHM_CONN_EST);
	/* flows go out by both gateways */
	for (p = eg + 1; p < eg + 41; p++) {
		gw = gnet_route(o4.gn, f, tcp4(g, p, x, EG_PORT, CONN_TCP_SYN));
		ck_assert(gw == 1 || gw == 2);
		used[gw]++;
	}
	ck_assert_uint_gt(used[1], 0);
	ck_assert_uint_gt(used[2], 0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_flows), flows + 41);
	/* a UDP datagram and a ping open flows too; their answers come back */
	gw = gnet_route(o4.gn, f, udp4(g, eg + 100, x, 53));
	ck_assert(gw == 1 || gw == 2);
	ck_assert_uint_eq(gnet_route(gn, f, udp4(x, 53, g, eg + 100)), 4);
	gw = gnet_route(o4.gn, f, echo4(g, x, 0x4242, 1));
	ck_assert(gw == 1 || gw == 2);
	ck_assert(out_flow(x, 0x4242, 0, IPPROTO_ICMP, &c));
	ck_assert_uint_eq(c.node, 4);
	ck_assert_uint_eq(gnet_route(gn, f, echo4(x, g, 0x4242, 0)), 4);
	other_down(&o2);
	other_down(&o3);
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_follows_its_gateways_death)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.81");
	struct other o2, o4;
	struct shm_conn c;
	uint16_t p;

	gateway_up(&o2, 2);
	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	/* a flow that leaves by gateway 2 */
	for (p = eg + 1000;
	     gnet_route(o4.gn, f, tcp4(g, p, x, EG_PORT, CONN_TCP_SYN)) != 2;
	     p++)
		ck_assert_uint_lt(p, eg + 1100);
	ck_assert_uint_eq(
	    gnet_route(o2.gn, f,
		tcp4(x, EG_PORT, g, p, CONN_TCP_SYN | CONN_TCP_ACK)),
	    4);
	/* gateway 2 dies: node 4's next packet leaves by gateway 1, which
	 * the flow enters by from now on */
	ck_assert_int_eq(node_leave(o2.seg, 2), 0);
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, p, x, EG_PORT, CONN_TCP_ACK)), 1);
	ck_assert(out_flow(x, p, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(c.ingress, 1);
	ck_assert_uint_eq(c.node, 4);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(x, EG_PORT, g, p, CONN_TCP_ACK)), 4);
	/* new flows leave by gateway 1 alone */
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 1200, x, EG_PORT, CONN_TCP_SYN)),
	    1);
	other_down(&o2);
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_never_takes_another_nodes_flow)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.82");
	uint64_t taken, foreign;
	struct other o4;
	struct conn_key k = { .family = 4,
		.proto = IPPROTO_TCP,
		.lport = 0, /* set once eg is */
		.fport = EG_PORT };
	struct shm_conn c;

	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	k.lport = (uint16_t)(eg + 2000);
	memcpy(k.faddr, &x, 4);
	/* node 3 has G:eg + 2000 <-> x:80 (its own egress flow, or a server's) */
	ck_assert_int_eq(conn_insert(seg, 1, &k, 3, 1,
			     SHM_CONN_EST | SHM_CONN_EGRESS, conn_now(), &tmo,
			     NULL, NULL),
	    1);
	taken = atomic_load(&o4.ni.stats->egress_collided);
	foreign = atomic_load(&o4.ni.stats->foreign);
	/* node 4's SYN for the same 5-tuple is dropped and counted */
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 2000, x, EG_PORT, CONN_TCP_SYN)),
	    0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_collided),
	    taken + 1);
	ck_assert(out_flow(x, eg + 2000, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(c.node, 3);
	ck_assert_uint_eq(c.ingress, 1);
	/* as is a first datagram */
	k.proto = IPPROTO_UDP;
	ck_assert_int_eq(conn_insert(seg, 1, &k, 3, 1, SHM_CONN_UDP, conn_now(),
			     &tmo, NULL, NULL),
	    1);
	ck_assert_uint_eq(gnet_route(o4.gn, f, udp4(g, eg + 2000, x, EG_PORT)),
	    0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_collided),
	    taken + 2);
	/* a segment of node 3's flow from node 4 is foreign, as before */
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 2000, x, EG_PORT, CONN_TCP_ACK)),
	    0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->foreign), foreign + 1);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_collided),
	    taken + 2);
	ck_assert(out_flow(x, eg + 2000, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(c.node, 3);
	other_down(&o4);
}
END_TEST

/* A socket of an egress node must not take another node's clients, nor
 * another node's ephemeral ports of G: it opens flows from its own share
 * of egress-ports, or from a port it serves itself. */
START_TEST(test_egress_takes_no_port_of_another)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.87"), gw;
	struct shm_listen l3[2] = {
		{ .family = 4, .proto = IPPROTO_TCP },
		{ .family = 4, .proto = IPPROTO_UDP },
	};
	struct shm_listen l4 = {
		.family = 4, .proto = IPPROTO_UDP, .port = 123
	};
	struct other o3, o4;
	struct shm_conn c;
	uint64_t taken;

	other_up(&o3, 3);
	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	l3[0].port = (uint16_t)(eg + 10);
	l3[1].port = (uint16_t)(eg + 11);
	ck_assert_uint_eq(listen_publish(o3.seg, 3, l3, 2), 2);
	ck_assert_uint_eq(listen_publish(o4.seg, 4, &l4, 1), 1);
	taken = atomic_load(&o4.ni.stats->egress_collided);
	/* ports node 3 serves: node 4's SYN, datagram and bare ACK from them
	 * are dropped, counted, and recorded nowhere */
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, eg + 10, x, 50000, CONN_TCP_SYN)), 0);
	ck_assert_uint_eq(gnet_route(o4.gn, f, udp4(g, eg + 11, x, 5060)), 0);
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, eg + 10, x, 50001, CONN_TCP_ACK)), 0);
	ck_assert(!out_flow(x, eg + 10, 50000, IPPROTO_TCP, NULL));
	ck_assert(!out_flow(x, eg + 11, 5060, IPPROTO_UDP, NULL));
	ck_assert(!out_flow(x, eg + 10, 50001, IPPROTO_TCP, NULL));
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_collided),
	    taken + 3);
	/* and the outside's packets to them are node 3's clients */
	ck_assert_uint_eq(gnet_route(gn, f, udp4(x, 5060, g, eg + 11)), 3);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(x, 50000, g, eg + 10, CONN_TCP_SYN)), 3);
	/* a port outside node 4's share: another node's ephemeral port */
	ck_assert_uint_eq(
	    gnet_route(o4.gn, f, tcp4(g, eg - 1, x, 80, CONN_TCP_SYN)), 0);
	ck_assert(!out_flow(x, eg - 1, 80, IPPROTO_TCP, NULL));
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_collided),
	    taken + 4);
	/* a port node 4 serves itself, outside its share (an NTP client
	 * bound to G:123): its own */
	gw = gnet_route(o4.gn, f, udp4(g, 123, x, 123));
	ck_assert_uint_eq(gw, 1);
	ck_assert(out_flow(x, 123, 123, IPPROTO_UDP, &c));
	ck_assert_uint_eq(c.node, 4);
	ck_assert_uint_eq(gnet_route(gn, f, udp4(x, 123, g, 123)), 4);
	other_down(&o3);
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_needs_a_gateway_and_egress)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.83");
	struct other o3, o4;
	uint64_t nogw;

	other_up(&o3, 3);
	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	/* node 3 has no egress: its SYN to the outside goes to its own
	 * stack, unrecorded, as ever */
	ck_assert_uint_eq(gnet_route(o3.gn, f,
			      tcp4(g, eg + 2500, x, EG_PORT, CONN_TCP_SYN)),
	    3);
	ck_assert(!out_flow(x, eg + 2500, EG_PORT, IPPROTO_TCP, NULL));
	ck_assert_uint_eq(gnet_route(o3.gn, f,
			      tcp4(conf_client_addr(&conf, 3), eg + 2500, x,
				  EG_PORT, CONN_TCP_SYN)),
	    0);
	/* with no gateway up, node 4's is dropped and counted */
	ho.node->flags &= (uint8_t)~SHM_NODE_F_GATEWAY;
	nogw = atomic_load(&o4.ni.stats->egress_no_gateway);
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 2501, x, EG_PORT, CONN_TCP_SYN)),
	    0);
	ck_assert(!out_flow(x, eg + 2501, EG_PORT, IPPROTO_TCP, NULL));
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(conf_client_addr(&conf, 4), eg + 2501, x,
				  EG_PORT, CONN_TCP_SYN)),
	    0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_no_gateway),
	    nogw + 2);
	other_down(&o3);
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_forgotten_flow_goes_on)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.84"), gw;
	struct other o4;
	struct shm_conn c;

	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	/* a segment of a connection the table forgot while it idled */
	gw = gnet_route(o4.gn, f, tcp4(g, eg + 3000, x, EG_PORT, CONN_TCP_ACK));
	ck_assert_uint_eq(gw, 1);
	ck_assert(out_flow(x, eg + 3000, EG_PORT, IPPROTO_TCP, &c));
	ck_assert_uint_eq(c.node, 4);
	ck_assert_uint_eq(atomic_load(&c.stflags),
	    SHM_CONN_EST | SHM_CONN_EGRESS);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(x, EG_PORT, g, eg + 3000, CONN_TCP_ACK)), 4);
	/* a RST of no flow is recorded by nobody */
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 3001, x, EG_PORT, CONN_TCP_RST)),
	    4);
	ck_assert(!out_flow(x, eg + 3001, EG_PORT, IPPROTO_TCP, NULL));
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_full_table)
{
	uint32_t g = conf.global.addr, x = inet_addr("198.51.100.86");
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_UDP, .port = 5353
	};
	struct other o4;
	uint64_t flows;

	egress_up(&o4, 4, CONF_EGRESS_GLOBAL);
	ck_assert_uint_eq(listen_publish(o4.seg, 4, &l, 1), 1);
	fill();
	flows = atomic_load(&o4.ni.stats->egress_flows);
	/* a SYN that cannot be recorded would find no flow to come back
	 * by: dropped (the client tries again) */
	ck_assert_uint_eq(gnet_route(o4.gn, f,
			      tcp4(g, eg + 3400, x, EG_PORT, CONN_TCP_SYN)),
	    0);
	ck_assert(!out_flow(x, eg + 3400, EG_PORT, IPPROTO_TCP, NULL));
	/* a datagram from a port node 4 serves may be the answer of a
	 * flow that went by its hash: out by the gateway, unrecorded */
	ck_assert_uint_eq(gnet_route(o4.gn, f, udp4(g, 5353, x, 5353)), 1);
	ck_assert(!out_flow(x, 5353, 5353, IPPROTO_UDP, NULL));
	ck_assert_uint_eq(gnet_route(o4.gn, f, udp4(g, eg + 3401, x, 53)), 0);
	ck_assert_uint_eq(atomic_load(&o4.ni.stats->egress_flows), flows);
	other_down(&o4);
}
END_TEST

START_TEST(test_egress_from_client_address_routes_by_address)
{
	uint32_t x = inet_addr("198.51.100.85"), c4, c3, gw;
	struct other o2, o3, o4;
	uint32_t used[3] = { 0, 0, 0 };
	uint64_t foreign;
	uint16_t p;

	gateway_up(&o2, 2);
	other_up(&o3, 3);
	egress_up(&o4, 4, CONF_EGRESS_NODE);
	c4 = conf_client_addr(&conf, 4);
	c3 = conf_client_addr(&conf, 3);
	/* node 4 from its client address: to a gateway by the flow's hash,
	 * nothing recorded */
	for (p = 38000; p < 38040; p++) {
		gw = gnet_route(o4.gn, f,
		    tcp4(c4, p, x, EG_PORT, CONN_TCP_SYN));
		ck_assert(gw == 1 || gw == 2);
		used[gw]++;
		ck_assert(!out_flow(x, p, EG_PORT, IPPROTO_TCP, NULL));
	}
	ck_assert_uint_gt(used[1], 0);
	ck_assert_uint_gt(used[2], 0);
	/* the same flow always by the same gateway */
	gw = gnet_route(o4.gn, f, udp4(c4, 38100, x, 53));
	ck_assert_uint_eq(gnet_route(o4.gn, f, udp4(c4, 38100, x, 53)), gw);
	/* the answers, at either gateway, go to the node the address
	 * names, with no lookup */
	ck_assert_uint_eq(
	    gnet_route(gn, f,
		tcp4(x, EG_PORT, c4, 38000, CONN_TCP_SYN | CONN_TCP_ACK)),
	    4);
	ck_assert_uint_eq(gnet_route(o2.gn, f, udp4(x, 53, c4, 38100)), 4);
	ck_assert_uint_eq(gnet_route(gn, f, udp4(x, 53, c3, 38100)), 3);
	/* a node down gets none */
	ck_assert_uint_eq(gnet_route(gn, f,
			      udp4(x, 53, conf_client_addr(&conf, 6), 38100)),
	    0);
	/* node 3 may not speak from node 4's address, nor take the
	 * outside's packets in */
	foreign = atomic_load(&o3.ni.stats->foreign);
	ck_assert_uint_eq(gnet_route(o3.gn, f, udp4(c4, 38101, x, 53)), 0);
	ck_assert_uint_eq(gnet_route(o3.gn, f, udp4(x, 53, c3, 38101)), 0);
	ck_assert_uint_eq(atomic_load(&o3.ni.stats->foreign), foreign + 2);
	other_down(&o2);
	other_down(&o3);
	other_down(&o4);
}
END_TEST

/* ---- several cluster addresses ------------------------------------- */

/* g2_up: node id carries G2 = 10.202.0.2 only (index 1, taken now),
 * listens on its port 8080 */
static void
g2_up(struct other *o, uint32_t id)
{
	int idx;

	other_up(o, id);
	gnet_free(o->gn);
	conf_set(&o->conf, "global.address=10.202.0.2", NULL, 0);
	ck_assert_int_eq(idx = gaddr_claim(o->seg, inet_addr("10.202.0.2")), 1);
	o->ho.gidx[0] = (uint8_t)idx;
	o->ho.gaddrs = 1u << idx;
	gaddr_publish(o->seg, id, o->ho.gaddrs);
	ck_assert_ptr_nonnull(o->gn = gnet_new(&o->ho, &o->ni, &o->conf));
}

START_TEST(test_two_addresses_route_apart)
{
	uint32_t c = inet_addr("192.0.2.50"), g = conf.global.addr,
		 g2 = inet_addr("10.202.0.2");
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 8080
	};
	uint64_t unrouted;
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = 40000
	};
	struct shm_conn e;
	struct other o3;

	/* node 1 (this one, a gateway) carries G and listens on 8080; node
	 * 3 carries G2 and listens on 8080.  This node's routing learns of
	 * G2 from the segment, after it started. */
	listen_publish(seg, 1, &l, 1);
	g2_up(&o3, 3);
	/* one client port to both addresses: two flows, two nodes */
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40000, g2, 8080, CONN_TCP_SYN)), 3);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40000, g, 8080, CONN_TCP_SYN)), 1);
	memcpy(k.faddr, &c, 4);
	ck_assert_int_eq(conn_lookup(seg, &k, &e, NULL), 1);
	ck_assert_uint_eq(e.node, 1);
	k.aidx = 1;
	ck_assert_int_eq(conn_lookup(seg, &k, &e, NULL), 1);
	ck_assert_uint_eq(e.node, 3);
	ck_assert_uint_eq(e.ingress, 1);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40000, g2, 8080, CONN_TCP_ACK)), 3);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40000, g, 8080, CONN_TCP_ACK)), 1);
	/* node 3 answers from G2: back to the ingress, node 1 */
	ck_assert_uint_eq(
	    gnet_route(o3.gn, f, tcp4(g2, 8080, c, 40000, CONN_TCP_ACK)), 1);
	/* a ping to G2 goes to a node that carries it */
	ck_assert_uint_eq(gnet_route(gn, f, echo4(c, g2, 77, 1)), 3);
	/* G2's port without a listener: this node's stack is no host of G2
	 * to answer for it: dropped */
	unrouted = atomic_load(&ni.stats->unrouted);
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40001, g2, 9999, CONN_TCP_SYN)), 0);
	ck_assert_uint_eq(atomic_load(&ni.stats->unrouted), unrouted + 1);
	/* G's is this node's own to answer (RST) */
	ck_assert_uint_eq(
	    gnet_route(gn, f, tcp4(c, 40001, g, 9999, CONN_TCP_SYN)), 1);
	other_down(&o3);
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
	tcase_add_test(tc, test_two_addresses_route_apart);
	tcase_add_test(tc, test_egress_records_a_flow_that_gateways_bring_back);
	tcase_add_test(tc, test_egress_follows_its_gateways_death);
	tcase_add_test(tc, test_egress_never_takes_another_nodes_flow);
	tcase_add_test(tc, test_egress_takes_no_port_of_another);
	tcase_add_test(tc, test_egress_needs_a_gateway_and_egress);
	tcase_add_test(tc, test_egress_forgotten_flow_goes_on);
	tcase_add_test(tc, test_egress_full_table);
	tcase_add_test(tc, test_egress_from_client_address_routes_by_address);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gnet_suite());
}
