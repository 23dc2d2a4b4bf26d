/*
 * txpath.c: the transmit thread of a network, TAP -> rings.
 *
 * Frames are read from the TAP with their virtio_net_hdr.  Where it can,
 * the thread reads straight into ring memory: it predicts that a frame
 * goes where the previous unicast frame went, reserves room for a maximal
 * frame in that ring, reads into it and commits if the prediction held
 * (the common case for a stream).  Otherwise it reads into a staging
 * buffer and copies.  Destination: unicast by MAC to the peer's pair ring,
 * multicast to its group's multicast ring when it has or can take one,
 * other multicast and broadcast to the broadcast ring; anything else is
 * dropped and counted.  After a small frame the frames queued behind it
 * are read io-batch at a time, one system call a batch (tx_batch).
 * During a stream (large frames, or small ones queued) the reads do not
 * block for the busy-poll window (tx_read), and when the TAP is empty the
 * thread delivers what waits in the node's rings (rx_help, rxpath.c)
 * before it yields.  A full ring makes the thread
 * wait for room (the consumer wakes it), up to TX_WAIT_MS; a consumer
 * that made no room in that time is marked stalled and its frames
 * dropped until it moves again.
 *
 * A zero-copy read blocks with room reserved in a peer's ring for as long
 * as the TAP stays quiet, and the peer may leave or die meanwhile.  The
 * main loop kicks the thread out of the read when that peer's directory
 * moves, up or down (rs_kick), and a frame read is committed only if its
 * ring is still the one the peer publishes for us (tx_zc_valid), else
 * dropped.  Before the thread writes into a ring or reads into it, it
 * names the ring in the segment as its hazard and then checks that the
 * ring is still published (tx_hazard, tx_peer); the heap reuses and
 * punches out no page of a ring a live node names.  So a read that
 * blocks past the ring's retirement, or a thread stopped in the middle
 * of a copy, writes only into memory nobody else has, and takes no
 * SIGBUS on a full /dev/shm.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "gnet.h"
#include "log.h"
#include "mcast.h"
#include "rxpath.h"
#include "shmnetd.h"
#include "tapio.h"
#include "txpath.h"
#include "wake.h"

#define TX_WAIT_MS         20
#define TX_GROW_MS         50 /* wait for a larger ring at most this */
#define TX_STOP_SIGNAL     SIGUSR1
#define TX_BATCH_BELOW     4096 /* frames up to this size start a batch */
#define TX_FLOOD_BATCH     8    /* frames batched after one: a flood */
#define TX_FLOOD_EVERY     256  /* within a flood, follow every so many */
#define TX_CAST_BACKOFF_MS 100  /* a cast ring whose lock is kept */

/* Transmit state toward one peer (tx thread). */
struct txpeer {
	struct ring_tx ring;
	uint64_t off, key;    /* the ring's, as the peer's dirent said */
	uint64_t hazard;      /* its tx_hazard word (heap_hazard_word) */
	uint32_t gen;         /* peer generation attached to */
	uint32_t dir_version; /* peer's dir_version at attach */
	int ok;
	int stalled; /* consumer made no room in time */
	uint32_t stalled_ridx;
	int grow_failed; /* asked for a larger ring in vain */
};

struct tx {
	struct shmseg *seg;
	uint32_t self, gen, max_nodes;
	const struct notify *notify;
	struct handoff_net *h;
	const struct netif *ni;
	struct rx *rx;   /* rx_help while polling */
	struct gnet *gn; /* global network, or NULL */
	pthread_t thread;
	int started; /* main thread's */

	_Atomic uint64_t *hazard; /* our node's tx_hazard for this network */

	/* the tx thread's */
	struct tapio io;
	struct txpeer *peer; /* [max_nodes + 1] */
	uint32_t predict;    /* last unicast destination */
	/* broadcast ring [0], multicast ring i [i + 1]: not waited for
	 * until this clock_ms(), 0: no backoff */
	uint64_t cast_busy_ms[1 + SHM_MCAST_MAX];
};

/* tx_new: per-peer transmit state. */
struct tx *
tx_new(const struct handoff *ho, struct handoff_net *h, const struct netif *ni,
    struct rx *rx, struct gnet *gn)
{
	struct tx *tx;

	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return NULL;
	tx->seg = ho->seg;
	tx->self = ho->self;
	tx->gen = ho->gen;
	tx->max_nodes = ho->max_nodes;
	tx->notify = &ho->notify;
	tx->h = h;
	tx->ni = ni;
	tx->rx = rx;
	tx->gn = gn;
	tx->hazard = &ho->node->tx_hazard[ni->net];
	if ((tx->peer = calloc(tx->max_nodes + 1, sizeof(*tx->peer))) == NULL) {
		free(tx);
		return NULL;
	}
	return tx;
}

/* tx_free: undo tx_new (the thread has stopped). */
void
tx_free(struct tx *tx)
{
	if (tx == NULL)
		return;
	free(tx->peer);
	free(tx);
}

/* tx_seen: tell the main thread which dir_version of peer id we are
 * attached at (0: not attached); relaxed, a hint (shmnetd.h). */
static void
tx_seen(struct tx *tx, uint32_t id, uint32_t dv)
{
	atomic_store_explicit(&tx->h->tx_seen_dv[id], dv, memory_order_relaxed);
}

/* tx_move: the peer replaced the ring we write (growth or shrink): say
 * in the old one that we are done with it, so that its reader moves on
 * to the new one once it has read everything, and wake the reader to
 * see it: an idle one sleeps until rung, and the old ring's memory goes
 * back only once it has moved on. */
static void
tx_move(struct tx *tx, uint32_t id, struct txpeer *p, uint32_t gen,
    const struct shm_dirent *de)
{
	struct shm_ring_hdr *h = p->ring.v.hdr;

	if (p->ok && p->gen == gen && de->old_off != 0 &&
	    de->old_key == h->key && de->key != h->key) {
		ring_tx_moved(&p->ring);
		wake_node(tx->seg, tx->ni->net, id);
	}
}

/* tx_attach: (re)attach to the ring peer id published for us. */
static int
tx_attach(struct tx *tx, uint32_t id, struct txpeer *p, uint32_t gen,
    uint32_t dv)
{
	struct shm_dirent de;
	void *mem;

	if (node_dirent_read(tx->seg, id, tx->ni->net, tx->self, &de) != 0 ||
	    de.peer_gen != tx->gen) {
		p->ok = 0;
		tx_seen(tx, id, 0);
		return -1;
	}
	tx_move(tx, id, p, gen, &de);
	p->ok = 0;
	tx_seen(tx, id, 0);
	if ((mem = shmseg_ring(tx->seg, de.off, de.size)) == NULL ||
	    ring_tx_attach(&p->ring, mem, de.size, de.key, (uint16_t)tx->self,
		(uint16_t)id) != 0)
		return -1;
	p->off = de.off;
	p->key = de.key;
	p->hazard = heap_hazard_word(tx->seg, de.off, de.size);
	p->gen = gen;
	p->dir_version = dv;
	p->stalled = 0;
	p->grow_failed = 0;
	p->ok = 1;
	tx_seen(tx, id, dv);
	return 0;
}

/* tx_zc_valid: is the ring p names (a zero-copy read reserved room in it,
 * or it was just named our hazard) still the one peer id publishes for
 * us?  Its directory unchanged says so (a ring
 * is retired, dir_version bumped, before it is freed); else its dirent
 * must still name it, as the current ring or as the replaced one, which
 * is drained before it is freed. */
static int
tx_zc_valid(struct tx *tx, const struct txpeer *p, uint32_t id)
{
	struct shm_node *n = shmseg_node(tx->seg, id);
	struct shm_dirent de;

	if (n == NULL || !p->ok ||
	    atomic_load_explicit(&n->state, memory_order_acquire) !=
		SHM_NODE_UP ||
	    atomic_load_explicit(&n->gen, memory_order_relaxed) != p->gen)
		return 0;
	/* acquire: pairs with the release in node_dir_bump */
	if (atomic_load_explicit(&n->dir_version, memory_order_acquire) ==
	    p->dir_version)
		return 1;
	if (node_dirent_read(tx->seg, id, tx->ni->net, tx->self, &de) != 0 ||
	    de.peer_gen != tx->gen)
		return 0;
	return (de.off == p->off && de.key == p->key) ||
	    (de.old_off == p->off && de.old_key == p->key);
}

/* tx_hazard: name the ring we are about to write (or read into) as our
 * hazard, before checking that it is still published: then either we
 * see it retired, or whoever frees its pages sees the hazard and keeps
 * them (heap.c), however long we take to write. */
static void
tx_hazard(struct tx *tx, uint64_t w)
{
	if (atomic_load_explicit(tx->hazard, memory_order_relaxed) == w)
		return;
	atomic_store_explicit(tx->hazard, w, memory_order_relaxed);
	/* seq_cst: pairs with the fence in heap_hazards */
	atomic_thread_fence(memory_order_seq_cst);
}

/* tx_peer: a usable ring toward id, re-validated against the directory
 * after it is named our hazard. */
static struct txpeer *
tx_peer(struct tx *tx, uint32_t id)
{
	struct shm_node *n = shmseg_node(tx->seg, id);
	struct txpeer *p;
	uint32_t gen, dv;

	if (n == NULL || id == tx->self ||
	    atomic_load_explicit(&n->state, memory_order_acquire) !=
		SHM_NODE_UP) {
		if (n != NULL) {
			tx->peer[id].ok = 0;
			tx_seen(tx, id, 0);
		}
		return NULL;
	}
	p = &tx->peer[id];
	if (p->ok)
		tx_hazard(tx, p->hazard);
	gen = atomic_load_explicit(&n->gen, memory_order_relaxed);
	/* acquire: pairs with the release in node_dir_bump */
	dv = atomic_load_explicit(&n->dir_version, memory_order_acquire);
	if (p->ok && p->gen == gen && p->dir_version == dv &&
	    atomic_load_explicit(&p->ring.v.hdr->state, memory_order_relaxed) ==
		SHM_RING_UP)
		return p;
	if (tx_attach(tx, id, p, gen, dv) != 0)
		return NULL;
	/* the ring attached to is named, then still published? */
	tx_hazard(tx, p->hazard);
	if (!tx_zc_valid(tx, p, id)) {
		p->ok = 0;
		tx_seen(tx, id, 0);
		return NULL;
	}
	return p;
}

/* tx_corrupt: the consumer side of a ring holds nonsense. */
static void
tx_corrupt(struct tx *tx, struct txpeer *p, uint32_t id)
{
	p->ok = 0;
	if (ring_mark(p->ring.v.hdr, SHM_RING_CORRUPT)) {
		atomic_fetch_add_explicit(&tx->ni->stats->corrupt, 1,
		    memory_order_relaxed);
		log_warnx("%s: ring to node %u has a corrupt read index; "
			  "marked down",
		    tx->ni->name, id);
	}
	notify_send(tx->notify, NOTIFY_MEMBERS);
}

/* tx_full: wait for room in p's ring; 0 if there is room now. */
static int
tx_full(struct tx *tx, struct txpeer *p, uint32_t id, uint32_t len)
{
	uint32_t r = atomic_load_explicit(&p->ring.v.hdr->ridx,
	    memory_order_relaxed);

	if (p->stalled && r == p->stalled_ridx)
		return -1;
	p->stalled = 0;
	wake_node(tx->seg, tx->ni->net, id);
	if (ring_tx_wait(&p->ring, len, TX_WAIT_MS) == 0)
		return 0;
	p->stalled = 1;
	p->stalled_ridx = atomic_load_explicit(&p->ring.v.hdr->ridx,
	    memory_order_relaxed);
	return -1;
}

/* tx_grow: the frame does not fit the ring toward id at all: ask for a
 * larger ring and wait (up to TX_GROW_MS) for the peer to publish it.  A
 * peer that did not (stopped, or out of memory) is asked again at every
 * such frame but not waited for, until its directory moves: the other
 * peers' frames queue behind this thread. */
static struct txpeer *
tx_grow(struct tx *tx, struct txpeer *p, uint32_t id, uint32_t len)
{
	struct shm_node *n = shmseg_node(tx->seg, id);
	struct timespec ts = { 0, 100 * 1000 };
	uint32_t dv = p->dir_version, i;

	ring_tx_ask_grow(&p->ring,
	    4 * ((len + p->ring.v.slot_size - 1) / p->ring.v.slot_size));
	wake_node(tx->seg, tx->ni->net, id);
	if (p->grow_failed)
		return NULL; /* asked again; no waiting until it moves */
	for (i = 0; i < TX_GROW_MS * 10; i++) {
		if (atomic_load_explicit(&n->dir_version,
			memory_order_acquire) != dv)
			return tx_peer(tx, id);
		nanosleep(&ts, NULL);
	}
	p->grow_failed = 1;
	return NULL;
}

/* tx_unicast: copy a frame into the pair ring toward id. */
static void
tx_unicast(struct tx *tx, uint32_t id, const uint8_t *vnet,
    const uint8_t *frame, uint32_t len)
{
	struct txpeer *p, *q;
	int rc;

	if ((p = tx_peer(tx, id)) == NULL) {
		stat_add(&tx->ni->stats->drop_down, 1);
		return;
	}
	rc = ring_tx_push(&p->ring, vnet, frame, len);
	if (rc == -EMSGSIZE && len <= SHM_FRAME_MAX &&
	    (q = tx_grow(tx, p, id, len)) != NULL)
		rc = ring_tx_push(&(p = q)->ring, vnet, frame, len);
	if (rc == -ENOBUFS) {
		ring_tx_ask_grow(&p->ring, 2 * p->ring.v.slots);
		if (tx_full(tx, p, id, len) == 0)
			rc = ring_tx_push(&p->ring, vnet, frame, len);
	}
	switch (rc) {
	case 0:
		p->stalled = 0;
		wake_node(tx->seg, tx->ni->net, id);
		tx->predict = id;
		break;
	case -ENOBUFS:
		stat_add(&tx->ni->stats->drop_full, 1);
		atomic_fetch_add_explicit(&p->ring.v.hdr->drops, 1,
		    memory_order_relaxed);
		break;
	case -EBADMSG:
		tx_corrupt(tx, p, id);
		break;
	default:
		atomic_fetch_add_explicit(&p->ring.v.hdr->drops, 1,
		    memory_order_relaxed);
	}
}

/* tx_cast: a broadcast or multicast frame: to the group's multicast ring
 * (waking the nodes that follow it) or to the broadcast ring (waking
 * all).  A ring whose lock a live writer kept for CAST_LOCK_MS (stopped
 * holding it) is not waited for again for TX_CAST_BACKOFF_MS: its frames
 * are dropped at once, so the thread loses at most CAST_LOCK_MS every
 * TX_CAST_BACKOFF_MS to it. */
static void
tx_cast(struct tx *tx, const uint8_t *vnet, const uint8_t *frame, uint32_t len)
{
	uint32_t net = tx->ni->net, size;
	int ring, relabelled, rc;
	uint64_t *busy;
	void *mem;

	ring = mc_tx_ring(tx->seg, net, frame, &relabelled);
	mem = ring < 0 ? shmseg_cast(tx->seg, net, &size) :
			 shmseg_mcast(tx->seg, net, (uint32_t)ring, &size);
	busy = &tx->cast_busy_ms[ring + 1];
	if (*busy != 0 && clock_ms() < *busy) {
		rc = -ETIMEDOUT; /* counted as cast_write counts it */
		atomic_fetch_add_explicit(&((struct shm_ring_hdr *)mem)->drops,
		    1, memory_order_relaxed);
	} else if ((rc = cast_write(tx->seg, mem, size, tx->self, vnet, frame,
			len)) == -ETIMEDOUT)
		*busy = clock_ms() + TX_CAST_BACKOFF_MS;
	if (rc != 0) {
		stat_add(&tx->ni->stats->drop_full, 1);
		return;
	}
	*busy = 0;
	if (ring < 0 || relabelled)
		wake_all(tx->seg, tx->self, net);
	else
		wake_followers(tx->seg, tx->self, net, (uint32_t)ring);
}

/* tx_zc_reserve: reserve room in the predicted ring for a zero-copy
 * read. */
struct txpeer *
tx_zc_reserve(struct tx *tx, struct ring_slot *slot)
{
	struct txpeer *p;

	if (tx->predict == 0 || (p = tx_peer(tx, tx->predict)) == NULL ||
	    p->stalled)
		return NULL;
	if (ring_tx_reserve(&p->ring, SHM_FRAME_MAX, slot) != 0)
		return NULL;
	return p;
}

/* tx_to_node: send a frame to node id: commit it where it was read when
 * it was read into id's ring, else copy it there. */
static void
tx_to_node(struct tx *tx, struct txpeer *zc, struct ring_slot *slot,
    uint32_t id, const uint8_t *vnet, const uint8_t *frame, uint32_t len)
{
	if (zc != NULL && id == tx->predict) {
		ring_tx_commit(&zc->ring, slot, len, SHM_DESC_VNET);
		stat_add(&tx->ni->stats->zero_copy, 1);
		wake_node(tx->seg, tx->ni->net, id);
	} else
		tx_unicast(tx, id, vnet, frame, len);
}

/* tx_global: a frame of the global network goes where its flow goes. */
static void
tx_global(struct tx *tx, struct txpeer *zc, struct ring_slot *slot,
    const uint8_t *vnet, uint8_t *frame, uint32_t len)
{
	const struct port *out = &tx->ni->out;
	uint32_t id = gnet_route(tx->gn, frame, len);

	if (id == 0)
		return;
	gnet_macs(tx->gn, frame, id);
	if (id == tx->self) {
		stat_add(&tx->ni->stats->looped, 1);
		if (out->ops->output(out->ctx, vnet, frame, len) != 0)
			atomic_fetch_add_explicit(&tx->ni->stats->drop_tap, 1,
			    memory_order_relaxed); /* rx counts there too */
	} else
		tx_to_node(tx, zc, slot, id, vnet, frame, len);
}

/* tx_frame: route one frame read from the TAP (frame is ours to edit:
 * ring memory we reserved, or the staging buffer). */
static void
tx_frame(struct tx *tx, struct txpeer *zc, struct ring_slot *slot,
    const uint8_t *vnet, uint8_t *frame, uint32_t len)
{
	uint32_t id = 0;

	stat_add(&tx->ni->stats->tx_frames, 1);
	stat_add(&tx->ni->stats->tx_bytes, len);
	if (tx->gn != NULL && !(len >= SHM_FRAME_MIN && (frame[0] & 1))) {
		tx_global(tx, zc, slot, vnet, frame, len);
		return;
	}
	switch (frame_classify(tx->ni->net, frame, len, tx->max_nodes, &id)) {
	case FRAME_UNICAST:
		if (id == tx->self)
			stat_add(&tx->ni->stats->drop_unknown, 1);
		else
			tx_to_node(tx, zc, slot, id, vnet, frame, len);
		break;
	case FRAME_CAST:
		tx_cast(tx, vnet, frame, len);
		break;
	default:
		stat_add(&tx->ni->stats->drop_unknown, 1);
	}
}

/* tx_zc_frame: send a frame that a read put where tx_zc_reserve said
 * (zc NULL: into a buffer of the caller's).  The read may have blocked
 * for long, the ring it went into retired meanwhile and its memory given
 * to another ring: such a frame is dropped, never committed there nor
 * copied from there (its bytes may be another ring's). */
void
tx_zc_frame(struct tx *tx, struct txpeer *zc, struct ring_slot *slot,
    const uint8_t *vnet, uint8_t *frame, uint32_t len)
{
	if (zc != NULL && !tx_zc_valid(tx, zc, (uint32_t)(zc - tx->peer))) {
		stat_add(&tx->ni->stats->tx_frames, 1);
		stat_add(&tx->ni->stats->tx_bytes, len);
		stat_add(&tx->ni->stats->drop_down, 1);
		return;
	}
	tx_frame(tx, zc, slot, vnet, frame, len);
}

/* tx_sweep: re-validate every ring we are attached to (moving to the
 * rings that replaced them): the main loop kicked us. */
static void
tx_sweep(struct tx *tx)
{
	uint32_t id;

	for (id = 1; id <= tx->max_nodes; id++)
		if (tx->peer[id].ok)
			tx_peer(tx, id);
}

/* A busy-poll window on the TAP (tx thread only). */
struct txpoll {
	uint64_t until_us;      /* 0: reads block */
	int off;                /* RWF_NOWAIT refused: never poll */
	struct txfollow follow; /* the sender's CPU (follow.c) */
};

/* Staging for batched reads (tx thread only). */
struct txbatch {
	uint8_t *buf;   /* depth x SHM_FRAME_MAX */
	uint32_t depth; /* io-batch, 1 without io_uring, 0:
					 * no staging (out of memory) */
	uint8_t vnet[TAPIO_MAX][SHM_VNET_HDR_LEN];
	struct iovec iov[TAPIO_MAX][2];
	uint32_t miss, skip; /* back-off after empty batches */
};

/* tx_batch_init: staging buffers, io-batch of them with io_uring, one
 * without (a nonblocking read then still tells a backlog, which opens
 * the busy-poll window, from a lone frame). */
static void
tx_batch_init(struct tx *tx, struct txbatch *b)
{
	uint32_t i, depth = tx->io.ring != NULL ? tx->io.depth : 1;

	memset(b, 0, sizeof(*b));
	if ((b->buf = malloc((size_t)depth * SHM_FRAME_MAX)) == NULL) {
		tapio_close(&tx->io);
		return;
	}
	b->depth = depth;
	for (i = 0; i < depth; i++) {
		b->iov[i][0].iov_base = b->vnet[i];
		b->iov[i][0].iov_len = SHM_VNET_HDR_LEN;
		b->iov[i][1].iov_base = b->buf + (size_t)i * SHM_FRAME_MAX;
		b->iov[i][1].iov_len = SHM_FRAME_MAX;
	}
}

/* tx_batch_read: fill res with what reads into the staging buffers
 * gave, one io_uring batch or one preadv2 without io_uring; returns how
 * many res holds.  A batch that failed keeps what it read; tapio_rw
 * closed the ring, and the next batches are one preadv2 each (as they
 * are once rx_help's batched writes failed). */
static uint32_t
tx_batch_read(struct tx *tx, struct txbatch *b, int32_t *res)
{
	uint32_t depth = b->depth;
	ssize_t n;

	if (tx->io.ring != NULL) {
		if (tapio_rw(&tx->io, 0, b->iov, depth, res) != 0)
			b->depth = 1;
		return depth;
	}
	b->depth = 1;
	n = preadv2(tx->ni->tap.fd, b->iov[0], 2, -1, RWF_NOWAIT);
	res[0] = n >= 0 ? (int32_t)n : -errno;
	return 1;
}

/* tx_batch_one: one batch of nonblocking reads; frames sent. */
static int
tx_batch_one(struct tx *tx, struct txbatch *b)
{
	int32_t res[TAPIO_MAX];
	uint32_t i, depth;
	int got = 0;

	depth = tx_batch_read(tx, b, res);
	for (i = 0; i < depth; i++) {
		if (res[i] <= SHM_VNET_HDR_LEN)
			continue; /* -EAGAIN: the TAP ran dry */
		got++;
		tx_frame(tx, NULL, NULL, b->vnet[i], b->iov[i][1].iov_base,
		    (uint32_t)res[i] - SHM_VNET_HDR_LEN);
	}
	return got;
}

/* tx_poll_arm: a large frame (a stream) or a backlog of small ones
 * (batched > 0) opens a busy-poll window: the sender of a stream keeps
 * this thread runnable instead of waking it for each frame.  A lone
 * small frame (ping-pong, ACKs) does not, so that the pollers do not
 * crowd the applications of a request/response exchange. */
static void
tx_poll_arm(struct tx *tx, struct txpoll *tp, uint32_t len, int batched)
{
	uint32_t poll_us = atomic_load_explicit(&tx->h->busy_poll_us,
	    memory_order_relaxed);

	if (len <= TX_BATCH_BELOW && batched == 0)
		return;
	follow_tx_stream(tx->ni, tx->h, &tp->follow, len > TX_BATCH_BELOW,
	    batched >= TX_FLOOD_BATCH);
	if (poll_us && !tp->off)
		tp->until_us = clock_us() + poll_us;
}

/* tx_stopping: has the main thread asked the thread to leave? */
static int
tx_stopping(const struct tx *tx)
{
	return atomic_load_explicit(&tx->h->stop, memory_order_acquire);
}

/* tx_batch: after a small frame, take what else the TAP holds, io-batch
 * frames per system call, into staging buffers (each then copied into
 * its ring), until a batch comes back short.  Large frames keep their
 * zero-copy read: copying 64 KiB costs more than the call it saves.  A
 * batch that finds nothing makes the next tries rarer (every 63rd small
 * frame at most), so sparse traffic pays almost nothing for it.  A
 * flood can keep the loop going for seconds: the sender's CPU is
 * followed (tx_poll_arm) as soon as it is one, and every TX_FLOOD_EVERY
 * frames after, not only when the loop ends.  Returns the frames it
 * sent. */
static int
tx_batch(struct tx *tx, struct txbatch *b, struct txpoll *tp, uint32_t len)
{
	int got, first = 1, all = 0, next = TX_FLOOD_BATCH;

	if (b->depth == 0 || len > TX_BATCH_BELOW)
		return 0;
	if (b->skip > 0) {
		b->skip--;
		return 0;
	}
	do {
		got = tx_batch_one(tx, b);
		all += got;
		if (first && got == 0) {
			b->miss = b->miss * 2 + 1 < 63 ? b->miss * 2 + 1 : 63;
			b->skip = b->miss;
		} else
			b->miss = 0;
		first = 0;
		if (all >= next) {
			tx_poll_arm(tx, tp, len, all);
			next = all + TX_FLOOD_EVERY;
		}
	} while (got == (int)b->depth && !tx_stopping(tx));
	return all;
}

/* tx_read: one frame from the TAP.  Blocking, except in a busy-poll
 * window (tp->until_us): then the read does not wait (RWF_NOWAIT) and an
 * empty TAP yields the CPU and answers -1/EAGAIN until the window ends;
 * meanwhile this thread delivers what waits in the pair rings (rx_help:
 * the stream's ACKs). */
static ssize_t
tx_read(struct tx *tx, struct txpoll *tp, struct iovec *iov)
{
	int fd = tx->ni->tap.fd;
	ssize_t n;

	if (tp->until_us == 0) {
		if ((n = readv(fd, iov, 2)) > 0)
			follow_tx_wake(tx->ni, tx->h, &tp->follow);
		return n;
	}
	n = preadv2(fd, iov, 2, -1, RWF_NOWAIT);
	if (n >= 0 ||
	    (errno != EAGAIN && errno != EOPNOTSUPP && errno != EINVAL))
		return n;
	if (errno != EAGAIN)
		tp->off = 1; /* a kernel without RWF_NOWAIT on a TAP */
	if (tp->off || clock_us() >= tp->until_us)
		tp->until_us = 0;
	else if (rx_help(tx->rx, &tx->io) == 0)
		sched_yield(); /* stay runnable, give way to others */
	errno = EAGAIN;
	return -1;
}

/* tx_read_failed: a read that gave no frame: EINTR is tx_kick's signal
 * (sweep the rings); any other error than EAGAIN is said once. */
static void
tx_read_failed(struct tx *tx, int *warned)
{
	if (errno == EINTR)
		tx_sweep(tx);
	else if (errno != EAGAIN) {
		if (!(*warned)++)
			log_warn("%s: read %s", tx->ni->name, tx->ni->tap.name);
		usleep(10000);
	}
}

/* tx_main: thread body.  The TAP is read blocking: one syscall per
 * wake-up, the next frames in batches (tx_batch), and during a stream in
 * a busy-poll window (tx_read).  Each read goes straight into the ring
 * predicted (tx_zc_reserve) when there is one, else into a staging
 * buffer.
 * tx_stop interrupts a blocking read with TX_STOP_SIGNAL. */
static void *
tx_main(void *arg)
{
	struct tx *tx = arg;
	struct ring_slot slot;
	struct txbatch b;
	struct txpoll tp;
	struct txpeer *zc;
	uint8_t stage_vnet[SHM_VNET_HDR_LEN], *stage;
	struct iovec iov[2];
	int warned = 0;
	uint32_t len;
	ssize_t n;
	char name[16];

	snprintf(name, sizeof(name), "tx-%s", tx->ni->name); /* top -H */
	pthread_setname_np(pthread_self(), name);
	if ((stage = malloc(SHM_FRAME_MAX)) == NULL) {
		log_warnx("%s: tx thread: out of memory", tx->ni->name);
		return NULL;
	}
	netif_tapio(tx->ni, &tx->io, &tx->h->tapio_said);
	memset(&tp, 0, sizeof(tp));
	follow_tx_init(tx->ni, tx->h, &tp.follow);
	tx_batch_init(tx, &b);
	while (!tx_stopping(tx)) {
		if ((zc = tx_zc_reserve(tx, &slot)) == NULL)
			tx_hazard(tx, 0); /* a read that may block long */
		iov[0].iov_base = zc ? slot.desc->vnet : stage_vnet;
		iov[0].iov_len = SHM_VNET_HDR_LEN;
		iov[1].iov_base = zc ? slot.data : stage;
		iov[1].iov_len = SHM_FRAME_MAX;
		if ((n = tx_read(tx, &tp, iov)) == -1) {
			tx_read_failed(tx, &warned);
			continue;
		}
		if (n <= SHM_VNET_HDR_LEN)
			continue;
		len = (uint32_t)(n - SHM_VNET_HDR_LEN);
		tx_zc_frame(tx, zc, &slot, iov[0].iov_base, iov[1].iov_base,
		    len);
		tx_poll_arm(tx, &tp, len, tx_batch(tx, &b, &tp, len));
	}
	tapio_close(&tx->io);
	free(b.buf);
	free(stage);
	return NULL;
}

/* tx_signal: interrupts a blocking read; nothing else to do. */
static void
tx_signal(int sig)
{
	(void)sig;
}

/* tx_start: make the TAP blocking for reads and start the thread. */
int
tx_start(struct tx *tx)
{
	struct sigaction sa;
	int fd = tx->ni->tap.fd, fl, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tx_signal; /* no SA_RESTART: read gets EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(TX_STOP_SIGNAL, &sa, NULL) == -1)
		return -errno;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		return -errno;
	if ((rc = pthread_create(&tx->thread, NULL, tx_main, tx)) != 0)
		return -rc;
	tx->started = 1;
	return 0;
}

/* tx_kick: interrupt the thread's read so that it sweeps its rings. */
void
tx_kick(struct tx *tx)
{
	if (tx->started)
		pthread_kill(tx->thread, TX_STOP_SIGNAL);
}

/* tx_stop: stop the thread, interrupting its read until it has left. */
void
tx_stop(struct tx *tx)
{
	struct timespec ts;

	if (!tx->started)
		return;
	atomic_store_explicit(&tx->h->stop, 1, memory_order_release);
	for (;;) {
		pthread_kill(tx->thread, TX_STOP_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(tx->thread, NULL, &ts) == 0)
			break;
	}
	tx->started = 0;
}
