/*
 * udpprobe: measure how long a UDP request/response exchange waits.
 *
 *   udpprobe echo PORT
 *   udpprobe ADDR PORT SECONDS [INTERVAL_MS]
 *
 * The first form answers every datagram on PORT with itself.  The second
 * sends a numbered, time-stamped request every INTERVAL_MS (default 10)
 * for SECONDS (or until SIGINT or SIGTERM) from one socket, on a fixed
 * schedule (a late send does not shift the ones after it), and takes
 * replies as they come; after the last it waits 1 s for late replies.
 * It prints one line:
 *
 *   sent N answered M lost L max_rtt_ms R max_gap_ms G late_send_ms S at W
 *
 * max_rtt_ms is the longest any answered request waited for its reply
 * (sent at W, wall-clock milliseconds since the epoch, to match with
 * what else happened then), from the send to the kernel's receive time
 * stamp of the reply (SO_TIMESTAMPNS): how late the prober itself woke
 * to read it is not counted,
 * max_gap_ms the longest time without any reply while requests were
 * outstanding, and late_send_ms how late the prober itself sent at
 * worst (its own scheduling, not the network's).  Exit 0, or 2 on a bad
 * argument or socket error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

/* on_signal: end the sending early. */
static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct probe {
	uint64_t seq;
	uint64_t sent_ns; /* wall clock: the receive stamps' clock */
};

/* wall_ns: wall-clock nanoseconds (the clock of SO_TIMESTAMPNS). */
static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* reply: one reply and the kernel's time stamp of its arrival (now,
 * when there is none); the reply's length, or -1 when none waits. */
static ssize_t
reply(int fd, struct probe *p, uint64_t *at)
{
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { p, sizeof(*p) };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	struct timespec ts;
	ssize_t n;

	if ((n = recvmsg(fd, &mh, MSG_DONTWAIT)) <= 0)
		return -1;
	*at = wall_ns();
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*at = (uint64_t)ts.tv_sec * 1000000000ull +
			    (uint64_t)ts.tv_nsec;
		}
	return n;
}

/* now_ns: monotonic nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* echo: answer every datagram with itself. */
static int
echo(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	struct sockaddr_in from;
	socklen_t fl;
	char buf[2048];
	ssize_t n;
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("udpprobe: echo");
		return 2;
	}
	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &fl);
		if (n > 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
			    fl);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t start, next, end, now, interval, last_reply, rtt;
	uint64_t sent = 0, answered = 0, max_rtt = 0, max_gap = 0, late = 0;
	uint64_t worst_at = 0, at; /* wall-clock send time of the worst */
	uint8_t *got;
	struct pollfd pfd;
	struct probe p;
	ssize_t n;
	int fd, wait_ms, on = 1;
	double secs;

	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return echo(atoi(argv[2]));
	if (argc < 4 || argc > 5 ||
	    inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr,
		    "usage: udpprobe echo PORT\n"
		    "       udpprobe ADDR PORT SECONDS [INTERVAL_MS]\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	secs = strtod(argv[3], NULL);
	interval = (uint64_t)(argc > 4 ? atoi(argv[4]) : 10) * 1000000ull;
	if (secs <= 0 || interval == 0)
		return 2;
	if ((got = calloc((size_t)(secs * 1e9 / (double)interval) + 2, 1)) ==
	    NULL)
		return 2;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == -1) {
		perror("udpprobe");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pfd.fd = fd;
	pfd.events = POLLIN;
	start = next = now_ns();
	last_reply = wall_ns();
	end = start + (uint64_t)(secs * 1e9);
	for (;;) {
		now = now_ns();
		if (stopping && next < end)
			end = next > now ? next : now;
		if (now >= next && next < end) {
			if (now - next > late)
				late = now - next;
			p.seq = sent;
			p.sent_ns = wall_ns();
			/* a refused send (no route, full queue) is a request
			 * that waits for ever: counted as lost */
			(void)send(fd, &p, sizeof(p), MSG_DONTWAIT);
			if (sent == answered)
				last_reply = p.sent_ns; /* the gap starts now */
			sent++;
			next += interval;
			continue;
		}
		if (next >= end &&
		    (answered == sent || now >= end + 1000000000ull))
			break;
		wait_ms = (int)(((next < end ? next : end + 1000000000ull) -
				    now + 999999) /
		    1000000);
		if (poll(&pfd, 1, wait_ms) <= 0)
			continue;
		while ((n = reply(fd, &p, &at)) > 0) {
			if ((size_t)n != sizeof(p) || p.seq >= sent ||
			    got[p.seq])
				continue;
			got[p.seq] = 1;
			answered++;
			rtt = at > p.sent_ns ? at - p.sent_ns : 0;
			if (rtt > max_rtt) {
				max_rtt = rtt;
				worst_at = p.sent_ns;
			}
			if (at > last_reply && at - last_reply > max_gap)
				max_gap = at - last_reply;
			if (at > last_reply)
				last_reply = at;
		}
	}
	/* requests still waiting at the end count in the gap */
	if (answered < sent && wall_ns() - last_reply > max_gap)
		max_gap = wall_ns() - last_reply;
	printf("sent %llu answered %llu lost %llu max_rtt_ms %.1f max_gap_ms "
	       "%.1f late_send_ms %.1f at %llu\n",
	    (unsigned long long)sent, (unsigned long long)answered,
	    (unsigned long long)(sent - answered), (double)max_rtt / 1e6,
	    (double)max_gap / 1e6, (double)late / 1e6,
	    (unsigned long long)(worst_at / 1000000));
	free(got);
	close(fd);
	return 0;
}
