/*
 * metrics.c: the cluster in Prometheus' text exposition format (version
 * 0.0.4), read from the segment only; shmnetctl metrics and the daemon's
 * /metrics endpoint both print it from here.
 *
 * One table, mx_families, describes every metric family: its name, type,
 * help and the kind of row it is read from (the cluster, a node, a
 * node's network, a drop reason, a ring, the flows of a node in one
 * state).  metrics_write first copies what the families need out of the
 * live, untrusted segment into rows, one array per kind, validating as
 * it goes; then it prints each family's HELP and TYPE and one sample per
 * row.  The samples of a family stay together, as the format asks; the
 * rows of each kind are one copy (two kinds may be a few frames apart).
 *
 * A new kind of object is a row struct, a collector and a labeller in
 * mx_kinds; each quantity of it is then one line in mx_families.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmnet_private.h"

#define MX_N(a) (sizeof(a) / sizeof(*(a)))
#define LD(x)   atomic_load_explicit(&(x), memory_order_relaxed)
/* A quantity that does not apply to a row: no sample. */
#define MX_NONE   UINT64_MAX
#define MX_LABELS 6

/* The labels of one sample, but the cluster's, which every sample has. */
struct mx_labels {
	size_t n;
	const char *name[MX_LABELS];
	char value[MX_LABELS][64];
};

/* Rows of one kind: n of them, room for cap, size bytes each. */
struct mx_rows {
	void *rows;
	size_t n, cap, size;
};

/* What the collectors read: the segment, and its services read once
 * for the service and backend families alike. */
struct mx_source {
	struct shmseg *seg;
	struct svc_table svc;
};

/* ---- rows ------------------------------------------------------------ */

struct mx_cluster {
	uint64_t segment_size, max_nodes, heap_used, heap_size;
	uint64_t conn_entries, conn_capacity, conn_refused, conn_evicted;
};

struct mx_node {
	uint32_t id;
	uint64_t up, gen, heartbeats, started_ns, listeners, scans;
	uint64_t announces_g, announces_g6; /* gateways in route mode */
};

struct mx_net {
	uint32_t node, net;
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t looped, zero_copy, corrupt, wakes, egress_flows;
};

struct mx_drop {
	uint32_t node, net;
	const char *reason;
	uint64_t frames;
};

enum mx_ring_kind { MX_PAIR, MX_BROADCAST, MX_MULTICAST };

struct mx_ring {
	enum mx_ring_kind kind;
	uint32_t net, node, peer, index;
	uint64_t frames, bytes, drops, used, slots, size;
};

struct mx_flows {
	uint32_t node;
	const char *state;
	uint64_t flows;
};

/* A service of G: "ADDRESS:PORT/PROTO" ([ADDRESS] for IPv6). */
struct mx_service {
	char service[INET6_ADDRSTRLEN + 16];
	uint64_t flows, active, inactive;
};

/* A node under a service. */
struct mx_backend {
	char service[INET6_ADDRSTRLEN + 16];
	uint32_t node;
	uint64_t flows, active, inactive, weight, in_rotation;
	uint64_t check_up, check_ns, queue, queue_max;
};

/* What a node drops, by reason: where each counter is in struct
 * shm_node_stats, and whether only the global network counts it. */
static const struct {
	const char *reason;
	size_t off;
	int global;
} mx_reasons[] = {
	{ "unknown_node", offsetof(struct shm_node_stats, drop_unknown), 0 },
	{ "down", offsetof(struct shm_node_stats, drop_down), 0 },
	{ "ring_full", offsetof(struct shm_node_stats, drop_full), 0 },
	{ "tap", offsetof(struct shm_node_stats, drop_tap), 0 },
	{ "broadcast_lapped", offsetof(struct shm_node_stats, cast_lost), 0 },
	{ "multicast_filtered", offsetof(struct shm_node_stats, mc_filtered),
	    0 },
	{ "no_listener", offsetof(struct shm_node_stats, no_listener), 1 },
	{ "unrouted", offsetof(struct shm_node_stats, unrouted), 1 },
	{ "foreign", offsetof(struct shm_node_stats, foreign), 1 },
	{ "no_gateway", offsetof(struct shm_node_stats, egress_no_gateway), 1 },
	{ "egress_collision", offsetof(struct shm_node_stats, egress_collided),
	    1 },
};

/* The flow states a TCP or UDP flow can be in (conn_state_name). */
static const uint16_t mx_states[] = { SHM_CONN_SYN, SHM_CONN_EST,
	SHM_CONN_CLOSING, SHM_CONN_UDP };

/* mx_next: where the next row goes, zeroed; it counts once the caller
 * adds 1 to n.  NULL when out of memory. */
static void *
mx_next(struct mx_rows *a)
{
	size_t cap = a->cap ? a->cap * 2 : 64;
	void *nr;

	if (a->n == a->cap) {
		if ((nr = reallocarray(a->rows, cap, a->size)) == NULL)
			return NULL;
		a->rows = nr;
		a->cap = cap;
	}
	return memset((char *)a->rows + a->n * a->size, 0, a->size);
}

/* mx_nets: networks in use: the global one when the cluster has G. */
static uint32_t
mx_nets(struct shmseg *seg)
{
	static const uint8_t none[16];
	const struct shm_hdr *h = shmseg_hdr(seg);

	return h->global_addr4 != 0 ||
		memcmp(h->global_addr6, none, sizeof(none)) != 0 ?
	    SHM_NETS :
	    1;
}

/* mx_stat: one counter of a node's stats, at off. */
static uint64_t
mx_stat(struct shm_node_stats *s, size_t off)
{
	return atomic_load_explicit((_Atomic uint64_t *)((char *)s + off),
	    memory_order_relaxed);
}

/* mx_joined: 1 if node id ever joined (its table entry was used). */
static int
mx_joined(struct shmseg *seg, uint32_t id)
{
	struct shm_node *n = shmseg_node(seg, id);

	return n != NULL && LD(n->gen) != 0 && LD(n->state) != SHM_NODE_NEVER;
}

/* mx_collect_cluster: the segment, its heap and the connection table. */
static int
mx_collect_cluster(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(seg);
	uint32_t nb = shmseg_conn_buckets(seg), b, used, total;
	struct shm_conn_bucket *bk;
	struct mx_cluster *r;
	int j;

	if ((r = mx_next(a)) == NULL)
		return -ENOMEM;
	r->segment_size = h->seg_size;
	r->max_nodes = shmseg_max_nodes(seg);
	heap_usage(seg, &used, &total);
	r->heap_used = (uint64_t)used * SHM_PAGE_SIZE;
	r->heap_size = (uint64_t)total * SHM_PAGE_SIZE;
	for (b = 0; b < nb; b++) {
		bk = shmseg_conn_bucket(seg, b);
		for (j = 0; j < SHM_CONN_PER_BUCKET; j++)
			r->conn_entries += bk->e[j].family != 0;
	}
	r->conn_capacity = (uint64_t)nb * SHM_CONN_PER_BUCKET;
	r->conn_refused = LD(h->conn_full);
	r->conn_evicted = LD(h->conn_evicted);
	a->n++;
	return 0;
}

/* mx_node_gateway: what a gateway in route mode announces (MX_NONE on
 * other nodes); nothing while it is down: its routes went with it. */
static void
mx_node_gateway(struct shm_node *n, struct mx_node *r)
{
	uint8_t gw = r->up ? LD(n->gw) : 0;

	r->announces_g = r->announces_g6 = MX_NONE;
	if (!(n->flags & SHM_NODE_F_GATEWAY) || !(LD(n->gw) & SHM_GW_ROUTE))
		return;
	r->announces_g = (gw & SHM_GW_G) != 0;
	if (gw & SHM_GW_HAS6)
		r->announces_g6 = (gw & SHM_GW_G6) != 0;
}

/* mx_collect_nodes: every node that ever joined. */
static int
mx_collect_nodes(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(seg);
	struct shm_listen_table *lt;
	struct shm_node *n;
	struct mx_node *r;

	for (id = 1; id <= max; id++) {
		if (!mx_joined(seg, id))
			continue;
		if ((r = mx_next(a)) == NULL)
			return -ENOMEM;
		n = shmseg_node(seg, id);
		r->id = id;
		r->up = LD(n->state) == SHM_NODE_UP && ofd_alive(seg, id);
		r->gen = LD(n->gen);
		r->heartbeats = LD(n->heartbeat);
		r->started_ns = n->started_ns;
		r->listeners = r->up ? listen_read(seg, id, l) : 0;
		lt = shmseg_listen(seg, id);
		r->scans = lt != NULL ? LD(lt->scans) : MX_NONE;
		mx_node_gateway(n, r);
		a->n++;
	}
	return 0;
}

/* mx_collect_nets: the counters of every joined node's networks. */
static int
mx_collect_nets(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	uint32_t id, net, max = shmseg_max_nodes(seg), nets = mx_nets(seg);
	struct shm_node_stats *s;
	struct mx_net *r;

	for (id = 1; id <= max; id++)
		for (net = 0; net < nets && mx_joined(seg, id); net++) {
			if ((r = mx_next(a)) == NULL)
				return -ENOMEM;
			s = &shmseg_node(seg, id)->stats[net];
			r->node = id;
			r->net = net;
			r->tx_frames = LD(s->tx_frames);
			r->tx_bytes = LD(s->tx_bytes);
			r->rx_frames = LD(s->rx_frames);
			r->rx_bytes = LD(s->rx_bytes);
			r->looped = net == SHM_NET_GLOBAL ? LD(s->looped) :
							    MX_NONE;
			r->egress_flows = net == SHM_NET_GLOBAL ?
			    LD(s->egress_flows) :
			    MX_NONE;
			r->zero_copy = LD(s->zero_copy);
			r->corrupt = LD(s->corrupt);
			r->wakes = LD(s->wakes_recovered);
			a->n++;
		}
	return 0;
}

/* mx_collect_drops: every joined node's drops on each network, by
 * reason (the global network's own reasons on it only). */
static int
mx_collect_drops(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	uint32_t id, net, max = shmseg_max_nodes(seg), nets = mx_nets(seg);
	struct mx_drop *r;
	size_t i;

	for (id = 1; id <= max; id++)
		for (net = 0; net < nets && mx_joined(seg, id); net++)
			for (i = 0; i < MX_N(mx_reasons); i++) {
				if (mx_reasons[i].global &&
				    net != SHM_NET_GLOBAL)
					continue;
				if ((r = mx_next(a)) == NULL)
					return -ENOMEM;
				r->node = id;
				r->net = net;
				r->reason = mx_reasons[i].reason;
				r->frames = mx_stat(
				    &shmseg_node(seg, id)->stats[net],
				    mx_reasons[i].off);
				a->n++;
			}
	return 0;
}

/* mx_ring_fill: the counters of a validated ring header. */
static void
mx_ring_fill(struct mx_ring *r, struct shm_ring_hdr *h, uint32_t slots,
    uint32_t slot_size)
{
	r->frames = LD(h->frames);
	r->bytes = LD(h->bytes);
	r->drops = LD(h->drops);
	r->slots = slots;
	r->size = (uint64_t)slots * slot_size;
}

/* mx_pair: the ring peer -> owner on net, if there is a valid one;
 * returns 1 when r holds it. */
static int
mx_pair(struct shmseg *seg, uint32_t owner, uint32_t net, uint32_t peer,
    struct mx_ring *r)
{
	struct shm_dirent de;
	struct shm_ring_hdr *h;
	uint32_t w, rd, slots;
	int rc;

	if (node_dirent_read(seg, owner, net, peer, &de) != 0 ||
	    (h = shmseg_ring(seg, de.off, de.size)) == NULL)
		return 0;
	rc = ring_check(h, de.size, de.key, (uint16_t)peer, (uint16_t)owner);
	if (rc != 0 && rc != -ENETDOWN)
		return 0;
	slots = h->slots;
	r->kind = MX_PAIR;
	r->net = net;
	r->node = owner;
	r->peer = peer;
	mx_ring_fill(r, h, slots, h->slot_size);
	w = LD(h->widx);
	rd = LD(h->ridx);
	r->used = w - rd > slots ? slots : w - rd;
	return 1;
}

/* mx_cast: a broadcast or multicast ring; 1 when r holds it. */
static int
mx_cast(void *mem, uint32_t size, uint32_t net, enum mx_ring_kind kind,
    uint32_t index, struct mx_ring *r)
{
	struct cast_rx cr;

	if (mem == NULL || cast_attach(&cr, mem, size) != 0)
		return 0;
	r->kind = kind;
	r->net = net;
	r->index = index;
	mx_ring_fill(r, cr.v.hdr, cr.v.slots, cr.v.slot_size);
	r->used = MX_NONE; /* readers are lapped, never behind */
	return 1;
}

/* mx_collect_casts: the broadcast and multicast rings of net. */
static int
mx_collect_casts(struct shmseg *seg, uint32_t net, struct mx_rows *a)
{
	uint32_t i, size;
	struct mx_ring *r;
	void *mem;

	if ((r = mx_next(a)) == NULL)
		return -ENOMEM;
	mem = shmseg_cast(seg, net, &size);
	a->n += (size_t)mx_cast(mem, size, net, MX_BROADCAST, 0, r);
	for (i = 0; i < shmseg_mcast_count(seg, net); i++) {
		if ((r = mx_next(a)) == NULL)
			return -ENOMEM;
		mem = shmseg_mcast(seg, net, i, &size);
		a->n += (size_t)mx_cast(mem, size, net, MX_MULTICAST, i, r);
	}
	return 0;
}

/* mx_collect_rings: the cast rings of the networks in use, then every
 * valid pair ring. */
static int
mx_collect_rings(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	uint32_t max = shmseg_max_nodes(seg), nets = mx_nets(seg);
	uint32_t owner, peer, net;
	struct mx_ring *r;

	for (net = 0; net < nets; net++)
		if (mx_collect_casts(seg, net, a) != 0)
			return -ENOMEM;
	for (owner = 1; owner <= max; owner++)
		for (net = 0; net < nets; net++)
			for (peer = 1; peer <= max; peer++) {
				if ((r = mx_next(a)) == NULL)
					return -ENOMEM;
				a->n += (size_t)mx_pair(seg, owner, net, peer,
				    r);
			}
	return 0;
}

/* mx_count_flow: add the flow in slot e to counts[node][state index],
 * from a consistent copy (the lock-free read the daemons use). */
static void
mx_count_flow(struct shmseg *seg, const struct shm_conn *e,
    uint64_t (*counts)[MX_N(mx_states)])
{
	struct shm_conn f;
	size_t i;

	if (!conn_read_slot(seg, e, &f))
		return;
	for (i = 0; i < MX_N(mx_states); i++)
		if ((LD(f.stflags) & 0xff) == mx_states[i])
			counts[f.node][i]++;
}

/* mx_collect_flows: the flows of the connection table by serving node
 * and state; every state of each UP node, 0 included. */
static int
mx_collect_flows(const struct mx_source *src, struct mx_rows *a)
{
	struct shmseg *seg = src->seg;
	uint32_t nb = shmseg_conn_buckets(seg), max = shmseg_max_nodes(seg);
	uint64_t(*counts)[MX_N(mx_states)];
	struct mx_flows *r;
	uint32_t b, id;
	size_t i;
	int j, rc = 0;

	if ((counts = calloc(max + 1, sizeof(*counts))) == NULL)
		return -ENOMEM;
	for (b = 0; b < nb; b++)
		for (j = 0; j < SHM_CONN_PER_BUCKET; j++)
			mx_count_flow(seg, &shmseg_conn_bucket(seg, b)->e[j],
			    counts);
	for (id = 1; id <= max; id++)
		for (i = 0; i < MX_N(mx_states); i++) {
			if (counts[id][i] == 0 && !node_is_up(seg, id))
				continue;
			if ((r = mx_next(a)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			r->node = id;
			r->state = conn_state_name(mx_states[i]);
			r->flows = counts[id][i];
			a->n++;
		}
out:
	free(counts);
	return rc;
}

/* mx_service_name: "ADDRESS:PORT/PROTO" of service i. */
static void
mx_service_name(const struct svc_info *i, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(i->family == 6 ? AF_INET6 : AF_INET, i->addr, a, sizeof(a));
	snprintf(buf, len, i->family == 6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
	    i->port, i->proto == IPPROTO_TCP ? "tcp" : "udp");
}

/* mx_collect_services: each service of G (svcview.c). */
static int
mx_collect_services(const struct mx_source *src, struct mx_rows *a)
{
	const struct svc_table *v = &src->svc;
	struct mx_service *r;
	size_t i;

	for (i = 0; i < v->ns; i++, a->n++) {
		if ((r = mx_next(a)) == NULL)
			return -ENOMEM;
		mx_service_name(&v->s[i], r->service, sizeof(r->service));
		r->flows = v->s[i].flows;
		r->active = v->s[i].active;
		r->inactive = v->s[i].inactive;
	}
	return 0;
}

/* mx_backend_row: backend b of the services in v as a row. */
static void
mx_backend_row(const struct svc_table *v, const struct svc_backend *b,
    struct mx_backend *r)
{
	mx_service_name(&v->s[b->service], r->service, sizeof(r->service));
	r->node = b->node;
	r->flows = b->flows;
	r->active = b->active;
	r->inactive = b->inactive;
	r->weight = b->weight;
	r->in_rotation = b->state == SVC_ACTIVE;
	r->check_up = b->check == SHM_CHECK_UP ? 1 :
	    b->check == SHM_CHECK_DOWN         ? 0 :
						 MX_NONE;
	r->check_ns = b->check == SHM_CHECK_NONE ?
	    0 :
	    b->check_since * 1000000000ull;
	r->queue = v->s[b->service].proto == IPPROTO_TCP ? b->queue : MX_NONE;
	r->queue_max = v->s[b->service].proto == IPPROTO_TCP ? b->queue_max :
							       MX_NONE;
}

/* mx_collect_backends: each node under each service of G. */
static int
mx_collect_backends(const struct mx_source *src, struct mx_rows *a)
{
	const struct svc_table *v = &src->svc;
	struct mx_backend *r;
	size_t i;

	for (i = 0; i < v->nb; i++, a->n++) {
		if ((r = mx_next(a)) == NULL)
			return -ENOMEM;
		mx_backend_row(v, &v->b[i], r);
	}
	return 0;
}

/* ---- labels ---------------------------------------------------------- */

/* mx_label: add name="value" (printf) to a sample's labels. */
static void __attribute__((format(printf, 3, 4)))
mx_label(struct mx_labels *l, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (l->n == MX_LABELS)
		return;
	l->name[l->n] = name;
	va_start(ap, fmt);
	vsnprintf(l->value[l->n], sizeof(l->value[l->n]), fmt, ap);
	va_end(ap);
	l->n++;
}

/* mx_net_name: the network label. */
static const char *
mx_net_name(uint32_t net)
{
	return net == SHM_NET_LOCAL ? "local" : "global";
}

/* mx_labels_cluster: the cluster's quantities have its label only. */
static void
mx_labels_cluster(const void *row, struct mx_labels *l)
{
}

/* mx_labels_node: node. */
static void
mx_labels_node(const void *row, struct mx_labels *l)
{
	mx_label(l, "node", "%u", ((const struct mx_node *)row)->id);
}

/* mx_labels_net: node and network. */
static void
mx_labels_net(const void *row, struct mx_labels *l)
{
	const struct mx_net *r = row;

	mx_label(l, "node", "%u", r->node);
	mx_label(l, "network", "%s", mx_net_name(r->net));
}

/* mx_labels_drop: node, network and reason. */
static void
mx_labels_drop(const void *row, struct mx_labels *l)
{
	const struct mx_drop *r = row;

	mx_label(l, "node", "%u", r->node);
	mx_label(l, "network", "%s", mx_net_name(r->net));
	mx_label(l, "reason", "%s", r->reason);
}

/* mx_labels_ring: a pair ring's receiving node and sending peer, the
 * network and kind; a multicast ring's index instead of the nodes. */
static void
mx_labels_ring(const void *row, struct mx_labels *l)
{
	static const char *const kinds[] = { "pair", "broadcast", "multicast" };
	const struct mx_ring *r = row;

	if (r->kind == MX_PAIR) {
		mx_label(l, "node", "%u", r->node);
		mx_label(l, "peer", "%u", r->peer);
	}
	mx_label(l, "network", "%s", mx_net_name(r->net));
	mx_label(l, "kind", "%s", kinds[r->kind]);
	if (r->kind == MX_MULTICAST)
		mx_label(l, "index", "%u", r->index);
}

/* mx_labels_flows: serving node and state. */
static void
mx_labels_flows(const void *row, struct mx_labels *l)
{
	const struct mx_flows *r = row;

	mx_label(l, "node", "%u", r->node);
	mx_label(l, "state", "%s", r->state);
}

/* mx_labels_service: service. */
static void
mx_labels_service(const void *row, struct mx_labels *l)
{
	mx_label(l, "service", "%s", ((const struct mx_service *)row)->service);
}

/* mx_labels_backend: service and node. */
static void
mx_labels_backend(const void *row, struct mx_labels *l)
{
	const struct mx_backend *r = row;

	mx_label(l, "service", "%s", r->service);
	mx_label(l, "node", "%u", r->node);
}

/* ---- the description ------------------------------------------------- */

enum mx_kind {
	MX_CLUSTER,
	MX_NODE,
	MX_NET,
	MX_DROP,
	MX_RING,
	MX_FLOWS,
	MX_SERVICE,
	MX_BACKEND,
	MX_KINDS
};

/* How the rows of a kind are found and labelled. */
static const struct {
	size_t rowsize;
	int (*collect)(const struct mx_source *, struct mx_rows *);
	void (*labels)(const void *, struct mx_labels *);
} mx_kinds[MX_KINDS] = {
	[MX_CLUSTER] = { sizeof(struct mx_cluster), mx_collect_cluster,
	    mx_labels_cluster },
	[MX_NODE] = { sizeof(struct mx_node), mx_collect_nodes,
	    mx_labels_node },
	[MX_NET] = { sizeof(struct mx_net), mx_collect_nets, mx_labels_net },
	[MX_DROP] = { sizeof(struct mx_drop), mx_collect_drops,
	    mx_labels_drop },
	[MX_RING] = { sizeof(struct mx_ring), mx_collect_rings,
	    mx_labels_ring },
	[MX_FLOWS] = { sizeof(struct mx_flows), mx_collect_flows,
	    mx_labels_flows },
	[MX_SERVICE] = { sizeof(struct mx_service), mx_collect_services,
	    mx_labels_service },
	[MX_BACKEND] = { sizeof(struct mx_backend), mx_collect_backends,
	    mx_labels_backend },
};

/* How a family's value is printed. */
enum mx_scale {
	MX_PLAIN, /* the integer */
	MX_NS,    /* nanoseconds, printed as seconds; 0 is unknown */
};

/* One metric family: shmnet_<name>, one sample per row of its kind
 * (but rows whose value at off is MX_NONE). */
struct mx_family {
	const char *name;
	const char *type;
	enum mx_kind kind;
	size_t off; /* of a uint64_t in the row */
	enum mx_scale scale;
	const char *help;
};

#define C(f)    MX_CLUSTER, offsetof(struct mx_cluster, f), MX_PLAIN
#define N(f)    MX_NODE, offsetof(struct mx_node, f), MX_PLAIN
#define NET(f)  MX_NET, offsetof(struct mx_net, f), MX_PLAIN
#define RING(f) MX_RING, offsetof(struct mx_ring, f), MX_PLAIN
#define SVC(f)  MX_SERVICE, offsetof(struct mx_service, f), MX_PLAIN
#define BE(f)   MX_BACKEND, offsetof(struct mx_backend, f), MX_PLAIN
static const struct mx_family mx_families[] = {
	{ "segment_size_bytes", "gauge", C(segment_size),
	    "Size of the cluster's shared-memory segment." },
	{ "max_nodes", "gauge", C(max_nodes),
	    "Nodes the segment has room for." },
	{ "heap_used_bytes", "gauge", C(heap_used),
	    "Heap memory (pair rings) in use, free pages in quarantine "
	    "included." },
	{ "heap_size_bytes", "gauge", C(heap_size),
	    "Heap memory the pair rings are carved from." },
	{ "conn_entries", "gauge", C(conn_entries),
	    "Flows the global network's connection table holds." },
	{ "conn_capacity", "gauge", C(conn_capacity),
	    "Flows the connection table can hold." },
	{ "conn_refused_total", "counter", C(conn_refused),
	    "New flows the connection table could not record (both their "
	    "buckets held flows that must stay); they go by their hash." },
	{ "conn_evicted_total", "counter", C(conn_evicted),
	    "Embryonic, closing or echo flows that gave their place to a "
	    "new one." },
	{ "conn_flows", "gauge", MX_FLOWS, offsetof(struct mx_flows, flows),
	    MX_PLAIN,
	    "Flows of the connection table by serving node and state." },
	{ "node_up", "gauge", N(up),
	    "1 while the node's daemon holds its lock and has not left." },
	{ "node_generation", "gauge", N(gen),
	    "Generation of the node: bumped each time a daemon claims it." },
	{ "node_heartbeats_total", "counter", N(heartbeats),
	    "Ticks of the node's main loop (one a second)." },
	{ "node_start_time_seconds", "gauge", MX_NODE,
	    offsetof(struct mx_node, started_ns), MX_NS,
	    "When the node's daemon joined, in seconds since the epoch." },
	{ "node_listeners", "gauge", N(listeners),
	    "Sockets the node publishes for the global address." },
	{ "node_listener_scans_total", "counter", N(scans),
	    "Listener scans the node ran." },
	{ "gateway_announces_g", "gauge", N(announces_g),
	    "1 while a gateway in route mode keeps the route to G for its "
	    "routing daemon to announce." },
	{ "gateway_announces_g6", "gauge", N(announces_g6),
	    "The same for G6." },
	{ "node_tx_frames_total", "counter", NET(tx_frames),
	    "Frames the node took from its interface." },
	{ "node_tx_bytes_total", "counter", NET(tx_bytes),
	    "Bytes of the frames the node took from its interface." },
	{ "node_rx_frames_total", "counter", NET(rx_frames),
	    "Frames the node wrote to its interface." },
	{ "node_rx_bytes_total", "counter", NET(rx_bytes),
	    "Bytes of the frames the node wrote to its interface." },
	{ "node_drops_total", "counter", MX_DROP,
	    offsetof(struct mx_drop, frames), MX_PLAIN,
	    "Frames the node dropped, by reason." },
	{ "node_looped_frames_total", "counter", NET(looped),
	    "Global network frames the node served itself, not sent to a "
	    "ring." },
	{ "node_egress_flows_total", "counter", NET(egress_flows),
	    "Flows the node opened from G to the outside, through the "
	    "gateways." },
	{ "node_zero_copy_frames_total", "counter", NET(zero_copy),
	    "Frames read from the interface straight into a ring." },
	{ "node_corrupt_rings_total", "counter", NET(corrupt),
	    "Rings the node found holding data that cannot be valid." },
	{ "node_wakes_recovered_total", "counter", NET(wakes),
	    "Wake-ups of the node's receive thread that a peer claimed and "
	    "never made, made good by its main loop." },
	{ "ring_frames_total", "counter", RING(frames),
	    "Frames written to the ring." },
	{ "ring_bytes_total", "counter", RING(bytes),
	    "Bytes of the frames written to the ring." },
	{ "ring_drops_total", "counter", RING(drops),
	    "Frames the ring's writers dropped (ring full, frame too "
	    "large, lock kept)." },
	{ "ring_used_slots", "gauge", RING(used),
	    "Slots of a pair ring written and not yet read." },
	{ "ring_slots", "gauge", RING(slots), "Slots of the ring." },
	{ "ring_size_bytes", "gauge", RING(size),
	    "Frame data the ring holds when full (slots times slot size)." },
	{ "service_flows_total", "counter", SVC(flows),
	    "New flows of the service of G, since the segment was made." },
	{ "service_active_flows", "gauge", SVC(active),
	    "Flows of the service now: established TCP, UDP." },
	{ "service_inactive_flows", "gauge", SVC(inactive),
	    "Flows of the service now: handshakes, closing." },
	{ "backend_flows_total", "counter", BE(flows),
	    "New flows of the service picked for the node, since its daemon "
	    "started." },
	{ "backend_active_flows", "gauge", BE(active),
	    "Flows of the service the node serves now: established TCP, "
	    "UDP." },
	{ "backend_inactive_flows", "gauge", BE(inactive),
	    "Flows of the service the node serves now: handshakes, "
	    "closing." },
	{ "backend_weight", "gauge", BE(weight),
	    "The node's weight for the service's port (0: no new flow)." },
	{ "backend_in_rotation", "gauge", BE(in_rotation),
	    "1 when the node takes new flows of the service: listening, "
	    "weight above 0, not drained, accept queue not full, check not "
	    "failing." },
	{ "backend_check_up", "gauge", BE(check_up),
	    "1 when the node's health check of the service passes, 0 when "
	    "it fails; absent without a check or before its first "
	    "decision." },
	{ "backend_check_change_time_seconds", "gauge", MX_BACKEND,
	    offsetof(struct mx_backend, check_ns), MX_NS,
	    "When the node's health check of the service last changed, in "
	    "seconds since the epoch." },
	{ "backend_queue_length", "gauge", BE(queue),
	    "Connections waiting in the accept queues of the node's TCP "
	    "sockets of the service." },
	{ "backend_queue_limit", "gauge", BE(queue_max),
	    "The limit of those accept queues (their backlogs)." },
};
#undef C
#undef N
#undef NET
#undef RING
#undef SVC
#undef BE

/* ---- the text format ------------------------------------------------- */

/* mx_escape: a label value: backslash, double quote and newline
 * escaped; other control characters and bytes outside ASCII (a name a
 * peer wrote into the segment need not be UTF-8) shown as '?'. */
static void
mx_escape(FILE *fp, const char *s)
{
	unsigned char ch;

	for (; (ch = (unsigned char)*s) != '\0'; s++) {
		if (ch == '\\' || ch == '"')
			fprintf(fp, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", fp);
		else
			fputc(ch < 0x20 || ch >= 0x7f ? '?' : ch, fp);
	}
}

/* mx_help: HELP text: backslash and newline escaped. */
static void
mx_help(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
}

/* mx_sample: one sample of family f from row, if it has the value. */
static void
mx_sample(FILE *fp, const char *cluster, const struct mx_family *f,
    const void *row)
{
	uint64_t v = *(const uint64_t *)((const char *)row + f->off);
	struct mx_labels l = { 0 };
	size_t i;

	if (v == MX_NONE || (f->scale == MX_NS && v == 0))
		return;
	mx_kinds[f->kind].labels(row, &l);
	fprintf(fp, "shmnet_%s{cluster=\"", f->name);
	mx_escape(fp, cluster);
	for (i = 0; i < l.n; i++) {
		fprintf(fp, "\",%s=\"", l.name[i]);
		mx_escape(fp, l.value[i]);
	}
	if (f->scale == MX_NS)
		fprintf(fp, "\"} %llu.%03llu\n",
		    (unsigned long long)(v / 1000000000),
		    (unsigned long long)(v / 1000000 % 1000));
	else
		fprintf(fp, "\"} %llu\n", (unsigned long long)v);
}

/* mx_family: a family's HELP, TYPE and samples. */
static void
mx_family(FILE *fp, const char *cluster, const struct mx_family *f,
    const struct mx_rows *rows)
{
	const struct mx_rows *a = &rows[f->kind];
	size_t i;

	fprintf(fp, "# HELP shmnet_%s ", f->name);
	mx_help(fp, f->help);
	fprintf(fp, "\n# TYPE shmnet_%s %s\n", f->name, f->type);
	for (i = 0; i < a->n; i++)
		mx_sample(fp, cluster, f, (const char *)a->rows + i * a->size);
}

/* metrics_write: every family, from rows copied out of the segment. */
int
metrics_write(struct shmseg *seg, FILE *fp)
{
	struct mx_source src = { .seg = seg };
	struct mx_rows rows[MX_KINDS];
	char cluster[SHM_CLUSTER_MAX];
	size_t i;
	int rc;

	memset(rows, 0, sizeof(rows));
	memcpy(cluster, shmseg_hdr(seg)->cluster, sizeof(cluster));
	cluster[sizeof(cluster) - 1] = '\0';
	rc = svc_table_read(seg, &src.svc);
	for (i = 0; i < MX_KINDS && rc == 0; i++) {
		rows[i].size = mx_kinds[i].rowsize;
		rc = mx_kinds[i].collect(&src, &rows[i]);
	}
	for (i = 0; i < MX_N(mx_families) && rc == 0; i++)
		mx_family(fp, cluster, &mx_families[i], rows);
	for (i = 0; i < MX_KINDS; i++)
		free(rows[i].rows);
	svc_table_free(&src.svc);
	if (rc == 0 && (fflush(fp) != 0 || ferror(fp)))
		rc = -EIO;
	return rc;
}
