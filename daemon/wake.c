/*
 * wake.c: ring other nodes' doorbells on a network.  A doorbell wakes a
 * receive thread only when it said it sleeps (libshmnet/bell.c), so
 * ringing one that is awake costs a load.
 */
#include "config.h"

#include "shmnet.h"
#include "wake.h"

/* wake_node: ring node id's doorbell on net. */
void
wake_node(struct shmseg *seg, uint32_t net, uint32_t id)
{
	struct shm_node *n = shmseg_node(seg, id);

	if (n != NULL)
		bell_ring(&n->bell[net]);
}

/* wake_up_node: node id's entry if it is another UP node, else NULL. */
static struct shm_node *
wake_up_node(struct shmseg *seg, uint32_t self, uint32_t id)
{
	struct shm_node *n;

	if (id == self || (n = shmseg_node(seg, id)) == NULL ||
	    atomic_load_explicit(&n->state, memory_order_relaxed) !=
		SHM_NODE_UP)
		return NULL;
	return n;
}

/* wake_all: ring every other UP node's doorbell on net. */
void
wake_all(struct shmseg *seg, uint32_t self, uint32_t net)
{
	struct shm_node *n;
	uint32_t id, max = shmseg_max_nodes(seg);

	for (id = 1; id <= max; id++)
		if ((n = wake_up_node(seg, self, id)) != NULL)
			bell_ring(&n->bell[net]);
}

/* wake_followers: ring the doorbells of the other UP nodes whose receive
 * thread follows multicast ring `ring` on net (they say so in their
 * node table entry's mcast_follow mask). */
void
wake_followers(struct shmseg *seg, uint32_t self, uint32_t net, uint32_t ring)
{
	struct shm_node *n;
	uint64_t bit = 1ull << ring;
	uint32_t id, max = shmseg_max_nodes(seg);

	for (id = 1; id <= max; id++)
		if ((n = wake_up_node(seg, self, id)) != NULL &&
		    (atomic_load_explicit(&n->mcast_follow[net],
			 memory_order_relaxed) &
			bit))
			bell_ring(&n->bell[net]);
}
