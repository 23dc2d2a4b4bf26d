/*
 * cframe.h: control frames between daemons (never reach a TAP).
 */
#ifndef SHMNETD_CFRAME_H
#define SHMNETD_CFRAME_H

#include <stdint.h>

#define CFRAME_ANNOUNCE	1
#define CFRAME_LEAVE	2
#define CFRAME_RESCAN	3	/* look at your listeners again */
#define CFRAME_LEN	32

/* Build a control frame from node id (net's MAC); returns its length. */
uint32_t cframe_build(uint8_t *buf, uint32_t net, uint32_t id, uint32_t gen,
	    uint8_t type);
/* Parse one; returns 0 and fills type/id/gen, -1 if it is not valid. */
int	 cframe_parse(const uint8_t *buf, uint32_t len, uint8_t *type,
	    uint32_t *id, uint32_t *gen);

#endif /* SHMNETD_CFRAME_H */
