/*
 * check_gnet.c: the global network's routing decision (daemon/gnet.c)
 * against a scribbled connection table: a flow whose entry names a node
 * the segment does not have is dropped and counted, never handed on as
 * an index; a sane entry routes as it says.
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

/* pin: record the flow client:fport -> G:8080 as served by node */
static void
pin(uint32_t client, uint16_t fport, uint16_t node)
{
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 8080, .fport = fport
	};

	memcpy(k.faddr, &client, 4);
	ck_assert_int_eq(conn_insert(seg, 1, &k, node, 1, SHM_CONN_EST,
			     conn_now(), &tmo, NULL, NULL),
	    1);
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

static Suite *
gnet_suite(void)
{
	Suite *s = suite_create("gnet");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_out_of_range_node_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gnet_suite());
}
