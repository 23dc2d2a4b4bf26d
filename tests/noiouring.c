/*
 * noiouring: run a command with io_uring_setup(2) failing with EPERM, as
 * under Docker's default seccomp profile.
 *
 *   noiouring CMD [ARGS...]
 */
#include "config.h"

#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "forbid.h"

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: noiouring CMD [ARGS...]\n");
		return 2;
	}
	if (tu_forbid(SYS_io_uring_setup) != 0) {
		perror("noiouring: seccomp");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
