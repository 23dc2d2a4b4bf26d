/*
 * nomcnotify: run a command with every netlink group subscription
 * (setsockopt NETLINK_ADD_MEMBERSHIP) failing with EINVAL, as on a kernel
 * older than Linux 6.13 for the multicast address groups.
 *
 *   nomcnotify CMD [ARGS...]
 */
#include "config.h"

#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "forbid.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: nomcnotify CMD [ARGS...]\n");
		return 2;
	}
	if (tu_forbid_sockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP) != 0) {
		perror("nomcnotify: seccomp");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
