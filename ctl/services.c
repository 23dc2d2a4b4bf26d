/*
 * services.c: shmnetctl services, the cluster address as a load
 * balancer's table: one entry per service (G or G6, protocol, port) with
 * its flows, and under it each backend (a node that listens, or still
 * serves flows of it) with its weight, state, flows and health.  It reads
 * the listener tables, the backends' weights, the services' counters and
 * the connection table, all untrusted, and validates what it copies.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

#define SVC_N(a) (sizeof(a) / sizeof(*(a)))

/* A backend's state. */
#define SVC_ACTIVE   0 /* takes new flows */
#define SVC_DRAINING 1 /* weight 0 or drained, flows left */
#define SVC_DRAINED  2 /* ... none left */
#define SVC_DOWN     3 /* queue full, check failing, node down */
#define SVC_CLOSED   4 /* listens no more, flows left */

struct service_row {
	uint32_t proto;
	char address[INET6_ADDRSTRLEN];
	uint32_t port, family;
	uint64_t flows;
	uint32_t rate, active, inactive;
};

struct backend_row {
	uint32_t service; /* index of its service_row */
	uint32_t node, weight, state, active, inactive;
	uint64_t flows;
	uint32_t check, check_age;
	uint64_t check_since;
	uint32_t queue, queue_max;
	uint32_t listens, full, failing; /* collecting */
};

/* services_state: name of a backend's state. */
static const char *
services_state(uint32_t st)
{
	static const char *const names[] = { "active", "draining", "drained",
		"down", "closed" };

	return st < SVC_N(names) ? names[st] : "?";
}

/* services_check: name of a check's state. */
static const char *
services_check(uint32_t st)
{
	static const char *const names[] = { "none", "pending", "up", "down" };

	return st < SVC_N(names) ? names[st] : "?";
}

/* services_proto: a service's protocol. */
static const char *
services_proto(uint32_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "?";
}

#define SR(m) OUT_AT(service_row, m)
static const struct out_field services_fields[] = {
	{ "proto", "PROTO", OUT_NAME, SR(proto), .width = -5,
	    .names = services_proto },
	{ "address", "SERVICE", OUT_STR, SR(address), .width = 24 },
	{ "port", NULL, OUT_UINT, SR(port), .width = -5, .glue = ":" },
	{ "family", NULL, OUT_UINT, SR(family) },
	{ "flows", "FLOWS", OUT_UINT, SR(flows), .width = 10 },
	{ "rate", "RATE/S", OUT_UINT, SR(rate), .width = 7 },
	{ "active", "ACTIVE", OUT_UINT, SR(active), .width = 7 },
	{ "inactive", "INACTIVE", OUT_UINT, SR(inactive), .width = 8 },
};
#undef SR

#define BR(m) OUT_AT(backend_row, m)
static const struct out_field backend_fields[] = {
	{ "node", "NODE", OUT_UINT, BR(node), .width = -4 },
	{ "weight", "WEIGHT", OUT_UINT, BR(weight), .width = 6 },
	{ "state", "STATE", OUT_NAME, BR(state), .width = -8,
	    .names = services_state },
	{ "active", "ACTIVE", OUT_UINT, BR(active), .width = 7 },
	{ "inactive", "INACTIVE", OUT_UINT, BR(inactive), .width = 8 },
	{ "flows", "FLOWS", OUT_UINT, BR(flows), .width = 10 },
	{ "check", "CHECK", OUT_NAME, BR(check), .width = -7,
	    .names = services_check },
	{ NULL, "CHANGED", OUT_UINT, BR(check_age), .width = 7, .unit = "s" },
	{ "check_since", NULL, OUT_UINT, BR(check_since), .flags = OUT_OPT },
	{ "queue", "QUEUE", OUT_UINT, BR(queue), .width = 5 },
	{ "queue_max", NULL, OUT_UINT, BR(queue_max), .width = -5,
	    .glue = "/" },
};
#undef BR

static const struct out_table backend_table = { .cmd = "backends",
	.fields = backend_fields,
	.nfields = SVC_N(backend_fields),
	.rowsize = sizeof(struct backend_row),
	.parent_off = offsetof(struct backend_row, service) };

const struct out_table services_table = { .cmd = "services",
	.fields = services_fields,
	.nfields = SVC_N(services_fields),
	.rowsize = sizeof(struct service_row),
	.sub = &backend_table,
	.subkey = "backends" };

/* What services_show collects. */
struct services {
	struct service_row *s;
	struct backend_row *b;
	size_t ns, nb, caps, capb;
};

/* services_grow: room for one more row in *rows (n used, *cap). */
static int
services_grow(void **rows, size_t n, size_t *cap, size_t size)
{
	void *nr;

	if (n < *cap)
		return 0;
	if ((nr = reallocarray(*rows, *cap ? *cap * 2 : 16, size)) == NULL) {
		fprintf(stderr, "shmnetctl: out of memory\n");
		return -1;
	}
	*rows = nr;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

/* services_find: the index of service (family, proto, port), added if
 * new; -1 when out of memory. */
static long
services_find(struct services *v, struct ctl *c, uint32_t family,
    uint32_t proto, uint32_t port)
{
	const struct shm_hdr *h = shmseg_hdr(c->seg);
	struct service_row *r;
	size_t i;

	for (i = 0; i < v->ns; i++)
		if (v->s[i].family == family && v->s[i].proto == proto &&
		    v->s[i].port == port)
			return (long)i;
	if (services_grow((void **)&v->s, v->ns, &v->caps, sizeof(*v->s)))
		return -1;
	r = memset(&v->s[v->ns], 0, sizeof(*r));
	r->family = family;
	r->proto = proto;
	r->port = port;
	inet_ntop(family == 6 ? AF_INET6 : AF_INET,
	    family == 6 ? (const void *)h->global_addr6 :
			  (const void *)&h->global_addr4,
	    r->address, sizeof(r->address));
	return (long)v->ns++;
}

/* services_backend: node's row under service svc, added if new; NULL
 * when out of memory. */
static struct backend_row *
services_backend(struct services *v, uint32_t svc, uint32_t node)
{
	struct backend_row *b;
	size_t i;

	for (i = 0; i < v->nb; i++)
		if (v->b[i].service == svc && v->b[i].node == node)
			return &v->b[i];
	if (services_grow((void **)&v->b, v->nb, &v->capb, sizeof(*v->b)))
		return NULL;
	b = memset(&v->b[v->nb++], 0, sizeof(*b));
	b->service = svc;
	b->node = node;
	return b;
}

/* services_listener: one published listener of node id. */
static int
services_listener(struct services *v, struct ctl *c, uint32_t id,
    const struct shm_listen *l, time_t now)
{
	struct backend_row *b;
	long svc;

	if ((l->family != 4 && l->family != 6) ||
	    (l->proto != IPPROTO_TCP && l->proto != IPPROTO_UDP))
		return 0;
	if ((svc = services_find(v, c, l->family, l->proto, l->port)) < 0 ||
	    (b = services_backend(v, (uint32_t)svc, id)) == NULL)
		return -1;
	b->listens++;
	b->full += (l->flags & SHM_LISTEN_FULL) != 0;
	b->failing += (l->flags & SHM_LISTEN_FAILING) != 0;
	b->queue += l->qlen;
	b->queue_max += l->qmax;
	if (l->check > b->check) {
		b->check = l->check;
		b->check_since = l->check_since;
		b->check_age = l->check_since != 0 && now > l->check_since ?
		    (uint32_t)(now - l->check_since) :
		    0;
	}
	return 0;
}

/* services_listeners: every UP node's published listeners. */
static int
services_listeners(struct services *v, struct ctl *c)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(c->seg), n, i;
	time_t now = time(NULL);

	for (id = 1; id <= max; id++) {
		n = node_is_up(c->seg, id) ? listen_read(c->seg, id, l) : 0;
		for (i = 0; i < n; i++)
			if (services_listener(v, c, id, &l[i], now) != 0)
				return -1;
	}
	return 0;
}

/* services_flows: count every live flow under its service and node:
 * established TCP and UDP flows are active, handshakes and closing ones
 * inactive (as ipvsadm counts them). */
static int
services_flows(struct services *v, struct ctl *c)
{
	uint32_t nb = shmseg_conn_buckets(c->seg), i, st;
	struct backend_row *b;
	struct shm_conn f;
	long svc;
	int k;

	for (i = 0; i < nb; i++)
		for (k = 0; k < SHM_CONN_PER_BUCKET; k++) {
			if (!show_flow(c, &shmseg_conn_bucket(c->seg, i)->e[k],
				&f) ||
			    (f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP))
				continue;
			if ((svc = services_find(v, c, f.family, f.proto,
				 f.lport)) < 0 ||
			    (b = services_backend(v, (uint32_t)svc, f.node)) ==
				NULL)
				return -1;
			st = atomic_load_explicit(&f.stflags,
				 memory_order_relaxed) &
			    0xff;
			if (st == SHM_CONN_EST || st == SHM_CONN_UDP)
				b->active++;
			else
				b->inactive++;
		}
	return 0;
}

/* services_finish: each backend's weight, state and flows, and each
 * service's sums. */
static void
services_finish(struct services *v, struct ctl *c)
{
	uint32_t now = conn_now(), key;
	struct service_row *s;
	struct backend_row *b;
	struct backend_view bv;
	const struct shm_svc *e;
	size_t i;

	for (i = 0; i < v->ns; i++) {
		s = &v->s[i];
		key = svc_key((uint8_t)s->family, (uint8_t)s->proto,
		    (uint16_t)s->port);
		if ((e = svc_find(c->seg, key)) != NULL) {
			s->flows = atomic_load_explicit(&e->flows,
			    memory_order_relaxed);
			s->rate = svc_rate(e, now);
		}
	}
	for (i = 0; i < v->nb; i++) {
		b = &v->b[i];
		s = &v->s[b->service];
		backend_view(c->seg, b->node, (uint16_t)s->port, &bv);
		b->weight = bv.weight;
		b->flows = backend_flows(c->seg, b->node,
		    svc_key((uint8_t)s->family, (uint8_t)s->proto,
			(uint16_t)s->port));
		if (!node_is_up(c->seg, b->node) ||
		    (b->listens > 0 && (b->full == b->listens || b->failing)))
			b->state = SVC_DOWN;
		else if (b->listens == 0)
			b->state = SVC_CLOSED;
		else if (bv.drained || bv.weight == 0)
			b->state = b->active + b->inactive ? SVC_DRAINING :
							     SVC_DRAINED;
		else
			b->state = SVC_ACTIVE;
		s->active += b->active;
		s->inactive += b->inactive;
	}
}

/* services_cmp: services by family, protocol, port. */
static int
services_cmp(const void *a, const void *b)
{
	const struct service_row *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* services_sort: services in order, their backends by node. */
static int
services_sort(struct services *v)
{
	struct service_row *sorted;
	struct backend_row t;
	size_t i, k;

	/* sort a copy, then point each backend at its service's new place */
	if (v->ns == 0)
		return 0;
	if ((sorted = calloc(v->ns, sizeof(*sorted))) == NULL) {
		fprintf(stderr, "shmnetctl: out of memory\n");
		return -1;
	}
	memcpy(sorted, v->s, v->ns * sizeof(*sorted));
	qsort(sorted, v->ns, sizeof(*sorted), services_cmp);
	for (i = 0; i < v->nb; i++)
		for (k = 0; k < v->ns; k++)
			if (services_cmp(&sorted[k], &v->s[v->b[i].service]) ==
			    0) {
				v->b[i].service = (uint32_t)k;
				break;
			}
	free(v->s);
	v->s = sorted;
	v->caps = v->ns;
	for (i = 1; i < v->nb; i++) /* few: insertion sort */
		for (k = i; k > 0 &&
		     (v->b[k - 1].service > v->b[k].service ||
			 (v->b[k - 1].service == v->b[k].service &&
			     v->b[k - 1].node > v->b[k].node));
		     k--) {
			t = v->b[k];
			v->b[k] = v->b[k - 1];
			v->b[k - 1] = t;
		}
	return 0;
}

/* services_show: shmnetctl services. */
int
services_show(struct ctl *c)
{
	struct services v = { 0 };
	int rc = -1;

	if (services_listeners(&v, c) == 0 && services_flows(&v, c) == 0 &&
	    (services_finish(&v, c), services_sort(&v)) == 0)
		rc = out_nested(c, &services_table, v.s, v.ns, v.b, v.nb);
	free(v.s);
	free(v.b);
	return rc;
}

/* services_proto_name: IPPROTO_TCP or _UDP from "tcp" or "udp", else 0. */
static uint32_t
services_proto_name(const char *p)
{
	return strcmp(p, "tcp") == 0 ? IPPROTO_TCP :
	    strcmp(p, "udp") == 0    ? IPPROTO_UDP :
				       0;
}

/* services_parse: a service named [ADDR:]PORT[/PROTO] ([ADDR6]:PORT for
 * IPv6): the address only says the family.  0, or -EINVAL. */
int
services_parse(const char *name, struct ctl_service *out)
{
	char buf[128], *port, *proto, *end;
	unsigned char a[16];
	unsigned long v;

	memset(out, 0, sizeof(*out));
	if (strlen(name) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, name);
	if ((proto = strchr(buf, '/')) != NULL) {
		*proto++ = '\0';
		if ((out->proto = services_proto_name(proto)) == 0)
			return -EINVAL;
	}
	port = buf;
	if (buf[0] == '[' && (end = strstr(buf, "]:")) != NULL) {
		*end = '\0';
		if (inet_pton(AF_INET6, buf + 1, a) != 1)
			return -EINVAL;
		out->family = 6;
		port = end + 2;
	} else if ((end = strrchr(buf, ':')) != NULL) {
		*end = '\0';
		if (inet_pton(AF_INET, buf, a) != 1)
			return -EINVAL;
		out->family = 4;
		port = end + 1;
	}
	errno = 0;
	v = strtoul(port, &end, 10);
	if (errno != 0 || end == port || *end != '\0' || v < 1 || v > 65535)
		return -EINVAL;
	out->port = (uint32_t)v;
	return 0;
}

/* services_match: does (family, proto, port) fall under want? */
int
services_match(const struct ctl_service *want, uint32_t family, uint32_t proto,
    uint32_t port)
{
	return (want->family == 0 || want->family == family) &&
	    (want->proto == 0 || want->proto == proto) &&
	    (want->port == 0 || want->port == port);
}
