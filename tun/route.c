/*
 * route.c: the routing state the global network needs, over rtnetlink
 * (libmnl) and /proc/sys, with an undo log.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <libmnl/libmnl.h>

#include "netlink.h"
#include "route.h"

#define RT_OP_RULE   1
#define RT_OP_ROUTE  2
#define RT_OP_SYSCTL 3
#define RT_OP_LOCAL  4 /* local rule moved: put it back at 0 */
#define RT_OP_ADDR   5
#define RT_OP_PROXY  6

#define RT_FLUSH_MAX 4096 /* rules deleted by one rt_rule4_flush */

/* rt_rule_msgf: build a rule request (family AF_INET or AF_INET6; dst and
 * src point to 4 or 16 bytes, or are NULL; table RT_RULE_BLACKHOLE: a
 * blackhole rule, else a lookup of table, 0 any table). */
static struct nlmsghdr *
rt_rule_msgf(char *buf, int type, int flags, int family, uint32_t pref,
    uint32_t table, const void *dst, uint8_t dstlen, const void *src,
    uint8_t srclen, const char *iif)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *fr;
	size_t alen = family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	fr = mnl_nlmsg_put_extra_header(nlh, sizeof(*fr));
	fr->family = (uint8_t)family;
	fr->action = table == RT_RULE_BLACKHOLE ? FR_ACT_BLACKHOLE :
						  FR_ACT_TO_TBL;
	fr->table = table < 256 ? table : RT_TABLE_UNSPEC;
	fr->dst_len = dstlen;
	fr->src_len = srclen;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
	if (table != RT_RULE_BLACKHOLE)
		mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (dstlen && dst != NULL)
		mnl_attr_put(nlh, FRA_DST, alen, dst);
	if (srclen && src != NULL)
		mnl_attr_put(nlh, FRA_SRC, alen, src);
	if (iif != NULL && *iif)
		mnl_attr_put_strz(nlh, FRA_IIFNAME, iif);
	return nlh;
}

/* rt_rule_msg: the IPv4 form. */
static struct nlmsghdr *
rt_rule_msg(char *buf, int type, int flags, uint32_t pref, uint32_t table,
    uint32_t dst, uint8_t dstlen, uint32_t src, uint8_t srclen, const char *iif)
{
	return rt_rule_msgf(buf, type, flags, AF_INET, pref, table, &dst,
	    dstlen, &src, srclen, iif);
}

/* rt_room: room for one more record, made before the change it records,
 * so that every change made is undone; -ENOMEM and no change otherwise. */
static int
rt_room(struct rt_undo *u)
{
	struct rt_op *op;
	int cap;

	if (u->n < u->cap)
		return 0;
	cap = u->cap ? u->cap * 2 : 16;
	if ((op = reallocarray(u->op, (size_t)cap, sizeof(*op))) == NULL)
		return -ENOMEM;
	u->op = op;
	u->cap = cap;
	return 0;
}

/* rt_record: remember an operation for undo (rt_room made room). */
static struct rt_op *
rt_record(struct rt_undo *u, int kind)
{
	struct rt_op *op = &u->op[u->n++];

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	return op;
}

/* rt_rule_add: add a rule of either family, record it. */
static int
rt_rule_add(struct rt_undo *u, int family, uint32_t pref, uint32_t table,
    const void *dst, uint8_t dstlen, const void *src, uint8_t srclen,
    const char *iif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_op *op;
	size_t alen = family == AF_INET ? 4 : 16;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	rc = nl_talk(rt_rule_msgf(buf, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL,
	    family, pref, table, dst, dstlen, src, srclen, iif));
	if (rc == -EEXIST)
		return 0; /* left by an earlier life: keep it */
	if (rc != 0)
		return rc;
	op = rt_record(u, RT_OP_RULE);
	op->family = family;
	op->pref = pref;
	op->table = table;
	if (dst != NULL)
		memcpy(family == AF_INET ? (void *)&op->dst : op->dst6, dst,
		    alen);
	if (src != NULL)
		memcpy(family == AF_INET ? (void *)&op->src : op->src6, src,
		    alen);
	op->dstlen = dstlen;
	op->srclen = srclen;
	if (iif != NULL)
		strlcpy(op->iif, iif, sizeof(op->iif));
	return 0;
}

/* rt_rule4_add: an IPv4 rule. */
int
rt_rule4_add(struct rt_undo *u, uint32_t pref, uint32_t table, uint32_t dst,
    uint8_t dstlen, uint32_t src, uint8_t srclen, const char *iif)
{
	return rt_rule_add(u, AF_INET, pref, table, &dst, dstlen, &src, srclen,
	    iif);
}

/* rt_rule6_add: an IPv6 rule. */
int
rt_rule6_add(struct rt_undo *u, uint32_t pref, uint32_t table,
    const uint8_t *dst, uint8_t dstlen, const uint8_t *src, uint8_t srclen,
    const char *iif)
{
	return rt_rule_add(u, AF_INET6, pref, table, dst, dstlen, src, srclen,
	    iif);
}

/* rt_rule4_add_suppress: "from src lookup table suppress_prefixlength 0"
 * (see route.h). */
int
rt_rule4_add_suppress(struct rt_undo *u, uint32_t pref, uint32_t table,
    uint32_t src, uint8_t srclen, const char *iif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	nlh = rt_rule_msg(buf, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, pref,
	    table, 0, 0, src, srclen, iif);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	if ((rc = nl_talk(nlh)) == -EEXIST)
		return 0; /* left by an earlier life: keep it */
	if (rc != 0)
		return rc;
	op = rt_record(u, RT_OP_RULE);
	op->family = AF_INET;
	op->pref = pref;
	op->table = table;
	op->src = src;
	op->srclen = srclen;
	op->suppress = 1;
	if (iif != NULL)
		strlcpy(op->iif, iif, sizeof(op->iif));
	return 0;
}

/* rt_rule4_udp_sport: per-port rule for UDP answers (see route.h). */
int
rt_rule4_udp_sport(int add, uint32_t pref, uint32_t table, uint16_t port,
    int suppress)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct fib_rule_port_range r = { port, port };
	int rc;

	nlh = rt_rule_msg(buf, add ? RTM_NEWRULE : RTM_DELRULE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0, pref, table, 0, 0, 0, 0, "lo");
	mnl_attr_put_u8(nlh, FRA_IP_PROTO, IPPROTO_UDP);
	if (port != 0)
		mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(r), &r);
	if (suppress)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	rc = nl_talk(nlh);
	if ((add && rc == -EEXIST) || (!add && rc == -ENOENT))
		return 0;
	return rc;
}

/* rt_rule_flush: delete every rule of family at priority pref that looks
 * up a table (table 0) or is a blackhole (RT_RULE_BLACKHOLE); how many,
 * or -errno. */
int
rt_rule_flush(int family, uint32_t pref, uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n, rc;

	for (n = 0; n < RT_FLUSH_MAX; n++) {
		/* priority and action alone: table, addresses, iif and
		 * ports unset match any rule's */
		rc = nl_talk(rt_rule_msgf(buf, RTM_DELRULE, 0, family, pref,
		    table, NULL, 0, NULL, 0, NULL));
		if (rc == -ENOENT)
			return n;
		if (rc != 0)
			return rc;
	}
	return n;
}

/* rt_rule4_flush: every IPv4 rule at pref that looks up a table. */
int
rt_rule4_flush(uint32_t pref)
{
	return rt_rule_flush(AF_INET, pref, RT_TABLE_UNSPEC);
}

/* rt_local_move: "lookup local" of a family from priority 0 to pref. */
static int
rt_local_move(struct rt_undo *u, int family, uint32_t pref)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	rc = nl_talk(rt_rule_msgf(buf, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL,
	    family, pref, RT_TABLE_LOCAL, NULL, 0, NULL, 0, NULL));
	if (rc != 0 && rc != -EEXIST)
		return rc;
	rc = nl_talk(rt_rule_msgf(buf, RTM_DELRULE, 0, family, 0,
	    RT_TABLE_LOCAL, NULL, 0, NULL, 0, NULL));
	if (rc != 0 && rc != -ENOENT)
		return rc;
	op = rt_record(u, RT_OP_LOCAL);
	op->family = family;
	op->pref = pref;
	return 0;
}

int
rt_local_rule_move(struct rt_undo *u, uint32_t pref)
{
	return rt_local_move(u, AF_INET, pref);
}

int
rt_local_rule6_move(struct rt_undo *u, uint32_t pref)
{
	return rt_local_move(u, AF_INET6, pref);
}

/* What rt_default_exists looks for, and whether it found it. */
struct rt_dflt {
	int family;
	uint32_t table;
	int found;
};

/* rt_default_cb: one route of the dump: a default route of the family
 * in the table? */
static int
rt_default_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct rt_dflt *d = arg;
	const struct nlattr *a;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    rtm->rtm_family != d->family || rtm->rtm_dst_len != 0)
		return MNL_CB_OK;
	table = rtm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
		if (mnl_attr_get_type(a) == RTA_TABLE &&
		    mnl_attr_get_payload_len(a) >= sizeof(uint32_t))
			table = mnl_attr_get_u32(a);
	if (table == d->table)
		d->found = 1;
	return MNL_CB_OK;
}

/* rt_default_exists: does table have a default route of family (any
 * type, any device)?  1, 0, or -errno. */
int
rt_default_exists(int family, uint32_t table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_dflt d = { .family = family, .table = table };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned int portid, seq;
	ssize_t n;
	int rc = 0;

	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	seq = nlh->nlmsg_seq = (unsigned int)time(NULL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, rt_default_cb, &d);
		if (rc <= MNL_CB_STOP)
			break;
	}
	rc = n < 0 || rc == MNL_CB_ERROR ? -errno : d.found;
out:
	mnl_socket_close(nl);
	return rc;
}

/* rt_route_msgf: a link route request (dst/prefsrc: 4 or 16 bytes). */
static struct nlmsghdr *
rt_route_msgf(char *buf, int type, int flags, int family, uint32_t table,
    const void *dst, uint8_t len, int oif, const void *prefsrc)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen = family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (len)
		mnl_attr_put(nlh, RTA_DST, alen, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (prefsrc != NULL)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, prefsrc);
	return nlh;
}

/* rt_route_add: add (or replace) a link route, record it. */
static int
rt_route_add(struct rt_undo *u, int family, uint32_t table, const void *dst,
    uint8_t len, int oif, const void *prefsrc)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	rc = nl_talk(rt_route_msgf(buf, RTM_NEWROUTE,
	    NLM_F_CREATE | NLM_F_REPLACE, family, table, dst, len, oif,
	    prefsrc));
	if (rc != 0)
		return rc;
	op = rt_record(u, RT_OP_ROUTE);
	op->family = family;
	op->table = table;
	if (len)
		memcpy(family == AF_INET ? (void *)&op->dst : op->dst6, dst,
		    family == AF_INET ? 4 : 16);
	op->dstlen = len;
	op->oif = oif;
	return 0;
}

/* rt_route_set: add or delete a link route, unrecorded. */
int
rt_route_set(int add, int family, uint32_t table, const void *dst, uint8_t len,
    int oif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int rc;

	rc = nl_talk(rt_route_msgf(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
	    add ? NLM_F_CREATE | NLM_F_REPLACE : 0, family, table, dst, len,
	    oif, NULL));
	return !add && (rc == -ESRCH || rc == -ENODEV) ? 0 : rc;
}

/* rt_route4_gateways: table's default route over gateways (route.h). */
int
rt_route4_gateways(uint32_t table, int oif, const uint32_t *gw, uint32_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtnexthop *nh;
	struct nlattr *mp;
	struct rtmsg *rtm;
	uint32_t i;
	int rc;

	if (n > 64)
		return -E2BIG;
	nlh->nlmsg_type = n ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
	    (n ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (n == 1) {
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw[0]);
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	} else if (n > 1) {
		mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
		for (i = 0; i < n; i++) {
			nh = mnl_nlmsg_get_payload_tail(nlh);
			memset(nh, 0, sizeof(*nh));
			nh->rtnh_ifindex = oif;
			nlh->nlmsg_len += MNL_ALIGN(sizeof(*nh));
			mnl_attr_put_u32(nlh, RTA_GATEWAY, gw[i]);
			nh->rtnh_len =
			    (unsigned short)((char *)mnl_nlmsg_get_payload_tail(
						 nlh) -
				(char *)nh);
		}
		mnl_attr_nest_end(nlh, mp);
	}
	rc = nl_talk(nlh);
	return n == 0 && (rc == -ESRCH || rc == -ENODEV) ? 0 : rc;
}

/* rt_route4_add: an IPv4 link route (prefsrc 0: none). */
int
rt_route4_add(struct rt_undo *u, uint32_t table, uint32_t dst, uint8_t len,
    int oif, uint32_t prefsrc)
{
	return rt_route_add(u, AF_INET, table, &dst, len, oif,
	    prefsrc ? &prefsrc : NULL);
}

/* rt_route6_add: an IPv6 link route (prefsrc NULL: none). */
int
rt_route6_add(struct rt_undo *u, uint32_t table, const uint8_t *dst,
    uint8_t len, int oif, const uint8_t *prefsrc)
{
	return rt_route_add(u, AF_INET6, table, dst, len, oif, prefsrc);
}

/* rt_addr_msgf: an address request (4 or 16 bytes; IPv6 nodad). */
static struct nlmsghdr *
rt_addr_msgf(char *buf, int type, int flags, int family, int ifindex,
    const void *addr, uint8_t prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return nlh;
}

/* rt_addr_add: add an address, record it. */
static int
rt_addr_add(struct rt_undo *u, int family, int ifindex, const void *addr,
    uint8_t prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	rc = nl_talk(rt_addr_msgf(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
	    family, ifindex, addr, prefix));
	if (rc == -EEXIST)
		return 0;
	if (rc != 0)
		return rc;
	op = rt_record(u, RT_OP_ADDR);
	op->family = family;
	op->oif = ifindex;
	memcpy(family == AF_INET ? (void *)&op->dst : op->dst6, addr,
	    family == AF_INET ? 4 : 16);
	op->dstlen = prefix;
	return 0;
}

/* rt_addr4_add: an IPv4 address. */
int
rt_addr4_add(struct rt_undo *u, int ifindex, uint32_t addr, uint8_t prefix)
{
	return rt_addr_add(u, AF_INET, ifindex, &addr, prefix);
}

/* rt_addr6_add: an IPv6 address /128, without DAD. */
int
rt_addr6_add(struct rt_undo *u, int ifindex, const uint8_t *addr)
{
	return rt_addr_add(u, AF_INET6, ifindex, addr, 128);
}

/* rt_proxy_msgf: a proxy neighbour (answer ARP or NDP for addr). */
static struct nlmsghdr *
rt_proxy_msgf(char *buf, int type, int flags, int family, int ifindex,
    const void *addr)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = (uint8_t)family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nd->ndm_flags = NTF_PROXY;
	mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, addr);
	return nlh;
}

/* rt_proxy_add: a proxy neighbour entry, recorded. */
static int
rt_proxy_add(struct rt_undo *u, int family, int ifindex, const void *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	rc = nl_talk(rt_proxy_msgf(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL,
	    family, ifindex, addr));
	if (rc == -EEXIST)
		return 0;
	if (rc != 0)
		return rc;
	op = rt_record(u, RT_OP_PROXY);
	op->family = family;
	op->oif = ifindex;
	memcpy(family == AF_INET ? (void *)&op->dst : op->dst6, addr,
	    family == AF_INET ? 4 : 16);
	return 0;
}

int
rt_proxy4_add(struct rt_undo *u, int ifindex, uint32_t addr)
{
	return rt_proxy_add(u, AF_INET, ifindex, &addr);
}

int
rt_proxy6_add(struct rt_undo *u, int ifindex, const uint8_t *addr)
{
	return rt_proxy_add(u, AF_INET6, ifindex, addr);
}

/* rt_sysctl_rw: read (value NULL) or write a /proc/sys file. */
static int
rt_sysctl_rw(const char *path, const char *value, char *old, size_t oldlen)
{
	char p[160];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	if ((fd = open(p, value ? O_WRONLY : O_RDONLY)) == -1)
		return -errno;
	if (value != NULL)
		n = write(fd, value, strlen(value));
	else {
		n = read(fd, old, oldlen - 1);
		if (n >= 0) {
			old[n] = '\0';
			old[strcspn(old, "\n")] = '\0';
		}
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

/* rt_sysctl_get: read a sysctl (its first line). */
int
rt_sysctl_get(const char *path, char *value, size_t len)
{
	return rt_sysctl_rw(path, NULL, value, len);
}

/* rt_sysctl_put: write a sysctl, unrecorded. */
int
rt_sysctl_put(const char *path, const char *value)
{
	return rt_sysctl_rw(path, value, NULL, 0);
}

/* rt_sysctl_set: write a sysctl, remembering its old value. */
int
rt_sysctl_set(struct rt_undo *u, const char *path, const char *value)
{
	char old[32];
	struct rt_op *op;
	int rc;

	if ((rc = rt_room(u)) != 0)
		return rc;
	if ((rc = rt_sysctl_rw(path, NULL, old, sizeof(old))) != 0)
		return rc;
	if (strcmp(old, value) == 0)
		return 0;
	if ((rc = rt_sysctl_rw(path, value, NULL, 0)) != 0)
		return rc;
	op = rt_record(u, RT_OP_SYSCTL);
	strlcpy(op->path, path, sizeof(op->path));
	strlcpy(op->value, old, sizeof(op->value));
	return 0;
}

/* rt_undo_one: reverse one recorded operation. */
static int
rt_undo_one(const struct rt_op *op)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int fam = op->family ? op->family : AF_INET, rc;
	struct nlmsghdr *nlh;
	const void *dst = fam == AF_INET ? (const void *)&op->dst : op->dst6,
		   *src = fam == AF_INET ? (const void *)&op->src : op->src6;

	switch (op->kind) {
	case RT_OP_RULE:
		nlh = rt_rule_msgf(buf, RTM_DELRULE, 0, fam, op->pref,
		    op->table, dst, op->dstlen, src, op->srclen, op->iif);
		if (op->suppress)
			mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
		return nl_talk(nlh);
	case RT_OP_LOCAL:
		rc = nl_talk(rt_rule_msgf(buf, RTM_NEWRULE,
		    NLM_F_CREATE | NLM_F_EXCL, fam, 0, RT_TABLE_LOCAL, NULL, 0,
		    NULL, 0, NULL));
		if (rc != 0 && rc != -EEXIST)
			return rc;
		return nl_talk(rt_rule_msgf(buf, RTM_DELRULE, 0, fam, op->pref,
		    RT_TABLE_LOCAL, NULL, 0, NULL, 0, NULL));
	case RT_OP_ROUTE:
		rc = nl_talk(rt_route_msgf(buf, RTM_DELROUTE, 0, fam, op->table,
		    dst, op->dstlen, op->oif, NULL));
		return rc == -ESRCH || rc == -ENODEV ? 0 : rc;
	case RT_OP_SYSCTL:
		return rt_sysctl_rw(op->path, op->value, NULL, 0);
	case RT_OP_PROXY:
		rc = nl_talk(rt_proxy_msgf(buf, RTM_DELNEIGH, 0, fam, op->oif,
		    dst));
		return rc == -ENOENT || rc == -ENODEV ? 0 : rc;
	case RT_OP_ADDR:
		rc = nl_talk(rt_addr_msgf(buf, RTM_DELADDR, 0, fam, op->oif,
		    dst, op->dstlen));
		return rc == -EADDRNOTAVAIL || rc == -ENODEV ? 0 : rc;
	}
	return 0;
}

/* rt_undo_all: reverse everything, newest first. */
int
rt_undo_all(struct rt_undo *u)
{
	int failed = 0;

	while (u->n > 0)
		failed += rt_undo_one(&u->op[--u->n]) != 0;
	free(u->op);
	u->op = NULL;
	u->cap = 0;
	return failed;
}
