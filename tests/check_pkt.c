/*
 * check_pkt.c: what the global network reads out of frames
 * (libshmnet/pkt.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"

static uint32_t G, C;
static uint8_t f[256];

/* parse4: pkt_parse with G (IPv4 only) as the cluster address */
static int
parse4(const uint8_t *frame, uint32_t len, struct pkt_info *pi)
{
	struct pkt_g g = { .g4 = G };

	return pkt_parse(frame, len, &g, pi);
}

static void
setup(void)
{
	G = inet_addr("10.202.0.1");
	C = inet_addr("10.201.0.4");
	memset(f, 0, sizeof(f));
}

/* ip4: Ethernet + IPv4 header; returns the offset of the payload. */
static uint32_t
ip4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t paylen, uint16_t frag)
{
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + paylen) >> 8);
	f[17] = (uint8_t)(20 + paylen);
	f[18] = 0x12;
	f[19] = 0x34;
	f[20] = (uint8_t)(frag >> 8);
	f[21] = (uint8_t)frag;
	f[23] = proto;
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	return 34;
}

static void
ports(uint32_t off, uint16_t sp, uint16_t dp)
{
	f[off] = (uint8_t)(sp >> 8);
	f[off + 1] = (uint8_t)sp;
	f[off + 2] = (uint8_t)(dp >> 8);
	f[off + 3] = (uint8_t)dp;
}

START_TEST(test_tcp_to_and_from_g)
{
	struct pkt_info pi;
	uint32_t o = ip4(IPPROTO_TCP, C, G, 20, 0x4000);

	ports(o, 40000, 8080);
	f[o + 13] = CONN_TCP_SYN;
	ck_assert_int_eq(parse4(f, o + 20, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.key.proto, IPPROTO_TCP);
	ck_assert_uint_eq(pi.key.lport, 8080);
	ck_assert_uint_eq(pi.key.fport, 40000);
	ck_assert_mem_eq(pi.key.faddr, &C, 4);
	ck_assert_uint_eq(pi.tcpflags, CONN_TCP_SYN);
	ck_assert_uint_eq(pi.frag, 0);
	o = ip4(IPPROTO_TCP, G, C, 20, 0);
	ports(o, 8080, 40000);
	ck_assert_int_eq(parse4(f, o + 20, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_FROM_G);
	ck_assert_uint_eq(pi.key.lport, 8080);
	ck_assert_uint_eq(pi.key.fport, 40000);
	ck_assert_mem_eq(pi.key.faddr, &C, 4);
}
END_TEST

START_TEST(test_rejects)
{
	struct pkt_info pi;
	uint32_t o = ip4(IPPROTO_UDP, C, C, 8, 0); /* not G */

	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
	o = ip4(IPPROTO_UDP, C, G, 8, 0);
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_int_eq(parse4(f, o + 7, &pi), -1); /* cut */
	ck_assert_int_eq(parse4(f, 20, &pi), -1);
	f[14] = 0x44; /* IHL 16 */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
	f[14] = 0x65; /* version 6 */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
	f[14] = 0x45;
	f[12] = 0x86; /* IPv6 ethertype */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
	o = ip4(IPPROTO_TCP, C, G, 8, 0); /* TCP header cut */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
}
END_TEST

START_TEST(test_fragments)
{
	struct pkt_info pi;
	uint32_t o = ip4(IPPROTO_UDP, C, G, 8, 0x2000); /* MF, offset 0 */

	ports(o, 5000, 53);
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_uint_eq(pi.frag, PKT_FRAG_FIRST);
	ck_assert_uint_eq(pi.key.lport, 53);
	ck_assert_uint_eq(pi.ip_id, 0x1234);
	o = ip4(IPPROTO_UDP, C, G, 8, 0x00b9); /* offset, no ports */
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_uint_eq(pi.frag, PKT_FRAG_LATER);
	ck_assert_uint_eq(pi.key.lport, 0);
}
END_TEST

START_TEST(test_icmp_error_follows_quoted_flow)
{
	struct pkt_info pi;
	uint32_t router = inet_addr("10.205.0.9"), o, q;

	o = ip4(IPPROTO_ICMP, router, G, 8 + 20 + 8, 0);
	f[o] = 3;     /* unreachable */
	f[o + 1] = 4; /* fragmentation needed */
	q = o + 8;
	f[q] = 0x45;
	f[q + 9] = IPPROTO_TCP;
	memcpy(f + q + 12, &G, 4);
	memcpy(f + q + 16, &C, 4);
	ports(q + 20, 8080, 40000);
	ck_assert_int_eq(parse4(f, q + 28, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.icmp_error, 1);
	ck_assert_uint_eq(pi.key.proto, IPPROTO_TCP);
	ck_assert_uint_eq(pi.key.lport, 8080);
	ck_assert_uint_eq(pi.key.fport, 40000);
	ck_assert_mem_eq(pi.key.faddr, &C, 4);
	ck_assert_int_eq(parse4(f, q + 22, &pi), -1); /* no ports */
	memcpy(f + q + 12, &C, 4); /* quoted packet was not from G */
	ck_assert_int_eq(parse4(f, q + 28, &pi), -1);
}
END_TEST

START_TEST(test_echo)
{
	struct pkt_info pi;
	uint32_t o = ip4(IPPROTO_ICMP, C, G, 8, 0);

	f[o] = 8;
	f[o + 4] = 0x12;
	f[o + 5] = 0x34;
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_uint_eq(pi.echo, 1);
	ck_assert_uint_eq(pi.key.lport, 0x1234);
	f[o] = 13; /* timestamp: not routed */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
}
END_TEST

START_TEST(test_garbage_never_reads_past_the_frame)
{
	uint8_t *buf;
	struct pkt_info pi;
	uint32_t i, len;

	srandom(7);
	for (i = 0; i < 200000; i++) {
		len = (uint32_t)random() % 120;
		buf = malloc(len ? len : 1); /* ASan sees any overread */
		for (uint32_t j = 0; j < len; j++)
			buf[j] = (uint8_t)random();
		if (len > 34) { /* make many of them IPv4 */
			buf[12] = 0x08;
			buf[13] = 0;
			buf[14] = 0x45;
			if (i & 1)
				memcpy(buf + 30, &G, 4);
		}
		(void)parse4(buf, len, &pi);
		free(buf);
	}
}
END_TEST

/* ip6: Ethernet + IPv6 header (+ optional fragment header); returns the
 * offset of the upper-layer header. */
static uint32_t
ip6(uint8_t nh, const uint8_t *src, const uint8_t *dst, uint16_t paylen,
    int frag, uint16_t fragoff_m)
{
	uint32_t o = 54;

	memset(f, 0, sizeof(f));
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[18] = (uint8_t)((paylen + (frag ? 8 : 0)) >> 8);
	f[19] = (uint8_t)(paylen + (frag ? 8 : 0));
	f[20] = frag ? 44 : nh;
	f[21] = 64;
	memcpy(f + 22, src, 16);
	memcpy(f + 38, dst, 16);
	if (frag) {
		f[o] = nh;
		f[o + 2] = (uint8_t)(fragoff_m >> 8);
		f[o + 3] = (uint8_t)fragoff_m;
		f[o + 7] = 0x42; /* identification */
		o += 8;
	}
	return o;
}

START_TEST(test_ipv6)
{
	struct pkt_g g = { .g4 = 0, .has6 = 1 };
	uint8_t c6[16] = { 0xfd, 0x53, 0x4d, 0x47, 0, 0, 0, 1, [15] = 4 };
	struct pkt_info pi;
	uint32_t o;

	g.g6[0] = 0xfd;
	g.g6[1] = 0x53;
	g.g6[2] = 0x4d;
	g.g6[3] = 0x47;
	g.g6[15] = 1;
	o = ip6(IPPROTO_TCP, c6, g.g6, 20, 0, 0);
	ports(o, 40000, 8080);
	f[o + 13] = CONN_TCP_SYN;
	ck_assert_int_eq(pkt_parse(f, o + 20, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.key.family, 6);
	ck_assert_uint_eq(pi.key.lport, 8080);
	ck_assert_uint_eq(pi.key.fport, 40000);
	ck_assert_mem_eq(pi.key.faddr, c6, 16);
	o = ip6(IPPROTO_UDP, g.g6, c6, 8, 0, 0);
	ports(o, 53, 5353);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_FROM_G);
	ck_assert_uint_eq(pi.key.lport, 53);
	/* fragments: the first carries ports, a later one only the id */
	o = ip6(IPPROTO_UDP, c6, g.g6, 8, 1, 0x0001);
	ports(o, 5353, 53);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_uint_eq(pi.frag, PKT_FRAG_FIRST);
	ck_assert_uint_eq(pi.frag_id, 0x42);
	ck_assert_uint_eq(pi.key.lport, 53);
	o = ip6(IPPROTO_UDP, c6, g.g6, 8, 1, 0x00b8);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_uint_eq(pi.frag, PKT_FRAG_LATER);
	/* a later fragment's payload is not parsed as headers, even when
	 * the fragmented part starts with options and the payload looks
	 * like a first fragment header and ports */
	o = ip6(60, c6, g.g6, 32, 1, 0x00b8);
	f[o] = 44;
	f[o + 8] = IPPROTO_UDP;
	f[o + 11] = 0x01;
	f[o + 15] = 0x99;
	ports(o + 16, 1234, 53);
	ck_assert_int_eq(pkt_parse(f, o + 32, &g, &pi), 0);
	ck_assert_uint_eq(pi.frag, PKT_FRAG_LATER);
	ck_assert_uint_eq(pi.frag_id, 0x42);
	/* not to or from G6; IPv6 without address6; cut short */
	o = ip6(IPPROTO_UDP, c6, c6, 8, 0, 0);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), -1);
	o = ip6(IPPROTO_UDP, c6, g.g6, 8, 0, 0);
	g.has6 = 0;
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), -1);
	g.has6 = 1;
	ck_assert_int_eq(pkt_parse(f, o + 4, &g, &pi), -1);
}
END_TEST

START_TEST(test_ipv6_packet_too_big_follows_flow)
{
	struct pkt_g g = { .has6 = 1 };
	uint8_t c6[16] = { 0xfd, [15] = 9 }, r6[16] = { 0xfe, [15] = 1 };
	struct pkt_info pi;
	uint32_t o, q;

	g.g6[0] = 0xfd;
	g.g6[15] = 1;
	o = ip6(58, r6, g.g6, 8 + 40 + 8, 0, 0);
	f[o] = 2; /* packet too big */
	q = o + 8;
	f[q] = 0x60;
	f[q + 6] = IPPROTO_TCP;
	memcpy(f + q + 8, g.g6, 16);
	memcpy(f + q + 24, c6, 16);
	ports(q + 40, 8080, 40001);
	ck_assert_int_eq(pkt_parse(f, q + 48, &g, &pi), 0);
	ck_assert_uint_eq(pi.icmp_error, 1);
	ck_assert_uint_eq(pi.key.family, 6);
	ck_assert_uint_eq(pi.key.lport, 8080);
	ck_assert_uint_eq(pi.key.fport, 40001);
	ck_assert_mem_eq(pi.key.faddr, c6, 16);
}
END_TEST

static Suite *
pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_tcp_to_and_from_g);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_icmp_error_follows_quoted_flow);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_garbage_never_reads_past_the_frame);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_ipv6_packet_too_big_follows_flow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(pkt_suite());
}
