/*
 * lscan.h: the listener scan that publishes which sockets of this node
 * can serve the cluster address (lscan.c).
 */
#ifndef SHMNETD_LSCAN_H
#define SHMNETD_LSCAN_H

#include <stdint.h>

#include "conf.h"

struct handoff;
struct gnet;
struct groute;
struct health;
struct lscan;

/* Main thread: scan the sockets bound on the global interface (ifindex)
 * or the wildcard address; gr keeps the per-port UDP rules in step.
 * NULL without memory. */
struct lscan *lscan_new(const struct handoff *ho, const struct conf *c,
	    int ifindex, struct groute *gr);
void	 lscan_free(struct lscan *ls);
/* Scan now and publish what it found. */
void	 lscan_now(struct lscan *ls);
/* At start: record again the connections this node serves that the
 * table lacks. */
void	 lscan_repin(struct lscan *ls, const struct gnet *gn);
/* The health checks whose state every publish carries (NULL: none). */
void	 lscan_health(struct lscan *ls, struct health *h);
/* Publish the last scan again with the checks' state now (a check
 * changed); a scan when the last one failed. */
void	 lscan_republish(struct lscan *ls);
/* Every tick: scan when a socket of the namespace came or went, and at
 * least every LSCAN_FULL_TICKS ticks. */
void	 lscan_tick(struct lscan *ls);

#endif /* SHMNETD_LSCAN_H */
