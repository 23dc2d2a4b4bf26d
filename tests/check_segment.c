/*
 * check_segment.c: segment creation and validation, heap, node table and
 * directory (libshmnet/segment.c, heap.c, node.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"

static void
setup(void)
{
	tu_mkdir();
}

static void
teardown(void)
{
	tu_rmdir();
}

START_TEST(test_create_and_attach)
{
	struct shmseg *a = tu_open(8 << 20, 16), *b = tu_open(4 << 20, 8);
	const struct shm_hdr *h = shmseg_hdr(b);

	/* the second opener gets the creator's geometry */
	ck_assert_uint_eq(shmseg_max_nodes(b), 16);
	ck_assert_uint_eq(h->seg_size, 8 << 20);
	ck_assert_uint_eq(h->version, SHM_VERSION);
	ck_assert_str_eq(h->cluster, "test");
	ck_assert_ptr_null(shmseg_node(b, 0));
	ck_assert_ptr_null(shmseg_node(b, 17));
	ck_assert_ptr_nonnull(shmseg_node(b, 16));
	ck_assert_ptr_null(shmseg_at(b, 8 << 20, 1));
	ck_assert_ptr_nonnull(shmseg_at(b, (8 << 20) - 1, 1));
	ck_assert_int_eq(shmseg_close(b, 1), 1); /* nobody alive */
	ck_assert_int_eq(access(tu_path, F_OK), -1);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_open_ro)
{
	struct shmseg *a = tu_open(8 << 20, 16), *r = NULL;
	char err[256];

	ck_assert_int_eq(shmseg_open_ro(tu_path, &r, err, sizeof(err)), 0);
	ck_assert(!shmseg_writable(r));
	ck_assert_uint_eq(shmseg_max_nodes(r), 16);
	shmseg_close(r, 1);
	ck_assert_int_eq(access(tu_path, F_OK), 0); /* ro never removes */
	shmseg_close(a, 0);
	ck_assert_int_eq(
	    shmseg_open_ro("/nonexistent/seg", &r, err, sizeof(err)), -ENOENT);
}
END_TEST

START_TEST(test_other_version_refused)
{
	struct shmseg *a = tu_open(8 << 20, 16), *b = NULL;
	struct shmseg_params p = tu_params(8 << 20, 16);
	char err[256];

	char want[64];

	((struct shm_hdr *)shmseg_hdr(a))->version = (SHM_VERSION_MAJOR + 1)
	    << 8;
	ck_assert_int_eq(shmseg_open(&p, &b, err, sizeof(err)),
	    -EPROTONOSUPPORT);
	snprintf(want, sizeof(want),
	    "layout version %d.0, this build speaks "
	    "%d.%d",
	    SHM_VERSION_MAJOR + 1, SHM_VERSION_MAJOR, SHM_VERSION_MINOR);
	ck_assert_ptr_nonnull(strstr(err, want));
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_corrupt_header_refused)
{
	struct shmseg *a = tu_open(8 << 20, 16), *b = NULL;
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(a);
	char err[256];

	h->heap_pages = 0xffffffff;
	ck_assert_int_eq(shmseg_open_ro(tu_path, &b, err, sizeof(err)),
	    -EBADMSG);
	h->heap_pages = 10;
	h->magic = 0x1122334455667788ull;
	ck_assert_int_eq(shmseg_open_ro(tu_path, &b, err, sizeof(err)),
	    -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "not a shmnet segment"));
	shmseg_close(a, 0);
}
END_TEST

/* A header field to scribble: where, and the value. */
struct scribble {
	size_t off;
	uint64_t value;
	int wide; /* 8 bytes, else 4 */
};

/* refused: the segment at tu_path does not attach while the field is
 * scribbled, and does again once it is put back */
static void
refused(struct shm_hdr *h, const struct scribble *w)
{
	uint8_t *p = (uint8_t *)h + w->off, saved[8];
	struct shmseg *b = NULL;
	char err[256];
	uint32_t v32 = (uint32_t)w->value;

	memcpy(saved, p, sizeof(saved));
	if (w->wide)
		memcpy(p, &w->value, 8);
	else
		memcpy(p, &v32, 4);
	ck_assert_msg(shmseg_open_ro(tu_path, &b, err, sizeof(err)) == -EBADMSG,
	    "offset %zu = %#llx attached", w->off,
	    (unsigned long long)w->value);
	memcpy(p, saved, sizeof(saved));
	ck_assert_int_eq(shmseg_open_ro(tu_path, &b, err, sizeof(err)), 0);
	shmseg_close(b, 0);
}

START_TEST(test_wrapped_offsets_refused)
{
	struct shmseg *a = tu_open(8 << 20, 16);
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(a);
	uint64_t dir_bytes = 16ull * SHM_NETS * 16 * sizeof(struct shm_dirent);
	struct scribble w[] = {
		/* dir_off + dir_bytes wraps to a small end */
		{ offsetof(struct shm_hdr, dir_off), 0 - dir_bytes + 4096, 1 },
		/* pagemap_off + heap_pages * 4 wraps: every bound against
		 * pagemap_off would be vacuous */
		{ offsetof(struct shm_hdr, pagemap_off), 0xfffffffffffff000ull,
		    1 },
		{ offsetof(struct shm_hdr, cast_off), 0xfffffffffffff000ull,
		    1 },
		{ offsetof(struct shm_hdr, mcast_off), 0xffffffffffff0000ull,
		    1 },
		{ offsetof(struct shm_hdr, conn_off), 0xfffffffffff00000ull,
		    1 },
		{ offsetof(struct shm_hdr, listen_off), 0xffffffffff000000ull,
		    1 },
		{ offsetof(struct shm_hdr, svc_off), 0xfffffffffffff000ull, 1 },
		{ offsetof(struct shm_hdr, backend_off), 0xfffffffffffff000ull,
		    1 },
		/* the backends on top of the services */
		{ offsetof(struct shm_hdr, backend_off), h->svc_off, 1 },
		{ offsetof(struct shm_hdr, heap_off), 0xfffffffffffff000ull,
		    1 },
		{ offsetof(struct shm_hdr, cast_size), 0xfffff000u, 0 },
		/* not whole pages: multicast rings after the first, which lie
		 * a size apart, would be misaligned */
		{ offsetof(struct shm_hdr, cast_size), h->cast_size[0] - 1, 0 },
		/* two tables on top of each other */
		{ offsetof(struct shm_hdr, conn_off), h->dir_off, 1 },
		{ offsetof(struct shm_hdr, max_nodes), 257, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		refused(h, &w[i]);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_lost_magic_with_live_node_refused)
{
	struct shmseg_params p = tu_params(8 << 20, 16);
	struct shmseg *a = tu_open(8 << 20, 16), *b = NULL;
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(a);
	uint32_t gen;
	char err[256];

	ck_assert_int_eq(node_claim(a, 1, &gen), 1);
	atomic_store(&h->magic, 0);
	ck_assert_int_eq(shmseg_open(&p, &b, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "lost its magic"));
	ck_assert_uint_eq(atomic_load(&shmseg_node(a, 1)->gen), gen);
	/* nobody alive: a creator that died half-way, made again */
	node_leave(a, 1);
	ck_assert_int_eq(shmseg_open(&p, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(atomic_load(&h->magic), SHM_MAGIC);
	shmseg_close(b, 0);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_heap_free_far_offset_refused)
{
	struct shmseg *a = tu_open(8 << 20, 16);
	uint64_t off, heap_off = shmseg_hdr(a)->heap_off;
	uint32_t used, total, used2;

	ck_assert_int_eq(heap_alloc(a, 4096, &off), 0);
	heap_usage(a, &used, &total);
	/* a page index that is off's once cut to 32 bits */
	ck_assert_int_eq(heap_free(a, off + (1ull << 32) * SHM_PAGE_SIZE, 4096),
	    -EINVAL);
	heap_usage(a, &used2, &total);
	ck_assert_uint_eq(used2, used);
	ck_assert_int_eq(heap_free(a, off, 4096), 0);
	ck_assert_uint_ge(off, heap_off);
	shmseg_close(a, 0);
}
END_TEST

/* lock_path: the lock file beside the test segment */
static const char *
lock_path(void)
{
	static char lock[PATH_MAX + 8];

	snprintf(lock, sizeof(lock), "%s.lock", tu_path);
	return lock;
}

/* made_by: a file at path as another user would have made it */
static void
made_by(const char *path, uid_t uid, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchown(fd, uid, (gid_t)-1), 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* open_fails: shmseg_open refuses, with rc and words in its message */
static void
open_fails(int rc, const char *words)
{
	struct shmseg_params p = tu_params(8 << 20, 8);
	struct shmseg *s = NULL;
	char err[512];

	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), rc);
	ck_assert_msg(strstr(err, words) != NULL, "%s", err);
}

START_TEST(test_squatted_files_refused)
{
	struct stat st;

	if (geteuid() != 0) {
		tu_skip(__func__, "needs root");
		return;
	}
	/* another user made the lock file, then the segment, first */
	made_by(lock_path(), 65534, 0666);
	open_fails(-EPERM, "belongs to uid 65534");
	unlink(lock_path());
	made_by(tu_path, 65534, 0600);
	open_fails(-EPERM, "belongs to uid 65534");
	unlink(tu_path);
	/* ours, but everybody's to write */
	made_by(tu_path, 0, 0666);
	open_fails(-EPERM, "every user");
	ck_assert_int_eq(stat(tu_path, &st), 0);
	ck_assert_uint_eq(st.st_size, 0); /* left as it was */
}
END_TEST

START_TEST(test_links_refused)
{
	char target[PATH_MAX + 16];
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/precious", tu_dir);
	ck_assert_int_ge(fd = open(target, O_RDWR | O_CREAT, 0644), 0);
	close(fd);
	ck_assert_int_eq(symlink(target, lock_path()), 0);
	open_fails(-ELOOP, "symbolic link");
	unlink(lock_path());
	ck_assert_int_eq(symlink(target, tu_path), 0);
	open_fails(-ELOOP, "symbolic link");
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644); /* not chmod'ed */
	ck_assert_uint_eq(st.st_size, 0);
}
END_TEST

START_TEST(test_init_lock_wait_bounded)
{
	struct flock fl = { .l_type = F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 1 };
	struct shmseg_params p = tu_params(8 << 20, 8);
	struct shmseg *s = tu_open(8 << 20, 8);
	char err[512];
	int fd;

	shmseg_close(s, 0);
	/* somebody who may read the lock file holds the init byte: no
	 * daemon takes a read lock, so there is no use waiting */
	ck_assert_int_ge(fd = open(lock_path(), O_RDONLY), 0);
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	p.wait_ms = 200;
	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), -ENOLCK);
	ck_assert_ptr_nonnull(strstr(err, "read lock"));
	close(fd);
	/* a daemon (a write lock) that keeps it: waited for, p.wait_ms */
	fl.l_type = F_WRLCK;
	ck_assert_int_ge(fd = open(lock_path(), O_RDWR), 0);
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(err, "held for too long"));
	close(fd);
	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), 0);
	shmseg_close(s, 1);
}
END_TEST

START_TEST(test_last_node_out_race)
{
	struct shmseg *a = tu_open(8 << 20, 8), *b = tu_open(8 << 20, 8), *c;
	uint32_t gen;

	/* b leaves last while a has opened but not yet claimed */
	ck_assert_int_eq(shmseg_close(b, 1), 1);
	ck_assert_int_eq(node_claim(a, 1, &gen), -ESTALE);
	/* a new cluster on the same path; a, left on the old files, must
	 * not remove its files */
	c = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(c, 1, &gen), 1);
	ck_assert_int_eq(shmseg_close(a, 1), 0);
	ck_assert_int_eq(access(tu_path, F_OK), 0);
	ck_assert_int_eq(access(lock_path(), F_OK), 0);
	node_leave(c, 1);
	ck_assert_int_eq(shmseg_close(c, 1), 1);
}
END_TEST

START_TEST(test_bad_params)
{
	struct shmseg_params p = { .path = tu_path,
		.cluster = "test",
		.size = 64 << 10,
		.max_nodes = 16,
		.cast_slots = 64,
		.cast_slot_size = 256,
		.conn_buckets = 64 };
	struct shmseg *s = NULL;
	char err[256];

	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too small"));
	ck_assert_int_eq(access(tu_path, F_OK), -1); /* nothing left */
	p.size = 8 << 20;
	p.max_nodes = 1000;
	ck_assert_int_eq(shmseg_open(&p, &s, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "max-nodes 1000 out of range"));
}
END_TEST

START_TEST(test_claim_and_in_use)
{
	struct shmseg *a = tu_open(8 << 20, 16), *b = tu_open(8 << 20, 16);
	uint32_t ga, gb;

	ck_assert_int_eq(node_claim(a, 3, &ga), 3);
	ck_assert_int_eq(node_claim(b, 3, &gb), -EADDRINUSE);
	ck_assert_int_eq(node_claim(b, 17, &gb), -ERANGE);
	ck_assert_int_eq(node_claim(b, 0, &gb), 1); /* auto: lowest free */
	node_publish(a, 3);
	ck_assert(node_is_up(b, 3));
	ck_assert(ofd_alive(b, 3));
	ck_assert(!ofd_alive(b, 4));
	shmseg_close(b, 0);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_death_reap_and_new_generation)
{
	struct shmseg *a = tu_open(8 << 20, 16), *b = tu_open(8 << 20, 16);
	struct shm_dirent de;
	uint32_t ga, gb, gb2;
	uint32_t used0, used1, total;

	ck_assert_int_eq(node_claim(a, 1, &ga), 1);
	ck_assert_int_eq(node_claim(b, 2, &gb), 2);
	node_publish(a, 1);
	node_publish(b, 2);
	heap_usage(a, &used0, &total);
	ck_assert_int_eq(node_dirent_alloc(b, 2, 0, 1, ga, 64, 1024), 0);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de), 0);
	ck_assert_uint_eq(de.peer_gen, ga);
	heap_usage(a, &used1, &total);
	ck_assert_uint_gt(used1, used0);
	/* b dies: its handle (and so its OFD lock) goes away */
	shmseg_close(b, 0);
	ck_assert(!ofd_alive(a, 2));
	ck_assert(!node_is_up(a, 2));
	ck_assert_int_eq(node_reap(a, 1, 2), 1);
	ck_assert_int_eq(node_reap(a, 1, 2), 0); /* idempotent */
	ck_assert_uint_eq(atomic_load(&shmseg_node(a, 2)->state),
	    SHM_NODE_DOWN);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de), -ENOENT);
	/* restarted with the same id: a new generation */
	b = tu_open(8 << 20, 16);
	ck_assert_int_eq(node_claim(b, 2, &gb2), 2);
	ck_assert_uint_eq(gb2, gb + 1);
	shmseg_close(b, 0);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_leave_frees_directory)
{
	struct shmseg *a = tu_open(8 << 20, 16);
	struct shm_dirent de;
	uint32_t g, used0, used1, total;

	heap_usage(a, &used0, &total);
	ck_assert_int_eq(node_claim(a, 5, &g), 5);
	node_publish(a, 5);
	ck_assert_int_eq(node_dirent_alloc(a, 5, 0, 6, 1, 64, 1024), 0);
	ck_assert_int_eq(node_dirent_alloc(a, 5, 0, 5, 1, 64, 1024), -EINVAL);
	node_leave(a, 5);
	ck_assert_int_eq(node_dirent_read(a, 5, 0, 6, &de), -ENOENT);
	heap_usage(a, &used1, &total);
	ck_assert_uint_eq(used1, used0 + 17); /* quarantined, still held */
	ck_assert(!ofd_alive(a, 5));
	shmseg_close(a, 1);
	ck_assert_int_eq(access(tu_path, F_OK), -1);
}
END_TEST

START_TEST(test_heap_quarantine_and_exhaustion)
{
	struct shmseg *a = tu_open(4 << 20, 4);
	uint64_t o1, o2, o3;
	uint32_t g;
	int n = 0;

	ck_assert_int_eq(node_claim(a, 1, &g), 1);
	ck_assert_int_eq(heap_alloc(a, 10000, &o1), 0);
	ck_assert_int_eq(heap_free(a, o1, 10000), 0);
	ck_assert_int_eq(heap_free(a, o1, 10000), -EINVAL); /* twice */
	ck_assert_int_eq(heap_free(a, o1 + 1, 10000), -EINVAL);
	ck_assert_int_eq(heap_alloc(a, 10000, &o2), 0);
	ck_assert_uint_ne(o1, o2); /* quarantined pages skipped */
	while (heap_alloc(a, 1 << 20, &o3) == 0)
		n++;
	ck_assert_int_eq(heap_alloc(a, 1 << 20, &o3), -ENOMEM);
	ck_assert_int_ge(n, 1);
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_dirent_ring_roundtrip)
{
	struct shmseg *a = tu_open(8 << 20, 16);
	struct shm_dirent de;
	struct ring_tx tx;
	struct ring_rx rx;
	struct ring_slot s;
	uint8_t frame[64] = { 0x02 };
	uint32_t g;
	void *mem;

	ck_assert_int_eq(node_claim(a, 2, &g), 2);
	ck_assert_int_eq(node_dirent_alloc(a, 2, 0, 1, 9, 64, 1024), 0);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de), 0);
	mem = shmseg_at(a, de.off, de.size);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, de.size, de.key, 1, 2), 0);
	ck_assert_int_eq(ring_rx_attach(&rx, mem, de.size, de.key, 1, 2), 0);
	ck_assert_int_eq(ring_tx_push(&tx, NULL, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ring_rx_peek(&rx, &s), 1);
	/* a replacement ring gets a new key: the old reference is stale */
	ck_assert_int_eq(node_dirent_alloc(a, 2, 0, 1, 9, 64, 1024), 0);
	ck_assert_int_eq(ring_tx_attach(&tx, mem, de.size, de.key, 1, 2),
	    -ENETDOWN);
	shmseg_close(a, 0);
}
END_TEST

/* tu_blocks: KiB the segment file holds. */
static long
tu_kib(void)
{
	struct stat st;

	ck_assert_int_eq(stat(tu_path, &st), 0);
	return (long)st.st_blocks / 2;
}

START_TEST(test_dirent_replace_and_drain)
{
	struct shmseg *a = tu_open(8 << 20, 16);
	struct shm_dirent de, de2;
	struct ring_tx tx, tx2;
	struct ring_rx rx;
	struct ring_slot s;
	uint8_t frame[64] = { 0x02 };
	uint32_t g, used0, used, total;
	long kib0;

	ck_assert_int_eq(node_claim(a, 2, &g), 2);
	heap_usage(a, &used0, &total);
	kib0 = tu_kib();
	ck_assert_int_eq(node_dirent_alloc(a, 2, 0, 1, 9, 64, 256), 0);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de), 0);
	ck_assert_uint_eq(de.old_off, 0);
	ck_assert_int_eq(ring_tx_attach(&tx, shmseg_at(a, de.off, de.size),
			     de.size, de.key, 1, 2),
	    0);
	ck_assert_int_eq(ring_rx_attach(&rx, shmseg_at(a, de.off, de.size),
			     de.size, de.key, 1, 2),
	    0);
	ck_assert_int_eq(ring_tx_push(&tx, NULL, frame, sizeof(frame)), 0);
	ring_tx_ask_grow(&tx, 100);
	ring_tx_ask_grow(&tx, 50); /* the larger request stays */
	ck_assert_uint_eq(ring_grow_req(&rx.v), 100);

	/* replace: the current ring becomes the old one, same generation */
	ck_assert_int_eq(node_dirent_replace(a, 2, 0, 1, 1024, 256), 0);
	ck_assert_int_eq(node_dirent_replace(a, 2, 0, 1, 64, 256), -EBUSY);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de2), 0);
	ck_assert_uint_eq(de2.old_off, de.off);
	ck_assert_uint_eq(de2.old_key, de.key);
	ck_assert_uint_eq(de2.peer_gen, 9);
	ck_assert_uint_ne(de2.key, de.key);
	ck_assert_int_eq(ring_tx_attach(&tx2, shmseg_at(a, de2.off, de2.size),
			     de2.size, de2.key, 1, 2),
	    0);
	ck_assert_uint_eq(tx2.v.slots, 1024);

	/* the old ring is retired only once moved and read to its end */
	ck_assert_int_eq(ring_rx_retired(&rx), 0);
	ring_tx_moved(&tx);
	ck_assert_int_eq(ring_rx_retired(&rx), 0); /* a frame unread */
	ck_assert_int_eq(ring_rx_peek(&rx, &s), 1);
	ring_rx_consume(&rx, &s);
	ring_rx_publish(&rx);
	ck_assert_int_eq(ring_rx_retired(&rx), 1);

	ck_assert_int_eq(node_dirent_drop_old(a, 2, 0, 1, de.key + 2), -ENOENT);
	ck_assert_int_eq(node_dirent_drop_old(a, 2, 0, 1, de.key), 0);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de2), 0);
	ck_assert_uint_eq(de2.old_off, 0);
	ck_assert_int_eq(ring_rx_attach(&rx, shmseg_at(a, de.off, de.size),
			     de.size, de.key, 1, 2),
	    -ENETDOWN); /* freed: marked down */

	/* clearing a dirent mid-replacement frees both rings */
	ck_assert_int_eq(node_dirent_replace(a, 2, 0, 1, 64, 256), 0);
	node_dirent_clear(a, 2, 0, 1);
	ck_assert_int_eq(node_dirent_read(a, 2, 0, 1, &de2), -ENOENT);
	ck_assert_int_gt(tu_kib(), kib0);
	usleep((SHM_QUARANTINE_MS + 100) * 1000);
	ck_assert_uint_ge(heap_reclaim(a), 3);
	heap_usage(a, &used, &total);
	ck_assert_uint_eq(used, used0);
	ck_assert_int_eq(tu_kib(), kib0); /* memory given back */
	shmseg_close(a, 0);
}
END_TEST

START_TEST(test_mode_and_group)
{
	struct shmseg_params p = tu_params(8 << 20, 8);
	struct shmseg *s = NULL;
	char err[256], lock[PATH_MAX + 8];
	struct stat st;

	p.mode = 0640;
	/* root may give it any group, another user one of its own */
	p.gid = geteuid() == 0 ? 4242 : (int64_t)getegid();
	umask(077); /* the mode is set explicitly, not masked */
	ck_assert_msg(shmseg_open(&p, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(tu_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_uint_eq(st.st_gid, (gid_t)p.gid);
	snprintf(lock, sizeof(lock), "%s.lock", tu_path);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600); /* the daemons' alone */
	shmseg_close(s, 1);
}
END_TEST

static Suite *
segment_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_and_attach);
	tcase_add_test(tc, test_open_ro);
	tcase_add_test(tc, test_other_version_refused);
	tcase_add_test(tc, test_corrupt_header_refused);
	tcase_add_test(tc, test_wrapped_offsets_refused);
	tcase_add_test(tc, test_lost_magic_with_live_node_refused);
	tcase_add_test(tc, test_heap_free_far_offset_refused);
	tcase_add_test(tc, test_squatted_files_refused);
	tcase_add_test(tc, test_links_refused);
	tcase_add_test(tc, test_init_lock_wait_bounded);
	tcase_add_test(tc, test_last_node_out_race);
	tcase_add_test(tc, test_bad_params);
	tcase_add_test(tc, test_claim_and_in_use);
	tcase_add_test(tc, test_death_reap_and_new_generation);
	tcase_add_test(tc, test_leave_frees_directory);
	tcase_add_test(tc, test_heap_quarantine_and_exhaustion);
	tcase_add_test(tc, test_dirent_ring_roundtrip);
	tcase_add_test(tc, test_dirent_replace_and_drain);
	tcase_add_test(tc, test_mode_and_group);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(segment_suite());
}
