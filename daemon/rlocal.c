/*
 * rlocal.c: a node's local address reachable from outside, through the
 * gateways ([global] route-local = yes).
 *
 * A gateway forwards between its uplink and the local network already:
 * a router that sends the local network to a gateway (a static route, or
 * the route a gateway in route mode announces beside G, announce.c)
 * reaches every node's own address.  The answers must go back the same
 * way, whatever else the node routes by (a default route of its own, or
 * egress through the global interface), so a node that is no gateway
 * sends what its own local address answers by rules of its own:
 *
 *   rule-priority + 5  from LOCAL iif lo  lookup local
 *   rule-priority + 6  from LOCAL iif lo  lookup main suppress_prefixlength 0
 *   rule-priority + 7  from LOCAL iif lo  lookup route-local-table
 *   route-local-table: default via GW dev <local interface>   (one per
 *                      up gateway: several next hops)
 *
 * so that its own addresses and the networks it is connected to keep
 * their usual ways, and anything else leaves by a gateway, kept in step
 * with the gateways that are up.  Main thread only.
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

#include "log.h"
#include "rlocal.h"
#include "route.h"

struct rlocal {
	struct shmseg *seg;
	uint32_t self;
	uint32_t table;
	int ifindex;                /* the local interface */
	uint32_t addr, mask;        /* the node's local address, network
				      * order, and its network's mask */
	uint32_t gw[SHM_NODES_MAX]; /* the gateways in the route now */
	uint32_t ngw;
	int failed; /* the last change failed (said once) */
	struct rt_undo undo;
};

/* rlocal_rules: the three rules (undone by rlocal_free). */
static int
rlocal_rules(struct rlocal *rl, uint32_t p, char *err, size_t errlen)
{
	int rc;

	(void)rt_rule4_flush(p + 5); /* a killed earlier life's */
	(void)rt_rule4_flush(p + 6);
	(void)rt_rule4_flush(p + 7);
	if ((rc = rt_rule4_add(&rl->undo, p + 5, RT_TABLE_LOCAL, 0, 0, rl->addr,
		 32, "lo")) != 0 ||
	    (rc = rt_rule4_add_suppress(&rl->undo, p + 6, RT_TABLE_MAIN,
		 rl->addr, 32, "lo")) != 0 ||
	    (rc = rt_rule4_add(&rl->undo, p + 7, rl->table, 0, 0, rl->addr, 32,
		 "lo")) != 0)
		snprintf(err, errlen,
		    "route-local: rules from the local address (priorities "
		    "%u-%u, table %u): %s",
		    p + 5, p + 7, rl->table, strerror(-rc));
	return rc;
}

/* rlocal_new: for a node that is no gateway, with route-local set. */
int
rlocal_new(const struct conf *c, struct shmseg *seg, uint32_t self, int ifindex,
    uint32_t addr, struct rlocal **out, char *err, size_t errlen)
{
	struct rlocal *rl;
	int rc;

	*out = NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		snprintf(err, errlen, "route-local: out of memory");
		return -ENOMEM;
	}
	rl->seg = seg;
	rl->self = self;
	rl->table = c->g.local_table;
	rl->ifindex = ifindex;
	rl->addr = addr;
	rl->mask = htonl(~0u << (32 - c->local.prefix));
	rl->failed = -1; /* nothing said yet */
	if ((rc = rlocal_rules(rl, c->g.rule_pref, err, errlen)) != 0) {
		rt_undo_all(&rl->undo);
		free(rl);
		return rc;
	}
	*out = rl;
	return 0;
}

/* rlocal_gateways: the up gateways' local addresses, by node id; an
 * address outside the local network (read from the segment: untrusted)
 * is left out. */
static uint32_t
rlocal_gateways(struct rlocal *rl, uint32_t *gw)
{
	uint32_t id, n = 0, max = shmseg_max_nodes(rl->seg), a;
	struct shm_node *nd;

	for (id = 1; id <= max; id++) {
		nd = shmseg_node(rl->seg, id);
		if (id == rl->self ||
		    atomic_load_explicit(&nd->state, memory_order_acquire) !=
			SHM_NODE_UP ||
		    !(nd->flags & SHM_NODE_F_GATEWAY))
			continue;
		a = nd->addr4[SHM_NET_LOCAL];
		if ((a & rl->mask) == (rl->addr & rl->mask) && a != rl->addr)
			gw[n++] = a;
	}
	return n;
}

/* rlocal_say: the gateways the answers leave by now. */
static void
rlocal_say(const struct rlocal *rl)
{
	char list[512], a[INET_ADDRSTRLEN];
	size_t n = 0;
	uint32_t i;

	list[0] = '\0';
	for (i = 0; i < rl->ngw && n < sizeof(list); i++) {
		inet_ntop(AF_INET, &rl->gw[i], a, sizeof(a));
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i ? ", " : "", a);
	}
	inet_ntop(AF_INET, &rl->addr, a, sizeof(a));
	if (rl->ngw == 0)
		log_info("route-local: no gateway is up: answers from %s to "
			 "outside have no way out",
		    a);
	else
		log_info("route-local: answers from %s to outside leave by "
			 "%s",
		    a, list);
}

/* rlocal_update: the default route over the gateways that are up now;
 * called every tick and whenever the members change. */
void
rlocal_update(struct rlocal *rl)
{
	uint32_t gw[SHM_NODES_MAX], n;
	int rc;

	if (rl == NULL)
		return;
	n = rlocal_gateways(rl, gw);
	if (rl->failed == 0 && n == rl->ngw &&
	    memcmp(gw, rl->gw, n * sizeof(*gw)) == 0)
		return;
	if ((rc = rt_route4_gateways(rl->table, rl->ifindex, gw,
		 n < 64 ? n : 64)) != 0) {
		if (rl->failed != 1)
			log_warnx("route-local: cannot set the default route "
				  "of table %u: %s",
			    rl->table, strerror(-rc));
		rl->failed = 1;
		return;
	}
	memcpy(rl->gw, gw, n * sizeof(*gw));
	rl->ngw = n;
	rl->failed = 0;
	rlocal_say(rl);
}

/* rlocal_free: the route and the rules go; rl may be NULL. */
void
rlocal_free(struct rlocal *rl)
{
	int rc;

	if (rl == NULL)
		return;
	if ((rc = rt_route4_gateways(rl->table, rl->ifindex, NULL, 0)) != 0)
		log_warnx("route-local: cannot delete the default route of "
			  "table %u: %s",
		    rl->table, strerror(-rc));
	if (rt_undo_all(&rl->undo) != 0)
		log_warnx("route-local: some rules could not be removed");
	free(rl);
}
