/*
 * mcast.c: labels of multicast rings.
 *
 * A network may have a few multicast rings beside its broadcast ring.
 * They are ticker-tape rings like it (cast.c); each carries a label, the
 * group MAC it serves, which the first writer to that group sets with CAS
 * on a free ring.  Nobody owns a label: it outlives the node that set it,
 * and a ring idle long enough is relabelled by a writer to a group that
 * found every ring busy.  Groups that every node listens to anyway
 * (link-local control groups) never take a ring.  Labels are read with
 * acquire and trusted only as a hint: receivers filter each frame by its
 * destination MAC.
 */
#include "config.h"

#include <string.h>

#include "shmnet_private.h"

/* mcast_label: SHM_LABEL_VALID | the MAC's 48 bits. */
uint64_t
mcast_label(const uint8_t m[6])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 6; i++)
		v = (v << 8) | m[i];
	return v | SHM_LABEL_VALID;
}

/* mcast_label_mac: the MAC of a label. */
void
mcast_label_mac(uint64_t label, uint8_t m[6])
{
	int i;

	for (i = 5; i >= 0; i--) {
		m[i] = (uint8_t)label;
		label >>= 8;
	}
}

/* mcast_ring_worthy: may frames to this MAC take a ring of their own? */
int
mcast_ring_worthy(const uint8_t m[6])
{
	static const uint8_t v4ll[5] = { 0x01, 0x00, 0x5e, 0x00, 0x00 };
	static const uint8_t v6ll[5] = { 0x33, 0x33, 0x00, 0x00, 0x00 };
	static const uint8_t ieee[5] = { 0x01, 0x80, 0xc2, 0x00, 0x00 };

	if (!(m[0] & 1))
		return 0; /* unicast */
	if ((m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff)
		return 0; /* broadcast */
	if (memcmp(m, v4ll, 5) == 0 || memcmp(m, v6ll, 5) == 0 ||
	    memcmp(m, ieee, 5) == 0)
		return 0; /* link-local control */
	if (m[0] == 0x33 && m[1] == 0x33 && m[2] == 0xff)
		return 0; /* IPv6 solicited-node */
	return 1;
}

/* mcast_hdr: header of ring i of net. */
static struct shm_ring_hdr *
mcast_hdr(struct shmseg *s, uint32_t net, uint32_t i)
{
	uint32_t size;

	return shmseg_mcast(s, net, i, &size);
}

/* mcast_find: the ring labelled `label`. */
int
mcast_find(struct shmseg *s, uint32_t net, uint64_t label)
{
	uint32_t i, n = shmseg_mcast_count(s, net);

	for (i = 0; i < n; i++)
		if (atomic_load_explicit(&mcast_hdr(s, net, i)->label,
			memory_order_acquire) == label)
			return (int)i;
	return -1;
}

/* mcast_claim: CAS ring i's label from `from` to label; the ring index if
 * it now carries label (set by us or by a racing writer), else -1. */
static int
mcast_claim(struct shmseg *s, uint32_t net, uint32_t i, uint64_t from,
    uint64_t label, int *taken)
{
	struct shm_ring_hdr *h = mcast_hdr(s, net, i);

	if (atomic_compare_exchange_strong_explicit(&h->label, &from, label,
		memory_order_acq_rel, memory_order_acquire)) {
		*taken = 1;
		return (int)i;
	}
	return from == label ? (int)i : -1;
}

/* mcast_take: find or take a ring for label. */
int
mcast_take(struct shmseg *s, uint32_t net, uint64_t label, uint64_t idle_ms,
    int *taken)
{
	uint32_t i, n = shmseg_mcast_count(s, net);
	uint64_t now, last, oldest = UINT64_MAX, cur;
	int r, victim = -1;

	*taken = 0;
	if ((r = mcast_find(s, net, label)) >= 0)
		return r;
	for (i = 0; i < n; i++)
		if (atomic_load_explicit(&mcast_hdr(s, net, i)->label,
			memory_order_acquire) == 0 &&
		    (r = mcast_claim(s, net, i, 0, label, taken)) >= 0)
			return r;
	now = clock_ms();
	for (i = 0; i < n; i++) {
		last = atomic_load_explicit(&mcast_hdr(s, net, i)->last_ms,
		    memory_order_relaxed);
		if (now - last >= idle_ms && last < oldest) {
			oldest = last;
			victim = (int)i;
		}
	}
	if (victim < 0)
		return -1;
	cur = atomic_load_explicit(&mcast_hdr(s, net, (uint32_t)victim)->label,
	    memory_order_acquire);
	return mcast_claim(s, net, (uint32_t)victim, cur, label, taken);
}
