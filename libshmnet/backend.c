/*
 * backend.c: each node as a backend of the cluster address: the weight
 * its daemon configures, shmnetctl's weight and drain (for the node or
 * one port), the flows picked for it per service, and, in this process
 * only, the nodes it saw stop answering.
 *
 * Writers are the node's daemon (its configured weight, at claim and
 * reload), any shmnetctl with write access (weights, drain) and every
 * picker (counts); each word is written whole with atomics, so no lock
 * is needed and a writer dying halfway leaves nothing torn.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "shmnet_private.h"

/* backend_port_word: the override word of port in b, NULL if none. */
static _Atomic uint64_t *
backend_port_word(struct shm_backend *b, uint16_t port)
{
	uint64_t w;
	int i;

	for (i = 0; i < SHM_BACKEND_PORTS; i++) {
		w = atomic_load_explicit(&b->port[i], memory_order_relaxed);
		if ((w & SHM_ADMIN_USED) && (uint16_t)(w >> 32) == port)
			return &b->port[i];
	}
	return NULL;
}

/* backend_port_take: port's override word in b, taken from a free one
 * if it has none; NULL when all are taken.  Two writers taking a word
 * for one port at once both keep the first of the port's words, and
 * give back the other. */
static _Atomic uint64_t *
backend_port_take(struct shm_backend *b, uint16_t port)
{
	const uint64_t mine = SHM_ADMIN_USED | (uint64_t)port << 32;
	_Atomic uint64_t *p, *first;
	uint64_t zero;
	int i;

	if ((p = backend_port_word(b, port)) != NULL)
		return p;
	for (i = 0; i < SHM_BACKEND_PORTS; i++) {
		zero = 0;
		if (!atomic_compare_exchange_strong(&b->port[i], &zero, mine))
			continue;
		if ((first = backend_port_word(b, port)) != &b->port[i]) {
			zero = mine; /* not ours to free if used already */
			atomic_compare_exchange_strong(&b->port[i], &zero, 0);
		}
		return first != NULL ? first : &b->port[i]; /* freed: the
							      * caller tries
							      * again */
	}
	return NULL;
}

/* backend_writable: node id's entry, for a writer; NULL and *rc set when
 * there is none or this mapping is read-only. */
static struct shm_backend *
backend_writable(struct shmseg *s, uint32_t id, int *rc)
{
	struct shm_backend *b = shmseg_backend(s, id);

	*rc = b == NULL ? -EINVAL : !shmseg_writable(s) ? -EROFS : 0;
	return *rc == 0 ? b : NULL;
}

/* backend_reset: the daemon of node id, claiming it: the configured
 * weight, no override, no drain, no counts. */
void
backend_reset(struct shmseg *s, uint32_t id, uint32_t weight)
{
	struct shm_backend *b;
	int rc, i;

	if ((b = backend_writable(s, id, &rc)) == NULL)
		return;
	for (i = 0; i < SHM_BACKEND_PORTS; i++)
		atomic_store_explicit(&b->port[i], 0, memory_order_relaxed);
	for (i = 0; i < SHM_BACKEND_SVCS; i++) {
		atomic_store_explicit(&b->svc[i].flows, 0,
		    memory_order_relaxed);
		atomic_store_explicit(&b->svc[i].key, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&b->conf_weight, weight & SHM_ADMIN_WEIGHT,
	    memory_order_relaxed);
	atomic_store_explicit(&b->admin, weight & SHM_ADMIN_WEIGHT,
	    memory_order_release);
}

/* backend_configure: the daemon of node id, at a reload that changed
 * its configured weight: the node's weight is that now; a drain stays. */
void
backend_configure(struct shmseg *s, uint32_t id, uint32_t weight)
{
	struct shm_backend *b;
	int rc;

	if ((b = backend_writable(s, id, &rc)) == NULL)
		return;
	atomic_store_explicit(&b->conf_weight, weight & SHM_ADMIN_WEIGHT,
	    memory_order_relaxed);
	(void)backend_set_weight(s, id, 0, (int)(weight & SHM_ADMIN_WEIGHT));
}

/* backend_weight_once: backend_set_weight, or -EAGAIN when another
 * writer freed the port's word meanwhile. */
static int
backend_weight_once(struct shmseg *s, uint32_t id, int port, int weight)
{
	struct shm_backend *b;
	_Atomic uint64_t *p;
	uint64_t old, neu;
	uint32_t a;
	int rc;

	if (weight < -1 || weight > 255 || port < 0 || port > 65535 ||
	    (weight < 0 && port == 0))
		return -EINVAL;
	if ((b = backend_writable(s, id, &rc)) == NULL)
		return rc;
	if (port == 0) {
		a = atomic_load_explicit(&b->admin, memory_order_relaxed);
		while (!atomic_compare_exchange_weak(&b->admin, &a,
		    (a & SHM_ADMIN_DRAIN) | (uint32_t)weight))
			;
		return 0;
	}
	if ((p = weight < 0 ? backend_port_word(b, (uint16_t)port) :
			      backend_port_take(b, (uint16_t)port)) == NULL)
		return weight < 0 ? 0 : -ENOSPC;
	old = atomic_load_explicit(p, memory_order_relaxed);
	do {
		if (!(old & SHM_ADMIN_USED) || (uint16_t)(old >> 32) != port)
			return -EAGAIN; /* another writer freed it */
		neu = old & ~(uint64_t)(SHM_ADMIN_SET | SHM_ADMIN_WEIGHT);
		if (weight >= 0)
			neu |= SHM_ADMIN_SET | (uint32_t)weight;
		if (!(neu & (SHM_ADMIN_SET | SHM_ADMIN_DRAIN)))
			neu = 0; /* nothing left of the override */
	} while (!atomic_compare_exchange_weak(p, &old, neu));
	return 0;
}

/* backend_drain_once: backend_set_drain, or -EAGAIN when another
 * writer freed the port's word meanwhile. */
static int
backend_drain_once(struct shmseg *s, uint32_t id, int port, int drain)
{
	struct shm_backend *b;
	_Atomic uint64_t *p;
	uint64_t old, neu;
	int rc;

	if (port < 0 || port > 65535)
		return -EINVAL;
	if ((b = backend_writable(s, id, &rc)) == NULL)
		return rc;
	if (port == 0) {
		if (drain)
			atomic_fetch_or(&b->admin, SHM_ADMIN_DRAIN);
		else
			atomic_fetch_and(&b->admin, ~SHM_ADMIN_DRAIN);
		return 0;
	}
	if ((p = drain ? backend_port_take(b, (uint16_t)port) :
			 backend_port_word(b, (uint16_t)port)) == NULL)
		return drain ? -ENOSPC : 0;
	old = atomic_load_explicit(p, memory_order_relaxed);
	do {
		if (!(old & SHM_ADMIN_USED) || (uint16_t)(old >> 32) != port)
			return drain ? -EAGAIN : 0;
		neu = drain ? old | SHM_ADMIN_DRAIN : old & ~SHM_ADMIN_DRAIN;
		if (!(neu & (SHM_ADMIN_SET | SHM_ADMIN_DRAIN)))
			neu = 0;
	} while (!atomic_compare_exchange_weak(p, &old, neu));
	return 0;
}

/* backend_set_weight: the weight (0-255) of node id, or of its port
 * (port > 0); weight -1 gives the port the node's weight again.  0, or
 * -EINVAL, -EROFS (a read-only mapping), -ENOSPC (every port word
 * taken). */
int
backend_set_weight(struct shmseg *s, uint32_t id, int port, int weight)
{
	int rc, tries = 0;

	while ((rc = backend_weight_once(s, id, port, weight)) == -EAGAIN &&
	    ++tries < 8)
		;
	return rc;
}

/* backend_set_drain: drain (1) or undrain (0) node id, or its port
 * (port > 0).  Errors as backend_set_weight. */
int
backend_set_drain(struct shmseg *s, uint32_t id, int port, int drain)
{
	int rc, tries = 0;

	while ((rc = backend_drain_once(s, id, port, drain)) == -EAGAIN &&
	    ++tries < 8)
		;
	return rc;
}

/* backend_view: how node id takes new flows to port (0: the node as a
 * whole), in *v. */
void
backend_view(struct shmseg *s, uint32_t id, uint16_t port,
    struct backend_view *v)
{
	struct shm_backend *b = shmseg_backend(s, id);
	_Atomic uint64_t *p;
	uint64_t pw = 0;
	uint32_t a;

	memset(v, 0, sizeof(*v));
	if (b == NULL)
		return;
	a = atomic_load_explicit(&b->admin, memory_order_acquire);
	if (port != 0 && (p = backend_port_word(b, port)) != NULL)
		pw = atomic_load_explicit(p, memory_order_relaxed);
	v->conf_weight = atomic_load_explicit(&b->conf_weight,
			     memory_order_relaxed) &
	    SHM_ADMIN_WEIGHT;
	v->port_set = (pw & SHM_ADMIN_USED) && (pw & SHM_ADMIN_SET);
	v->weight = v->port_set ? (uint32_t)(pw & SHM_ADMIN_WEIGHT) :
				  a & SHM_ADMIN_WEIGHT;
	v->drained = (a & SHM_ADMIN_DRAIN) ||
	    ((pw & SHM_ADMIN_USED) && (pw & SHM_ADMIN_DRAIN));
	v->stalled = backend_stalled(s, id);
}

/* backend_count: one more flow of service key picked for node id. */
void
backend_count(struct shmseg *s, uint32_t id, uint32_t key)
{
	struct shm_backend *b = shmseg_backend(s, id);
	uint32_t cur;
	int i;

	if (b == NULL || !shmseg_writable(s))
		return;
	for (i = 0; i < SHM_BACKEND_SVCS; i++) {
		cur = atomic_load_explicit(&b->svc[i].key,
		    memory_order_acquire);
		if (cur == 0 &&
		    !atomic_compare_exchange_strong(&b->svc[i].key, &cur,
			key) &&
		    cur != key)
			continue;
		if (cur == 0 || cur == key) {
			atomic_fetch_add_explicit(&b->svc[i].flows, 1,
			    memory_order_relaxed);
			return;
		}
	}
}

/* backend_flows: the flows of service key picked for node id. */
uint64_t
backend_flows(struct shmseg *s, uint32_t id, uint32_t key)
{
	struct shm_backend *b = shmseg_backend(s, id);
	int i;

	if (b == NULL)
		return 0;
	for (i = 0; i < SHM_BACKEND_SVCS; i++)
		if (atomic_load_explicit(&b->svc[i].key,
			memory_order_acquire) == key)
			return atomic_load_explicit(&b->svc[i].flows,
			    memory_order_relaxed);
	return 0;
}

/* backend_set_stalled: this process's membership scan says whether node
 * id stopped answering (it lives, its heartbeat stands still). */
void
backend_set_stalled(struct shmseg *s, uint32_t id, int stalled)
{
	uint64_t bit = 1ull << (id % 64);

	if (id < 1 || id > s->max_nodes)
		return;
	if (stalled)
		atomic_fetch_or(&s->stalled[id / 64], bit);
	else
		atomic_fetch_and(&s->stalled[id / 64], ~bit);
}

/* backend_stalled: did this process see node id stop answering? */
int
backend_stalled(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return 0;
	return (atomic_load_explicit(&s->stalled[id / 64],
		    memory_order_relaxed) >>
		   (id % 64)) &
	    1;
}
