/*
 * pkt.c: read what the global network routes by out of an Ethernet frame:
 * the flow's 5-tuple seen from the cluster address G it goes to or comes
 * from (one of the cluster's addresses, named by its index), its
 * direction, TCP flags, and fragment and ICMP-error details.  A frame
 * neither to nor from a cluster address (one of a node's client address
 * to the outside, or back) is read the same way, seen from its source.
 * Frames come from a TAP (an application may send anything), so every
 * length is checked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "shmnet_private.h"

#define ETH_HLEN_     14
#define ETHERTYPE_IP_ 0x0800

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* pkt_ports: TCP/UDP ports and TCP flags at l4 (len bytes). */
static int
pkt_ports(uint8_t proto, const uint8_t *l4, uint32_t len, uint16_t *sport,
    uint16_t *dport, uint8_t *flags)
{
	if (proto == IPPROTO_TCP) {
		if (len < 20)
			return -1;
		*flags = l4[13];
	} else if (proto == IPPROTO_UDP) {
		if (len < 8)
			return -1;
		*flags = 0;
	} else
		return -1;
	*sport = rd16(l4);
	*dport = rd16(l4 + 2);
	return 0;
}

/* pkt_flow_ports: the flow's ports (seen from G, or from the source
 * when neither end is G) and TCP flags. */
static int
pkt_flow_ports(struct pkt_info *pi, uint8_t proto, const uint8_t *l4,
    uint32_t l4len, int to_g)
{
	uint16_t sport, dport;
	uint8_t flags;

	if (pkt_ports(proto, l4, l4len, &sport, &dport, &flags) != 0)
		return -1;
	pi->tcpflags = flags;
	pi->key.lport = to_g ? dport : sport;
	pi->key.fport = to_g ? sport : dport;
	return 0;
}

/* pkt_echo: an ICMP echo request (or reply) at l4: the identifier is
 * its port on G's side. */
static int
pkt_echo(struct pkt_info *pi, const uint8_t *l4, int request)
{
	pi->key.lport = rd16(l4 + 4);
	pi->key.fport = 0;
	pi->echo = request ? PKT_ECHO_REQUEST : PKT_ECHO_REPLY;
	return 0;
}

/* pkt_g4: the index of a among the cluster addresses, -1 if none. */
static int
pkt_g4(const struct pkt_g *g, uint32_t a)
{
	int i;

	if (a == 0)
		return -1;
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if (g->g4[i] == a)
			return i;
	return -1;
}

/* pkt_ip4: the IPv4 header at p; fills addresses, proto, payload. */
static int
pkt_ip4(const uint8_t *p, uint32_t len, uint32_t *src, uint32_t *dst,
    uint8_t *proto, const uint8_t **l4, uint32_t *l4len, uint16_t *frag,
    uint16_t *id)
{
	uint32_t ihl, tot;

	if (len < 20 || (p[0] >> 4) != 4)
		return -1;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (ihl < 20 || tot < ihl || tot > len)
		return -1;
	memcpy(src, p + 12, 4);
	memcpy(dst, p + 16, 4);
	*proto = p[9];
	*frag = rd16(p + 6) & 0x3fff; /* MF | offset */
	*id = rd16(p + 4);
	*l4 = p + ihl;
	*l4len = tot - ihl;
	return 0;
}

/*
 * pkt_icmp4: an ICMP error to cluster address g4 about a datagram it sent
 * (fragmentation needed, port unreachable, ...): the flow is that of the
 * quoted datagram.  The
 * quote is cut short (its IP header and at least 8 bytes of payload), so
 * its own length field cannot be trusted against what is there.
 */
static int
pkt_icmp4(const uint8_t *l4, uint32_t len, uint32_t g4, struct pkt_info *pi)
{
	const uint8_t *q = l4 + 8;
	uint32_t qlen = len - 8, ihl, qsrc, qdst;
	uint8_t qproto;

	if (len < 8 || (l4[0] != 3 && l4[0] != 11 && l4[0] != 12))
		return -1;
	if (qlen < 20 || (q[0] >> 4) != 4)
		return -1;
	ihl = (uint32_t)(q[0] & 0x0f) * 4;
	if (ihl < 20 || qlen < ihl + 4)
		return -1;
	memcpy(&qsrc, q + 12, 4);
	memcpy(&qdst, q + 16, 4);
	qproto = q[9];
	if (qsrc != g4 || (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP))
		return -1;
	pi->key.proto = qproto;
	pi->key.lport = rd16(q + ihl);
	pi->key.fport = rd16(q + ihl + 2);
	memset(pi->key.faddr, 0, 16);
	memcpy(pi->key.faddr, &qdst, 4);
	pi->icmp_error = 1;
	return 0;
}

/* pkt_parse4: an IPv4 frame of the global network. */
static int
pkt_parse4(const uint8_t *f, uint32_t len, const struct pkt_g *g,
    struct pkt_info *pi)
{
	const uint8_t *l4;
	uint32_t src, dst, l4len;
	uint16_t frag, id;
	uint8_t proto;
	int to_g, from;

	memset(pi, 0, sizeof(*pi));
	if (len < ETH_HLEN_ || rd16(f + 12) != ETHERTYPE_IP_)
		return -1;
	if (pkt_ip4(f + ETH_HLEN_, len - ETH_HLEN_, &src, &dst, &proto, &l4,
		&l4len, &frag, &id) != 0)
		return -1;
	if ((to_g = pkt_g4(g, dst)) >= 0) {
		pi->dir = PKT_TO_G;
		pi->key.aidx = (uint8_t)to_g;
	} else if ((from = pkt_g4(g, src)) >= 0) {
		pi->dir = PKT_FROM_G;
		pi->key.aidx = (uint8_t)from;
	} else
		pi->dir = PKT_NOT_G;
	to_g = pi->dir == PKT_TO_G;
	pi->key.family = 4;
	pi->key.proto = proto;
	pi->ip_id = id;
	memcpy(pi->src4, &src, 4);
	memcpy(pi->dst4, &dst, 4);
	pi->l3len = (uint32_t)(l4 - (f + ETH_HLEN_)) + l4len;
	memcpy(pi->key.faddr, to_g ? &src : &dst, 4);
	if (frag & 0x1fff) { /* not the first fragment */
		pi->frag = PKT_FRAG_LATER;
		return 0;
	}
	if (frag & 0x2000)
		pi->frag = PKT_FRAG_FIRST;
	if (proto == IPPROTO_ICMP) {
		if (l4len < 8)
			return -1;
		if (to_g && pkt_icmp4(l4, l4len, dst, pi) == 0)
			return 0;
		if (l4[0] == 8 || l4[0] == 0) /* echo request / reply */
			return pkt_echo(pi, l4, l4[0] == 8);
		return pi->dir == PKT_NOT_G ? 0 : -1;
	}
	return pkt_flow_ports(pi, proto, l4, l4len, to_g);
}

/* ---- IPv6 -------------------------------------------------------------- */

#define ETHERTYPE_IPV6_ 0x86dd

/* pkt_ip6_l4: walk extension headers from the fixed header at p (plen
 * bytes of payload follow it); sets the upper protocol and its offset. */
static int
pkt_ip6_l4(const uint8_t *p, uint32_t len, uint8_t *proto, uint32_t *off,
    struct pkt_info *pi)
{
	uint8_t nh = p[6];
	uint32_t o = 40, hl;
	int hops;

	for (hops = 0; hops < 8; hops++) {
		switch (nh) {
		case 0:  /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (o + 8 > len)
				return -1;
			hl = ((uint32_t)p[o + 1] + 1) * 8;
			nh = p[o];
			o += hl;
			break;
		case 44: /* fragment */
			if (o + 8 > len)
				return -1;
			pi->frag_id = ((uint32_t)p[o + 4] << 24) |
			    ((uint32_t)p[o + 5] << 16) |
			    ((uint32_t)p[o + 6] << 8) | p[o + 7];
			nh = p[o];
			if (rd16(p + o + 2) & 0xfff8) {
				/* a later fragment: what follows is payload,
				 * not headers */
				pi->frag = PKT_FRAG_LATER;
				*proto = nh;
				*off = o + 8;
				return 0;
			}
			if (p[o + 3] & 1)
				pi->frag = PKT_FRAG_FIRST;
			o += 8;
			break;
		default:
			if (o > len)
				return -1;
			*proto = nh;
			*off = o;
			return 0;
		}
	}
	return -1;
}

/* pkt_icmp6: an ICMPv6 error about a datagram G6 sent. */
static int
pkt_icmp6(const uint8_t *l4, uint32_t len, const uint8_t *g6,
    struct pkt_info *pi)
{
	const uint8_t *q = l4 + 8;
	struct pkt_info inner;
	uint32_t qlen = len - 8, off;
	uint8_t qproto;

	if (len < 8 || l4[0] < 1 || l4[0] > 4) /* unreach, too big, ... */
		return -1;
	if (qlen < 40 || (q[0] >> 4) != 6 || memcmp(q + 8, g6, 16) != 0)
		return -1;
	memset(&inner, 0, sizeof(inner));
	if (pkt_ip6_l4(q, qlen, &qproto, &off, &inner) != 0 ||
	    (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP) || off + 4 > qlen)
		return -1;
	pi->key.proto = qproto;
	pi->key.lport = rd16(q + off);
	pi->key.fport = rd16(q + off + 2);
	memcpy(pi->key.faddr, q + 24, 16);
	pi->icmp_error = 1;
	return 0;
}

/* pkt_parse6: an IPv6 frame of the global network. */
static int
pkt_parse6(const uint8_t *p, uint32_t len, const uint8_t *g6,
    struct pkt_info *pi)
{
	uint32_t plen, off, l4len;
	const uint8_t *l4;
	uint8_t proto;
	int to_g;

	if (len < 40 || (p[0] >> 4) != 6)
		return -1;
	plen = rd16(p + 4);
	if (40 + plen > len)
		return -1;
	len = 40 + plen;
	to_g = memcmp(p + 24, g6, 16) == 0;
	pi->dir = to_g                 ? PKT_TO_G :
	    memcmp(p + 8, g6, 16) == 0 ? PKT_FROM_G :
					 PKT_NOT_G;
	pi->key.family = 6;
	memcpy(pi->src6, p + 8, 16);
	memcpy(pi->dst6, p + 24, 16);
	memcpy(pi->key.faddr, to_g ? p + 8 : p + 24, 16);
	pi->l3len = len;
	if (pkt_ip6_l4(p, len, &proto, &off, pi) != 0)
		return -1;
	pi->key.proto = proto;
	if (pi->frag == PKT_FRAG_LATER)
		return 0;
	l4 = p + off;
	l4len = len - off;
	if (proto == 58) { /* ICMPv6 */
		if (l4len < 8)
			return -1;
		if (to_g && pkt_icmp6(l4, l4len, g6, pi) == 0)
			return 0;
		if (l4[0] == 128 || l4[0] == 129) /* echo request/reply */
			return pkt_echo(pi, l4, l4[0] == 128);
		return pi->dir == PKT_NOT_G ? 0 : -1;
	}
	return pkt_flow_ports(pi, proto, l4, l4len, to_g);
}

/* pkt_parse: classify a frame of the global network, IPv4 or IPv6. */
int
pkt_parse(const uint8_t *f, uint32_t len, const struct pkt_g *g,
    struct pkt_info *pi)
{
	if (len >= ETH_HLEN_ && rd16(f + 12) == ETHERTYPE_IPV6_) {
		memset(pi, 0, sizeof(*pi));
		if (!g->has6)
			return -1;
		return pkt_parse6(f + ETH_HLEN_, len - ETH_HLEN_, g->g6, pi);
	}
	return pkt_parse4(f, len, g, pi);
}
