/*
 * conf.c: the INI configuration of shmnetd.
 *
 * A table of keys drives parsing and range checks, so that every key has
 * one place that says its type, default range and where it is stored.
 * Nothing here touches the system: parse into a fresh struct, check, and
 * let the caller decide.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <bsd/string.h>

#include "conf.h"

#define CONF_LOCAL_PREFIX 16 /* the local network's by default */

/*
 * What a value looks like, read by conf_apply and written back by
 * conf_format.  The address types but CT_HOST6 keep their prefix length
 * in the uint32_t right after the address (conf_prefix).
 */
enum conf_type {
	CT_UINT,    /* decimal or 0x number */
	CT_SIZE,    /* number with an optional K, M or G */
	CT_BOOL,    /* yes or no (also true/false, on/off, 1/0) */
	CT_NODE,    /* node id, or auto (0) */
	CT_MODE,    /* octal file mode */
	CT_NAME,    /* letters, digits, '-', '_', '.' */
	CT_IFNAME,  /* the same, an interface name */
	CT_IFNAME0, /* the same, or none ("") */
	CT_PATH,    /* absolute path */
	CT_ADDR4,   /* a.b.c.d[/len] */
	CT_ADDR4ID, /* a.b.c.d[/len], 0.0.0.0 = derived from the node id */
	CT_HOSTS4,  /* a list of a.b.c.d[/32], commas or blanks between,
		     * each once; min-max: how many (struct conf_gaddrs) */
	CT_HOST6,   /* IPv6 address, or none (all zero) */
	CT_NET6,    /* IPv6 network/len */
	CT_ADDR6,   /* IPv6 address or network/len, or none (len 0) */
	CT_LISTEN,  /* a.b.c.d:port or [IPv6]:port, or none; min-max: the
		     * port's range */
	CT_LEVEL,   /* a log level's name, stored as its syslog priority */
	CT_CHECK,   /* none, tcp or exec:/absolute/path */
	CT_GWMODE,  /* arp or route, stored as CONF_GW_* */
	CT_SOURCE,  /* global or node, stored as CONF_EGRESS_* */
	CT_PORTS,   /* low-high, two uint32_t; min-max: the ports' range */
	CT_PPORTS   /* a list of tcp/PORT or udp/PORT, or none; max: how
		     * many (struct conf_pports) */
};

/* A value known by its name. */
struct conf_name {
	const char *name;
	uint32_t value;
};

/* The names of CT_LEVEL, by syslog priority. */
static const struct conf_name conf_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

/* The names of CT_GWMODE. */
static const struct conf_name conf_gwmodes[] = {
	{ "arp", CONF_GW_ARP },
	{ "route", CONF_GW_ROUTE },
};

/* The names of CT_SOURCE. */
static const struct conf_name conf_sources[] = {
	{ "global", CONF_EGRESS_GLOBAL },
	{ "node", CONF_EGRESS_NODE },
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	uint64_t min, max;
	int pow2;
	size_t off;
	size_t width; /* bytes of the field */
};

/* clang-format off */
#define CK(sec, nm, ty, lo, hi, p2, fld) \
	{ sec, nm, ty, lo, hi, p2, offsetof(struct conf, fld), \
	  sizeof(((struct conf *)0)->fld) }

/*
 * The tuning keys of struct netconf, the same in [local] and [global]:
 * section sec, member net of struct conf.
 */
#define CK_NET(sec, net) \
	CK(sec, "mtu", CT_UINT, 576, 65535, 0, net.mtu), \
	CK(sec, "txqueuelen", CT_UINT, 16, CONF_TXQUEUELEN_MAX, 0, \
	    net.txqueuelen), \
	CK(sec, "ring-size", CT_SIZE, 1u << 17, 1u << 28, 1, net.ring_size), \
	CK(sec, "ring-min-size", CT_SIZE, 1u << 12, 1u << 28, 1, \
	    net.ring_min), \
	CK(sec, "ring-shrink-after", CT_UINT, 0, 86400, 0, net.ring_shrink_s), \
	CK(sec, "slot-size", CT_SIZE, 64, 65536, 1, net.slot_size), \
	CK(sec, "busy-poll", CT_UINT, 0, 1000000, 0, net.busy_poll_us), \
	CK(sec, "io-batch", CT_UINT, 0, CONF_IO_BATCH_MAX, 0, net.io_batch), \
	CK(sec, "offload", CT_BOOL, 0, 1, 0, net.offload), \
	CK(sec, "cpu-follow", CT_BOOL, 0, 1, 0, net.cpu_follow), \
	CK(sec, "multicast-rings", CT_UINT, 0, SHM_MCAST_MAX, 0, \
	    net.mcast_rings)

/* clang-format on */

/* Every key, in the order of shmnetd.conf(5) and of conf_print. */
static const struct conf_key conf_keys[] = {
	CK("cluster", "name", CT_NAME, 1, SHM_CLUSTER_MAX - 1, 0, cluster),
	CK("cluster", "node", CT_NODE, 1, SHM_NODES_MAX, 0, node),
	CK("cluster", "segment", CT_PATH, 1, PATH_MAX - 8, 0, segment),
	CK("cluster", "segment-mode", CT_MODE, 0400, 0666, 0, segment_mode),
	CK("cluster", "segment-group", CT_IFNAME0, 0, 31, 0, segment_group),
	CK("cluster", "segment-size", CT_SIZE, 1ull << 22, 1ull << 36, 0,
	    segment_size),
	CK("cluster", "max-nodes", CT_UINT, SHM_NODES_MIN, SHM_NODES_MAX, 0,
	    max_nodes),
	CK("cluster", "broadcast-slots", CT_UINT, 16, 65536, 1, cast_slots),
	CK("cluster", "broadcast-slot-size", CT_SIZE, 256, 65536, 1,
	    cast_slot_size),
	CK("cluster", "metrics-listen", CT_LISTEN, 1, 65535, 0, metrics),
	CK("cluster", "log-level", CT_LEVEL, LOG_ERR, LOG_DEBUG, 0, log_level),
	CK("namespace", "tcp-wmem-max", CT_SIZE, 0, 1ull << 30, 0,
	    tcp_wmem_max),
	CK("local", "interface", CT_IFNAME, 1, IFNAMSIZ - 1, 0, local.ifname),
	CK("local", "address", CT_ADDR4ID, 0, 32, 0, local.addr),
	CK("local", "address6", CT_ADDR6, 64, 128, 0, local.addr6),
	CK_NET("local", local),
	CK("global", "enabled", CT_BOOL, 0, 1, 0, g.enabled),
	CK("global", "interface", CT_IFNAME, 1, IFNAMSIZ - 1, 0, global.ifname),
	CK("global", "address", CT_HOSTS4, 1, CONF_GADDR_MAX, 0, g.addrs),
	CK("global", "client-network", CT_ADDR4, 8, 30, 0, g.client_net),
	CK("global", "address6", CT_HOST6, 0, 128, 0, g.addr6),
	CK("global", "client-network6", CT_NET6, 64, 120, 0, g.client6),
	CK_NET("global", global),
	CK("global", "table", CT_UINT, 1, 0x7fffffff, 0, g.table),
	CK("global", "rule-priority", CT_UINT, 1, 32000, 0, g.rule_pref),
	CK("global", "gateway", CT_IFNAME0, 0, IFNAMSIZ - 1, 0, g.gateway),
	CK("global", "gateway-mode", CT_GWMODE, CONF_GW_ARP, CONF_GW_ROUTE, 0,
	    g.gateway_mode),
	CK("global", "announce-table", CT_UINT, 1, 0x7fffffff, 0,
	    g.announce_table),
	CK("global", "withdraw-delay", CT_UINT, 0, 60000, 0,
	    g.withdraw_delay_ms),
	CK("global", "route-local", CT_BOOL, 0, 1, 0, g.route_local),
	CK("global", "route-local-table", CT_UINT, 1, 0x7fffffff, 0,
	    g.local_table),
	CK("global", "egress", CT_BOOL, 0, 1, 0, g.egress),
	CK("global", "egress-source", CT_SOURCE, 0, 1, 0, g.egress_source),
	CK("global", "egress-ports", CT_PORTS, 1024, 65535, 0, g.egress_ports),
	CK("global", "ignore-ports", CT_PPORTS, 0, CONF_IGNORE_MAX, 0,
	    g.ignore),
	CK("global", "connections", CT_UINT, 112, 1u << 27, 0, g.conn_entries),
	CK("global", "tcp-syn-timeout", CT_UINT, 1, 86400, 0, g.syn_timeout),
	CK("global", "tcp-established-timeout", CT_UINT, 1, 604800, 0,
	    g.est_timeout),
	CK("global", "tcp-closing-timeout", CT_UINT, 1, 86400, 0,
	    g.closing_timeout),
	CK("global", "udp-timeout", CT_UINT, 1, 86400, 0, g.udp_timeout),
	CK("global", "weight", CT_UINT, 0, 255, 0, g.weight),
	CK("global", "check", CT_CHECK, 0, CONF_CHECK_MAX - 1, 0, g.check),
	CK("global", "check-interval", CT_UINT, 1, 3600, 0, g.check_interval),
	CK("global", "check-timeout", CT_UINT, 1, 3600, 0, g.check_timeout),
	CK("global", "check-rise", CT_UINT, 1, 100, 0, g.check_rise),
	CK("global", "check-fall", CT_UINT, 1, 100, 0, g.check_fall),
};

static int conf_pports_parse(struct conf_pports *out, const char *value);

/* conf_defaults: built-in defaults. */
void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->segment_size = 256ull << 20;
	c->segment_mode = 0600;
	c->max_nodes = 64;
	c->cast_slots = 256;
	c->cast_slot_size = 2048;
	c->tcp_wmem_max = 8u << 20;
	c->log_level = LOG_INFO;
	strlcpy(c->local.ifname, "shm0", sizeof(c->local.ifname));
	c->local.prefix = CONF_LOCAL_PREFIX;
	c->local.mtu = 65520;
	c->local.txqueuelen = 2048;
	c->local.ring_size = 1u << 20;
	c->local.ring_min = 16u << 10;
	c->local.ring_shrink_s = 10;
	c->local.slot_size = 256;
	c->local.busy_poll_us = 50;
	c->local.io_batch = 32;
	c->local.offload = 1;
	c->local.cpu_follow = 1;
	c->local.mcast_rings = 4;
	c->global = c->local;
	strlcpy(c->global.ifname, "shmg0", sizeof(c->global.ifname));
	c->global.addr = htonl((10u << 24) | (202u << 16) | 1);
	c->global.prefix = 32;
	c->g.addrs.n = 1;
	c->g.addrs.a[0] = c->global.addr;
	c->global.mcast_rings = 0;
	c->g.enabled = 1;
	c->g.client_net = htonl((10u << 24) | (203u << 16));
	c->g.client_prefix = 16;
	inet_pton(AF_INET6, "fd53:4d47:0:1::", c->g.client6);
	c->g.client6_prefix = 64;
	c->g.table = 202;
	c->g.rule_pref = 10;
	c->g.announce_table = 203;
	c->g.withdraw_delay_ms = 2000;
	c->g.local_table = 204;
	c->g.conn_entries = 8192 * 7;
	c->g.syn_timeout = 30;
	c->g.est_timeout = 900;
	c->g.closing_timeout = 10;
	c->g.udp_timeout = 30;
	c->g.weight = 1;
	strlcpy(c->g.check, "none", sizeof(c->g.check));
	c->g.check_interval = 2;
	c->g.check_timeout = 1;
	c->g.check_rise = 2;
	c->g.check_fall = 3;
	c->g.egress_source = CONF_EGRESS_GLOBAL;
	c->g.egress_ports[0] = 32768; /* the kernel's default range */
	c->g.egress_ports[1] = 60999;
	(void)conf_pports_parse(&c->g.ignore, CONF_IGNORE_DEFAULT);
}

/* conf_find: key table entry. */
static const struct conf_key *
conf_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(conf_keys) / sizeof(*conf_keys); i++)
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, key) == 0)
			return &conf_keys[i];
	return NULL;
}

/* conf_section_known: is this a section we read? */
static int
conf_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < sizeof(conf_keys) / sizeof(*conf_keys); i++)
		if (strcmp(conf_keys[i].section, section) == 0)
			return 1;
	return 0;
}

/* conf_parse_u64: decimal (or 0x) number with optional K/M/G suffix. */
static int
conf_parse_u64(const char *v, int suffix, uint64_t *out)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno != 0)
		return -1;
	if (suffix && *end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		default:
			return -1;
		}
		end++;
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end != '\0' || (shift && n > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

/* conf_store: write an integer into a field of the key's width. */
static void
conf_store(struct conf *c, const struct conf_key *k, uint64_t v)
{
	char *p = (char *)c + k->off;

	if (k->width == sizeof(uint64_t))
		*(uint64_t *)p = v;
	else
		*(uint32_t *)p = (uint32_t)v;
}

/* conf_load: read an integer from a field of the key's width. */
static uint64_t
conf_load(const struct conf *c, const struct conf_key *k)
{
	const char *p = (const char *)c + k->off;

	if (k->width == sizeof(uint64_t))
		return *(const uint64_t *)p;
	return *(const uint32_t *)p;
}

/* The layout conf_prefix relies on. */
#define CONF_PREFIX_FOLLOWS(s, addr, prefix) \
	_Static_assert(offsetof(s, prefix) == \
		offsetof(s, addr) + sizeof(((s *)0)->addr), \
	    #prefix " must follow " #addr)
CONF_PREFIX_FOLLOWS(struct netconf, addr, prefix);
CONF_PREFIX_FOLLOWS(struct netconf, addr6, prefix6);
CONF_PREFIX_FOLLOWS(struct globalconf, client_net, client_prefix);
CONF_PREFIX_FOLLOWS(struct globalconf, client6, client6_prefix);

/* conf_prefix: the prefix length field of an address key. */
static uint32_t *
conf_prefix(struct conf *c, const struct conf_key *k)
{
	return (uint32_t *)((char *)c + k->off + k->width);
}

/* conf_prefix_len: the prefix length of an address key, to print. */
static uint32_t
conf_prefix_len(const struct conf *c, const struct conf_key *k)
{
	return *(const uint32_t *)((const char *)c + k->off + k->width);
}

/* conf_range_err: "where: key V out of range (MIN-MAX)". */
static int
conf_range_err(const struct conf_key *k, const char *value, const char *where,
    char *err, size_t errlen)
{
	snprintf(err, errlen,
	    "%s: %s %s out of range (%" PRIu64 "-%" PRIu64 "%s)", where,
	    k->name, value, k->min, k->max, k->pow2 ? ", a power of two" : "");
	return -1;
}

/* conf_ip4: "a.b.c.d[/len]" with len 8-30 (default 16). */
static int
conf_ip4(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	uint64_t len = 16;
	char buf[64], *slash;
	struct in_addr a;

	strlcpy(buf, value, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (conf_parse_u64(slash, 0, &len) != 0 || len < 8 || len > 30)
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		goto bad;
	*(uint32_t *)((char *)c + k->off) = a.s_addr;
	*conf_prefix(c, k) = (uint32_t)len;
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: address %s is not an IPv4 address with an optional prefix "
	    "length (8-30), e.g. 10.201.0.1/16",
	    where, value);
	return -1;
}

/* conf_unicast4: can a (network order) be a cluster address? */
static int
conf_unicast4(uint32_t a)
{
	uint32_t h = ntohl(a);

	return h != 0 && h != 0xffffffffu && (h >> 28) != 0xe &&
	    (h >> 24) != 0 && (h >> 24) != 127;
}

/* conf_hosts4: the cluster addresses, "a.b.c.d[/32]" each, separated by
 * commas or blanks, each once, min to max of them. */
static int
conf_hosts4(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	struct conf_gaddrs *g = (struct conf_gaddrs *)((char *)c + k->off);
	struct conf_gaddrs n = { 0 };
	char buf[1024], *tok, *save = NULL, *slash;
	struct in_addr a;
	uint32_t i;

	strlcpy(buf, value, sizeof(buf));
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if ((slash = strchr(tok, '/')) != NULL) {
			if (strcmp(slash, "/32") != 0)
				goto bad;
			*slash = '\0';
		}
		if (inet_pton(AF_INET, tok, &a) != 1 ||
		    !conf_unicast4(a.s_addr))
			goto bad;
		for (i = 0; i < n.n; i++)
			if (n.a[i] == a.s_addr) {
				snprintf(err, errlen, "%s: %s lists %s twice",
				    where, k->name, tok);
				return -1;
			}
		if (n.n == k->max) {
			snprintf(err, errlen,
			    "%s: %s lists more than %" PRIu64 " addresses",
			    where, k->name, k->max);
			return -1;
		}
		n.a[n.n++] = a.s_addr;
	}
	if (n.n < k->min) {
		snprintf(err, errlen,
		    "%s: %s needs a cluster address (e.g. 10.202.0.1)", where,
		    k->name);
		return -1;
	}
	*g = n;
	c->global.addr = n.a[0];
	strlcpy(c->gaddrs_where, where, sizeof(c->gaddrs_where));
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: %s %s is not a unicast IPv4 address (a cluster address, "
	    "e.g. 10.202.0.1)",
	    where, k->name, tok);
	return -1;
}

/* conf_ip6: "ADDR" (host6: no prefix, or /128) or "ADDR/LEN" (net6). */
static int
conf_ip6(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	char buf[80], *slash;
	uint8_t a[16];
	uint64_t len = 128;

	strlcpy(buf, value, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (conf_parse_u64(slash, 0, &len) != 0)
			goto bad;
	}
	if ((k->type == CT_HOST6 || k->type == CT_ADDR6) &&
	    *value == '\0') { /* no IPv6 */
		memset((char *)c + k->off, 0, 16);
		if (k->type == CT_ADDR6)
			*conf_prefix(c, k) = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) != 1 || len < k->min || len > k->max ||
	    (k->type == CT_HOST6 && len != 128) || a[0] == 0xff ||
	    (k->type == CT_ADDR6 && slash == NULL))
		goto bad;
	memcpy((char *)c + k->off, a, 16);
	if (k->type == CT_NET6 || k->type == CT_ADDR6)
		*conf_prefix(c, k) = (uint32_t)len;
	return 0;
bad:
	snprintf(err, errlen, "%s: %s %s is not %s", where, k->name, value,
	    k->type == CT_HOST6 ?
		"a unicast IPv6 address" :
		k->type == CT_ADDR6 ?
		"an IPv6 address or network with a prefix "
		"length of 64-128 (address/prefix)" :
		"an IPv6 network with a prefix length of 64-120");
	return -1;
}

/* conf_listen_split: "a.b.c.d:port" or "[v6]:port" into the address
 * (buf, brackets gone) and the port text; -1 when it is neither. */
static int
conf_listen_split(const char *value, char *buf, size_t len, const char **port)
{
	char *colon, *close;

	if (strlcpy(buf, value, len) >= len)
		return -1;
	if (buf[0] == '[') {
		if ((close = strchr(buf, ']')) == NULL || close[1] != ':')
			return -1;
		*port = value + (close - buf) + 2;
		*close = '\0';
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
		return 0;
	}
	if ((colon = strrchr(buf, ':')) == NULL || strchr(buf, ':') != colon)
		return -1;
	*colon = '\0';
	*port = value + (colon - buf) + 1;
	return 0;
}

/* conf_listen: ADDRESS:PORT (IPv4 a.b.c.d:port, IPv6 [addr]:port), or
 * none (or empty) for off. */
static int
conf_listen(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	struct conf_listen *l = (struct conf_listen *)((char *)c + k->off);
	struct conf_listen n = { 0 };
	const char *port;
	char buf[80];
	uint64_t p;

	if (*value == '\0' || strcmp(value, "none") == 0) {
		*l = n;
		return 0;
	}
	if (conf_listen_split(value, buf, sizeof(buf), &port) != 0)
		goto bad;
	if (value[0] == '[' ? inet_pton(AF_INET6, buf, n.addr) != 1 :
			      inet_pton(AF_INET, buf, n.addr) != 1)
		goto bad;
	if (conf_parse_u64(port, 0, &p) != 0)
		goto bad;
	if (p < k->min || p > k->max) {
		snprintf(err, errlen,
		    "%s: %s port %s out of range (%" PRIu64 "-%" PRIu64 ")",
		    where, k->name, port, k->min, k->max);
		return -1;
	}
	n.family = value[0] == '[' ? AF_INET6 : AF_INET;
	n.port = (uint32_t)p;
	*l = n;
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: %s '%s' is not ADDRESS:PORT (a.b.c.d:port or "
	    "[IPv6]:port) or none",
	    where, k->name, value);
	return -1;
}

/* conf_listen_str: a listen address as conf_apply reads it. */
void
conf_listen_str(const struct conf_listen *l, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (l->family == 0) {
		strlcpy(buf, "none", len);
		return;
	}
	inet_ntop((int)l->family, l->addr, a, sizeof(a));
	snprintf(buf, len, l->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
	    l->port);
}

/* conf_string: copy a string value after checking its characters. */
static int
conf_string(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	size_t len = strlen(value), i;

	if (len < k->min || len > k->max) {
		snprintf(err, errlen,
		    "%s: %s '%s' must be %" PRIu64 "-%" PRIu64 " characters",
		    where, k->name, value, k->min, k->max);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (k->type == CT_PATH ?
			ch < 0x20 :
			!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.')) {
			snprintf(err, errlen,
			    "%s: %s '%s' has a character "
			    "not allowed (%s)",
			    where, k->name, value,
			    k->type == CT_PATH ?
				"control characters" :
				"use letters, digits, '-', '_' and '.'");
			return -1;
		}
	}
	if (k->type == CT_PATH && value[0] != '/') {
		snprintf(err, errlen, "%s: %s '%s' must be an absolute path",
		    where, k->name, value);
		return -1;
	}
	strlcpy((char *)c + k->off, value, k->width);
	return 0;
}

/* conf_names: the names of a CT_LEVEL, CT_GWMODE or CT_SOURCE key's
 * values, and how many. */
static const struct conf_name *
conf_names(const struct conf_key *k, size_t *n)
{
	if (k->type == CT_LEVEL) {
		*n = sizeof(conf_levels) / sizeof(*conf_levels);
		return conf_levels;
	}
	if (k->type == CT_GWMODE) {
		*n = sizeof(conf_gwmodes) / sizeof(*conf_gwmodes);
		return conf_gwmodes;
	}
	*n = sizeof(conf_sources) / sizeof(*conf_sources);
	return conf_sources;
}

/* conf_named: a value by its name ("a, b or c" in the error). */
static int
conf_named(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	const struct conf_name *t;
	size_t i, n, len;

	t = conf_names(k, &n);
	for (i = 0; i < n; i++)
		if (strcmp(value, t[i].name) == 0) {
			conf_store(c, k, t[i].value);
			return 0;
		}
	snprintf(err, errlen, "%s: %s '%s' must be ", where, k->name, value);
	for (i = 0; i < n; i++) {
		len = strlen(err);
		snprintf(err + len, errlen - len, "%s%s",
		    i == 0        ? "" :
			i + 1 < n ? ", " :
				    " or ",
		    t[i].name);
	}
	return -1;
}

/* conf_name_of: the name of a CT_LEVEL, CT_GWMODE or CT_SOURCE key's
 * value. */
static const char *
conf_name_of(const struct conf_key *k, uint64_t v)
{
	const struct conf_name *t;
	size_t i, n;

	t = conf_names(k, &n);
	for (i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return "?";
}

/* conf_ports: "LOW-HIGH", min <= LOW < HIGH <= max. */
static int
conf_ports(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	uint32_t *p = (uint32_t *)((char *)c + k->off);
	char buf[32], *dash;
	uint64_t lo, hi;

	if (strlcpy(buf, value, sizeof(buf)) >= sizeof(buf) ||
	    (dash = strchr(buf, '-')) == NULL)
		goto bad;
	*dash = '\0';
	if (conf_parse_u64(buf, 0, &lo) != 0 ||
	    conf_parse_u64(dash + 1, 0, &hi) != 0 || lo < k->min ||
	    hi > k->max || lo >= hi)
		goto bad;
	p[0] = (uint32_t)lo;
	p[1] = (uint32_t)hi;
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: %s '%s' must be LOW-HIGH, %" PRIu64
	    " <= LOW < HIGH <= %" PRIu64,
	    where, k->name, value, k->min, k->max);
	return -1;
}

/* conf_pport: one "tcp/PORT" or "udp/PORT" (PORT 1-65535) into p's
 * next entry, unless there already; -1 if malformed. */
static int
conf_pport(struct conf_pports *p, const char *tok)
{
	uint64_t port;
	uint8_t proto;
	uint32_t i;

	if (strncmp(tok, "tcp/", 4) == 0)
		proto = IPPROTO_TCP;
	else if (strncmp(tok, "udp/", 4) == 0)
		proto = IPPROTO_UDP;
	else
		return -1;
	if (conf_parse_u64(tok + 4, 0, &port) != 0 || port < 1 || port > 65535)
		return -1;
	for (i = 0; i < p->n; i++)
		if (p->proto[i] == proto && p->port[i] == port)
			return 0;
	if (p->n == CONF_IGNORE_MAX)
		return -2;
	p->proto[p->n] = proto;
	p->port[p->n++] = (uint16_t)port;
	return 0;
}

/* conf_pports_parse: "none" (or empty), or tcp/PORT and udp/PORT
 * separated by commas or blanks: 0, -1 malformed, -2 too many. */
static int
conf_pports_parse(struct conf_pports *out, const char *value)
{
	struct conf_pports p = { 0 };
	char buf[512], *tok, *save = NULL;
	int rc;

	if (strlcpy(buf, value, sizeof(buf)) >= sizeof(buf))
		return -2;
	if (strcmp(buf, "none") != 0)
		for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
		     tok = strtok_r(NULL, ", \t", &save))
			if ((rc = conf_pport(&p, tok)) != 0)
				return rc;
	*out = p;
	return 0;
}

/* conf_pports: a CT_PPORTS value. */
static int
conf_pports(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	struct conf_pports *p = (struct conf_pports *)((char *)c + k->off);
	int rc;

	if ((rc = conf_pports_parse(p, value)) == 0)
		return 0;
	if (rc == -2)
		snprintf(err, errlen,
		    "%s: %s lists more than %" PRIu64 " ports", where, k->name,
		    k->max);
	else
		snprintf(err, errlen,
		    "%s: %s '%s' must be tcp/PORT or udp/PORT (PORT 1-65535), "
		    "commas or blanks between, or none",
		    where, k->name, value);
	return -1;
}

/* conf_format_pports: "udp/3784, tcp/179", or "none". */
static void
conf_format_pports(const struct conf_pports *p, char *buf, size_t len)
{
	size_t o = 0;
	uint32_t i;

	if (len == 0)
		return;
	strlcpy(buf, "none", len);
	for (i = 0; i < p->n && i < CONF_IGNORE_MAX && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s/%u",
		    i ? ", " : "", p->proto[i] == IPPROTO_TCP ? "tcp" : "udp",
		    p->port[i]);
}

/* conf_check: "none" (or empty), "tcp", or "exec:" and an absolute
 * path without control characters, run with no shell (health.c). */
static int
conf_check(struct conf *c, const struct conf_key *k, const char *value,
    const char *where, char *err, size_t errlen)
{
	char *dst = (char *)c + k->off;
	const char *p;

	if (*value == '\0')
		value = "none";
	if (strcmp(value, "none") != 0 && strcmp(value, "tcp") != 0) {
		if (strncmp(value, "exec:", 5) != 0 || value[5] != '/' ||
		    strlen(value) > k->max)
			goto bad;
		for (p = value; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				goto bad;
	}
	memset(dst, 0, k->width); /* whole: the field compares equal */
	strlcpy(dst, value, k->width);
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: %s '%s' must be none, tcp or exec:/absolute/path "
	    "(a program, run without a shell, at most %" PRIu64 " characters)",
	    where, k->name, value, k->max);
	return -1;
}

/* conf_apply: set one key. */
int
conf_apply(struct conf *c, const char *section, const char *key,
    const char *value, const char *where, char *err, size_t errlen)
{
	const struct conf_key *k;
	uint64_t v;
	char *end;

	if ((k = conf_find(section, key)) == NULL) {
		if (!conf_section_known(section))
			snprintf(err, errlen, "%s: unknown section [%s]", where,
			    section);
		else
			snprintf(err, errlen, "%s: unknown key '%s' in [%s]",
			    where, key, section);
		return -1;
	}
	switch (k->type) {
	case CT_UINT:
	case CT_SIZE:
		if (conf_parse_u64(value, k->type == CT_SIZE, &v) != 0) {
			snprintf(err, errlen, "%s: %s '%s' is not a number%s",
			    where, k->name, value,
			    k->type == CT_SIZE ? " (suffixes K, M, G allowed)" :
						 "");
			return -1;
		}
		if (v < k->min || v > k->max || (k->pow2 && (v & (v - 1))))
			return conf_range_err(k, value, where, err, errlen);
		conf_store(c, k, v);
		return 0;
	case CT_NODE:
		if (strcmp(value, "auto") == 0) {
			conf_store(c, k, 0);
			return 0;
		}
		if (conf_parse_u64(value, 0, &v) != 0 || v < k->min ||
		    v > k->max) {
			snprintf(err, errlen,
			    "%s: node '%s' must be auto or "
			    "1-%d",
			    where, value, SHM_NODES_MAX);
			return -1;
		}
		conf_store(c, k, v);
		return 0;
	case CT_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "on") || !strcmp(value, "1"))
			v = 1;
		else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		    !strcmp(value, "off") || !strcmp(value, "0"))
			v = 0;
		else {
			snprintf(err, errlen, "%s: %s '%s' must be yes or no",
			    where, k->name, value);
			return -1;
		}
		conf_store(c, k, v);
		return 0;
	case CT_MODE:
		v = strtoull(value, &end, 8);
		if (*value == '\0' || *end != '\0' || v > 0777 ||
		    (v & 0600) != 0600 || (v & 0111)) {
			snprintf(err, errlen,
			    "%s: %s '%s' must be an octal mode "
			    "with owner read and write and no execute bits, "
			    "e.g. 0600 or 0660",
			    where, k->name, value);
			return -1;
		}
		conf_store(c, k, v);
		return 0;
	case CT_ADDR4:
	case CT_ADDR4ID:
		return conf_ip4(c, k, value, where, err, errlen);
	case CT_HOSTS4:
		return conf_hosts4(c, k, value, where, err, errlen);
	case CT_HOST6:
	case CT_NET6:
	case CT_ADDR6:
		return conf_ip6(c, k, value, where, err, errlen);
	case CT_LISTEN:
		return conf_listen(c, k, value, where, err, errlen);
	case CT_IFNAME0:
		if (*value == '\0' || strcmp(value, "none") == 0) {
			*((char *)c + k->off) = '\0';
			return 0;
		}
		return conf_string(c, k, value, where, err, errlen);
	case CT_IFNAME:
	case CT_PATH:
	case CT_NAME:
		return conf_string(c, k, value, where, err, errlen);
	case CT_LEVEL:
	case CT_GWMODE:
	case CT_SOURCE:
		return conf_named(c, k, value, where, err, errlen);
	case CT_CHECK:
		return conf_check(c, k, value, where, err, errlen);
	case CT_PORTS:
		return conf_ports(c, k, value, where, err, errlen);
	case CT_PPORTS:
		return conf_pports(c, k, value, where, err, errlen);
	}
	return -1;
}

/* conf_trim: strip leading and trailing blanks in place. */
static char *
conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* conf_strip_comment: cut a value at blank + '#' or ';'. */
static void
conf_strip_comment(char *v)
{
	char *p;

	for (p = v; *p != '\0'; p++)
		if ((*p == '#' || *p == ';') && p > v &&
		    isspace((unsigned char)p[-1])) {
			*p = '\0';
			return;
		}
}

/* conf_line: parse one line; section is kept across lines. */
static int
conf_line(struct conf *c, char *line, char *section, size_t seclen,
    const char *where, char *err, size_t errlen)
{
	char *p = conf_trim(line), *eq, *end;

	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL || end[1] != '\0') {
			snprintf(err, errlen,
			    "%s: section header must be "
			    "[name]",
			    where);
			return -1;
		}
		*end = '\0';
		p = conf_trim(p + 1);
		if (!conf_section_known(p)) {
			snprintf(err, errlen, "%s: unknown section [%s]", where,
			    p);
			return -1;
		}
		strlcpy(section, p, seclen);
		return 0;
	}
	if ((eq = strchr(p, '=')) == NULL) {
		snprintf(err, errlen, "%s: expected key = value", where);
		return -1;
	}
	if (*section == '\0') {
		snprintf(err, errlen, "%s: key outside a section", where);
		return -1;
	}
	*eq = '\0';
	conf_strip_comment(eq + 1);
	return conf_apply(c, section, conf_trim(p), conf_trim(eq + 1), where,
	    err, errlen);
}

/* conf_parse_buf: parse INI text. */
int
conf_parse_buf(struct conf *c, const char *name, const char *buf, size_t len,
    char *err, size_t errlen)
{
	char line[1024], section[32] = "", where[PATH_MAX + 32];
	size_t i = 0, n;
	unsigned int lineno = 0;

	while (i < len) {
		lineno++;
		for (n = 0; i + n < len && buf[i + n] != '\n'; n++)
			;
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		if (n >= sizeof(line)) {
			snprintf(err, errlen,
			    "%s: line longer than %zu "
			    "characters",
			    where, sizeof(line) - 1);
			return -1;
		}
		if (memchr(buf + i, '\0', n) != NULL) {
			snprintf(err, errlen, "%s: NUL byte in line", where);
			return -1;
		}
		memcpy(line, buf + i, n);
		line[n] = '\0';
		if (conf_line(c, line, section, sizeof(section), where, err,
			errlen) != 0)
			return -1;
		i += n + 1;
	}
	return 0;
}

/* conf_parse_file: read a whole file and parse it. */
int
conf_parse_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *nb;
			if (cap >= (1u << 20)) {
				snprintf(err, errlen,
				    "%s: file larger than "
				    "1 MiB",
				    path);
				rc = -1;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "%s: out of memory",
				    path);
				rc = -1;
				goto out;
			}
			buf = nb;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
		goto out;
	}
	rc = conf_parse_buf(c, path, buf, len, err, errlen);
out:
	free(buf);
	fclose(fp);
	return rc;
}

/* conf_set: "section.key=value" from the command line. */
int
conf_set(struct conf *c, const char *assign, char *err, size_t errlen)
{
	char buf[1024], where[1100], *dot, *eq;

	snprintf(where, sizeof(where), "--set %s", assign);
	if (strlcpy(buf, assign, sizeof(buf)) >= sizeof(buf) ||
	    (eq = strchr(buf, '=')) == NULL ||
	    (dot = memchr(buf, '.', (size_t)(eq - buf))) == NULL) {
		snprintf(err, errlen, "%s: expected SECTION.KEY=VALUE", where);
		return -1;
	}
	*dot = '\0';
	*eq = '\0';
	return conf_apply(c, conf_trim(buf), conf_trim(dot + 1),
	    conf_trim(eq + 1), where, err, errlen);
}

/* conf_conn_buckets: buckets for at least conn_entries flows. */
uint32_t
conf_conn_buckets(const struct conf *c)
{
	uint32_t b = 16;

	while (b * SHM_CONN_PER_BUCKET < c->g.conn_entries && b < (1u << 24))
		b <<= 1;
	return b;
}

/* conf_ring_slots: slots of a pair ring: ring-size / slot-size. */
uint32_t
conf_ring_slots(const struct netconf *n)
{
	return n->ring_size / n->slot_size;
}

/* conf_ring_min_slots: slots of a new pair ring: ring-min-size /
 * slot-size, at least two. */
uint32_t
conf_ring_min_slots(const struct netconf *n)
{
	uint32_t s = n->ring_min / n->slot_size;

	return s < 2 ? 2 : s;
}

/* conf_check_rings: a network's ring sizes are usable. */
static int
conf_check_rings(const char *net, const struct netconf *n, char *err,
    size_t errlen)
{
	if (conf_ring_slots(n) * (uint64_t)n->slot_size <
		2ull * SHM_FRAME_MAX ||
	    conf_ring_slots(n) > 65536) {
		snprintf(err, errlen,
		    "%s ring-size %u / slot-size %u must hold "
		    "two 64 KiB frames in at most 65536 slots",
		    net, n->ring_size, n->slot_size);
		return -1;
	}
	if (n->ring_min > n->ring_size) {
		snprintf(err, errlen,
		    "%s ring-min-size %u is larger than "
		    "ring-size %u",
		    net, n->ring_min, n->ring_size);
		return -1;
	}
	return 0;
}

/* conf_gaddr_ok: a cluster address lies outside the local and the
 * client network. */
int
conf_gaddr_ok(const struct conf *c, uint32_t a, const char **what)
{
	uint32_t mask = htonl(~0u << (32 - c->local.prefix)),
		 cmask = htonl(~0u << (32 - c->g.client_prefix)),
		 localnet =
		     (c->local.addr ? c->local.addr : htonl(0x0ac90000)) & mask;

	if ((a & mask) == localnet) {
		if (what != NULL)
			*what = "local network";
		return -1;
	}
	if ((a & cmask) == (c->g.client_net & cmask)) {
		if (what != NULL)
			*what = "client network";
		return -1;
	}
	return 0;
}

/* conf_check_gaddrs: no cluster address lies in the local network or
 * the client network: errors name where the addresses were set. */
static int
conf_check_gaddrs(const struct conf *c, char *err, size_t errlen)
{
	uint32_t mask = htonl(~0u << (32 - c->local.prefix)), i;
	char a[INET_ADDRSTRLEN], n[INET_ADDRSTRLEN];
	const char *what;
	struct in_addr net;
	uint32_t prefix;

	for (i = 0; i < c->g.addrs.n && i < CONF_GADDR_MAX; i++) {
		if (conf_gaddr_ok(c, c->g.addrs.a[i], &what) == 0)
			continue;
		if (strcmp(what, "local network") == 0) {
			net.s_addr = (c->local.addr ? c->local.addr :
						      htonl(0x0ac90000)) &
			    mask;
			prefix = c->local.prefix;
		} else {
			net.s_addr = c->g.client_net;
			prefix = c->g.client_prefix;
		}
		inet_ntop(AF_INET, &c->g.addrs.a[i], a, sizeof(a));
		inet_ntop(AF_INET, &net, n, sizeof(n));
		snprintf(err, errlen,
		    "%s%scluster address %s lies in the %s %s/%u: it must not",
		    c->gaddrs_where, c->gaddrs_where[0] ? ": " : "", a, what, n,
		    prefix);
		return -1;
	}
	return 0;
}

/* conf_finish: cross checks and derived values. */
int
conf_finish(struct conf *c, char *err, size_t errlen)
{

	if (c->cluster[0] == '\0') {
		snprintf(err, errlen,
		    "no cluster name: use --cluster NAME or "
		    "[cluster] name");
		return -1;
	}
	if (c->node > c->max_nodes) {
		snprintf(err, errlen, "node %u out of range (1-%u, max-nodes)",
		    c->node, c->max_nodes);
		return -1;
	}
	if (c->segment[0] == '\0')
		snprintf(c->segment, sizeof(c->segment), "/dev/shm/shmnet.%s",
		    c->cluster);
	if (conf_check_rings("local", &c->local, err, errlen) != 0 ||
	    (c->g.enabled &&
		conf_check_rings("global", &c->global, err, errlen) != 0))
		return -1;
	c->g.client_net &= htonl(~0u << (32 - c->g.client_prefix));
	c->global.addr = c->g.addrs.a[0];
	if (c->g.enabled && conf_check_gaddrs(c, err, errlen) != 0)
		return -1;
	if (c->g.enabled && (~0u >> c->g.client_prefix) < c->max_nodes) {
		snprintf(err, errlen,
		    "client-network /%u has room for fewer "
		    "than max-nodes (%u) nodes",
		    c->g.client_prefix, c->max_nodes);
		return -1;
	}
	if (c->g.check_timeout > c->g.check_interval) {
		snprintf(err, errlen,
		    "check-timeout %u is longer than check-interval %u: a "
		    "check must end before the next one starts",
		    c->g.check_timeout, c->g.check_interval);
		return -1;
	}
	if (c->g.gateway_mode == CONF_GW_ROUTE &&
	    c->g.announce_table == c->g.table) {
		snprintf(err, errlen,
		    "announce-table and table are both %u: the announced route "
		    "needs a table of its own",
		    c->g.table);
		return -1;
	}
	if (c->g.route_local &&
	    (c->g.local_table == c->g.table ||
		c->g.local_table == c->g.announce_table)) {
		snprintf(err, errlen,
		    "route-local-table %u is also table or announce-table: "
		    "the route-local default route needs a table of its own",
		    c->g.local_table);
		return -1;
	}
	if (c->g.enabled && strcmp(c->global.ifname, c->local.ifname) == 0) {
		snprintf(err, errlen, "local and global interface are both %s",
		    c->local.ifname);
		return -1;
	}
	return conf_check_egress(c, c->max_nodes, err, errlen);
}

/* conf_egress: does this node send out through the gateways? */
int
conf_egress(const struct conf *c)
{
	return c->g.enabled && c->g.egress && c->g.gateway[0] == '\0';
}

/* conf_egress_ports: node id's share of egress-ports: an even number of
 * ports from an even port on when the range starts even, as the kernel
 * prefers (it gives connect() ports of one parity). */
int
conf_egress_ports(const struct conf *c, uint32_t max_nodes, uint32_t id,
    uint32_t *lo, uint32_t *hi)
{
	uint32_t n = c->g.egress_ports[1] - c->g.egress_ports[0] + 1, share;

	share = (max_nodes > 0 ? n / max_nodes : 0) & ~1u;
	if (share < CONF_EGRESS_SLICE_MIN || id < 1 || id > max_nodes)
		return -ERANGE;
	*lo = c->g.egress_ports[0] + (id - 1) * share;
	*hi = *lo + share - 1;
	return 0;
}

/* conf_check_egress: with egress from G, every node's share of
 * egress-ports is large enough. */
int
conf_check_egress(const struct conf *c, uint32_t max_nodes, char *err,
    size_t errlen)
{
	uint32_t lo, hi;

	if (!conf_egress(c) || c->g.egress_source != CONF_EGRESS_GLOBAL ||
	    conf_egress_ports(c, max_nodes, 1, &lo, &hi) == 0)
		return 0;
	snprintf(err, errlen,
	    "egress-ports %u-%u shared among max-nodes %u leaves each node "
	    "%u ephemeral ports, fewer than %u: widen egress-ports, lower "
	    "max-nodes, or set egress-source = node",
	    c->g.egress_ports[0], c->g.egress_ports[1], max_nodes,
	    ((c->g.egress_ports[1] - c->g.egress_ports[0] + 1) / max_nodes) &
		~1u,
	    CONF_EGRESS_SLICE_MIN);
	return -1;
}

/* conf_read: defaults, the file, the --set assignments, --cluster and
 * --node, and conf_finish: the configuration the sources give. */
int
conf_read(struct conf *c, const struct conf_src *src, char *err, size_t errlen)
{
	int i;

	conf_defaults(c);
	if (src->file != NULL &&
	    conf_parse_file(c, src->file, err, errlen) != 0)
		return -1;
	for (i = 0; i < src->nsets; i++)
		if (conf_set(c, src->sets[i], err, errlen) != 0)
			return -1;
	if (src->cluster != NULL &&
	    conf_apply(c, "cluster", "name", src->cluster, "--cluster", err,
		errlen) != 0)
		return -1;
	if (src->node != NULL &&
	    conf_apply(c, "cluster", "node", src->node, "--node", err,
		errlen) != 0)
		return -1;
	return conf_finish(c, err, errlen);
}

/* conf_log_level: log-level, or debug with --verbose. */
int
conf_log_level(const struct conf *c, int verbose)
{
	return verbose > 0 ? LOG_DEBUG : (int)c->log_level;
}

/* conf_local_addr: configured address, or 10.201.<id/256>.<id%256>. */
uint32_t
conf_local_addr(const struct conf *c, uint32_t id)
{
	if (c->local.addr != 0)
		return c->local.addr;
	return htonl((10u << 24) | (201u << 16) | ((id >> 8) << 8) |
	    (id & 0xff));
}

/* conf_client_addr: node id's client address in the client network. */
uint32_t
conf_client_addr(const struct conf *c, uint32_t id)
{
	uint32_t host = ~0u >> c->g.client_prefix;

	return c->g.client_net | htonl(id & host);
}

/* conf_has_g6: is IPv6 configured for G? */
int
conf_has_g6(const struct conf *c)
{
	static const uint8_t zero[16];

	return memcmp(c->g.addr6, zero, 16) != 0;
}

/* conf_local_addr6: address6 as given, or address6's network + id when
 * its host part is zero. */
int
conf_local_addr6(const struct conf *c, uint32_t id, uint8_t *out)
{
	static const uint8_t zero[16];
	uint32_t i, host_zero = 1;

	if (c->local.prefix6 == 0)
		return -1;
	memcpy(out, c->local.addr6, 16);
	for (i = c->local.prefix6; i < 128; i++)
		if (out[i / 8] & (0x80 >> (i % 8)))
			host_zero = 0;
	if (host_zero && memcmp(out, zero, 16) != 0 &&
	    c->local.prefix6 <= 112) {
		out[14] = (uint8_t)(id >> 8);
		out[15] = (uint8_t)id;
	}
	return 0;
}

/* conf_client6_addr: client-network6 + id. */
void
conf_client6_addr(const struct conf *c, uint32_t id, uint8_t *out)
{
	memcpy(out, c->g.client6, 16);
	out[14] = (uint8_t)(id >> 8);
	out[15] = (uint8_t)id;
}

/* conf_format_addr4: "a.b.c.d/len"; 1 for a local address derived from
 * the node id with the default prefix length, which needs no line and is
 * shown as a comment. */
static int
conf_format_addr4(const struct conf *c, const struct conf_key *k, char *buf,
    size_t len)
{
	struct in_addr a = { .s_addr = (uint32_t)conf_load(c, k) };
	char s[INET_ADDRSTRLEN];

	if (k->type == CT_ADDR4ID && a.s_addr == 0 &&
	    conf_prefix_len(c, k) == CONF_LOCAL_PREFIX) {
		snprintf(buf, len,
		    "10.201.<id/256>.<id%%256>/%u, from the "
		    "node id",
		    CONF_LOCAL_PREFIX);
		return 1;
	}
	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, conf_prefix_len(c, k));
	return 0;
}

/* conf_format_hosts4: the cluster addresses, "a.b.c.d, e.f.g.h". */
static void
conf_format_hosts4(const struct conf *c, const struct conf_key *k, char *buf,
    size_t len)
{
	const struct conf_gaddrs *g =
	    (const struct conf_gaddrs *)((const char *)c + k->off);
	char s[INET_ADDRSTRLEN];
	uint32_t i;

	*buf = '\0';
	for (i = 0; i < g->n && i < CONF_GADDR_MAX; i++) {
		inet_ntop(AF_INET, &g->a[i], s, sizeof(s));
		strlcat(buf, i ? ", " : "", len);
		strlcat(buf, s, len);
	}
}

/* conf_format_addr6: an IPv6 address, "/len" after a network, "" for
 * none (which reads back as none). */
static void
conf_format_addr6(const struct conf *c, const struct conf_key *k, char *buf,
    size_t len)
{
	static const uint8_t none[16];
	const uint8_t *a = (const uint8_t *)c + k->off;
	char s[INET6_ADDRSTRLEN];

	*buf = '\0';
	if (k->type == CT_HOST6) {
		if (memcmp(a, none, sizeof(none)) != 0)
			inet_ntop(AF_INET6, a, buf, len);
	} else if (conf_prefix_len(c, k) != 0) {
		inet_ntop(AF_INET6, a, s, sizeof(s));
		snprintf(buf, len, "%s/%u", s, conf_prefix_len(c, k));
	}
}

/* conf_format: key k's value in c as conf_apply reads it; 1 when it has
 * no such form (unset), and the line is a comment. */
static int
conf_format(const struct conf *c, const struct conf_key *k, char *buf,
    size_t len)
{
	const char *s = (const char *)c + k->off;

	switch (k->type) {
	case CT_UINT:
	case CT_SIZE:
		snprintf(buf, len, "%" PRIu64, conf_load(c, k));
		break;
	case CT_BOOL:
		strlcpy(buf, conf_load(c, k) ? "yes" : "no", len);
		break;
	case CT_NODE:
		if (conf_load(c, k) == 0)
			strlcpy(buf, "auto", len);
		else
			snprintf(buf, len, "%" PRIu64, conf_load(c, k));
		break;
	case CT_MODE:
		snprintf(buf, len, "%04" PRIo64, conf_load(c, k));
		break;
	case CT_IFNAME0:
		strlcpy(buf, *s != '\0' ? s : "none", len);
		break;
	case CT_NAME:
	case CT_IFNAME:
	case CT_PATH:
		strlcpy(buf, s, len);
		return strlen(s) < k->min;
	case CT_CHECK:
		strlcpy(buf, s, len);
		break;
	case CT_ADDR4:
	case CT_ADDR4ID:
		return conf_format_addr4(c, k, buf, len);
	case CT_HOSTS4:
		conf_format_hosts4(c, k, buf, len);
		break;
	case CT_HOST6:
	case CT_NET6:
	case CT_ADDR6:
		conf_format_addr6(c, k, buf, len);
		break;
	case CT_LISTEN:
		conf_listen_str((const struct conf_listen *)s, buf, len);
		break;
	case CT_LEVEL:
	case CT_GWMODE:
	case CT_SOURCE:
		strlcpy(buf, conf_name_of(k, conf_load(c, k)), len);
		break;
	case CT_PORTS:
		snprintf(buf, len, "%u-%u", ((const uint32_t *)s)[0],
		    ((const uint32_t *)s)[1]);
		break;
	case CT_PPORTS:
		conf_format_pports((const struct conf_pports *)s, buf, len);
		break;
	}
	return 0;
}

/* conf_print: every key in the order of conf_keys[], as INI text that
 * conf_parse_buf reads back to the same configuration. */
void
conf_print(const struct conf *c, void *vfp)
{
	const struct conf_key *k;
	FILE *fp = vfp;
	char v[PATH_MAX + 64];
	size_t i;
	int comment;

	for (i = 0; i < sizeof(conf_keys) / sizeof(*conf_keys); i++) {
		k = &conf_keys[i];
		if (i == 0 || strcmp(k->section, k[-1].section) != 0)
			fprintf(fp, "%s[%s]\n", i == 0 ? "" : "\n", k->section);
		comment = conf_format(c, k, v, sizeof(v));
		fprintf(fp, "%s%s =%s%s\n", comment ? "# " : "", k->name,
		    *v != '\0' ? " " : "", v);
	}
}

/* conf_diff: every key whose printed value differs, in the order of
 * conf_keys[]. */
int
conf_diff(const struct conf *run, const struct conf *next,
    void (*fn)(const struct conf_change *, void *), void *arg)
{
	struct conf_change ch;
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(conf_keys) / sizeof(*conf_keys); i++) {
		ch.section = conf_keys[i].section;
		ch.name = conf_keys[i].name;
		conf_format(run, &conf_keys[i], ch.was, sizeof(ch.was));
		conf_format(next, &conf_keys[i], ch.now, sizeof(ch.now));
		if (strcmp(ch.was, ch.now) == 0)
			continue;
		n++;
		fn(&ch, arg);
	}
	return n;
}

/* conf_has_prefix: the key's field is followed by its prefix length
 * (conf_prefix). */
static int
conf_has_prefix(const struct conf_key *k)
{
	switch (k->type) {
	case CT_ADDR4:
	case CT_ADDR4ID:
	case CT_NET6:
	case CT_ADDR6:
		return 1;
	default:
		return 0;
	}
}

/* conf_take: one key's value from src into dst. */
int
conf_take(struct conf *dst, const struct conf *src, const char *section,
    const char *key)
{
	const struct conf_key *k;
	size_t n;

	if ((k = conf_find(section, key)) == NULL)
		return -1;
	n = k->width + (conf_has_prefix(k) ? sizeof(uint32_t) : 0);
	memcpy((char *)dst + k->off, (const char *)src + k->off, n);
	return 0;
}

/* conf_known: is section.key a key of the table? */
int
conf_known(const char *section, const char *key)
{
	return conf_find(section, key) != NULL;
}
