/*
 * ofdread: a reader of a cluster's lock file that takes an OFD read lock
 * on it and keeps it, as any user who may read the file could.
 *
 *   ofdread FILE [START:LEN]...
 *
 * Opens FILE read-only, read-locks bytes [START, START + LEN) of each
 * range (default the whole file; LEN 0: to its end, however far it
 * grows), prints "locked" and sleeps until killed.  Prints why and
 * exits 1 when it cannot open the file or lock a range.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	char *colon;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: ofdread FILE [START:LEN]...\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY | O_CLOEXEC)) == -1) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 2; i < argc || i == 2; i++) {
		fl.l_start = i < argc ? strtoll(argv[i], &colon, 0) : 0;
		fl.l_len = i < argc && *colon == ':' ?
		    strtoll(colon + 1, NULL, 0) :
		    0;
		if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
			printf("lock %s bytes %lld+%lld: %s\n", argv[1],
			    (long long)fl.l_start, (long long)fl.l_len,
			    strerror(errno));
			return 1;
		}
	}
	printf("locked\n");
	fflush(stdout);
	for (;;)
		pause();
}
