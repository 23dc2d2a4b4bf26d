/*
 * groute.c: the routing that makes each cluster address one address for
 * the whole cluster.
 *
 * Every node carries its cluster addresses ([global] address) on its
 * global interface, so the local stack accepts packets for them that
 * arrive there and servers can bind to them; it reaches every other
 * cluster address of the segment's table through the same interface, as
 * a client.  The rule that looks up the "local" table moves from
 * priority 0 to rule-priority + 10, and before it, for each cluster
 * address G:
 *
 *   rule-priority      to G              iif lo   lookup table
 *   rule-priority + 1  from G            iif lo   lookup table
 *                                                 (the node's own)
 *   rule-priority + 2  to client-network iif lo   lookup table
 *   rule-priority + 3  to G         iif GATEWAY   lookup table (gateways)
 *   rule-priority + 4  to client-network iif GATEWAY lookup table
 *                                                      (gateways)
 *   rule-priority + 8  to G, to client-network iif GATEWAY blackhole
 *                                                      (gateways)
 *   table: G dev shmg0 src <client address>; default dev shmg0
 *
 * so that what this node sends to a cluster address, and what its
 * servers answer, leaves through the global interface (whose daemon
 * routes it by flow), while packets for G that arrive on it go up the
 * stack.  Connections a node opens to a cluster address come from its
 * client address (client-network + node id, on the global interface): a
 * server's answer to that address is routed to the global interface too,
 * where source selection picks G, so a UDP server bound to the wildcard
 * address answers from G like a TCP one.  The addresses other nodes take
 * after this one started are routed within a second (groute_addrs).
 * The global interface is NOARP; accept_local and a loose rp_filter on
 * it let the stack take packets whose source is one of its own addresses
 * (G, or its client address when client and server share a node).
 *
 * A UDP server bound to the wildcard address answers from whatever source
 * routing picks.  For every such port this node publishes:
 *
 *   rule-priority + 11  iif lo udp              lookup main
 *                       suppress_prefixlength 0  (not on gateways)
 *   rule-priority + 12  iif lo udp sport PORT   lookup table
 *
 * so answers to directly connected networks keep their usual path, and
 * answers to anyone else (a client outside, through a gateway) leave
 * through the global interface, from G, back to the flow's ingress.
 * arp_ignore = 1 keeps nodes from answering ARP for G on other interfaces.
 * A gateway forwards, and in arp mode answers ARP (NDP) for every cluster
 * address on its gateway interface only (a proxy neighbour entry: there
 * G is a destination routed to the global interface, not a local
 * address); in route mode routers reach them by routes a routing daemon
 * announces (announce.c).  What comes in on its gateway interface for
 * the client network (answers to nodes that reach the outside from their
 * client address) goes into the global interface too.
 *
 * A node with egress (no gateway) reaches the outside through the
 * gateways: the main table gets "default dev shmg0 src G" (its first
 * cluster address, or src its client address) unless the namespace has
 * a default route already, and, from G, the namespace's ephemeral ports
 * are this node's share of egress-ports, so that no two nodes open the
 * same flow from G.  Everything is undone on exit.
 *
 * The routes through the global interface go with it when the daemon
 * dies; its rules stay.  A gateway's blackhole rules, behind the rules
 * that look up the table, are what is left for packets from outside: a
 * gateway killed while routers still send it flows of G drops their
 * packets, so that the clients retransmit to the gateway the routers
 * choose next, instead of meeting a RST from its stack (G still local
 * for an instant) or an ICMP error (the packet looked up further, in
 * the main table).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "log.h"
#include "netlink.h"
#include "groute.h"
#include "route.h"

#define GROUTE_PORTS "net/ipv4/ip_local_port_range"
/* ... the kernel's own, put back in place of a killed daemon's share */
#define GROUTE_PORTS_DEFAULT "32768\t60999"

/* The policy routing of this node (main thread). */
struct groute {
	const struct conf *c;
	uint32_t self, max_nodes; /* max_nodes: the segment's */
	int ifindex;              /* the global interface */
	char ifname[IFNAMSIZ];
	struct rt_undo undo;                /* what to take back */
	uint16_t udp_ports[SHM_LISTEN_MAX]; /* per-port
						 * rules in place */
	uint32_t n_udp_ports;
	uint32_t reached[SHM_GADDR_MAX]; /* cluster addresses whose route
					  * and rules are in place, by
					  * index (0: none yet) */
	uint32_t failed;                 /* indexes that failed (said) */
};

/* groute_sysctl_hint: after err, what to preset where /proc/sys is
 * read-only (a container's): the interface's values come from the
 * namespace's defaults when the TAP is made, and a value that is already
 * right is not written (rt_sysctl_set). */
static void
groute_sysctl_hint(const struct groute *gr, char *err, size_t errlen)
{
	size_t n = strlen(err);

	snprintf(err + n, errlen - n,
	    "; /proc/sys is read-only here (a "
	    "container's?): set these when the namespace is made, e.g. "
	    "docker run --sysctl net.ipv4.conf.default.rp_filter=2 --sysctl "
	    "net.ipv4.conf.default.accept_local=1 --sysctl "
	    "net.ipv4.conf.all.arp_ignore=1%s, or set global.enabled = no",
	    gr->c->g.gateway[0] ?
		" --sysctl net.ipv4.ip_forward=1 --sysctl "
		"net.ipv4.tcp_early_demux=0 --sysctl net.ipv4.udp_early_demux=0" :
		"");
}

/* groute_sysctls: per-interface and namespace settings. */
static int
groute_sysctls(struct groute *gr, char *err, size_t errlen)
{
	const char *gif = gr->ifname;
	char p[96];
	int rc;

	snprintf(p, sizeof(p), "net/ipv4/conf/%s/rp_filter", gif);
	if ((rc = rt_sysctl_set(&gr->undo, p, "2")) != 0)
		goto fail;
	snprintf(p, sizeof(p), "net/ipv4/conf/%s/accept_local", gif);
	if ((rc = rt_sysctl_set(&gr->undo, p, "1")) != 0)
		goto fail;
	snprintf(p, sizeof(p), "net/ipv4/conf/all/arp_ignore");
	if ((rc = rt_sysctl_set(&gr->undo, p, "1")) != 0)
		goto fail;
	if (gr->c->g.gateway[0]) {
		snprintf(p, sizeof(p), "net/ipv4/ip_forward");
		if ((rc = rt_sysctl_set(&gr->undo, p, "1")) != 0)
			goto fail;
		/* when the gateway serves a flow itself, early demux attaches
		 * its local socket to the client's next packets, and the
		 * kernel refuses to forward a packet that has a socket */
		snprintf(p, sizeof(p), "net/ipv4/tcp_early_demux");
		if ((rc = rt_sysctl_set(&gr->undo, p, "0")) != 0)
			goto fail;
		snprintf(p, sizeof(p), "net/ipv4/udp_early_demux");
		if ((rc = rt_sysctl_set(&gr->undo, p, "0")) != 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "sysctl %s: %s", p, strerror(-rc));
	if (rc == -EROFS || rc == -EACCES)
		groute_sysctl_hint(gr, err, errlen);
	return rc;
}

/* groute_gateway_if: the gateway interface exists. */
static int
groute_gateway_if(const char *gw, char *err, size_t errlen)
{
	if (if_nametoindex(gw) != 0)
		return 0;
	snprintf(err, errlen, "gateway interface %s: no such interface", gw);
	return -ENODEV;
}

/* groute_gateway: the gateway interface exists; in arp mode, proxy
 * answers without delay (groute_reach answers ARP for each cluster
 * address there; in route mode announce.c keeps their routes instead). */
static int
groute_gateway(struct groute *gr, char *err, size_t errlen)
{
	const char *gw = gr->c->g.gateway;
	char p[96];
	int rc;

	if (*gw == '\0')
		return 0;
	if ((rc = groute_gateway_if(gw, err, errlen)) != 0 ||
	    gr->c->g.gateway_mode == CONF_GW_ROUTE)
		return rc;
	/* an ARP request is a broadcast: without this, proxy answers wait a
	 * random part of 0.8 s */
	snprintf(p, sizeof(p), "net/ipv4/neigh/%s/proxy_delay", gw);
	if ((rc = rt_sysctl_set(&gr->undo, p, "0")) != 0) {
		snprintf(err, errlen, "sysctl %s: %s", p, strerror(-rc));
		return rc;
	}
	return 0;
}

/* groute_addr_failed: say that what failed for cluster address g with
 * rc; rc. */
static int
groute_addr_failed(const struct groute *gr, uint32_t g, const char *what,
    int rc, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &g, a, sizeof(a));
	snprintf(err, errlen,
	    "cluster address %s: %s (table %u, priority %u): %s", a, what,
	    gr->c->g.table, gr->c->g.rule_pref, strerror(-rc));
	return rc;
}

/* groute_reach: cluster address g is reached through the global
 * interface: its route in the table, the rule to it from this node's
 * stack, and on a gateway the rule to it from the gateway interface and,
 * in arp mode, ARP answered for it there. */
static int
groute_reach(struct groute *gr, uint32_t g, char *err, size_t errlen)
{
	uint32_t t = gr->c->g.table, p = gr->c->g.rule_pref;
	const char *gw = gr->c->g.gateway, *what;
	int rc;

	what = "route via the global interface";
	if ((rc = rt_route4_add(&gr->undo, t, g, 32, gr->ifindex,
		 conf_client_addr(gr->c, gr->self))) != 0)
		goto fail;
	what = "rule to it";
	if ((rc = rt_rule4_add(&gr->undo, p, t, g, 32, 0, 0, "lo")) != 0)
		goto fail;
	what = "rule to it from the gateway interface";
	if (*gw != '\0' &&
	    (rc = rt_rule4_add(&gr->undo, p + 3, t, g, 32, 0, 0, gw)) != 0)
		goto fail;
	what = "blackhole rule behind that one";
	if (*gw != '\0' &&
	    (rc = rt_rule4_add(&gr->undo, p + 8, RT_RULE_BLACKHOLE, g, 32, 0, 0,
		 gw)) != 0)
		goto fail;
	what = "answer ARP for it on the gateway interface";
	if (*gw != '\0' && gr->c->g.gateway_mode == CONF_GW_ARP &&
	    (rc = rt_proxy4_add(&gr->undo, (int)if_nametoindex(gw), g)) != 0)
		goto fail;
	return 0;
fail:
	return groute_addr_failed(gr, g, what, rc, err, errlen);
}

/* groute_carry: cluster address g is this node's: on the global
 * interface (the first is there already, netif.c), what its servers
 * answer from it leaves through that interface, and it is reached as
 * every cluster address is. */
static int
groute_carry(struct groute *gr, uint32_t g, char *err, size_t errlen)
{
	uint32_t t = gr->c->g.table, p = gr->c->g.rule_pref;
	const char *what;
	int rc;

	what = "address on the global interface";
	if (g != gr->c->global.addr &&
	    (rc = rt_addr4_add(&gr->undo, gr->ifindex, g, 32)) != 0)
		goto fail;
	what = "rule from it";
	if ((rc = rt_rule4_add(&gr->undo, p + 1, t, 0, 0, g, 32, "lo")) != 0)
		goto fail;
	return groute_reach(gr, g, err, errlen);
fail:
	return groute_addr_failed(gr, g, what, rc, err, errlen);
}

/* groute_rules: policy rules and the table they look up, and each
 * cluster address this node carries. */
static int
groute_rules(struct groute *gr, char *err, size_t errlen)
{
	uint32_t t = gr->c->g.table, p = gr->c->g.rule_pref, i;
	const char *what;
	int rc;

	what = "client address on the global interface";
	if ((rc = rt_addr4_add(&gr->undo, gr->ifindex,
		 conf_client_addr(gr->c, gr->self), 32)) != 0)
		goto fail;
	what = "default route via the global interface";
	if ((rc = rt_route4_add(&gr->undo, t, 0, 0, gr->ifindex, 0)) != 0)
		goto fail;
	what = "rule to the client network";
	if ((rc = rt_rule4_add(&gr->undo, p + 2, t, gr->c->g.client_net,
		 (uint8_t)gr->c->g.client_prefix, 0, 0, "lo")) != 0)
		goto fail;
	what = "rule to the client network from the gateway interface";
	if (gr->c->g.gateway[0] &&
	    (rc = rt_rule4_add(&gr->undo, p + 4, t, gr->c->g.client_net,
		 (uint8_t)gr->c->g.client_prefix, 0, 0, gr->c->g.gateway)) != 0)
		goto fail;
	what = "blackhole rule behind that one";
	if (gr->c->g.gateway[0] &&
	    (rc = rt_rule4_add(&gr->undo, p + 8, RT_RULE_BLACKHOLE,
		 gr->c->g.client_net, (uint8_t)gr->c->g.client_prefix, 0, 0,
		 gr->c->g.gateway)) != 0)
		goto fail;
	what = "move the local table's rule";
	if ((rc = rt_local_rule_move(&gr->undo, p + 10)) != 0)
		goto fail;
	for (i = 0; i < gr->c->g.addrs.n && i < CONF_GADDR_MAX; i++)
		if ((rc = groute_carry(gr, gr->c->g.addrs.a[i], err, errlen)) !=
		    0)
			return rc;
	return 0;
fail:
	snprintf(err, errlen, "%s (table %u, priority %u): %s", what, t, p,
	    strerror(-rc));
	return rc;
}

/* groute_reached: has cluster address g its route and rules already:
 * one of this node's (groute_rules), or of others' seen before? */
static int
groute_reached(const struct groute *gr, uint32_t g)
{
	uint32_t i;

	for (i = 0; i < gr->c->g.addrs.n && i < CONF_GADDR_MAX; i++)
		if (gr->c->g.addrs.a[i] == g)
			return 1;
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if (gr->reached[i] == g)
			return 1;
	return 0;
}

/* groute_addrs: every cluster address of the table (g[i] index i's, for
 * the indexes of mask) is reached through the global interface, those
 * of other nodes as this node's own (main thread, as the table grows:
 * addresses are never taken back while the segment lives). */
void
groute_addrs(struct groute *gr, const uint32_t *g, uint32_t mask)
{
	char err[256], a[INET_ADDRSTRLEN];
	const char *what;
	uint32_t i;

	for (i = 0; i < SHM_GADDR_MAX; i++) {
		if (!((mask >> i) & 1) || gr->reached[i] == g[i])
			continue;
		if (groute_reached(gr, g[i])) {
			gr->reached[i] = g[i];
			continue;
		}
		inet_ntop(AF_INET, &g[i], a, sizeof(a));
		if (conf_gaddr_ok(gr->c, g[i], &what) != 0) {
			if (!((gr->failed >> i) & 1))
				log_warnx("global: the segment names %s a "
					  "cluster address (index %u), in "
					  "this node's %s: not routed",
				    a, i, what);
			gr->failed |= 1u << i;
			continue;
		}
		if (groute_reach(gr, g[i], err, sizeof(err)) != 0) {
			if (!((gr->failed >> i) & 1))
				log_warnx("global: %s; tried again every "
					  "second",
				    err);
			gr->failed |= 1u << i;
			continue;
		}
		log_info("global: cluster address %s (index %u) reached "
			 "through %s",
		    a, i, gr->ifname);
		gr->failed &= ~(1u << i);
		gr->reached[i] = g[i];
	}
}

/* groute_v6: the same for G6, when address6 is set. */
static int
groute_v6(struct groute *gr, char *err, size_t errlen)
{
	static const uint8_t any[16];
	uint8_t client6[16];
	uint32_t t = gr->c->g.table, p = gr->c->g.rule_pref;
	int ifi = gr->ifindex, gwi, rc;
	const char *what;
	char s[96];

	if (!conf_has_g6(gr->c))
		return 0;
	conf_client6_addr(gr->c, gr->self, client6);
	what = "IPv6 global address";
	if ((rc = rt_addr6_add(&gr->undo, ifi, gr->c->g.addr6)) != 0)
		goto fail;
	what = "IPv6 client address";
	if ((rc = rt_addr6_add(&gr->undo, ifi, client6)) != 0)
		goto fail;
	what = "IPv6 route to G6";
	if ((rc = rt_route6_add(&gr->undo, t, gr->c->g.addr6, 128, ifi,
		 client6)) != 0)
		goto fail;
	what = "IPv6 default route via the global interface";
	if ((rc = rt_route6_add(&gr->undo, t, any, 0, ifi, NULL)) != 0)
		goto fail;
	what = "IPv6 rules";
	if ((rc = rt_rule6_add(&gr->undo, p, t, gr->c->g.addr6, 128, NULL, 0,
		 "lo")) != 0 ||
	    (rc = rt_rule6_add(&gr->undo, p + 1, t, NULL, 0, gr->c->g.addr6,
		 128, "lo")) != 0 ||
	    (rc = rt_rule6_add(&gr->undo, p + 2, t, gr->c->g.client6,
		 (uint8_t)gr->c->g.client6_prefix, NULL, 0, "lo")) != 0)
		goto fail;
	if (gr->c->g.gateway[0]) {
		gwi = (int)if_nametoindex(gr->c->g.gateway);
		what = "IPv6 gateway";
		snprintf(s, sizeof(s), "net/ipv6/conf/%s/proxy_ndp",
		    gr->c->g.gateway);
		if ((rc = rt_sysctl_set(&gr->undo,
			 "net/ipv6/conf/all/forwarding", "1")) != 0 ||
		    (gr->c->g.gateway_mode == CONF_GW_ARP &&
			((rc = rt_sysctl_set(&gr->undo, s, "1")) != 0 ||
			    (rc = rt_proxy6_add(&gr->undo, gwi,
				 gr->c->g.addr6)) != 0)) ||
		    (rc = rt_rule6_add(&gr->undo, p + 3, t, gr->c->g.addr6, 128,
			 NULL, 0, gr->c->g.gateway)) != 0 ||
		    (rc = rt_rule6_add(&gr->undo, p + 4, t, gr->c->g.client6,
			 (uint8_t)gr->c->g.client6_prefix, NULL, 0,
			 gr->c->g.gateway)) != 0 ||
		    (rc = rt_rule6_add(&gr->undo, p + 8, RT_RULE_BLACKHOLE,
			 gr->c->g.addr6, 128, NULL, 0, gr->c->g.gateway)) !=
			0 ||
		    (rc = rt_rule6_add(&gr->undo, p + 8, RT_RULE_BLACKHOLE,
			 gr->c->g.client6, (uint8_t)gr->c->g.client6_prefix,
			 NULL, 0, gr->c->g.gateway)) != 0)
			goto fail;
	}
	what = "move the IPv6 local table's rule";
	if ((rc = rt_local_rule6_move(&gr->undo, p + 10)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	return rc;
}

/* groute_egress_ports: with egress from G, this node's share of
 * egress-ports as the namespace's ephemeral port range. */
static int
groute_egress_ports(struct groute *gr, char *err, size_t errlen)
{
	const struct conf *c = gr->c;
	char was[32], want[32];
	uint32_t lo, hi;
	int rc;

	if (c->g.egress_source != CONF_EGRESS_GLOBAL)
		return 0;
	if (conf_egress_ports(c, gr->max_nodes, gr->self, &lo, &hi) != 0) {
		conf_check_egress(c, gr->max_nodes, err, errlen);
		return -ERANGE;
	}
	snprintf(want, sizeof(want), "%u\t%u", lo, hi);
	rc = rt_sysctl_get(GROUTE_PORTS, was, sizeof(was));
	/* the share already: a previous life of this node was killed and
	 * could not put the range back; the kernel's default goes back in
	 * its stead */
	if (rc == 0 && strcmp(was, want) == 0 &&
	    (rc = rt_sysctl_put(GROUTE_PORTS, GROUTE_PORTS_DEFAULT)) == 0)
		strlcpy(was, GROUTE_PORTS_DEFAULT, sizeof(was));
	if (rc != 0 ||
	    (rc = rt_sysctl_set(&gr->undo, GROUTE_PORTS, want)) != 0) {
		snprintf(err, errlen,
		    "egress: set net.ipv4.ip_local_port_range to this node's "
		    "share of egress-ports, %u-%u: %s%s%u %u\"",
		    lo, hi, strerror(-rc),
		    rc == -EROFS || rc == -EACCES ?
			"; /proc/sys is read-only here: set it when the "
			"namespace is made, e.g. docker run --sysctl "
			"net.ipv4.ip_local_port_range=\"" :
			" (net.ipv4.ip_local_port_range=\"",
		    lo, hi);
		return rc;
	}
	was[strcspn(was, "\t")] = '-';
	log_info("global: egress from G: this node's ephemeral ports are "
		 "%u-%u, share %u of %u of egress-ports %u-%u "
		 "(net.ipv4.ip_local_port_range, was %s; put back at exit)",
	    lo, hi, gr->self, gr->max_nodes, c->g.egress_ports[0],
	    c->g.egress_ports[1], was);
	return 0;
}

/* groute_default: a default route of family through the global
 * interface with source src (4 or 16 bytes) in the main table, unless
 * the namespace has one. */
static int
groute_default(struct groute *gr, int family, const void *src, char *err,
    size_t errlen)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	const char *what = "cannot add";
	static const uint8_t any[16];
	char a[INET6_ADDRSTRLEN];
	int rc;

	inet_ntop(family, src, a, sizeof(a));
	if ((rc = rt_default_exists(family, RT_TABLE_MAIN)) == 1) {
		log_info("global: egress: the namespace has an %s default "
			 "route already, left as it is: only what is routed "
			 "to %s goes out through the gateways",
		    fam, gr->ifname);
		return 0;
	}
	if (rc < 0)
		what = "cannot look in the main table for";
	else
		rc = family == AF_INET ?
		    rt_route4_add(&gr->undo, RT_TABLE_MAIN, 0, 0, gr->ifindex,
			*(const uint32_t *)src) :
		    rt_route6_add(&gr->undo, RT_TABLE_MAIN, any, 0, gr->ifindex,
			src);
	if (rc < 0) {
		snprintf(err, errlen,
		    "egress: %s an %s default route dev %s "
		    "src %s: %s",
		    what, fam, gr->ifname, a, strerror(-rc));
		return rc;
	}
	log_info("global: egress: %s default route dev %s src %s, through "
		 "the gateways (removed at exit)",
	    fam, gr->ifname, a);
	return 0;
}

/* groute_egress: on a node with egress, its share of the ephemeral
 * ports and its default routes through the global interface. */
static int
groute_egress(struct groute *gr, char *err, size_t errlen)
{
	const struct conf *c = gr->c;
	int node = c->g.egress_source == CONF_EGRESS_NODE, rc;
	uint32_t src4, lo, hi;
	uint8_t src6[16];

	if (!conf_egress(c)) {
		if (c->g.egress && c->g.gateway[0])
			log_info("global: egress is for nodes without a "
				 "gateway interface; this one reaches the "
				 "outside by %s",
			    c->g.gateway);
		return 0;
	}
	src4 = node ? conf_client_addr(c, gr->self) : c->global.addr;
	/* with a default route of its own (a container's), little goes
	 * out from G, and the namespace's other connections keep the whole
	 * ephemeral range: a socket bound to a port of this node's share
	 * still reaches out from G */
	if (rt_default_exists(AF_INET, RT_TABLE_MAIN) == 1 && !node) {
		if (conf_egress_ports(c, gr->max_nodes, gr->self, &lo, &hi) ==
		    0)
			log_info(
			    "global: egress: the namespace has its own "
			    "default route, so its ephemeral ports stay as "
			    "they are; a flow from G leaves by the "
			    "gateways from this node's share of "
			    "egress-ports, %u-%u, only",
			    lo, hi);
	} else if ((rc = groute_egress_ports(gr, err, errlen)) != 0)
		return rc;
	if ((rc = groute_default(gr, AF_INET, &src4, err, errlen)) != 0)
		return rc;
	if (!conf_has_g6(c))
		return 0;
	if (node)
		conf_client6_addr(c, gr->self, src6);
	else
		memcpy(src6, c->g.addr6, 16);
	return groute_default(gr, AF_INET6, src6, err, errlen);
}

/* groute_stale_said: what a flush of rules a killed daemon left at
 * priorities p and up found: a and b, counts or -errno. */
static void
groute_stale_said(const char *what, uint32_t p, int a, int b)
{
	if (a > 0 || b > 0)
		log_info("global: removed %d %s rules a previous daemon left",
		    (a > 0 ? a : 0) + (b > 0 ? b : 0), what);
	else if (a < 0 || b < 0)
		log_warnx("global: cannot look for %s rules left at priority "
			  "%u and up: %s",
		    what, p, strerror(a < 0 ? -a : -b));
}

/* groute_stale: the rules of a previous life of this daemon that was
 * killed, not in the undo log.  The per-port UDP rules (and the
 * main-table rule before them) would route the answers of ports nobody
 * serves any more into the global interface; a gateway's blackhole
 * rules are taken away whatever this node is now (remade and recorded
 * if it is a gateway still), so that a clean stop leaves none. */
static void
groute_stale(struct groute *gr)
{
	uint32_t p = gr->c->g.rule_pref;

	groute_stale_said("UDP port", p + 11, rt_rule4_flush(p + 11),
	    rt_rule4_flush(p + 12));
	groute_stale_said("blackhole", p + 8,
	    rt_rule_flush(AF_INET, p + 8, RT_RULE_BLACKHOLE),
	    rt_rule_flush(AF_INET6, p + 8, RT_RULE_BLACKHOLE));
}

/* groute_setup: all of it, after the global interface is up. */
int
groute_setup(const struct conf *c, uint32_t self, uint32_t max_nodes,
    int ifindex, const char *ifname, struct groute **out, char *err,
    size_t errlen)
{
	struct groute *gr;
	int rc;

	if ((*out = gr = calloc(1, sizeof(*gr))) == NULL) {
		snprintf(err, errlen, "global routing: out of memory");
		return -ENOMEM;
	}
	gr->c = c;
	gr->self = self;
	gr->max_nodes = max_nodes;
	gr->ifindex = ifindex;
	strlcpy(gr->ifname, ifname, sizeof(gr->ifname));
	groute_stale(gr);
	if ((rc = groute_sysctls(gr, err, errlen)) != 0 ||
	    (rc = groute_gateway(gr, err, errlen)) != 0 ||
	    (rc = groute_rules(gr, err, errlen)) != 0 ||
	    (rc = groute_v6(gr, err, errlen)) != 0 ||
	    (rc = groute_egress(gr, err, errlen)) != 0) {
		rt_undo_all(&gr->undo);
		return rc;
	}
	return 0;
}

/* groute_free: undo, newest first. */
void
groute_free(struct groute *gr)
{
	int failed;

	if (gr == NULL)
		return;
	groute_udp_ports(gr, NULL, 0);
	if ((failed = rt_undo_all(&gr->undo)) != 0)
		log_warnx("global: %d routing changes could not be undone",
		    failed);
	free(gr);
}

/* groute_port_known: is port in the list? */
static int
groute_port_known(const uint16_t *ports, uint32_t n, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/* groute_udp_ports: per-port rules for wildcard UDP servers, following the
 * listener scans (main thread).  The rule that keeps datagrams to directly
 * connected networks on the main table goes in before the first per-port
 * rule and out after the last: in between, a datagram from such a port to
 * a node of the local network would leave through the global interface
 * and be lost (an unconnected socket routes every datagram anew, and a
 * wildcard-bound UDP client is such a "server"). */
void
groute_udp_ports(struct groute *gr, const struct shm_listen *l, uint32_t n)
{
	uint16_t want[SHM_LISTEN_MAX];
	uint32_t nw = 0, i, p = gr->c->g.rule_pref + 12, t = gr->c->g.table;
	int rc, keep_main = !gr->c->g.gateway[0], had = gr->n_udp_ports > 0;

	for (i = 0; i < n; i++)
		if (l[i].proto == IPPROTO_UDP &&
		    !(l[i].flags & (SHM_LISTEN_SPECIFIC | SHM_LISTEN_REMOTE)) &&
		    !groute_port_known(want, nw, l[i].port))
			want[nw++] = l[i].port;
	if (keep_main && nw > 0 && !had)
		rt_rule4_udp_sport(1, p - 1, RT_TABLE_MAIN, 0, 1);
	for (i = 0; i < gr->n_udp_ports; i++)
		if (!groute_port_known(want, nw, gr->udp_ports[i]))
			rt_rule4_udp_sport(0, p, t, gr->udp_ports[i], 0);
	for (i = 0; i < nw; i++)
		if (!groute_port_known(gr->udp_ports, gr->n_udp_ports,
			want[i]) &&
		    (rc = rt_rule4_udp_sport(1, p, t, want[i], 0)) != 0)
			log_warnx("global: rule for UDP port %u: %s", want[i],
			    strerror(-rc));
	if (keep_main && nw == 0 && had)
		rt_rule4_udp_sport(0, p - 1, RT_TABLE_MAIN, 0, 1);
	memcpy(gr->udp_ports, want, nw * sizeof(*want));
	gr->n_udp_ports = nw;
}
