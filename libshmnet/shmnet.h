/*
 * shmnet.h: public interface of libshmnet.
 *
 * The library maps a cluster's segment and moves frames through its rings.
 * It never logs and never exits: functions return 0 (or a count) on
 * success and -errno on failure, as documented per function.  Functions
 * that can fail for reasons an operator must read also fill an error
 * buffer with one line saying what failed and with what value.
 *
 * Handles: struct shmseg is opaque.  struct ring_tx, ring_rx and cast_rx
 * are declared here so callers can embed them; treat their fields as
 * private to the library.
 */
#ifndef SHMNET_H
#define SHMNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "layout.h"

struct shmseg;

/* ---- clock.c: monotonic time -------------------------------------- */

/* Monotonic milliseconds, microseconds and nanoseconds (the clock of
 * quarantines, timeouts and busy-poll windows). */
uint64_t clock_ms(void);
uint64_t clock_us(void);
uint64_t clock_ns(void);

/* shm_cpu_relax: polite spin-wait hint. */
static inline void
shm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* ---- ofd.c: liveness ------------------------------------------------- */

/* 1 if node id's OFD lock on the lock file is held (its daemon lives), or
 * id is the node this process holds, or this handle could not open the
 * lock file (read-only, without access: it cannot tell); else 0. */
int	 ofd_alive(struct shmseg *seg, uint32_t id);

/* ---- segment.c ------------------------------------------------------ */

struct shmseg_params {
	const char	*path;		/* backing file, e.g. /dev/shm/shmnet.x */
	const char	*cluster;	/* recorded in the header */
	uint64_t	 size;		/* total bytes (sparse until used) */
	uint32_t	 max_nodes;	/* SHM_NODES_MIN .. SHM_NODES_MAX */
	uint32_t	 cast_slots;	/* broadcast ring slots, power of 2 */
	uint32_t	 cast_slot_size;/* broadcast ring slot bytes, power of 2 */
	uint32_t	 mcast_rings[SHM_NETS];	/* multicast rings per network,
					 * 0 .. SHM_MCAST_MAX */
	uint32_t	 conn_buckets;	/* connection table buckets, power of 2 */
	uint32_t	 global_addr4;	/* G, network order (0: none) */
	uint8_t		 global_addr6[16];	/* G6 (zero: none) */
	uint32_t	 mode;		/* file mode of segment and lock file
					 * when created (0: 0600) */
	int64_t		 gid;		/* the segment's group when created
					 * (<= 0: keep); the lock file is
					 * the owner's alone (0600) */
	uint32_t	 wait_ms;	/* for the init lock, and for the
					 * node table lock at node_claim
					 * (0: 10 s) */
};

/*
 * Open the segment at p->path, creating and initialising it if it does not
 * exist (or is an empty leftover).  Creation is serialised by an OFD lock
 * on the lock file beside it.  Both files must be regular files of this
 * user's or root's that not every user may write, and not links.  Returns
 * 0, or:
 *   -EPROTONOSUPPORT  the segment has another layout version
 *   -EBADMSG          the header is corrupt (bad magic, sizes out of range)
 *   -ENOSPC           the file system (e.g. /dev/shm) cannot hold it
 *   -EINVAL           parameters out of range
 *   -EPERM            a file is another user's, or everybody's to write
 *   -ELOOP            a file is a symbolic link
 *   -ETIMEDOUT        the init lock stayed held for p->wait_ms
 *   -ENOLCK           a read lock (not a daemon's) holds the init lock
 *   other -errno      from open, mmap, fallocate, fcntl
 */
int	 shmseg_open(const struct shmseg_params *p, struct shmseg **out,
	    char *err, size_t errlen);
/* Map an existing segment read-only (for inspection).  Errors as above,
 * plus -ENOENT when there is no segment. */
int	 shmseg_open_ro(const char *path, struct shmseg **out, char *err,
	    size_t errlen);
/* Map an existing segment read-write without claiming a node (shmnetctl
 * weight, drain): the handle is for backend.c's writers only; it claims
 * no node (node_claim: -EROFS) and its close removes nothing.  Errors
 * as shmseg_open_ro; -EACCES without write access to the file. */
int	 shmseg_open_admin(const char *path, struct shmseg **out, char *err,
	    size_t errlen);
/* Unmap and close.  Removes the segment and lock file when `unlink_last`
 * is set and no node of the cluster is alive any more. Returns 1 when it
 * removed them, 0 otherwise. */
int	 shmseg_close(struct shmseg *seg, int unlink_last);

/* 0 while the header's magic, version and geometry are those this
 * handle validated when it opened; -EBADMSG, with a line in err, once
 * they were overwritten. */
int	 shmseg_intact(struct shmseg *seg, char *err, size_t errlen);

const struct shm_hdr	*shmseg_hdr(const struct shmseg *seg);
int			 shmseg_writable(const struct shmseg *seg);
const char		*shmseg_path(const struct shmseg *seg);
uint32_t		 shmseg_max_nodes(const struct shmseg *seg);
/* Node table entry of id (1 .. max_nodes), NULL when out of range. */
struct shm_node		*shmseg_node(struct shmseg *seg, uint32_t id);
/* Directory entry: ring from `peer` into `owner` on `net`; NULL if out of
 * range. */
struct shm_dirent	*shmseg_dirent(struct shmseg *seg, uint32_t owner,
			    uint32_t net, uint32_t peer);
/* The pair ring [off, off + len) a dirent names, when it can be one (page
 * aligned in the heap, whole, at least a ring header long), else NULL. */
struct shm_ring_hdr	*shmseg_ring(struct shmseg *seg, uint64_t off,
			    uint64_t len);
/* Pointer to [off, off+len) when it lies inside the segment, else NULL. */
void			*shmseg_at(struct shmseg *seg, uint64_t off,
			    uint64_t len);
/* Broadcast ring of a network, NULL when the header does not describe a
 * valid one. `size` receives its length. */
void			*shmseg_cast(struct shmseg *seg, uint32_t net,
			    uint32_t *size);
/* Multicast rings of a network: how many, and ring i (NULL if none). */
uint32_t		 shmseg_mcast_count(struct shmseg *seg, uint32_t net);
void			*shmseg_mcast(struct shmseg *seg, uint32_t net,
			    uint32_t i, uint32_t *size);
/* Global network tables (bounds come from the validated header). */
struct shm_conn_bucket	*shmseg_conn_bucket(struct shmseg *seg, uint32_t i);
uint32_t		 shmseg_conn_buckets(const struct shmseg *seg);
struct shm_listen_table	*shmseg_listen(struct shmseg *seg, uint32_t id);
struct shm_svc		*shmseg_svc(struct shmseg *seg);
struct shm_backend	*shmseg_backend(struct shmseg *seg, uint32_t id);

/* ---- heap.c: pair ring memory, page granular, under the heap lock ---- */

/*
 * The heap and node table locks are held by other nodes: a holder that is
 * alive but stopped (SIGSTOP, a frozen container), or an owner word a
 * segment writer forged, would keep them for ever.  Whoever waits for one
 * waits SEG_LOCK_MS at most (node_claim and node_leave longer), then goes
 * on without it (-EBUSY) and tries again later; for SEG_LOCK_BACKOFF_MS
 * after such a timeout this process only tries these locks, so that a
 * membership scan costs one wait, not one per peer.
 */
#define SEG_LOCK_MS		100
#define SEG_LOCK_BACKOFF_MS	500
/* How many times this process gave up waiting for the heap or node table
 * lock (lock_acquire_seg), and in *holder the node holding it then. */
uint32_t shmseg_lock_busy(struct shmseg *seg, uint32_t *holder);

/*
 * Allocate and commit (fallocate) `size` bytes, rounded up to pages.
 * Pages freed less than SHM_QUARANTINE_MS ago are not reused, so a late
 * writer holding a stale reference cannot corrupt a new ring.
 * Returns 0 and *off, or -ENOMEM (no contiguous run), -ENOSPC (backing
 * file system full), -EBUSY (a live node kept the heap lock: try again
 * later), -EINVAL.
 */
#define SHM_QUARANTINE_MS	1000
int	 heap_alloc(struct shmseg *seg, uint64_t size, uint64_t *off);
/* Free a range returned by heap_alloc; -EINVAL if it is not one, -EBUSY
 * when a live node kept the heap lock: nothing was freed, the caller
 * keeps the range and frees it later. */
int	 heap_free(struct shmseg *seg, uint64_t off, uint64_t size);
/* Pages in use and in all, for status displays. */
void	 heap_usage(struct shmseg *seg, uint32_t *used, uint32_t *total);
/* Give the memory of pages whose quarantine ended back to the file system
 * (punch holes) and mark them free.  Returns the pages released; when the
 * heap lock is busy, none, and it tries again at the next call. */
uint32_t heap_reclaim(struct shmseg *seg);
/* The shm_node.tx_hazard word that names the ring at off, size bytes
 * (0 when off lies outside the heap): a transmitter stores it, then a
 * seq_cst fence, then checks that the ring is still published, before
 * it writes there; no page of it is reused while the word stays. */
uint64_t heap_hazard_word(const struct shmseg *seg, uint64_t off,
	    uint64_t size);

/* ---- lock.c: shared-memory lock recovered from dead holders ---------- */

/* Owner word for the calling thread of node `id`: id | thread tag << 16. */
uint32_t lock_owner_word(uint32_t id);
/* Take the lock; steals it from a holder whose node is dead.  Returns 1 if
 * it recovered the lock from a dead holder, else 0. */
int	 lock_acquire(struct shmseg *seg, struct shm_lock *l, uint32_t owner);
/* The same within timeout_ms (< 0: no limit): -ETIMEDOUT when a live
 * holder kept the lock all that time. */
int	 lock_acquire_for(struct shmseg *seg, struct shm_lock *l,
	    uint32_t owner, int timeout_ms);
void	 lock_release(struct shm_lock *l, uint32_t owner);
/* Free l if it is held in the name of node id; 1 if it was. */
int	 lock_clear(struct shm_lock *l, uint32_t id);

/* ---- node.c: node table, liveness ------------------------------------ */

/*
 * Claim node `id` (0 = the lowest free id).  Takes the node's OFD lock on
 * the lock file, bumps its generation and returns the id, or:
 *   -EADDRINUSE  that id is held by a live node
 *   -EUSERS      no free id (auto)
 *   -ERANGE      id outside 1 .. max_nodes
 *   -ESTALE      the cluster's files were removed since shmseg_open (a
 *                last node left meanwhile): close and open again
 *   -EBUSY       a live node kept the node table lock for the segment's
 *                wait_ms (shmseg_params; stopped, or a forged owner)
 *   -ETIMEDOUT   the same for the init lock
 * The node is not yet UP: call node_publish once its addresses are set.
 */
int	 node_claim(struct shmseg *seg, uint32_t id, uint32_t *gen);
/* Mark a claimed node UP (release order) and bump its dir_version. */
void	 node_publish(struct shmseg *seg, uint32_t id);
/* Free the rings in the node's directory, mark it DOWN and drop its lock.
 * Returns 0, -EINVAL if id is not this handle's node, or -EBUSY when a
 * live node kept the node table lock NODE_LEAVE_LOCK_MS or the heap lock
 * SEG_LOCK_MS: the node lock is dropped all the same, and the node, left
 * UP and dead, is reaped by the others. */
#define NODE_LEAVE_LOCK_MS	1000
int	 node_leave(struct shmseg *seg, uint32_t id);
/* Free every segment lock held in the name of node id: table, heap,
 * broadcast, multicast and connection bucket locks (node_claim does it: a
 * node that just claimed id knows no live process holds them).  Returns
 * how many it freed. */
int	 node_clear_locks(struct shmseg *seg, uint32_t id);
/* keeper.c: a node's death as an event (robust futex, futex_waitv).
 * keeper_arm makes the calling thread, which must live as long as the
 * node, its keeper; keeper_disarm before leaving in order.  keeper_wait
 * returns how many other nodes' keepers died since the last call (seen[]:
 * max_nodes + 1 zeroed words), or sleeps until one dies or keeper_kick
 * moves *kick from kick_seen, then returns 0; -errno when futex_waitv is
 * missing or forbidden (ENOSYS, EPERM under seccomp). */
int	 keeper_arm(struct shmseg *seg, uint32_t id);
void	 keeper_disarm(struct shmseg *seg, uint32_t id);
int	 keeper_died(struct shmseg *seg, uint32_t id);
int	 keeper_wait(struct shmseg *seg, uint32_t self, uint32_t *seen,
	    _Atomic uint32_t *kick, uint32_t kick_seen);
void	 keeper_kick(_Atomic uint32_t *kick);
/* 0 when this process may call futex_waitv, else -errno (ENOSYS, or
 * EPERM or ENOSYS from a seccomp filter); never sleeps. */
int	 keeper_probe(void);
/* Sleep until keeper_kick moves *kick from kick_seen. */
void	 keeper_pause(_Atomic uint32_t *kick, uint32_t kick_seen);
/* 1 if the node is UP and alive. */
int	 node_is_up(struct shmseg *seg, uint32_t id);
/* If `id` is marked UP but dead, free its rings and mark it DOWN.
 * Returns 1 when it reaped the node; 0 also when the node table or heap
 * lock was busy (SEG_LOCK_MS): call again later to finish. */
int	 node_reap(struct shmseg *seg, uint32_t self, uint32_t id);
/* Free the ring in dirent (owner, net, peer) if any, bump dir_version.
 * -EBUSY when the heap lock was busy: the ring is retired (DOWN, never
 * again returned by node_dirent_read) but stays in the dirent until a
 * later clear of it (by the owner, or by whoever reaps or claims the
 * owner's id) frees it. */
int	 node_dirent_clear(struct shmseg *seg, uint32_t owner, uint32_t net,
	    uint32_t peer);
/* Allocate a pair ring of slots x slot_size from `peer` (generation
 * peer_gen) into `owner` and publish it in owner's directory.  Returns 0,
 * -EINVAL for a bad geometry, -EBUSY when the dirent's previous ring
 * could not be freed yet, or a heap_alloc error. */
int	 node_dirent_alloc(struct shmseg *seg, uint32_t owner, uint32_t net,
	    uint32_t peer, uint32_t peer_gen, uint32_t slots,
	    uint32_t slot_size);
/* Replace the ring (owner, net, peer) with a new one of slots x
 * slot_size for the same transmitter generation (ring growth and shrink).
 * The current ring becomes the dirent's old ring, which the receiver
 * drains before the new one.  -EBUSY while an earlier replacement is
 * pending (or the heap lock is busy), -ENOENT without a ring, or a
 * heap_alloc error. */
int	 node_dirent_replace(struct shmseg *seg, uint32_t owner, uint32_t net,
	    uint32_t peer, uint32_t slots, uint32_t slot_size);
/* Free the replaced ring once the receiver has drained it; key must be
 * the dirent's old_key.  -ENOENT otherwise, -EBUSY when the heap lock was
 * busy (the ring stays old_off: call again). */
int	 node_dirent_drop_old(struct shmseg *seg, uint32_t owner,
	    uint32_t net, uint32_t peer, uint64_t key);
/* Read a dirent consistently (seqlock).  Returns 0, or -EAGAIN if it
 * kept changing, -ENOENT if it is not UP. */
int	 node_dirent_read(struct shmseg *seg, uint32_t owner, uint32_t net,
	    uint32_t peer, struct shm_dirent *out);

/* ---- ring.c: single-producer single-consumer pair rings -------------- */

/* Bytes a ring of `slots` x `slot_size` needs. */
uint64_t ring_bytes(uint32_t slots, uint32_t slot_size);
/* Largest power-of-two slot count that fits `size` bytes; 0 if < 2. */
uint32_t ring_slots_for(uint64_t size, uint32_t slot_size);
/* Initialise a ring at mem (size bytes).  -EINVAL on bad geometry. */
int	 ring_init(void *mem, uint64_t size, uint32_t slots,
	    uint32_t slot_size, uint16_t from, uint16_t to, uint32_t gen,
	    uint32_t net, uint64_t key);

/* Geometry of a validated ring, copied out of shared memory at attach so
 * that a peer scribbling on the header later cannot move it. */
struct ring_view {
	struct shm_ring_hdr	*hdr;
	struct shm_desc		*desc;
	uint8_t			*data;
	uint32_t		 slots, mask, slot_size, slot_shift;
};

struct ring_tx {
	struct ring_view	 v;
	uint32_t		 widx;		/* private copy */
	uint32_t		 ridx_seen;	/* last ridx read */
};

struct ring_rx {
	struct ring_view	 v;
	uint32_t		 ridx;		/* private copy */
	uint32_t		 widx_seen;
};

/* A reserved place in a ring (tx), or a frame found in one (rx). */
struct ring_slot {
	struct shm_desc		*desc;		/* where the descriptor goes */
	uint8_t			*data;		/* where the frame goes */
	uint32_t		 cap;		/* bytes available at data */
	uint32_t		 len;		/* frame length (rx) */
	uint32_t		 span;		/* slots the frame covers */
	uint32_t		 pad;		/* tx: pad slots before desc */
	uint16_t		 flags;		/* rx: SHM_DESC_* as validated
						 * (the descriptor's own may
						 * change under the reader) */
};

/*
 * Validate the ring at mem (size bytes from a dirent) and attach to it
 * (ring_check only validates; it never writes).
 * Checks magic, key, endpoints, state and geometry.  -EBADMSG when the
 * header is invalid, -ESTALE when key/endpoints do not match, -ENETDOWN
 * when the ring is not UP.
 */
int	 ring_check(void *mem, uint64_t size, uint64_t key, uint16_t from,
	    uint16_t to);
int	 ring_tx_attach(struct ring_tx *tx, void *mem, uint64_t size,
	    uint64_t key, uint16_t from, uint16_t to);
int	 ring_rx_attach(struct ring_rx *rx, void *mem, uint64_t size,
	    uint64_t key, uint16_t from, uint16_t to);

/* Reserve contiguous room for a frame of up to len bytes.  Returns 0,
 * -ENOBUFS when the ring lacks room now, -EMSGSIZE when it never will,
 * -EBADMSG when the consumer's index is corrupt. */
int	 ring_tx_reserve(struct ring_tx *tx, uint32_t len,
	    struct ring_slot *s);
/* Publish a reserved frame of len bytes (len <= s->cap). */
void	 ring_tx_commit(struct ring_tx *tx, const struct ring_slot *s,
	    uint32_t len, uint16_t flags);
/* Copy a frame in: reserve + memcpy + commit.  vnet may be NULL. */
int	 ring_tx_push(struct ring_tx *tx, const void *vnet, const void *frame,
	    uint32_t len);
/* Sleep until the consumer frees room for a frame of len bytes, the ring
 * goes down, or timeout_ms passes.  Returns 0 when the room is there,
 * -ETIMEDOUT otherwise. */
int	 ring_tx_wait(struct ring_tx *tx, uint32_t len, int timeout_ms);
/* Slots the ring holds unread. */
uint32_t ring_tx_used(const struct ring_tx *tx);
/* Ask the receiver for a ring of at least `slots` slots (ring growth);
 * a larger pending request is kept. */
void	 ring_tx_ask_grow(struct ring_tx *tx, uint32_t slots);
/* The producer will not write here again: it moved to the successor. */
void	 ring_tx_moved(struct ring_tx *tx);
/* Slots the producer asked for, 0 if none (receiver side). */
uint32_t ring_grow_req(const struct ring_view *v);
/* 1 when the producer has moved to the successor ring and every frame it
 * wrote here has been read. */
int	 ring_rx_retired(struct ring_rx *rx);

/* Next frame: 1 and *s filled, 0 when empty, -EBADMSG when the ring holds
 * data that cannot be valid (the caller marks the ring corrupt).  A call
 * skips a bounded number of pads: 0 also when it skipped that many
 * without finding a frame (a peer writing pads), and then
 * ring_rx_pending says to come back. */
int	 ring_rx_peek(struct ring_rx *rx, struct ring_slot *s);
/* Consume the frame returned by the last peek. */
void	 ring_rx_consume(struct ring_rx *rx, const struct ring_slot *s);
/* Publish the read index and wake a producer waiting for space. */
void	 ring_rx_publish(struct ring_rx *rx);
/* 1 when there is something to read (or the ring must be looked at). */
int	 ring_rx_pending(struct ring_rx *rx);
/* Lower a ring's state to CORRUPT/DOWN unless it is one of them already;
 * 1 when this call changed it (the caller reports it), else 0. */
int	 ring_mark(struct shm_ring_hdr *hdr, uint32_t state);

/* ---- cast.c: broadcast (ticker-tape) rings --------------------------- */

struct cast_rx {
	struct ring_view	 v;
	uint32_t		 cursor;	/* next slot index to read */
	uint32_t		 last_fseq;	/* frame number last seen */
};

/* Initialise a broadcast ring at mem (size bytes); -EINVAL on geometry. */
int	 cast_init(void *mem, uint64_t size, uint32_t slots,
	    uint32_t slot_size, uint32_t net);
/* Attach a reader, starting at the current write position.  -EBADMSG
 * when the header is invalid. */
int	 cast_attach(struct cast_rx *rx, void *mem, uint64_t size);
/* Write one frame to the broadcast or multicast ring at mem (size bytes,
 * from shmseg_cast or shmseg_mcast) under the ring's lock (recovered
 * from dead holders, waited for at most CAST_LOCK_MS).  Never waits for
 * readers: the oldest slots are overwritten.  Returns 0, -EMSGSIZE if
 * the frame can never fit, -EBADMSG on a corrupt header, -EINVAL
 * without a ring, -ETIMEDOUT when a live writer kept the lock (the
 * frame is counted in the ring's drops). */
#define CAST_LOCK_MS	5
int	 cast_write(struct shmseg *seg, void *mem, uint32_t size,
	    uint32_t self, const void *vnet, const void *frame, uint32_t len);
/* Same, for a ring at mem (size bytes) whose lock the caller holds. */
int	 cast_write_locked(void *mem, uint64_t size, uint32_t self,
	    const void *vnet, const void *frame, uint32_t len);
/*
 * Copy the next frame into buf.  Returns 1 and sets *len, *from and vnet
 * (SHM_VNET_HDR_LEN bytes), 0 when there is nothing new.  Frames lost to
 * overrun (or torn under the reader) are added to *lost.  A call takes a
 * bounded number of steps (resyncs and pads): 0 also when writers kept
 * lapping it all that time, and then cast_pending says to come back.
 */
int	 cast_read(struct cast_rx *rx, void *buf, uint32_t buflen,
	    uint32_t *len, uint8_t *vnet, uint16_t *from, uint64_t *lost);
/* 1 when a frame may be waiting. */
int	 cast_pending(struct cast_rx *rx);
/* Skip everything written so far (a reader that starts following). */
void	 cast_skip(struct cast_rx *rx);

/* ---- mcast.c: multicast ring labels ---------------------------------- */

/* The label of a group MAC (SHM_LABEL_VALID | the 48 bits). */
uint64_t mcast_label(const uint8_t mac[6]);
/* The group MAC of a label. */
void	 mcast_label_mac(uint64_t label, uint8_t mac[6]);
/* 1 when frames to this multicast MAC may take a ring of their own; 0
 * for broadcast and link-local control groups (224.0.0.x, ff02::1,
 * solicited-node, IEEE 01:80:c2:00:00:xx) that every node hears anyway. */
int	 mcast_ring_worthy(const uint8_t mac[6]);
/* Ring labelled `label` on net, or -1. */
int	 mcast_find(struct shmseg *seg, uint32_t net, uint64_t label);
/*
 * The ring for `label`: the one labelled with it, else a free one taken
 * with CAS, else one whose last write is idle_ms old or more (its label
 * replaced).  Sets *taken when this call (re)labelled the ring.  Returns
 * the ring index, or -1 when all rings are busy with other groups.
 */
int	 mcast_take(struct shmseg *seg, uint32_t net, uint64_t label,
	    uint64_t idle_ms, int *taken);

/* ---- bell.c: doorbells with wake suppression ------------------------- */

/* Wake the receiver if it said it sleeps (at most one wake per sleep).
 * Returns 1 if a futex wake was issued. */
int	 bell_ring(struct shm_bell *b);
/* Receiver side: announce sleep, returns the bell value to wait on. */
uint32_t bell_prepare(struct shm_bell *b);
/* Sleep unless the bell moved from `seen`; then clear `sleeping`. */
void	 bell_wait(struct shm_bell *b, uint32_t seen, int timeout_ms);
/* Receiver found work after bell_prepare: clear `sleeping`. */
void	 bell_cancel(struct shm_bell *b);
/* Wake the receiver whether or not it sleeps (shutdown). */
void	 bell_force(struct shm_bell *b);

/* ---- frame.c: Ethernet addressing ------------------------------------ */

#define FRAME_UNICAST	1	/* to one node, *node set */
#define FRAME_CAST	2	/* broadcast or multicast */
#define FRAME_UNKNOWN	3	/* unicast to a MAC that is no node's */
#define FRAME_RUNT	4	/* shorter than an Ethernet header */
#define FRAME_CONTROL	5	/* shmnet control frame (SHM_ETHERTYPE) */

#define SHM_ETHERTYPE	0x88b5	/* IEEE local experimental 1 */

/* MAC of node id on a network: 02:53:4d:4c:HH:LL (local), ..:47:.. (global). */
void	 frame_node_mac(uint32_t net, uint32_t id, uint8_t mac[6]);
/* Classify a frame by destination; sets *node for FRAME_UNICAST. */
int	 frame_classify(uint32_t net, const uint8_t *frame, uint32_t len,
	    uint32_t max_nodes, uint32_t *node);
/* "02:53:4d:4c:00:01" into buf (>= 18 bytes). */
void	 frame_mac_str(const uint8_t mac[6], char *buf, size_t len);
/* The virtio_net_hdr fields frame_vnet_ok knows (linux/virtio_net.h). */
#define FRAME_VNET_NEEDS_CSUM	0x01
#define FRAME_VNET_DATA_VALID	0x02
#define FRAME_GSO_NONE		0
#define FRAME_GSO_TCPV4		1
#define FRAME_GSO_UDP		3
#define FRAME_GSO_TCPV6		4
#define FRAME_GSO_UDP_L4	5
#define FRAME_GSO_ECN		0x80
/* 1 when the virtio_net_hdr at vnet (SHM_VNET_HDR_LEN bytes) is one a
 * TAP could have given with a frame of len bytes, else 0. */
int	 frame_vnet_ok(const uint8_t *vnet, uint32_t len);

/* ---- conntab.c: the global network's connection table --------------- */

struct conn_key {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		proto;		/* IPPROTO_* */
	uint16_t	lport;		/* G side, host order */
	uint16_t	fport;		/* foreign side, host order */
	uint8_t		faddr[16];	/* IPv4 in the first 4 bytes, rest 0 */
	uint8_t		aidx;		/* G's index in the cluster's address
					 * table (gaddr.c); 0 for G6 */
};

/* Idle timeouts, seconds, by state. */
struct conn_timeouts {
	uint32_t	syn, established, closing, udp;
};

/* TCP flags as they appear in the header. */
#define CONN_TCP_FIN	0x01
#define CONN_TCP_SYN	0x02
#define CONN_TCP_RST	0x04
#define CONN_TCP_ACK	0x10

/* Monotonic seconds, the clock of last_seen and created. */
uint32_t conn_now(void);
/* Find a flow without locking.  1 and *out (a consistent copy) and
 * *where (the live entry) when found, else 0. */
int	 conn_lookup(struct shmseg *seg, const struct conn_key *k,
	    struct shm_conn *out, struct shm_conn **where);
/* For readers walking the table: a consistent copy of the flow in slot
 * e (a lookup of the key the slot holds), 1 when it names a node of the
 * cluster, else 0. */
int	 conn_read_slot(struct shmseg *seg, const struct shm_conn *e,
	    struct shm_conn *f);
/* The flow's hash under the segment's key (listen_pick_by). */
uint64_t conn_hash(const struct shmseg *seg, const struct conn_key *k);
/* Insert a flow unless it exists.  1 inserted, 0 it existed (then *out is
 * the existing one), -ENOSPC when both its buckets are full, -EBUSY when
 * a live node kept a bucket's lock CONN_LOCK_MS (stopped holding it: the
 * caller's data path goes on without pinning; that bucket is then only
 * tried, not waited for, for a while).  When both buckets are full, a
 * new flow takes a closing flow's or an echo's place; one past its
 * handshake (state SHM_CONN_EST) also takes the oldest embryonic flow's
 * (a SYN with no handshake completed, a flow never answered) that is
 * older than a second.  An entry of the flow left half-written (its
 * writer died) is written anew.  Node ids in *out come from shared
 * memory: the caller bounds them. */
int	 conn_insert(struct shmseg *seg, uint32_t self, const struct conn_key *k,
	    uint16_t node, uint16_t ingress, uint16_t state, uint32_t now,
	    const struct conn_timeouts *t, struct shm_conn *out,
	    struct shm_conn **where);
/* Account one packet of len bytes (inbound: from the client, G's side
 * for a flow with SHM_CONN_EGRESS) and follow TCP state from its
 * flags. */
void	 conn_touch(struct shm_conn *e, uint32_t now, uint32_t len,
	    uint8_t tcpflags, int inbound);
/* The same, only while e holds the flow a lookup or an insert copied
 * with sequence seq (out->seq). */
void	 conn_account(struct shm_conn *e, uint32_t seq, uint32_t now,
	    uint32_t len, uint8_t tcpflags, int inbound);
/* 1 when a (copied) entry has been idle longer than its state allows. */
int	 conn_expired(const struct shm_conn *e, uint32_t now,
	    const struct conn_timeouts *t);
/* Remove expired flows that entered by `ingress` (0: any) or by a node
 * whose bit (id % 64 of word id / 64) is set in also (NULL: none: the
 * ingress nodes that are gone, whose flows nobody else collects).
 * Returns how many it removed.  A bucket whose lock a live node keeps
 * CONN_LOCK_MS is left for the next call; so in conn_purge_node. */
#define CONN_LOCK_MS	5
uint32_t conn_gc(struct shmseg *seg, uint32_t self, uint16_t ingress,
	    uint32_t now, const struct conn_timeouts *t, const uint64_t *also);
/* Remove every flow node serves (a node gone for good).  Flows that
 * only entered by it stay: another gateway takes them over
 * (conn_rehome). */
uint32_t conn_purge_node(struct shmseg *seg, uint32_t self, uint16_t node);
/* Flow k, entered by node from, enters by node to from now on: 1 done,
 * 0 gone or re-homed by another first, -EBUSY a bucket stayed locked. */
int	 conn_rehome(struct shmseg *seg, uint32_t self,
	    const struct conn_key *k, uint16_t from, uint16_t to);
/* Name of a state for displays. */
const char *conn_state_name(uint16_t stflags);

/* ---- backend.c: weights, drain, flows per backend -------------------- */

/* A node's weight until its daemon says otherwise ([global] weight). */
#define BACKEND_WEIGHT_DEFAULT	1
/* node_claim (weight BACKEND_WEIGHT_DEFAULT), then the daemon of node
 * id: its configured weight (0-255), no override of shmnetctl's, no
 * drain, no counts. */
void	 backend_reset(struct shmseg *seg, uint32_t id, uint32_t weight);
/* The daemon, at a reload that changed its configured weight: the
 * node's weight is that now (shmnetctl's drain stays). */
void	 backend_configure(struct shmseg *seg, uint32_t id, uint32_t weight);
/* shmnetctl: the weight (0-255; 0 takes no new flows) of node id, or of
 * one of its ports (port > 0: any protocol, either family); weight -1
 * gives the port the node's weight again.  0, -EINVAL, -EROFS (the
 * segment is mapped read-only), -ENOSPC (SHM_BACKEND_PORTS ports have
 * their own setting already). */
int	 backend_set_weight(struct shmseg *seg, uint32_t id, int port,
	    int weight);
/* shmnetctl: drain (1: no new flows, its flows go on) or undrain (0)
 * node id, or one of its ports.  Errors as backend_set_weight. */
int	 backend_set_drain(struct shmseg *seg, uint32_t id, int port,
	    int drain);
struct backend_view {
	uint32_t	weight;		/* the node's, or the port's own */
	uint32_t	conf_weight;	/* the configuration's */
	int		port_set;	/* the port has its own weight */
	int		drained;	/* the node or the port */
	int		stalled;	/* backend_set_stalled */
};
/* How node id takes new flows to port (0: the node as a whole). */
void	 backend_view(struct shmseg *seg, uint32_t id, uint16_t port,
	    struct backend_view *v);
/* Count one flow of service key (struct shm_svc) picked for node id;
 * how many were. */
void	 backend_count(struct shmseg *seg, uint32_t id, uint32_t key);
uint64_t backend_flows(struct shmseg *seg, uint32_t id, uint32_t key);
/* This process only: node id stopped answering (its daemon lives, its
 * heartbeat stands still); it takes no new flow until cleared. */
void	 backend_set_stalled(struct shmseg *seg, uint32_t id, int stalled);
int	 backend_stalled(struct shmseg *seg, uint32_t id);

/* ---- gaddr.c: the cluster addresses and the nodes that carry them --- */

/* The cluster's IPv4 addresses by index (0 .. SHM_GADDR_MAX - 1),
 * validated: out[i] is index i's address (network order), 0 when it has
 * none; returns the mask of indexes that have one.  *seen (may be NULL):
 * the first index past 0 found empty, for gaddr_more. */
uint32_t gaddr_read(struct shmseg *seg, uint32_t out[SHM_GADDR_MAX],
	    uint32_t *seen);
/* The index of address a (network order), or -ENOENT. */
int	 gaddr_find(struct shmseg *seg, uint32_t a);
/* The index of address a, the lowest free one taken with CAS when a has
 * none; every node and reader agrees on it from then on.  Returns it,
 * or -ENOSPC (SHM_GADDR_MAX addresses have an index already), -EINVAL
 * (a is not a unicast address), -EROFS (the handle may not write). */
int	 gaddr_claim(struct shmseg *seg, uint32_t a);
/* 1 when index seen (gaddr_read's *seen) has an entry now: the table
 * grew since it was read.  One atomic load. */
int	 gaddr_more(struct shmseg *seg, uint32_t seen);
/* Node id carries the addresses of mask (bit i: index i), published by
 * its daemon before the node goes UP. */
void	 gaddr_publish(struct shmseg *seg, uint32_t id, uint32_t mask);
/* The indexes node id carries (an older build's node: index 0). */
uint32_t gaddr_carried(struct shmseg *seg, uint32_t id);
/* The UP node that carries address index aidx chosen by hash h (the
 * one that answers a ping to it): 0 and *node, or -ENOENT. */
int	 gaddr_pick(struct shmseg *seg, uint32_t aidx, uint64_t h,
	    uint32_t *node);
/* The name of index i in displays: "G" for 0, "G#i" for others. */
void	 gaddr_name(uint32_t i, char *buf, size_t len);

/* ---- listen.c: published listeners and the choice of a serving node -- */

/* Publish node id's listeners (at most SHM_LISTEN_MAX; returns how many
 * were published). */
uint32_t listen_publish(struct shmseg *seg, uint32_t id,
	    const struct shm_listen *l, uint32_t n);
/* Copy node id's listeners out consistently; returns the count. */
uint32_t listen_read(struct shmseg *seg, uint32_t id, struct shm_listen *out);
#define LISTEN_V4	0x01
#define LISTEN_V6	0x02
/* The families (LISTEN_V4, LISTEN_V6) in which some UP node listens for
 * new clients. */
unsigned listen_families(struct shmseg *seg);
/* The IPv4 cluster addresses (bit i: index i) some UP node that carries
 * the address listens on for new clients (bound to it, or wildcard). */
uint32_t listen_addresses(struct shmseg *seg);
/*
 * Choose the node that serves a new flow to cluster address k->aidx (G6
 * for family 6): among UP nodes that carry the address and are in
 * rotation (weight above 0, not drained or stalled), those whose
 * listeners in rotation (not full, not failing their check) match best
 * (a connected socket for this very peer, then a socket bound to that
 * address, then a wildcard socket); several -> the service's
 * cluster-wide weighted rotation.  When every node is full or stalled,
 * among those anyway.  Counts the flow for the service and the node.
 * 0 and *node, or -ENOENT.
 */
int	 listen_pick(struct shmseg *seg, const struct conn_key *k,
	    uint32_t *node);
/* The node that serves flow k by its hash (conn_hash), among every UP
 * node listening for it whatever its weight, drain or health: every
 * packet of a flow the connection table could not record goes to the
 * same node while the listeners stay.  Counts nothing. */
int	 listen_pick_by(struct shmseg *seg, const struct conn_key *k,
	    uint64_t hash, uint32_t *node);
/* Who serves flow k, whatever the weights, drains or health: the UP
 * nodes whose listeners match it best.  Whether node self is one, and
 * in *other another one (0: none). */
int	 listen_serves(struct shmseg *seg, uint32_t self,
	    const struct conn_key *k, uint32_t *other);
/* The key of service (family, address index, proto, port): struct
 * shm_svc.key. */
uint32_t svc_key(uint8_t family, uint8_t aidx, uint8_t proto, uint16_t port);
/* Take the next position in service key's rotation (counts the flow). */
uint64_t svc_take(struct shmseg *seg, uint32_t key);
/* Service key's entry, NULL when it has none (no flow yet). */
const struct shm_svc *svc_find(struct shmseg *seg, uint32_t key);
/* Its flows that began in the last whole second before now_s (monotonic
 * seconds, conn_now). */
uint32_t svc_rate(const struct shm_svc *e, uint32_t now_s);

/* ---- pkt.c: what the global network routes by ------------------------ */

#define PKT_TO_G	1	/* a client's packet: dst is a cluster
				 * address G (key.aidx its index) */
#define PKT_FROM_G	2	/* a server's packet: src is G */
#define PKT_NOT_G	3	/* neither: the key is seen from the source
				 * (faddr = dst, lport = source port) */
#define PKT_ECHO_REQUEST 1	/* pkt_info.echo */
#define PKT_ECHO_REPLY	2
#define PKT_FRAG_FIRST	1	/* first fragment of several (has ports) */
#define PKT_FRAG_LATER	2	/* a later fragment (no ports) */

struct pkt_info {
	int		dir;		/* PKT_TO_G / PKT_FROM_G / PKT_NOT_G */
	struct conn_key	key;		/* the flow, seen from G */
	uint8_t		tcpflags;
	uint8_t		frag;		/* PKT_FRAG_* or 0 */
	uint8_t		icmp_error;	/* key taken from the quoted packet */
	uint8_t		echo;		/* ICMP echo (PKT_ECHO_*): lport =
					 * identifier */
	uint16_t	ip_id;
	uint8_t		src4[4], dst4[4];	/* IPv4 (family 4) */
	uint8_t		src6[16], dst6[16];	/* IPv6 (family 6) */
	uint32_t	frag_id;	/* IPv6 fragment identification */
	uint32_t	l3len;		/* IP datagram length */
};

/* What G is: the cluster addresses, IPv4 by index (gaddr.c), and (if
 * has6) IPv6. */
struct pkt_g {
	uint32_t	g4[SHM_GADDR_MAX];	/* index i's, network order;
					 * 0: none */
	int		has6;
	uint8_t		g6[16];
};

/* Parse an Ethernet frame of the global network: IPv4 or (when g->has6)
 * IPv6, to or from a cluster address (the key names it by index: the
 * destination's when both are), or neither (PKT_NOT_G: any ICMP message
 * is taken, with no ports unless an echo).  0 and *pi, or -1 when it is
 * not IP, is malformed, or carries what the global network does not
 * route (a protocol but TCP, UDP and ICMP; an ICMP message to or from G
 * but an echo or an error about a flow of G). */
int	 pkt_parse(const uint8_t *frame, uint32_t len, const struct pkt_g *g,
	    struct pkt_info *pi);

/* ---- svcview.c: services and backends, as a reader sees them -------- */

/* A backend's state. */
#define SVC_ACTIVE	0	/* takes new flows */
#define SVC_DRAINING	1	/* weight 0 or drained, flows left */
#define SVC_DRAINED	2	/* ... none left */
#define SVC_DOWN	3	/* queue full, check failing, node down or
				 * seen stalled by this process */
#define SVC_CLOSED	4	/* listens no more, flows left */

/* A service of a cluster address (family 4, its index aidx) or of G6
 * (family 6, aidx 0): the address, its new flows (ever, and in the last
 * whole second) and its flows now, active (established TCP, UDP) and
 * inactive (handshakes, closing). */
struct svc_info {
	uint32_t	family, aidx, proto, port;
	uint8_t		addr[16];	/* IPv4 in the first 4 bytes */
	uint64_t	flows;
	uint32_t	rate, active, inactive, backends;
};

/* A node under a service: its weight and SVC_* state, its flows now,
 * those picked for it since its daemon started, its check (SHM_CHECK_*
 * and CLOCK_REALTIME seconds of its last change) and accept queue. */
struct svc_backend {
	uint32_t	service;	/* index in svc_table.s */
	uint32_t	node, weight, state, active, inactive;
	uint64_t	flows;
	uint32_t	check;
	uint64_t	check_since;
	uint32_t	queue, queue_max;
	uint32_t	listens, full, failing;	/* its listeners */
};

struct svc_table {
	struct svc_info		*s;	/* by family, address, protocol,
					 * port */
	struct svc_backend	*b;	/* by service, then node */
	size_t			 ns, nb, caps, capb;
	uint32_t		 max_nodes;
	uint32_t		*bidx;	/* while reading: where each is */
	uint32_t		 g4[SHM_GADDR_MAX];	/* the address table */
	uint32_t		 mask4;	/* ... its indexes in use */
	uint8_t			 g6[16];
};

/* Read the services of the cluster and their backends (at most
 * SHM_SVC_SLOTS services); 0 or -ENOMEM. */
int	 svc_table_read(struct shmseg *seg, struct svc_table *v);
void	 svc_table_free(struct svc_table *v);
const char *svc_state_name(uint32_t state);
const char *svc_check_name(uint32_t check);

/* ---- metrics.c: the cluster as Prometheus metrics -------------------- */

/* What an HTTP reply carrying metrics_write's text says it is. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/*
 * Write every metric family of the cluster (shmnetctl(8), METRICS) to fp
 * in Prometheus' text exposition format 0.0.4, reading the segment only.
 * Every sample has a cluster label.  Returns 0, -ENOMEM, or -EIO when
 * writing to fp failed.
 */
int	 metrics_write(struct shmseg *seg, FILE *fp);

#endif /* SHMNET_H */
