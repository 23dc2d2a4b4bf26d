/*
 * rawip: test tool that sends IPv4 packets no socket of the system would:
 * a flood of SYNs from spoofed sources, or one TCP or UDP packet with a
 * chosen source written straight into an interface (as a hostile process
 * with CAP_NET_RAW on a node could).
 *
 *   rawip flood DST PORT SRC_NET SECONDS
 *	SYNs to DST:PORT from random addresses of SRC_NET (a /16, given
 *	as its first address) and random ports, as fast as the system
 *	takes them, for SECONDS; prints the number sent.
 *   rawip send IFACE SRC SPORT DST DPORT tcp FLAGS
 *   rawip send IFACE SRC SPORT DST DPORT udp LEN
 *	one Ethernet frame on IFACE: a TCP segment with FLAGS (a number:
 *	4 RST, 16 ACK...) or a UDP datagram of LEN payload bytes ('x').
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RAWIP_MAX 1600

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* csum_add: add bytes to a ones' complement sum. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* csum_fold: the checksum of a sum, network order in two bytes. */
static void
csum_fold(uint32_t sum, uint8_t *out)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	out[0] = (uint8_t)(sum >> 8);
	out[1] = (uint8_t)sum;
}

/* build: an IPv4 packet in p; its length.  l4 is 6 (TCP, flags) or 17
 * (UDP, len payload bytes). */
static size_t
build(uint8_t *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
    int l4, unsigned int arg)
{
	size_t l4len = l4 == 6 ? 20 : 8 + arg, len = 20 + l4len;
	uint8_t *t = p + 20, pseudo[12];
	uint32_t sum;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = (uint8_t)l4;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	csum_fold(csum_add(0, p, 20), p + 10);
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	if (l4 == 6) {
		t[4] = (uint8_t)(random() >> 3); /* sequence */
		t[12] = 0x50;
		t[13] = (uint8_t)arg;
		t[14] = 0xff;
		t[15] = 0xff;
	} else {
		t[4] = (uint8_t)(l4len >> 8);
		t[5] = (uint8_t)l4len;
		memset(t + 8, 'x', arg);
	}
	memcpy(pseudo, p + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = (uint8_t)l4;
	pseudo[10] = (uint8_t)(l4len >> 8);
	pseudo[11] = (uint8_t)l4len;
	sum = csum_add(csum_add(0, pseudo, 12), t, l4len);
	csum_fold(sum, t + (l4 == 6 ? 16 : 6));
	return len;
}

/* pace: sleep until batch n of 1024 is due at pps a second. */
static void
pace(const struct timespec *t0, unsigned long long n, unsigned long pps)
{
	unsigned long long ns = n * 1024ull * 1000000000ull / pps;
	struct timespec due = { t0->tv_sec + (time_t)(ns / 1000000000ull),
		t0->tv_nsec + (long)(ns % 1000000000ull) };

	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
}

/* flood: SYNs from SRC_NET/16 to dst:port for secs seconds. */
static int
flood(uint32_t dst, uint16_t port, uint32_t net, int secs, unsigned long pps)
{
	unsigned long long batch = 0;
	struct timespec t0;

	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint8_t p[RAWIP_MAX];
	unsigned long long sent = 0;
	time_t end = time(NULL) + secs;
	uint32_t src;
	size_t len;
	int fd;

	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1) {
		perror("rawip: raw socket");
		return 1;
	}
	sa.sin_addr.s_addr = dst;
	signal(SIGTERM, on_term);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && time(NULL) < end) {
		if (pps > 0)
			pace(&t0, batch++, pps);
		for (int i = 0; i < 1024; i++) {
			src = htonl(ntohl(net) + ((uint32_t)random() & 0xffff));
			len = build(p, src, (uint16_t)(1024 + random() % 60000),
			    dst, port, 6, 0x02);
			if (sendto(fd, p, len, 0, (struct sockaddr *)&sa,
				sizeof(sa)) == (ssize_t)len)
				sent++;
			else if (errno != ENOBUFS && errno != EAGAIN) {
				perror("rawip: sendto");
				return 1;
			}
		}
	}
	printf("%llu\n", sent);
	close(fd);
	return 0;
}

/* send_one: one frame on an interface. */
static int
send_one(const char *ifname, uint32_t src, uint16_t sport, uint32_t dst,
    uint16_t dport, int l4, unsigned int arg)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_halen = ETH_ALEN };
	uint8_t f[14 + RAWIP_MAX] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0,
		0x02, 0x08, 0x00 };
	size_t len;
	int fd;

	if ((ll.sll_ifindex = (int)if_nametoindex(ifname)) == 0) {
		fprintf(stderr, "rawip: no interface %s\n", ifname);
		return 1;
	}
	if ((fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP))) == -1) {
		perror("rawip: packet socket");
		return 1;
	}
	len = build(f + 14, src, sport, dst, dport, l4, arg);
	if (sendto(fd, f, 14 + len, 0, (struct sockaddr *)&ll, sizeof(ll)) ==
	    -1) {
		perror("rawip: sendto");
		return 1;
	}
	close(fd);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: rawip flood DST PORT SRC_NET SECONDS [PPS]\n"
	    "       rawip send IFACE SRC SPORT DST DPORT tcp FLAGS|udp LEN\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct in_addr a, b;
	unsigned int arg;

	srandom((unsigned int)(time(NULL) ^ getpid()));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "flood") == 0 &&
	    inet_aton(argv[2], &a) && inet_aton(argv[4], &b))
		return flood(a.s_addr, (uint16_t)atoi(argv[3]), b.s_addr,
		    atoi(argv[5]), argc == 7 ? strtoul(argv[6], NULL, 0) : 0);
	if (argc != 9 || strcmp(argv[1], "send") != 0 ||
	    !inet_aton(argv[3], &a) || !inet_aton(argv[5], &b))
		return usage();
	arg = (unsigned int)strtoul(argv[8], NULL, 0);
	if (strcmp(argv[7], "tcp") == 0 && arg <= 0xff)
		return send_one(argv[2], a.s_addr, (uint16_t)atoi(argv[4]),
		    b.s_addr, (uint16_t)atoi(argv[6]), 6, arg);
	if (strcmp(argv[7], "udp") == 0 && arg <= 1400)
		return send_one(argv[2], a.s_addr, (uint16_t)atoi(argv[4]),
		    b.s_addr, (uint16_t)atoi(argv[6]), 17, arg);
	return usage();
}
