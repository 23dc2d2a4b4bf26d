/*
 * watch.h: the thread that sees peers die (watch.c).
 */
#ifndef SHMNETD_WATCH_H
#define SHMNETD_WATCH_H

struct handoff;
struct watch;

/* Start the thread once the node is claimed, and wait until our keeper
 * is armed; NULL if it cannot start. */
struct watch *watch_start(struct handoff *ho);
/* Look at the peers' keepers again (a peer came up); w may be NULL. */
void	 watch_kick(struct watch *w);
/* Disarm our keeper (this is no death), join and free; w may be NULL. */
void	 watch_stop(struct watch *w);

#endif /* SHMNETD_WATCH_H */
