/*
 * conf.h: shmnetd configuration, parsed without side effects.
 *
 * Values come from built-in defaults, then the INI file, then --set
 * assignments, then --cluster/--node.  Every value is range-checked where
 * it is read, and errors name the file and line (or the --set argument).
 */
#ifndef SHMNETD_CONF_H
#define SHMNETD_CONF_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define CONF_IO_BATCH_MAX	64	/* io-batch, frames per system call */
#define CONF_TXQUEUELEN_MAX	65536	/* txqueuelen: tun's ring of pointers */
#define CONF_CHECK_MAX		(PATH_MAX + 8)	/* check = exec:PATH */
#define CONF_GW_ARP		0	/* gateway-mode: answer ARP for G */
#define CONF_GW_ROUTE		1	/* ... keep a route to G to announce */
#define CONF_EGRESS_GLOBAL	0	/* egress-source: from G */
#define CONF_EGRESS_NODE	1	/* ... from the node's client address */
#define CONF_EGRESS_SLICE_MIN	128	/* ephemeral ports a node needs at
					 * least (egress-ports) */

struct netconf {
	char		ifname[IFNAMSIZ];
	uint32_t	addr;		/* network order; 0 = derive from id */
	uint32_t	prefix;
	uint32_t	mtu;
	uint32_t	txqueuelen;	/* frames the TAP queues for the
					 * transmit thread */
	uint32_t	ring_size;	/* frame data bytes a pair ring may
					 * grow to */
	uint32_t	ring_min;	/* ... and starts with */
	uint32_t	ring_shrink_s;	/* idle seconds before it shrinks back,
					 * 0 = never */
	uint32_t	slot_size;
	uint32_t	busy_poll_us;
	uint32_t	io_batch;	/* TAP frames per system call, 0 or
					 * 1 = one call per frame */
	uint32_t	offload;	/* boolean */
	uint32_t	cpu_follow;	/* boolean: data threads follow the
					 * application's CPU (follow.c) */
	uint32_t	mcast_rings;	/* multicast rings (segment creation) */
	uint8_t		addr6[16];	/* local: IPv6 address or network */
	uint32_t	prefix6;	/* 0 = no IPv6 address configured */
};

/* The cluster addresses a node carries ([global] address): the first
 * is its own (its egress source), each at most once. */
#define CONF_GADDR_MAX		SHM_GADDR_MAX
struct conf_gaddrs {
	uint32_t	n;
	uint32_t	a[CONF_GADDR_MAX];	/* network order */
};

/* [global] ignore-ports: protocol and port of sockets that never serve a
 * cluster address (a routing daemon's BFD or BGP on a gateway listens on
 * the wildcard address, as a server of G would), at most once each. */
#define CONF_IGNORE_MAX		16
/* BFD (single hop, echo, multihop) and BGP */
#define CONF_IGNORE_DEFAULT	"udp/3784, udp/3785, udp/4784, tcp/179"
struct conf_pports {
	uint32_t	n;
	uint8_t		proto[CONF_IGNORE_MAX];	/* IPPROTO_TCP, _UDP */
	uint16_t	port[CONF_IGNORE_MAX];	/* host order */
};

/* The global network: the cluster addresses, each on the nodes that
 * carry it. */
struct globalconf {
	uint32_t	enabled;	/* boolean */
	struct conf_gaddrs addrs;	/* address; its first is struct
					 * conf's global.addr too */
	uint32_t	client_net;	/* network order; followed by: */
	uint32_t	client_prefix;	/* its prefix length */
	uint8_t		addr6[16];	/* G6; all zero = no IPv6 */
	uint8_t		client6[16];	/* client network for IPv6 */
	uint32_t	client6_prefix;
	uint32_t	table;		/* routing table of the policy rules */
	uint32_t	rule_pref;	/* priority of the first rule */
	char		gateway[IFNAMSIZ];	/* "" = not a gateway */
	uint32_t	gateway_mode;	/* CONF_GW_*: how outside finds G */
	uint32_t	announce_table;	/* route mode: G's route's table */
	uint32_t	withdraw_delay_ms; /* route mode: forwarding after
					 * the route went, at a stop */
	uint32_t	route_local;	/* boolean: the local address is
					 * reachable through the gateways */
	uint32_t	local_table;	/* ... by this table's route */
	uint32_t	conn_entries;	/* connection table size */
	uint32_t	syn_timeout, est_timeout, closing_timeout, udp_timeout;
	uint32_t	weight;		/* share of new flows, 0 = none */
	uint32_t	check_interval;	/* seconds between checks */
	uint32_t	check_timeout;	/* seconds a check may take */
	uint32_t	check_rise;	/* successes in a row to go up */
	uint32_t	check_fall;	/* failures in a row to go down */
	char		check[CONF_CHECK_MAX];	/* "none", "tcp" or
					 * "exec:/path" (health.c) */
	uint32_t	egress;		/* boolean: reach the outside through
					 * the gateways (not on a gateway) */
	uint32_t	egress_source;	/* CONF_EGRESS_* */
	uint32_t	egress_ports[2];	/* the ephemeral port range the
					 * nodes share out (low, high) */
	struct conf_pports ignore;	/* never published as listeners */
};

/* An address and port to listen on: [cluster] metrics-listen. */
struct conf_listen {
	uint32_t	family;		/* AF_INET or AF_INET6; 0 = off */
	uint32_t	port;		/* host order */
	uint8_t		addr[16];	/* network order, IPv4 in the first 4 */
};

struct conf {
	char		cluster[SHM_CLUSTER_MAX];
	uint32_t	node;		/* 0 = auto */
	char		segment[PATH_MAX];	/* "" = /dev/shm/shmnet.<cluster> */
	uint64_t	segment_size;
	uint32_t	max_nodes;
	uint32_t	cast_slots;
	uint32_t	cast_slot_size;
	uint32_t	segment_mode;
	char		segment_group[32];	/* "" = root's */
	struct conf_listen metrics;	/* where /metrics is served */
	uint32_t	log_level;	/* syslog priority: LOG_ERR, LOG_WARNING,
					 * LOG_INFO or LOG_DEBUG */
	uint64_t	tcp_wmem_max;	/* [namespace]: raise net.ipv4.tcp_wmem's
					 * ceiling to this, 0 = leave it */
	struct netconf	local;
	struct netconf	global;		/* addr = the first cluster address,
					 * prefix 32 */
	struct globalconf g;
	char		gaddrs_where[PATH_MAX + 32];	/* where [global]
					 * address was set ("FILE:LINE",
					 * "--set ..."), "" for the default:
					 * conf_finish's errors name it */
};

/* Where the daemon's configuration comes from: the file, then the --set
 * assignments, then --cluster and --node (NULL when not given).  A
 * reload reads the same sources again. */
struct conf_src {
	const char	*file;
	char		**sets;
	int		 nsets;
	const char	*cluster;
	const char	*node;
};

/* One key whose value differs between two configurations (conf_diff),
 * both values as conf_print writes them. */
#define CONF_VALUE_MAX	(PATH_MAX + 64)
struct conf_change {
	const char	*section;
	const char	*name;
	char		 was[CONF_VALUE_MAX];
	char		 now[CONF_VALUE_MAX];
};

void	 conf_defaults(struct conf *c);
/* Parse an INI file / buffer into c.  Returns 0 or -1 with err set. */
int	 conf_parse_file(struct conf *c, const char *path, char *err,
	    size_t errlen);
int	 conf_parse_buf(struct conf *c, const char *name, const char *buf,
	    size_t len, char *err, size_t errlen);
/* Apply "section.key=value". */
int	 conf_set(struct conf *c, const char *assign, char *err, size_t errlen);
/* Apply one value by section and key; `where` prefixes errors. */
int	 conf_apply(struct conf *c, const char *section, const char *key,
	    const char *value, const char *where, char *err, size_t errlen);
/* Cross-field checks and derived defaults once everything is read. */
int	 conf_finish(struct conf *c, char *err, size_t errlen);
/* Defaults, every source of src in order, then conf_finish, as the
 * daemon starts and as --check-config checks.  0, or -1 with err set. */
int	 conf_read(struct conf *c, const struct conf_src *src, char *err,
	    size_t errlen);
/* The syslog priority of the least urgent message logged: log-level, or
 * LOG_DEBUG with --verbose. */
int	 conf_log_level(const struct conf *c, int verbose);
/* Call fn for each key whose value differs between run and next, in the
 * order of conf_print; returns how many differ.  fn may conf_take the
 * key it is given into run. */
int	 conf_diff(const struct conf *run, const struct conf *next,
	    void (*fn)(const struct conf_change *, void *), void *arg);
/* Copy one key's value (with its prefix length) from src into dst; 0,
 * or -1 when there is no such key. */
int	 conf_take(struct conf *dst, const struct conf *src,
	    const char *section, const char *key);
/* 1 when section.key is a configuration key. */
int	 conf_known(const char *section, const char *key);
/* Address of node id on the local network when none is configured. */
uint32_t conf_local_addr(const struct conf *c, uint32_t id);
/* Node id's client address on the global interface (source of the
 * connections this node opens to G). */
uint32_t conf_client_addr(const struct conf *c, uint32_t id);
/* Node id's IPv6 client address (out: 16 bytes). */
void	 conf_client6_addr(const struct conf *c, uint32_t id, uint8_t *out);
/* Node id's configured IPv6 address on the local network (out: 16
 * bytes); 0 when there is one, -1 when none is configured. */
int	 conf_local_addr6(const struct conf *c, uint32_t id, uint8_t *out);
/* Node id's share of egress-ports among max_nodes nodes (the
 * segment's), into *lo and *hi: 0, or -ERANGE when the share is smaller
 * than CONF_EGRESS_SLICE_MIN. */
int	 conf_egress_ports(const struct conf *c, uint32_t max_nodes,
	    uint32_t id, uint32_t *lo, uint32_t *hi);
/* 0 when, with egress from G, each of max_nodes nodes gets enough of
 * egress-ports; else -1 with err set. */
int	 conf_check_egress(const struct conf *c, uint32_t max_nodes,
	    char *err, size_t errlen);
/* 1 when this node sends to the outside through the gateways: egress
 * set, the global network enabled, and no gateway itself. */
int	 conf_egress(const struct conf *c);
/* 1 when the global network has an IPv6 address. */
int	 conf_has_g6(const struct conf *c);
/* 0 when a (network order) may be a cluster address with this
 * configuration: it lies neither in the local network nor in the client
 * network; else -1, and *what (if not NULL) says which. */
int	 conf_gaddr_ok(const struct conf *c, uint32_t a, const char **what);
/* Print the configuration as INI text that conf_parse_buf reads back to
 * the same configuration. */
void	 conf_print(const struct conf *c, void *fp);
/* "a.b.c.d:port", "[v6]:port", or "none" when off, into buf. */
void	 conf_listen_str(const struct conf_listen *l, char *buf, size_t len);
/* Connection table buckets for the configured number of entries. */
uint32_t conf_conn_buckets(const struct conf *c);
/* Ring slots of the largest pair ring (ring-size) and of a new one
 * (ring-min-size) with this configuration. */
uint32_t conf_ring_slots(const struct netconf *n);
uint32_t conf_ring_min_slots(const struct netconf *n);

#endif /* SHMNETD_CONF_H */
