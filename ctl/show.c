/*
 * show.c: shmnetctl's printers.  Each command first copies what it needs
 * out of the (untrusted, live) segment into rows, validating as it goes,
 * then prints the rows as a table or as JSON.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct node_row {
	uint32_t	id, gen, pid;
	int		up;
	uint8_t		mac[6];
	char		addr[INET_ADDRSTRLEN + 4];
	uint64_t	heartbeat;
	struct shm_node_stats_copy {
		uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes,
		    drop_unknown, drop_down, drop_full, drop_tap, cast_lost,
		    corrupt, zero_copy, mc_filtered, wakes_recovered;
	} st;
};

struct ring_row {
	const char	*kind;		/* "pair", "broadcast" or "multicast" */
	const char	*net;
	uint32_t	 from, to, slots, slot_size, used, gen;
	uint64_t	 frames, bytes, drops, key, recoveries;
	const char	*state;
	char		 label[18];	/* cast rings: group MAC, "-" free */
};

static const char *const show_net_names[SHM_NETS] = { "local", "global" };

#define LD(x)	atomic_load_explicit(&(x), memory_order_relaxed)

/* show_node_row: copy one node table entry; 0 if never used. */
static int
show_node_row(struct ctl *c, uint32_t id, struct node_row *r)
{
	struct shm_node *n = shmseg_node(c->seg, id);
	struct shm_node_stats *s = &n->stats[SHM_NET_LOCAL];
	struct in_addr a;
	char ab[INET_ADDRSTRLEN];

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->gen = LD(n->gen);
	if (r->gen == 0 || LD(n->state) == SHM_NODE_NEVER)
		return 0;
	r->up = LD(n->state) == SHM_NODE_UP && ofd_alive(c->seg, id);
	r->pid = n->pid;
	memcpy(r->mac, n->mac[SHM_NET_LOCAL], 6);
	a.s_addr = n->addr4[SHM_NET_LOCAL];
	inet_ntop(AF_INET, &a, ab, sizeof(ab));
	snprintf(r->addr, sizeof(r->addr), "%s/%u", ab,
	    n->prefix4[SHM_NET_LOCAL] <= 32 ? n->prefix4[SHM_NET_LOCAL] : 0);
	r->heartbeat = LD(n->heartbeat);
	r->st.tx_frames = LD(s->tx_frames);
	r->st.tx_bytes = LD(s->tx_bytes);
	r->st.rx_frames = LD(s->rx_frames);
	r->st.rx_bytes = LD(s->rx_bytes);
	r->st.drop_unknown = LD(s->drop_unknown);
	r->st.drop_down = LD(s->drop_down);
	r->st.drop_full = LD(s->drop_full);
	r->st.drop_tap = LD(s->drop_tap);
	r->st.cast_lost = LD(s->cast_lost);
	r->st.corrupt = LD(s->corrupt);
	r->st.zero_copy = LD(s->zero_copy);
	r->st.mc_filtered = LD(s->mc_filtered);
	r->st.wakes_recovered = LD(s->wakes_recovered);
	return 1;
}

/* show_ring_state: name of a ring state. */
static const char *
show_ring_state(uint32_t st)
{
	switch (st) {
	case SHM_RING_UP: return "up";
	case SHM_RING_DOWN: return "down";
	case SHM_RING_CORRUPT: return "corrupt";
	}
	return "invalid";
}

/* show_ring_fill: counters of a validated ring header. */
static void
show_ring_fill(struct ring_row *r, struct shm_ring_hdr *h, uint32_t slots)
{
	uint32_t w = LD(h->widx), rd = LD(h->ridx);

	r->frames = LD(h->frames);
	r->bytes = LD(h->bytes);
	r->drops = LD(h->drops);
	r->used = w - rd > slots ? slots : w - rd;
	r->state = show_ring_state(LD(h->state));
}

/* show_pair_row: the ring peer -> owner on net, if there is a valid one. */
static int
show_pair_row(struct ctl *c, uint32_t owner, uint32_t net, uint32_t peer,
    struct ring_row *r)
{
	struct shm_dirent de;
	void *mem;
	int rc;

	if (node_dirent_read(c->seg, owner, net, peer, &de) != 0 ||
	    (mem = shmseg_at(c->seg, de.off, de.size)) == NULL)
		return 0;
	memset(r, 0, sizeof(*r));
	r->kind = "pair";
	r->net = show_net_names[net];
	r->from = peer;
	r->to = owner;
	r->key = de.key;
	r->gen = de.peer_gen;
	rc = ring_check(mem, de.size, de.key, (uint16_t)peer, (uint16_t)owner);
	if (rc == 0 || rc == -ENETDOWN) {
		struct shm_ring_hdr *h = mem;
		r->slots = h->slots;
		r->slot_size = h->slot_size;
		show_ring_fill(r, h, r->slots);
	} else
		r->state = "invalid";
	return 1;
}

/* show_cast_row: a broadcast or multicast ring; 0 if it is invalid. */
static int
show_cast_row(void *mem, uint32_t size, uint32_t net, const char *kind,
    struct ring_row *r)
{
	struct cast_rx cr;
	uint64_t label;
	uint8_t mac[6];

	memset(r, 0, sizeof(*r));
	if (mem == NULL || cast_attach(&cr, mem, size) != 0)
		return 0;
	r->kind = kind;
	r->net = show_net_names[net];
	r->slots = cr.v.slots;
	r->slot_size = cr.v.slot_size;
	show_ring_fill(r, cr.v.hdr, cr.v.slots);
	r->used = LD(cr.v.hdr->widx) < cr.v.slots ? LD(cr.v.hdr->widx) :
	    cr.v.slots;
	r->recoveries = LD(cr.v.hdr->lock.recoveries);
	label = LD(cr.v.hdr->label);
	if (strcmp(kind, "broadcast") == 0)
		snprintf(r->label, sizeof(r->label), "ff:ff:ff:ff:ff:ff");
	else if (!(label & SHM_LABEL_VALID))
		snprintf(r->label, sizeof(r->label), "-");
	else {
		mcast_label_mac(label, mac);
		frame_mac_str(mac, r->label, sizeof(r->label));
	}
	return 1;
}

/* show_collect_casts: broadcast and multicast rings of the networks in
 * use (the global one only when the cluster has a global address). */
static size_t
show_collect_casts(struct ctl *c, struct ring_row *rows)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	uint32_t net, i, size;
	size_t n = 0;
	void *mem;

	for (net = 0; net < SHM_NETS; net++) {
		if (net == SHM_NET_GLOBAL && h->global_addr4 == 0)
			continue;
		mem = shmseg_cast(c->seg, net, &size);
		n += (size_t)show_cast_row(mem, size, net, "broadcast",
		    &rows[n]);
		for (i = 0; i < shmseg_mcast_count(c->seg, net); i++) {
			mem = shmseg_mcast(c->seg, net, i, &size);
			n += (size_t)show_cast_row(mem, size, net, "multicast",
			    &rows[n]);
		}
	}
	return n;
}

/* show_collect_rings: every pair ring of UP nodes plus cast rings. */
static struct ring_row *
show_collect_rings(struct ctl *c, size_t *count)
{
	uint32_t max = shmseg_max_nodes(c->seg), owner, peer, net;
	struct ring_row *rows;
	size_t n = 0, cap = 2 * (SHM_MCAST_MAX + 1) + 16;

	if ((rows = calloc(cap, sizeof(*rows))) == NULL)
		return NULL;
	n = show_collect_casts(c, rows);
	for (owner = 1; owner <= max; owner++)
		for (net = 0; net < SHM_NETS; net++)
			for (peer = 1; peer <= max; peer++) {
				if (n == cap) {
					struct ring_row *nr = realloc(rows,
					    cap * 2 * sizeof(*rows));
					if (nr == NULL)
						goto out;
					rows = nr;
					cap *= 2;
				}
				n += (size_t)show_pair_row(c, owner, net, peer,
				    &rows[n]);
			}
out:
	*count = n;
	return rows;
}

/* json_str: print a JSON string with escapes. */
static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

/* show_nodes: the node table. */
int
show_nodes(struct ctl *c)
{
	uint32_t id, max = shmseg_max_nodes(c->seg);
	struct node_row r;
	char mac[18];
	int first = 1;

	if (c->json)
		fprintf(c->out, "[");
	else
		fprintf(c->out, "%-5s %-5s %-5s %-8s %-17s %-18s %12s %12s "
		    "%8s\n", "ID", "STATE", "GEN", "PID", "MAC", "ADDRESS",
		    "TX-FRAMES", "RX-FRAMES", "DROPS");
	for (id = 1; id <= max; id++) {
		if (!show_node_row(c, id, &r))
			continue;
		frame_mac_str(r.mac, mac, sizeof(mac));
		if (!c->json) {
			fprintf(c->out, "%-5u %-5s %-5u %-8u %-17s %-18s "
			    "%12" PRIu64 " %12" PRIu64 " %8" PRIu64 "\n", r.id,
			    r.up ? "up" : "down", r.gen, r.pid, mac, r.addr,
			    r.st.tx_frames, r.st.rx_frames, r.st.drop_unknown +
			    r.st.drop_down + r.st.drop_full + r.st.drop_tap);
			continue;
		}
		fprintf(c->out, "%s\n  {\"id\": %u, \"state\": \"%s\", "
		    "\"generation\": %u, \"pid\": %u, \"mac\": \"%s\", "
		    "\"address\": \"%s\", \"heartbeat\": %" PRIu64 ", "
		    "\"tx_frames\": %" PRIu64 ", \"tx_bytes\": %" PRIu64 ", "
		    "\"rx_frames\": %" PRIu64 ", \"rx_bytes\": %" PRIu64 ", "
		    "\"drop_unknown\": %" PRIu64 ", \"drop_down\": %" PRIu64
		    ", \"drop_full\": %" PRIu64 ", \"drop_tap\": %" PRIu64
		    ", \"broadcast_lost\": %" PRIu64 ", \"corrupt\": %" PRIu64
		    ", \"zero_copy\": %" PRIu64 ", \"multicast_filtered\": %"
		    PRIu64 ", \"wakes_recovered\": %" PRIu64 "}",
		    first ? "" : ",", r.id,
		    r.up ? "up" : "down", r.gen, r.pid, mac, r.addr,
		    r.heartbeat, r.st.tx_frames, r.st.tx_bytes, r.st.rx_frames,
		    r.st.rx_bytes, r.st.drop_unknown, r.st.drop_down,
		    r.st.drop_full, r.st.drop_tap, r.st.cast_lost, r.st.corrupt,
		    r.st.zero_copy, r.st.mc_filtered, r.st.wakes_recovered);
		first = 0;
	}
	if (c->json)
		fprintf(c->out, "%s]\n", first ? "" : "\n");
	return 0;
}

/* show_rings: pair and broadcast rings. */
int
show_rings(struct ctl *c)
{
	struct ring_row *rows, *r;
	size_t n, i;

	if ((rows = show_collect_rings(c, &n)) == NULL)
		return -1;
	if (c->json)
		fprintf(c->out, "[");
	else
		fprintf(c->out, "%-9s %-6s %4s %4s %6s %6s %6s %12s %14s %8s "
		    "%-7s %5s %-17s %s\n", "KIND", "NET", "FROM", "TO", "SLOTS",
		    "SLOTSZ", "USED", "FRAMES", "BYTES", "DROPS", "STATE", "GEN",
		    "LABEL", "KEY");
	for (i = 0; i < n; i++) {
		r = &rows[i];
		if (!c->json) {
			char f[8] = "*", t[8] = "*";
			if (strcmp(r->kind, "pair") == 0) {
				snprintf(f, sizeof(f), "%u", r->from);
				snprintf(t, sizeof(t), "%u", r->to);
			}
			fprintf(c->out, "%-9s %-6s %4s %4s %6u %6u %6u %12"
			    PRIu64 " %14" PRIu64 " %8" PRIu64 " %-7s %5u "
			    "%-17s %016" PRIx64 "\n", r->kind, r->net, f, t,
			    r->slots, r->slot_size, r->used, r->frames,
			    r->bytes, r->drops, r->state, r->gen,
			    r->label[0] ? r->label : "-", r->key);
			continue;
		}
		fprintf(c->out, "%s\n  {\"kind\": \"%s\", \"net\": \"%s\", "
		    "\"from\": %u, \"to\": %u, \"slots\": %u, \"slot_size\": %u, "
		    "\"used\": %u, \"frames\": %" PRIu64 ", \"bytes\": %" PRIu64
		    ", \"drops\": %" PRIu64 ", \"state\": \"%s\", "
		    "\"generation\": %u, \"key\": \"%016" PRIx64 "\", "
		    "\"label\": \"%s\", \"lock_recoveries\": %" PRIu64 "}",
		    i ? "," : "", r->kind, r->net, r->from, r->to, r->slots,
		    r->slot_size, r->used, r->frames, r->bytes, r->drops,
		    r->state, r->gen, r->key, r->label[0] ? r->label : "-",
		    r->recoveries);
	}
	if (c->json)
		fprintf(c->out, "%s]\n", n ? "\n" : "");
	free(rows);
	return 0;
}

/* show_status: one screen about the cluster. */
int
show_status(struct ctl *c)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	uint32_t id, max = shmseg_max_nodes(c->seg), up = 0, known = 0;
	uint32_t used, total;
	struct ring_row *rows;
	struct node_row r;
	uint64_t tx = 0, rx = 0, drops = 0, flows = 0, full;
	size_t nrings, i, pairs = 0;
	uint32_t nb, b;
	int j;
	char name[SHM_CLUSTER_MAX], g[INET_ADDRSTRLEN];

	memcpy(name, h->cluster, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	for (id = 1; id <= max; id++) {
		if (!show_node_row(c, id, &r))
			continue;
		known++;
		up += (uint32_t)r.up;
		tx += r.st.tx_frames;
		rx += r.st.rx_frames;
		drops += r.st.drop_unknown + r.st.drop_down + r.st.drop_full +
		    r.st.drop_tap;
	}
	heap_usage(c->seg, &used, &total);
	if ((rows = show_collect_rings(c, &nrings)) == NULL)
		return -1;
	for (i = 0; i < nrings; i++)
		pairs += strcmp(rows[i].kind, "pair") == 0;
	free(rows);
	nb = shmseg_conn_buckets(c->seg);
	for (b = 0; b < nb; b++)
		for (j = 0; j < SHM_CONN_PER_BUCKET; j++)
			flows += shmseg_conn_bucket(c->seg, b)->e[j].family != 0;
	inet_ntop(AF_INET, &h->global_addr4, g, sizeof(g));
	full = atomic_load_explicit(&((struct shm_hdr *)h)->conn_full,
	    memory_order_relaxed);
	if (c->json) {
		fprintf(c->out, "{\"cluster\": ");
		json_str(c->out, name);
		fprintf(c->out, ", \"segment\": ");
		json_str(c->out, c->path);
		fprintf(c->out, ", \"version\": \"%u.%u\", \"size\": %" PRIu64
		    ", \"max_nodes\": %u, \"nodes_up\": %u, \"nodes_known\": %u, "
		    "\"pair_rings\": %zu, \"heap_pages_used\": %u, "
		    "\"heap_pages\": %u, \"tx_frames\": %" PRIu64 ", "
		    "\"rx_frames\": %" PRIu64 ", \"drops\": %" PRIu64 ", "
		    "\"global_address\": \"%s\", \"flows\": %" PRIu64 ", "
		    "\"flow_slots\": %u, \"flows_refused\": %" PRIu64 "}\n",
		    h->version >> 8, h->version & 0xff, h->seg_size, max, up,
		    known, pairs, used, total, tx, rx, drops, g, flows,
		    nb * SHM_CONN_PER_BUCKET, full);
		return 0;
	}
	fprintf(c->out, "cluster   %s\nsegment   %s (layout %u.%u, %" PRIu64
	    " MiB, max %u nodes)\nnodes     %u up, %u known\n"
	    "rings     %zu pair rings, heap %u of %u pages in use (%" PRIu64
	    " KiB)\ntraffic   %" PRIu64 " frames sent, %" PRIu64 " received, %"
	    PRIu64 " dropped\nglobal    %s: %" PRIu64 " flows of %u, %" PRIu64
	    " refused (bucket full)\n", name, c->path, h->version >> 8,
	    h->version & 0xff, h->seg_size >> 20, max, up, known, pairs, used,
	    total, (uint64_t)used * SHM_PAGE_SIZE / 1024, tx, rx, drops, g,
	    flows, nb * SHM_CONN_PER_BUCKET, full);
	return 0;
}

static const char *
show_proto(uint8_t p)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	}
	return "?";
}

/* show_conn_row: one flow, text or JSON. */
static void
show_conn_row(struct ctl *c, const struct shm_conn *e, const char *g,
    const char *g6, uint32_t now, int first)
{
	char fa[INET6_ADDRSTRLEN];
	const char *gl = e->family == 6 ? g6 : g;
	uint16_t st = atomic_load_explicit(&e->stflags, memory_order_relaxed);
	uint32_t age = now - e->created,
	    idle = now - atomic_load_explicit(&e->last_seen,
	    memory_order_relaxed);

	inet_ntop(e->family == 6 ? AF_INET6 : AF_INET, e->faddr, fa,
	    sizeof(fa));
	if (!c->json) {
		fprintf(c->out, "%-5s %15s:%-5u %15s:%-5u %4u %7u %-11s %6u "
		    "%6u %10" PRIu64 " %12" PRIu64 "\n", show_proto(e->proto),
		    gl, e->lport, fa, e->fport, e->node, e->ingress,
		    conn_state_name(st), age, idle,
		    (uint64_t)atomic_load(&e->packets),
		    (uint64_t)atomic_load(&e->bytes));
		return;
	}
	fprintf(c->out, "%s\n  {\"proto\": \"%s\", \"local\": \"%s\", "
	    "\"lport\": %u, \"foreign\": \"%s\", \"fport\": %u, \"node\": %u, "
	    "\"ingress\": %u, \"state\": \"%s\", \"age\": %u, \"idle\": %u, "
	    "\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
	    first ? "" : ",", show_proto(e->proto), gl, e->lport, fa, e->fport,
	    e->node, e->ingress, conn_state_name(st), age, idle,
	    (uint64_t)atomic_load(&e->packets),
	    (uint64_t)atomic_load(&e->bytes));
}

/* show_conns: every live flow of the connection table. */
int
show_conns(struct ctl *c)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	uint32_t nb = shmseg_conn_buckets(c->seg), b, now = conn_now(),
	    max = shmseg_max_nodes(c->seg);
	struct shm_conn_bucket *bk;
	struct shm_conn e;
	struct conn_key k;
	char g[INET_ADDRSTRLEN], g6[INET6_ADDRSTRLEN];
	int i, first = 1;

	inet_ntop(AF_INET, &h->global_addr4, g, sizeof(g));
	inet_ntop(AF_INET6, h->global_addr6, g6, sizeof(g6));
	if (c->json)
		fprintf(c->out, "[");
	else
		fprintf(c->out, "%-5s %21s %21s %4s %7s %-11s %6s %6s %10s "
		    "%12s\n", "PROTO", "LOCAL", "FOREIGN", "NODE", "INGRESS",
		    "STATE", "AGE", "IDLE", "PACKETS", "BYTES");
	for (b = 0; b < nb; b++) {
		bk = shmseg_conn_bucket(c->seg, b);
		for (i = 0; i < SHM_CONN_PER_BUCKET; i++) {
			if (bk->e[i].family != 4 && bk->e[i].family != 6)
				continue;
			k.family = bk->e[i].family;
			k.proto = bk->e[i].proto;
			k.lport = bk->e[i].lport;
			k.fport = bk->e[i].fport;
			memcpy(k.faddr, bk->e[i].faddr, 16);
			/* a consistent copy, through the same lock-free read
			 * the daemons use; skip what changed under us */
			if (conn_lookup(c->seg, &k, &e, NULL) != 1 ||
			    e.node < 1 || e.node > max)
				continue;
			show_conn_row(c, &e, g, g6, now, first);
			first = 0;
		}
	}
	if (c->json)
		fprintf(c->out, "%s]\n", first ? "" : "\n");
	return 0;
}

/* show_listeners: what every UP node publishes. */
int
show_listeners(struct ctl *c)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(c->seg), n, i;
	char g[INET_ADDRSTRLEN], g6[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
	const char *addr;
	int first = 1;

	inet_ntop(AF_INET, &h->global_addr4, g, sizeof(g));
	inet_ntop(AF_INET6, h->global_addr6, g6, sizeof(g6));
	if (c->json)
		fprintf(c->out, "[");
	else
		fprintf(c->out, "%-5s %-5s %-24s %-5s %s\n", "NODE", "PROTO",
		    "ADDRESS", "PORT", "PEER");
	for (id = 1; id <= max; id++) {
		if (atomic_load(&shmseg_node(c->seg, id)->state) !=
		    SHM_NODE_UP || !ofd_alive(c->seg, id))
			continue;
		n = listen_read(c->seg, id, l);
		for (i = 0; i < n; i++) {
			if (l[i].family == 6)
				addr = (l[i].flags & SHM_LISTEN_SPECIFIC) ? g6 :
				    "::";
			else
				addr = (l[i].flags & SHM_LISTEN_SPECIFIC) ? g :
				    "0.0.0.0";
			ra[0] = '\0';
			if (l[i].flags & SHM_LISTEN_REMOTE)
				inet_ntop(l[i].family == 6 ? AF_INET6 : AF_INET,
				    l[i].raddr, ra, sizeof(ra));
			if (!c->json) {
				fprintf(c->out, "%-5u %-5s %-24s %-5u", id,
				    show_proto(l[i].proto), addr, l[i].port);
				if (ra[0])
					fprintf(c->out, " %s:%u", ra,
					    l[i].rport);
				fputc('\n', c->out);
				continue;
			}
			fprintf(c->out, "%s\n  {\"node\": %u, \"proto\": \"%s\", "
			    "\"family\": %u, \"address\": \"%s\", \"port\": %u",
			    first ? "" : ",", id, show_proto(l[i].proto),
			    l[i].family, addr, l[i].port);
			if (ra[0])
				fprintf(c->out, ", \"peer\": \"%s\", "
				    "\"peer_port\": %u", ra, l[i].rport);
			fputc('}', c->out);
			first = 0;
		}
	}
	if (c->json)
		fprintf(c->out, "%s]\n", first ? "" : "\n");
	return 0;
}
