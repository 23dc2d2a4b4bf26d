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
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "log.h"
#include "route.h"

/* Beside LISTEN_V4 and LISTEN_V6: the local network (route-local). */
#define ANNOUNCE_LOCAL 0x04

struct announce {
	struct shmseg *seg;
	uint32_t self;
	uint32_t table;
	int ifindex;
	uint32_t g;     /* network order */
	uint8_t g6[16]; /* when has6 */
	unsigned fams;  /* LISTEN_V4, LISTEN_V6 with G6, ANNOUNCE_LOCAL */
	int lifindex;   /* the local interface */
	uint32_t lnet;  /* the local network, network order */
	uint8_t lprefix;
	unsigned on;     /* the routes in place */
	unsigned failed; /* the last change of these failed (said once) */
	int leaving;     /* withdrawn for good: announce nothing more */
};

/* announce_publish: what shmnetctl shows of it (shm_node.gw). */
static void
announce_publish(struct announce *a, int route)
{
	atomic_store_explicit(&shmseg_node(a->seg, a->self)->gw,
	    (uint8_t)((route ? SHM_GW_ROUTE : 0) |
		((a->fams & LISTEN_V6) ? SHM_GW_HAS6 : 0) |
		((a->on & LISTEN_V4) ? SHM_GW_G : 0) |
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
	a->seg = seg;
	a->self = self;
	a->table = c->g.announce_table;
	a->ifindex = ifindex;
	a->g = c->global.addr;
	a->fams = LISTEN_V4;
	if (conf_has_g6(c)) {
		memcpy(a->g6, c->g.addr6, sizeof(a->g6));
		a->fams |= LISTEN_V6;
	}
	if (c->g.route_local) {
		a->lifindex = lifindex;
		a->lprefix = (uint8_t)c->local.prefix;
		a->lnet = shmseg_node(seg, self)->addr4[SHM_NET_LOCAL] &
		    htonl(~0u << (32 - c->local.prefix));
		a->fams |= ANNOUNCE_LOCAL;
	}
	announce_publish(a, 1);
	log_info("global: gateway in route mode: G's route in table %u "
		 "while a node listens",
	    a->table);
	return a;
}

/* announce_set: add or delete (saying why) one family's route. */
static void
announce_set(struct announce *a, unsigned fam, int add, const char *why)
{
	const char *name = fam == LISTEN_V4 ? "G" :
	    fam == LISTEN_V6                ? "G6" :
					      "the local network";
	int rc;

	rc = fam == LISTEN_V4 ?
	    rt_route_set(add, AF_INET, a->table, &a->g, 32, a->ifindex) :
	    fam == LISTEN_V6 ?
	    rt_route_set(add, AF_INET6, a->table, a->g6, 128, a->ifindex) :
	    rt_route_set(add, AF_INET, a->table, &a->lnet, a->lprefix,
		a->lifindex);
	if (rc != 0) {
		if (!(a->failed & fam))
			log_warnx("global: cannot %s the route to %s in table "
				  "%u: %s",
			    add ? "add" : "delete", name, a->table,
			    strerror(-rc));
		a->failed |= fam;
		return;
	}
	a->failed &= ~fam;
	if (add) {
		a->on |= fam;
		log_info("global: route to %s in table %u: announced", name,
		    a->table);
	} else {
		a->on &= ~fam;
		log_info("global: route to %s out of table %u: %s", name,
		    a->table, why);
	}
	announce_publish(a, 1);
}

/* announce_update: the routes to what the cluster serves now; called
 * every tick and whenever the members or the listeners change. */
void
announce_update(struct announce *a)
{
	unsigned want, fam;
	int up;

	if (a == NULL)
		return;
	up = atomic_load_explicit(&shmseg_node(a->seg, a->self)->state,
		 memory_order_acquire) == SHM_NODE_UP;
	want = up && !a->leaving ?
	    (listen_families(a->seg) | ANNOUNCE_LOCAL) & a->fams :
	    0;
	for (fam = LISTEN_V4; fam <= ANNOUNCE_LOCAL; fam <<= 1)
		if ((a->fams & fam) &&
		    (!!(want & fam) != !!(a->on & fam) || (a->failed & fam)))
			announce_set(a, fam, !!(want & fam),
			    a->leaving ? "leaving" :
				up     ? "no node listens" :
					 "this node is not up");
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
	unsigned fam;

	if (a == NULL)
		return;
	for (fam = LISTEN_V4; fam <= ANNOUNCE_LOCAL; fam <<= 1)
		if (a->on & fam) {
			a->failed &= ~fam;
			announce_set(a, fam, 0, "leaving");
		}
	announce_publish(a, 0);
	free(a);
}
