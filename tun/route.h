/*
 * route.h: policy rules, routes and sysctls, each change recorded so
 * that it can be undone in reverse order on exit.
 */
#ifndef SHMNET_ROUTE_H
#define SHMNET_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* The undo log: grows as changes are recorded (zero-initialise it). */
struct rt_undo {
	int		n, cap;
	struct rt_op {
		int		kind;		/* RT_OP_* */
		uint32_t	pref, table;	/* rules, routes */
		int		family;		/* AF_INET or AF_INET6 */
		uint32_t	dst, src;	/* network order (IPv4) */
		uint8_t		dst6[16], src6[16];
		uint8_t		dstlen, srclen;
		char		iif[16];
		uint8_t		suppress;	/* rule: suppress_prefixlength
						 * 0 */
		int		oif;
		char		path[96];	/* sysctl */
		char		value[32];	/* sysctl: value to restore */
	} *op;
};

/* As a rule's table: a blackhole rule instead of a lookup (what it
 * matches is dropped, without an ICMP error). */
#define RT_RULE_BLACKHOLE 0xffffffffu

/* Add an IPv4 rule: [from src/srclen] [to dst/dstlen] [iif IFNAME]
 * lookup table (or RT_RULE_BLACKHOLE), at priority pref.  Recorded for
 * undo unless it existed. */
int	 rt_rule4_add(struct rt_undo *u, uint32_t pref, uint32_t table,
	    uint32_t dst, uint8_t dstlen, uint32_t src, uint8_t srclen,
	    const char *iif);
/* Add the IPv4 rule "from src/srclen [iif IFNAME] lookup table
 * suppress_prefixlength 0" at priority pref (the table, unless all it
 * has is a default route).  Recorded for undo unless it existed. */
int	 rt_rule4_add_suppress(struct rt_undo *u, uint32_t pref, uint32_t table,
	    uint32_t src, uint8_t srclen, const char *iif);
/* Add or delete (add = 0) the rule "iif lo ipproto udp sport PORT lookup
 * table" at pref; with suppress, "lookup table suppress_prefixlength 0"
 * instead (port 0: any port).  Not recorded: the caller tracks these. */
int	 rt_rule4_udp_sport(int add, uint32_t pref, uint32_t table,
	    uint16_t port, int suppress);
/* Delete every IPv4 rule at priority pref that looks up a table (left by
 * a previous life that was killed); how many, or -errno.  Not recorded. */
int	 rt_rule4_flush(uint32_t pref);
/* The same for family (AF_INET or AF_INET6), for the rules that look up
 * a table (table 0) or the blackhole rules (RT_RULE_BLACKHOLE). */
int	 rt_rule_flush(int family, uint32_t pref, uint32_t table);
/* Move the rule "lookup local" from priority 0 to pref (idempotent). */
int	 rt_local_rule_move(struct rt_undo *u, uint32_t pref);
/* Add route dst/len dev oif [src prefsrc] scope link in table. */
int	 rt_route4_add(struct rt_undo *u, uint32_t table, uint32_t dst,
	    uint8_t len, int oif, uint32_t prefsrc);
/* Add (add = 1, replacing any) or delete the route dst/len dev oif in
 * table (family AF_INET or AF_INET6; dst 4 or 16 bytes); deleting one
 * that is not there succeeds.  Not recorded: the caller tracks it. */
int	 rt_route_set(int add, int family, uint32_t table, const void *dst,
	    uint8_t len, int oif);
/* Make the IPv4 default route of table "via gw[0..n) dev oif", several
 * next hops for n > 1 (gw network order); n = 0 deletes it.  Not
 * recorded: the caller tracks it. */
int	 rt_route4_gateways(uint32_t table, int oif, const uint32_t *gw,
	    uint32_t n);
/* 1 when table has a default route of family (AF_INET or AF_INET6), of
 * any type through any device; 0 when it has none; -errno. */
int	 rt_default_exists(int family, uint32_t table);
/* IPv6 counterparts: addresses are 16 bytes; an address is added nodad. */
int	 rt_rule6_add(struct rt_undo *u, uint32_t pref, uint32_t table,
	    const uint8_t *dst, uint8_t dstlen, const uint8_t *src,
	    uint8_t srclen, const char *iif);
int	 rt_local_rule6_move(struct rt_undo *u, uint32_t pref);
int	 rt_route6_add(struct rt_undo *u, uint32_t table, const uint8_t *dst,
	    uint8_t len, int oif, const uint8_t *prefsrc);
int	 rt_addr6_add(struct rt_undo *u, int ifindex, const uint8_t *addr);
int	 rt_proxy6_add(struct rt_undo *u, int ifindex, const uint8_t *addr);
/* Add an IPv4 address (network order) to an interface. */
int	 rt_addr4_add(struct rt_undo *u, int ifindex, uint32_t addr,
	    uint8_t prefix);
/* Answer ARP for addr on an interface (a proxy neighbour entry). */
int	 rt_proxy4_add(struct rt_undo *u, int ifindex, uint32_t addr);
/* Read a sysctl under /proc/sys/ (its first line, without the newline,
 * at most len - 1 bytes); 0 or -errno. */
int	 rt_sysctl_get(const char *path, char *value, size_t len);
/* Write one, unrecorded; 0 or -errno. */
int	 rt_sysctl_put(const char *path, const char *value);
/* Write a sysctl under /proc/sys/ (path like "net/ipv4/ip_forward"),
 * remembering the old value. */
int	 rt_sysctl_set(struct rt_undo *u, const char *path, const char *value);
/* Undo everything recorded, newest first, and free the log.  Returns the
 * number of steps that failed.  Every rt_*_add and rt_sysctl_set fails
 * with -ENOMEM, changing nothing, when the log cannot grow. */
int	 rt_undo_all(struct rt_undo *u);

#endif /* SHMNET_ROUTE_H */
