/*
 * shmnet_private.h: internals shared by the libshmnet modules only.
 *
 * The files form layers, listed here in an order where each file calls
 * only files before it (tests/layers.sh checks it):
 *
 *   1. clock.c, ofd.c, bell.c, frame.c, pkt.c,  time, liveness (the lock
 *      siphash.c                                file), doorbells, Ethernet
 *                                               addressing, packet parsing,
 *                                               the keyed hash: leaves
 *   2. ring.c, lock.c, cast.c                   the data structures in
 *      shared memory: pair rings, dead-holder locks, broadcast rings
 *   3. segment.c                                create, validate and map a
 *      segment; where each table lies (creates the broadcast rings)
 *   4. heap.c, keeper.c, mcast.c, conntab.c,    what lives in the segment:
 *      backend.c, gaddr.c, listen.c             ring memory, keepers,
 *                                               multicast labels, flows,
 *                                               weights and drain, the
 *                                               cluster addresses,
 *                                               listeners
 *   5. node.c                                   membership: claim, leave,
 *                                               reap, each node's directory
 *   6. svcview.c, metrics.c                     what a reader sees: the
 *                                               services and backends of
 *                                               G, the cluster as
 *                                               Prometheus metrics
 */
#ifndef SHMNET_PRIVATE_H
#define SHMNET_PRIVATE_H

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmnet.h"

#define CONN_BUSY_SLOTS	16

/*
 * A mapped segment.  Geometry is copied out of the header once, after it
 * was validated, so a peer that later scribbles on the header cannot make
 * this process read outside the mapping.
 */
struct shmseg {
	int		 fd;
	int		 lockfd;	/* OFD locks: byte 0 init, byte id node */
	int		 writable;
	int		 admin;		/* shmseg_open_admin: writes backend
					 * entries only, is no node */
	uint8_t		*base;
	uint64_t	 size;
	uint32_t	 max_nodes;
	uint32_t	 self;		/* node id this process holds, or 0 */
	uint64_t	 node_off, dir_off, pagemap_off, heap_off;
	uint32_t	 heap_pages;
	uint64_t	 cast_off[SHM_NETS];
	uint32_t	 cast_size[SHM_NETS];
	uint64_t	 mcast_off[SHM_NETS];
	uint32_t	 mcast_rings[SHM_NETS];
	uint64_t	 conn_off, listen_off, svc_off, backend_off;
	uint32_t	 conn_buckets;
	uint8_t		 conn_key[SHM_CONN_KEY_LEN];	/* hash key of the
							 * connection table */
	char		 path[PATH_MAX];
	char		 lockpath[PATH_MAX];
	_Atomic uint64_t reclaim_ms;	/* heap: pages this process freed end
					 * their quarantine then; 0 none */
	uint32_t	 wait_ms;	/* init and node table locks at claim */
	/* lock_acquire_seg: until when the heap and the node table lock are
	 * only tried (a live holder kept them), 0 none; how many waits gave
	 * up, and the holder's id at the last */
	_Atomic uint64_t heap_busy_ms, table_busy_ms;
	_Atomic uint32_t lock_busy, lock_busy_holder;
	/* conntab.c: buckets whose lock a live holder kept, each only tried
	 * until a moment (bucket << 32 | ms clock, low 32 bits; in slot
	 * bucket % CONN_BUSY_SLOTS); how many waits gave up */
	_Atomic uint64_t conn_busy[CONN_BUSY_SLOTS];
	_Atomic uint32_t conn_busy_waits;
	/* listen.c: until when (us clock) a listener table stuck mid-publish
	 * is not waited for: a pick gave up waiting for one */
	_Atomic uint64_t listen_busy_us;
	/* listen.c: the rotation of services the table has no room for */
	_Atomic uint64_t svc_overflow;
	/* backend.c: nodes this process saw stop answering (bit id % 64 of
	 * word id / 64), set by its membership scan: they take no new
	 * flow */
	_Atomic uint64_t stalled[SHM_NODES_MAX / 64 + 1];
};

/* Lock-file byte ranges. */
#define SEG_LOCK_INIT	0
/* The longest wait for the init lock a starting or leaving node does:
 * a holder makes or removes the segment in milliseconds.  A claim waits
 * as long for the node table lock (shmseg_params.wait_ms overrides
 * both). */
#define SEG_INIT_WAIT_MS	10000

/* ofd.c: take (wait) or test an OFD write lock on one byte of the lock
 * file. */
int	 ofd_lock(int fd, off_t byte, int wait);
/* The same, waiting at most timeout_ms (-ETIMEDOUT), and not at all
 * for a read lock, which is never a daemon's (-ENOLCK). */
int	 ofd_lock_for(int fd, off_t byte, int timeout_ms);
int	 ofd_unlock(int fd, off_t byte);
/* 1 when fd is still the file linked at path. */
int	 ofd_same_file(int fd, const char *path);
/* 1 when some other open file description write-locks byte (or any
 * byte of [start, start + len)), 0 when free or only read-locked,
 * -errno on error. */
int	 ofd_held(int fd, off_t byte);
int	 ofd_range_held(int fd, off_t start, off_t len);

/* siphash.c: SipHash-2-4 of len bytes under a 16-byte key. */
#define SIPHASH_KEY_LEN	16
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg,
	    size_t len);

/* conntab.c: the two buckets flow k may live in (they differ). */
void	 conn_places(const struct shmseg *seg, const struct conn_key *k,
	    uint32_t b[2]);

/* lock.c: take a segment-wide lock (heap, node table) within timeout_ms,
 * or only try while *busy_ms lies ahead; -EBUSY when a live holder kept
 * it, counted in s->lock_busy. */
int	 lock_acquire_seg(struct shmseg *s, struct shm_lock *l, uint32_t owner,
	    int timeout_ms, _Atomic uint64_t *busy_ms);
/* 1 when a ring can have slots x slot_size (ring.c). */
int	 ring_geometry_ok(uint32_t slots, uint32_t slot_size);
/* Validate a ring header against `size` bytes and fill v (ring.c).
 * -EBADMSG when the geometry cannot be right. */
int	 ring_view_attach(struct ring_view *v, void *mem, uint64_t size);
/* Format into err (if any) and return rc. */
int	 seg_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* gaddr.c: the cluster addresses node entry n carries (bit i: index i),
 * inline for listen.c's choice of a node, which asks it of every node. */
static inline uint32_t
gaddr_node_carried(const struct shm_node *n)
{
	if (!(((const volatile struct shm_node *)n)->flags &
		SHM_NODE_F_GADDRS))
		return 1; /* an older build's node: G */
	return atomic_load_explicit(&n->gaddrs, memory_order_relaxed);
}

/* Ceiling of a / b for b a power of two given as a shift. */
static inline uint32_t
div_up_shift(uint32_t a, uint32_t shift)
{
	return (uint32_t)(((uint64_t)a + (1u << shift) - 1) >> shift);
}

static inline int
is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static inline uint32_t
log2_u32(uint32_t v)
{
	return 31u - (uint32_t)__builtin_clz(v);
}

static inline uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

#endif /* SHMNET_PRIVATE_H */
