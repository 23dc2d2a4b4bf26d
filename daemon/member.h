/*
 * member.h: cluster membership (member.c), run by the main thread.
 */
#ifndef SHMNETD_MEMBER_H
#define SHMNETD_MEMBER_H

#include <stdint.h>

struct handoff;
struct netif;
struct resize;
struct watch;
struct member;

/* Membership of the claimed node; global: purge a dead node's flows
 * too.  NULL without memory. */
struct member *member_new(const struct handoff *ho, int global);
void	 member_free(struct member *m);
/* A network whose rings membership keeps (rs may be NULL until its data
 * threads are set up), and the watch thread to kick when a peer comes
 * up (NULL: none). */
void	 member_net(struct member *m, struct netif *ni, struct resize *rs);
void	 member_watch(struct member *m, struct watch *w);
/* Our node is ready for traffic: UP in the node table.  From then on
 * every scan puts our entry's state and generation back if somebody
 * overwrote them. */
void	 member_publish(struct member *m);
/* Reconcile our rings with the node table; 1 when it wants another
 * scan in a few milliseconds (a dead peer's lock outlives its keeper). */
int	 member_scan(struct member *m);
/* Broadcast an ANNOUNCE, LEAVE or RESCAN control frame. */
int	 member_announce(struct member *m, uint8_t type);

#endif /* SHMNETD_MEMBER_H */
