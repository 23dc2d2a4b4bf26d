/*
 * metricsd.h: the daemon's HTTP endpoint for Prometheus: GET /metrics
 * ([cluster] metrics-listen), served from the main loop.
 */
#ifndef SHMNETD_METRICSD_H
#define SHMNETD_METRICSD_H

#include <stddef.h>

#include "conf.h"

struct metricsd;
struct event_base;
struct shmseg;

/* Bind and listen on l, in the daemon's network namespace: 0 and *out,
 * or -errno with err naming the address and what failed. */
int	 metricsd_open(const struct conf_listen *l, struct metricsd **out,
	    char *err, size_t errlen);
/* Serve GET /metrics from seg on base's loop (404 for other paths);
 * 0, or -ENOMEM. */
int	 metricsd_serve(struct metricsd *m, struct event_base *base,
	    struct shmseg *seg);
/* Serve on l instead of *m (NULL: none; l off: stop serving): the new
 * socket is bound before *m closes, unless the address is in use (by
 * *m's own port, maybe): then *m closes first, and comes back if l
 * cannot be bound either.  0, or -errno with err set and *m serving as
 * it was. */
int	 metricsd_move(struct metricsd **m, const struct conf_listen *l,
	    struct event_base *base, struct shmseg *seg, char *err,
	    size_t errlen);
/* Stop serving and close the socket, before base is freed; NULL is
 * none. */
void	 metricsd_free(struct metricsd *m);

#endif /* SHMNETD_METRICSD_H */
