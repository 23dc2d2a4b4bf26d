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
