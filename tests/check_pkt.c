/*
 * check_pkt.c: what the global network reads out of frames
 * (libshmnet/pkt.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include "testutil.h"

static uint32_t G, C;
static uint8_t f[256];

/* parse4: pkt_parse with G (IPv4 only) as the cluster address */
static int
parse4(const uint8_t *frame, uint32_t len, struct pkt_info *pi)
{
	struct pkt_g g = { .g4 = { G } };

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

/* Frames to and from each of several cluster addresses: the key names
 * the address by its index. */
START_TEST(test_several_addresses)
{
	uint32_t g2 = inet_addr("10.202.0.2"), g5 = inet_addr("192.0.2.5"),
		 x = inet_addr("198.51.100.9"), o, q;
	struct pkt_g g = { .g4 = { G, g2, 0, 0, 0, 0, 0, g5 } };
	struct pkt_info pi;

	o = ip4(IPPROTO_TCP, C, g2, 20, 0);
	ports(o, 40000, 80);
	f[o + 13] = CONN_TCP_SYN;
	ck_assert_int_eq(pkt_parse(f, o + 20, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.key.aidx, 1);
	ck_assert_uint_eq(pi.key.lport, 80);
	ck_assert_mem_eq(pi.key.faddr, &C, 4);
	/* the same ports to G: index 0 */
	o = ip4(IPPROTO_TCP, C, G, 20, 0);
	ck_assert_int_eq(pkt_parse(f, o + 20, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.key.aidx, 0);
	/* an answer from index 7's address to the outside */
	o = ip4(IPPROTO_UDP, g5, x, 8, 0);
	ports(o, 53, 41000);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_FROM_G);
	ck_assert_uint_eq(pi.key.aidx, 7);
	ck_assert_uint_eq(pi.key.lport, 53);
	ck_assert_mem_eq(pi.key.faddr, &x, 4);
	/* from one cluster address to another: to the second */
	o = ip4(IPPROTO_UDP, G, g2, 8, 0);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_TO_G);
	ck_assert_uint_eq(pi.key.aidx, 1);
	ck_assert_mem_eq(pi.key.faddr, &G, 4);
	/* a ping to g2 */
	o = ip4(IPPROTO_ICMP, C, g2, 8, 0);
	f[o] = 8;
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_uint_eq(pi.echo, PKT_ECHO_REQUEST);
	ck_assert_uint_eq(pi.key.aidx, 1);
	/* an ICMP error to g2 about what g2 sent, not what G sent */
	o = ip4(IPPROTO_ICMP, x, g2, 8 + 20 + 8, 0);
	f[o] = 3;
	f[o + 1] = 4;
	q = o + 8;
	f[q] = 0x45;
	f[q + 9] = IPPROTO_TCP;
	memcpy(f + q + 12, &g2, 4);
	memcpy(f + q + 16, &x, 4);
	ports(q + 20, 80, 40000);
	ck_assert_int_eq(pkt_parse(f, q + 28, &g, &pi), 0);
	ck_assert_uint_eq(pi.icmp_error, 1);
	ck_assert_uint_eq(pi.key.aidx, 1);
	ck_assert_uint_eq(pi.key.lport, 80);
	memcpy(f + q + 12, &G, 4);
	ck_assert_int_eq(pkt_parse(f, q + 28, &g, &pi), -1);
	/* an address no index has, and 0.0.0.0 (empty entries), are
	 * neither */
	o = ip4(IPPROTO_UDP, C, inet_addr("10.202.0.3"), 8, 0);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
	ck_assert_uint_eq(pi.key.aidx, 0);
	o = ip4(IPPROTO_UDP, C, 0, 8, 0);
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
}
END_TEST

START_TEST(test_rejects)
{
	struct pkt_info pi;
	uint32_t o = ip4(IPPROTO_GRE, C, G, 8, 0); /* not TCP, UDP, ICMP */

	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
	o = ip4(IPPROTO_GRE, C, C, 8, 0);
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

START_TEST(test_neither_end_g_seen_from_its_source)
{
	uint32_t x = inet_addr("192.0.2.80"), o;
	struct pkt_info pi;

	/* a node's client address to the outside, and back */
	o = ip4(IPPROTO_TCP, C, x, 20, 0);
	ports(o, 40000, 80);
	f[o + 13] = CONN_TCP_SYN;
	ck_assert_int_eq(parse4(f, o + 20, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
	ck_assert_uint_eq(pi.key.lport, 40000);
	ck_assert_uint_eq(pi.key.fport, 80);
	ck_assert_mem_eq(pi.key.faddr, &x, 4);
	ck_assert_mem_eq(pi.src4, &C, 4);
	ck_assert_mem_eq(pi.dst4, &x, 4);
	ck_assert_uint_eq(pi.tcpflags, CONN_TCP_SYN);
	o = ip4(IPPROTO_UDP, x, C, 8, 0);
	ports(o, 53, 5353);
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
	ck_assert_uint_eq(pi.key.lport, 53);
	ck_assert_mem_eq(pi.key.faddr, &C, 4);
	/* any ICMP message: a router's "fragmentation needed" to the
	 * client address has no ports */
	o = ip4(IPPROTO_ICMP, x, C, 8 + 20 + 8, 0);
	f[o] = 3;
	f[o + 1] = 4;
	ck_assert_int_eq(parse4(f, o + 36, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
	ck_assert(!pi.echo && !pi.icmp_error);
	ck_assert_uint_eq(pi.key.lport, 0);
	o = ip4(IPPROTO_ICMP, x, C, 8, 0);
	f[o] = 13; /* timestamp */
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	o = ip4(IPPROTO_ICMP, G, x, 8, 0);
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1); /* but not from G */
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
	ck_assert_uint_eq(pi.echo, PKT_ECHO_REQUEST);
	ck_assert_uint_eq(pi.key.lport, 0x1234);
	f[o] = 0;
	ck_assert_int_eq(parse4(f, o + 8, &pi), 0);
	ck_assert_uint_eq(pi.echo, PKT_ECHO_REPLY);
	f[o] = 13; /* timestamp: not routed */
	ck_assert_int_eq(parse4(f, o + 8, &pi), -1);
}
END_TEST

/*
 * Random frames, IPv4 and IPv6, built to look like what pkt_parse looks
 * for (G at one end; options, extension header chains, fragments, ICMP
 * errors quoting a datagram) and then damaged: bytes changed, the frame
 * cut short or padded.  Each is parsed where it ends at an unreadable
 * page and where it starts right after one, so a read outside the frame
 * is a crash in any build; whatever pkt_parse accepts must agree with the
 * frame's bytes.
 */
#define GARBAGE_MAX 256

static uint8_t g6[16] = { 0xfd, 0x53, 0x4d, 0x47, [15] = 1 };

/* rnd: a random number below n */
static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)random() % n;
}

/* rnd_bytes: n random bytes at p */
static void
rnd_bytes(uint8_t *p, uint32_t n)
{
	while (n-- > 0)
		*p++ = (uint8_t)random();
}

/* rnd_l4: what follows an IP header: a protocol number and its header,
 * or an ICMP error quoting a datagram G sent; returns its protocol */
static uint8_t
rnd_l4(uint8_t *p, uint32_t room, int v6)
{
	static const uint8_t proto[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
		58, 0, 44, 60, 43 };
	uint8_t pr = rnd(4) ? proto[rnd(4)] : proto[rnd(8)];
	uint32_t q;

	rnd_bytes(p, room);
	if ((pr == IPPROTO_ICMP || pr == 58) && room >= 8 + 48 && rnd(2)) {
		p[0] = v6 ? (uint8_t)(1 + rnd(4)) : (uint8_t)(rnd(2) ? 3 : 11);
		q = 8;
		if (v6) {
			p[q] = 0x60;
			p[q + 6] = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
			memcpy(p + q + 8, g6, 16);
		} else {
			p[q] = (uint8_t)(0x40 | (5 + rnd(2)));
			p[q + 9] = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
			memcpy(p + q + 12, &G, 4);
		}
	} else if (pr == IPPROTO_ICMP || pr == 58)
		p[0] = (uint8_t)(rnd(2) ? (v6 ? 128 : 8) : rnd(256));
	return pr;
}

/* rnd_ip4: an IPv4 datagram of room bytes at most at p; its length */
static uint32_t
rnd_ip4(uint8_t *p, uint32_t room)
{
	static const uint16_t frag[] = { 0, 0x2000, 0x00b9, 0x20b9, 0x4000 };
	uint32_t ihl = rnd(4) ? 20 : 20 + 4 * rnd(11), tot;

	if (ihl + 8 > room)
		ihl = 20;
	tot = ihl + rnd(room - ihl + 1);
	rnd_bytes(p, ihl);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	if (rnd(4)) {
		p[6] = (uint8_t)(frag[rnd(5)] >> 8);
		p[7] = (uint8_t)frag[rnd(5)];
	}
	memcpy(p + (rnd(2) ? 16 : 12), &G, 4);
	p[9] = rnd_l4(p + ihl, tot - ihl, 0);
	return tot;
}

/* rnd_ip6: an IPv6 datagram with a chain of extension headers, of room
 * bytes at most at p; its length */
static uint32_t
rnd_ip6(uint8_t *p, uint32_t room)
{
	static const uint8_t ext[] = { 0, 43, 60, 44 };
	uint32_t o = 40, hl, n = rnd(4) ? rnd(3) : rnd(10), plen;
	uint8_t *nh = p + 6;

	rnd_bytes(p, 40);
	p[0] = 0x60;
	memcpy(p + (rnd(2) ? 24 : 8), g6, 16);
	while (n-- > 0 && o + 16 <= room) {
		*nh = ext[rnd(4)];
		rnd_bytes(p + o, 8);
		hl = 8;
		if (*nh == 44) {
			p[o + 2] = rnd(2) ? 0 : (uint8_t)rnd(256);
			p[o + 3] = (uint8_t)(rnd(2) ? rnd(256) & ~6u : rnd(2));
		} else {
			p[o + 1] = (uint8_t)rnd(2);
			hl = (p[o + 1] + 1u) * 8;
			if (o + hl + 8 > room)
				p[o + 1] = 0, hl = 8;
			rnd_bytes(p + o + 8, hl - 8);
		}
		nh = p + o;
		o += hl;
	}
	*nh = rnd_l4(p + o, room - o, 1);
	plen = rnd(8) ? room - 40 : rnd(room); /* sometimes too long */
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	return 40 + plen < room ? 40 + plen : room;
}

/* rnd_frame: a frame of the global network at fr, its length */
static uint32_t
rnd_frame(uint8_t *fr)
{
	uint32_t len = 14 + 20 + rnd(GARBAGE_MAX - 14 - 20 + 1), n, i;
	int v6 = rnd(2);

	rnd_bytes(fr, 14);
	fr[12] = v6 ? 0x86 : 0x08;
	fr[13] = v6 ? 0xdd : 0x00;
	if (v6 && len < 14 + 40)
		len = 14 + 40;
	n = v6 ? rnd_ip6(fr + 14, len - 14) : rnd_ip4(fr + 14, len - 14);
	if (rnd(4) == 0) /* Ethernet padding after the datagram */
		len = 14 + n + rnd(GARBAGE_MAX - 14 - n + 1);
	else if (rnd(2))
		len = 14 + n;
	for (i = rnd(4); i > 0; i--) /* damage */
		fr[rnd(len)] = (uint8_t)random();
	if (rnd(8) == 0)
		len = rnd(len + 1);
	return len;
}

/* rd16b: a big-endian 16-bit field */
static uint16_t
rd16b(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* consistent: what pkt_parse said about frame fr of len bytes agrees with
 * the frame */
static void
consistent(const uint8_t *fr, uint32_t len, const struct pkt_info *pi)
{
	int v6 = rd16b(fr + 12) == 0x86dd, to_g = pi->dir == PKT_TO_G;
	const uint8_t *ip = fr + 14, *me = to_g ? ip + 16 : ip + 12;
	uint32_t l4;

	ck_assert(pi->dir == PKT_TO_G || pi->dir == PKT_FROM_G ||
	    pi->dir == PKT_NOT_G);
	ck_assert_uint_eq(pi->key.family, v6 ? 6 : 4);
	ck_assert_uint_ge(pi->l3len, v6 ? 40 : 20);
	ck_assert_uint_le(14 + pi->l3len, len);
	ck_assert_uint_le(pi->frag, PKT_FRAG_LATER);
	if (v6) {
		me = to_g ? ip + 24 : ip + 8;
		ck_assert_mem_eq(pi->src6, ip + 8, 16);
		ck_assert_mem_eq(pi->dst6, ip + 24, 16);
		if (pi->dir != PKT_NOT_G)
			ck_assert_mem_eq(me, g6, 16);
		ck_assert_uint_eq(pi->l3len, 40 + rd16b(ip + 4));
		if (ip[6] == 44 && (rd16b(ip + 40 + 2) & 0xfff8) != 0)
			ck_assert_uint_eq(pi->frag, PKT_FRAG_LATER);
	} else {
		ck_assert_mem_eq(pi->src4, ip + 12, 4);
		ck_assert_mem_eq(pi->dst4, ip + 16, 4);
		if (pi->dir != PKT_NOT_G)
			ck_assert_mem_eq(me, &G, 4);
		ck_assert_uint_eq(pi->l3len, rd16b(ip + 2));
		ck_assert_uint_eq(pi->ip_id, rd16b(ip + 4));
		ck_assert_uint_eq(pi->frag == PKT_FRAG_LATER,
		    (rd16b(ip + 6) & 0x1fff) != 0);
	}
	if (pi->frag == PKT_FRAG_LATER) { /* no ports in a later one */
		ck_assert_uint_eq(pi->key.lport, 0);
		ck_assert_uint_eq(pi->key.fport, 0);
		ck_assert(!pi->echo && !pi->icmp_error && !pi->tcpflags);
		return;
	}
	if (pi->icmp_error) {
		ck_assert(to_g);
		ck_assert(pi->key.proto == IPPROTO_TCP ||
		    pi->key.proto == IPPROTO_UDP);
		return;
	}
	/* the flow's far end is the packet's other address */
	ck_assert_mem_eq(pi->key.faddr,
	    v6 ? (to_g ? ip + 8 : ip + 24) : (to_g ? ip + 12 : ip + 16),
	    v6 ? 16 : 4);
	if (pi->echo) {
		ck_assert_uint_eq(pi->key.proto, v6 ? 58 : IPPROTO_ICMP);
		return;
	}
	if (pi->key.proto == (v6 ? 58 : IPPROTO_ICMP)) { /* any, neither G */
		ck_assert_int_eq(pi->dir, PKT_NOT_G);
		ck_assert_uint_eq(pi->key.lport, 0);
		return;
	}
	ck_assert(pi->key.proto == IPPROTO_TCP || pi->key.proto == IPPROTO_UDP);
	/* where the upper header is known without a walk: the ports */
	if (!v6)
		l4 = 14 + (ip[0] & 0x0fu) * 4;
	else if (ip[6] == pi->key.proto)
		l4 = 14 + 40;
	else
		return;
	ck_assert_uint_le(l4 + (pi->key.proto == IPPROTO_TCP ? 20 : 8),
	    14 + pi->l3len);
	ck_assert_uint_eq(pi->key.lport, rd16b(fr + l4 + (to_g ? 2 : 0)));
	ck_assert_uint_eq(pi->key.fport, rd16b(fr + l4 + (to_g ? 0 : 2)));
}

START_TEST(test_garbage_is_parsed_within_the_frame_and_consistently)
{
	struct pkt_g g = { .has6 = 1 };
	struct pkt_info pi, at_start, cut;
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t fr[GARBAGE_MAX], *m, *end;
	uint32_t i, len, ok[2] = { 0, 0 }, later = 0, icmp = 0;
	int rc;

	/* an unreadable page, a readable one, an unreadable one */
	m = mmap(NULL, 3 * (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(mprotect(m + pg, (size_t)pg, PROT_READ | PROT_WRITE),
	    0);
	end = m + 2 * pg;
	g.g4[0] = G;
	memcpy(g.g6, g6, 16);
	srandom(7);
	for (i = 0; i < 150000; i++) {
		len = rnd_frame(fr);
		memcpy(m + pg, fr, len);
		rc = pkt_parse(m + pg, len, &g, &at_start);
		memcpy(end - len, fr, len);
		ck_assert_int_eq(pkt_parse(end - len, len, &g, &pi), rc);
		if (rc != 0)
			continue;
		ck_assert_mem_eq(&pi, &at_start, sizeof(pi));
		consistent(fr, len, &pi);
		/* what follows the datagram is not looked at */
		memcpy(end - (14 + pi.l3len), fr, 14 + pi.l3len);
		ck_assert_int_eq(pkt_parse(end - (14 + pi.l3len), 14 + pi.l3len,
				     &g, &cut),
		    0);
		ck_assert_mem_eq(&cut, &pi, sizeof(pi));
		ok[pi.key.family == 6]++;
		later += pi.frag == PKT_FRAG_LATER;
		icmp += pi.icmp_error;
	}
	/* the frames reach what is checked above */
	ck_assert_uint_gt(ok[0], 10000);
	ck_assert_uint_gt(ok[1], 10000);
	ck_assert_uint_gt(later, 1000);
	ck_assert_uint_gt(icmp, 100);
	munmap(m, 3 * (size_t)pg);
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
	struct pkt_g g = { .has6 = 1 };
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
	/* not to or from G6: seen from its source; IPv6 without address6;
	 * cut short */
	o = ip6(IPPROTO_UDP, c6, g.g6, 8, 0, 0);
	ports(o, 5353, 53);
	g.g6[15] = 2;
	ck_assert_int_eq(pkt_parse(f, o + 8, &g, &pi), 0);
	ck_assert_int_eq(pi.dir, PKT_NOT_G);
	ck_assert_uint_eq(pi.key.lport, 5353);
	g.g6[15] = 1;
	ck_assert_mem_eq(pi.key.faddr, g.g6, 16);
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
	tcase_set_timeout(tc, 60); /* the garbage test under the sanitizers */
	tcase_add_test(tc, test_tcp_to_and_from_g);
	tcase_add_test(tc, test_several_addresses);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_neither_end_g_seen_from_its_source);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_icmp_error_follows_quoted_flow);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc,
	    test_garbage_is_parsed_within_the_frame_and_consistently);
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
