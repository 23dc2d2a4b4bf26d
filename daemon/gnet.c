/*
 * gnet.c: where a frame of the global network goes.  Run by the global
 * network's tx thread for every frame read from the global TAP.
 *
 * A frame to G is a client's: its flow is looked up in the shared
 * connection table; a new flow (a TCP SYN, a UDP datagram, an ICMP echo)
 * gets a serving node from the published listeners and is recorded with
 * this node as its ingress.  A frame from G is a server's reply: it goes
 * back to the flow's ingress node, so that gateways see both directions.
 * Whatever has no flow and no listener is handed to this node's own stack,
 * which answers as a host without that service would (RST, ICMP port
 * unreachable).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shmnetd.h"

#define GNET_RESCAN_MS	100	/* ask for listener rescans at most this often */

/* gnet_timeouts: the configured idle timeouts. */
static struct conn_timeouts
gnet_timeouts(const struct daemon *d)
{
	struct conn_timeouts t = { d->conf.g.syn_timeout, d->conf.g.est_timeout,
	    d->conf.g.closing_timeout, d->conf.g.udp_timeout };

	return t;
}

/* gnet_no_listener: count it and ask every node to look again (rate
 * limited): a server may have started since the last scan. */
static void
gnet_no_listener(struct dnet *dn)
{
	uint64_t now = clock_ms();

	stat_add(&dn->stats->no_listener, 1);
	if (now - dn->last_rescan >= GNET_RESCAN_MS) {
		dn->last_rescan = now;
		daemon_notify(dn->d, NOTIFY_RESCAN_ALL);
	}
}

/* gnet_new_flow: choose and record the serving node of a new flow. */
static uint32_t
gnet_new_flow(struct dnet *dn, struct pkt_info *pi, uint32_t now)
{
	struct daemon *d = dn->d;
	struct conn_timeouts t = gnet_timeouts(d);
	struct shm_conn c, *e;
	uint32_t node;
	int rc;

	if (pi->echo)
		node = d->self;		/* any node answers a ping to G */
	else if (listen_pick(d->seg, &pi->key, &node) != 0) {
		gnet_no_listener(dn);
		return d->self;
	}
	rc = conn_insert(d->seg, d->self, &pi->key, (uint16_t)node,
	    (uint16_t)d->self, pi->key.proto == IPPROTO_TCP ? SHM_CONN_SYN :
	    SHM_CONN_UDP, now, &t, &c, &e);
	if (rc < 0) {
		if (!dn->warned_full++)
			log_warnx("%s: connection table full (bucket of %u "
			    "entries); new flows are balanced but not pinned",
			    dn->name, SHM_CONN_PER_BUCKET);
		return node;
	}
	conn_touch(e, now, pi->l3len, pi->tcpflags, 1);
	return c.node;		/* another ingress may have recorded it first */
}

/* gnet_init: the fragment cache of the global tx thread. */
int
gnet_init(struct dnet *dn)
{
	dn->frags = calloc(GNET_FRAGS, sizeof(*dn->frags));
	return dn->frags == NULL ? -ENOMEM : 0;
}

void
gnet_free(struct dnet *dn)
{
	free(dn->frags);
	dn->frags = NULL;
}

/* gnet_frag_ids: a datagram's addresses and id, for either family. */
static void
gnet_frag_ids(const struct pkt_info *pi, const uint8_t **src,
    const uint8_t **dst, uint32_t *id, size_t *alen)
{
	if (pi->key.family == 6) {
		*src = pi->src6;
		*dst = pi->dst6;
		*id = pi->frag_id;
		*alen = 16;
	} else {
		*src = pi->src4;
		*dst = pi->dst4;
		*id = pi->ip_id;
		*alen = 4;
	}
}

/* gnet_frag_slot: the cache slot of a datagram. */
static struct gnet_frag *
gnet_frag_slot(struct dnet *dn, const struct pkt_info *pi)
{
	const uint8_t *src, *dst;
	uint32_t id, h = 2166136261u;
	size_t alen, i;

	gnet_frag_ids(pi, &src, &dst, &id, &alen);
	for (i = 0; i < alen; i++)
		h = (h ^ src[i] ^ ((uint32_t)dst[i] << 8)) * 16777619u;
	h ^= id * 2654435761u ^ pi->key.proto;
	return &dn->frags[(h ^ (h >> 16)) % GNET_FRAGS];
}

/* gnet_frag_same: does a slot describe this datagram? */
static int
gnet_frag_same(const struct gnet_frag *f, const struct pkt_info *pi)
{
	const uint8_t *src, *dst;
	uint32_t id;
	size_t alen;

	gnet_frag_ids(pi, &src, &dst, &id, &alen);
	return f->used && f->family == pi->key.family && f->id == id &&
	    f->proto == pi->key.proto && memcmp(f->src, src, alen) == 0 &&
	    memcmp(f->dst, dst, alen) == 0;
}

/* gnet_frag_note: remember where a first fragment went. */
static uint32_t
gnet_frag_note(struct dnet *dn, const struct pkt_info *pi, uint32_t node)
{
	struct gnet_frag *f;
	const uint8_t *src, *dst;
	uint32_t id;
	size_t alen;

	if (pi->frag != PKT_FRAG_FIRST || node == 0 || dn->frags == NULL)
		return node;
	f = gnet_frag_slot(dn, pi);
	gnet_frag_ids(pi, &src, &dst, &id, &alen);
	memset(f, 0, sizeof(*f));
	memcpy(f->src, src, alen);
	memcpy(f->dst, dst, alen);
	f->id = id;
	f->proto = pi->key.proto;
	f->family = pi->key.family;
	f->node = node;
	f->expires = clock_ms() + GNET_FRAG_MS;
	f->used = 1;
	return node;
}

/* gnet_frag_follow: where a later fragment goes (0: first not seen). */
static uint32_t
gnet_frag_follow(struct dnet *dn, const struct pkt_info *pi)
{
	struct gnet_frag *f;

	if (dn->frags == NULL)
		return 0;
	f = gnet_frag_slot(dn, pi);
	if (!gnet_frag_same(f, pi) || clock_ms() > f->expires)
		return 0;
	return f->node;
}

/* gnet_route: the node a frame goes to (this node included), 0 to drop. */
uint32_t
gnet_route(struct dnet *dn, const uint8_t *frame, uint32_t len)
{
	struct daemon *d = dn->d;
	struct shm_conn c, *e;
	struct pkt_info pi;
	uint32_t now = conn_now(), node;
	int tcp_open;

	if (pkt_parse2(frame, len, &d->g, &pi) != 0) {
		stat_add(&dn->stats->unrouted, 1);
		return 0;
	}
	if (pi.frag == PKT_FRAG_LATER) {
		if ((node = gnet_frag_follow(dn, &pi)) == 0)
			stat_add(&dn->stats->unrouted, 1);
		return node;
	}
	if (conn_lookup(d->seg, &pi.key, &c, &e)) {
		conn_touch(e, now, pi.l3len, pi.tcpflags, pi.dir == PKT_TO_G);
		return gnet_frag_note(dn, &pi, pi.dir == PKT_TO_G ? c.node :
		    c.ingress);
	}
	if (pi.dir == PKT_FROM_G || pi.icmp_error)
		return gnet_frag_note(dn, &pi, d->self);
	tcp_open = (pi.tcpflags & (CONN_TCP_SYN | CONN_TCP_ACK | CONN_TCP_RST)) ==
	    CONN_TCP_SYN;
	if (pi.key.proto == IPPROTO_TCP && !tcp_open)
		return d->self;		/* no such connection: our stack RSTs */
	return gnet_frag_note(dn, &pi, gnet_new_flow(dn, &pi, now));
}

/* gnet_macs: address a frame to node id's global interface. */
void
gnet_macs(struct dnet *dn, uint8_t *frame, uint32_t id)
{
	frame_node_mac(SHM_NET_GLOBAL, id, frame);
	frame_node_mac(SHM_NET_GLOBAL, dn->d->self, frame + 6);
}

/* gnet_gc: collect the expired flows that entered here. */
uint32_t
gnet_gc(struct daemon *d)
{
	struct conn_timeouts t = gnet_timeouts(d);

	return conn_gc(d->seg, d->self, (uint16_t)d->self, conn_now(), &t);
}
