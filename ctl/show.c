/*
 * show.c: shmnetctl's printers.  Each command first copies what it needs
 * out of the (untrusted, live) segment into rows, validating as it goes,
 * then prints the rows with out.c from the command's one description:
 * the table below that names each value for JSON and for text.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "ctl.h"

#define SHOW_N(a) (sizeof(a) / sizeof(*(a)))
#define LD(x)     atomic_load_explicit(&(x), memory_order_relaxed)

/* ---- rows and commands ----------------------------------------------- */

/* Rows being collected: n of them, room for cap, size bytes each. */
struct show_array {
	void *rows;
	size_t n, cap, size;
};

/* show_next: where the next row goes, zeroed; it counts once the caller
 * adds 1 to n.  NULL when out of memory. */
static void *
show_next(struct show_array *a)
{
	size_t cap = a->cap ? a->cap * 2 : 64;
	void *nr;

	if (a->n == a->cap) {
		if ((nr = reallocarray(a->rows, cap, a->size)) == NULL) {
			fprintf(stderr, "shmnetctl: out of memory\n");
			return NULL;
		}
		a->rows = nr;
		a->cap = cap;
	}
	return memset((char *)a->rows + a->n * a->size, 0, a->size);
}

/* show_list: a command that prints the rows collect() finds. */
static int
show_list(struct ctl *c, const struct out_table *t,
    int (*collect)(struct ctl *, struct show_array *))
{
	struct show_array a = { .size = t->rowsize };
	int rc = -1;

	if (collect(c, &a) == 0)
		rc = out_rows(c, t, a.rows, a.n);
	free(a.rows);
	return rc;
}

/* ---- nodes ----------------------------------------------------------- */

struct node_row {
	uint32_t id, up, gen, pid;
	char gateway[8];     /* none, arp or route */
	char announced[128]; /* what a gateway in route mode announces */
	char mac[18];
	char addr[INET_ADDRSTRLEN + 4];
	uint64_t heartbeat, tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t drop_unknown, drop_down, drop_full, drop_tap, cast_lost;
	uint64_t corrupt, zero_copy, mc_filtered, wakes_recovered;
	uint64_t drops; /* the four drop_* together */
	uint64_t g_no_listener, g_unrouted, g_looped, g_foreign;
	uint64_t g_egress_flows, g_egress_no_gateway, g_egress_collided;
};

/* show_node_state: name of a node's state. */
static const char *
show_node_state(uint32_t up)
{
	return up ? "up" : "down";
}

#define NODE(m) OUT_AT(node_row, m)
static const struct out_field show_node_fields[] = {
	{ "id", "ID", OUT_UINT, NODE(id), .width = -5 },
	{ "state", "STATE", OUT_NAME, NODE(up), .width = -5,
	    .names = show_node_state },
	{ "generation", "GEN", OUT_UINT, NODE(gen), .width = -5 },
	{ "pid", "PID", OUT_UINT, NODE(pid), .width = -8 },
	{ "mac", "MAC", OUT_STR, NODE(mac), .width = -17 },
	{ "address", "ADDRESS", OUT_STR, NODE(addr), .width = -18 },
	{ "gateway", "GATEWAY", OUT_STR, NODE(gateway), .width = -7 },
	{ "announced", "ANNOUNCED", OUT_STR, NODE(announced), .width = -10 },
	{ "heartbeat", NULL, OUT_UINT, NODE(heartbeat) },
	{ "tx_frames", "TX-FRAMES", OUT_UINT, NODE(tx_frames), .width = 12 },
	{ "tx_bytes", NULL, OUT_UINT, NODE(tx_bytes) },
	{ "rx_frames", "RX-FRAMES", OUT_UINT, NODE(rx_frames), .width = 12 },
	{ "rx_bytes", NULL, OUT_UINT, NODE(rx_bytes) },
	{ "drop_unknown", NULL, OUT_UINT, NODE(drop_unknown) },
	{ "drop_down", NULL, OUT_UINT, NODE(drop_down) },
	{ "drop_full", NULL, OUT_UINT, NODE(drop_full) },
	{ "drop_tap", NULL, OUT_UINT, NODE(drop_tap) },
	{ "broadcast_lost", NULL, OUT_UINT, NODE(cast_lost) },
	{ "corrupt", NULL, OUT_UINT, NODE(corrupt) },
	{ "zero_copy", NULL, OUT_UINT, NODE(zero_copy) },
	{ "multicast_filtered", NULL, OUT_UINT, NODE(mc_filtered) },
	{ "wakes_recovered", NULL, OUT_UINT, NODE(wakes_recovered) },
	{ "global_no_listener", NULL, OUT_UINT, NODE(g_no_listener) },
	{ "global_unrouted", NULL, OUT_UINT, NODE(g_unrouted) },
	{ "global_looped", NULL, OUT_UINT, NODE(g_looped) },
	{ "global_foreign", NULL, OUT_UINT, NODE(g_foreign) },
	{ "global_egress_flows", NULL, OUT_UINT, NODE(g_egress_flows) },
	{ "global_egress_no_gateway", NULL, OUT_UINT,
	    NODE(g_egress_no_gateway) },
	{ "global_egress_collided", NULL, OUT_UINT, NODE(g_egress_collided) },
	{ NULL, "DROPS", OUT_UINT, NODE(drops), .width = 8 },
};
#undef NODE

static const struct out_table show_node_table = { .cmd = "nodes",
	.fields = show_node_fields,
	.nfields = SHOW_N(show_node_fields),
	.rowsize = sizeof(struct node_row) };

/* show_node_gateway: whether node n is a gateway and how (none, arp or
 * route), and what a gateway in route mode announces: the cluster
 * addresses by name (G, G#1, ...: shmnetctl addresses), G6, local. */
static void
show_node_gateway(struct shm_node *n, struct node_row *r)
{
	uint8_t gw = LD(n->gw);
	uint32_t on = LD(n->gw_gaddrs), i;
	char name[8];

	snprintf(r->gateway, sizeof(r->gateway), "%s",
	    !(n->flags & SHM_NODE_F_GATEWAY) ? "none" :
		(gw & SHM_GW_ROUTE)          ? "route" :
					       "arp");
	if (gw & SHM_GW_G) /* an older build says G's by this bit alone */
		on |= 1;
	r->announced[0] = '\0';
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if ((on >> i) & 1) {
			gaddr_name(i, name, sizeof(name));
			strlcat(r->announced, ",", sizeof(r->announced));
			strlcat(r->announced, name, sizeof(r->announced));
		}
	strlcat(r->announced, (gw & SHM_GW_G6) ? ",G6" : "",
	    sizeof(r->announced));
	strlcat(r->announced, (gw & SHM_GW_LOCAL) ? ",local" : "",
	    sizeof(r->announced));
	strlcat(r->announced, (gw & SHM_GW_CLIENT) ? ",client" : "",
	    sizeof(r->announced));
	memmove(r->announced, r->announced + (r->announced[0] == ','),
	    strlen(r->announced));
}

/* show_node_row: copy one node table entry; 0 if never used. */
static int
show_node_row(struct ctl *c, uint32_t id, struct node_row *r)
{
	struct shm_node *n = shmseg_node(c->seg, id);
	struct shm_node_stats *s = &n->stats[SHM_NET_LOCAL];
	struct shm_node_stats *g = &n->stats[SHM_NET_GLOBAL];
	struct in_addr a;
	char ab[INET_ADDRSTRLEN];

	r->id = id;
	r->gen = LD(n->gen);
	if (r->gen == 0 || LD(n->state) == SHM_NODE_NEVER)
		return 0;
	r->up = LD(n->state) == SHM_NODE_UP && ofd_alive(c->seg, id);
	r->pid = n->pid;
	frame_mac_str(n->mac[SHM_NET_LOCAL], r->mac, sizeof(r->mac));
	a.s_addr = n->addr4[SHM_NET_LOCAL];
	inet_ntop(AF_INET, &a, ab, sizeof(ab));
	snprintf(r->addr, sizeof(r->addr), "%s/%u", ab,
	    n->prefix4[SHM_NET_LOCAL] <= 32 ? n->prefix4[SHM_NET_LOCAL] : 0);
	show_node_gateway(n, r);
	if (!r->up)
		r->announced[0] = '\0'; /* a dead one's route went with it */
	r->heartbeat = LD(n->heartbeat);
	r->tx_frames = LD(s->tx_frames);
	r->tx_bytes = LD(s->tx_bytes);
	r->rx_frames = LD(s->rx_frames);
	r->rx_bytes = LD(s->rx_bytes);
	r->drop_unknown = LD(s->drop_unknown);
	r->drop_down = LD(s->drop_down);
	r->drop_full = LD(s->drop_full);
	r->drop_tap = LD(s->drop_tap);
	r->cast_lost = LD(s->cast_lost);
	r->corrupt = LD(s->corrupt);
	r->zero_copy = LD(s->zero_copy);
	r->mc_filtered = LD(s->mc_filtered);
	r->wakes_recovered = LD(s->wakes_recovered);
	r->drops = r->drop_unknown + r->drop_down + r->drop_full + r->drop_tap;
	r->g_no_listener = LD(g->no_listener);
	r->g_unrouted = LD(g->unrouted);
	r->g_looped = LD(g->looped);
	r->g_foreign = LD(g->foreign);
	r->g_egress_flows = LD(g->egress_flows);
	r->g_egress_no_gateway = LD(g->egress_no_gateway);
	r->g_egress_collided = LD(g->egress_collided);
	return 1;
}

/* show_collect_nodes: every node that ever joined. */
static int
show_collect_nodes(struct ctl *c, struct show_array *a)
{
	uint32_t id, max = shmseg_max_nodes(c->seg);
	struct node_row *r;

	for (id = 1; id <= max; id++) {
		if ((r = show_next(a)) == NULL)
			return -1;
		a->n += (size_t)show_node_row(c, id, r);
	}
	return 0;
}

/* show_nodes: the node table. */
int
show_nodes(struct ctl *c)
{
	return show_list(c, &show_node_table, show_collect_nodes);
}

/* ---- rings ----------------------------------------------------------- */

enum ring_kind { RING_PAIR, RING_BROADCAST, RING_MULTICAST };

/* The state of a ring whose header makes no sense (none of SHM_RING_*). */
#define RING_INVALID 0
struct ring_row {
	enum ring_kind kind;
	uint32_t net, from, to, slots, slot_size, used, state, gen;
	uint64_t frames, bytes, drops, key, recoveries;
	char label[18]; /* group MAC; "-" for none */
};

/* show_ring_kind: name of a kind of ring. */
static const char *
show_ring_kind(uint32_t kind)
{
	switch (kind) {
	case RING_PAIR:
		return "pair";
	case RING_BROADCAST:
		return "broadcast";
	case RING_MULTICAST:
		return "multicast";
	}
	return "?";
}

/* show_ring_state: name of a ring state. */
static const char *
show_ring_state(uint32_t st)
{
	switch (st) {
	case SHM_RING_UP:
		return "up";
	case SHM_RING_DOWN:
		return "down";
	case SHM_RING_CORRUPT:
		return "corrupt";
	}
	return "invalid";
}

/* show_net: name of a network. */
static const char *
show_net(uint32_t net)
{
	return net == SHM_NET_LOCAL ? "local" : "global";
}

#define RING(m) OUT_AT(ring_row, m)
static const struct out_field show_ring_fields[] = {
	{ "kind", "KIND", OUT_NAME, RING(kind), .width = -9,
	    .names = show_ring_kind },
	{ "net", "NET", OUT_NAME, RING(net), .width = -6, .names = show_net },
	{ "from", "FROM", OUT_NODE, RING(from), .width = 4 },
	{ "to", "TO", OUT_NODE, RING(to), .width = 4 },
	{ "slots", "SLOTS", OUT_UINT, RING(slots), .width = 6 },
	{ "slot_size", "SLOTSZ", OUT_UINT, RING(slot_size), .width = 6 },
	{ "used", "USED", OUT_UINT, RING(used), .width = 6 },
	{ "frames", "FRAMES", OUT_UINT, RING(frames), .width = 12 },
	{ "bytes", "BYTES", OUT_UINT, RING(bytes), .width = 14 },
	{ "drops", "DROPS", OUT_UINT, RING(drops), .width = 8 },
	{ "state", "STATE", OUT_NAME, RING(state), .width = -7,
	    .names = show_ring_state },
	{ "generation", "GEN", OUT_UINT, RING(gen), .width = 5 },
	{ "label", "LABEL", OUT_STR, RING(label), .width = -17 },
	{ "key", "KEY", OUT_KEY, RING(key) },
	{ "lock_recoveries", NULL, OUT_UINT, RING(recoveries) },
};
#undef RING

static const struct out_table show_ring_table = { .cmd = "rings",
	.fields = show_ring_fields,
	.nfields = SHOW_N(show_ring_fields),
	.rowsize = sizeof(struct ring_row) };

/* show_ring_fill: counters of a validated ring header. */
static void
show_ring_fill(struct ring_row *r, struct shm_ring_hdr *h, uint32_t slots)
{
	uint32_t w = LD(h->widx), rd = LD(h->ridx);

	r->frames = LD(h->frames);
	r->bytes = LD(h->bytes);
	r->drops = LD(h->drops);
	r->used = w - rd > slots ? slots : w - rd;
	r->state = LD(h->state);
}

/* show_pair_row: the ring peer -> owner on net, if there is a valid one. */
static int
show_pair_row(struct ctl *c, uint32_t owner, uint32_t net, uint32_t peer,
    struct ring_row *r)
{
	struct shm_dirent de;
	struct shm_ring_hdr *h;
	int rc;

	if (node_dirent_read(c->seg, owner, net, peer, &de) != 0 ||
	    (h = shmseg_ring(c->seg, de.off, de.size)) == NULL)
		return 0;
	r->kind = RING_PAIR;
	r->net = net;
	r->from = peer;
	r->to = owner;
	r->key = de.key;
	r->gen = de.peer_gen;
	snprintf(r->label, sizeof(r->label), "-");
	rc = ring_check(h, de.size, de.key, (uint16_t)peer, (uint16_t)owner);
	if (rc == 0 || rc == -ENETDOWN) {
		r->slots = h->slots;
		r->slot_size = h->slot_size;
		show_ring_fill(r, h, r->slots);
	} else
		r->state = RING_INVALID;
	return 1;
}

/* show_cast_row: a broadcast or multicast ring; 0 if it is invalid. */
static int
show_cast_row(void *mem, uint32_t size, uint32_t net, enum ring_kind kind,
    struct ring_row *r)
{
	struct cast_rx cr;
	uint64_t label;
	uint8_t mac[6];

	if (mem == NULL || cast_attach(&cr, mem, size) != 0)
		return 0;
	r->kind = kind;
	r->net = net;
	r->slots = cr.v.slots;
	r->slot_size = cr.v.slot_size;
	show_ring_fill(r, cr.v.hdr, cr.v.slots);
	r->used = LD(cr.v.hdr->widx) < cr.v.slots ? LD(cr.v.hdr->widx) :
						    cr.v.slots;
	r->recoveries = LD(cr.v.hdr->lock.recoveries);
	label = LD(cr.v.hdr->label);
	if (kind == RING_BROADCAST)
		snprintf(r->label, sizeof(r->label), "ff:ff:ff:ff:ff:ff");
	else if (!(label & SHM_LABEL_VALID))
		snprintf(r->label, sizeof(r->label), "-");
	else {
		mcast_label_mac(label, mac);
		frame_mac_str(mac, r->label, sizeof(r->label));
	}
	return 1;
}

/* show_collect_casts: the broadcast and multicast rings of net, if it
 * is in use: the global network is when the cluster has a global
 * address. */
static int
show_collect_casts(struct ctl *c, uint32_t net, struct show_array *a)
{
	uint32_t i, size;
	struct ring_row *r;
	void *mem;

	if (net == SHM_NET_GLOBAL && shmseg_hdr(c->seg)->global_addr4 == 0)
		return 0;
	if ((r = show_next(a)) == NULL)
		return -1;
	mem = shmseg_cast(c->seg, net, &size);
	a->n += (size_t)show_cast_row(mem, size, net, RING_BROADCAST, r);
	for (i = 0; i < shmseg_mcast_count(c->seg, net); i++) {
		if ((r = show_next(a)) == NULL)
			return -1;
		mem = shmseg_mcast(c->seg, net, i, &size);
		a->n += (size_t)show_cast_row(mem, size, net, RING_MULTICAST,
		    r);
	}
	return 0;
}

/* show_collect_rings: the cast rings of the networks in use, then every
 * pair ring of UP nodes. */
static int
show_collect_rings(struct ctl *c, struct show_array *a)
{
	uint32_t max = shmseg_max_nodes(c->seg), owner, peer, net;
	struct ring_row *r;

	for (net = 0; net < SHM_NETS; net++)
		if (show_collect_casts(c, net, a) != 0)
			return -1;
	for (owner = 1; owner <= max; owner++)
		for (net = 0; net < SHM_NETS; net++)
			for (peer = 1; peer <= max; peer++) {
				if ((r = show_next(a)) == NULL)
					return -1;
				a->n += (size_t)show_pair_row(c, owner, net,
				    peer, r);
			}
	return 0;
}

/* show_rings: broadcast, multicast and pair rings. */
int
show_rings(struct ctl *c)
{
	return show_list(c, &show_ring_table, show_collect_rings);
}

/* ---- status ---------------------------------------------------------- */

struct status_row {
	char cluster[SHM_CLUSTER_MAX];
	char segment[PATH_MAX];
	char version[16];
	uint64_t size;
	uint32_t max_nodes, nodes_up, nodes_known, pair_rings;
	uint32_t heap_pages_used, heap_pages, heap_kib;
	uint64_t tx_frames, rx_frames, drops;
	char global_address[INET_ADDRSTRLEN];
	uint64_t flows;
	uint32_t flow_slots;
	uint64_t flows_refused, flows_evicted;
};

#define STATUS(m) OUT_AT(status_row, m)
static const struct out_field show_status_fields[] = {
	{ "cluster", "cluster", OUT_STR, STATUS(cluster) },
	{ "segment", "segment", OUT_STR, STATUS(segment) },
	{ "version", NULL, OUT_STR, STATUS(version), .glue = " (layout " },
	{ "size", NULL, OUT_MIB, STATUS(size), .glue = ", " },
	{ "max_nodes", NULL, OUT_UINT, STATUS(max_nodes), .glue = ", max ",
	    .unit = "nodes)" },
	{ "nodes_up", "nodes", OUT_UINT, STATUS(nodes_up), .unit = "up" },
	{ "nodes_known", NULL, OUT_UINT, STATUS(nodes_known), .glue = ", ",
	    .unit = "known" },
	{ "pair_rings", "rings", OUT_UINT, STATUS(pair_rings),
	    .unit = "pair rings" },
	{ "heap_pages_used", NULL, OUT_UINT, STATUS(heap_pages_used),
	    .glue = ", heap " },
	{ "heap_pages", NULL, OUT_UINT, STATUS(heap_pages), .glue = " of ",
	    .unit = "pages in use" },
	{ NULL, NULL, OUT_UINT, STATUS(heap_kib), .glue = " (",
	    .unit = "KiB)" },
	{ "tx_frames", "traffic", OUT_UINT, STATUS(tx_frames),
	    .unit = "frames sent" },
	{ "rx_frames", NULL, OUT_UINT, STATUS(rx_frames), .glue = ", ",
	    .unit = "received" },
	{ "drops", NULL, OUT_UINT, STATUS(drops), .glue = ", ",
	    .unit = "dropped" },
	{ "global_address", "global", OUT_STR, STATUS(global_address) },
	{ "flows", NULL, OUT_UINT, STATUS(flows), .glue = ": ",
	    .unit = "flows" },
	{ "flow_slots", NULL, OUT_UINT, STATUS(flow_slots), .glue = " of " },
	{ "flows_refused", NULL, OUT_UINT, STATUS(flows_refused), .glue = ", ",
	    .unit = "not recorded (table full)" },
	{ "flows_evicted", NULL, OUT_UINT, STATUS(flows_evicted), .glue = ", ",
	    .unit = "evicted" },
};
#undef STATUS

static const struct out_table show_status_table = { .cmd = "status",
	.fields = show_status_fields,
	.nfields = SHOW_N(show_status_fields),
	.rowsize = sizeof(struct status_row) };

/* show_status_nodes: what the status says of nodes and rings. */
static int
show_status_nodes(struct ctl *c, struct status_row *s)
{
	struct show_array nodes = { .size = sizeof(struct node_row) };
	struct show_array rings = { .size = sizeof(struct ring_row) };
	const struct node_row *nr;
	const struct ring_row *rr;
	size_t i;
	int rc = -1;

	if (show_collect_nodes(c, &nodes) != 0 ||
	    show_collect_rings(c, &rings) != 0)
		goto out;
	s->nodes_known = (uint32_t)nodes.n;
	for (nr = nodes.rows, i = 0; i < nodes.n; i++, nr++) {
		s->nodes_up += nr->up;
		s->tx_frames += nr->tx_frames;
		s->rx_frames += nr->rx_frames;
		s->drops += nr->drops;
	}
	for (rr = rings.rows, i = 0; i < rings.n; i++, rr++)
		s->pair_rings += rr->kind == RING_PAIR;
	rc = 0;
out:
	free(nodes.rows);
	free(rings.rows);
	return rc;
}

/* show_status_global: what the status says of the global network. */
static void
show_status_global(struct ctl *c, struct status_row *s)
{
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(c->seg);
	uint32_t nb = shmseg_conn_buckets(c->seg), b;
	struct shm_conn_bucket *bk;
	int j;

	inet_ntop(AF_INET, &h->global_addr4, s->global_address,
	    sizeof(s->global_address));
	for (b = 0; b < nb; b++) {
		bk = shmseg_conn_bucket(c->seg, b);
		for (j = 0; j < SHM_CONN_PER_BUCKET; j++)
			s->flows += bk->e[j].family != 0;
	}
	s->flow_slots = nb * SHM_CONN_PER_BUCKET;
	s->flows_refused = LD(h->conn_full);
	s->flows_evicted = LD(h->conn_evicted);
}

/* show_printable: a name from the segment, its control characters
 * (terminal escapes a peer may have written) shown as '?'. */
static void
show_printable(char *name)
{
	for (; *name != '\0'; name++)
		if ((unsigned char)*name < 0x20 || *name == 0x7f)
			*name = '?';
}

/* show_status: one screen about the cluster. */
int
show_status(struct ctl *c)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	struct status_row s;

	memset(&s, 0, sizeof(s));
	memcpy(s.cluster, h->cluster, sizeof(s.cluster));
	s.cluster[sizeof(s.cluster) - 1] = '\0';
	show_printable(s.cluster);
	snprintf(s.segment, sizeof(s.segment), "%s", c->path);
	snprintf(s.version, sizeof(s.version), "%u.%u", h->version >> 8,
	    h->version & 0xff);
	s.size = h->seg_size;
	s.max_nodes = shmseg_max_nodes(c->seg);
	heap_usage(c->seg, &s.heap_pages_used, &s.heap_pages);
	s.heap_kib = (uint32_t)((uint64_t)s.heap_pages_used * SHM_PAGE_SIZE /
	    1024);
	if (show_status_nodes(c, &s) != 0)
		return -1;
	show_status_global(c, &s);
	return out_doc(c, &show_status_table, &s);
}

/* ---- conns ----------------------------------------------------------- */

/* show_proto: name of an IP protocol a flow or listener can have. */
static const char *
show_proto(uint32_t p)
{
	switch (p) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	}
	return "?";
}

/* show_conn_state: name of a flow's state. */
static const char *
show_conn_state(uint32_t stflags)
{
	return conn_state_name((uint16_t)stflags);
}

/* show_conn_dir: which way a flow goes: in to G, or out from a node. */
static const char *
show_conn_dir(uint32_t stflags)
{
	return (stflags & SHM_CONN_EGRESS) ? "out" : "in";
}

struct conn_row {
	uint32_t proto;
	char local[INET6_ADDRSTRLEN];
	uint32_t lport;
	char foreign[INET6_ADDRSTRLEN];
	uint32_t fport, node, ingress, state, age, idle;
	uint64_t packets, bytes;
};

#define CONN(m) OUT_AT(conn_row, m)
static const struct out_field show_conn_fields[] = {
	{ "proto", "PROTO", OUT_NAME, CONN(proto), .width = -5,
	    .names = show_proto },
	{ "local", "LOCAL", OUT_STR, CONN(local), .width = 15 },
	{ "lport", NULL, OUT_UINT, CONN(lport), .width = -5, .glue = ":" },
	{ "foreign", "FOREIGN", OUT_STR, CONN(foreign), .width = 15 },
	{ "fport", NULL, OUT_UINT, CONN(fport), .width = -5, .glue = ":" },
	{ "node", "NODE", OUT_UINT, CONN(node), .width = 4 },
	{ "ingress", "INGRESS", OUT_UINT, CONN(ingress), .width = 7 },
	{ "direction", "DIR", OUT_NAME, CONN(state), .width = -3,
	    .names = show_conn_dir },
	{ "state", "STATE", OUT_NAME, CONN(state), .width = -11,
	    .names = show_conn_state },
	{ "age", "AGE", OUT_UINT, CONN(age), .width = 6 },
	{ "idle", "IDLE", OUT_UINT, CONN(idle), .width = 6 },
	{ "packets", "PACKETS", OUT_UINT, CONN(packets), .width = 10 },
	{ "bytes", "BYTES", OUT_UINT, CONN(bytes), .width = 12 },
};
#undef CONN

static const struct out_table show_conn_table = { .cmd = "conns",
	.fields = show_conn_fields,
	.nfields = SHOW_N(show_conn_fields),
	.rowsize = sizeof(struct conn_row) };

/* show_gaddr: the cluster address of family (4 or 6) and index aidx,
 * into out (16 bytes, IPv4 in the first 4; zero when the cluster has
 * none such): the table is read once per command. */
static void
show_gaddr(struct ctl *c, uint32_t family, uint32_t aidx, uint8_t *out)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);

	memset(out, 0, 16);
	if (family == 6) {
		if (aidx == 0)
			memcpy(out, h->global_addr6, 16);
		return;
	}
	if (!c->g4_read) {
		gaddr_read(c->seg, c->g4, NULL);
		c->g4_read = 1;
	}
	if (aidx < SHM_GADDR_MAX)
		memcpy(out, &c->g4[aidx], 4);
}

/* show_conn_row: the flow in slot e as the table shows it; 0 if there
 * is none (conn_read_slot) or the filter leaves it out. */
static int
show_conn_row(struct ctl *c, const struct shm_conn *e, uint32_t now,
    struct conn_row *r)
{
	struct shm_conn f;
	uint8_t g[16];
	int af;

	if (!conn_read_slot(c->seg, e, &f) || !show_conn_wanted(c, &f))
		return 0;
	af = f.family == 6 ? AF_INET6 : AF_INET;
	r->proto = f.proto;
	show_gaddr(c, f.family, f.aidx, g);
	inet_ntop(af, g, r->local, sizeof(r->local));
	r->lport = f.lport;
	inet_ntop(af, f.faddr, r->foreign, sizeof(r->foreign));
	r->fport = f.fport;
	r->node = f.node;
	r->ingress = f.ingress;
	r->state = LD(f.stflags);
	r->age = now - f.created;
	r->idle = now - LD(f.last_seen);
	r->packets = LD(f.packets);
	r->bytes = LD(f.bytes);
	return 1;
}

/* show_conn_wanted: does flow f pass --service and --node? */
int
show_conn_wanted(struct ctl *c, const struct shm_conn *f)
{
	uint8_t g[16];

	show_gaddr(c, f->family, f->aidx, g);
	return services_match(&c->service, f->family, g, f->proto, f->lport) &&
	    (c->node == 0 || c->node == f->node);
}

/* show_collect_conns: every live flow of the connection table. */
static int
show_collect_conns(struct ctl *c, struct show_array *a)
{
	uint32_t nb = shmseg_conn_buckets(c->seg), b, now = conn_now();
	struct conn_row *r;
	int i;

	for (b = 0; b < nb; b++)
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			if ((r = show_next(a)) == NULL)
				return -1;
			a->n += (size_t)show_conn_row(c,
			    &shmseg_conn_bucket(c->seg, b)->e[i], now, r);
		}
	return 0;
}

/* How many flows there are, by state (shmnetctl conns --count). */
struct count_row {
	uint32_t flows, syn, established, closing, udp;
};

#define CNT(m) OUT_AT(count_row, m)
static const struct out_field show_count_fields[] = {
	{ "flows", "flows", OUT_UINT, CNT(flows) },
	{ "syn", "syn", OUT_UINT, CNT(syn) },
	{ "established", "established", OUT_UINT, CNT(established) },
	{ "closing", "closing", OUT_UINT, CNT(closing) },
	{ "udp", "udp", OUT_UINT, CNT(udp) },
};
#undef CNT

static const struct out_table show_count_table = { .cmd = "conns \\-\\-count",
	.fields = show_count_fields,
	.nfields = SHOW_N(show_count_fields),
	.rowsize = sizeof(struct count_row) };

/* show_count: the flows --service and --node leave, by state. */
static int
show_count(struct ctl *c)
{
	uint32_t nb = shmseg_conn_buckets(c->seg), b;
	struct count_row r = { 0 };
	struct shm_conn f;
	int i;

	for (b = 0; b < nb; b++)
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			if (!conn_read_slot(c->seg,
				&shmseg_conn_bucket(c->seg, b)->e[i], &f) ||
			    !show_conn_wanted(c, &f))
				continue;
			r.flows++;
			switch (LD(f.stflags) & 0xff) {
			case SHM_CONN_SYN:
				r.syn++;
				break;
			case SHM_CONN_EST:
				r.established++;
				break;
			case SHM_CONN_CLOSING:
				r.closing++;
				break;
			default:
				r.udp++;
			}
		}
	return out_doc(c, &show_count_table, &r);
}

/* show_conns: the flows of the global network (those --service and
 * --node leave), or with --count their numbers. */
int
show_conns(struct ctl *c)
{
	if (c->count)
		return show_count(c);
	return show_list(c, &show_conn_table, show_collect_conns);
}

/* ---- listeners ------------------------------------------------------- */

struct listener_row {
	uint32_t node, proto, family;
	char address[INET6_ADDRSTRLEN];
	uint32_t port;
	char peer[INET6_ADDRSTRLEN]; /* connected UDP, else "" */
	uint32_t peer_port;
};

#define LSN(m) OUT_AT(listener_row, m)
static const struct out_field show_listener_fields[] = {
	{ "node", "NODE", OUT_UINT, LSN(node), .width = -5 },
	{ "proto", "PROTO", OUT_NAME, LSN(proto), .width = -5,
	    .names = show_proto },
	{ "family", NULL, OUT_UINT, LSN(family) },
	{ "address", "ADDRESS", OUT_STR, LSN(address), .width = -24 },
	{ "port", "PORT", OUT_UINT, LSN(port), .width = -5 },
	{ "peer", "PEER", OUT_STR, LSN(peer), .flags = OUT_OPT },
	{ "peer_port", NULL, OUT_UINT, LSN(peer_port), .glue = ":",
	    .flags = OUT_OPT },
};
#undef LSN

static const struct out_table show_listener_table = { .cmd = "listeners",
	.fields = show_listener_fields,
	.nfields = SHOW_N(show_listener_fields),
	.rowsize = sizeof(struct listener_row) };

/* show_listener_row: one published listener as the table shows it. */
static void
show_listener_row(struct ctl *c, uint32_t id, const struct shm_listen *l,
    struct listener_row *r)
{
	int af = l->family == 6 ? AF_INET6 : AF_INET;
	uint8_t g[16] = { 0 };

	r->node = id;
	r->proto = l->proto;
	r->family = l->family;
	if (l->flags & SHM_LISTEN_SPECIFIC)
		show_gaddr(c, l->family, SHM_LISTEN_AIDX(l->flags), g);
	inet_ntop(af, g, r->address, sizeof(r->address));
	r->port = l->port;
	if (l->flags & SHM_LISTEN_REMOTE) {
		inet_ntop(af, l->raddr, r->peer, sizeof(r->peer));
		r->peer_port = l->rport;
	}
}

/* show_collect_listeners: what every UP node publishes. */
static int
show_collect_listeners(struct ctl *c, struct show_array *a)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(c->seg), n, i;
	struct listener_row *r;

	for (id = 1; id <= max; id++) {
		n = node_is_up(c->seg, id) ? listen_read(c->seg, id, l) : 0;
		for (i = 0; i < n; i++, a->n++) {
			if ((r = show_next(a)) == NULL)
				return -1;
			show_listener_row(c, id, &l[i], r);
		}
	}
	return 0;
}

/* show_listeners: the sockets nodes publish for the global address. */
int
show_listeners(struct ctl *c)
{
	return show_list(c, &show_listener_table, show_collect_listeners);
}

/* ---- addresses ------------------------------------------------------- */

struct address_row {
	char name[8];
	uint32_t index, family;
	char address[INET6_ADDRSTRLEN];
	uint32_t nodes;          /* up nodes that carry it */
	char carried_by[1024];   /* ... their ids, "1-3,7" */
	char announced_by[1024]; /* gateways that keep its route */
};

#define ADDR(m) OUT_AT(address_row, m)
static const struct out_field show_address_fields[] = {
	{ "name", "NAME", OUT_STR, ADDR(name), .width = -5 },
	{ "index", NULL, OUT_UINT, ADDR(index) },
	{ "family", NULL, OUT_UINT, ADDR(family) },
	{ "address", "ADDRESS", OUT_STR, ADDR(address), .width = -24 },
	{ "nodes", "NODES", OUT_UINT, ADDR(nodes), .width = 5 },
	{ "carried_by", "CARRIED-BY", OUT_STR, ADDR(carried_by), .width = -16 },
	{ "announced_by", "ANNOUNCED-BY", OUT_STR, ADDR(announced_by) },
};
#undef ADDR

static const struct out_table show_address_table = { .cmd = "addresses",
	.fields = show_address_fields,
	.nfields = SHOW_N(show_address_fields),
	.rowsize = sizeof(struct address_row) };

/* show_ids_add: node id at the end of a list of ids in ranges ("1-3,7"),
 * whose last range ends at *last (0: empty). */
static void
show_ids_add(char *buf, size_t len, uint32_t *last, uint32_t *start,
    uint32_t id)
{
	char n[16];
	char *dash;

	if (*last != 0 && id == *last + 1) {
		/* extend the range: rewrite its end */
		if ((dash = strrchr(buf, ',')) == NULL)
			dash = buf;
		else
			dash++;
		snprintf(n, sizeof(n), "%u-%u", *start, id);
		*dash = '\0';
		strlcat(buf, n, len);
	} else {
		snprintf(n, sizeof(n), "%s%u", *last ? "," : "", id);
		strlcat(buf, n, len);
		*start = id;
	}
	*last = id;
}

/* show_address_row: cluster address index i of family (its address in
 * g, 16 bytes), the up nodes that carry it and the gateways that
 * announce it. */
static void
show_address_row(struct ctl *c, uint32_t family, uint32_t i, const uint8_t *g,
    struct address_row *r)
{
	uint32_t id, max = shmseg_max_nodes(c->seg), lc = 0, sc = 0, la = 0,
		     sa = 0, carried, on;
	struct shm_node *n;
	uint8_t gw;

	r->index = i;
	r->family = family;
	if (family == 6)
		snprintf(r->name, sizeof(r->name), "G6");
	else
		gaddr_name(i, r->name, sizeof(r->name));
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, g, r->address,
	    sizeof(r->address));
	for (id = 1; id <= max; id++) {
		n = shmseg_node(c->seg, id);
		if (LD(n->state) != SHM_NODE_UP || !ofd_alive(c->seg, id))
			continue;
		carried = gaddr_carried(c->seg, id);
		if (family == 6 ? carried != 0 : (carried >> i) & 1) {
			r->nodes++;
			show_ids_add(r->carried_by, sizeof(r->carried_by), &lc,
			    &sc, id);
		}
		gw = LD(n->gw);
		on = LD(n->gw_gaddrs) | ((gw & SHM_GW_G) ? 1 : 0);
		if ((n->flags & SHM_NODE_F_GATEWAY) && (gw & SHM_GW_ROUTE) &&
		    (family == 6 ? (gw & SHM_GW_G6) != 0 : (on >> i) & 1))
			show_ids_add(r->announced_by, sizeof(r->announced_by),
			    &la, &sa, id);
	}
}

/* show_collect_addresses: the cluster addresses by index, then G6. */
static int
show_collect_addresses(struct ctl *c, struct show_array *a)
{
	static const uint8_t none[16];
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	struct address_row *r;
	uint8_t g[16];
	uint32_t i;

	for (i = 0; i < SHM_GADDR_MAX; i++) {
		show_gaddr(c, 4, i, g);
		if (memcmp(g, none, 4) == 0)
			continue;
		if ((r = show_next(a)) == NULL)
			return -1;
		show_address_row(c, 4, i, g, r);
		a->n++;
	}
	if (memcmp(h->global_addr6, none, 16) != 0) {
		if ((r = show_next(a)) == NULL)
			return -1;
		show_address_row(c, 6, 0, h->global_addr6, r);
		a->n++;
	}
	return 0;
}

/* show_addresses: the cluster addresses and the nodes that carry them. */
int
show_addresses(struct ctl *c)
{
	return show_list(c, &show_address_table, show_collect_addresses);
}

const struct out_table *const show_tables[] = { &show_status_table,
	&show_node_table, &show_ring_table, &show_conn_table, &show_count_table,
	&show_listener_table, &services_table, &show_address_table, NULL };
