/*
 * gaddr.c: the cluster's addresses and which nodes carry them.
 *
 * A cluster has up to SHM_GADDR_MAX IPv4 cluster addresses.  Each has an
 * index, the same for every node and for shmnetctl: index 0 is the
 * segment creator's first address (the header's global_addr4), and the
 * first node that carries an address no index has yet takes the lowest
 * free one with a CAS, never released while the segment lives.  Flows,
 * services and listeners name an address by its index.  Each node
 * publishes which indexes it carries (shm_node.gaddrs) before it goes
 * UP; a node of an older build, which publishes nothing, carries index
 * 0.  The table is read as untrusted as everything else: an entry that
 * is no unicast address, or repeats a lower index's, names nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shmnet_private.h"

/* gaddr_unicast: can a (network order) be a cluster address? */
static int
gaddr_unicast(uint32_t a)
{
	uint32_t h = ntohl(a);

	return h != 0 && h != 0xffffffffu && (h >> 28) != 0xe &&
	    (h >> 24) != 0 && (h >> 24) != 127;
}

/* gaddr_slot: the table's word of index i (1 .. SHM_GADDR_MAX - 1). */
static _Atomic uint32_t *
gaddr_slot(struct shmseg *s, uint32_t i)
{
	return &((struct shm_hdr *)s->base)->gaddr4[i - 1];
}

/* gaddr_at: the address index i holds now, 0 for none (unvalidated). */
static uint32_t
gaddr_at(struct shmseg *s, uint32_t i)
{
	if (i == 0)
		return ((volatile struct shm_hdr *)s->base)->global_addr4;
	return atomic_load_explicit(gaddr_slot(s, i), memory_order_acquire);
}

/* gaddr_read: the table, validated. */
uint32_t
gaddr_read(struct shmseg *s, uint32_t out[SHM_GADDR_MAX], uint32_t *seen)
{
	uint32_t i, j, a, mask = 0, used = SHM_GADDR_MAX;

	for (i = 0; i < SHM_GADDR_MAX; i++) {
		out[i] = 0;
		a = gaddr_at(s, i);
		if (a == 0 && i > 0 && used == SHM_GADDR_MAX)
			used = i; /* index 0 never changes */
		if (!gaddr_unicast(a))
			continue;
		for (j = 0; j < i && out[j] != a; j++)
			;
		if (j < i)
			continue; /* a lower index has it */
		out[i] = a;
		mask |= 1u << i;
	}
	if (seen != NULL)
		*seen = used;
	return mask;
}

/* gaddr_find: the index of address a, or -ENOENT. */
int
gaddr_find(struct shmseg *s, uint32_t a)
{
	uint32_t t[SHM_GADDR_MAX], mask = gaddr_read(s, t, NULL), i;

	for (i = 0; i < SHM_GADDR_MAX; i++)
		if ((mask & (1u << i)) && t[i] == a)
			return (int)i;
	return -ENOENT;
}

/* gaddr_claim: the index of address a, taking the lowest free one if it
 * has none: the lowest, so that an entry found set is final and readers
 * that saw index n - 1 set look no further than n (gaddr_more). */
int
gaddr_claim(struct shmseg *s, uint32_t a)
{
	uint32_t i, cur;
	int rc;

	if (!s->writable || s->admin)
		return -EROFS;
	if (!gaddr_unicast(a))
		return -EINVAL;
	if ((rc = gaddr_find(s, a)) >= 0)
		return rc;
	for (i = 1; i < SHM_GADDR_MAX; i++) {
		cur = atomic_load_explicit(gaddr_slot(s, i),
		    memory_order_acquire);
		/* release: pairs with the acquire in gaddr_at */
		if (cur == 0 &&
		    atomic_compare_exchange_strong_explicit(gaddr_slot(s, i),
			&cur, a, memory_order_release, memory_order_acquire))
			return (int)i;
		if (cur == a) /* another node took it for a first */
			return (int)i;
	}
	return -ENOSPC;
}

/* gaddr_more: has the table an entry at index seen, which gaddr_read
 * found empty (*seen)?  One load: what a data thread asks per frame
 * before it reads the table again. */
int
gaddr_more(struct shmseg *s, uint32_t seen)
{
	return seen < SHM_GADDR_MAX && gaddr_at(s, seen) != 0;
}

/* gaddr_publish: node id carries the addresses of mask (its own node,
 * before it goes UP). */
void
gaddr_publish(struct shmseg *s, uint32_t id, uint32_t mask)
{
	struct shm_node *n = shmseg_node(s, id);

	if (n == NULL)
		return;
	atomic_store_explicit(&n->gaddrs,
	    (uint16_t)(mask & ((1u << SHM_GADDR_MAX) - 1)),
	    memory_order_relaxed);
	n->flags |= SHM_NODE_F_GADDRS;
}

/* gaddr_carried: the indexes node id carries, one bit each. */
uint32_t
gaddr_carried(struct shmseg *s, uint32_t id)
{
	struct shm_node *n = shmseg_node(s, id);

	return n != NULL ? gaddr_node_carried(n) : 0;
}

/* gaddr_pick: the UP node that answers for address index aidx by hash
 * h, among those that carry it (an echo to it). */
int
gaddr_pick(struct shmseg *s, uint32_t aidx, uint64_t h, uint32_t *node)
{
	uint32_t cand[SHM_NODES_MAX], n = 0, id;

	if (aidx >= SHM_GADDR_MAX)
		return -ENOENT;
	for (id = 1; id <= s->max_nodes; id++)
		if (atomic_load_explicit(&shmseg_node(s, id)->state,
			memory_order_acquire) == SHM_NODE_UP &&
		    ((gaddr_carried(s, id) >> aidx) & 1))
			cand[n++] = id;
	if (n == 0)
		return -ENOENT;
	*node = cand[(h >> 32) % n];
	return 0;
}

/* gaddr_name: "G" for index 0, "G#i" for the others. */
void
gaddr_name(uint32_t i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "G");
	else
		snprintf(buf, len, "G#%u", i);
}
