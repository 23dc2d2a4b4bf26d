/*
 * hostile: a segment writer that writes random bytes at random places of
 * a live cluster's segment, as a buggy or malicious peer with write
 * access would.
 *
 *   hostile SEGMENT SEED BURSTS SECONDS
 *   hostile SEGMENT SEED header
 *
 * The first form writes BURSTS bursts spread evenly over SECONDS.  Each
 * burst writes 1 to 4 runs of 1 to 16 random bytes, each into a region
 * picked at random: the header (all but its magic and geometry), the
 * node table, the directory, the broadcast and multicast rings, the
 * connection table, the listener tables, the round-robin counters, the
 * heap's page map, the live pair rings, or anywhere in the file.  Within
 * the node table, the directory, the listener tables, the page map and
 * the rings, most runs land on what the live nodes use (found again at
 * every burst, as a peer would), the rest anywhere in the region.  The
 * header's magic and geometry are spared: a daemon that finds them
 * changed leaves the cluster, which the second form tests: it overwrites
 * the magic and the geometry with random bytes, once.
 *
 * The seed is printed first, and every run written after it (burst,
 * region, offset, length), so that a failure can be replayed with the
 * same seed against the same layout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmnet.h"

/* The header's bytes that hold its magic and geometry. */
static const struct {
	size_t off, len;
} geometry[] = {
	{ 0, offsetof(struct shm_hdr, created_ns) },
	{ offsetof(struct shm_hdr, conn_off),
	    offsetof(struct shm_hdr, global_addr4) -
		offsetof(struct shm_hdr, conn_off) },
	{ offsetof(struct shm_hdr, listen_off),
	    offsetof(struct shm_hdr, conn_full) -
		offsetof(struct shm_hdr, listen_off) },
	{ offsetof(struct shm_hdr, mcast_off),
	    offsetof(struct shm_hdr, conn_live) -
		offsetof(struct shm_hdr, mcast_off) },
	{ offsetof(struct shm_hdr, backend_off), sizeof(uint64_t) },
};
#define NGEOMETRY (sizeof(geometry) / sizeof(geometry[0]))

enum region {
	R_HDR,
	R_NODE,
	R_DIR,
	R_CAST,
	R_CONN,
	R_LISTEN,
	R_SVC,
	R_BACKEND,
	R_PAGEMAP,
	R_RING,
	R_ANY,
	R_COUNT
};
static const char *const region_name[R_COUNT] = { "header", "nodes",
	"directory", "cast", "conntab", "listeners", "services", "backends",
	"pagemap", "ring", "anywhere" };

struct hostile {
	uint8_t *mem;     /* the whole file, read-write */
	uint64_t size;    /* of the file */
	struct shm_hdr h; /* the header as it was at the start */
	uint32_t live[SHM_NODES_MAX];
	uint32_t nlive;
	uint64_t ring_off[SHM_NODES_MAX * 4];
	uint64_t ring_len[SHM_NODES_MAX * 4];
	uint32_t nrings;
};

/* rnd: a random number below n (n > 0). */
static uint64_t
rnd(uint64_t n)
{
	uint64_t r = ((uint64_t)random() << 31) ^ (uint64_t)random();

	return r % n;
}

/* in_geometry: does header byte i hold the magic or geometry? */
static int
in_geometry(uint64_t i)
{
	size_t g;

	for (g = 0; g < NGEOMETRY; g++)
		if (i >= geometry[g].off &&
		    i < geometry[g].off + geometry[g].len)
			return 1;
	return 0;
}

/* clip: [off, off + *len) within the file; 0 if nothing is left. */
static int
clip(const struct hostile *x, uint64_t off, uint64_t *len)
{
	if (off >= x->size)
		return 0;
	if (*len > x->size - off)
		*len = x->size - off;
	return *len > 0;
}

/* find_rings: the live pair rings, from the directory as it is now
 * (read as a peer reads it: every value checked against the heap). */
static void
find_rings(struct hostile *x)
{
	uint64_t heap_end = x->h.heap_off +
	    (uint64_t)x->h.heap_pages * SHM_PAGE_SIZE;
	const struct shm_dirent *d;
	uint32_t a, b, net;
	uint64_t i;

	x->nrings = 0;
	for (a = 0; a < x->nlive; a++)
		for (net = 0; net < SHM_NETS; net++)
			for (b = 0; b < x->nlive; b++) {
				i = ((uint64_t)(x->live[a] - 1) * SHM_NETS +
					net) *
					x->h.max_nodes +
				    (x->live[b] - 1);
				d = (const struct shm_dirent *)(x->mem +
					x->h.dir_off) +
				    i;
				if (d->off < x->h.heap_off ||
				    d->off >= heap_end ||
				    d->size < sizeof(struct shm_ring_hdr) ||
				    d->size > heap_end - d->off ||
				    x->nrings >= SHM_NODES_MAX * 4)
					continue;
				x->ring_off[x->nrings] = d->off;
				x->ring_len[x->nrings++] = d->size;
			}
}

/* pick: a place in region r; 0 if the region is empty. */
static int
pick(struct hostile *x, enum region r, uint64_t *off, uint64_t *len)
{
	const struct shm_hdr *h = &x->h;
	uint64_t base, n, k, first;
	uint32_t id;

	*len = 1 + rnd(16);
	switch (r) {
	case R_HDR:
		do
			*off = rnd(SHM_HDR_SIZE);
		while (in_geometry(*off));
		for (n = 0; n < *len; n++)
			if (in_geometry(*off + n) || *off + n >= SHM_HDR_SIZE)
				break;
		*len = n;
		return n > 0;
	case R_NODE:
		base = h->node_off;
		if (x->nlive > 0 && rnd(4) != 0) {
			id = x->live[rnd(x->nlive)];
			*off = base +
			    (uint64_t)(id - 1) * sizeof(struct shm_node) +
			    rnd(sizeof(struct shm_node));
		} else
			*off = base +
			    rnd((uint64_t)h->max_nodes *
				sizeof(struct shm_node));
		break;
	case R_DIR:
		base = h->dir_off;
		if (x->nlive > 0 && rnd(4) != 0)
			k = ((uint64_t)(x->live[rnd(x->nlive)] - 1) * SHM_NETS +
				rnd(SHM_NETS)) *
				h->max_nodes +
			    (x->live[rnd(x->nlive)] - 1);
		else
			k = rnd((uint64_t)h->max_nodes * SHM_NETS *
			    h->max_nodes);
		*off = base + k * sizeof(struct shm_dirent) +
		    rnd(sizeof(struct shm_dirent));
		break;
	case R_CAST:
		/* broadcast or multicast ring: mostly header and descriptors */
		k = rnd(SHM_NETS);
		n = 1 + h->mcast_rings[k];
		first = rnd(n);
		base = first == 0 ?
		    h->cast_off[k] :
		    h->mcast_off[k] + (first - 1) * (uint64_t)h->cast_size[k];
		*off = base + rnd(rnd(4) != 0 ? 4096 : h->cast_size[k]);
		break;
	case R_CONN:
		*off = h->conn_off +
		    rnd((uint64_t)h->conn_buckets *
			sizeof(struct shm_conn_bucket));
		break;
	case R_LISTEN:
		base = h->listen_off;
		if (x->nlive > 0 && rnd(4) != 0)
			*off = base +
			    (uint64_t)(x->live[rnd(x->nlive)] - 1) *
				sizeof(struct shm_listen_table) +
			    rnd(256);
		else
			*off = base +
			    rnd((uint64_t)h->max_nodes *
				sizeof(struct shm_listen_table));
		break;
	case R_SVC:
		*off = h->svc_off + rnd(SHM_SVC_SLOTS * sizeof(struct shm_svc));
		break;
	case R_BACKEND:
		*off = h->backend_off +
		    rnd((uint64_t)h->max_nodes * sizeof(struct shm_backend));
		break;
	case R_PAGEMAP:
		base = h->pagemap_off;
		find_rings(x);
		if (x->nrings > 0 && rnd(4) != 0) {
			k = rnd(x->nrings);
			first = (x->ring_off[k] - h->heap_off) / SHM_PAGE_SIZE;
			n = (x->ring_len[k] + SHM_PAGE_SIZE - 1) /
			    SHM_PAGE_SIZE;
			*off = base + (first + rnd(n)) * sizeof(uint32_t);
		} else
			*off = base +
			    rnd((uint64_t)h->heap_pages * sizeof(uint32_t));
		break;
	case R_RING:
		find_rings(x);
		if (x->nrings == 0)
			return 0;
		k = rnd(x->nrings);
		/* mostly the header, else the descriptors, else anywhere */
		n = rnd(4);
		*off = x->ring_off[k] +
		    rnd(n < 2      ? sizeof(struct shm_ring_hdr) :
			    n == 2 ? (x->ring_len[k] < 4096 ? x->ring_len[k] :
							      4096) :
				     x->ring_len[k]);
		break;
	case R_ANY:
		do
			*off = rnd(x->size);
		while (*off < SHM_HDR_SIZE && in_geometry(*off));
		if (*off < SHM_HDR_SIZE)
			return pick(x, R_HDR, off, len);
		break;
	default:
		return 0;
	}
	return clip(x, *off, len);
}

/* burst: 1 to 4 runs of random bytes. */
static void
burst(struct hostile *x, int b)
{
	uint64_t off, len, i;
	enum region r;
	int runs = 1 + (int)rnd(4), j;

	for (j = 0; j < runs; j++) {
		r = (enum region)rnd(R_COUNT);
		if (!pick(x, r, &off, &len))
			continue;
		for (i = 0; i < len; i++)
			x->mem[off + i] = (uint8_t)random();
		printf("burst %d: %s %#llx +%llu\n", b, region_name[r],
		    (unsigned long long)off, (unsigned long long)len);
	}
	fflush(stdout);
}

/* destroy_header: random magic and geometry; the magic surely wrong. */
static void
destroy_header(struct hostile *x)
{
	size_t g, i;

	for (g = 0; g < NGEOMETRY; g++)
		for (i = 0; i < geometry[g].len; i++)
			x->mem[geometry[g].off + i] = (uint8_t)random();
	if (memcmp(x->mem, &x->h.magic, sizeof(x->h.magic)) == 0)
		x->mem[0] ^= 0xff;
	printf("header: magic and geometry overwritten\n");
}

/* hostile_open: map the file read-write and note its geometry and live
 * nodes while it is intact. */
static int
hostile_open(struct hostile *x, const char *path)
{
	struct shmseg *ro;
	struct stat st;
	char err[512];
	uint32_t id;
	int fd;

	if (shmseg_open_ro(path, &ro, err, sizeof(err)) != 0) {
		fprintf(stderr, "hostile: %s\n", err);
		return -1;
	}
	memcpy(&x->h, shmseg_hdr(ro), sizeof(x->h));
	for (id = 1; id <= x->h.max_nodes; id++)
		if (node_is_up(ro, id))
			x->live[x->nlive++] = id;
	shmseg_close(ro, 0);
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "hostile: %s: %s\n", path, strerror(errno));
		return -1;
	}
	x->size = (uint64_t)st.st_size;
	x->mem = mmap(NULL, x->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (x->mem == MAP_FAILED) {
		fprintf(stderr, "hostile: mmap %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct hostile x;
	struct timespec gap;
	unsigned int seed;
	long bursts, b;
	double secs;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
		    "usage: hostile SEGMENT SEED BURSTS SECONDS\n"
		    "       hostile SEGMENT SEED header\n");
		return 2;
	}
	seed = (unsigned int)strtoul(argv[2], NULL, 0);
	if (hostile_open(&x, argv[1]) != 0)
		return 1;
	srandom(seed);
	printf("seed %u, %u live nodes, segment of %llu bytes\n", seed, x.nlive,
	    (unsigned long long)x.size);
	if (argc == 4) {
		if (strcmp(argv[3], "header") != 0)
			return 2;
		destroy_header(&x);
		return 0;
	}
	bursts = strtol(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	if (bursts < 1 || secs < 0)
		return 2;
	secs /= (double)bursts;
	gap.tv_sec = (time_t)secs;
	gap.tv_nsec = (long)((secs - (double)gap.tv_sec) * 1e9);
	for (b = 1; b <= bursts; b++) {
		burst(&x, (int)b);
		if (b < bursts)
			nanosleep(&gap, NULL);
	}
	return 0;
}
