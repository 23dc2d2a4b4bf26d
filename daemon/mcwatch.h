/*
 * mcwatch.h: the kernel's multicast join notifications (mcwatch.c).
 */
#ifndef SHMNETD_MCWATCH_H
#define SHMNETD_MCWATCH_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct mc;
struct mcwatch;

/* A netlink socket subscribed to join, leave and link flag changes, or
 * -errno (-EINVAL from a kernel without the multicast address groups). */
int	 mcw_open(void);
/* The messages in buf (len bytes) as a mask: bit i set when one is about
 * interface ifindex[i] (n <= 32). */
uint32_t mcw_parse(const void *buf, size_t len, const int *ifindex, int n);

/* Main thread: follow the joins of the n networks' TAPs (ifindex[i]; their
 * multicast state mc[i]) on base, then read their groups once.  *out is
 * NULL when no network has multicast rings.  0, or -1 if libevent or
 * memory failed. */
int	 mcw_start(struct event_base *base, struct mc *const *mc,
	    const int *ifindex, int n, struct mcwatch **out);
void	 mcw_stop(struct mcwatch *w);

#endif /* SHMNETD_MCWATCH_H */
