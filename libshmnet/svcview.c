/*
 * svcview.c: the services of the cluster addresses and their backends as
 * a reader sees them (shmnetctl services, the metrics): each service (a
 * cluster address or G6, protocol, port) some node listens on or still
 * has flows of, and under it each node with its weight, state, flows and
 * health.  A wildcard socket serves every address its node carries, so
 * it is a backend of the port's service on each of them.  It reads the
 * address table, the listener tables, the backends, the services'
 * counters and the connection table, all untrusted, and writes nothing.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmnet_private.h"

/* The most services a view holds: more are left out (the segment's
 * rotation table has SHM_SVC_SLOTS; a scribbled table could name one per
 * flow). */
#define SV_SERVICES_MAX SHM_SVC_SLOTS

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

/* sv_index_grow: the index of backends (service * (max_nodes + 1) +
 * node -> row + 1, 0 none) with room for services [0, caps). */
static int
sv_index_grow(struct svc_table *v, size_t old_caps)
{
	size_t per = v->max_nodes + 1;
	uint32_t *ni;

	if ((ni = reallocarray(v->bidx, v->caps * per, sizeof(*ni))) == NULL)
		return -ENOMEM;
	memset(ni + old_caps * per, 0,
	    (v->caps - old_caps) * per * sizeof(*ni));
	v->bidx = ni;
	return 0;
}

/* sv_find: the index of service (family, aidx, proto, port), added if
 * new; -ENOMEM, or -ENOSPC past SV_SERVICES_MAX. */
static long
sv_find(struct svc_table *v, uint32_t family, uint32_t aidx, uint32_t proto,
    uint32_t port)
{
	size_t i, caps = v->caps;
	struct svc_info *r;

	for (i = 0; i < v->ns; i++)
		if (v->s[i].port == port && v->s[i].proto == proto &&
		    v->s[i].family == family && v->s[i].aidx == aidx)
			return (long)i;
	if (v->ns == SV_SERVICES_MAX)
		return -ENOSPC;
	if (sv_grow((void **)&v->s, v->ns, &v->caps, sizeof(*v->s)) != 0 ||
	    (v->caps != caps && sv_index_grow(v, caps) != 0))
		return -ENOMEM;
	r = memset(&v->s[v->ns], 0, sizeof(*r));
	r->family = family;
	r->aidx = aidx;
	if (family == 6)
		memcpy(r->addr, v->g6, sizeof(r->addr));
	else if (aidx < SHM_GADDR_MAX)
		memcpy(r->addr, &v->g4[aidx], 4);
	r->proto = proto;
	r->port = port;
	return (long)v->ns++;
}

/* sv_backend: node's row under service svc, added if new; NULL when out
 * of memory. */
static struct svc_backend *
sv_backend(struct svc_table *v, uint32_t svc, uint32_t node)
{
	uint32_t *slot = &v->bidx[svc * (v->max_nodes + 1) + node];
	struct svc_backend *b = NULL;

	if (*slot != 0)
		return &v->b[*slot - 1];
	if (sv_grow((void **)&v->b, v->nb, &v->capb, sizeof(*v->b)) != 0)
		return NULL;
	b = memset(&v->b[v->nb++], 0, sizeof(*b));
	b->service = svc;
	b->node = node;
	*slot = (uint32_t)v->nb;
	return b;
}

/* sv_where: the row of node under service (family, aidx, proto, port),
 * added if new; 0, -ENOSPC (too many services: left out) or -ENOMEM. */
static int
sv_where(struct svc_table *v, uint32_t family, uint32_t aidx, uint32_t proto,
    uint32_t port, uint32_t node, struct svc_backend **out)
{
	long svc = sv_find(v, family, aidx, proto, port);

	if (svc < 0)
		return (int)svc;
	return (*out = sv_backend(v, (uint32_t)svc, node)) != NULL ? 0 :
								     -ENOMEM;
}

/* sv_listener_at: one published listener of node id, as a backend of
 * the service of address index aidx. */
static int
sv_listener_at(struct svc_table *v, uint32_t id, const struct shm_listen *l,
    uint32_t aidx)
{
	struct svc_backend *b = NULL;
	int rc;

	if ((rc = sv_where(v, l->family, aidx, l->proto, l->port, id, &b)) != 0)
		return rc == -ENOSPC ? 0 : rc;
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

/* sv_listener: one published listener of node id, which carries the
 * addresses of carried: a backend of the service of its address, or,
 * bound to the wildcard address, of each address the node carries. */
static int
sv_listener(struct svc_table *v, uint32_t id, const struct shm_listen *l,
    uint32_t carried)
{
	uint32_t i;
	int rc;

	if ((l->family != 4 && l->family != 6) ||
	    (l->proto != IPPROTO_TCP && l->proto != IPPROTO_UDP))
		return 0;
	if (l->family == 6)
		return sv_listener_at(v, id, l, 0);
	if (l->flags & SHM_LISTEN_SPECIFIC)
		carried &= 1u << SHM_LISTEN_AIDX(l->flags);
	for (i = 0; i < SHM_GADDR_MAX; i++)
		if ((carried & (1u << i)) &&
		    (rc = sv_listener_at(v, id, l, i)) != 0)
			return rc;
	return 0;
}

/* sv_listeners: every UP node's published listeners. */
static int
sv_listeners(struct svc_table *v, struct shmseg *seg)
{
	struct shm_listen l[SHM_LISTEN_MAX];
	uint32_t id, max = shmseg_max_nodes(seg), n, i, carried;

	for (id = 1; id <= max; id++) {
		n = node_is_up(seg, id) ? listen_read(seg, id, l) : 0;
		carried = gaddr_carried(seg, id) & v->mask4;
		for (i = 0; i < n; i++)
			if (sv_listener(v, id, &l[i], carried) != 0)
				return -ENOMEM;
	}
	return 0;
}

/* sv_flows: every live flow counted under its service and node:
 * established TCP and UDP flows are active, handshakes and closing ones
 * inactive (as ipvsadm counts them).  A flow a node opened to the
 * outside is no service's. */
static int
sv_flows(struct svc_table *v, struct shmseg *seg)
{
	uint32_t nb = shmseg_conn_buckets(seg), i, st;
	struct svc_backend *b = NULL;
	struct shm_conn f;
	int k, rc;

	for (i = 0; i < nb; i++)
		for (k = 0; k < SHM_CONN_PER_BUCKET; k++) {
			if (!conn_read_slot(seg,
				&shmseg_conn_bucket(seg, i)->e[k], &f) ||
			    (f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP))
				continue;
			st = atomic_load_explicit(&f.stflags,
			    memory_order_relaxed);
			if (st & SHM_CONN_EGRESS) /* no service's */
				continue;
			if ((f.family == 6 ? f.aidx != 0 :
					     !((v->mask4 >> f.aidx) & 1)) ||
			    (rc = sv_where(v, f.family, f.aidx, f.proto,
				 f.lport, f.node, &b)) == -ENOSPC)
				continue;
			if (rc != 0)
				return rc;
			st &= 0xff;
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
	if (!node_is_up(seg, b->node) || bv->stalled ||
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
	struct svc_backend *b = NULL;
	size_t i;

	for (i = 0; i < v->ns; i++) {
		s = &v->s[i];
		key = svc_key((uint8_t)s->family, (uint8_t)s->aidx,
		    (uint8_t)s->proto, (uint16_t)s->port);
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
		    svc_key((uint8_t)s->family, (uint8_t)s->aidx,
			(uint8_t)s->proto, (uint16_t)s->port));
		b->state = sv_state(seg, b, &bv);
		s->active += b->active;
		s->inactive += b->inactive;
	}
}

/* sv_cmp: services by family, address, protocol, port. */
static int
sv_cmp(const void *a, const void *b)
{
	const struct svc_info *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->aidx != y->aidx)
		return x->aidx < y->aidx ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* sv_bcmp: backends by service, then node. */
static int
sv_bcmp(const void *a, const void *b)
{
	const struct svc_backend *x = a, *y = b;

	if (x->service != y->service)
		return x->service < y->service ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* sv_sort: services in order, each backend following its service (its
 * index), backends by service, then node. */
static int
sv_sort(struct svc_table *v)
{
	uint32_t *moved;
	size_t i;

	if (v->ns == 0)
		return 0;
	if ((moved = calloc(v->ns, sizeof(*moved))) == NULL)
		return -ENOMEM;
	for (i = 0; i < v->ns; i++)
		v->s[i].backends = (uint32_t)i; /* its index, for a moment */
	qsort(v->s, v->ns, sizeof(*v->s), sv_cmp);
	for (i = 0; i < v->ns; i++) {
		moved[v->s[i].backends] = (uint32_t)i;
		v->s[i].backends = 0;
	}
	for (i = 0; i < v->nb; i++)
		v->b[i].service = moved[v->b[i].service];
	free(moved);
	qsort(v->b, v->nb, sizeof(*v->b), sv_bcmp);
	return 0;
}

/* svc_table_read: the services of the cluster and their backends. */
int
svc_table_read(struct shmseg *seg, struct svc_table *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->max_nodes = shmseg_max_nodes(seg);
	v->mask4 = gaddr_read(seg, v->g4, NULL);
	memcpy(v->g6, shmseg_hdr(seg)->global_addr6, sizeof(v->g6));
	if (sv_listeners(v, seg) != 0 || sv_flows(v, seg) != 0) {
		svc_table_free(v);
		return -ENOMEM;
	}
	sv_finish(v, seg);
	if (sv_sort(v) != 0) {
		svc_table_free(v);
		return -ENOMEM;
	}
	free(v->bidx); /* rows moved: the index is stale */
	v->bidx = NULL;
	for (i = 0; i < v->nb; i++)
		v->s[v->b[i].service].backends++;
	return 0;
}

/* svc_table_free: undo svc_table_read. */
void
svc_table_free(struct svc_table *v)
{
	free(v->s);
	free(v->b);
	free(v->bidx);
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
