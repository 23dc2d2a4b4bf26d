/*
 * mcwatch.c: the kernel tells the main thread when a TAP joins or leaves
 * a multicast group, so the groups are re-read (mc_refresh) at once
 * rather than on the next tick.
 *
 * Since Linux 6.13 an IP group join or leave is an RTM_NEWMULTICAST or
 * RTM_DELMULTICAST message to RTNLGRP_IPV4_MCADDR or RTNLGRP_IPV6_MCADDR;
 * RTNLGRP_LINK carries the IFF_PROMISC and IFF_ALLMULTI flag changes.  A
 * group added at the link layer alone (PACKET_ADD_MEMBERSHIP) makes no
 * message and is seen on the tick.  Older kernels refuse the groups: the
 * joined groups are then re-read on a timer of their own, MCW_POLL_MS.
 * Main thread only.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <event2/event.h>

#include "log.h"
#include "mcast.h"
#include "mcwatch.h"
#include "shmnet.h"

#ifndef RTNLGRP_IPV4_MCADDR /* Linux 6.13; older headers */
#define RTNLGRP_IPV4_MCADDR 37
#define RTNLGRP_IPV6_MCADDR 38
#endif
#ifndef RTM_NEWMULTICAST
#define RTM_NEWMULTICAST 56
#define RTM_DELMULTICAST 57
#endif

#define MCW_POLL_MS 250 /* without notifications */

struct mcwatch {
	struct event *ev; /* the socket's, or the timer's */
	int fd;           /* the netlink socket, or -1 */
	int n;
	struct mc *mc[SHM_NETS];
	int ifindex[SHM_NETS];
};

/* mcw_open: a netlink socket subscribed to the groups above, or -errno
 * (-EINVAL from a kernel without the multicast address groups). */
int
mcw_open(void)
{
	static const int groups[3] = { RTNLGRP_LINK, RTNLGRP_IPV4_MCADDR,
		RTNLGRP_IPV6_MCADDR };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, i, rc;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* bound: the kernel skips multicast to a socket without a port id */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	for (i = 0; i < 3; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
			&groups[i], sizeof(groups[i])) != 0)
			goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* mcw_msg_index: the interface a message is about, 0 if none of ours. */
static int
mcw_msg_index(const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWMULTICAST:
	case RTM_DELMULTICAST:
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
			return 0;
		return (int)((const struct ifaddrmsg *)NLMSG_DATA(h))
		    ->ifa_index;
	case RTM_NEWLINK:
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			return 0;
		return ((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
	}
	return 0;
}

/* mcw_parse: the messages in buf (len bytes, NLMSG_ALIGNTO-aligned) as a
 * mask: bit i set when one is about interface ifindex[i] (n <= 32).
 * Truncated or malformed messages end the walk. */
uint32_t
mcw_parse(const void *buf, size_t len, const int *ifindex, int n)
{
	const struct nlmsghdr *h;
	uint32_t hit = 0;
	int left = len > INT32_MAX ? INT32_MAX : (int)len, idx, i;

	for (h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
		if ((idx = mcw_msg_index(h)) != 0)
			for (i = 0; i < n; i++)
				if (ifindex[i] == idx)
					hit |= 1u << i;
	return hit;
}

/* mcw_refresh: re-read the groups of the networks in mask. */
static void
mcw_refresh(struct mcwatch *w, uint32_t mask)
{
	for (int i = 0; i < w->n; i++)
		if (mask & (1u << i))
			mc_refresh(w->mc[i]);
}

/* mcw_read: drain the socket; refresh the networks named (all of them
 * when the socket overflowed and messages were lost). */
static void
mcw_read(evutil_socket_t fd, short ev, void *arg)
{
	union {
		struct nlmsghdr h;
		char b[8192];
	} u;
	struct mcwatch *w = arg;
	struct sockaddr_nl from;
	uint32_t hit = 0;
	socklen_t fl;
	ssize_t n;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, &u, sizeof(u), 0, (struct sockaddr *)&from,
		    &fl);
		if (n < 0 && errno == ENOBUFS)
			hit = UINT32_MAX;
		else if (n < 0 && errno != EINTR)
			break; /* EAGAIN: drained */
		else if (n >= 0 && fl == sizeof(from) && from.nl_pid == 0)
			hit |= mcw_parse(&u, (size_t)n, w->ifindex, w->n);
	}
	mcw_refresh(w, hit);
}

/* mcw_poll: the timer of a kernel without notifications. */
static void
mcw_poll(evutil_socket_t fd, short ev, void *arg)
{
	mcw_refresh(arg, UINT32_MAX);
}

/* mcw_events: the socket's event, or a timer without notifications. */
static int
mcw_events(struct event_base *base, struct mcwatch *w)
{
	struct timeval tv = { 0, MCW_POLL_MS * 1000 };
	int fd;

	if ((fd = mcw_open()) >= 0) {
		w->fd = fd;
		w->ev = event_new(base, fd, EV_READ | EV_PERSIST, mcw_read, w);
		if (w->ev == NULL || event_add(w->ev, NULL) != 0)
			return -1;
		log_debug("multicast joins followed from the kernel's "
			  "notifications");
		return 0;
	}
	log_debug("no multicast join notifications (%s; Linux 6.13 has "
		  "them): joined groups re-read every %d ms",
	    strerror(-fd), MCW_POLL_MS);
	w->ev = event_new(base, -1, EV_PERSIST, mcw_poll, w);
	return w->ev == NULL || event_add(w->ev, &tv) != 0 ? -1 : 0;
}

/* mcw_start: follow joins from the kernel's notifications, or on a timer;
 * then read the groups once (joins before the subscription).  Nothing
 * without multicast rings: every group then shares the broadcast ring and
 * is not filtered (mc_refresh). */
int
mcw_start(struct event_base *base, struct mc *const *mc, const int *ifindex,
    int n, struct mcwatch **out)
{
	struct mcwatch *w;
	int i, any = 0;

	*out = NULL;
	for (i = 0; i < n; i++)
		any |= mc_rx_rings(mc[i]) != 0;
	if (!any)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->fd = -1;
	w->n = n;
	for (i = 0; i < n; i++) {
		w->mc[i] = mc[i];
		w->ifindex[i] = ifindex[i];
	}
	*out = w;
	if (mcw_events(base, w) != 0)
		return -1;
	mcw_refresh(w, UINT32_MAX);
	return 0;
}

/* mcw_stop: undo mcw_start. */
void
mcw_stop(struct mcwatch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
