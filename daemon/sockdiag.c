/*
 * sockdiag.c: find the sockets that can take a flow to a cluster address
 * this node carries, with netlink sock_diag: TCP sockets in LISTEN and
 * bound UDP sockets, IPv4 and IPv6 (a dual-stack [::] socket counts for
 * IPv4).  A socket counts when it is bound to one of those addresses
 * (published with its index) or to the wildcard address, and not bound
 * to a device other than the global interface; a connected UDP socket is
 * published with its peer.  Loopback-only sockets do not match G and are
 * skipped.  The netlink socket is opened once and kept (a scan can run
 * every second: sockstat.c tells when); one that failed is closed and
 * opened afresh next time, so a half-read dump never meets the next one.
 */
#include "config.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/param.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "sockdiag.h"

struct sd_ctx {
	const struct pkt_g *g; /* the cluster addresses this node carries */
	int ifindex;
	uint8_t proto;
	struct shm_listen *out;
	struct conn_key *keys; /* sd_established's, instead of out */
	uint32_t n, max;
	int truncated;
};

static const uint8_t sd_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* sd_v6only: the INET_DIAG_SKV6ONLY attribute of a message. */
static int
sd_v6only(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct inet_diag_msg))
		if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY &&
		    mnl_attr_get_payload_len(a) >= 1)
			return *(const uint8_t *)mnl_attr_get_payload(a);
	return 0;
}

/* sd_g4: the index of a among the cluster addresses g, or -1. */
static int
sd_g4(const struct pkt_g *g, uint32_t a)
{
	int i;

	if (a == 0)
		return -1;
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if (g->g4[i] == a)
			return i;
	return -1;
}

/* sd_local4: the IPv4 view of a socket's local address: 1 wildcard,
 * 2 bound to a cluster address (its index in *aidx), 0 neither. */
static int
sd_local4(const struct inet_diag_msg *m, const struct pkt_g *g, int v6only,
    uint8_t *aidx)
{
	const uint8_t *a = (const uint8_t *)m->id.idiag_src;
	static const uint8_t zero[16];
	uint32_t a4;
	int i;

	if (m->idiag_family == AF_INET) {
		if ((a4 = m->id.idiag_src[0]) == 0)
			return 1;
	} else if (memcmp(a, zero, 16) == 0)
		return v6only ? 0 : 1;
	else if (memcmp(a, sd_v4mapped, 12) == 0)
		memcpy(&a4, a + 12, 4);
	else
		return 0;
	if ((i = sd_g4(g, a4)) < 0)
		return 0;
	*aidx = (uint8_t)i;
	return 2;
}

/* sd_same: do a and b publish the same listener (sockets of one port,
 * SO_REUSEPORT)? */
static int
sd_same(const struct shm_listen *a, const struct shm_listen *b)
{
	return a->family == b->family && a->proto == b->proto &&
	    a->port == b->port && a->rport == b->rport &&
	    ((a->flags ^ b->flags) & ~(SHM_LISTEN_FULL | SHM_LISTEN_FAILING)) ==
	    0 &&
	    memcmp(a->raddr, b->raddr, sizeof(a->raddr)) == 0;
}

/* sd_add: append, or merge into the same listener: its queues add up,
 * and it is full only when every socket of it is. */
static void
sd_add(struct sd_ctx *c, const struct shm_listen *l)
{
	struct shm_listen *e;
	uint32_t i;

	for (i = 0; i < c->n; i++) {
		e = &c->out[i];
		if (!sd_same(e, l))
			continue;
		e->qlen = (uint16_t)MIN(65535u, (uint32_t)e->qlen + l->qlen);
		e->qmax = (uint16_t)MIN(65535u, (uint32_t)e->qmax + l->qmax);
		if (!(l->flags & SHM_LISTEN_FULL))
			e->flags &= (uint8_t)~SHM_LISTEN_FULL;
		return;
	}
	if (c->n == c->max) {
		c->truncated = 1;
		return;
	}
	c->out[c->n++] = *l;
}

/* sd_queue: a TCP listener's accept queue: its length, its limit, and
 * whether it is full (the kernel drops the next handshake). */
static void
sd_queue(struct shm_listen *l, const struct inet_diag_msg *m)
{
	l->qlen = (uint16_t)MIN(65535u, m->idiag_rqueue);
	l->qmax = (uint16_t)MIN(65535u, m->idiag_wqueue);
	if (m->idiag_rqueue > m->idiag_wqueue)
		l->flags |= SHM_LISTEN_FULL;
}

/* sd_entry: the listener a socket gives for one family (4 or 6), bound
 * to the wildcard address (where 1) or to cluster address aidx (2). */
static void
sd_entry(struct sd_ctx *c, const struct inet_diag_msg *m, uint8_t family,
    int where, uint8_t aidx)
{
	struct shm_listen l;
	const uint8_t *ra = (const uint8_t *)m->id.idiag_dst;

	memset(&l, 0, sizeof(l));
	l.family = family;
	l.proto = c->proto;
	l.port = ntohs(m->id.idiag_sport);
	l.flags = where == 2 ?
	    (uint8_t)(SHM_LISTEN_SPECIFIC | aidx << SHM_LISTEN_AIDX_SHIFT) :
	    0;
	if (c->proto == IPPROTO_TCP)
		sd_queue(&l, m);
	if (c->proto == IPPROTO_UDP && m->id.idiag_dport != 0) {
		if (m->idiag_family == AF_INET6 && family == 4) {
			if (memcmp(ra, sd_v4mapped, 12) != 0)
				return; /* an IPv6 peer */
			ra += 12;
		} else if (m->idiag_family == AF_INET6 &&
		    memcmp(ra, sd_v4mapped, 12) == 0)
			return; /* an IPv4 peer */
		l.flags |= SHM_LISTEN_REMOTE;
		l.rport = ntohs(m->id.idiag_dport);
		memcpy(l.raddr, ra, family == 4 ? 4 : 16);
	}
	sd_add(c, &l);
}

/* sd_local6: the IPv6 view of an AF_INET6 socket: 1 wildcard, 2 G6. */
static int
sd_local6(const struct inet_diag_msg *m, const struct pkt_g *g)
{
	const uint8_t *a = (const uint8_t *)m->id.idiag_src;
	static const uint8_t zero[16];

	if (!g->has6)
		return 0;
	if (memcmp(a, zero, 16) == 0)
		return 1;
	return memcmp(a, g->g6, 16) == 0 ? 2 : 0;
}

/* sd_cb: one socket of the dump. */
static int
sd_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct sd_ctx *c = arg;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	int where, v6only;
	uint8_t aidx = 0;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	if (m->id.idiag_if != 0 && (int)m->id.idiag_if != c->ifindex)
		return MNL_CB_OK; /* bound to another device */
	if (m->id.idiag_sport == 0)
		return MNL_CB_OK;
	v6only = m->idiag_family == AF_INET6 ? sd_v6only(nlh) : 0;
	if ((where = sd_local4(m, c->g, v6only, &aidx)) != 0)
		sd_entry(c, m, 4, where, aidx);
	if (m->idiag_family == AF_INET6 && (where = sd_local6(m, c->g)) != 0)
		sd_entry(c, m, 6, where, 0);
	return MNL_CB_OK;
}

/* sd_served: a TCP socket of a connection this node serves (its local
 * address a cluster address it carries, or G6) as the flow's key; 0 if
 * it is none. */
static int
sd_served(const struct sd_ctx *c, const struct inet_diag_msg *m,
    struct conn_key *k)
{
	const uint8_t *src = (const uint8_t *)m->id.idiag_src,
		      *dst = (const uint8_t *)m->id.idiag_dst;
	int v4 = m->idiag_family == AF_INET, i;
	uint32_t a4;

	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	k->lport = ntohs(m->id.idiag_sport);
	k->fport = ntohs(m->id.idiag_dport);
	if (v4 || memcmp(src, sd_v4mapped, 12) == 0) {
		memcpy(&a4, v4 ? src : src + 12, 4);
		if ((i = sd_g4(c->g, a4)) < 0)
			return 0;
		k->family = 4;
		k->aidx = (uint8_t)i;
		memcpy(k->faddr, v4 ? dst : dst + 12, 4);
	} else if (c->g->has6 && memcmp(src, c->g->g6, 16) == 0) {
		k->family = 6;
		memcpy(k->faddr, dst, 16);
	}
	return k->family != 0;
}

/* sd_cb_served: one socket of an established dump. */
static int
sd_cb_served(const struct nlmsghdr *nlh, void *arg)
{
	struct sd_ctx *c = arg;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	if (c->n == c->max)
		c->truncated = 1;
	else if (sd_served(c, m, &c->keys[c->n]))
		c->n++;
	return MNL_CB_OK;
}

/* sd_dump: one sock_diag dump of (family, proto): the listeners, or
 * with c->keys the connections this node serves. */
static int
sd_dump(struct sd_sock *s, struct sd_ctx *c, uint8_t family, uint8_t proto)
{
	struct mnl_socket *nl = s->nl;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	unsigned int seq, portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	seq = nlh->nlmsg_seq = ++s->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	req->idiag_states = c->keys != NULL ?
	    (1u << TCP_ESTABLISHED) | (1u << TCP_CLOSE_WAIT) |
		(1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) :
	    proto == IPPROTO_TCP ?
	    (1u << TCP_LISTEN) :
	    ((1u << TCP_CLOSE) | (1u << TCP_ESTABLISHED));
	c->proto = proto;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, portid,
		    c->keys != NULL ? sd_cb_served : sd_cb, c);
		if (rc == MNL_CB_ERROR)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
	return n < 0 ? -errno : 0;
}

/* sd_open: the kept socket, opened if need be; -errno. */
static int
sd_open(struct sd_sock *s)
{
	int rc;

	if (s->nl != NULL)
		return 0;
	if ((s->nl = mnl_socket_open(NETLINK_SOCK_DIAG)) == NULL)
		return -errno;
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		sd_close(s);
		return rc;
	}
	s->seq = (unsigned int)time(NULL);
	return 0;
}

/* sd_close: close the kept socket (at exit, or after a failed dump). */
void
sd_close(struct sd_sock *s)
{
	if (s->nl != NULL)
		mnl_socket_close(s->nl);
	s->nl = NULL;
}

/* sd_scan: every socket of this network namespace that can serve G. */
int
sd_scan(struct sd_sock *s, const struct pkt_g *g, int ifindex,
    struct shm_listen *out, uint32_t max, uint32_t *count, int *truncated)
{
	static const uint8_t fams[2] = { AF_INET, AF_INET6 };
	static const uint8_t protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	struct sd_ctx c = {
		.g = g, .ifindex = ifindex, .out = out, .max = max
	};
	int i, j, rc;

	if ((rc = sd_open(s)) != 0)
		return rc;
	for (i = 0; i < 2 && rc == 0; i++)
		for (j = 0; j < 2 && rc == 0; j++)
			rc = sd_dump(s, &c, fams[i], protos[j]);
	if (rc != 0)
		sd_close(s);
	*count = c.n;
	*truncated = c.truncated;
	return rc;
}

/* sd_established: the TCP connections of this namespace whose local
 * address is G or G6: those this node serves. */
int
sd_established(struct sd_sock *s, const struct pkt_g *g, struct conn_key *out,
    uint32_t max, uint32_t *count, int *truncated)
{
	static const uint8_t fams[2] = { AF_INET, AF_INET6 };
	struct sd_ctx c = { .g = g, .keys = out, .max = max };
	int i, rc;

	if ((rc = sd_open(s)) != 0)
		return rc;
	for (i = 0; i < 2 && rc == 0; i++)
		rc = sd_dump(s, &c, fams[i], IPPROTO_TCP);
	if (rc != 0)
		sd_close(s);
	*count = c.n;
	*truncated = c.truncated;
	return rc;
}
