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
 * bell (at most 1 s).  A ring holding data that cannot be valid is
 * marked corrupt, counted, logged once, and reported to the main loop,
 * which replaces it; the other rings keep flowing.
 *
 * The reader side of the pair rings is under rx_lock: the thread holds
 * it for each round, and the transmit thread, while it polls the TAP
 * during a stream, takes it when free (rx_help) and delivers what
 * waits, batched with its own io_uring.  On busy CPUs a stream's ACKs
 * then need not wait for this thread to be scheduled; a ring still has
 * one reader at a time, so its frames keep their order.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "shmnetd.h"

#define RX_BUDGET	64
#define RX_WATCH_NS	2000	/* busy-poll: rings watched between yields */
#define RX_QUICK_NS	3000	/* a yield back this soon: the CPU was ours */
#define RX_SMALL_BYTES	4096	/* mean frame size of an exchange, not a
				 * stream */
#define RX_NAP_MS	30000	/* stop, directory and group changes ring
				 * the bell, and rx_watchdog makes good a
				 * wake-up a peer claimed and never made;
				 * this bounds what is left (a frame whose
				 * writer stopped before ringing, until the
				 * next frame rings) */

static const uint8_t rx_zero_vnet[SHM_VNET_HDR_LEN];

/* rx_init: receive state and the broadcast ring reader. */
int
rx_init(struct dnet *dn)
{
	struct daemon *d = dn->d;
	uint32_t size;
	void *mem;
	int rc;

	dn->rx = calloc(d->max_nodes + 1, sizeof(*dn->rx));
	dn->rx_ids = calloc(d->max_nodes + 1, sizeof(*dn->rx_ids));
	dn->rsz = calloc(d->max_nodes + 1, sizeof(*dn->rsz));
	dn->cast_buf = malloc(SHM_FRAME_MAX);
	if (dn->rx == NULL || dn->rx_ids == NULL || dn->rsz == NULL ||
	    dn->cast_buf == NULL)
		return -ENOMEM;
	if ((rc = pthread_mutex_init(&dn->rx_lock, NULL)) != 0)
		return -rc;
	dn->rx_dir_version = UINT32_MAX;
	dn->app_cpu = -1;
	dn->rx_cpu = -1;
	dn->rx_flood_us = 0;
	mem = shmseg_cast(d->seg, dn->net, &size);
	if ((rc = cast_attach(&dn->cast, mem, size)) != 0)
		return rc;
	return mc_rx_init(dn);
}

/* rx_free: release rx_init's memory. */
void
rx_free(struct dnet *dn)
{
	free(dn->rx);
	free(dn->rx_ids);
	free(dn->rsz);
	free(dn->cast_buf);
	mc_rx_free(dn);
	dn->rx = NULL;
	dn->rx_ids = NULL;
	dn->rsz = NULL;
	dn->cast_buf = NULL;
}

/* rx_attach_old: the ring a replacement left in the dirent: drained
 * before the new one.  One we cannot attach is handed back at once. */
static void
rx_attach_old(struct dnet *dn, uint32_t id, const struct shm_dirent *de)
{
	struct rxpeer *r = &dn->rx[id];
	void *mem;

	if (de->old_off == 0) {
		r->old_ok = 0;
		return;
	}
	if (r->old_ok && r->old_key == de->old_key)
		return;
	r->old_ok = 0;
	r->old_key = de->old_key;
	if ((mem = shmseg_at(dn->d->seg, de->old_off, de->old_size)) == NULL ||
	    ring_rx_attach(&r->old, mem, de->old_size, de->old_key,
	    (uint16_t)id, (uint16_t)dn->d->self) != 0) {
		atomic_store_explicit(&r->done_key, de->old_key,
		    memory_order_release);
		daemon_notify(dn->d, NOTIFY_MEMBERS);
		return;
	}
	r->old_ok = 1;
}

/* rx_attach: (re)attach to the ring from peer id described by de. */
static int
rx_attach(struct dnet *dn, uint32_t id, const struct shm_dirent *de)
{
	struct rxpeer *r = &dn->rx[id];
	void *mem;

	if ((mem = shmseg_at(dn->d->seg, de->off, de->size)) == NULL ||
	    ring_rx_attach(&r->ring, mem, de->size, de->key, (uint16_t)id,
	    (uint16_t)dn->d->self) != 0)
		return -1;
	if (r->key != de->key)
		r->grow_told = 0;
	r->key = de->key;
	r->ok = 1;
	rx_attach_old(dn, id, de);
	return 0;
}

/* rx_refresh: re-read our directory when the main thread changed it. */
static void
rx_refresh(struct dnet *dn)
{
	struct daemon *d = dn->d;
	struct shm_dirent de;
	uint32_t dv, id;

	dv = atomic_load_explicit(&d->node->dir_version, memory_order_acquire);
	if (dv == dn->rx_dir_version)
		return;
	dn->rx_dir_version = dv;
	dn->rx_n = 0;
	for (id = 1; id <= d->max_nodes; id++) {
		dn->rx[id].ok = 0;
		if (id == d->self || node_dirent_read(d->seg, d->self, dn->net,
		    id, &de) != 0 || rx_attach(dn, id, &de) != 0) {
			dn->rx[id].old_ok = 0;
			continue;
		}
		dn->rx_ids[dn->rx_n++] = id;
	}
}

/* rx_deliver: hand one frame to the port, counting the outcome. */
static void
rx_deliver(struct dnet *dn, const uint8_t *vnet, const uint8_t *frame,
    uint32_t len)
{
	if (dn->out.ops->output(dn->out.ctx, vnet, frame, len) != 0) {
		stat_add(&dn->stats->drop_tap, 1);
		return;
	}
	stat_add(&dn->stats->rx_frames, 1);
	stat_add(&dn->stats->rx_bytes, len);
	dn->rx_round_bytes += len;
}

/* rx_corrupt: a ring of peer's holds nonsense: mark it, report once. */
static void
rx_corrupt(struct dnet *dn, uint32_t peer, struct ring_rx *ring)
{
	if (ring_mark(ring->v.hdr, SHM_RING_CORRUPT)) {
		atomic_fetch_add_explicit(&dn->stats->corrupt, 1,
		    memory_order_relaxed);
		log_warnx("%s: ring from node %u holds an invalid descriptor "
		    "or index; marked down", dn->name, peer);
	}
	daemon_notify(dn->d, NOTIFY_MEMBERS);
}

/* rx_vnet: the virtio_net_hdr a frame was sent with. */
static const uint8_t *
rx_vnet(const struct ring_slot *s)
{
	return (s->pad & SHM_DESC_VNET) ? s->desc->vnet : rx_zero_vnet;
}

/* rx_flush: write the n frames gathered in iov in one batch, straight
 * from ring memory; what the batch did not get to goes one by one.  A
 * lone frame (a request, a reply) goes with writev: an io_uring batch
 * of one costs about 0.8 us more here (bench/tapio), on the path of
 * every exchange. */
static void
rx_flush(struct dnet *dn, struct tapio *io, struct iovec (*iov)[2],
    unsigned int n)
{
	int32_t res[TAPIO_MAX];
	unsigned int i;

	if (n == 1) {
		rx_deliver(dn, iov[0][0].iov_base, iov[0][1].iov_base,
		    (uint32_t)iov[0][1].iov_len);
		return;
	}
	if (tapio_rw(io, 1, iov, n, res) != 0) {
		log_warnx("%s: batched TAP writes failed; one system call "
		    "per frame from now on", dn->name);
		tapio_close(io);
	}
	for (i = 0; i < n; i++) {
		if (res[i] == TAPIO_UNDONE) {
			rx_deliver(dn, iov[i][0].iov_base, iov[i][1].iov_base,
			    (uint32_t)iov[i][1].iov_len);
			continue;
		}
		if (res[i] < 0) {
			stat_add(&dn->stats->drop_tap, 1);
			continue;
		}
		stat_add(&dn->stats->rx_frames, 1);
		stat_add(&dn->stats->rx_bytes, iov[i][1].iov_len);
		dn->rx_round_bytes += iov[i][1].iov_len;
	}
}

/* rx_drain_batch: rx_drain_one with batched writes: gather up to
 * io-batch frames, write them in one system call, then free their
 * slots. */
static int
rx_drain_batch(struct dnet *dn, struct tapio *io, uint32_t peer,
    struct ring_rx *ring, int budget)
{
	struct iovec iov[TAPIO_MAX][2];
	struct ring_slot s;
	unsigned int k;
	int n = 0, rc = 1;

	while (n < budget && rc == 1) {
		for (k = 0; k < io->depth && n + (int)k < budget &&
		    (rc = ring_rx_peek(ring, &s)) == 1; k++) {
			iov[k][0].iov_base = (void *)rx_vnet(&s);
			iov[k][0].iov_len = SHM_VNET_HDR_LEN;
			iov[k][1].iov_base = s.data;
			iov[k][1].iov_len = s.len;
			ring_rx_consume(ring, &s);
		}
		if (k > 0)
			rx_flush(dn, io, iov, k);
		ring_rx_publish(ring);	/* also frees pads skipped */
		n += (int)k;
		if (io->ring == NULL)
			break;		/* batching just failed */
	}
	if (rc < 0) {
		rx_corrupt(dn, peer, ring);
		return -1;
	}
	return n;
}

/* rx_drain_one: deliver up to budget frames from one ring of peer's;
 * frames moved, or -1 when the ring is corrupt. */
static int
rx_drain_one(struct dnet *dn, struct tapio *io, uint32_t peer,
    struct ring_rx *ring, int budget)
{
	struct ring_slot s;
	int n = 0, rc = 0;

	if (io->ring != NULL)
		return rx_drain_batch(dn, io, peer, ring, budget);
	while (n < budget && (rc = ring_rx_peek(ring, &s)) == 1) {
		rx_deliver(dn, rx_vnet(&s), s.data, s.len);
		ring_rx_consume(ring, &s);
		ring_rx_publish(ring);
		n++;
	}
	if (rc < 0) {
		rx_corrupt(dn, peer, ring);
		return -1;
	}
	if (n == 0)
		ring_rx_publish(ring);	/* pads skipped */
	return n;
}

/* rx_drain_old: the replaced ring first; 1 once it is done with. */
static int
rx_drain_old(struct dnet *dn, struct tapio *io, uint32_t peer, int *n)
{
	struct rxpeer *r = &dn->rx[peer];
	int k;

	/* retired is read before the drain: frames the producer wrote
	 * before it moved are all visible to this drain */
	int retired = ring_rx_retired(&r->old);

	if ((k = rx_drain_one(dn, io, peer, &r->old, RX_BUDGET)) > 0)
		*n += k;
	if (k < 0 || (retired && !ring_rx_pending(&r->old))) {
		r->old_ok = 0;
		atomic_store_explicit(&r->done_key, r->old_key,
		    memory_order_release);
		daemon_notify(dn->d, NOTIFY_MEMBERS);
		return 1;
	}
	return 0;
}

/* rx_drain_ring: deliver up to budget frames from peer's ring (after
 * the ring it replaced, if any); tell the main loop about a producer's
 * request for a larger ring.  Returns frames moved, -1 if corrupt. */
int
rx_drain_ring(struct dnet *dn, struct tapio *io, uint32_t peer, int budget)
{
	struct rxpeer *r = &dn->rx[peer];
	int n = 0, k;

	if (r->old_ok && !rx_drain_old(dn, io, peer, &n))
		return n;
	if ((k = rx_drain_one(dn, io, peer, &r->ring, budget)) < 0) {
		r->ok = 0;
		return -1;
	}
	if (!r->grow_told && ring_grow_req(&r->ring.v) != 0) {
		r->grow_told = 1;
		daemon_notify(dn->d, NOTIFY_MEMBERS);
	}
	return n + k;
}

/* rx_control: a control frame from another daemon (broadcast ring);
 * returns 1 when the frame was one and must not reach the TAP. */
static int
rx_control(struct dnet *dn, uint32_t len)
{
	uint32_t id, gen;
	uint8_t type;

	if (cframe_parse(dn->cast_buf, len, &type, &id, &gen) == 0) {
		log_debug("%s: control frame %u from node %u gen %u",
		    dn->name, type, id, gen);
		daemon_notify(dn->d, type == CFRAME_RESCAN ? NOTIFY_RESCAN :
		    NOTIFY_MEMBERS);
		return 1;
	}
	return len >= 14 && dn->cast_buf[12] == (SHM_ETHERTYPE >> 8) &&
	    dn->cast_buf[13] == (SHM_ETHERTYPE & 0xff);	/* malformed */
}

/* rx_drain_cast: deliver frames of other nodes from a broadcast or
 * multicast ring; multicast only for groups the TAP joined. */
static int
rx_drain_cast(struct dnet *dn, struct cast_rx *c, int control, int budget)
{
	uint8_t vnet[SHM_VNET_HDR_LEN];
	uint64_t lost = 0;
	uint32_t len;
	uint16_t from;
	int n = 0;

	while (n < budget && cast_read(c, dn->cast_buf, SHM_FRAME_MAX, &len,
	    vnet, &from, &lost) == 1) {
		if (from == dn->d->self)
			continue;
		n++;
		if (control && rx_control(dn, len))
			continue;
		if (!mc_wanted(dn, dn->cast_buf)) {
			stat_add(&dn->stats->mc_filtered, 1);
			continue;
		}
		rx_deliver(dn, vnet, dn->cast_buf, len);
	}
	if (lost)
		stat_add(&dn->stats->cast_lost, lost);
	return n;
}

/* rx_drain_mcast: the multicast rings we follow. */
static int
rx_drain_mcast(struct dnet *dn, int budget)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < dn->mc_n; i++)
		if (dn->mc[i].follow)
			n += rx_drain_cast(dn, &dn->mc[i].c, 0, budget);
	return n;
}

/* rx_pending: is any ring non-empty? */
static int
rx_pending(struct dnet *dn)
{
	struct rxpeer *r;
	uint32_t i;

	for (i = 0; i < dn->rx_n; i++) {
		r = &dn->rx[dn->rx_ids[i]];
		if (r->ok && (ring_rx_pending(&r->ring) || (r->old_ok &&
		    (ring_rx_pending(&r->old) || ring_rx_retired(&r->old)))))
			return 1;
	}
	for (i = 0; i < dn->mc_n; i++)
		if (dn->mc[i].follow && cast_pending(&dn->mc[i].c))
			return 1;
	return cast_pending(&dn->cast);
}

/* rx_drain_pairs: every pair ring once, writing with io (under
 * rx_lock); frames moved. */
static int
rx_drain_pairs(struct dnet *dn, struct tapio *io)
{
	uint32_t i;
	int n = 0, k;

	for (i = 0; i < dn->rx_n; i++)
		if (dn->rx[dn->rx_ids[i]].ok &&
		    (k = rx_drain_ring(dn, io, dn->rx_ids[i], RX_BUDGET)) > 0)
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
rx_help(struct dnet *dn, struct tapio *io)
{
	int n = 0;

	if (pthread_mutex_trylock(&dn->rx_lock) != 0)
		return 0;
	if (atomic_load_explicit(&dn->d->node->dir_version,
	    memory_order_acquire) == dn->rx_dir_version)
		n = rx_drain_pairs(dn, io);
	if (n > 0 && !dn->rx_helped) {
		dn->rx_helped = 1;
		log_debug("%s: the transmit thread delivers received frames "
		    "while it polls", dn->name);
	}
	pthread_mutex_unlock(&dn->rx_lock);
	return n;
}

/* rx_round: one round over every ring; frames moved, and their bytes. */
static int
rx_round(struct dnet *dn, uint64_t *bytes)
{
	int n;

	pthread_mutex_lock(&dn->rx_lock);
	rx_refresh(dn);
	mc_rx_update(dn);
	dn->rx_round_bytes = 0;
	n = rx_drain_pairs(dn, &dn->rxio);
	n += rx_drain_cast(dn, &dn->cast, 1, RX_BUDGET);
	n += rx_drain_mcast(dn, RX_BUDGET);
	*bytes = dn->rx_round_bytes;
	pthread_mutex_unlock(&dn->rx_lock);
	return n;
}

/* rx_idle: nothing waits anywhere (checked under the lock). */
static int
rx_idle(struct dnet *dn)
{
	int idle;

	pthread_mutex_lock(&dn->rx_lock);
	idle = !rx_pending(dn);
	pthread_mutex_unlock(&dn->rx_lock);
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
rx_watch(struct dnet *dn)
{
	uint64_t end = clock_ns() + RX_WATCH_NS;
	int i, got;

	do {
		for (i = 0; i < 16; i++) {
			if (pthread_mutex_trylock(&dn->rx_lock) != 0)
				return 0;
			got = rx_pending(dn);
			pthread_mutex_unlock(&dn->rx_lock);
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

/* rx_main: thread body. */
void *
rx_main(void *arg)
{
	struct dnet *dn = arg;
	struct follow fl;
	uint64_t last_work = 0, bytes;
	uint32_t v;
	int n, quick = 0;
	char name[16];

	snprintf(name, sizeof(name), "rx-%s", dn->name);	/* top -H */
	pthread_setname_np(pthread_self(), name);
	netif_tapio(dn, &dn->rxio);
	follow_rx_init(dn, &fl);

	while (!atomic_load_explicit(&dn->stop, memory_order_relaxed)) {
		n = rx_round(dn, &bytes);
		follow_rx(dn, &fl, n, bytes);
		if (n > 0) {
			if (dn->nc->busy_poll_us)
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
		if (dn->nc->busy_poll_us &&
		    clock_us() - last_work < dn->nc->busy_poll_us) {
			if (quick && rx_watch(dn))
				continue;
			quick = rx_yield();	/* stay runnable, give way */
			continue;
		}
		v = bell_prepare(dn->bell);
		if (!rx_idle(dn) || atomic_load_explicit(&dn->stop,
		    memory_order_relaxed) || atomic_load_explicit(
		    &dn->d->node->dir_version, memory_order_acquire) !=
		    dn->rx_dir_version) {
			bell_cancel(dn->bell);
			continue;
		}
		atomic_store_explicit(&dn->rx_nap_bell, v,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&dn->rx_nap, 1,
		    memory_order_release);	/* odd: asleep */
		bell_wait(dn->bell, v, RX_NAP_MS);
		atomic_fetch_add_explicit(&dn->rx_nap, 1,
		    memory_order_release);
	}
	tapio_close(&dn->rxio);
	return NULL;
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
rx_watchdog(struct dnet *dn)
{
	uint32_t nap = atomic_load_explicit(&dn->rx_nap, memory_order_acquire);

	if ((nap & 1) == 0 || atomic_load_explicit(&dn->bell->sleeping,
	    memory_order_relaxed) != 0 || atomic_load_explicit(
	    &dn->bell->bell, memory_order_relaxed) != atomic_load_explicit(
	    &dn->rx_nap_bell, memory_order_relaxed)) {
		dn->wd_nap = 0;		/* awake, or asleep as it should be */
		return;
	}
	if (dn->wd_nap != nap) {
		dn->wd_nap = nap;	/* first sight: a peer may be mid-wake */
		return;
	}
	dn->wd_nap = 0;
	stat_add(&dn->stats->wakes_recovered, 1);
	if (!dn->wd_warned++)
		log_warnx("%s: a peer claimed our receive thread's wake-up "
		    "and did not make it (stopped or killed mid-send?); "
		    "woken by the main loop (counted as wakes_recovered)",
		    dn->name);
	bell_force(dn->bell);
}

/* rx_stop: make the thread leave its loop. */
void
rx_stop(struct dnet *dn)
{
	atomic_store(&dn->stop, 1);
	bell_force(dn->bell);
}
