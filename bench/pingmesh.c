/*
 * pingmesh: ping many addresses from one process until each has answered
 * once.  bench/scale runs one per node, so that what it measures is the
 * network, not the cost of starting a ping(8) process per pair (which on
 * a guest with slow fork, 5-7 ms a process, was most of the figure).
 *
 *   pingmesh TIMEOUT_MS ADDR...
 *
 * Sends an ICMP echo request to every address that has not answered yet,
 * every 100 ms, until all have or TIMEOUT_MS passed; prints the number
 * that answered.  Exit 0 when all did.  Root only (raw ICMP socket).
 */
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RETRY_MS 100

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static uint16_t
csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2)
		s += *w++;
	if (n)
		s += *(const uint8_t *)w;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* echo: one request to a with sequence number seq */
static void
echo(int s, const struct sockaddr_in *a, uint16_t id, uint16_t seq)
{
	struct icmphdr h;

	memset(&h, 0, sizeof(h));
	h.type = ICMP_ECHO;
	h.un.echo.id = id;
	h.un.echo.sequence = htons(seq);
	h.checksum = csum(&h, sizeof(h));
	sendto(s, &h, sizeof(h), 0, (const struct sockaddr *)a, sizeof(*a));
}

/* replies: take what arrived; marks done[] and returns how many new */
static int
replies(int s, uint16_t id, char *done, int n)
{
	char buf[1500];
	const struct icmphdr *h;
	size_t hl;
	ssize_t k;
	int seq, got = 0;

	while ((k = recv(s, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)k < hl + sizeof(*h))
			continue;
		h = (const struct icmphdr *)(buf + hl);
		seq = ntohs(h->un.echo.sequence);
		if (h->type != ICMP_ECHOREPLY || h->un.echo.id != id ||
		    seq >= n || done[seq])
			continue;
		done[seq] = 1;
		got++;
	}
	return got;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in *to;
	struct pollfd pfd;
	long end, next = 0, wait;
	int s, i, n = argc - 2, ok = 0;
	uint16_t id = (uint16_t)getpid();
	char *done;

	if (argc < 3) {
		fprintf(stderr, "usage: pingmesh TIMEOUT_MS ADDR...\n");
		return 2;
	}
	to = calloc((size_t)n, sizeof(*to));
	done = calloc((size_t)n, 1);
	if (to == NULL || done == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		to[i].sin_family = AF_INET;
		if (inet_pton(AF_INET, argv[i + 2], &to[i].sin_addr) != 1) {
			fprintf(stderr, "pingmesh: bad address %s\n",
			    argv[i + 2]);
			return 2;
		}
	}
	if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)) < 0) {
		perror("pingmesh: socket");
		return 1;
	}
	end = now_ms() + atol(argv[1]);
	pfd.fd = s;
	pfd.events = POLLIN;
	while (ok < n && now_ms() < end) {
		if (now_ms() >= next) {
			for (i = 0; i < n; i++)
				if (!done[i])
					echo(s, &to[i], id, (uint16_t)i);
			next = now_ms() + RETRY_MS;
		}
		wait = next - now_ms();
		if (poll(&pfd, 1, wait > 0 ? (int)wait : 0) > 0)
			ok += replies(s, id, done, n);
	}
	printf("%d\n", ok);
	return ok == n ? 0 : 1;
}
