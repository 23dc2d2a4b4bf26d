/*
 * rxpath.c: the receive thread of a network, rings -> TAP.
 *
 * The thread drains every pair ring into this node, the network's
 * broadcast ring and the multicast rings of groups the TAP joined,
 * writing frames to the TAP straight from ring memory -- io-batch of them
 * in one system call (tapio.c) where io_uring can be had, else one by
 * one through the network's port -- and frees their slots as soon as
 * they are written (waking a producer that waits for room).  After a
 * round of 16 frames or more (a flood), or of small frames (a
 * request/response exchange), it yields the CPU to the readers its
 * frames woke.  Between floods it keeps to the CPU the application
 * sends from (follow.c).
 * With nothing to do it spins for the busy-poll window (yielding, and
 * watching the rings with plain loads between yields while no other
 * task wants the CPU), then announces
 * sleep on its doorbell, re-checks, and sleeps until a sender, a stop
 * request, a directory change or a change of joined groups rings its
 * bell (or RX_NAP_MS pass).  A ring holding data that cannot be valid is
 * marked corrupt, counted, logged once, and reported to the main loop,
 * which replaces it; the other rings keep flowing.
 *
 * The reader side of the pair rings is under rx_lock (shmnetd.h says
 * who holds it): the thread holds it for each round, and the transmit
 * thread, while it polls the TAP during a stream, takes it when free
 * (rx_help) and delivers what waits, batched with its own io_uring.  On
 * busy CPUs a stream's ACKs then need not wait for this thread to be
 * scheduled; a ring still has one reader at a time, so its frames keep
 * their order.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "cframe.h"
#include "follow.h"
#include "mcast.h"
#include "rxpath.h"
#include "shmnetd.h"
#include "tapio.h"

#define RX_BUDGET   64
#define RX_WATCH_NS 2000 /* busy-poll: rings watched between yields */
#define RX_QUICK_NS 3000 /* a yield back this soon: the CPU was ours */
/* Mean frame size of an exchange, not a stream. */
#define RX_SMALL_BYTES 4096
/* The longest nap: stop, directory and group changes ring the bell, and
 * rx_watchdog makes good a wake-up a peer claimed and never made; this
 * bounds what is left (a frame whose writer stopped before ringing,
 * until the next frame rings). */
#define RX_NAP_MS 30000

/* Receive state from one peer (whoever holds rx_lock). */
struct rxpeer {
	struct ring_rx ring;
	int ok;
	int grow_told;      /* main loop told of grow_req */
	uint64_t key;       /* of ring */
	struct ring_rx old; /* ring being replaced: drained first */
	int old_ok;
	uint64_t old_key;
};

struct rx {
	struct shmseg *seg;
	struct shm_node *node; /* own: dir_version */
	uint32_t self, max_nodes;
	const struct notify *notify;
	struct handoff_net *h;
	const struct netif *ni;
	struct mc *mc;
	pthread_t thread;
	int started; /* main thread's */

	/* the rx thread's */
	struct tapio io;
	struct cast_rx cast; /* broadcast ring reader */
	uint8_t *cast_buf;   /* SHM_FRAME_MAX bytes */

	/* whoever holds h->rx_lock: the pair rings' reader side */
	struct rxpeer *peer; /* [max_nodes + 1] */
	uint32_t *ids;       /* peers with a ring, n of them */
	uint32_t n;
	uint32_t dir_version; /* of our directory, as read */
	uint64_t round_bytes; /* delivered this round */
	int helped;           /* rx_help: said so once */
	int vnet_warned;      /* a bad virtio_net_hdr: said once */

	/* the main thread's (rx_watchdog) */
	uint32_t wd_nap; /* nap seen stuck, or 0 */
	int wd_warned;
};

/* rx_new: receive state and the broadcast ring reader. */
int
rx_new(const struct handoff *ho, struct handoff_net *h, const struct netif *ni,
    struct mc *mc, struct rx **out)
{
	struct rx *rx;
	uint32_t size;
	void *mem;

	if ((*out = rx = calloc(1, sizeof(*rx))) == NULL)
		return -ENOMEM;
	rx->seg = ho->seg;
	rx->node = ho->node;
	rx->self = ho->self;
	rx->max_nodes = ho->max_nodes;
	rx->notify = &ho->notify;
	rx->h = h;
	rx->ni = ni;
	rx->mc = mc;
	rx->dir_version = UINT32_MAX;
	rx->peer = calloc(rx->max_nodes + 1, sizeof(*rx->peer));
	rx->ids = calloc(rx->max_nodes + 1, sizeof(*rx->ids));
	rx->cast_buf = malloc(SHM_FRAME_MAX);
	mem = shmseg_cast(rx->seg, ni->net, &size);
	if (rx->peer == NULL || rx->ids == NULL || rx->cast_buf == NULL) {
		rx_free(rx);
		*out = NULL;
		return -ENOMEM;
	}
	if (cast_attach(&rx->cast, mem, size) != 0) {
		rx_free(rx);
		*out = NULL;
		return -EBADMSG;
	}
	return 0;
}

/* rx_free: undo rx_new (the thread has stopped). */
void
rx_free(struct rx *rx)
{
	if (rx == NULL)
		return;
	free(rx->peer);
	free(rx->ids);
	free(rx->cast_buf);
	free(rx);
}

/* rx_done: tell the main loop that the old ring of peer is done with
 * (drained, or never attachable): it may free it. */
static void
rx_done(struct rx *rx, uint32_t peer, uint64_t key)
{
	atomic_store_explicit(&rx->h->rx_done_key[peer], key,
	    memory_order_release); /* pairs with the acquire in rs_ring */
	notify_send(rx->notify, NOTIFY_MEMBERS);
}

/* rx_attach_old: the ring a replacement left in the dirent: drained
 * before the new one.  One we cannot attach is handed back at once. */
static void
rx_attach_old(struct rx *rx, uint32_t id, const struct shm_dirent *de)
{
	struct rxpeer *r = &rx->peer[id];
	void *mem;

	if (de->old_off == 0) {
		r->old_ok = 0;
		return;
	}
	if (r->old_ok && r->old_key == de->old_key)
		return;
	r->old_ok = 0;
	r->old_key = de->old_key;
	if ((mem = shmseg_ring(rx->seg, de->old_off, de->old_size)) == NULL ||
	    ring_rx_attach(&r->old, mem, de->old_size, de->old_key,
		(uint16_t)id, (uint16_t)rx->self) != 0) {
		rx_done(rx, id, de->old_key);
		return;
	}
	r->old_ok = 1;
}

/* rx_attach: (re)attach to the ring from peer id described by de. */
static int
rx_attach(struct rx *rx, uint32_t id, const struct shm_dirent *de)
{
	struct rxpeer *r = &rx->peer[id];
	void *mem;

	if ((mem = shmseg_ring(rx->seg, de->off, de->size)) == NULL ||
	    ring_rx_attach(&r->ring, mem, de->size, de->key, (uint16_t)id,
		(uint16_t)rx->self) != 0)
		return -1;
	if (r->key != de->key)
		r->grow_told = 0;
	r->key = de->key;
	r->ok = 1;
	rx_attach_old(rx, id, de);
	return 0;
}

/* rx_dir_moved: has the main thread changed our directory since we
 * last read it?  (acquire: pairs with the release in node_dir_bump, so
 * the dirents it published are visible to rx_refresh) */
static int
rx_dir_moved(const struct rx *rx)
{
	return atomic_load_explicit(&rx->node->dir_version,
		   memory_order_acquire) != rx->dir_version;
}

/* rx_refresh: re-read our directory when the main thread changed it. */
static void
rx_refresh(struct rx *rx)
{
	struct shm_dirent de;
	uint32_t id, dv;

	/* acquire: pairs with the release in node_dir_bump */
	dv = atomic_load_explicit(&rx->node->dir_version, memory_order_acquire);
	if (dv == rx->dir_version)
		return;
	rx->dir_version = dv;
	rx->n = 0;
	for (id = 1; id <= rx->max_nodes; id++) {
		rx->peer[id].ok = 0;
		if (id == rx->self ||
		    node_dirent_read(rx->seg, rx->self, rx->ni->net, id, &de) !=
			0 ||
		    rx_attach(rx, id, &de) != 0) {
			rx->peer[id].old_ok = 0;
			continue;
		}
		rx->ids[rx->n++] = id;
	}
}

/* rx_count: one frame of len bytes reached the TAP. */
static void
rx_count(struct rx *rx, uint64_t len)
{
	stat_add(&rx->ni->stats->rx_frames, 1);
	stat_add(&rx->ni->stats->rx_bytes, len);
	rx->round_bytes += len;
}

/* rx_drop_tap: the TAP refused a frame (counted atomically: the tx
 * thread counts its own refused frames there too). */
static void
rx_drop_tap(struct rx *rx)
{
	atomic_fetch_add_explicit(&rx->ni->stats->drop_tap, 1,
	    memory_order_relaxed);
}

/* rx_deliver: hand one frame to the port, counting the outcome. */
static void
rx_deliver(struct rx *rx, const uint8_t *vnet, const uint8_t *frame,
    uint32_t len)
{
	const struct port *out = &rx->ni->out;

	if (out->ops->output(out->ctx, vnet, frame, len) != 0)
		rx_drop_tap(rx);
	else
		rx_count(rx, len);
}

/* rx_corrupt: a ring of peer's holds nonsense: mark it, report once. */
static void
rx_corrupt(struct rx *rx, uint32_t peer, struct ring_rx *ring)
{
	if (ring_mark(ring->v.hdr, SHM_RING_CORRUPT)) {
		atomic_fetch_add_explicit(&rx->ni->stats->corrupt, 1,
		    memory_order_relaxed);
		log_warnx("%s: ring from node %u holds an invalid descriptor "
			  "or index; marked down",
		    rx->ni->name, peer);
	}
	notify_send(rx->notify, NOTIFY_MEMBERS);
}

/* rx_bad_vnet: a frame came with a virtio_net_hdr no TAP gives: it is
 * dropped, counted where the TAP's refusals are, and said once. */
static void
rx_bad_vnet(struct rx *rx, uint32_t peer)
{
	rx_drop_tap(rx);
	if (!rx->vnet_warned++)
		log_warnx("%s: a frame from node %u came with a virtio_net_hdr "
			  "no TAP gives; dropped (counted in drop_tap)",
		    rx->ni->name, peer);
}

/* rx_vnet: copy the virtio_net_hdr a frame was sent with into vh, read
 * once from the ring, so that what is checked is what the TAP gets;
 * -1 (the frame dropped) when no TAP could have given it. */
static int
rx_vnet(struct rx *rx, uint32_t peer, const struct ring_slot *s, uint8_t *vh)
{
	if (!(s->flags & SHM_DESC_VNET)) {
		memset(vh, 0, SHM_VNET_HDR_LEN);
		return 0;
	}
	memcpy(vh, s->desc->vnet, SHM_VNET_HDR_LEN);
	if (frame_vnet_ok(vh, s->len))
		return 0;
	rx_bad_vnet(rx, peer);
	return -1;
}

/* rx_flush: write the n frames gathered in iov in one batch, straight
 * from ring memory; what the batch did not get to goes one by one (also
 * when the batch failed: tapio_rw then closed io, and the caller stops
 * batching).  A lone frame (a request, a reply) goes with writev: an
 * io_uring batch of one costs about 0.8 us more (bench/tapio), on the
 * path of every exchange. */
static void
rx_flush(struct rx *rx, struct tapio *io, struct iovec (*iov)[2],
    unsigned int n)
{
	int32_t res[TAPIO_MAX];
	unsigned int i;

	if (n == 1) {
		rx_deliver(rx, iov[0][0].iov_base, iov[0][1].iov_base,
		    (uint32_t)iov[0][1].iov_len);
		return;
	}
	(void)tapio_rw(io, 1, iov, n, res);
	for (i = 0; i < n; i++) {
		if (res[i] == TAPIO_UNDONE)
			rx_deliver(rx, iov[i][0].iov_base, iov[i][1].iov_base,
			    (uint32_t)iov[i][1].iov_len);
		else if (res[i] < 0)
			rx_drop_tap(rx);
		else
			rx_count(rx, iov[i][1].iov_len);
	}
}

/* rx_drain_batch: rx_drain_one with batched writes: gather up to
 * io-batch frames, write them in one system call, then free their
 * slots. */
static int
rx_drain_batch(struct rx *rx, struct tapio *io, uint32_t peer,
    struct ring_rx *ring, int budget)
{
	uint8_t vh[TAPIO_MAX][SHM_VNET_HDR_LEN];
	struct iovec iov[TAPIO_MAX][2];
	struct ring_slot s;
	unsigned int k, m;
	int n = 0, rc = 1;

	while (n < budget && rc == 1) {
		for (k = 0, m = 0; k < io->depth && n + (int)m < budget &&
		     (rc = ring_rx_peek(ring, &s)) == 1;
		     m++) {
			if (rx_vnet(rx, peer, &s, vh[k]) == 0) {
				iov[k][0].iov_base = vh[k];
				iov[k][0].iov_len = SHM_VNET_HDR_LEN;
				iov[k][1].iov_base = s.data;
				iov[k][1].iov_len = s.len;
				k++;
			}
			ring_rx_consume(ring, &s);
		}
		if (k > 0)
			rx_flush(rx, io, iov, k);
		ring_rx_publish(ring); /* also frees pads skipped */
		n += (int)m;
		if (io->ring == NULL)
			break; /* batching just failed */
	}
	if (rc < 0) {
		rx_corrupt(rx, peer, ring);
		return -1;
	}
	return n;
}

/* rx_drain_one: deliver up to budget frames from one ring of peer's;
 * frames moved, or -1 when the ring is corrupt. */
static int
rx_drain_one(struct rx *rx, struct tapio *io, uint32_t peer,
    struct ring_rx *ring, int budget)
{
	uint8_t vh[SHM_VNET_HDR_LEN];
	struct ring_slot s;
	int n = 0, rc = 0;

	if (io->ring != NULL)
		return rx_drain_batch(rx, io, peer, ring, budget);
	while (n < budget && (rc = ring_rx_peek(ring, &s)) == 1) {
		if (rx_vnet(rx, peer, &s, vh) == 0)
			rx_deliver(rx, vh, s.data, s.len);
		ring_rx_consume(ring, &s);
		ring_rx_publish(ring);
		n++;
	}
	if (rc < 0) {
		rx_corrupt(rx, peer, ring);
		return -1;
	}
	if (n == 0)
		ring_rx_publish(ring); /* pads skipped */
	return n;
}

/* rx_drain_old: the replaced ring first; 1 once it is done with. */
static int
rx_drain_old(struct rx *rx, struct tapio *io, uint32_t peer, int *n)
{
	struct rxpeer *r = &rx->peer[peer];
	int k;

	/* retired is read before the drain: frames the producer wrote
	 * before it moved are all visible to this drain */
	int retired = ring_rx_retired(&r->old);

	if ((k = rx_drain_one(rx, io, peer, &r->old, RX_BUDGET)) > 0)
		*n += k;
	if (k < 0 || (retired && !ring_rx_pending(&r->old))) {
		r->old_ok = 0;
		rx_done(rx, peer, r->old_key);
		return 1;
	}
	return 0;
}

/* rx_drain_ring: deliver up to budget frames from peer's ring (after
 * the ring it replaced, if any); tell the main loop about a producer's
 * request for a larger ring.  Returns frames moved, -1 if corrupt. */
static int
rx_drain_ring(struct rx *rx, struct tapio *io, uint32_t peer, int budget)
{
	struct rxpeer *r = &rx->peer[peer];
	int n = 0, k;

	if (r->old_ok && !rx_drain_old(rx, io, peer, &n))
		return n;
	if ((k = rx_drain_one(rx, io, peer, &r->ring, budget)) < 0) {
		r->ok = 0;
		return -1;
	}
	if (!r->grow_told && ring_grow_req(&r->ring.v) != 0) {
		r->grow_told = 1;
		notify_send(rx->notify, NOTIFY_MEMBERS);
	}
	return n + k;
}

/* rx_control: a control frame from another daemon (broadcast ring);
 * returns 1 when the frame was one and must not reach the TAP. */
static int
rx_control(struct rx *rx, uint32_t len)
{
	const uint8_t *f = rx->cast_buf;
	uint32_t id, gen;
	uint8_t type;

	if (cframe_parse(f, len, &type, &id, &gen) == 0) {
		log_debug("%s: control frame %u from node %u gen %u",
		    rx->ni->name, type, id, gen);
		notify_send(rx->notify,
		    type == CFRAME_RESCAN ? NOTIFY_RESCAN : NOTIFY_MEMBERS);
		return 1;
	}
	return len >= 14 && f[12] == (SHM_ETHERTYPE >> 8) &&
	    f[13] == (SHM_ETHERTYPE & 0xff); /* malformed */
}

/* rx_drain_cast: deliver frames of other nodes from a broadcast or
 * multicast ring; multicast only for groups the TAP joined.  Every frame
 * read counts against the budget, ours too: a peer that stamps its
 * frames with our id cannot keep this loop going. */
static int
rx_drain_cast(struct rx *rx, struct cast_rx *c, int control, int budget)
{
	uint8_t vnet[SHM_VNET_HDR_LEN];
	uint64_t lost = 0;
	uint32_t len;
	uint16_t from;
	int n = 0, reads = 0;

	while (reads++ < budget &&
	    cast_read(c, rx->cast_buf, SHM_FRAME_MAX, &len, vnet, &from,
		&lost) == 1) {
		if (from == rx->self)
			continue;
		n++;
		if (control && rx_control(rx, len))
			continue;
		if (!mc_wanted(rx->mc, rx->cast_buf)) {
			stat_add(&rx->ni->stats->mc_filtered, 1);
			continue;
		}
		if (frame_vnet_ok(vnet, len))
			rx_deliver(rx, vnet, rx->cast_buf, len);
		else
			rx_bad_vnet(rx, from);
	}
	if (lost)
		stat_add(&rx->ni->stats->cast_lost, lost);
	return n;
}

/* rx_drain_mcast: the multicast rings we follow. */
static int
rx_drain_mcast(struct rx *rx, int budget)
{
	struct cast_rx *c;
	uint32_t i;
	int n = 0;

	for (i = 0; i < mc_rx_rings(rx->mc); i++)
		if ((c = mc_rx_followed(rx->mc, i)) != NULL)
			n += rx_drain_cast(rx, c, 0, budget);
	return n;
}

/* rx_pending: is any ring non-empty? */
static int
rx_pending(struct rx *rx)
{
	struct cast_rx *c;
	struct rxpeer *r;
	uint32_t i;

	for (i = 0; i < rx->n; i++) {
		r = &rx->peer[rx->ids[i]];
		if (r->ok &&
		    (ring_rx_pending(&r->ring) ||
			(r->old_ok &&
			    (ring_rx_pending(&r->old) ||
				ring_rx_retired(&r->old)))))
			return 1;
	}
	for (i = 0; i < mc_rx_rings(rx->mc); i++)
		if ((c = mc_rx_followed(rx->mc, i)) != NULL && cast_pending(c))
			return 1;
	return cast_pending(&rx->cast);
}

/* rx_drain_pairs: every pair ring once, writing with io (under
 * rx_lock); frames moved. */
static int
rx_drain_pairs(struct rx *rx, struct tapio *io)
{
	uint32_t i;
	int n = 0, k;

	for (i = 0; i < rx->n; i++)
		if (rx->peer[rx->ids[i]].ok &&
		    (k = rx_drain_ring(rx, io, rx->ids[i], RX_BUDGET)) > 0)
			n += k;
	return n;
}

/* rx_help: another data thread that is running anyway (the transmit
 * thread, polling its TAP during a stream) delivers what waits in the
 * pair rings with its own TAP I/O (io: batched, or one write per frame),
 * so that its stream's ACKs need not wait for this thread to get a CPU.
 * Only when the receive thread is not at it, and not while the
 * directory has changed under it.  Returns the frames delivered. */
int
rx_help(struct rx *rx, struct tapio *io)
{
	int n = 0;

	if (pthread_mutex_trylock(&rx->h->rx_lock) != 0)
		return 0;
	if (!rx_dir_moved(rx))
		n = rx_drain_pairs(rx, io);
	if (n > 0 && !rx->helped) {
		rx->helped = 1;
		log_debug("%s: the transmit thread delivers received frames "
			  "while it polls",
		    rx->ni->name);
	}
	pthread_mutex_unlock(&rx->h->rx_lock);
	return n;
}

/* rx_round: one round over every ring; frames moved, and their bytes. */
static int
rx_round(struct rx *rx, uint64_t *bytes)
{
	int n;

	pthread_mutex_lock(&rx->h->rx_lock);
	rx_refresh(rx);
	mc_rx_update(rx->mc);
	rx->round_bytes = 0;
	n = rx_drain_pairs(rx, &rx->io);
	n += rx_drain_cast(rx, &rx->cast, 1, RX_BUDGET);
	n += rx_drain_mcast(rx, RX_BUDGET);
	*bytes = rx->round_bytes;
	pthread_mutex_unlock(&rx->h->rx_lock);
	return n;
}

/* rx_idle: nothing waits anywhere (checked under the lock). */
static int
rx_idle(struct rx *rx)
{
	int idle;

	pthread_mutex_lock(&rx->h->rx_lock);
	idle = !rx_pending(rx);
	pthread_mutex_unlock(&rx->h->rx_lock);
	return idle;
}

/* rx_watch: in the busy-poll window, when the last sched_yield came
 * back at once (no other task wanted this CPU), watch the rings for
 * RX_WATCH_NS with plain loads before the next yield: a frame is then
 * picked up within a fraction of a microsecond, not after a system call
 * (about 1.25 us on a paravirtualised guest).  A task woken onto this
 * CPU meanwhile preempts us as it would preempt the yield loop.  1 if
 * something came; 0 also when rx_help holds the lock. */
static int
rx_watch(struct rx *rx)
{
	uint64_t end = clock_ns() + RX_WATCH_NS;
	int i, got;

	do {
		for (i = 0; i < 16; i++) {
			if (pthread_mutex_trylock(&rx->h->rx_lock) != 0)
				return 0;
			got = rx_pending(rx);
			pthread_mutex_unlock(&rx->h->rx_lock);
			if (got)
				return 1;
			shm_cpu_relax();
		}
	} while (clock_ns() < end);
	return 0;
}

/* rx_yield: give way to others; 1 if nobody took the CPU meanwhile. */
static int
rx_yield(void)
{
	uint64_t t = clock_ns();

	sched_yield();
	return clock_ns() - t < RX_QUICK_NS;
}

/* rx_stopping: has the main thread asked the thread to leave? */
static int
rx_stopping(const struct rx *rx)
{
	return atomic_load_explicit(&rx->h->stop, memory_order_acquire);
}

/* rx_nap: nothing to do: announce sleep on the doorbell, re-check, and
 * sleep until rung (or RX_NAP_MS).  rx_watchdog watches the nap. */
static void
rx_nap(struct rx *rx)
{
	struct handoff_net *h = rx->h;
	uint32_t v = bell_prepare(rx->ni->bell);

	if (!rx_idle(rx) || rx_stopping(rx) || rx_dir_moved(rx)) {
		bell_cancel(rx->ni->bell);
		return;
	}
	atomic_store_explicit(&h->rx_nap_bell, v, memory_order_relaxed);
	/* release: rx_nap_bell before the odd nap; pairs with the acquire
	 * in rx_watchdog */
	atomic_fetch_add_explicit(&h->rx_nap, 1, memory_order_release);
	bell_wait(rx->ni->bell, v, RX_NAP_MS);
	atomic_fetch_add_explicit(&h->rx_nap, 1, memory_order_release);
}

/* rx_main: thread body. */
static void *
rx_main(void *arg)
{
	struct rx *rx = arg;
	uint32_t poll_us;
	uint64_t last_work = 0, bytes;
	struct follow fl;
	int n, quick = 0;
	char name[16];

	snprintf(name, sizeof(name), "rx-%s", rx->ni->name); /* top -H */
	pthread_setname_np(pthread_self(), name);
	netif_tapio(rx->ni, &rx->io, &rx->h->tapio_said);
	follow_rx_init(rx->ni, rx->h, &fl);

	while (!rx_stopping(rx)) {
		/* a reload may change it (shmnetd.h) */
		poll_us = atomic_load_explicit(&rx->h->busy_poll_us,
		    memory_order_relaxed);
		n = rx_round(rx, &bytes);
		follow_rx(rx->ni, rx->h, &fl, n, bytes);
		if (n > 0) {
			if (poll_us)
				last_work = clock_us();
			/* the frames just written woke their readers, most
			 * likely onto this core: a flood's, or their socket
			 * buffers overrun; an exchange's (small frames), or
			 * the reply waits for this thread's next round */
			if (n >= RX_FLOOD_FRAMES ||
			    bytes <= (uint64_t)n * RX_SMALL_BYTES)
				quick = rx_yield();
			continue;
		}
		if (poll_us && clock_us() - last_work < poll_us) {
			if (quick && rx_watch(rx))
				continue;
			quick = rx_yield(); /* stay runnable, give way */
			continue;
		}
		rx_nap(rx);
	}
	tapio_close(&rx->io);
	return NULL;
}

/* rx_start: start the thread.  What was cast before it runs is not for
 * it: its readers start at the rings' write positions. */
int
rx_start(struct rx *rx)
{
	int rc;

	cast_skip(&rx->cast);
	mc_rx_skip(rx->mc);
	if ((rc = pthread_create(&rx->thread, NULL, rx_main, rx)) != 0)
		return -rc;
	rx->started = 1;
	return 0;
}

/* rx_watchdog: main thread, every tick.  A transmitter wakes a sleeping
 * rx thread in two steps: it claims the wake-up (sleeping 1 -> 0, so that
 * only one transmitter makes it), then bumps the bell and calls futex.
 * One stopped or killed between the two leaves the thread asleep, and
 * every later transmitter, seeing sleeping == 0, leaves the wake-up to
 * it.  Seen in the same nap on two ticks in a row (the two steps take
 * nanoseconds), the wake-up is made here: at most two ticks late, and an
 * idle rx thread need not wake on a timer to guard against it. */
void
rx_watchdog(struct rx *rx)
{
	struct handoff_net *h = rx->h;
	struct shm_bell *b = rx->ni->bell;
	uint32_t nap = atomic_load_explicit(&h->rx_nap, memory_order_acquire);

	if ((nap & 1) == 0 ||
	    atomic_load_explicit(&b->sleeping, memory_order_relaxed) != 0 ||
	    atomic_load_explicit(&b->bell, memory_order_relaxed) !=
		atomic_load_explicit(&h->rx_nap_bell, memory_order_relaxed)) {
		rx->wd_nap = 0; /* awake, or asleep as it should be */
		return;
	}
	if (rx->wd_nap != nap) {
		rx->wd_nap = nap; /* first sight: a peer may be mid-wake */
		return;
	}
	rx->wd_nap = 0;
	stat_add(&rx->ni->stats->wakes_recovered, 1);
	if (!rx->wd_warned++)
		log_warnx("%s: a peer claimed our receive thread's wake-up "
			  "and did not make it (stopped or killed mid-send?); "
			  "woken by the main loop (counted as wakes_recovered)",
		    rx->ni->name);
	bell_force(b);
}

/* rx_stop: make the thread leave its loop (waking it) and join it. */
void
rx_stop(struct rx *rx)
{
	if (!rx->started)
		return;
	atomic_store_explicit(&rx->h->stop, 1, memory_order_release);
	bell_force(rx->ni->bell);
	pthread_join(rx->thread, NULL);
	rx->started = 0;
}
