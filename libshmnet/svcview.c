/*
 * svcview.c: the services of the cluster address and their backends as a
 * reader sees them (shmnetctl services, the metrics): each service (G or
 * G6, protocol, port) some node listens on or still has flows of, and
 * under it each node with its weight, state, flows and health.  It reads
 * the listener tables, the backends, the services' counters and the
 * connection table, all untrusted, and writes nothing.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmnet_private.h"

/* sv_grow: room for one more row in *rows (n used, *cap). */
static int
sv_grow(void **rows, size_t n, size_t *cap, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 16;
	void *nr;

	if (n < *cap)
		return 0;
	if ((nr = reallocarray(*rows, nc, size)) == NULL)
		return -ENOMEM;
	*rows = nr;
	*cap = nc;
	return 0;
}

/* sv_find: the index of service (family, proto, port), added if new;
 * -ENOMEM. */
static long
sv_find(struct svc_table *v, uint32_t family, uint32_t proto, uint32_t port)
{
	struct svc_info *r;
	size_t i;

	for (i = 0; i < v->ns; i++)
		if (v->s[i].family == family && v->s[i].proto == proto &&
		    v->s[i].port == port)
			return (long)i;
	if (sv_grow((void **)&v->s, v->ns, &v->caps, sizeof(*v->s)) != 0)
		return -ENOMEM;
	r = memset(&v->s[v->ns], 0, sizeof(*r));
	r->family = family;
	r->proto = proto;
	r->port = port;
	return (long)v->ns++;
}

/* sv_backend: node's row under service svc, added if new; NULL when out
 * of memory. */
static struct svc_backend *
sv_backend(struct svc_table *v, uint32_t svc, uint32_t node)
{
	struct svc_backend *b;
	size_t i;

	for (i = 0; i < v->nb; i++)
		if (v->b[i].service == svc && v->b[i].node == node)
			return &v->b[i];
	if (sv_grow((void **)&v->b, v->nb, &v->capb, sizeof(*v->b)) != 0)
		return NULL;
	b = memset(&v->b[v->nb++], 0, sizeof(*b));
	b->service = svc;
	b->node = node;
	return b;
}

/* sv_listener: one published listener of node id. */
static int
sv_listener(struct svc_table *v, uint32_t id, const struct shm_listen *l)
{
	struct svc_backend *b;
	long svc;

	if ((l->family != 4 && l->family != 6) ||
	    (l->proto != IPPROTO_TCP && l->proto != IPPROTO_UDP))
		return 0;
	if ((svc = sv_find(v, l->family, l->proto, l->port)) < 0 ||
	    (b = sv_backend(v, (uint32_t)svc, id)) == NULL)
		return -ENOMEM;
	b->listens++;
	b->full += (l->flags & SHM_LISTEN_FULL) != 0;
	b->failing += (l->flags & SHM_LISTEN_FAILING) != 0;
	b->queue += l->qlen;
	b->queue_max += l->qmax;
	if (l->check > b->check && l->check <= SHM_CHECK_DOWN) {
		b->check = l->check;
		b->check_since = l->check_since;
	}
	return 0;
}

/* sv_listeners: every UP node's published listeners. */
static int
sv_listeners(struct svc_table *v, struct shmseg *seg)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(seg), n, i;

	for (id = 1; id <= max; id++) {
		n = node_is_up(seg, id) ? listen_read(seg, id, l) : 0;
		for (i = 0; i < n; i++)
			if (sv_listener(v, id, &l[i]) != 0)
				return -ENOMEM;
	}
	return 0;
}

/* sv_flow: a consistent copy of the flow in slot e (the lock-free read
 * the daemons use) in *f; 0 when there is none a reader can trust. */
static int
sv_flow(struct shmseg *seg, const struct shm_conn *e, struct shm_conn *f)
{
	struct conn_key k = { .family = e->family,
		.proto = e->proto,
		.lport = e->lport,
		.fport = e->fport };

	memcpy(k.faddr, e->faddr, sizeof(k.faddr));
	return (k.family == 4 || k.family == 6) &&
	    (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP) &&
	    conn_lookup(seg, &k, f, NULL) == 1 && f->node >= 1 &&
	    f->node <= shmseg_max_nodes(seg);
}

/* sv_flows: every live flow counted under its service and node:
 * established TCP and UDP flows are active, handshakes and closing ones
 * inactive (as ipvsadm counts them). */
static int
sv_flows(struct svc_table *v, struct shmseg *seg)
{
	uint32_t nb = shmseg_conn_buckets(seg), i, st;
	struct svc_backend *b;
	struct shm_conn f;
	long svc;
	int k;

	for (i = 0; i < nb; i++)
		for (k = 0; k < SHM_CONN_PER_BUCKET; k++) {
			if (!sv_flow(seg, &shmseg_conn_bucket(seg, i)->e[k],
				&f))
				continue;
			if ((svc = sv_find(v, f.family, f.proto, f.lport)) <
				0 ||
			    (b = sv_backend(v, (uint32_t)svc, f.node)) == NULL)
				return -ENOMEM;
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

/* sv_state: a backend's state from what was collected. */
static uint32_t
sv_state(struct shmseg *seg, const struct svc_backend *b,
    const struct backend_view *bv)
{
	if (!node_is_up(seg, b->node) ||
	    (b->listens > 0 && (b->full == b->listens || b->failing)))
		return SVC_DOWN;
	if (b->listens == 0)
		return SVC_CLOSED;
	if (bv->drained || bv->weight == 0)
		return b->active + b->inactive ? SVC_DRAINING : SVC_DRAINED;
	return SVC_ACTIVE;
}

/* sv_finish: each backend's weight, state and flows, each service's
 * counters and sums. */
static void
sv_finish(struct svc_table *v, struct shmseg *seg)
{
	uint32_t now = conn_now(), key;
	const struct shm_svc *e;
	struct backend_view bv;
	struct svc_info *s;
	struct svc_backend *b;
	size_t i;

	for (i = 0; i < v->ns; i++) {
		s = &v->s[i];
		key = svc_key((uint8_t)s->family, (uint8_t)s->proto,
		    (uint16_t)s->port);
		if ((e = svc_find(seg, key)) != NULL) {
			s->flows = atomic_load_explicit(&e->flows,
			    memory_order_relaxed);
			s->rate = svc_rate(e, now);
		}
	}
	for (i = 0; i < v->nb; i++) {
		b = &v->b[i];
		s = &v->s[b->service];
		backend_view(seg, b->node, (uint16_t)s->port, &bv);
		b->weight = bv.weight;
		b->flows = backend_flows(seg, b->node,
		    svc_key((uint8_t)s->family, (uint8_t)s->proto,
			(uint16_t)s->port));
		b->state = sv_state(seg, b, &bv);
		s->active += b->active;
		s->inactive += b->inactive;
		s->backends++;
	}
}

/* sv_cmp: services by family, protocol, port. */
static int
sv_cmp(const struct svc_info *x, const struct svc_info *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* sv_sort: services in order (insertion: they are few), each backend
 * following its service; backends by service, then node. */
static void
sv_sort(struct svc_table *v)
{
	struct svc_backend tb;
	struct svc_info ts;
	size_t i, k, j;

	for (i = 1; i < v->ns; i++)
		for (k = i; k > 0 && sv_cmp(&v->s[k - 1], &v->s[k]) > 0; k--) {
			ts = v->s[k];
			v->s[k] = v->s[k - 1];
			v->s[k - 1] = ts;
			for (j = 0; j < v->nb; j++) /* swap k and k - 1 */
				if (v->b[j].service == k)
					v->b[j].service = (uint32_t)k - 1;
				else if (v->b[j].service == k - 1)
					v->b[j].service = (uint32_t)k;
		}
	for (i = 1; i < v->nb; i++)
		for (k = i; k > 0 &&
		     (v->b[k - 1].service > v->b[k].service ||
			 (v->b[k - 1].service == v->b[k].service &&
			     v->b[k - 1].node > v->b[k].node));
		     k--) {
			tb = v->b[k];
			v->b[k] = v->b[k - 1];
			v->b[k - 1] = tb;
		}
}

/* svc_table_read: the services of the cluster and their backends. */
int
svc_table_read(struct shmseg *seg, struct svc_table *v)
{
	memset(v, 0, sizeof(*v));
	if (sv_listeners(v, seg) != 0 || sv_flows(v, seg) != 0) {
		svc_table_free(v);
		return -ENOMEM;
	}
	sv_finish(v, seg);
	sv_sort(v);
	return 0;
}

/* svc_table_free: undo svc_table_read. */
void
svc_table_free(struct svc_table *v)
{
	free(v->s);
	free(v->b);
	memset(v, 0, sizeof(*v));
}

/* svc_state_name: for displays. */
const char *
svc_state_name(uint32_t state)
{
	static const char *const names[] = { "active", "draining", "drained",
		"down", "closed" };

	return state < sizeof(names) / sizeof(*names) ? names[state] : "?";
}

/* svc_check_name: for displays. */
const char *
svc_check_name(uint32_t check)
{
	static const char *const names[] = { "none", "pending", "up", "down" };

	return check < sizeof(names) / sizeof(*names) ? names[check] : "?";
}
