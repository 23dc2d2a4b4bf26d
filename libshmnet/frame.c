/*
 * frame.c: Ethernet addressing of shmnet nodes.
 *
 * A node's MAC on a network is 02:53:4d:<net>:HH:LL ("SM" + 'L' for the
 * local network, 'G' for the global one, HHLL = node id), so the
 * destination node of a unicast frame is read off its MAC without a table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "shmnet_private.h"

static const uint8_t frame_net_tag[SHM_NETS] = { 0x4c, 0x47 };

/* frame_node_mac: the MAC of node id on net. */
void
frame_node_mac(uint32_t net, uint32_t id, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x53;
	mac[2] = 0x4d;
	mac[3] = frame_net_tag[net < SHM_NETS ? net : 0];
	mac[4] = (uint8_t)(id >> 8);
	mac[5] = (uint8_t)id;
}

/* frame_classify: where a frame read from a TAP must go. */
int
frame_classify(uint32_t net, const uint8_t *f, uint32_t len, uint32_t max_nodes,
    uint32_t *node)
{
	uint32_t id;

	if (len < SHM_FRAME_MIN)
		return FRAME_RUNT;
	if (f[12] == (SHM_ETHERTYPE >> 8) && f[13] == (SHM_ETHERTYPE & 0xff))
		return FRAME_CONTROL;
	if (f[0] & 1)
		return FRAME_CAST;
	if (f[0] != 0x02 || f[1] != 0x53 || f[2] != 0x4d || net >= SHM_NETS ||
	    f[3] != frame_net_tag[net])
		return FRAME_UNKNOWN;
	id = ((uint32_t)f[4] << 8) | f[5];
	if (id < 1 || id > max_nodes)
		return FRAME_UNKNOWN;
	*node = id;
	return FRAME_UNICAST;
}

/* frame_mac_str: format a MAC. */
void
frame_mac_str(const uint8_t m[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	    m[3], m[4], m[5]);
}

/* frame_rd16: a 16-bit field of a virtio_net_hdr (the TAP's byte order,
 * the host's). */
static uint16_t
frame_rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* frame_vnet_ok: could the virtio_net_hdr a peer wrote beside a frame of
 * len bytes come from a TAP?  Known flags and GSO types only, a GSO
 * frame with a segment size and its headers within the frame, a
 * checksum to fill within the frame.  The host kernel checks it again;
 * this keeps a peer's odd values from reaching it at all. */
int
frame_vnet_ok(const uint8_t *vnet, uint32_t len)
{
	uint8_t flags = vnet[0], gso = vnet[1] & ~FRAME_GSO_ECN;
	uint32_t hdr_len = frame_rd16(vnet + 2),
		 gso_size = frame_rd16(vnet + 4), cstart = frame_rd16(vnet + 6),
		 coff = frame_rd16(vnet + 8);

	if (flags & ~(FRAME_VNET_NEEDS_CSUM | FRAME_VNET_DATA_VALID))
		return 0;
	if (gso != FRAME_GSO_NONE && gso != FRAME_GSO_TCPV4 &&
	    gso != FRAME_GSO_UDP && gso != FRAME_GSO_TCPV6 &&
	    gso != FRAME_GSO_UDP_L4)
		return 0;
	if (gso == FRAME_GSO_NONE ? (vnet[1] & FRAME_GSO_ECN) != 0 :
				    gso_size == 0 || hdr_len > len)
		return 0;
	if ((flags & FRAME_VNET_NEEDS_CSUM) && cstart + coff + 2 > len)
		return 0;
	return 1;
}
