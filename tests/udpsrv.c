/*
 * udpsrv: test UDP service.  Binds PORT (on ADDR, default the wildcard)
 * and answers every datagram with TEXT, by sendto() from the same socket
 * without choosing a source address: the kernel picks it, as it does for
 * most simple UDP servers.
 *
 *   udpsrv PORT TEXT [ADDR]
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sa, peer;
	socklen_t plen;
	char buf[2048];
	size_t tlen;
	int fd, one = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: udpsrv PORT TEXT [ADDR]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	if (argc > 3 && inet_pton(AF_INET, argv[3], &sa.sin_addr) != 1) {
		fprintf(stderr, "udpsrv: bad address %s\n", argv[3]);
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("udpsrv");
		return 1;
	}
	snprintf(buf, sizeof(buf), "%s\n", argv[2]);
	tlen = strlen(buf);
	for (;;) {
		char in[2048];
		plen = sizeof(peer);
		if (recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&peer,
			&plen) < 0)
			continue;
		sendto(fd, buf, tlen, 0, (struct sockaddr *)&peer, plen);
	}
}
