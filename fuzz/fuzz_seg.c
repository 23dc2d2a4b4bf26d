/*
 * fuzz_seg: the segment header validator and the attach and claim paths
 * over a scribbled segment.  A valid segment is made once; for each
 * input its fixed part is put back as made, then the input is written
 * over its first 64 KiB (header, node table, directory, the broadcast
 * rings) as (offset, byte) triples, whole 64-bit header fields too.  Whatever
 * shmseg_open_ro accepts must describe tables inside the file (checked
 * here: an accessor pointing outside aborts), and the read-write attach,
 * a node claim (which frees the rings the scribbled directory names)
 * and a leave must stay inside the mapping (ASan, and SEGV otherwise).
 */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmnet.h"

#define SEG_SIZE     (4u << 20)
#define SEG_NODES    4
#define SEG_SCRIBBLE (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char seg_path[PATH_MAX], lock_path[PATH_MAX + 8];
static uint8_t *pristine; /* the fixed part as made */
static uint64_t fixed;    /* its bytes: up to the heap */

/* seg_params: the segment every input starts from. */
static struct shmseg_params
seg_params(void)
{
	struct shmseg_params p = { .path = seg_path,
		.cluster = "fuzz",
		.size = SEG_SIZE,
		.max_nodes = SEG_NODES,
		.cast_slots = 16,
		.cast_slot_size = 256,
		.conn_buckets = 16,
		.mcast_rings = { 1, 1 },
		.global_addr4 = 0x0100000a };

	return p;
}

/* seg_remove: the fuzzer's files go when it ends. */
static void
seg_remove(void)
{
	unlink(seg_path);
	unlink(lock_path);
}

/* seg_make: the valid segment, once, in $TMPDIR (tools/fuzz's scratch
 * directory, removed even after a crash); its fixed part kept, so that
 * every input starts from the same segment. */
static void
seg_make(void)
{
	const char *dir = getenv("TMPDIR");
	struct shmseg_params p;
	struct shmseg *s;
	char err[256];
	int fd;

	snprintf(seg_path, sizeof(seg_path), "%s/shmnet-fuzz-seg-%d",
	    dir != NULL && *dir != '\0' ? dir : "/tmp", (int)getpid());
	snprintf(lock_path, sizeof(lock_path), "%s.lock", seg_path);
	atexit(seg_remove);
	p = seg_params();
	if (shmseg_open(&p, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_seg: %s\n", err);
		abort();
	}
	fixed = shmseg_hdr(s)->heap_off;
	shmseg_close(s, 0);
	if (fixed < SEG_SCRIBBLE || (pristine = malloc(fixed)) == NULL ||
	    (fd = open(seg_path, O_RDONLY)) == -1 ||
	    pread(fd, pristine, fixed, 0) != (ssize_t)fixed)
		abort();
	close(fd);
}

/* inside: [p, p + len) lies in the segment at base, or abort. */
static void
inside(const struct shmseg *s, const void *p, uint64_t len)
{
	const uint8_t *base = (const uint8_t *)shmseg_hdr(s);

	if (p == NULL)
		return;
	if ((const uint8_t *)p < base ||
	    (const uint8_t *)p + len > base + SEG_SIZE)
		abort();
}

/* check_tables: every table an accepted header describes is inside the
 * file, at both ends. */
static void
check_tables(struct shmseg *s)
{
	uint32_t max = shmseg_max_nodes(s), net, i, size, used, total;
	void *m;

	inside(s, shmseg_node(s, 1), sizeof(struct shm_node));
	inside(s, shmseg_node(s, max), sizeof(struct shm_node));
	inside(s, shmseg_dirent(s, 1, 0, 1), sizeof(struct shm_dirent));
	inside(s, shmseg_dirent(s, max, SHM_NETS - 1, max),
	    sizeof(struct shm_dirent));
	inside(s, shmseg_conn_bucket(s, 0), sizeof(struct shm_conn_bucket));
	inside(s, shmseg_conn_bucket(s, shmseg_conn_buckets(s) - 1),
	    sizeof(struct shm_conn_bucket));
	inside(s, shmseg_listen(s, 1), sizeof(struct shm_listen_table));
	inside(s, shmseg_listen(s, max), sizeof(struct shm_listen_table));
	inside(s, shmseg_svc(s), SHM_SVC_SLOTS * sizeof(struct shm_svc));
	for (net = 0; net < SHM_NETS; net++) {
		if ((m = shmseg_cast(s, net, &size)) != NULL)
			inside(s, m, size);
		for (i = 0; i < shmseg_mcast_count(s, net); i++)
			if ((m = shmseg_mcast(s, net, i, &size)) != NULL)
				inside(s, m, size);
	}
	heap_usage(s, &used, &total); /* reads the whole page map */
}

/* scribble: the input over the segment's first bytes, as (offset, byte)
 * triples; an offset's low bits are spread over whole 64-bit fields */
static void
scribble(const uint8_t *data, size_t size)
{
	uint8_t *mem;
	size_t i;
	uint32_t at;
	int fd;

	if ((fd = open(seg_path, O_RDWR)) == -1)
		abort();
	mem = mmap(NULL, fixed, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED)
		abort();
	memcpy(mem, pristine, fixed);
	for (i = 0; i + 2 < size; i += 3) {
		at = ((uint32_t)data[i] | ((uint32_t)data[i + 1] << 8)) %
		    SEG_SCRIBBLE;
		if (at < SHM_HDR_SIZE && (data[i + 2] & 0x80))
			memset(mem + (at & ~7u), data[i + 2] & 0x7f ? 0xff : 0,
			    8 - (data[i + 2] & 7)); /* wide values */
		else
			mem[at] = data[i + 2];
	}
	munmap(mem, fixed);
}

/* attach_and_claim: a daemon's attach over the scribbled segment. */
static void
attach_and_claim(void)
{
	struct shmseg_params p = seg_params();
	struct shmseg *s;
	uint32_t gen;
	char err[256];
	int id;

	p.wait_ms = 100;
	if (shmseg_open(&p, &s, err, sizeof(err)) != 0)
		return;
	check_tables(s);
	if ((id = node_claim(s, 0, &gen)) > 0) {
		node_publish(s, (uint32_t)id);
		node_leave(s, (uint32_t)id);
	}
	shmseg_close(s, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shmseg *s;
	char err[256];

	if (pristine == NULL)
		seg_make();
	scribble(data, size);
	if (shmseg_open_ro(seg_path, &s, err, sizeof(err)) == 0) {
		check_tables(s);
		shmseg_close(s, 0);
	}
	attach_and_claim();
	return 0;
}
