/*
 * resize.c: ring growth and shrink, run by the main thread.
 *
 * Pair rings start at ring-min-size.  A transmitter that meets a frame
 * larger than its ring, or a full ring, asks for more slots in the ring's
 * header (grow_req) and rings our bell; our rx thread tells the main loop,
 * which publishes a larger ring (up to ring-size) in our directory.  The
 * old ring stays in the dirent: the transmitter finishes the frame it was
 * writing there, marks it `moved` and goes on in the new ring; our
 * receive side (the rx thread, or the tx thread helping it) drains the
 * old ring first and hands its key back (rx_done_key in struct
 * handoff_net), and we free it.  A ring that carried nothing for ring-shrink-after
 * seconds is replaced by a ring-min-size one the same way.
 *
 * A transmitter blocked in read() on an idle TAP would never notice a new
 * ring, so the main loop also kicks our own tx thread (a signal) when a
 * peer's directory changed under a ring it is attached to, the peer up
 * or down: the read may be into room reserved in a ring being freed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resize.h"
#include "shmnetd.h"
#include "txpath.h"

/* Growth and shrink bookkeeping of one peer's ring. */
struct ringsz {
	uint64_t frames; /* ring's frame count last seen */
	uint64_t since;  /* ms it was last seen to change */
	uint32_t warned;
};

struct resize {
	struct shmseg *seg;
	uint32_t self, max_nodes;
	struct handoff_net *h; /* tx_seen_dv, rx_done_key */
	const struct netif *ni;
	struct tx *tx;
	int on;             /* the data threads run */
	struct ringsz *rsz; /* [max_nodes + 1] */
};

/* rs_new: a network's resize bookkeeping. */
struct resize *
rs_new(const struct handoff *ho, struct handoff_net *h, const struct netif *ni,
    struct tx *tx)
{
	struct resize *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	rs->seg = ho->seg;
	rs->self = ho->self;
	rs->max_nodes = ho->max_nodes;
	rs->h = h;
	rs->ni = ni;
	rs->tx = tx;
	if ((rs->rsz = calloc(rs->max_nodes + 1, sizeof(*rs->rsz))) == NULL) {
		free(rs);
		return NULL;
	}
	return rs;
}

/* rs_free: undo rs_new. */
void
rs_free(struct resize *rs)
{
	if (rs == NULL)
		return;
	free(rs->rsz);
	free(rs);
}

/* rs_on: the data threads run. */
void
rs_on(struct resize *rs)
{
	rs->on = 1;
}

/* rs_off: the data threads stop. */
void
rs_off(struct resize *rs)
{
	rs->on = 0;
}

/* rs_pow2: smallest power of two >= v (v <= 2^31). */
static uint32_t
rs_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* rs_replace: publish a ring of `slots` slots from peer id. */
static void
rs_replace(struct resize *rs, uint32_t id, uint32_t from, uint32_t slots,
    const char *why)
{
	const char *name = rs->ni->name;
	int rc;

	rc = node_dirent_replace(rs->seg, rs->self, rs->ni->net, id, slots,
	    rs->ni->nc->slot_size);
	if (rc == 0) {
		log_debug("%s: ring from node %u %s: %u -> %u slots", name, id,
		    why, from, slots);
		rs->rsz[id].since = clock_ms();
	} else if (rc != -EBUSY && !rs->rsz[id].warned++)
		log_warnx("%s: cannot %s the ring from node %u to %u slots: %s",
		    name, why, id, slots, strerror(-rc));
}

/* rs_grow_to: slots to grow to for a request of req slots. */
static uint32_t
rs_grow_to(const struct resize *rs, uint32_t cur, uint32_t req)
{
	uint32_t max = conf_ring_slots(rs->ni->nc), want;

	want = cur <= max / 8 ? cur * 8 : max;
	if (req > want)
		want = req > max ? max : rs_pow2(req);
	return want;
}

/* rs_ring: look after the ring from peer id, whose dirent is de. */
void
rs_ring(struct resize *rs, uint32_t id, const struct shm_dirent *de,
    const struct shm_ring_hdr *h)
{
	const struct netconf *nc = rs->ni->nc;
	struct ringsz *z;
	uint64_t now = clock_ms(), frames;
	uint32_t slots = h->slots, req, min = conf_ring_min_slots(nc);

	if (!rs->on || id < 1 || id > rs->max_nodes)
		return;
	z = &rs->rsz[id];
	if (de->old_off != 0) {
		/* acquire: pairs with the release in rx_done; the old ring
		 * is read no more */
		if (atomic_load_explicit(&rs->h->rx_done_key[id],
			memory_order_acquire) == de->old_key)
			node_dirent_drop_old(rs->seg, rs->self, rs->ni->net, id,
			    de->old_key);
		return;
	}
	req = atomic_load_explicit(&h->grow_req, memory_order_relaxed);
	if (req != 0 && slots < conf_ring_slots(nc)) {
		rs_replace(rs, id, slots, rs_grow_to(rs, slots, req), "grow");
		return;
	}
	frames = atomic_load_explicit(&h->frames, memory_order_relaxed);
	if (frames != z->frames || z->since == 0) {
		z->frames = frames;
		z->since = now;
		return;
	}
	if (slots > min && nc->ring_shrink_s != 0 &&
	    now - z->since >= nc->ring_shrink_s * 1000ull)
		rs_replace(rs, id, slots, min, "shrink");
}

/* rs_kick: our tx thread is attached to a ring of peer id whose directory
 * changed since (a ring replaced, or retired: the peer left or died):
 * wake it so that it moves, or lets go (at most once per call). */
int
rs_kick(struct resize *rs, uint32_t id)
{
	struct shm_node *n = shmseg_node(rs->seg, id);
	uint32_t seen;

	if (!rs->on || n == NULL)
		return 0;
	seen = atomic_load_explicit(&rs->h->tx_seen_dv[id],
	    memory_order_relaxed);
	if (seen == 0 ||
	    seen == atomic_load_explicit(&n->dir_version, memory_order_relaxed))
		return 0;
	tx_kick(rs->tx);
	return 1;
}
