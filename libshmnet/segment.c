/*
 * segment.c: create, validate, map and remove a cluster's segment.
 *
 * The segment is a file (by default on /dev/shm) mapped MAP_SHARED by every
 * node.  Creation and removal are serialised by byte 0 of the lock file
 * beside it (ofd.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "shmnet_private.h"

/* seg_err: format a one-line error into err and return rc. */
int
seg_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* seg_layout: place the tables for the given parameters. */
static int
seg_layout(struct shmseg *s, const struct shmseg_params *p, char *err,
    size_t errlen)
{
	uint64_t dir_bytes, cast_bytes, pm, pages, off;
	uint32_t n;

	if (p->max_nodes < SHM_NODES_MIN || p->max_nodes > SHM_NODES_MAX)
		return seg_err(err, errlen, -EINVAL,
		    "max-nodes %u out of range (%d-%d)", p->max_nodes,
		    SHM_NODES_MIN, SHM_NODES_MAX);
	if (!is_pow2(p->cast_slots) || !is_pow2(p->cast_slot_size) ||
	    p->cast_slots < 16 || p->cast_slot_size < 256 ||
	    ring_bytes(p->cast_slots, p->cast_slot_size) > (1u << 30))
		return seg_err(err, errlen, -EINVAL,
		    "broadcast ring %u x %u bytes is not a valid geometry",
		    p->cast_slots, p->cast_slot_size);
	s->max_nodes = p->max_nodes;
	s->node_off = SHM_HDR_SIZE;
	s->dir_off = align_up(s->node_off +
		(uint64_t)p->max_nodes * sizeof(struct shm_node),
	    SHM_PAGE_SIZE);
	dir_bytes = (uint64_t)p->max_nodes * SHM_NETS * p->max_nodes *
	    sizeof(struct shm_dirent);
	cast_bytes = align_up(ring_bytes(p->cast_slots, p->cast_slot_size),
	    SHM_PAGE_SIZE);
	off = align_up(s->dir_off + dir_bytes, SHM_PAGE_SIZE);
	for (n = 0; n < SHM_NETS; n++) {
		s->cast_off[n] = off;
		s->cast_size[n] = (uint32_t)cast_bytes;
		off += cast_bytes;
	}
	for (n = 0; n < SHM_NETS; n++) {
		if (p->mcast_rings[n] > SHM_MCAST_MAX)
			return seg_err(err, errlen, -EINVAL,
			    "multicast-rings "
			    "%u out of range (0-%d)",
			    p->mcast_rings[n], SHM_MCAST_MAX);
		s->mcast_off[n] = off;
		s->mcast_rings[n] = p->mcast_rings[n];
		off += cast_bytes * p->mcast_rings[n];
	}
	if (!is_pow2(p->conn_buckets) || p->conn_buckets < 16 ||
	    p->conn_buckets > (1u << 24))
		return seg_err(err, errlen, -EINVAL,
		    "connection table of %u "
		    "buckets is not a power of two in 16-16777216",
		    p->conn_buckets);
	s->conn_buckets = p->conn_buckets;
	s->conn_off = off;
	off += align_up((uint64_t)p->conn_buckets *
		sizeof(struct shm_conn_bucket),
	    SHM_PAGE_SIZE);
	s->listen_off = off;
	off += align_up((uint64_t)p->max_nodes *
		sizeof(struct shm_listen_table),
	    SHM_PAGE_SIZE);
	s->svc_off = off;
	off += align_up(SHM_SVC_SLOTS * sizeof(struct shm_svc), SHM_PAGE_SIZE);
	s->backend_off = off;
	off += align_up((uint64_t)p->max_nodes * sizeof(struct shm_backend),
	    SHM_PAGE_SIZE);
	pm = off;
	if (p->size <= pm + 64 * SHM_PAGE_SIZE)
		return seg_err(err, errlen, -EINVAL,
		    "segment-size %llu too small for %u nodes (at least %llu)",
		    (unsigned long long)p->size, p->max_nodes,
		    (unsigned long long)(pm + 128 * SHM_PAGE_SIZE));
	pages = (p->size - pm) / (SHM_PAGE_SIZE + sizeof(uint32_t));
	s->pagemap_off = pm;
	s->heap_off = align_up(pm + pages * sizeof(uint32_t), SHM_PAGE_SIZE);
	while (s->heap_off + pages * SHM_PAGE_SIZE > p->size)
		pages--;
	if (pages > UINT32_MAX)
		return seg_err(err, errlen, -EINVAL, "segment-size too large");
	s->heap_pages = (uint32_t)pages;
	s->size = p->size;
	return 0;
}

/* seg_region: a table [off, off + len) starts at or after *end, aligned
 * to align, and ends within limit (overflow-safe: every value may come
 * from a scribbled header); *end moves past it. */
static int
seg_region(uint64_t off, uint64_t len, uint64_t align, uint64_t *end,
    uint64_t limit)
{
	if (off % align != 0 || off < *end || off > limit || len > limit - off)
		return -1;
	*end = off + len;
	return 0;
}

/* seg_regions: the tables of a validated geometry lie in the order the
 * creator lays them out (seg_layout), none overlapping the next, all
 * within the file. */
static int
seg_regions(const struct shmseg *s)
{
	uint64_t end = SHM_HDR_SIZE, max = s->max_nodes, fsize = s->size;
	uint32_t n;

	if (s->node_off != SHM_HDR_SIZE ||
	    seg_region(s->node_off, max * sizeof(struct shm_node), 1, &end,
		fsize) != 0 ||
	    seg_region(s->dir_off,
		max * SHM_NETS * max * sizeof(struct shm_dirent), SHM_PAGE_SIZE,
		&end, fsize) != 0)
		return -1;
	/* a broadcast ring is whole pages (seg_layout): multicast ring i
	 * lies i sizes past the first, and its locks and indexes must stay
	 * aligned */
	for (n = 0; n < SHM_NETS; n++)
		if (s->cast_size[n] < sizeof(struct shm_ring_hdr) ||
		    s->cast_size[n] % SHM_PAGE_SIZE != 0 ||
		    seg_region(s->cast_off[n], s->cast_size[n], SHM_PAGE_SIZE,
			&end, fsize) != 0)
			return -1;
	for (n = 0; n < SHM_NETS; n++)
		if (s->mcast_rings[n] > SHM_MCAST_MAX ||
		    seg_region(s->mcast_off[n],
			(uint64_t)s->mcast_rings[n] * s->cast_size[n],
			SHM_PAGE_SIZE, &end, fsize) != 0)
			return -1;
	if (!is_pow2(s->conn_buckets) || s->conn_buckets > (1u << 24) ||
	    seg_region(s->conn_off,
		(uint64_t)s->conn_buckets * sizeof(struct shm_conn_bucket),
		SHM_PAGE_SIZE, &end, fsize) != 0 ||
	    seg_region(s->listen_off, max * sizeof(struct shm_listen_table),
		SHM_PAGE_SIZE, &end, fsize) != 0 ||
	    seg_region(s->svc_off, SHM_SVC_SLOTS * sizeof(struct shm_svc),
		SHM_PAGE_SIZE, &end, fsize) != 0 ||
	    seg_region(s->backend_off, max * sizeof(struct shm_backend),
		SHM_PAGE_SIZE, &end, fsize) != 0)
		return -1;
	return seg_region(s->pagemap_off,
		   (uint64_t)s->heap_pages * sizeof(uint32_t), 1, &end,
		   fsize) != 0 ||
		seg_region(s->heap_off, (uint64_t)s->heap_pages * SHM_PAGE_SIZE,
		    SHM_PAGE_SIZE, &end, fsize) != 0 ?
	    -1 :
	    0;
}

/* seg_geometry: copy a header's geometry (a private copy, read once)
 * into the handle and validate it. */
static int
seg_geometry(struct shmseg *s, const struct shm_hdr *h, uint64_t fsize)
{
	uint32_t n;

	if (h->hdr_size != SHM_HDR_SIZE || h->seg_size != fsize ||
	    h->nets != SHM_NETS || h->page_size != SHM_PAGE_SIZE ||
	    h->max_nodes < SHM_NODES_MIN || h->max_nodes > SHM_NODES_MAX)
		return -1;
	s->size = fsize;
	s->max_nodes = h->max_nodes;
	s->node_off = h->node_off;
	s->dir_off = h->dir_off;
	for (n = 0; n < SHM_NETS; n++) {
		s->cast_off[n] = h->cast_off[n];
		s->cast_size[n] = h->cast_size[n];
		s->mcast_off[n] = h->mcast_off[n];
		s->mcast_rings[n] = h->mcast_rings[n];
	}
	s->conn_off = h->conn_off;
	s->conn_buckets = h->conn_buckets;
	memcpy(s->conn_key, h->conn_key, sizeof(s->conn_key));
	s->listen_off = h->listen_off;
	s->svc_off = h->svc_off;
	s->backend_off = h->backend_off;
	s->pagemap_off = h->pagemap_off;
	s->heap_off = h->heap_off;
	s->heap_pages = h->heap_pages;
	return seg_regions(s);
}

/* seg_check_hdr: validate a header against the file size; fill geometry.
 * The header is copied out once and only the copy is looked at, so a
 * peer writing it meanwhile cannot make a checked value differ from the
 * one used. */
static int
seg_check_hdr(struct shmseg *s, const struct shm_hdr *shared, uint64_t fsize,
    char *err, size_t errlen)
{
	uint64_t magic = atomic_load_explicit(&shared->magic,
	    memory_order_acquire);
	struct shm_hdr h;

	if (magic == 0)
		return seg_err(err, errlen, -EAGAIN,
		    "segment %s is not initialised", s->path);
	if (magic != SHM_MAGIC)
		return seg_err(err, errlen, -EBADMSG,
		    "segment %s is not a shmnet segment (magic %#llx)", s->path,
		    (unsigned long long)magic);
	memcpy(&h, (const void *)shared, sizeof(h));
	if ((h.version >> 8) != SHM_VERSION_MAJOR)
		return seg_err(err, errlen, -EPROTONOSUPPORT,
		    "segment %s has layout version %u.%u, this build speaks "
		    "%u.%u; stop its nodes or remove it",
		    s->path, h.version >> 8, h.version & 0xff,
		    SHM_VERSION_MAJOR, SHM_VERSION_MINOR);
	if (seg_geometry(s, &h, fsize) != 0)
		return seg_err(err, errlen, -EBADMSG,
		    "segment %s has a corrupt header; stop its nodes or "
		    "remove it",
		    s->path);
	return 0;
}

/* seg_perms: mode and group of a new segment, set explicitly (not left
 * to the umask).  The lock file stays its owner's alone (seg_lock_file):
 * whoever may open it may lock its bytes, and so hang a start or keep a
 * dead node alive. */
static int
seg_perms(struct shmseg *s, const struct shmseg_params *p, char *err,
    size_t errlen)
{
	mode_t mode = p->mode ? (mode_t)(p->mode & 0777) : 0600;
	gid_t gid = p->gid > 0 ? (gid_t)p->gid : (gid_t)-1;

	if (fchmod(s->fd, mode) == -1)
		return seg_err(err, errlen, -errno, "chmod %s to %04o: %s",
		    s->path, (unsigned int)mode, strerror(errno));
	if (p->gid > 0 && fchown(s->fd, (uid_t)-1, gid) == -1)
		return seg_err(err, errlen, -errno, "chgrp %s to %lld: %s",
		    s->path, (long long)p->gid, strerror(errno));
	return 0;
}

/* seg_init: write a fresh header and tables into a new segment file. */
static int
seg_init(struct shmseg *s, const struct shmseg_params *p, char *err,
    size_t errlen)
{
	struct shm_hdr *h;
	struct statvfs vfs;
	uint32_t n, i;
	int rc;

	if ((rc = seg_layout(s, p, err, errlen)) != 0)
		return rc;
	if (ftruncate(s->fd, 0) == -1 || ftruncate(s->fd, (off_t)s->size) == -1)
		return seg_err(err, errlen, -errno, "ftruncate %s: %s", s->path,
		    strerror(errno));
	/* Commit the fixed part now: a full /dev/shm is an error, not SIGBUS. */
	if ((rc = posix_fallocate(s->fd, 0, (off_t)s->heap_off)) != 0) {
		unsigned long long avail = 0;
		if (fstatvfs(s->fd, &vfs) == 0)
			avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		return seg_err(err, errlen, -rc,
		    "cannot commit %llu bytes for "
		    "segment %s: %s (%llu bytes free)",
		    (unsigned long long)s->heap_off, s->path, strerror(rc),
		    avail);
	}
	s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
	    0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		return seg_err(err, errlen, -errno, "mmap %s: %s", s->path,
		    strerror(errno));
	}
	h = (struct shm_hdr *)s->base;
	memset(h, 0, s->heap_off);
	h->version = SHM_VERSION;
	h->hdr_size = SHM_HDR_SIZE;
	h->seg_size = s->size;
	h->max_nodes = s->max_nodes;
	h->nets = SHM_NETS;
	h->node_off = s->node_off;
	h->dir_off = s->dir_off;
	h->pagemap_off = s->pagemap_off;
	h->heap_off = s->heap_off;
	h->heap_pages = s->heap_pages;
	h->page_size = SHM_PAGE_SIZE;
	h->created_ns = (uint64_t)time(NULL) * 1000000000ull;
	h->conn_off = s->conn_off;
	h->conn_buckets = s->conn_buckets;
	arc4random_buf(s->conn_key, sizeof(s->conn_key));
	memcpy(h->conn_key, s->conn_key, sizeof(h->conn_key));
	h->listen_off = s->listen_off;
	h->svc_off = s->svc_off;
	h->backend_off = s->backend_off;
	h->global_addr4 = p->global_addr4;
	memcpy(h->global_addr6, p->global_addr6, 16);
	strlcpy(h->cluster, p->cluster ? p->cluster : "", sizeof(h->cluster));
	for (n = 0; n < SHM_NETS; n++) {
		h->cast_off[n] = s->cast_off[n];
		h->cast_size[n] = s->cast_size[n];
		rc = cast_init(s->base + s->cast_off[n], s->cast_size[n],
		    p->cast_slots, p->cast_slot_size, n);
		if (rc != 0)
			return seg_err(err, errlen, rc, "broadcast ring init");
		h->mcast_off[n] = s->mcast_off[n];
		h->mcast_rings[n] = s->mcast_rings[n];
		for (i = 0; i < s->mcast_rings[n]; i++) {
			rc = cast_init(s->base + s->mcast_off[n] +
				(uint64_t)i * s->cast_size[n],
			    s->cast_size[n], p->cast_slots, p->cast_slot_size,
			    n);
			if (rc != 0)
				return seg_err(err, errlen, rc,
				    "multicast ring init");
		}
	}
	atomic_store_explicit(&h->magic, SHM_MAGIC, memory_order_release);
	return 0;
}

/* seg_open_owned: open (or create) one of the cluster's files, only if
 * it is a regular file of this user's or root's that not everybody may
 * write: /dev/shm is everybody's, and a file another user made there
 * first, or a link, would hand them the segment or the lock file. */
static int
seg_open_owned(const char *path, int flags, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return seg_err(err, errlen, -errno, "open %s: %s%s", path,
		    strerror(errno),
		    errno == ELOOP ? " (a symbolic link: "
				     "refused)" :
				     "");
	if (fstat(fd, &st) == -1)
		rc = seg_err(err, errlen, -errno, "stat %s: %s", path,
		    strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = seg_err(err, errlen, -EPERM, "%s is not a regular file",
		    path);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		rc = seg_err(err, errlen, -EPERM,
		    "%s belongs to uid %u, not "
		    "to this user (%u) or root: another user made it; remove "
		    "it",
		    path, (unsigned int)st.st_uid, (unsigned int)geteuid());
	else if (st.st_mode & S_IWOTH)
		rc = seg_err(err, errlen, -EPERM,
		    "%s may be written by every "
		    "user (mode %04o): refused",
		    path, (unsigned int)(st.st_mode & 07777));
	else
		return fd;
	close(fd);
	return rc;
}

/* seg_lock_file: open the lock file (its owner's alone) and take the
 * init lock within SEG_INIT_WAIT_MS (or the caller's wait), making sure
 * the file we locked is still the one at lockpath (a last node may have
 * removed it meanwhile). */
static int
seg_lock_file(struct shmseg *s, int wait_ms, char *err, size_t errlen)
{
	int tries, rc;

	for (tries = 0; tries < 20; tries++) {
		if ((rc = seg_open_owned(s->lockpath, O_RDWR | O_CREAT, err,
			 errlen)) < 0)
			return rc;
		s->lockfd = rc;
		if (fchmod(s->lockfd, 0600) == -1 && errno != EPERM)
			return seg_err(err, errlen, -errno, "chmod %s: %s",
			    s->lockpath, strerror(errno));
		if ((rc = ofd_lock_for(s->lockfd, SEG_LOCK_INIT, wait_ms)) != 0)
			return seg_err(err, errlen, rc, "lock %s: %s",
			    s->lockpath,
			    rc == -ETIMEDOUT ?
				"held for too long "
				"by another process (a daemon stopped as it makes "
				"or removes the segment?)" :
				rc == -ENOLCK ?
				"another process holds a read lock on it "
				"(no daemon takes one: one that opened it while it "
				"was readable; lslocks shows it): end it" :
				strerror(-rc));
		if (ofd_same_file(s->lockfd, s->lockpath))
			return 0;
		close(s->lockfd);
		s->lockfd = -1;
	}
	return seg_err(err, errlen, -EAGAIN, "lock file %s keeps changing",
	    s->lockpath);
}

/* seg_new: allocate a handle for path. */
static struct shmseg *
seg_new(const char *path)
{
	struct shmseg *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = s->lockfd = -1;
	strlcpy(s->path, path, sizeof(s->path));
	snprintf(s->lockpath, sizeof(s->lockpath), "%s.lock", path);
	return s;
}

/* seg_free: unmap and close whatever a handle holds. */
static void
seg_free(struct shmseg *s)
{
	int saved = errno;

	if (s->base != NULL)
		munmap(s->base, s->size);
	if (s->fd != -1)
		close(s->fd);
	if (s->lockfd != -1)
		close(s->lockfd);
	free(s);
	errno = saved;
}

/* seg_attach: map an existing file and validate its header. */
static int
seg_attach(struct shmseg *s, uint64_t fsize, int prot, char *err, size_t errlen)
{
	int rc;

	if (fsize < SHM_HDR_SIZE)
		return seg_err(err, errlen, -EBADMSG,
		    "segment %s is too small (%llu bytes)", s->path,
		    (unsigned long long)fsize);
	s->base = mmap(NULL, fsize, prot, MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		return seg_err(err, errlen, -errno, "mmap %s: %s", s->path,
		    strerror(errno));
	}
	s->size = fsize;
	rc = seg_check_hdr(s, (struct shm_hdr *)s->base, fsize, err, errlen);
	if (rc != 0) {
		munmap(s->base, fsize);
		s->base = NULL;
	}
	return rc;
}

/* seg_redo: a segment without its magic.  Its creator died half-way
 * (under the init lock, which we now hold) when no node is alive: make
 * it again.  With nodes alive, the magic was scribbled over: making it
 * again would truncate the file under their mappings. */
static int
seg_redo(struct shmseg *s, const struct shmseg_params *p, char *err,
    size_t errlen)
{
	if (ofd_range_held(s->lockfd, 1, SHM_NODES_MAX) != 0)
		return seg_err(err, errlen, -EBADMSG,
		    "segment %s has lost its "
		    "magic while nodes use it; stop its nodes or remove it",
		    s->path);
	return seg_init(s, p, err, errlen);
}

/* shmseg_open: open or create a segment read-write. */
int
shmseg_open(const struct shmseg_params *p, struct shmseg **out, char *err,
    size_t errlen)
{
	struct shmseg *s;
	struct stat st;
	int rc, created = 0;

	*out = NULL;
	if (p->path == NULL || *p->path == '\0')
		return seg_err(err, errlen, -EINVAL, "no segment path");
	if ((s = seg_new(p->path)) == NULL)
		return seg_err(err, errlen, -ENOMEM, "out of memory");
	s->writable = 1;
	s->wait_ms = p->wait_ms ? p->wait_ms : SEG_INIT_WAIT_MS;
	if ((rc = seg_lock_file(s, (int)s->wait_ms, err, errlen)) != 0)
		goto fail;
	if ((rc = seg_open_owned(s->path, O_RDWR | O_CREAT, err, errlen)) < 0)
		goto fail;
	s->fd = rc;
	if (fstat(s->fd, &st) == -1) {
		rc = seg_err(err, errlen, -errno, "stat %s: %s", s->path,
		    strerror(errno));
		goto fail;
	}
	if (st.st_size == 0) {
		created = 1;
		if ((rc = seg_perms(s, p, err, errlen)) == 0)
			rc = seg_init(s, p, err, errlen);
	} else {
		rc = seg_attach(s, (uint64_t)st.st_size, PROT_READ | PROT_WRITE,
		    err, errlen);
		if (rc == -EAGAIN)
			rc = seg_redo(s, p, err, errlen);
	}
	if (rc != 0)
		goto fail;
	ofd_unlock(s->lockfd, SEG_LOCK_INIT);
	*out = s;
	return 0;
fail:
	if (created && s->fd != -1) {
		unlink(s->path);
		/* we made the cluster's files: leave nothing half-created */
		if (ofd_range_held(s->lockfd, 1, SHM_NODES_MAX) == 0)
			unlink(s->lockpath);
	}
	if (s->lockfd != -1)
		ofd_unlock(s->lockfd, SEG_LOCK_INIT);
	seg_free(s);
	return rc;
}

/* seg_open_existing: map the segment at path, read-write when write
 * is set, else read-only. */
static int
seg_open_existing(const char *path, int write, struct shmseg **out, char *err,
    size_t errlen)
{
	struct shmseg *s;
	struct stat st;
	int rc;

	*out = NULL;
	if ((s = seg_new(path)) == NULL)
		return seg_err(err, errlen, -ENOMEM, "out of memory");
	s->fd = open(s->path,
	    (write ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (s->fd == -1 || fstat(s->fd, &st) == -1) {
		rc = seg_err(err, errlen, -errno, "%s: %s", s->path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = seg_err(err, errlen, -EPERM, "%s: not a regular file",
		    s->path);
		goto fail;
	}
	if ((rc = seg_attach(s, (uint64_t)st.st_size,
		 write ? PROT_READ | PROT_WRITE : PROT_READ, err, errlen)) != 0)
		goto fail;
	s->writable = write;
	s->admin = write;
	s->lockfd = open(s->lockpath, O_RDONLY | O_CLOEXEC);
	*out = s;
	return 0;
fail:
	seg_free(s);
	return rc;
}

/* shmseg_open_ro: map an existing segment read-only, for inspection. */
int
shmseg_open_ro(const char *path, struct shmseg **out, char *err, size_t errlen)
{
	return seg_open_existing(path, 0, out, err, errlen);
}

/* shmseg_open_admin: map an existing segment read-write, without
 * claiming a node, to change what shmnetctl may change. */
int
shmseg_open_admin(const char *path, struct shmseg **out, char *err,
    size_t errlen)
{
	return seg_open_existing(path, 1, out, err, errlen);
}

/* shmseg_intact: does the header still say what it said when this
 * handle validated it?  Its magic, version and geometry are written once
 * by the creator; a header that lost them was overwritten (a peer or
 * another process that may write the segment), and nobody can join or
 * inspect the cluster by it any more.  0, or -EBADMSG with err set. */
int
shmseg_intact(struct shmseg *s, char *err, size_t errlen)
{
	const struct shm_hdr *shared = (const struct shm_hdr *)s->base;
	uint64_t magic = atomic_load_explicit(&shared->magic,
	    memory_order_acquire);
	struct shmseg now;
	struct shm_hdr h;
	uint32_t n;

	if (magic != SHM_MAGIC)
		return seg_err(err, errlen, -EBADMSG,
		    "segment %s lost its magic (now %#llx): its header was "
		    "overwritten",
		    s->path, (unsigned long long)magic);
	memcpy(&h, (const void *)shared, sizeof(h));
	memset(&now, 0, sizeof(now));
	if ((h.version >> 8) != SHM_VERSION_MAJOR ||
	    seg_geometry(&now, &h, s->size) != 0 ||
	    now.max_nodes != s->max_nodes || now.node_off != s->node_off ||
	    now.dir_off != s->dir_off || now.pagemap_off != s->pagemap_off ||
	    now.heap_off != s->heap_off || now.heap_pages != s->heap_pages ||
	    now.conn_off != s->conn_off || now.listen_off != s->listen_off ||
	    now.svc_off != s->svc_off || now.backend_off != s->backend_off ||
	    now.conn_buckets != s->conn_buckets)
		goto changed;
	for (n = 0; n < SHM_NETS; n++)
		if (now.cast_off[n] != s->cast_off[n] ||
		    now.cast_size[n] != s->cast_size[n] ||
		    now.mcast_off[n] != s->mcast_off[n] ||
		    now.mcast_rings[n] != s->mcast_rings[n])
			goto changed;
	return 0;
changed:
	return seg_err(err, errlen, -EBADMSG,
	    "segment %s: its header's version or geometry changed: it was "
	    "overwritten",
	    s->path);
}

/* shmseg_close: unmap; remove the files if asked and nobody is alive. */
int
shmseg_close(struct shmseg *s, int unlink_last)
{
	int removed = 0;

	if (s == NULL)
		return 0;
	/* files removed only while they are still ours: a node that was
	 * left on files a last node out removed must not remove the new
	 * cluster's */
	if (unlink_last && s->writable && !s->admin && s->lockfd != -1 &&
	    ofd_lock_for(s->lockfd, SEG_LOCK_INIT, SEG_INIT_WAIT_MS) == 0) {
		if (ofd_range_held(s->lockfd, 1, SHM_NODES_MAX) == 0 &&
		    ofd_same_file(s->lockfd, s->lockpath) &&
		    ofd_same_file(s->fd, s->path)) {
			unlink(s->path);
			unlink(s->lockpath);
			removed = 1;
		}
		ofd_unlock(s->lockfd, SEG_LOCK_INIT);
	}
	seg_free(s);
	return removed;
}

const struct shm_hdr *
shmseg_hdr(const struct shmseg *s)
{
	return (const struct shm_hdr *)s->base;
}

int
shmseg_writable(const struct shmseg *s)
{
	return s->writable;
}

const char *
shmseg_path(const struct shmseg *s)
{
	return s->path;
}

uint32_t
shmseg_max_nodes(const struct shmseg *s)
{
	return s->max_nodes;
}

/* shmseg_lock_busy: waits for the heap or table lock that gave up. */
uint32_t
shmseg_lock_busy(struct shmseg *s, uint32_t *holder)
{
	*holder = atomic_load_explicit(&s->lock_busy_holder,
	    memory_order_relaxed);
	return atomic_load_explicit(&s->lock_busy, memory_order_relaxed);
}

/* shmseg_node: node table entry, bounds-checked. */
struct shm_node *
shmseg_node(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return NULL;
	return (struct shm_node *)(s->base + s->node_off) + (id - 1);
}

/* shmseg_dirent: directory entry, bounds-checked. */
struct shm_dirent *
shmseg_dirent(struct shmseg *s, uint32_t owner, uint32_t net, uint32_t peer)
{
	uint64_t i;

	if (owner < 1 || owner > s->max_nodes || peer < 1 ||
	    peer > s->max_nodes || net >= SHM_NETS)
		return NULL;
	i = ((uint64_t)(owner - 1) * SHM_NETS + net) * s->max_nodes +
	    (peer - 1);
	return (struct shm_dirent *)(s->base + s->dir_off) + i;
}

/* shmseg_ring: the pair ring a dirent names, if it can be one: page
 * aligned in the heap, whole, and large enough for a ring's header. */
struct shm_ring_hdr *
shmseg_ring(struct shmseg *s, uint64_t off, uint64_t len)
{
	uint64_t end = s->heap_off + (uint64_t)s->heap_pages * SHM_PAGE_SIZE;

	if (off % SHM_PAGE_SIZE != 0 || off < s->heap_off || off > end ||
	    len < sizeof(struct shm_ring_hdr) || len > end - off)
		return NULL;
	return (struct shm_ring_hdr *)(s->base + off);
}

/* shmseg_at: pointer to a range inside the segment, or NULL. */
void *
shmseg_at(struct shmseg *s, uint64_t off, uint64_t len)
{
	if (off > s->size || len > s->size - off)
		return NULL;
	return s->base + off;
}

/* shmseg_conn_bucket: bucket i of the connection table (masked). */
struct shm_conn_bucket *
shmseg_conn_bucket(struct shmseg *s, uint32_t i)
{
	return (struct shm_conn_bucket *)(s->base + s->conn_off) +
	    (i & (s->conn_buckets - 1));
}

uint32_t
shmseg_conn_buckets(const struct shmseg *s)
{
	return s->conn_buckets;
}

/* shmseg_listen: node id's published listener table, NULL if out of range. */
struct shm_listen_table *
shmseg_listen(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return NULL;
	return (struct shm_listen_table *)(s->base + s->listen_off) + (id - 1);
}

/* shmseg_svc: the services' counters. */
struct shm_svc *
shmseg_svc(struct shmseg *s)
{
	return (struct shm_svc *)(s->base + s->svc_off);
}

/* shmseg_backend: node id as a backend of G, NULL if out of range. */
struct shm_backend *
shmseg_backend(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return NULL;
	return (struct shm_backend *)(s->base + s->backend_off) + (id - 1);
}

/* shmseg_mcast_count: multicast rings of a network. */
uint32_t
shmseg_mcast_count(struct shmseg *s, uint32_t net)
{
	return net < SHM_NETS ? s->mcast_rings[net] : 0;
}

/* shmseg_mcast: multicast ring i of a network, NULL if there is none. */
void *
shmseg_mcast(struct shmseg *s, uint32_t net, uint32_t i, uint32_t *size)
{
	if (net >= SHM_NETS || i >= s->mcast_rings[net])
		return NULL;
	*size = s->cast_size[net];
	return s->base + s->mcast_off[net] + (uint64_t)i * s->cast_size[net];
}

/* shmseg_cast: the broadcast ring of a network. */
void *
shmseg_cast(struct shmseg *s, uint32_t net, uint32_t *size)
{
	if (net >= SHM_NETS)
		return NULL;
	*size = s->cast_size[net];
	return s->base + s->cast_off[net];
}
