/*
 * mcast: IPv4 multicast test client.
 *
 *   mcast recv IFNAME GROUP PORT COUNT TIMEOUT_MS [nojoin]
 *	Binds PORT, joins GROUP on IFNAME (unless nojoin), writes "ready" to
 *	stderr, then prints the sequence number of every datagram received
 *	until COUNT arrived or nothing came for TIMEOUT_MS.  Exit 0.
 *   mcast send IFNAME GROUP PORT COUNT INTERVAL_US
 *	Sends COUNT datagrams "1".."COUNT" to GROUP:PORT out of IFNAME,
 *	INTERVAL_US apart.  Exit 0 when every send succeeded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
usage(void)
{
	fprintf(stderr,
	    "usage: mcast recv IFNAME GROUP PORT COUNT TIMEOUT_MS "
	    "[nojoin]\n       mcast send IFNAME GROUP PORT COUNT "
	    "INTERVAL_US\n");
	return 2;
}

/* mc_recv: bind, join and print sequence numbers. */
static int
mc_recv(int ifindex, struct in_addr group, int port, long count, int timeout_ms,
    int join)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct ip_mreqn mr = { .imr_multiaddr = group, .imr_ifindex = ifindex };
	struct pollfd pfd;
	char buf[256];
	long got = 0;
	ssize_t n;
	int fd, one = 1;

	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    (join &&
		setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == -1)) {
		perror("mcast recv");
		return 1;
	}
	fprintf(stderr, "ready\n");
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < count && poll(&pfd, 1, timeout_ms) == 1) {
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
		got++;
	}
	return 0;
}

/* mc_send: COUNT numbered datagrams, paced. */
static int
mc_send(int ifindex, struct in_addr group, int port, long count,
    long interval_us)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = group };
	struct ip_mreqn mr = { .imr_ifindex = ifindex };
	char buf[32];
	long i;
	int fd, len;

	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr))) {
		perror("mcast send");
		return 1;
	}
	for (i = 1; i <= count; i++) {
		len = snprintf(buf, sizeof(buf), "%ld", i);
		if (sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&sa,
			sizeof(sa)) != len) {
			perror("mcast send");
			return 1;
		}
		if (interval_us > 0)
			usleep((useconds_t)interval_us);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct in_addr group;
	unsigned int ifindex;

	if (argc < 7)
		return usage();
	if ((ifindex = if_nametoindex(argv[2])) == 0) {
		fprintf(stderr, "mcast: no interface %s\n", argv[2]);
		return 2;
	}
	if (inet_pton(AF_INET, argv[3], &group) != 1) {
		fprintf(stderr, "mcast: bad group %s\n", argv[3]);
		return 2;
	}
	if (strcmp(argv[1], "recv") == 0)
		return mc_recv((int)ifindex, group, atoi(argv[4]),
		    atol(argv[5]), atoi(argv[6]),
		    !(argc > 7 && strcmp(argv[7], "nojoin") == 0));
	if (strcmp(argv[1], "send") == 0)
		return mc_send((int)ifindex, group, atoi(argv[4]),
		    atol(argv[5]), atol(argv[6]));
	return usage();
}
