/*
 * groute.c: the routing that makes G one address for the whole cluster.
 *
 * Every node carries G on its global interface, so the local stack
 * accepts packets for G that arrive there and servers can bind to G.  The
 * rule that looks up the "local" table moves from priority 0 to
 * rule-priority + 10, and before it:
 *
 *   rule-priority      to G              iif lo   lookup table
 *   rule-priority + 1  from G            iif lo   lookup table
 *   rule-priority + 2  to client-network iif lo   lookup table
 *   rule-priority + 3  to G         iif GATEWAY   lookup table (gateways)
 *   table: G dev shmg0 src <client address>; default dev shmg0
 *
 * so that what this node sends to G, and what its servers answer, leaves
 * through the global interface (whose daemon routes it by flow), while
 * packets for G that arrive on it go up the stack.  Connections a node
 * opens to G come from its client address (client-network + node id, on
 * the global interface): a server's answer to that address is routed to
 * the global interface too, where source selection picks G, so a UDP
 * server bound to the wildcard address answers from G like a TCP one.
 * The global interface is NOARP; accept_local and a loose rp_filter on it
 * let the stack take packets whose source is one of its own addresses
 * (G, or its client address when client and server share a node).
 * arp_ignore = 1 keeps nodes from answering ARP for G on other interfaces;
 * a gateway also carries G on its gateway interface, so it answers ARP for
 * G there only, and forwards.  Everything is undone on exit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "netlink.h"
#include "route.h"
#include "shmnetd.h"

/* groute_sysctls: per-interface and namespace settings. */
static int
groute_sysctls(struct daemon *d, char *err, size_t errlen)
{
	const char *gif = d->global.tap.name;
	char p[96];
	int rc;

	snprintf(p, sizeof(p), "net/ipv4/conf/%s/rp_filter", gif);
	if ((rc = rt_sysctl_set(&d->undo, p, "2")) != 0)
		goto fail;
	snprintf(p, sizeof(p), "net/ipv4/conf/%s/accept_local", gif);
	if ((rc = rt_sysctl_set(&d->undo, p, "1")) != 0)
		goto fail;
	snprintf(p, sizeof(p), "net/ipv4/conf/all/arp_ignore");
	if ((rc = rt_sysctl_set(&d->undo, p, "1")) != 0)
		goto fail;
	if (d->conf.g.gateway[0]) {
		snprintf(p, sizeof(p), "net/ipv4/ip_forward");
		if ((rc = rt_sysctl_set(&d->undo, p, "1")) != 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "sysctl %s: %s", p, strerror(-rc));
	return rc;
}

/* groute_gateway: G on the gateway interface, for ARP there only. */
static int
groute_gateway(struct daemon *d, char *err, size_t errlen)
{
	const char *gw = d->conf.g.gateway;
	int ifindex, rc;

	if (*gw == '\0')
		return 0;
	if ((ifindex = (int)if_nametoindex(gw)) == 0) {
		snprintf(err, errlen, "gateway interface %s: no such interface",
		    gw);
		return -ENODEV;
	}
	if ((rc = rt_addr4_add(&d->undo, ifindex, d->conf.global.addr, 32)) != 0) {
		snprintf(err, errlen, "add the global address to gateway "
		    "interface %s: %s", gw, strerror(-rc));
		return rc;
	}
	return 0;
}

/* groute_rules: policy rules and the table they look up. */
static int
groute_rules(struct daemon *d, char *err, size_t errlen)
{
	uint32_t g = d->conf.global.addr, t = d->conf.g.table,
	    p = d->conf.g.rule_pref;
	const char *what;
	int rc;

	what = "client address on the global interface";
	if ((rc = rt_addr4_add(&d->undo, d->global.tap.ifindex,
	    conf_client_addr(&d->conf, d->self), 32)) != 0)
		goto fail;
	what = "route G via the global interface";
	if ((rc = rt_route4_add(&d->undo, t, g, 32, d->global.tap.ifindex,
	    conf_client_addr(&d->conf, d->self))) != 0)
		goto fail;
	what = "default route via the global interface";
	if ((rc = rt_route4_add(&d->undo, t, 0, 0, d->global.tap.ifindex, 0))
	    != 0)
		goto fail;
	what = "rule to G";
	if ((rc = rt_rule4_add(&d->undo, p, t, g, 32, 0, 0, "lo")) != 0)
		goto fail;
	what = "rule from G";
	if ((rc = rt_rule4_add(&d->undo, p + 1, t, 0, 0, g, 32, "lo")) != 0)
		goto fail;
	what = "rule to the client network";
	if ((rc = rt_rule4_add(&d->undo, p + 2, t, d->conf.g.client_net,
	    (uint8_t)d->conf.g.client_prefix, 0, 0, "lo")) != 0)
		goto fail;
	what = "rule to G from the gateway interface";
	if (d->conf.g.gateway[0] && (rc = rt_rule4_add(&d->undo, p + 3, t, g,
	    32, 0, 0, d->conf.g.gateway)) != 0)
		goto fail;
	what = "move the local table's rule";
	if ((rc = rt_local_rule_move(&d->undo, p + 10)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s (table %u, priority %u): %s", what, t, p,
	    strerror(-rc));
	return rc;
}

/* groute_setup: all of it, after the global interface is up. */
int
groute_setup(struct daemon *d, char *err, size_t errlen)
{
	int rc;

	if ((rc = groute_sysctls(d, err, errlen)) != 0 ||
	    (rc = groute_gateway(d, err, errlen)) != 0 ||
	    (rc = groute_rules(d, err, errlen)) != 0) {
		rt_undo_all(&d->undo);
		return rc;
	}
	return 0;
}

/* groute_teardown: undo, newest first. */
void
groute_teardown(struct daemon *d)
{
	int failed = rt_undo_all(&d->undo);

	if (failed)
		log_warnx("global: %d routing changes could not be undone",
		    failed);
}
