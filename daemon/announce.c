/*
 * announce.c: the routes to the cluster a gateway in route mode keeps,
 * for a routing daemon to announce.
 *
 * With [global] gateway-mode = route a gateway answers no ARP for the
 * cluster addresses.  Instead, while this node is up, it keeps in table
 * announce-table
 *
 *   A/32 dev <global interface> proto static
 *
 * for each cluster address A (every one of the segment's table, whatever
 * nodes carry it) that some up node carrying it listens on for new
 * clients or reaches the outside from (egress); G6/128 likewise when
 * address6 is set; with route-local the local network through the local
 * interface, so that routers reach each node's own address (rlocal.c);
 * and the client networks while some up node reaches the outside from
 * its client address.  A routing daemon beside it learns them from that
 * table and exports them (BIRD's kernel protocol with learn;
 * conf/bird-gateway.conf, frr-gateway.conf).  A route goes when its last
 * user does and when the daemon leaves; when the daemon dies they go with
 * the global interface, a TAP that lives only as long as its daemon.  So
 * the routers stop sending to a gateway that cannot deliver.  Main
 * thread only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "log.h"
#include "route.h"

/* The routes a gateway may keep, one bit each in fams, on and failed. */
enum announce_kind {
	AN_G6,      /* G6/128 dev <global interface> */
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
	const struct conf *c;
	struct shmseg *seg;
	uint32_t self;
	uint32_t table;
	int ifindex; /* the global interface */
	struct announce_route r[AN_KINDS];
	unsigned fams;   /* the kinds configured here (1 << AN_*) */
	unsigned on;     /* the routes in place */
	unsigned failed; /* the last change of these failed (said once) */
	uint32_t on4;    /* the cluster addresses whose routes are in
			  * place, by index ... */
	uint32_t g4[SHM_GADDR_MAX]; /* ... and each one's address */
	uint32_t failed4;           /* the last change failed (said once) */
	int leaving;                /* withdrawn for good: nothing more */
};

/* announce_publish: what shmnetctl shows of it (shm_node.gw). */
static void
announce_publish(struct announce *a, int route)
{
	struct shm_node *n = shmseg_node(a->seg, a->self);
	uint8_t gw = route ? SHM_GW_ROUTE : 0;
	int k;

	if (a->fams & (1u << AN_G6))
		gw |= SHM_GW_HAS6;
	if (a->on4 & 1)
		gw |= SHM_GW_G;
	for (k = 0; k < AN_KINDS; k++)
		if (a->on & (1u << k))
			gw |= a->r[k].gwbit;
	atomic_store_explicit(&n->gw_gaddrs, (uint16_t)(route ? a->on4 : 0),
	    memory_order_relaxed);
	atomic_store_explicit(&n->gw, gw, memory_order_relaxed);
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
	a->c = c;
	a->seg = seg;
	a->self = self;
	a->table = c->g.announce_table;
	a->ifindex = ifindex;
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
	log_info("global: gateway in route mode: the cluster addresses' "
		 "routes in table %u while a node listens or reaches the "
		 "outside",
	    a->table);
	return a;
}

/* announce_said: log the outcome of a route change: what it concerns
 * (name), and why it went; *failed: whether the last change of it failed
 * (a failure is said once). */
static void
announce_said(struct announce *a, const char *name, int add, int rc,
    const char *why, int *failed)
{
	if (rc != 0) {
		if (!*failed)
			log_warnx("global: cannot %s the route to %s in table "
				  "%u: %s",
			    add ? "add" : "delete", name, a->table,
			    strerror(-rc));
		*failed = 1;
		return;
	}
	*failed = 0;
	if (add)
		log_info("global: route to %s in table %u: announced", name,
		    a->table);
	else
		log_info("global: route to %s out of table %u: %s", name,
		    a->table, why);
}

/* announce_set: add or delete (saying why) kind k's route. */
static void
announce_set(struct announce *a, enum announce_kind k, int add, const char *why)
{
	struct announce_route *r = &a->r[k];
	unsigned bit = 1u << k;
	int rc, failed = (a->failed & bit) != 0;

	rc = rt_route_set(add, r->family, a->table, r->dst, r->len, r->ifindex);
	announce_said(a, r->name, add, rc, why, &failed);
	a->failed = failed ? a->failed | bit : a->failed & ~bit;
	if (rc == 0)
		a->on = add ? a->on | bit : a->on & ~bit;
	announce_publish(a, 1);
}

/* announce_set4: add or delete (saying why) the route to cluster
 * address index i, address g (a delete: the one added). */
static void
announce_set4(struct announce *a, uint32_t i, uint32_t g, int add,
    const char *why)
{
	int rc, failed = (a->failed4 >> i) & 1;
	char name[INET_ADDRSTRLEN + 16], s[INET_ADDRSTRLEN], n[8];

	if (!add)
		g = a->g4[i];
	inet_ntop(AF_INET, &g, s, sizeof(s));
	gaddr_name(i, n, sizeof(n));
	snprintf(name, sizeof(name), "%s (%s)", s, n);
	rc = rt_route_set(add, AF_INET, a->table, &g, 32, a->ifindex);
	announce_said(a, name, add, rc, why, &failed);
	a->failed4 = failed ? a->failed4 | (1u << i) : a->failed4 & ~(1u << i);
	if (rc == 0 && add) {
		a->on4 |= 1u << i;
		a->g4[i] = g;
	} else if (rc == 0)
		a->on4 &= ~(1u << i);
	announce_publish(a, 1);
}

/* announce_table: the cluster addresses to route (index i's in g[i]),
 * as a mask: those of the segment's table that lie outside this node's
 * local and client networks. */
static uint32_t
announce_table(struct announce *a, uint32_t *g)
{
	uint32_t mask = gaddr_read(a->seg, g, NULL), i;

	for (i = 0; i < SHM_GADDR_MAX; i++)
		if (((mask >> i) & 1) && conf_gaddr_ok(a->c, g[i], NULL) != 0)
			mask &= ~(1u << i);
	return mask;
}

/* announce_egress: what the up nodes with egress need: from G, the
 * cluster addresses they carry (in *addrs) and G6; from their client
 * addresses, the client networks (shm_node.flags and gaddrs: bits,
 * nothing to bounds-check). */
static unsigned
announce_egress(struct shmseg *seg, uint32_t *addrs)
{
	uint32_t id, max = shmseg_max_nodes(seg);
	struct shm_node *n;
	unsigned want = 0;

	*addrs = 0;
	for (id = 1; id <= max; id++) {
		n = shmseg_node(seg, id);
		if (atomic_load_explicit(&n->state, memory_order_acquire) !=
		    SHM_NODE_UP)
			continue;
		if (n->flags & SHM_NODE_F_EGRESS) {
			want |= 1u << AN_G6;
			*addrs |= (n->flags & SHM_NODE_F_GADDRS) ?
			    atomic_load_explicit(&n->gaddrs,
				memory_order_relaxed) :
			    1u;
		}
		if (n->flags & SHM_NODE_F_EGRESS_NODE)
			want |= 1u << AN_CLIENT | 1u << AN_CLIENT6;
	}
	return want;
}

/* announce_want: the kinds, and in *want4 the cluster addresses among
 * mask, to keep now (this node up). */
static unsigned
announce_want(struct announce *a, uint32_t mask, uint32_t *want4)
{
	unsigned want = 1u << AN_LOCAL;
	uint32_t out;

	if (listen_families(a->seg) & LISTEN_V6)
		want |= 1u << AN_G6;
	want |= announce_egress(a->seg, &out);
	*want4 = (listen_addresses(a->seg) | out) & mask;
	return want & a->fams;
}

/* announce_update: the routes to what the cluster serves and reaches
 * now; called every tick and whenever the members or the listeners
 * change. */
void
announce_update(struct announce *a)
{
	uint32_t g[SHM_GADDR_MAX], mask, want4 = 0, i, bit;
	unsigned want = 0;
	const char *why;
	int up, k;

	if (a == NULL)
		return;
	up = atomic_load_explicit(&shmseg_node(a->seg, a->self)->state,
		 memory_order_acquire) == SHM_NODE_UP;
	why = a->leaving ? "leaving" :
	    up           ? "no node listens or reaches out" :
			   "this node is not up";
	mask = announce_table(a, g);
	if (up && !a->leaving)
		want = announce_want(a, mask, &want4);
	for (i = 0; i < SHM_GADDR_MAX; i++) {
		bit = 1u << i;
		if ((a->on4 & bit) && (!(want4 & bit) || g[i] != a->g4[i]))
			announce_set4(a, i, 0, 0, why);
		if ((want4 & bit) && (!(a->on4 & bit) || (a->failed4 & bit)))
			announce_set4(a, i, g[i], 1, why);
	}
	for (k = 0; k < AN_KINDS; k++)
		if ((a->fams & (1u << k)) &&
		    (!!(want & (1u << k)) != !!(a->on & (1u << k)) ||
			(a->failed & (1u << k))))
			announce_set(a, (enum announce_kind)k,
			    !!(want & (1u << k)), why);
}

/* announce_withdraw: withdraw for good (the daemon is leaving); whether
 * a route was in place, for routers to move away from. */
int
announce_withdraw(struct announce *a)
{
	int was;

	if (a == NULL)
		return 0;
	was = a->on != 0 || a->on4 != 0;
	a->leaving = 1;
	announce_update(a);
	return was;
}

/* announce_free: withdraw, then free; a may be NULL. */
void
announce_free(struct announce *a)
{
	uint32_t i;
	int k;

	if (a == NULL)
		return;
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if ((a->on4 >> i) & 1) {
			a->failed4 &= ~(1u << i);
			announce_set4(a, i, 0, 0, "leaving");
		}
	for (k = 0; k < AN_KINDS; k++)
		if (a->on & (1u << k)) {
			a->failed &= ~(1u << k);
			announce_set(a, (enum announce_kind)k, 0, "leaving");
		}
	announce_publish(a, 0);
	free(a);
}
