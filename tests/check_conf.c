/*
 * check_conf.c: the configuration parser (daemon/conf.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <check.h>

#include "testutil.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static struct conf c;
static char err[1200];

static void
setup(void)
{
	conf_defaults(&c);
	err[0] = '\0';
}

static int
parse(const char *text)
{
	return conf_parse_buf(&c, "test.conf", text, strlen(text), err,
	    sizeof(err));
}

START_TEST(test_defaults)
{
	ck_assert_str_eq(c.local.ifname, "shm0");
	ck_assert_uint_eq(c.local.mtu, 65520);
	ck_assert_uint_eq(c.local.txqueuelen, 2048);
	ck_assert_uint_eq(c.global.txqueuelen, 2048);
	ck_assert_uint_eq(c.tcp_wmem_max, 8u << 20);
	ck_assert_uint_eq(c.max_nodes, 64);
	ck_assert_uint_eq(c.node, 0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no cluster name"));
	strcpy(c.cluster, "demo");
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.segment, "/dev/shm/shmnet.demo");
	ck_assert_uint_eq(ntohl(conf_local_addr(&c, 2)), 0x0ac90002);
	ck_assert_uint_eq(ntohl(conf_local_addr(&c, 258)), 0x0ac90102);
}
END_TEST

START_TEST(test_full_file)
{
	ck_assert_int_eq(parse("# comment\n"
			       "[cluster]\n"
			       "name = prod-1   # inline comment\n"
			       "\n"
			       "[local]\n"
			       "  interface = shmx\n"
			       "address = 192.168.77.5/24 ; inline comment\n"
			       "mtu = 1500x\n"),
	    -1);
	ck_assert_str_eq(err, "test.conf:8: mtu '1500x' is not a number");
	ck_assert_str_eq(c.cluster, "prod-1");
	setup();
	ck_assert_int_eq(
	    parse("[cluster]\nname = prod-1\nnode = 7\nsegment-size = 64M\n"
		  "max-nodes = 32\n[local]\ninterface = shmx\n"
		  "address = 192.168.77.5/24\nmtu = 9000\nring-size = 1M\n"
		  "slot-size = 4096\nbusy-poll = 50\noffload = no\n"
		  "cpu-follow = no\n[global]\ncpu-follow = yes\n"),
	    0);
	ck_assert_str_eq(c.cluster, "prod-1");
	ck_assert_uint_eq(c.node, 7);
	ck_assert_uint_eq(c.segment_size, 64 << 20);
	ck_assert_uint_eq(c.local.mtu, 9000);
	ck_assert_uint_eq(c.local.ring_size, 1 << 20);
	ck_assert_uint_eq(c.local.prefix, 24);
	ck_assert_uint_eq(c.local.offload, 0);
	ck_assert_uint_eq(c.local.cpu_follow, 0);
	ck_assert_uint_eq(c.global.cpu_follow, 1);
	ck_assert_uint_eq(conf_ring_slots(&c.local), 256);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_range_error_names_file_line_and_range)
{
	ck_assert_int_eq(parse("[local]\n\nmtu = 70000\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:3: mtu 70000 out of range "
	    "(576-65535)");
	ck_assert_int_eq(parse("[global]\ntxqueuelen = 8\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: txqueuelen 8 out of range "
	    "(16-65536)");
	ck_assert_int_eq(parse("[local]\ntxqueuelen = 65536\n"), 0);
	ck_assert_uint_eq(c.local.txqueuelen, 65536);
	ck_assert_int_eq(parse("[namespace]\ntcp-wmem-max = 2G\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: tcp-wmem-max 2G out of range "
	    "(0-1073741824)");
	ck_assert_int_eq(parse("[namespace]\ntcp-wmem-max = 16M\n"), 0);
	ck_assert_uint_eq(c.tcp_wmem_max, 16u << 20);
	ck_assert_int_eq(parse("[namespace]\ntcp-wmem-max = 0\n"), 0);
	ck_assert_uint_eq(c.tcp_wmem_max, 0);
	ck_assert_int_eq(parse("[cluster]\n\nmetrics-listen = 0.0.0.0:70000\n"),
	    -1);
	ck_assert_str_eq(err,
	    "test.conf:3: metrics-listen port 70000 out of range "
	    "(1-65535)");
	ck_assert_int_eq(parse("[cluster]\nmetrics-listen = [::1]:0\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: metrics-listen port 0 out of range (1-65535)");
}
END_TEST

START_TEST(test_metrics_listen)
{
	uint8_t want[16];
	char s[80];

	ck_assert_uint_eq(c.metrics.family, 0); /* off by default */
	ck_assert_int_eq(parse("[cluster]\nmetrics-listen = 10.201.0.1:9482\n"),
	    0);
	ck_assert_uint_eq(c.metrics.family, AF_INET);
	ck_assert_uint_eq(c.metrics.port, 9482);
	ck_assert_int_eq(inet_pton(AF_INET, "10.201.0.1", want), 1);
	ck_assert(memcmp(c.metrics.addr, want, 4) == 0);
	conf_listen_str(&c.metrics, s, sizeof(s));
	ck_assert_str_eq(s, "10.201.0.1:9482");
	ck_assert_int_eq(parse("[cluster]\nmetrics-listen = [fd00::1]:80\n"),
	    0);
	ck_assert_uint_eq(c.metrics.family, AF_INET6);
	ck_assert_uint_eq(c.metrics.port, 80);
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::1", want), 1);
	ck_assert(memcmp(c.metrics.addr, want, 16) == 0);
	conf_listen_str(&c.metrics, s, sizeof(s));
	ck_assert_str_eq(s, "[fd00::1]:80");
	ck_assert_int_eq(parse("[cluster]\nmetrics-listen = none\n"), 0);
	ck_assert_uint_eq(c.metrics.family, 0);
	conf_listen_str(&c.metrics, s, sizeof(s));
	ck_assert_str_eq(s, "none");
	ck_assert_int_eq(conf_set(&c, "cluster.metrics-listen=127.0.0.1:1", err,
			     sizeof(err)),
	    0);
	ck_assert_uint_eq(c.metrics.port, 1);
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "mtu = 1500\n", "test.conf:1: key outside a section" },
		{ "[local]\nmtu\n", "test.conf:2: expected key = value" },
		{ "[bogus]\n", "test.conf:1: unknown section [bogus]" },
		{ "[global]\naddress = 10.202.0.1/24\n", "not a unicast IPv4" },
		{ "[global]\ntable = 0\n", "table 0 out of range" },
		{ "[global]\ngateway = e/th0\n", "character not allowed" },
		{ "[local]\nspeed = 3\n", "unknown key 'speed' in [local]" },
		{ "[local]\nmtu = fast\n", "mtu 'fast' is not a number" },
		{ "[local]\nslot-size = 3000\n", "a power of two" },
		{ "[local]\nring-size = 1T\n", "is not a number" },
		{ "[local]\naddress = 10.1.2/16\n", "not an IPv4 address" },
		{ "[local]\naddress = 10.1.2.3/40\n", "not an IPv4 address" },
		{ "[local]\noffload = maybe\n", "must be yes or no" },
		{ "[local]\ninterface = a/b\n", "character not allowed" },
		{ "[local]\ninterface = averyveryverylongname\n",
		    "must be 1-15 characters" },
		{ "[cluster]\nnode = 0\n", "must be auto or 1-256" },
		{ "[cluster]\nsegment = relative\n", "absolute path" },
		{ "[cluster\n", "section header must be [name]" },
		{ "[cluster]\nmax-nodes = 1\n",
		    "max-nodes 1 out of range (2-256)" },
		{ "[cluster]\nsegment-mode = 0644x\n",
		    "must be an octal mode" },
		{ "[cluster]\nsegment-mode = 0400\n", "must be an octal mode" },
		{ "[cluster]\nsegment-mode = 0770\n", "must be an octal mode" },
		{ "[cluster]\nmetrics-listen = 127.0.0.1\n",
		    "metrics-listen '127.0.0.1' is not ADDRESS:PORT" },
		{ "[cluster]\nmetrics-listen = ::1:9482\n",
		    "is not ADDRESS:PORT" },
		{ "[cluster]\nmetrics-listen = [::1]9482\n",
		    "is not ADDRESS:PORT" },
		{ "[cluster]\nmetrics-listen = [10.0.0.1]:80\n",
		    "is not ADDRESS:PORT" },
		{ "[cluster]\nmetrics-listen = 10.0.0.1:http\n",
		    "is not ADDRESS:PORT" },
		{ "[cluster]\nmetrics-listen = host:80\n",
		    "is not ADDRESS:PORT" },
		{ "[cluster]\nlog-level = loud\n",
		    "test.conf:2: log-level 'loud' must be error, warning, "
		    "info or debug" },
		{ "[global]\ngateway-mode = bgp\n",
		    "test.conf:2: gateway-mode 'bgp' must be arp or route" },
		{ "[global]\nannounce-table = 0\n",
		    "announce-table 0 out of range (1-2147483647)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		setup();
		ck_assert_msg(parse(cases[i].text) == -1, "accepted: %s",
		    cases[i].text);
		ck_assert_msg(strstr(err, cases[i].want) != NULL,
		    "case %zu: got '%s', want '%s'", i, err, cases[i].want);
	}
}
END_TEST

START_TEST(test_health_check_keys)
{
	ck_assert_str_eq(c.g.check, "none");
	ck_assert_uint_eq(c.g.check_interval, 2);
	ck_assert_uint_eq(c.g.check_timeout, 1);
	ck_assert_uint_eq(c.g.check_rise, 2);
	ck_assert_uint_eq(c.g.check_fall, 3);
	ck_assert_int_eq(parse("[global]\ncheck = exec:/usr/lib/x/check ok\n"
			       "check-interval = 10\ncheck-timeout = 4\n"
			       "check-rise = 1\ncheck-fall = 100\n"),
	    0);
	ck_assert_str_eq(c.g.check, "exec:/usr/lib/x/check ok");
	ck_assert_uint_eq(c.g.check_interval, 10);
	ck_assert_uint_eq(c.g.check_timeout, 4);
	ck_assert_uint_eq(c.g.check_rise, 1);
	ck_assert_uint_eq(c.g.check_fall, 100);
	ck_assert_int_eq(parse("[global]\ncheck = tcp\n"), 0);
	ck_assert_str_eq(c.g.check, "tcp");
	ck_assert_int_eq(parse("[global]\ncheck =\n"), 0);
	ck_assert_str_eq(c.g.check, "none");

	ck_assert_int_eq(parse("[global]\n\ncheck = exec:check.sh\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:3: check 'exec:check.sh' must be none, tcp or "
	    "exec:/absolute/path (a program, run without a shell, at most "
	    "4103 characters)");
	ck_assert_int_eq(parse("[global]\ncheck = http\n"), -1);
	ck_assert_int_eq(parse("[global]\ncheck-interval = 0\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: check-interval 0 out of range (1-3600)");
	ck_assert_int_eq(parse("[global]\ncheck-rise = 101\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: check-rise 101 out of range (1-100)");
	ck_assert_int_eq(parse("[global]\ncheck-fall = 0\n"), -1);
	ck_assert_int_eq(parse("[global]\ncheck-timeout = 3601\n"), -1);

	/* a check ends before the next begins */
	ck_assert_int_eq(parse("[cluster]\nname = x\n[global]\n"
			       "check-interval = 1\ncheck-timeout = 2\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "check-timeout 2 is longer than check-interval 1: a check must "
	    "end before the next one starts");
	c.g.check_timeout = 1;
	ck_assert_msg(conf_finish(&c, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(test_set_and_finish_checks)
{
	ck_assert_int_eq(conf_set(&c, "local.mtu=1500", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.local.mtu, 1500);
	ck_assert_int_eq(conf_set(&c, "local.mtu=99", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "--set local.mtu=99: mtu 99 out of range "
	    "(576-65535)");
	ck_assert_int_eq(conf_set(&c, "mtu=1500", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "SECTION.KEY=VALUE"));
	ck_assert_int_eq(conf_set(&c, "cluster.node=auto", err, sizeof(err)),
	    0);
	strcpy(c.cluster, "x");
	c.local.ring_size = 128 << 10;
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "local ring-size 131072 / slot-size 256 must "
	    "hold two 64 KiB frames in at most 65536 slots");
	c.local.ring_size = 512 << 10;
	c.local.ring_min = 1 << 20;
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "local ring-min-size 1048576 is larger than "
	    "ring-size 524288");
	c.local.ring_min = 16 << 10;
	ck_assert_uint_eq(conf_ring_min_slots(&c.local), 64);
	ck_assert_uint_eq(conf_ring_slots(&c.local), 2048);
	c.node = 100;
	c.max_nodes = 64;
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "node 100 out of range (1-64"));
}
END_TEST

START_TEST(test_global_section)
{
	ck_assert_int_eq(
	    parse("[global]\naddress = 10.99.0.7\ngateway = eth0\n"
		  "table = 300\nrule-priority = 50\nconnections = 1000\n"
		  "udp-timeout = 60\n"),
	    0);
	ck_assert_uint_eq(ntohl(c.global.addr), 0x0a630007);
	ck_assert_str_eq(c.g.gateway, "eth0");
	ck_assert_uint_eq(c.g.table, 300);
	ck_assert_uint_eq(conf_conn_buckets(&c), 256); /* >= 1000 / 7 */
	ck_assert_int_eq(conf_set(&c, "global.gateway=none", err, sizeof(err)),
	    0);
	ck_assert_str_eq(c.g.gateway, "");
	strcpy(c.cluster, "x");
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, "global.address=10.201.9.9", err,
			     sizeof(err)),
	    0); /* inside 10.201/16 */
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "--set global.address=10.201.9.9: cluster address 10.201.9.9 lies "
	    "in the local network 10.201.0.0/16: it must not");
	setup();
	ck_assert_str_eq(c.global.ifname, "shmg0");
	ck_assert_uint_eq(ntohl(c.global.addr), 0x0aca0001);
	ck_assert_uint_eq(c.g.enabled, 1);
	ck_assert_uint_eq(c.segment_mode, 0600);
	ck_assert_int_eq(
	    conf_set(&c, "cluster.segment-mode=0660", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.segment_mode, 0660);
	ck_assert_int_eq(
	    conf_set(&c, "cluster.segment-group=shmnet", err, sizeof(err)), 0);
	ck_assert_str_eq(c.segment_group, "shmnet");
}
END_TEST

START_TEST(test_address_list)
{
	char many[512];
	int i;

	ck_assert_int_eq(
	    parse("[cluster]\nname = x\n[global]\n"
		  "address = 10.202.0.7, 10.202.0.2 192.0.2.9,10.99.0.1/32\n"),
	    0);
	ck_assert_uint_eq(c.g.addrs.n, 4);
	ck_assert_uint_eq(c.g.addrs.a[0], inet_addr("10.202.0.7"));
	ck_assert_uint_eq(c.g.addrs.a[1], inet_addr("10.202.0.2"));
	ck_assert_uint_eq(c.g.addrs.a[2], inet_addr("192.0.2.9"));
	ck_assert_uint_eq(c.g.addrs.a[3], inet_addr("10.99.0.1"));
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	/* the first is the node's own */
	ck_assert_uint_eq(c.global.addr, inet_addr("10.202.0.7"));
	/* one address, as before */
	ck_assert_int_eq(parse("[global]\naddress = 10.202.0.3\n"), 0);
	ck_assert_uint_eq(c.g.addrs.n, 1);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.global.addr, inet_addr("10.202.0.3"));
	/* errors name the file and the line */
	ck_assert_int_eq(
	    parse("[global]\naddress = 10.202.0.1, 10.202.0.2, 10.202.0.1\n"),
	    -1);
	ck_assert_str_eq(err, "test.conf:2: address lists 10.202.0.1 twice");
	ck_assert_int_eq(parse("[global]\n\naddress = 10.202.0.1, 224.0.0.5\n"),
	    -1);
	ck_assert_str_eq(err,
	    "test.conf:3: address 224.0.0.5 is not a unicast IPv4 address (a "
	    "cluster address, e.g. 10.202.0.1)");
	ck_assert_int_eq(parse("[global]\naddress = 127.0.0.1\n"), -1);
	ck_assert_int_eq(parse("[global]\naddress = ,\n"), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: address needs a cluster address (e.g. 10.202.0.1)");
	strcpy(many, "[global]\naddress =");
	for (i = 1; i <= CONF_GADDR_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    " 10.202.0.%d", i);
	strcat(many, "\n");
	ck_assert_int_eq(parse(many), -1);
	ck_assert_str_eq(err,
	    "test.conf:2: address lists more than 16 "
	    "addresses");
	/* a failed line leaves the list as it was */
	ck_assert_uint_eq(c.g.addrs.n, 1);
	ck_assert_uint_eq(c.g.addrs.a[0], inet_addr("10.202.0.3"));
	/* inside the local or the client network: where it was set */
	setup();
	ck_assert_int_eq(parse("[cluster]\nname = x\n[global]\n"
			       "address = 10.202.0.1, 10.201.0.9\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "test.conf:4: cluster address 10.201.0.9 lies in the local network "
	    "10.201.0.0/16: it must not");
	setup();
	ck_assert_int_eq(parse("[cluster]\nname = x\n[global]\n\n"
			       "address = 10.202.0.1, 10.203.1.1\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "test.conf:5: cluster address 10.203.1.1 lies in the client "
	    "network 10.203.0.0/16: it must not");
	/* the global network off: nothing to check */
	ck_assert_int_eq(parse("[global]\nenabled = no\n"), 0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_gateway_mode)
{
	ck_assert_uint_eq(c.g.gateway_mode, CONF_GW_ARP);
	ck_assert_uint_eq(c.g.announce_table, 203);
	ck_assert_int_eq(parse("[global]\ngateway = gw0\n"
			       "gateway-mode = route\nannounce-table = 77\n"),
	    0);
	ck_assert_uint_eq(c.g.gateway_mode, CONF_GW_ROUTE);
	ck_assert_uint_eq(c.g.announce_table, 77);
	strcpy(c.cluster, "x");
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	c.g.announce_table = c.g.table;
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "announce-table and table are both 202: the announced route "
	    "needs a table of its own");
	/* only route mode needs a table of its own */
	c.g.gateway_mode = CONF_GW_ARP;
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_egress_keys)
{
	uint32_t lo, hi, prev_hi = 0, id;

	/* off by default, from G, the kernel's ephemeral range */
	ck_assert_uint_eq(c.g.egress, 0);
	ck_assert_uint_eq(c.g.egress_source, CONF_EGRESS_GLOBAL);
	ck_assert_uint_eq(c.g.egress_ports[0], 32768);
	ck_assert_uint_eq(c.g.egress_ports[1], 60999);
	ck_assert_int_eq(parse("[cluster]\nname = x\n[global]\negress = yes\n"
			       "egress-source = node\n"
			       "egress-ports = 1024-65535\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_egress(&c), 1);
	ck_assert_uint_eq(c.g.egress_source, CONF_EGRESS_NODE);
	ck_assert_uint_eq(c.g.egress_ports[0], 1024);
	ck_assert_uint_eq(c.g.egress_ports[1], 65535);
	/* not on a gateway, nor without the global network */
	strcpy(c.g.gateway, "eth0");
	ck_assert_int_eq(conf_egress(&c), 0);
	c.g.gateway[0] = '\0';
	c.g.enabled = 0;
	ck_assert_int_eq(conf_egress(&c), 0);
	ck_assert_int_eq(parse("[global]\negress-source = gateway\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "must be global or node"));
	ck_assert_int_eq(parse("[global]\negress-ports = 40000-40000\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "LOW < HIGH"));
	ck_assert_int_eq(parse("[global]\negress-ports = 80-9000\n"), -1);
	ck_assert_int_eq(parse("[global]\negress-ports = 40000\n"), -1);
	ck_assert_int_eq(parse("[global]\negress-ports = 4-x\n"), -1);
	/* each node its own even share, from an even port, in order */
	setup();
	for (id = 1; id <= 64; id++) {
		ck_assert_int_eq(conf_egress_ports(&c, 64, id, &lo, &hi), 0);
		ck_assert_uint_eq(hi - lo + 1, 440);
		ck_assert_uint_eq(lo % 2, 0);
		ck_assert_uint_gt(lo, prev_hi);
		ck_assert_uint_ge(lo, 32768);
		ck_assert_uint_le(hi, 60999);
		prev_hi = hi;
	}
	ck_assert_int_eq(conf_egress_ports(&c, 64, 65, &lo, &hi), -ERANGE);
	ck_assert_int_eq(conf_egress_ports(&c, 64, 0, &lo, &hi), -ERANGE);
	/* too small a share is refused, unless the node sends from its
	 * client address */
	ck_assert_int_eq(parse("[cluster]\nname = x\nmax-nodes = 256\n"
			       "[global]\negress = yes\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "leaves each node 110 ephemeral"));
	ck_assert_int_eq(conf_egress_ports(&c, 256, 1, &lo, &hi), -ERANGE);
	ck_assert_int_eq(parse("[global]\negress-source = node\n"), 0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(parse("[global]\negress-source = global\n"
			       "egress-ports = 1024-65535\n"),
	    0);
	ck_assert_int_eq(conf_finish(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_check_egress(&c, 256, err, sizeof(err)), 0);
	ck_assert_int_eq(conf_check_egress(&c, 1000, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_long_line_and_nul)
{
	char big[3000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse(big), -1);
	ck_assert_ptr_nonnull(strstr(err, "line longer than"));
	ck_assert_int_eq(
	    conf_parse_buf(&c, "t", "[local]\n\0", 9, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
}
END_TEST

START_TEST(test_shipped_example_parses)
{
	char path[4096];
	const char *src = getenv("srcdir");

	snprintf(path, sizeof(path), "%s/conf/shmnetd.conf", src ? src : ".");
	ck_assert_msg(conf_parse_file(&c, path, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_uint_eq(c.local.ring_size, 1 << 20);
	ck_assert_uint_eq(c.local.busy_poll_us, 50);
	ck_assert_uint_eq(c.segment_size, 256ull << 20);
	ck_assert_uint_eq(c.tcp_wmem_max, 8u << 20);
}
END_TEST

/* printed: conf_print's text for p (free it). */
static char *
printed(const struct conf *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&text, &len));
	conf_print(p, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return text;
}

/*
 * net_assert_eq: a network's settings match.  Past ifname, struct netconf
 * is uint32_t and uint8_t[16] fields only: no padding for memcmp to trip
 * over.
 */
static void
net_assert_eq(const struct netconf *a, const struct netconf *b)
{
	ck_assert_str_eq(a->ifname, b->ifname);
	ck_assert(memcmp(&a->addr, &b->addr,
		      sizeof(*a) - offsetof(struct netconf, addr)) == 0);
}

/* conf_assert_eq: field by field; the strings up to their NUL. */
static void
conf_assert_eq(const struct conf *a, const struct conf *b)
{
	size_t gw = offsetof(struct globalconf, gateway);
	size_t after = offsetof(struct globalconf, conn_entries);

	ck_assert_str_eq(a->cluster, b->cluster);
	ck_assert_uint_eq(a->node, b->node);
	ck_assert_str_eq(a->segment, b->segment);
	ck_assert_uint_eq(a->segment_size, b->segment_size);
	ck_assert_uint_eq(a->max_nodes, b->max_nodes);
	ck_assert_uint_eq(a->cast_slots, b->cast_slots);
	ck_assert_uint_eq(a->cast_slot_size, b->cast_slot_size);
	ck_assert_uint_eq(a->segment_mode, b->segment_mode);
	ck_assert_str_eq(a->segment_group, b->segment_group);
	ck_assert_uint_eq(a->log_level, b->log_level);
	ck_assert_uint_eq(a->tcp_wmem_max, b->tcp_wmem_max);
	ck_assert(memcmp(&a->metrics, &b->metrics, sizeof(a->metrics)) == 0);
	net_assert_eq(&a->local, &b->local);
	net_assert_eq(&a->global, &b->global);
	/* struct globalconf: uint32_t and uint8_t[16] around gateway */
	ck_assert(memcmp(&a->g, &b->g, gw) == 0);
	ck_assert_str_eq(a->g.gateway, b->g.gateway);
	ck_assert(memcmp(&a->g.conn_entries, &b->g.conn_entries,
		      sizeof(a->g) - after) == 0);
}

/*
 * round_trip: finish c, print it, parse the text over fresh defaults,
 * finish that: the same configuration, and the same text when printed.
 */
static char *
round_trip(void)
{
	struct conf back;
	char *text, *again;

	ck_assert_msg(conf_finish(&c, err, sizeof(err)) == 0, "%s", err);
	text = printed(&c);
	conf_defaults(&back);
	ck_assert_msg(conf_parse_buf(&back, "printed", text, strlen(text), err,
			  sizeof(err)) == 0,
	    "%s in\n%s", err, text);
	ck_assert_msg(conf_finish(&back, err, sizeof(err)) == 0, "%s", err);
	conf_assert_eq(&c, &back);
	again = printed(&back);
	ck_assert_str_eq(again, text);
	free(again);
	return text;
}

START_TEST(test_print_defaults_round_trip)
{
	char *text;

	ck_assert_int_eq(parse("[cluster]\nname = demo\n"), 0);
	text = round_trip();
	ck_assert_ptr_nonnull(strstr(text,
	    "[cluster]\nname = demo\n"
	    "node = auto\n"));
	/* derived from the node id: no value that reads back, a comment */
	ck_assert_ptr_nonnull(strstr(text, "\n# address = 10.201."));
	ck_assert_ptr_nonnull(strstr(text, "\naddress6 =\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ngateway = none\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nsegment-mode = 0600\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmetrics-listen = none\n"));
	free(text);
}
END_TEST

START_TEST(test_ignore_ports)
{
	char line[400], *last;
	int i;

	/* BFD's and BGP's by default */
	ck_assert_uint_eq(c.g.ignore.n, 4);
	ck_assert_uint_eq(c.g.ignore.proto[0], IPPROTO_UDP);
	ck_assert_uint_eq(c.g.ignore.port[0], 3784);
	ck_assert_uint_eq(c.g.ignore.proto[3], IPPROTO_TCP);
	ck_assert_uint_eq(c.g.ignore.port[3], 179);
	ck_assert_int_eq(parse("[global]\nignore-ports = none\n"), 0);
	ck_assert_uint_eq(c.g.ignore.n, 0);
	ck_assert_int_eq(parse("[global]\nignore-ports =\n"), 0);
	ck_assert_uint_eq(c.g.ignore.n, 0);
	/* a port twice is once; tcp and udp of one port are two */
	ck_assert_int_eq(parse("[global]\nignore-ports = udp/9,tcp/9, udp/9\n"),
	    0);
	ck_assert_uint_eq(c.g.ignore.n, 2);
	ck_assert_uint_eq(c.g.ignore.proto[1], IPPROTO_TCP);
	ck_assert_uint_eq(c.g.ignore.port[1], 9);
	/* malformed: named, with the allowed forms; nothing changed */
	ck_assert_int_eq(parse("[global]\nignore-ports = 3784\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "test.conf:2: ignore-ports '3784'"));
	ck_assert_ptr_nonnull(strstr(err,
	    "tcp/PORT or udp/PORT (PORT 1-65535)"));
	ck_assert_uint_eq(c.g.ignore.n, 2);
	ck_assert_int_eq(parse("[global]\nignore-ports = udp/0\n"), -1);
	ck_assert_int_eq(parse("[global]\nignore-ports = udp/65536\n"), -1);
	ck_assert_int_eq(parse("[global]\nignore-ports = sctp/9\n"), -1);
	ck_assert_int_eq(parse("[global]\nignore-ports = udp/x\n"), -1);
	/* 16 at most */
	strcpy(line, "[global]\nignore-ports =");
	for (i = 1; i <= 17; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    " tcp/%d", i);
	strcat(line, "\n");
	ck_assert_int_eq(parse(line), -1);
	ck_assert_ptr_nonnull(strstr(err, "lists more than 16 ports"));
	last = strrchr(line, ' '); /* without the 17th */
	last[0] = '\n';
	last[1] = '\0';
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(c.g.ignore.n, 16);
}
END_TEST

START_TEST(test_print_round_trip)
{
	char *text;

	ck_assert_msg(
	    parse(
		"[cluster]\nname = prod-1\nnode = 7\nsegment = /srv/shm/prod\n"
		"segment-mode = 0660\nsegment-group = shmnet\n"
		"segment-size = 64M\nmax-nodes = 32\nbroadcast-slots = 512\n"
		"broadcast-slot-size = 4K\nmetrics-listen = [::1]:9482\n"
		"broadcast-slot-size = 4K\nlog-level = warning\n"
		"[namespace]\ntcp-wmem-max = 0\n"
		"[local]\ninterface = shmx\naddress = 192.168.77.5/24\n"
		"address6 = fd53:4d4c::/64\nmtu = 9000\ntxqueuelen = 4096\n"
		"ring-size = 4M\nring-min-size = 64K\nring-shrink-after = 0\n"
		"slot-size = 1024\nbusy-poll = 0\nio-batch = 1\noffload = no\n"
		"cpu-follow = no\nmulticast-rings = 0\n"
		"[global]\ninterface = shmgx\naddress = 10.99.0.7 10.99.0.8\n"
		"client-network = 10.50.16.0/20\naddress6 = fd53:4d47::1\n"
		"client-network6 = fd53:4d47:0:2::/96\nmtu = 1500\n"
		"ring-size = 2M\nmulticast-rings = 8\ntable = 300\n"
		"rule-priority = 50\ngateway = eth0\nconnections = 1000\n"
		"tcp-syn-timeout = 5\ntcp-established-timeout = 3600\n"
		"tcp-closing-timeout = 3\nudp-timeout = 60\n"
		"check = exec:/usr/libexec/shmnet/check\ncheck-interval = 5\n"
		"check-timeout = 5\ncheck-rise = 3\ncheck-fall = 1\n"
		"egress = yes\negress-source = node\n"
		"egress-ports = 20000-40000\n"
		"ignore-ports = tcp/22 udp/53\n") == 0,
	    "%s", err);
	text = round_trip();
	ck_assert_ptr_nonnull(strstr(text, "\naddress = 192.168.77.5/24\n"));
	ck_assert_ptr_nonnull(strstr(text, "\naddress6 = fd53:4d4c::/64\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\naddress = 10.99.0.7, 10.99.0.8\n"));
	ck_assert_ptr_nonnull(strstr(text, "\naddress6 = fd53:4d47::1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nsegment-mode = 0660\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nnode = 7\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmetrics-listen = [::1]:9482\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nlog-level = warning\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\ncheck = exec:/usr/libexec/shmnet/check\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\negress = yes\negress-source = node\n"
	    "egress-ports = 20000-40000\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\nignore-ports = tcp/22, udp/53\n"));
	free(text);
	/* a full IPv6 address, the global network off */
	setup();
	ck_assert_int_eq(
	    parse("[cluster]\nname = x\n[local]\n"
		  "address6 = fd53:4d4c::5/112\n[global]\nenabled = no\n"),
	    0);
	free(round_trip());
	/* derived from the node id, but not /16: a line, not a comment */
	setup();
	ck_assert_int_eq(parse("[cluster]\nname = x\n[local]\n"
			       "address = 0.0.0.0/24\n"),
	    0);
	text = round_trip();
	ck_assert_ptr_nonnull(strstr(text, "\naddress = 0.0.0.0/24\n"));
	free(text);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_range_error_names_file_line_and_range);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_metrics_listen);
	tcase_add_test(tc, test_health_check_keys);
	tcase_add_test(tc, test_set_and_finish_checks);
	tcase_add_test(tc, test_egress_keys);
	tcase_add_test(tc, test_long_line_and_nul);
	tcase_add_test(tc, test_shipped_example_parses);
	tcase_add_test(tc, test_global_section);
	tcase_add_test(tc, test_address_list);
	tcase_add_test(tc, test_gateway_mode);
	tcase_add_test(tc, test_print_defaults_round_trip);
	tcase_add_test(tc, test_print_round_trip);
	tcase_add_test(tc, test_ignore_ports);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(conf_suite());
}
