/*
 * netif.h: one network's interface: its TAP, the port frames are
 * delivered through, and its counters and doorbell in the segment.
 */
#ifndef SHMNETD_NETIF_H
#define SHMNETD_NETIF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "shmnet.h"
#include "tap.h"

struct tapio;

/*
 * A port delivers frames to a local transport.  Rings deliver through it
 * by direct call: no queue between the ring and the TAP.  vnet points to
 * SHM_VNET_HDR_LEN bytes; frame may point into shared memory.
 */
struct port_ops {
	const char	*kind;
	int		(*output)(void *ctx, const uint8_t *vnet,
			    const uint8_t *frame, uint32_t len);
};

struct port {
	const struct port_ops	*ops;
	void			*ctx;
};

/*
 * A network of this node, kept in the hand-off (shmnetd.h).  Set up by
 * the main thread (netif_open, then netif_attach once the node is
 * claimed) before the data threads start, and only read after that.
 * The counters in stats are written by the threads that count them
 * (libshmnet/layout.h says which).
 */
struct netif {
	uint32_t		 net;		/* SHM_NET_* */
	const char		*name;		/* "local", "global" */
	const struct netconf	*nc;
	struct tap		 tap;
	struct port		 out;
	struct shm_node_stats	*stats;		/* own counters */
	struct shm_bell		*bell;		/* own doorbell */
};

/* stat_add: bump a counter in shared memory that only the calling
 * thread writes (a plain load and store: no locked instruction on the
 * hot path). */
static inline void
stat_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
	    + v, memory_order_relaxed);
}

/* Create the TAP of network net (checks /dev/net/tun and CAP_NET_ADMIN);
 * 0 or -errno with err set. */
int	 netif_open(struct netif *ni, uint32_t net, const struct netconf *nc,
	    char *err, size_t errlen);
/* The node's counters and doorbell for this network. */
void	 netif_attach(struct netif *ni, struct shm_node *node);
/* MAC, MTU, addresses and link up, published in the node table. */
int	 netif_configure(struct netif *ni, const struct conf *c,
	    struct shm_node *node, uint32_t self, char *err, size_t errlen);
void	 netif_close(struct netif *ni);
/* The calling data thread's batched TAP I/O, or none (which one is said
 * once per network, through *said). */
void	 netif_tapio(const struct netif *ni, struct tapio *t,
	    _Atomic int *said);

#endif /* SHMNETD_NETIF_H */
