/*
 * hungsrv: a TCP server that hangs.  Listens on ADDR:PORT with a backlog
 * of 1 and never accepts; then connects to itself (ADDR, or 127.0.0.1
 * for 0.0.0.0) FILL times, without waiting for the connects, so that its
 * accept queue is full and the kernel drops every further handshake.
 * Stays until killed.
 *
 *   hungsrv ADDR PORT FILL
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
	struct sockaddr_in sa;
	int fd, c, i, fill, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: hungsrv ADDR PORT FILL\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	fill = atoi(argv[3]);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "hungsrv: bad address %s\n", argv[1]);
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 1) == -1) {
		perror("hungsrv");
		return 1;
	}
	if (sa.sin_addr.s_addr == htonl(INADDR_ANY))
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < fill; i++) {
		if ((c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
		    -1) {
			perror("hungsrv: socket");
			return 1;
		}
		connect(c, (struct sockaddr *)&sa, sizeof(sa));
	}
	for (;;)
		pause();
}
