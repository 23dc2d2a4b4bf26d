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

#include "shmnet.h"

int
main(int argc, char **argv)
{
	struct shmseg_params p = { .size = 64 << 20, .max_nodes = 64,
	    .cast_slots = 256, .cast_slot_size = 2048, .conn_buckets = 64 };
	struct shm_dirent de;
	struct shmseg *seg;
	uint8_t *mem;
	uint64_t n, i;
	char err[512];

	if (argc < 5) {
		fprintf(stderr, "usage: scribble SEGMENT OWNER PEER SEED "
		    "[descs]\n");
		return 2;
	}
	p.path = argv[1];
	if (shmseg_open_ro(p.path, &seg, err, sizeof(err)) != 0) {
		fprintf(stderr, "scribble: %s\n", err);	/* never create */
		return 1;
	}
	shmseg_close(seg, 0);
	if (shmseg_open(&p, &seg, err, sizeof(err)) != 0) {
		fprintf(stderr, "scribble: %s\n", err);
		return 1;
	}
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
		    sizeof(struct shm_desc) < de.size - n ?
		    (uint64_t)((struct shm_ring_hdr *)mem)->slots *
		    sizeof(struct shm_desc) : de.size - n;
	for (i = 0; i < n; i++)
		mem[i] = (uint8_t)random();
	printf("%llu\n", (unsigned long long)de.off);
	shmseg_close(seg, 0);
	return 0;
}
