/*
 * health.h: health checks of the ports this node publishes for the
 * cluster address (health.c).
 */
#ifndef SHMNETD_HEALTH_H
#define SHMNETD_HEALTH_H

#include <stdint.h>

#include "conf.h"
#include "layout.h"

struct event_base;
struct health;

/* One check's rise/fall state machine (health_step). */
struct health_sm {
	uint8_t		state;		/* SHM_CHECK_* */
	uint32_t	ok;		/* successes in a row */
	uint32_t	bad;		/* failures in a row */
};

/* Start a check's state machine: pending, nothing counted yet. */
void	 health_sm_init(struct health_sm *sm);
/* Count one result (success: 1, failure: 0).  Any state but none goes up
 * after rise successes in a row and down after fall failures in a row;
 * pending decides on whichever comes first.  1 when the state changed. */
int	 health_step(struct health_sm *sm, int success, uint32_t rise,
	    uint32_t fall);

/* Main thread, once the event base is up (children are forked from its
 * loop): the checks of the listeners health_merge is shown.  changed(arg)
 * is called when a check's state changes, or a health_configure changed
 * them: the listener table is to be published again.  foreground: a
 * script's output goes to the daemon's stderr (else /dev/null).  No
 * check runs before health_configure.  NULL without memory. */
struct health *health_new(struct event_base *base, const struct conf *c,
	    int foreground, void (*changed)(void *), void *arg);
/* Stop every check (a running script is killed and waited for). */
void	 health_free(struct health *h);
/* Take the check settings of g (check, check-interval, check-timeout,
 * check-rise, check-fall) and start every check afresh under them: a
 * round in progress is abandoned (its script killed), the counts begin
 * again, and a check keeps its up or down state only when the check
 * itself (none, tcp, exec:PATH) did not change; else it is pending.
 * May be called at any time; calls changed.  0, or -EINVAL for a check
 * value conf.c would refuse (nothing changed then). */
int	 health_configure(struct health *h, const struct globalconf *g);
/* A scan's listeners l[0..n), about to be published: start a check for
 * each port that appeared, stop those of ports gone, and fill each
 * entry's check and check_since, and SHM_LISTEN_FAILING when its check
 * is down. */
void	 health_merge(struct health *h, struct shm_listen *l, uint32_t n);
/* SIGCHLD: collect the scripts that ended and count their results. */
void	 health_reap(struct health *h);

#endif /* SHMNETD_HEALTH_H */
