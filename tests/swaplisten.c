/*
 * swaplisten: a TCP listener on port A that, on SIGUSR1, closes it and
 * listens on port B at once, so that the namespace's count of TCP
 * sockets (/proc/net/sockstat) never moves.  Prints "A" once listening
 * on A and "B" once swapped; then sleeps until killed.
 *
 *   swaplisten A B
 */
#include "config.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* listen_on: a wildcard IPv4 TCP listener on port; exits on failure. */
static int
listen_on(int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		perror("swaplisten");
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	sigset_t set;
	int fd, sig;

	if (argc != 3) {
		fprintf(stderr, "usage: swaplisten A B\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = listen_on(atoi(argv[1]));
	printf("A\n");
	sigwait(&set, &sig);
	close(fd);
	fd = listen_on(atoi(argv[2]));
	printf("B\n");
	for (;;)
		pause();
}
