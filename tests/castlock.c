/*
 * castlock: a cluster member that takes a network's broadcast ring lock
 * and stops there, to test that the others get past it once it dies.
 *
 *   castlock SEGMENT NODE_ID
 *
 * Claims NODE_ID in the segment (so that its death is visible through the
 * lock file like a daemon's), takes the local broadcast ring's writer
 * lock, prints "holding" and sleeps until killed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "attach.h"

int
main(int argc, char **argv)
{
	struct shm_ring_hdr *h;
	struct shmseg *seg;
	uint32_t gen, size, id;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: castlock SEGMENT NODE_ID\n");
		return 2;
	}
	id = (uint32_t)atoi(argv[2]);
	if ((seg = tu_attach("castlock", argv[1])) == NULL)
		return 1;
	if ((rc = node_claim(seg, id, &gen)) < 0) {
		fprintf(stderr, "castlock: claim node %u: %d\n", id, rc);
		shmseg_close(seg, 0);
		return 1;
	}
	h = shmseg_cast(seg, SHM_NET_LOCAL, &size);
	lock_acquire(seg, &h->lock, lock_owner_word(id));
	printf("holding\n");
	fflush(stdout);
	for (;;)
		pause();
}
