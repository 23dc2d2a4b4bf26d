/*
 * attach.h: the test helpers that play a peer (castlock, scribble,
 * stopwake) map a live cluster's segment read-write as a daemon does.
 */
#ifndef SHMNET_TESTS_ATTACH_H
#define SHMNET_TESTS_ATTACH_H

#include <stdio.h>

#include "shmnet.h"

/* tu_attach: the existing segment at path, mapped read-write; never
 * creates one.  NULL, with a message naming `who` on stderr, if there is
 * no such segment or it does not open. */
static inline struct shmseg *
tu_attach(const char *who, const char *path)
{
	struct shmseg_params p = { .size = 64 << 20,
		.max_nodes = 64,
		.cast_slots = 256,
		.cast_slot_size = 2048,
		.conn_buckets = 64,
		.path = path };
	struct shmseg *seg;
	char err[512];

	if (shmseg_open_ro(path, &seg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", who, err);
		return NULL;
	}
	shmseg_close(seg, 0);
	if (shmseg_open(&p, &seg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", who, err);
		return NULL;
	}
	return seg;
}

#endif
