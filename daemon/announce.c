/*
 * announce.c: the routes to the cluster addresses a gateway in route mode
 * keeps, for a routing daemon to announce.
 *
 * With [global] gateway-mode = route a gateway answers no ARP for the
 * cluster addresses.  Instead, while this node is up, for each cluster
 * address (every one of the segment's table, whatever nodes carry it)
 * that some up node carrying it listens on for new clients, it keeps
 *
 *   G/32 dev <global interface> proto static    in table announce-table
 *
 * (G6/128 likewise when address6 is set and some up node listens in
 * IPv6; and, with route-local, the local network through the local
 * interface while this node is up, so that routers reach each node's own
 * address, rlocal.c), which a routing daemon beside it learns from that
 * table and exports (BIRD's kernel protocol with learn, FRR's
 * import-table; conf/bird-gateway.conf, frr-gateway.conf).  An address's
 * route goes when the last listener for it does and when the daemon
 * leaves; when the daemon dies they go with the global interface, a TAP
 * that lives only as long as its daemon.  So the routers stop sending an
 * address to a gateway that cannot deliver it.  Main thread only.
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

/* Beside LISTEN_V6 (G6): the local network (route-local). */
#define ANNOUNCE_LOCAL 0x04

struct announce {
	const struct conf *c;
	struct shmseg *seg;
	uint32_t self;
	uint32_t table;
	int ifindex;
	uint8_t g6[16]; /* when has6 */
	unsigned fams;  /* LISTEN_V6 with G6, ANNOUNCE_LOCAL */
	int lifindex;   /* the local interface */
	uint32_t lnet;  /* the local network, network order */
	uint8_t lprefix;
	unsigned on;     /* G6's and the local network's routes in place */
	unsigned failed; /* the last change of these failed (said once) */
	uint32_t on4;    /* the cluster addresses whose routes are in
			  * place, by index ... */
	uint32_t g4[SHM_GADDR_MAX]; /* ... and each one's address */
	uint32_t failed4;           /* the last change failed (said once) */
	int leaving;                /* withdrawn for good: nothing more */
};

/* announce_publish: what shmnetctl shows of it (shm_node.gw and
 * gw_gaddrs). */
static void
announce_publish(struct announce *a, int route)
{
	struct shm_node *n = shmseg_node(a->seg, a->self);

	atomic_store_explicit(&n->gw_gaddrs, (uint16_t)(route ? a->on4 : 0),
	    memory_order_relaxed);
	atomic_store_explicit(&n->gw,
	    (uint8_t)((route ? SHM_GW_ROUTE : 0) |
		((a->fams & LISTEN_V6) ? SHM_GW_HAS6 : 0) |
		((a->on4 & 1) ? SHM_GW_G : 0) |
		((a->on & LISTEN_V6) ? SHM_GW_G6 : 0) |
		((a->on & ANNOUNCE_LOCAL) ? SHM_GW_LOCAL : 0)),
	    memory_order_relaxed);
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
	if (conf_has_g6(c)) {
		memcpy(a->g6, c->g.addr6, sizeof(a->g6));
		a->fams |= LISTEN_V6;
	}
	if (c->g.route_local && a->table == RT_TABLE_MAIN)
		/* its connected route is there: a route of ours would
		 * replace it, and take it away when withdrawn */
		log_info("global: route-local: the local network's route is "
			 "in the main table already; let the routing daemon "
			 "announce it from there");
	else if (c->g.route_local) {
		a->lifindex = lifindex;
		a->lprefix = (uint8_t)c->local.prefix;
		a->lnet = shmseg_node(seg, self)->addr4[SHM_NET_LOCAL] &
		    htonl(~0u << (32 - c->local.prefix));
		a->fams |= ANNOUNCE_LOCAL;
	}
	announce_publish(a, 1);
	log_info("global: gateway in route mode: the cluster addresses' "
		 "routes in table %u while a node listens",
	    a->table);
	return a;
}

/* announce_said: log the outcome of a route change: what it concerns
 * (name), and why it went. */
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

/* announce_set: add or delete (saying why) G6's or the local network's
 * route. */
static void
announce_set(struct announce *a, unsigned fam, int add, const char *why)
{
	int rc, failed = (a->failed & fam) != 0;

	rc = fam == LISTEN_V6 ?
	    rt_route_set(add, AF_INET6, a->table, a->g6, 128, a->ifindex) :
	    rt_route_set(add, AF_INET, a->table, &a->lnet, a->lprefix,
		a->lifindex);
	announce_said(a, fam == LISTEN_V6 ? "G6" : "the local network", add, rc,
	    why, &failed);
	a->failed = failed ? a->failed | fam : a->failed & ~fam;
	if (rc == 0)
		a->on = add ? a->on | fam : a->on & ~fam;
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

/* announce_update: the routes to what the cluster serves now; called
 * every tick and whenever the members or the listeners change. */
void
announce_update(struct announce *a)
{
	uint32_t g[SHM_GADDR_MAX], mask, want4 = 0, i, bit;
	unsigned want, fam;
	const char *why;
	int up;

	if (a == NULL)
		return;
	up = atomic_load_explicit(&shmseg_node(a->seg, a->self)->state,
		 memory_order_acquire) == SHM_NODE_UP;
	why = a->leaving ? "leaving" :
	    up           ? "no node listens" :
			   "this node is not up";
	mask = announce_table(a, g);
	if (up && !a->leaving)
		want4 = listen_addresses(a->seg) & mask;
	for (i = 0; i < SHM_GADDR_MAX; i++) {
		bit = 1u << i;
		if ((a->on4 & bit) && (!(want4 & bit) || g[i] != a->g4[i]))
			announce_set4(a, i, 0, 0, why);
		if ((want4 & bit) && (!(a->on4 & bit) || (a->failed4 & bit)))
			announce_set4(a, i, g[i], 1, why);
	}
	want = up && !a->leaving ?
	    (listen_families(a->seg) | ANNOUNCE_LOCAL) & a->fams :
	    0;
	for (fam = LISTEN_V6; fam <= ANNOUNCE_LOCAL; fam <<= 1)
		if ((a->fams & fam) &&
		    (!!(want & fam) != !!(a->on & fam) || (a->failed & fam)))
			announce_set(a, fam, !!(want & fam), why);
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
	unsigned fam;
	uint32_t i;

	if (a == NULL)
		return;
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if ((a->on4 >> i) & 1) {
			a->failed4 &= ~(1u << i);
			announce_set4(a, i, 0, 0, "leaving");
		}
	for (fam = LISTEN_V6; fam <= ANNOUNCE_LOCAL; fam <<= 1)
		if (a->on & fam) {
			a->failed &= ~fam;
			announce_set(a, fam, 0, "leaving");
		}
	announce_publish(a, 0);
	free(a);
}
