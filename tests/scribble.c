/*
 * scribble: overwrite a live pair ring's header (and optionally its
 * descriptors) with random bytes, as a faulty or hostile peer would.
 *
 *   scribble SEGMENT OWNER PEER SEED [descs]
 *
 * The ring is the one from node PEER into node OWNER on the local network.
 * Prints the ring's offset.  Exit 1 if there is no such ring.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"

int
main(int argc, char **argv)
{
	struct shm_dirent de;
	struct shmseg *seg;
	uint8_t *mem;
	uint64_t n, i;

	if (argc < 5) {
		fprintf(stderr,
		    "usage: scribble SEGMENT OWNER PEER SEED "
		    "[descs]\n");
		return 2;
	}
	if ((seg = tu_attach("scribble", argv[1])) == NULL)
		return 1;
	if (node_dirent_read(seg, (uint32_t)atoi(argv[2]), SHM_NET_LOCAL,
		(uint32_t)atoi(argv[3]), &de) != 0 ||
	    (mem = shmseg_at(seg, de.off, de.size)) == NULL) {
		fprintf(stderr, "scribble: no ring from %s into %s\n", argv[3],
		    argv[2]);
		shmseg_close(seg, 0);
		return 1;
	}
	srandom((unsigned int)atoi(argv[4]));
	n = sizeof(struct shm_ring_hdr);
	if (argc > 5 && strcmp(argv[5], "descs") == 0)
		n += (uint64_t)((struct shm_ring_hdr *)mem)->slots *
			    sizeof(struct shm_desc) <
			de.size - n ?
		    (uint64_t)((struct shm_ring_hdr *)mem)->slots *
			sizeof(struct shm_desc) :
		    de.size - n;
	for (i = 0; i < n; i++)
		mem[i] = (uint8_t)random();
	printf("%llu\n", (unsigned long long)de.off);
	shmseg_close(seg, 0);
	return 0;
}
