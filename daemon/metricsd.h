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
/* Stop serving and close the socket, before base is freed; NULL is
 * none. */
void	 metricsd_free(struct metricsd *m);

#endif /* SHMNETD_METRICSD_H */
