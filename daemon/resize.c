/*
 * resize.c: ring growth and shrink (DESIGN 3.3), run by the main thread.
 *
 * Pair rings start at ring-min-size.  A transmitter that meets a frame
 * larger than its ring, or a full ring, asks for more slots in the ring's
 * header (grow_req) and rings our bell; our rx thread tells the main loop,
 * which publishes a larger ring (up to ring-size) in our directory.  The
 * old ring stays in the dirent: the transmitter finishes the frame it was
 * writing there, marks it `moved` and goes on in the new ring; our rx
 * thread drains the old ring first and hands its key back (rxpeer.done_key)
 * and we free it.  A ring that carried nothing for ring-shrink-after
 * seconds is replaced by a ring-min-size one the same way.
 *
 * A transmitter blocked in read() on an idle TAP would never notice a new
 * ring, so the main loop also kicks our own tx thread (a signal) when a
 * peer's directory changed under a ring it is attached to.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "shmnetd.h"

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
rs_replace(struct dnet *dn, uint32_t id, uint32_t from, uint32_t slots,
    const char *why)
{
	struct daemon *d = dn->d;
	int rc;

	rc = node_dirent_replace(d->seg, d->self, dn->net, id, slots,
	    dn->nc->slot_size);
	if (rc == 0) {
		log_debug("%s: ring from node %u %s: %u -> %u slots", dn->name,
		    id, why, from, slots);
		dn->rsz[id].since = clock_ms();
	} else if (rc != -EBUSY && !dn->rsz[id].warned++)
		log_warnx("%s: cannot %s the ring from node %u to %u slots: %s",
		    dn->name, why, id, slots, strerror(-rc));
}

/* rs_grow_to: slots to grow to for a request of req slots. */
static uint32_t
rs_grow_to(struct dnet *dn, uint32_t cur, uint32_t req)
{
	uint32_t max = conf_ring_slots(dn->nc), want;

	want = cur <= max / 8 ? cur * 8 : max;
	if (req > want)
		want = req > max ? max : rs_pow2(req);
	return want;
}

/* rs_ring: look after the ring from peer id, whose dirent is de. */
void
rs_ring(struct dnet *dn, uint32_t id, const struct shm_dirent *de,
    const struct shm_ring_hdr *h)
{
	struct ringsz *z = &dn->rsz[id];
	uint64_t now = clock_ms(), frames;
	uint32_t slots = h->slots, req, min = conf_ring_min_slots(dn->nc);

	if (de->old_off != 0) {
		if (dn->rx != NULL && atomic_load_explicit(&dn->rx[id].done_key,
		    memory_order_acquire) == de->old_key)
			node_dirent_drop_old(dn->d->seg, dn->d->self, dn->net,
			    id, de->old_key);
		return;
	}
	req = atomic_load_explicit(&h->grow_req, memory_order_relaxed);
	if (req != 0 && slots < conf_ring_slots(dn->nc)) {
		rs_replace(dn, id, slots, rs_grow_to(dn, slots, req), "grow");
		return;
	}
	frames = atomic_load_explicit(&h->frames, memory_order_relaxed);
	if (frames != z->frames || z->since == 0) {
		z->frames = frames;
		z->since = now;
		return;
	}
	if (slots > min && dn->nc->ring_shrink_s != 0 &&
	    now - z->since >= dn->nc->ring_shrink_s * 1000ull)
		rs_replace(dn, id, slots, min, "shrink");
}

/* rs_kick: our tx thread is attached to a ring of peer id whose directory
 * changed since: wake it so that it moves (at most once per call). */
int
rs_kick(struct dnet *dn, uint32_t id)
{
	struct shm_node *n = shmseg_node(dn->d->seg, id);
	uint32_t seen;

	if (dn->peers == NULL || n == NULL)
		return 0;
	seen = atomic_load_explicit(&dn->peers[id].seen_dv,
	    memory_order_relaxed);
	if (seen == 0 || seen == atomic_load_explicit(&n->dir_version,
	    memory_order_relaxed))
		return 0;
	tx_kick(dn);
	return 1;
}
