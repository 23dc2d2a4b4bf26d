/*
 * gnet.c: where a frame of the global network goes.  Run by the global
 * network's tx thread for every frame read from the global TAP.
 *
 * G is any of the cluster's addresses (each carried by the nodes
 * configured with it; the flow key names it by its index), or G6.  The
 * addresses are read from the segment's table, again whenever it grows.
 * A frame to G is a client's: its flow is looked up in the shared
 * connection table; a new flow (a TCP SYN, a UDP datagram, an ICMP echo)
 * gets a serving node from the published listeners of the nodes that
 * carry G (a ping: this node, or another that carries G) and is recorded
 * with this node as its ingress.  A frame from G is a server's reply: it goes
 * back to the flow's ingress node, so that gateways see both directions.
 * Only the flow's serving node forwards its replies, and only its ingress
 * node its client's packets: another node's packets of the flow (a socket
 * bound to G there, a forged RST) are dropped and counted as foreign.
 * A flow the table cannot record (full of flows that must stay, as under a
 * SYN flood) goes by its hash to a listening node, its answers out by a
 * gateway, and is recorded by its first packet after the SYN, which may
 * push out an embryonic flow.  Whatever has no flow and no listener is
 * handed to this node's own stack, which answers as a host without that
 * service would (RST, ICMP port unreachable), when it carries G; a node
 * that does not drops it.
 *
 * Egress: a node with [global] egress (no gateway itself) reaches the
 * outside through the gateways.  A flow it opens from G (a TCP SYN, a UDP
 * datagram, a ping) is recorded as one it serves, SHM_CONN_EGRESS,
 * entering by the up gateway its hash picks, and sent there; the
 * gateway's stack forwards it out, and the outside's answers, to G at
 * any gateway, find the flow in the table as a client's packets do.  A
 * flow another node has already is never taken: its opening packet is
 * dropped and counted.  From the node's client address instead (egress-
 * source = node) nothing is recorded: its packets go to a gateway by
 * their hash, and a gateway sends what comes back to a client address
 * to the node the address names.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "gnet.h"
#include "notify.h"
#include "shmnetd.h"

#define GNET_RESCAN_MS 100  /* ask for listener rescans at most this often */
#define GNET_FRAGS     1024 /* first fragments remembered */
#define GNET_FRAG_MS   2000 /* ... for this long */

/* Where the first fragment of a datagram went, so that the later ones
 * (which carry no ports) follow it.  All fragments of a datagram reach
 * the same ingress node, so each tx thread keeps its own. */
struct gnet_frag {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
	uint8_t family;
	uint8_t used;
	uint32_t node;
	uint64_t expires; /* monotonic ms */
};

/* The global tx thread's routing state; the main thread reads only the
 * fields set by gnet_new (gnet_gc) and the timeouts. */
struct gnet {
	struct shmseg *seg;
	struct shm_node_stats *stats;
	const struct notify *notify;
	uint32_t self, max_nodes;
	int gateway;            /* outside traffic enters here */
	int egress;             /* this node reaches the outside by gateways */
	uint32_t port_lo;       /* egress from G: this node's share of */
	uint32_t port_hi;       /* egress-ports (0: any port) */
	uint32_t cnet4, cmask4; /* client network, network order */
	uint8_t cnet6[16];      /* client network 6 */
	uint32_t cprefix6;
	uint32_t lnet4, lmask4; /* local network */
	struct pkt_g own;       /* the cluster addresses this node carries */
	uint32_t carried;       /* ... by index */
	struct pkt_g g;         /* every cluster address, and G6 */
	uint32_t gseen;         /* the first index g found empty */
	/* idle timeouts by state, seconds: main writes them (gnet_new, and
	 * gnet_set_timeouts on reload), tx and main read them for each use
	 * (gnet_timeouts); relaxed: each is a value on its own, and a flow
	 * judged by the old timeouts as they change is judged rightly */
	_Atomic uint32_t t_syn, t_est, t_closing, t_udp;
	const char *name;
	struct gnet_frag *frags; /* GNET_FRAGS entries */
	uint64_t last_rescan;    /* ms of last request */
	uint32_t warned_full;    /* table-full warnings */
	uint32_t warned_busy;    /* bucket-locked warnings */
	uint32_t warned_foreign; /* other nodes' flows dropped */
	uint32_t warned_no_gw;   /* egress: no gateway up */
	uint32_t warned_taken;   /* egress: another node's flow */
	uint32_t warned_port;    /* egress: a port not this node's */
	uint32_t warned_no_room; /* egress: table full */
};

/* gnet_carried: the cluster addresses this node carries, at the indexes
 * its start found them (ho->gidx), and G6. */
void
gnet_carried(const struct handoff *ho, const struct conf *c, struct pkt_g *g)
{
	uint32_t i;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < c->g.addrs.n && i < CONF_GADDR_MAX; i++)
		if ((ho->gaddrs >> ho->gidx[i]) & 1)
			g->g4[ho->gidx[i]] = c->g.addrs.a[i];
	g->has6 = conf_has_g6(c);
	memcpy(g->g6, c->g.addr6, 16);
}

/* gnet_addrs: every cluster address from the segment's table (those
 * that lie in the local or the client network left out: a peer wrote
 * them, and they name nodes), this node's own at the indexes it took. */
static void
gnet_addrs(struct gnet *gn)
{
	uint32_t t[SHM_GADDR_MAX], mask, i;

	mask = gaddr_read(gn->seg, t, &gn->gseen);
	for (i = 0; i < SHM_GADDR_MAX; i++) {
		gn->g.g4[i] = gn->own.g4[i];
		if (gn->own.g4[i] == 0 && ((mask >> i) & 1) &&
		    (t[i] & gn->cmask4) != gn->cnet4 &&
		    (t[i] & gn->lmask4) != gn->lnet4)
			gn->g.g4[i] = t[i];
	}
}

/* gnet_new: the routing state of the global network's tx thread. */
struct gnet *
gnet_new(const struct handoff *ho, const struct netif *ni, const struct conf *c)
{
	struct gnet *gn;

	if ((gn = calloc(1, sizeof(*gn))) == NULL)
		return NULL;
	if ((gn->frags = calloc(GNET_FRAGS, sizeof(*gn->frags))) == NULL) {
		free(gn);
		return NULL;
	}
	gn->seg = ho->seg;
	gn->self = ho->self;
	gn->max_nodes = ho->max_nodes;
	gn->notify = &ho->notify;
	gn->stats = ni->stats;
	gn->name = ni->name;
	gn->gateway = c->g.gateway[0] != '\0';
	gn->egress = conf_egress(c);
	if (gn->egress && c->g.egress_source == CONF_EGRESS_GLOBAL &&
	    conf_egress_ports(c, ho->max_nodes, ho->self, &gn->port_lo,
		&gn->port_hi) != 0)
		gn->port_lo = gn->port_hi = 0;
	gn->cnet4 = c->g.client_net;
	gn->cmask4 = htonl(~0u << (32 - c->g.client_prefix));
	memcpy(gn->cnet6, c->g.client6, 16);
	gn->cprefix6 = c->g.client6_prefix;
	gn->lmask4 = htonl(~0u << (32 - c->local.prefix));
	gn->lnet4 = conf_local_addr(c, ho->self) & gn->lmask4;
	gnet_carried(ho, c, &gn->own);
	gn->carried = ho->gaddrs;
	gn->g = gn->own;
	if (gn->seg != NULL) /* NULL: timeouts only (reload's tests) */
		gnet_addrs(gn);
	gnet_set_timeouts(gn, c);
	return gn;
}

/* gnet_set_timeouts: the idle timeouts of c from now on (main thread). */
void
gnet_set_timeouts(struct gnet *gn, const struct conf *c)
{
	atomic_store_explicit(&gn->t_syn, c->g.syn_timeout,
	    memory_order_relaxed);
	atomic_store_explicit(&gn->t_est, c->g.est_timeout,
	    memory_order_relaxed);
	atomic_store_explicit(&gn->t_closing, c->g.closing_timeout,
	    memory_order_relaxed);
	atomic_store_explicit(&gn->t_udp, c->g.udp_timeout,
	    memory_order_relaxed);
}

/* gnet_timeouts: the idle timeouts in effect. */
void
gnet_timeouts(const struct gnet *gn, struct conn_timeouts *t)
{
	t->syn = atomic_load_explicit(&gn->t_syn, memory_order_relaxed);
	t->established = atomic_load_explicit(&gn->t_est, memory_order_relaxed);
	t->closing = atomic_load_explicit(&gn->t_closing, memory_order_relaxed);
	t->udp = atomic_load_explicit(&gn->t_udp, memory_order_relaxed);
}

/* gnet_free: undo gnet_new. */
void
gnet_free(struct gnet *gn)
{
	if (gn == NULL)
		return;
	free(gn->frags);
	free(gn);
}

/* gnet_no_listener: count it and ask every node to look again (rate
 * limited): a server may have started since the last scan. */
static void
gnet_no_listener(struct gnet *gn)
{
	uint64_t now = clock_ms();

	stat_add(&gn->stats->no_listener, 1);
	if (now - gn->last_rescan >= GNET_RESCAN_MS) {
		gn->last_rescan = now;
		notify_send(gn->notify, NOTIFY_RESCAN_ALL);
	}
}

/* gnet_bound: a node id read from the shared connection table, or 0
 * (dropped, counted as unrouted) when it names no node of the segment. */
static uint32_t
gnet_bound(struct gnet *gn, uint32_t id)
{
	if (id >= 1 && id <= gn->max_nodes)
		return id;
	stat_add(&gn->stats->unrouted, 1);
	return 0;
}

/* GNET_OUTSIDE: gnet_client's answer for an address outside the client
 * networks (a client that comes in by a gateway). */
#define GNET_OUTSIDE UINT32_MAX

/* gnet_client_of: the node whose client address a (of family 4 or 6)
 * is, GNET_OUTSIDE when it lies outside the client networks, 0 when it
 * lies inside and names no node of the segment. */
static uint32_t
gnet_client_of(const struct gnet *gn, uint8_t family, const uint8_t *a)
{
	uint32_t a4, id, i;

	if (family == 4) {
		memcpy(&a4, a, 4);
		if ((a4 & gn->cmask4) != gn->cnet4)
			return GNET_OUTSIDE;
		id = ntohl(a4 & ~gn->cmask4);
	} else {
		for (i = 0; i < gn->cprefix6; i++)
			if ((a[i / 8] ^ gn->cnet6[i / 8]) & (0x80 >> (i % 8)))
				return GNET_OUTSIDE;
		for (i = gn->cprefix6 / 8; i < 14; i++)
			if (a[i] != gn->cnet6[i])
				return 0;
		id = (uint32_t)a[14] << 8 | a[15];
	}
	return id >= 1 && id <= gn->max_nodes ? id : 0;
}

/* gnet_client: gnet_client_of the flow's foreign address. */
static uint32_t
gnet_client(const struct gnet *gn, const struct pkt_info *pi)
{
	return gnet_client_of(gn, pi->key.family, pi->key.faddr);
}

/* gnet_foreign: drop a packet this node may not forward: count it, say
 * so once. */
static int
gnet_foreign(struct gnet *gn, const struct pkt_info *pi, const char *why)
{
	stat_add(&gn->stats->foreign, 1);
	if (!gn->warned_foreign++)
		log_warnx("%s: dropped a packet %s %s", gn->name,
		    pi->dir == PKT_TO_G       ? "to G" :
			pi->dir == PKT_FROM_G ? "from G" :
						"of a client address",
		    why);
	return 0;
}

/* gnet_client_ok: may this node send a client's packet to G?  Only from
 * its own client address, or, on a gateway, from outside the client
 * networks: no node can speak for another node's clients, or (unless it
 * carries outside traffic in) for outside ones.  *client: gnet_client's
 * answer. */
static int
gnet_client_ok(struct gnet *gn, const struct pkt_info *pi, uint32_t *client)
{
	uint32_t node = *client = gnet_client(gn, pi);

	if (node == gn->self || (node == GNET_OUTSIDE && gn->gateway))
		return 1;
	return gnet_foreign(gn, pi,
	    node == GNET_OUTSIDE ? "from outside on a node that is no gateway" :
				   "from another node's client address");
}

/* gnet_unrecorded: where a flow goes that the table could not record
 * (both buckets full, or one kept by a node that does not run): to the
 * node its hash picks among those listening, so that every packet of it
 * reaches the same node until one of them is recorded (gnet_late_flow).
 * An echo stays with the node given. */
static uint32_t
gnet_unrecorded(struct gnet *gn, const struct pkt_info *pi, int rc,
    uint32_t node)
{
	if (rc == -EBUSY && !gn->warned_busy++)
		log_warnx("%s: a connection bucket is locked by a node that "
			  "does not run (stopped?); its new flows go by "
			  "their hash",
		    gn->name);
	if (rc != -EBUSY && !gn->warned_full++)
		log_warnx("%s: connection table full (both buckets of a flow "
			  "hold flows that must stay); new flows go by their "
			  "hash until their handshake completes",
		    gn->name);
	if (!pi->echo)
		listen_pick_by(gn->seg, &pi->key, conn_hash(gn->seg, &pi->key),
		    &node);
	return node;
}

/* gnet_record: record flow pi, served by node, in state st; the node
 * its packets go to. */
static uint32_t
gnet_record(struct gnet *gn, struct pkt_info *pi, uint32_t node, uint16_t st,
    uint32_t now)
{
	struct conn_timeouts t;
	struct shm_conn c, *e;
	int rc;

	gnet_timeouts(gn, &t);
	rc = conn_insert(gn->seg, gn->self, &pi->key, (uint16_t)node,
	    (uint16_t)gn->self, st, now, &t, &c, &e);
	if (rc < 0)
		return gnet_unrecorded(gn, pi, rc, node);
	conn_account(e, c.seq, now, pi->l3len, pi->tcpflags, 1);
	/* another ingress may have recorded it first */
	return gnet_bound(gn, c.node);
}

/* gnet_carries: does this node carry the cluster address of flow k
 * (G6: every node does)? */
static int
gnet_carries(const struct gnet *gn, const struct conn_key *k)
{
	return k->family == 6 ||
	    (k->aidx < SHM_GADDR_MAX && ((gn->carried >> k->aidx) & 1));
}

/* gnet_own_stack: a client's packet this node's own stack answers as a
 * host without the service would (RST, port unreachable): when it
 * carries the address; else none does (dropped, counted unrouted). */
static uint32_t
gnet_own_stack(struct gnet *gn, const struct pkt_info *pi)
{
	if (gnet_carries(gn, &pi->key))
		return gn->self;
	stat_add(&gn->stats->unrouted, 1);
	return 0;
}

/* gnet_new_flow: choose and record the serving node of a new flow. */
static uint32_t
gnet_new_flow(struct gnet *gn, struct pkt_info *pi, uint32_t now)
{
	uint32_t node;

	if (pi->echo) {
		/* any node that carries the address answers a ping to it */
		node = gn->self;
		if (!gnet_carries(gn, &pi->key) &&
		    gaddr_pick(gn->seg, pi->key.aidx,
			conn_hash(gn->seg, &pi->key), &node) != 0)
			return gnet_own_stack(gn, pi);
	} else if (listen_pick(gn->seg, &pi->key, &node) != 0) {
		gnet_no_listener(gn);
		return gnet_own_stack(gn, pi);
	}
	return gnet_record(gn, pi, node,
	    pi->key.proto == IPPROTO_TCP ? SHM_CONN_SYN :
		pi->echo                 ? SHM_CONN_UDP | SHM_CONN_ECHO :
					   SHM_CONN_UDP,
	    now);
}

/* gnet_late_flow: a client's TCP segment, not a SYN, of no recorded
 * flow: one whose SYN the table could not record (it went by its hash),
 * or one forgotten.  It goes where the hash says and is recorded now,
 * as an established flow that may take an embryonic one's place: this
 * is how real clients get in while spoofed SYNs fill the table.  A node
 * with no such connection resets it.  A RST of no flow goes to our own
 * stack, which ignores it. */
static uint32_t
gnet_late_flow(struct gnet *gn, struct pkt_info *pi, uint32_t now)
{
	uint32_t node;

	if ((pi->tcpflags & CONN_TCP_RST) ||
	    listen_pick_by(gn->seg, &pi->key, conn_hash(gn->seg, &pi->key),
		&node) != 0)
		return gnet_own_stack(gn, pi); /* it answers: RST */
	return gnet_record(gn, pi, node, SHM_CONN_EST, now);
}

/* gnet_up: is node id up? */
static int
gnet_up(const struct gnet *gn, uint32_t id)
{
	return atomic_load_explicit(&shmseg_node(gn->seg, id)->state,
		   memory_order_acquire) == SHM_NODE_UP;
}

/* gnet_way_out: the node through which an answer reaches client (a
 * node id, or GNET_OUTSIDE): the client's node when it is inside the
 * cluster and up; for an outside client this node if it is a gateway,
 * else an up gateway chosen by hash h; 0 when there is none. */
static uint32_t
gnet_way_out(const struct gnet *gn, uint32_t client, uint64_t h)
{
	uint32_t gw[SHM_NODES_MAX], n = 0, id;

	if (client != GNET_OUTSIDE)
		return client != 0 && gnet_up(gn, client) ? client : 0;
	if (gn->gateway)
		return gn->self;
	for (id = 1; id <= gn->max_nodes; id++)
		if (id != gn->self && gnet_up(gn, id) &&
		    (shmseg_node(gn->seg, id)->flags & SHM_NODE_F_GATEWAY))
			gw[n++] = id;
	return n == 0 ? 0 : gw[(uint32_t)h % n];
}

/* gnet_reply_way: where a server's packet of recorded flow c goes: to
 * the node it entered by, while that one is up; else the flow is
 * re-homed to the way out to its client (another gateway, for an outside
 * client), which takes both directions over.  0: no way (dropped). */
static uint32_t
gnet_reply_way(struct gnet *gn, const struct pkt_info *pi,
    const struct shm_conn *c)
{
	uint32_t out;

	if (c->ingress >= 1 && c->ingress <= gn->max_nodes &&
	    gnet_up(gn, c->ingress))
		return c->ingress;
	out = gnet_way_out(gn, gnet_client(gn, pi),
	    conn_hash(gn->seg, &pi->key));
	if (out != 0)
		(void)conn_rehome(gn->seg, gn->self, &pi->key, c->ingress,
		    (uint16_t)out);
	return gnet_bound(gn, out);
}

/* gnet_inbound: is pi a packet of flow c's client: one to G, or from G
 * in a flow this node opened to the outside? */
static int
gnet_inbound(const struct pkt_info *pi, const struct shm_conn *c)
{
	uint16_t f = atomic_load_explicit(&c->stflags, memory_order_relaxed);

	return (pi->dir == PKT_TO_G) != ((f & SHM_CONN_EGRESS) != 0);
}

/* gnet_tcp_open: a TCP SYN without ACK or RST: a client opens. */
static int
gnet_tcp_open(const struct pkt_info *pi)
{
	return pi->key.proto == IPPROTO_TCP &&
	    (pi->tcpflags & (CONN_TCP_SYN | CONN_TCP_ACK | CONN_TCP_RST)) ==
	    CONN_TCP_SYN;
}

/* gnet_opens: does a packet from G open a flow (a TCP SYN, a UDP
 * datagram of no flow, a ping)? */
static int
gnet_opens(const struct pkt_info *pi)
{
	if (pi->echo)
		return pi->echo == PKT_ECHO_REQUEST;
	return gnet_tcp_open(pi) || pi->key.proto == IPPROTO_UDP;
}

/* gnet_egress_out: is pi a packet from G to the outside on a node that
 * reaches the outside through the gateways? */
static int
gnet_egress_out(const struct gnet *gn, const struct pkt_info *pi)
{
	return gn->egress && pi->dir == PKT_FROM_G &&
	    gnet_client(gn, pi) == GNET_OUTSIDE;
}

/* gnet_egress_way: the up gateway a packet to the outside leaves by,
 * chosen by its flow's hash h; 0 (dropped, counted) when none is up. */
static uint32_t
gnet_egress_way(struct gnet *gn, uint64_t h)
{
	uint32_t out = gnet_way_out(gn, GNET_OUTSIDE, h);

	if (out != 0)
		return out;
	stat_add(&gn->stats->egress_no_gateway, 1);
	if (!gn->warned_no_gw++)
		log_warnx("%s: dropped a packet to the outside: no gateway is "
			  "up",
		    gn->name);
	return 0;
}

/* gnet_egress_taken: drop a packet that would open a flow to the
 * outside that another node has (its ephemeral ports overlap this
 * node's, or a server's flow has the same ports): count it, say so
 * once. */
static int
gnet_egress_taken(struct gnet *gn, const struct pkt_info *pi,
    const struct shm_conn *c)
{
	stat_add(&gn->stats->egress_collided, 1);
	if (!gn->warned_taken++)
		log_warnx("%s: dropped a packet opening a flow from port %u of "
			  "G to the outside: node %u has that flow (do the "
			  "nodes' egress-ports agree?)",
		    gn->name, pi->key.lport, (unsigned int)c->node);
	return 0;
}

/* gnet_egress_mine: may this node open flow pi from G to the outside?
 * Not on a port another node serves (its listener matches the flow: the
 * outside's packets of it are that node's), nor, with egress from G, on
 * a port outside this node's share of egress-ports that it does not
 * serve itself (another node's ephemeral port): a socket of this node
 * must not take another node's clients or connections.  Counted and said
 * once when not. */
static int
gnet_egress_mine(struct gnet *gn, const struct pkt_info *pi)
{
	uint32_t other;
	int mine = listen_serves(gn->seg, gn->self, &pi->key, &other);

	if (other == 0 &&
	    (mine || gn->port_lo == 0 ||
		(pi->key.lport >= gn->port_lo && pi->key.lport <= gn->port_hi)))
		return 1;
	stat_add(&gn->stats->egress_collided, 1);
	if (!gn->warned_port++)
		log_warnx("%s: dropped a packet from port %u of G to the "
			  "outside: %s",
		    gn->name, pi->key.lport,
		    other != 0 ? "another node serves that port" :
				 "outside this node's share of egress-ports");
	return 0;
}

/* gnet_egress: record flow pi, which this node opens from G to the
 * outside (h: its hash), as one it serves entering by the gateway the
 * hash picks, and the gateway it goes to.  0: dropped, counted (no
 * gateway up, another node has the flow), or, with *full set, not
 * recorded for want of room (its answers would find no flow). */
static uint32_t
gnet_egress(struct gnet *gn, struct pkt_info *pi, uint64_t h, uint32_t now,
    int *full)
{
	struct conn_timeouts t;
	struct shm_conn c, *e;
	uint32_t out;
	uint16_t st;
	int rc;

	*full = 0;
	if ((!pi->echo && !gnet_egress_mine(gn, pi)) ||
	    (out = gnet_egress_way(gn, h)) == 0)
		return 0;
	if (pi->echo)
		st = SHM_CONN_UDP | SHM_CONN_ECHO;
	else if (pi->key.proto == IPPROTO_UDP)
		st = SHM_CONN_UDP;
	else /* a flow the table forgot while it idled goes on */
		st = gnet_tcp_open(pi) ? SHM_CONN_SYN : SHM_CONN_EST;
	gnet_timeouts(gn, &t);
	rc = conn_insert(gn->seg, gn->self, &pi->key, (uint16_t)gn->self,
	    (uint16_t)out, st | SHM_CONN_EGRESS, now, &t, &c, &e);
	if (rc < 0) {
		if (!gn->warned_no_room++)
			log_warnx("%s: a flow to the outside found no room in "
				  "the connection table (%s)",
			    gn->name,
			    rc == -EBUSY ? "a bucket is locked by a node that "
					   "does not run" :
					   "both its buckets are full");
		*full = 1;
		return 0;
	}
	if (c.node != gn->self) { /* another node recorded it first */
		gnet_egress_taken(gn, pi, &c);
		return 0;
	}
	conn_account(e, c.seq, now, pi->l3len, pi->tcpflags,
	    gnet_inbound(pi, &c));
	if (rc == 0) /* an answer came first and recorded it for us */
		return gnet_reply_way(gn, pi, &c);
	stat_add(&gn->stats->egress_flows, 1);
	return out;
}

/* gnet_orphan_reply: where a packet from G of no recorded flow goes.
 * The answer of a flow that went by its hash (gnet_unrecorded), from
 * the node the hash picks to serve it, goes to its client (gnet_way_out;
 * this node's own stack when there is no way).  On a node with egress, a
 * packet to the outside that opens a flow, or goes on with one the table
 * forgot (a TCP segment, not a SYN-ACK or RST, that is no such answer),
 * is an egress flow (gnet_egress).  Anything else goes to this node's
 * own stack. */
static uint32_t
gnet_orphan_reply(struct gnet *gn, struct pkt_info *pi, uint32_t now)
{
	uint32_t node, client, out;
	int hashed, egress, full = 0;
	uint64_t h;

	egress = gnet_egress_out(gn, pi) &&
	    (gnet_opens(pi) ||
		(pi->key.proto == IPPROTO_TCP &&
		    !(pi->tcpflags & (CONN_TCP_RST | CONN_TCP_SYN))));
	if (pi->echo && !egress)
		return gn->self;
	client = gnet_client(gn, pi);
	if (client == 0 || client == gn->self ||
	    (client == GNET_OUTSIDE && gn->gateway))
		return gn->self;
	h = conn_hash(gn->seg, &pi->key);
	hashed = !pi->echo &&
	    listen_pick_by(gn->seg, &pi->key, h, &node) == 0 &&
	    node == gn->self;
	/* a TCP segment that no SYN opens is an answer when the hash gives
	 * its flow to this node; a UDP datagram may be either, and is an
	 * answer only when the table has no room for it */
	if (egress && (gnet_opens(pi) || !hashed)) {
		out = gnet_egress(gn, pi, h, now, &full);
		if (out != 0 || !full || !hashed)
			return out;
	}
	if (!hashed)
		return gn->self;
	return (out = gnet_way_out(gn, client, h)) != 0 ? out : gn->self;
}

/* gnet_take_over: a gateway carries an outside client's packet of a
 * flow whose ingress is down: the flow enters here from now on. */
static void
gnet_take_over(struct gnet *gn, const struct pkt_info *pi,
    const struct shm_conn *c)
{
	if (gn->gateway && c->ingress != gn->self &&
	    (c->ingress < 1 || c->ingress > gn->max_nodes ||
		!gnet_up(gn, c->ingress)) &&
	    gnet_client(gn, pi) == GNET_OUTSIDE)
		(void)conn_rehome(gn->seg, gn->self, &pi->key, c->ingress,
		    (uint16_t)gn->self);
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
gnet_frag_slot(struct gnet *gn, const struct pkt_info *pi)
{
	const uint8_t *src, *dst;
	uint32_t id, h = 2166136261u;
	size_t alen, i;

	gnet_frag_ids(pi, &src, &dst, &id, &alen);
	for (i = 0; i < alen; i++)
		h = (h ^ src[i] ^ ((uint32_t)dst[i] << 8)) * 16777619u;
	h ^= id * 2654435761u ^ pi->key.proto;
	return &gn->frags[(h ^ (h >> 16)) % GNET_FRAGS];
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
gnet_frag_note(struct gnet *gn, const struct pkt_info *pi, uint32_t node)
{
	struct gnet_frag *f;
	const uint8_t *src, *dst;
	uint32_t id;
	size_t alen;

	if (pi->frag != PKT_FRAG_FIRST || node == 0 || gn->frags == NULL)
		return node;
	f = gnet_frag_slot(gn, pi);
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
gnet_frag_follow(struct gnet *gn, const struct pkt_info *pi)
{
	struct gnet_frag *f;

	if (gn->frags == NULL)
		return 0;
	f = gnet_frag_slot(gn, pi);
	if (!gnet_frag_same(f, pi) || clock_ms() > f->expires)
		return 0;
	return f->node;
}

/* gnet_ours: may this node forward a packet of flow c?  Its replies
 * (from G) only when this node serves it; its client's packets (to G)
 * only when they may come from here and the flow entered here, or, for
 * an outside client, by any gateway: a socket on another node bound to G
 * must not inject into, or reset, a flow it does not serve, nor open a
 * flow to the outside that another node has. */
static int
gnet_ours(struct gnet *gn, const struct pkt_info *pi, const struct shm_conn *c)
{
	uint32_t client;
	char why[64];

	if (pi->dir == PKT_TO_G) {
		if (!gnet_client_ok(gn, pi, &client))
			return 0;
		if (c->ingress == gn->self || client == GNET_OUTSIDE)
			return 1;
		snprintf(why, sizeof(why), "of a flow node %u carries in",
		    (unsigned int)c->ingress);
		return gnet_foreign(gn, pi, why);
	}
	if (c->node == gn->self)
		return 1;
	if (gnet_egress_out(gn, pi) && gnet_opens(pi))
		return gnet_egress_taken(gn, pi, c);
	snprintf(why, sizeof(why), "of a flow node %u serves",
	    (unsigned int)c->node);
	return gnet_foreign(gn, pi, why);
}

/* gnet_by_address: a packet neither to nor from G, which its addresses
 * route: from this node's client address to the outside, on a node with
 * egress, to the gateway its flow's hash picks (gateways keep no state
 * of it); from the outside to a client address, on a gateway, to the
 * node the address names.  Another node's client address, or the
 * outside off a gateway, is foreign; anything else is no packet of the
 * global network. */
static uint32_t
gnet_by_address(struct gnet *gn, const struct pkt_info *pi)
{
	const uint8_t *src = pi->key.family == 6 ? pi->src6 : pi->src4;
	uint32_t from = gnet_client_of(gn, pi->key.family, src),
		 to = gnet_client(gn, pi);

	if (from == gn->self && to == GNET_OUTSIDE && gn->egress)
		return gnet_egress_way(gn, conn_hash(gn->seg, &pi->key));
	if (from == GNET_OUTSIDE && to != GNET_OUTSIDE && to != 0) {
		if (!gn->gateway)
			return (uint32_t)gnet_foreign(gn, pi,
			    "from outside on a node that is no gateway");
		if (to == gn->self || gnet_up(gn, to))
			return to;
	} else if (from != gn->self && from != GNET_OUTSIDE &&
	    to == GNET_OUTSIDE)
		return (uint32_t)gnet_foreign(gn, pi,
		    "from another node's client address");
	stat_add(&gn->stats->unrouted, 1);
	return 0;
}

/* gnet_route: the node a frame goes to (this node included), 0 to drop. */
uint32_t
gnet_route(struct gnet *gn, const uint8_t *frame, uint32_t len)
{
	struct shm_conn c, *e;
	struct pkt_info pi;
	uint32_t now = conn_now(), node;

	if (gaddr_more(gn->seg, gn->gseen)) /* a new cluster address */
		gnet_addrs(gn);
	if (pkt_parse(frame, len, &gn->g, &pi) != 0) {
		stat_add(&gn->stats->unrouted, 1);
		return 0;
	}
	if (pi.frag == PKT_FRAG_LATER) {
		if ((node = gnet_frag_follow(gn, &pi)) == 0)
			stat_add(&gn->stats->unrouted, 1);
		return node;
	}
	if (pi.dir == PKT_NOT_G)
		return gnet_frag_note(gn, &pi, gnet_by_address(gn, &pi));
	if (conn_lookup(gn->seg, &pi.key, &c, &e)) {
		if (!gnet_ours(gn, &pi, &c))
			return 0;
		conn_account(e, c.seq, now, pi.l3len, pi.tcpflags,
		    gnet_inbound(&pi, &c));
		if (pi.dir == PKT_FROM_G)
			return gnet_frag_note(gn, &pi,
			    gnet_reply_way(gn, &pi, &c));
		gnet_take_over(gn, &pi, &c);
		return gnet_frag_note(gn, &pi, gnet_bound(gn, c.node));
	}
	if (pi.icmp_error)
		return gnet_frag_note(gn, &pi, gnet_own_stack(gn, &pi));
	if (pi.dir == PKT_FROM_G)
		return gnet_frag_note(gn, &pi, gnet_orphan_reply(gn, &pi, now));
	if (!gnet_client_ok(gn, &pi, &node))
		return 0;
	if (pi.key.proto == IPPROTO_TCP && !gnet_tcp_open(&pi))
		return gnet_frag_note(gn, &pi, gnet_late_flow(gn, &pi, now));
	return gnet_frag_note(gn, &pi, gnet_new_flow(gn, &pi, now));
}

/* gnet_macs: address a frame to node id's global interface. */
void
gnet_macs(const struct gnet *gn, uint8_t *frame, uint32_t id)
{
	frame_node_mac(SHM_NET_GLOBAL, id, frame);
	frame_node_mac(SHM_NET_GLOBAL, gn->self, frame + 6);
}

/* gnet_listens: does one of listeners l[0..n) take flow k? */
static int
gnet_listens(const struct shm_listen *l, uint32_t n, const struct conn_key *k)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (l[i].family == k->family && l[i].proto == k->proto &&
		    l[i].port == k->lport && !(l[i].flags & SHM_LISTEN_REMOTE))
			return 1;
	return 0;
}

/* gnet_repin: record the connections this node serves (its sockets
 * whose local address is G, k[0..n)) that the table lacks, as at a
 * start after the grace of a stop ran out: their next segment finds
 * them here rather than a node the hash picks, which would reset them.
 * They enter by the way out to their clients.  On a node with egress,
 * one to the outside on a port this node does not listen on is one it
 * opened (SHM_CONN_EGRESS).  How many were recorded (main thread: reads
 * only what gnet_new set). */
uint32_t
gnet_repin(const struct gnet *gn, const struct conn_key *k, uint32_t n)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	struct conn_timeouts t;
	struct pkt_info pi;
	uint32_t i, out, client, nl, done = 0, now = conn_now();
	uint16_t st;

	gnet_timeouts(gn, &t);
	memset(&pi, 0, sizeof(pi));
	nl = gn->egress ? listen_read(gn->seg, gn->self, l) : 0;
	for (i = 0; i < n; i++) {
		pi.key = k[i];
		client = gnet_client(gn, &pi);
		out = gnet_way_out(gn, client, conn_hash(gn->seg, &k[i]));
		st = SHM_CONN_EST;
		if (gn->egress && client == GNET_OUTSIDE &&
		    !gnet_listens(l, nl, &k[i]))
			st |= SHM_CONN_EGRESS;
		done += conn_insert(gn->seg, gn->self, &k[i],
			    (uint16_t)gn->self,
			    (uint16_t)(out != 0 ? out : gn->self), st, now, &t,
			    NULL, NULL) == 1;
	}
	return done;
}

/* gnet_gc: collect the expired flows that entered here, and those that
 * entered by a node now down, which nobody else collects until a
 * gateway takes them over (main thread: reads only what gnet_new set). */
uint32_t
gnet_gc(const struct gnet *gn)
{
	uint64_t down[SHM_NODES_MAX / 64 + 1] = { 0 };
	struct conn_timeouts t;
	uint32_t id;

	for (id = 1; id <= gn->max_nodes; id++)
		if (id != gn->self && !gnet_up(gn, id))
			down[id / 64] |= 1ull << (id % 64);
	gnet_timeouts(gn, &t);
	return conn_gc(gn->seg, gn->self, (uint16_t)gn->self, conn_now(), &t,
	    down);
}
