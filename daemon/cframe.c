/*
 * cframe.c: control frames between daemons.
 *
 * Ethernet broadcast, EtherType SHM_ETHERTYPE, then:
 *   "SHMC" | version (1) | type (1) | node id (2, BE) | generation (4, BE)
 * padded to CFRAME_LEN.  They travel on the broadcast ring and are
 * consumed by the daemons; tx paths drop any frame of this EtherType that
 * comes from a TAP, so applications cannot forge them.
 */
#include "config.h"

#include <string.h>

#include "cframe.h"
#include "shmnet.h"

#define CFRAME_VERSION 1

/* cframe_build: write a control frame into buf (>= CFRAME_LEN bytes). */
uint32_t
cframe_build(uint8_t *buf, uint32_t net, uint32_t id, uint32_t gen,
    uint8_t type)
{
	memset(buf, 0, CFRAME_LEN);
	memset(buf, 0xff, 6);
	frame_node_mac(net, id, buf + 6);
	buf[12] = SHM_ETHERTYPE >> 8;
	buf[13] = SHM_ETHERTYPE & 0xff;
	memcpy(buf + 14, "SHMC", 4);
	buf[18] = CFRAME_VERSION;
	buf[19] = type;
	buf[20] = (uint8_t)(id >> 8);
	buf[21] = (uint8_t)id;
	buf[22] = (uint8_t)(gen >> 24);
	buf[23] = (uint8_t)(gen >> 16);
	buf[24] = (uint8_t)(gen >> 8);
	buf[25] = (uint8_t)gen;
	return CFRAME_LEN;
}

/* cframe_parse: validate and decode a control frame. */
int
cframe_parse(const uint8_t *buf, uint32_t len, uint8_t *type, uint32_t *id,
    uint32_t *gen)
{
	if (len < 26 || buf[12] != (SHM_ETHERTYPE >> 8) ||
	    buf[13] != (SHM_ETHERTYPE & 0xff) || memcmp(buf + 14, "SHMC", 4) ||
	    buf[18] != CFRAME_VERSION ||
	    (buf[19] != CFRAME_ANNOUNCE && buf[19] != CFRAME_LEAVE &&
		buf[19] != CFRAME_RESCAN))
		return -1;
	*type = buf[19];
	*id = ((uint32_t)buf[20] << 8) | buf[21];
	*gen = ((uint32_t)buf[22] << 24) | ((uint32_t)buf[23] << 16) |
	    ((uint32_t)buf[24] << 8) | buf[25];
	return 0;
}
