/*
 * gnet.h: the global network's routing decision (see gnet.c).
 */
#ifndef SHMNETD_GNET_H
#define SHMNETD_GNET_H

#include <stdint.h>

#include "conf.h"
#include "shmnet.h"

struct handoff;
struct netif;
struct gnet;

/* The cluster addresses this node carries, by index (ho->gidx), and
 * G6. */
void	 gnet_carried(const struct handoff *ho, const struct conf *c,
	    struct pkt_g *g);

/* Main thread, before the tx thread starts; NULL without memory. */
struct gnet *gnet_new(const struct handoff *ho, const struct netif *ni,
	    const struct conf *c);
void	 gnet_free(struct gnet *gn);
/* Main thread: the idle timeouts of c from now on (a reload). */
void	 gnet_set_timeouts(struct gnet *gn, const struct conf *c);
/* Any thread: the idle timeouts in effect. */
void	 gnet_timeouts(const struct gnet *gn, struct conn_timeouts *t);
/* tx thread: the node a frame goes to (this node included), 0 to drop. */
uint32_t gnet_route(struct gnet *gn, const uint8_t *frame, uint32_t len);
/* tx thread: address a frame to node id's global interface. */
void	 gnet_macs(const struct gnet *gn, uint8_t *frame, uint32_t id);
/* Main thread: collect the expired flows that entered here. */
uint32_t gnet_gc(const struct gnet *gn);
/* Record the connections this node serves, k[0..n), that the table
 * lacks (main thread); how many it recorded. */
uint32_t gnet_repin(const struct gnet *gn, const struct conn_key *k,
	    uint32_t n);

#endif /* SHMNETD_GNET_H */
