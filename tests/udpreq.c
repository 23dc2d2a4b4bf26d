/*
 * udpreq: test client for UDP services.  Sends COUNT requests to
 * ADDR:PORT, each from a new socket (so each is a new flow), waits up to
 * TIMEOUT_MS for one reply datagram and prints it as a line.  Exit 0 when
 * every request was answered.
 *
 *   udpreq ADDR PORT COUNT [TIMEOUT_MS [SOURCE_PORT_BASE [SIZE]]]
 *
 * With SOURCE_PORT_BASE, request i is sent from port base + i, so that
 * COUNT requests are COUNT distinct flows even when the system would have
 * reused an ephemeral port.  SIZE is the request's payload (default 2
 * bytes); larger than the path MTU, it is sent as fragments.
 */
#include "config.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* one_request: 1 if answered (reply printed), 0 if not. */
static char req[65000] = "x\n";
static size_t reqlen = 2;

static int
one_request(const struct sockaddr_in *sa, int timeout_ms, int sport)
{
	struct sockaddr_in src;
	struct pollfd pfd;
	char buf[1500];
	ssize_t n;
	int fd, ok = 0;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 0;
	if (sport > 0) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_port = htons((uint16_t)sport);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			perror("udpreq: bind");
			goto out;
		}
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    send(fd, req, reqlen, 0) != (ssize_t)reqlen)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) == 1 &&
	    (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		printf("%s\n", buf);
		ok = 1;
	}
out:
	close(fd);
	return ok;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int count, timeout_ms, base, i, answered = 0;

	if (argc < 4) {
		fprintf(stderr,
		    "usage: udpreq ADDR PORT COUNT [TIMEOUT_MS "
		    "[SOURCE_PORT_BASE]]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "udpreq: bad address %s\n", argv[1]);
		return 2;
	}
	count = atoi(argv[3]);
	timeout_ms = argc > 4 ? atoi(argv[4]) : 2000;
	base = argc > 5 ? atoi(argv[5]) : 0;
	if (argc > 6 && atoi(argv[6]) > 2 &&
	    atoi(argv[6]) <= (int)sizeof(req)) {
		reqlen = (size_t)atoi(argv[6]);
		memset(req, 'y', reqlen);
	}
	for (i = 0; i < count; i++)
		answered += one_request(&sa, timeout_ms, base ? base + i : 0);
	fflush(stdout);
	return answered == count ? 0 : 1;
}
