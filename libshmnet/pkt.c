/*
 * pkt.c: read what the global network routes by out of an Ethernet frame:
 * the flow's 5-tuple seen from the cluster address G, its direction, TCP
 * flags, and fragment and ICMP-error details.  Frames come from a TAP (an
 * application may send anything), so every length is checked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "shmnet_private.h"

#define ETH_HLEN_	14
#define ETHERTYPE_IP_	0x0800

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
	*frag = rd16(p + 6) & 0x3fff;	/* MF | offset */
	*id = rd16(p + 4);
	*l4 = p + ihl;
	*l4len = tot - ihl;
	return 0;
}

/*
 * pkt_icmp4: an ICMP error about a datagram G sent (fragmentation needed,
 * port unreachable, ...): the flow is that of the quoted datagram.  The
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

/* pkt_parse: classify a frame of the global network. */
int
pkt_parse(const uint8_t *f, uint32_t len, uint32_t g4, struct pkt_info *pi)
{
	const uint8_t *l4;
	uint32_t src, dst, l4len;
	uint16_t frag, id, sport = 0, dport = 0;
	uint8_t proto, flags = 0;
	int to_g;

	memset(pi, 0, sizeof(*pi));
	if (len < ETH_HLEN_ || rd16(f + 12) != ETHERTYPE_IP_)
		return -1;
	if (pkt_ip4(f + ETH_HLEN_, len - ETH_HLEN_, &src, &dst, &proto, &l4,
	    &l4len, &frag, &id) != 0)
		return -1;
	if (dst == g4)
		to_g = 1;
	else if (src == g4)
		to_g = 0;
	else
		return -1;
	pi->dir = to_g ? PKT_TO_G : PKT_FROM_G;
	pi->key.family = 4;
	pi->key.proto = proto;
	pi->ip_id = id;
	memcpy(pi->src4, &src, 4);
	memcpy(pi->dst4, &dst, 4);
	pi->l3len = (uint32_t)(l4 - (f + ETH_HLEN_)) + l4len;
	memcpy(pi->key.faddr, to_g ? &src : &dst, 4);
	if (frag & 0x1fff) {			/* not the first fragment */
		pi->frag = PKT_FRAG_LATER;
		return 0;
	}
	if (frag & 0x2000)
		pi->frag = PKT_FRAG_FIRST;
	if (proto == IPPROTO_ICMP) {
		if (l4len < 8)
			return -1;
		if (to_g && pkt_icmp4(l4, l4len, g4, pi) == 0)
			return 0;
		if (l4[0] != 8 && l4[0] != 0)	/* echo request / reply */
			return -1;
		pi->key.lport = rd16(l4 + 4);	/* echo identifier */
		pi->key.fport = 0;
		pi->echo = 1;
		return 0;
	}
	if (pkt_ports(proto, l4, l4len, &sport, &dport, &flags) != 0)
		return -1;
	pi->tcpflags = flags;
	pi->key.lport = to_g ? dport : sport;
	pi->key.fport = to_g ? sport : dport;
	return 0;
}
