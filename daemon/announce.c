/*
 * announce.c: the route to G a gateway in route mode keeps, for a routing
 * daemon to announce.
 *
 * With [global] gateway-mode = route a gateway answers no ARP for G.
 * Instead, while this node is up and some up node of the cluster listens
 * for new clients in G's family, it keeps
 *
 *   G/32 dev <global interface> proto static    in table announce-table
 *
 * (G6/128 likewise when address6 is set; and, with route-local, the
 * local network through the local interface while this node is up, so
 * that routers reach each node's own address, rlocal.c), which a routing
 * daemon beside it learns from that table and exports (BIRD's kernel protocol with
 * learn, FRR's import-table; conf/bird-gateway.conf, frr-gateway.conf).
 * The route goes when the last listener does and when the daemon leaves;
 * when the daemon dies it goes with the global interface, a TAP that
 * lives only as long as its daemon.  So the routers stop sending G to a
 * gateway that cannot deliver it.  Main thread only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "log.h"
#include "route.h"

/* The routes a gateway may keep, one bit each in fams, on and failed. */
enum announce_kind {
	AN_G,       /* G/32 dev <global interface> */
	AN_G6,      /* G6/128 */
	AN_LOCAL,   /* the local network dev <local interface> (route-local) */
	AN_CLIENT,  /* the client network dev <global interface>, and */
	AN_CLIENT6, /* ... the IPv6 one (egress-source = node) */
	AN_KINDS
};

/* One of them. */
struct announce_route {
	const char *name; /* for the log */
	int family;
	uint8_t dst[16]; /* network order */
	uint8_t len;
	int ifindex;
	uint8_t gwbit; /* SHM_GW_* while in place */
};

struct announce {
	struct shmseg *seg;
	uint32_t self;
	uint32_t table;
	struct announce_route r[AN_KINDS];
	unsigned fams;   /* the kinds configured here (1 << AN_*) */
	unsigned on;     /* the routes in place */
	unsigned failed; /* the last change of these failed (said once) */
	int leaving;     /* withdrawn for good: announce nothing more */
};

/* announce_publish: what shmnetctl shows of it (shm_node.gw). */
static void
announce_publish(struct announce *a, int route)
{
	uint8_t gw = route ? SHM_GW_ROUTE : 0;
	int k;

	if (a->fams & (1u << AN_G6))
		gw |= SHM_GW_HAS6;
	for (k = 0; k < AN_KINDS; k++)
		if (a->on & (1u << k))
			gw |= a->r[k].gwbit;
	atomic_store_explicit(&shmseg_node(a->seg, a->self)->gw, gw,
	    memory_order_relaxed);
}

/* announce_route: kind k is dst/len dev ifindex (4 or 16 bytes). */
static void
announce_route(struct announce *a, enum announce_kind k, const char *name,
    int family, const void *dst, uint8_t len, int ifindex, uint8_t gwbit)
{
	struct announce_route *r = &a->r[k];

	r->name = name;
	r->family = family;
	memcpy(r->dst, dst, family == AF_INET ? 4 : 16);
	r->len = len;
	r->ifindex = ifindex;
	r->gwbit = gwbit;
	a->fams |= 1u << k;
}

/* announce_local: the local network's route, with route-local. */
static void
announce_local(struct announce *a, const struct conf *c, int lifindex)
{
	uint32_t net;

	if (!c->g.route_local)
		return;
	if (a->table == RT_TABLE_MAIN) {
		/* its connected route is there: a route of ours would
		 * replace it, and take it away when withdrawn */
		log_info("global: route-local: the local network's route is "
			 "in the main table already; let the routing daemon "
			 "announce it from there");
		return;
	}
	net = shmseg_node(a->seg, a->self)->addr4[SHM_NET_LOCAL] &
	    htonl(~0u << (32 - c->local.prefix));
	announce_route(a, AN_LOCAL, "the local network", AF_INET, &net,
	    (uint8_t)c->local.prefix, lifindex, SHM_GW_LOCAL);
}

/* announce_new: for a gateway in route mode; announces nothing yet. */
struct announce *
announce_new(const struct conf *c, struct shmseg *seg, uint32_t self,
    int ifindex, int lifindex)
{
	struct announce *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->seg = seg;
	a->self = self;
	a->table = c->g.announce_table;
	announce_route(a, AN_G, "G", AF_INET, &c->global.addr, 32, ifindex,
	    SHM_GW_G);
	announce_route(a, AN_CLIENT, "the client network", AF_INET,
	    &c->g.client_net, (uint8_t)c->g.client_prefix, ifindex,
	    SHM_GW_CLIENT);
	if (conf_has_g6(c)) {
		announce_route(a, AN_G6, "G6", AF_INET6, c->g.addr6, 128,
		    ifindex, SHM_GW_G6);
		announce_route(a, AN_CLIENT6, "the IPv6 client network",
		    AF_INET6, c->g.client6, (uint8_t)c->g.client6_prefix,
		    ifindex, SHM_GW_CLIENT);
	}
	announce_local(a, c, lifindex);
	announce_publish(a, 1);
	log_info("global: gateway in route mode: G's route in table %u "
		 "while a node listens or reaches the outside",
	    a->table);
	return a;
}

/* announce_set: add or delete (saying why) kind k's route. */
static void
announce_set(struct announce *a, enum announce_kind k, int add, const char *why)
{
	struct announce_route *r = &a->r[k];
	unsigned bit = 1u << k;
	int rc;

	rc = rt_route_set(add, r->family, a->table, r->dst, r->len, r->ifindex);
	if (rc != 0) {
		if (!(a->failed & bit))
			log_warnx("global: cannot %s the route to %s in table "
				  "%u: %s",
			    add ? "add" : "delete", r->name, a->table,
			    strerror(-rc));
		a->failed |= bit;
		return;
	}
	a->failed &= ~bit;
	if (add) {
		a->on |= bit;
		log_info("global: route to %s in table %u: announced", r->name,
		    a->table);
	} else {
		a->on &= ~bit;
		log_info("global: route to %s out of table %u: %s", r->name,
		    a->table, why);
	}
	announce_publish(a, 1);
}

/* announce_egress: the kinds the up nodes with egress need: G and G6
 * for egress from G, the client networks for egress from the nodes'
 * client addresses (shm_node.flags: bits, nothing to bounds-check). */
static unsigned
announce_egress(struct shmseg *seg)
{
	uint32_t id, max = shmseg_max_nodes(seg);
	struct shm_node *n;
	unsigned want = 0;

	for (id = 1; id <= max; id++) {
		n = shmseg_node(seg, id);
		if (atomic_load_explicit(&n->state, memory_order_acquire) !=
		    SHM_NODE_UP)
			continue;
		if (n->flags & SHM_NODE_F_EGRESS)
			want |= 1u << AN_G | 1u << AN_G6;
		if (n->flags & SHM_NODE_F_EGRESS_NODE)
			want |= 1u << AN_CLIENT | 1u << AN_CLIENT6;
	}
	return want;
}

/* announce_want: the kinds to keep now (this node up). */
static unsigned
announce_want(struct announce *a)
{
	unsigned fams = listen_families(a->seg), want = 1u << AN_LOCAL;

	if (fams & LISTEN_V4)
		want |= 1u << AN_G;
	if (fams & LISTEN_V6)
		want |= 1u << AN_G6;
	return (want | announce_egress(a->seg)) & a->fams;
}

/* announce_update: the routes to what the cluster serves and reaches
 * now; called every tick and whenever the members or the listeners
 * change. */
void
announce_update(struct announce *a)
{
	unsigned want;
	int up, k;

	if (a == NULL)
		return;
	up = atomic_load_explicit(&shmseg_node(a->seg, a->self)->state,
		 memory_order_acquire) == SHM_NODE_UP;
	want = up && !a->leaving ? announce_want(a) : 0;
	for (k = 0; k < AN_KINDS; k++)
		if ((a->fams & (1u << k)) &&
		    (!!(want & (1u << k)) != !!(a->on & (1u << k)) ||
			(a->failed & (1u << k))))
			announce_set(a, (enum announce_kind)k,
			    !!(want & (1u << k)),
			    a->leaving     ? "leaving" :
				!up        ? "this node is not up" :
				k <= AN_G6 ? "no node listens or reaches out" :
					     "no node reaches out from its "
					     "client address");
}

/* announce_withdraw: withdraw for good (the daemon is leaving); whether
 * a route was in place, for routers to move away from. */
int
announce_withdraw(struct announce *a)
{
	int was;

	if (a == NULL)
		return 0;
	was = a->on != 0;
	a->leaving = 1;
	announce_update(a);
	return was;
}

/* announce_free: withdraw, then free; a may be NULL. */
void
announce_free(struct announce *a)
{
	int k;

	if (a == NULL)
		return;
	for (k = 0; k < AN_KINDS; k++)
		if (a->on & (1u << k)) {
			a->failed &= ~(1u << k);
			announce_set(a, (enum announce_kind)k, 0, "leaving");
		}
	announce_publish(a, 0);
	free(a);
}
