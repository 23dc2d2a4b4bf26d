/*
 * services.c: shmnetctl services, the cluster addresses as a load
 * balancer's table (libshmnet/svcview.c reads it): one entry per service
 * (a cluster address or G6, protocol, port) with its flows, and under it
 * each backend (a node that listens, or still serves flows of it) with
 * its weight, state, flows and health; and the names shmnetctl's options
 * give a service.
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

struct service_row {
	uint32_t proto;
	char name[INET6_ADDRSTRLEN + 8]; /* text: ADDRESS:PORT, [G6]:PORT */
	char address[INET6_ADDRSTRLEN];
	uint32_t port, family;
	uint64_t flows;
	uint32_t rate, active, inactive;
};

struct backend_row {
	uint32_t service; /* index of its service_row */
	uint32_t node, weight, state, active, inactive;
	uint64_t flows;
	uint32_t check;
	char changed[32]; /* text: how long ago the check changed */
	uint64_t check_since;
	uint32_t queue, queue_max;
};

/* services_state: name of a backend's state. */
static const char *
services_state(uint32_t st)
{
	return svc_state_name(st);
}

/* services_check: name of a check's state. */
static const char *
services_check(uint32_t st)
{
	return svc_check_name(st);
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
	{ NULL, "SERVICE", OUT_STR, SR(name), .width = -22 },
	{ "address", NULL, OUT_STR, SR(address) },
	{ "port", NULL, OUT_UINT, SR(port) },
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
	{ NULL, "CHANGED", OUT_STR, BR(changed), .width = 8 },
	{ "check_since", NULL, OUT_UINT, BR(check_since), .flags = OUT_OPT },
	{ "queue", "QUEUE", OUT_UINT, BR(queue), .width = 5 },
	{ "queue_max", NULL, OUT_UINT, BR(queue_max), .glue = "/" },
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

/* services_row: a service as the table shows it. */
static void
services_row(const struct svc_info *i, struct service_row *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = i->proto;
	inet_ntop(i->family == 6 ? AF_INET6 : AF_INET, i->addr, r->address,
	    sizeof(r->address));
	r->port = i->port;
	snprintf(r->name, sizeof(r->name), i->family == 6 ? "[%s]:%u" : "%s:%u",
	    r->address, i->port);
	r->family = i->family;
	r->flows = i->flows;
	r->rate = i->rate;
	r->active = i->active;
	r->inactive = i->inactive;
}

/* services_backend_row: a backend as the table shows it. */
static void
services_backend_row(const struct svc_backend *b, time_t now,
    struct backend_row *r)
{
	memset(r, 0, sizeof(*r));
	r->service = b->service;
	r->node = b->node;
	r->weight = b->weight;
	r->state = b->state;
	r->active = b->active;
	r->inactive = b->inactive;
	r->flows = b->flows;
	r->check = b->check;
	r->check_since = b->check_since;
	if (b->check != SHM_CHECK_NONE && b->check_since != 0)
		snprintf(r->changed, sizeof(r->changed), "%llds ago",
		    (long long)(now > (time_t)b->check_since ?
			    now - (time_t)b->check_since :
			    0));
	r->queue = b->queue;
	r->queue_max = b->queue_max;
}

/* services_show: shmnetctl services. */
int
services_show(struct ctl *c)
{
	struct service_row *s = NULL;
	struct backend_row *b = NULL;
	struct svc_table v;
	time_t now = time(NULL);
	size_t i;
	int rc = -1;

	if (svc_table_read(c->seg, &v) != 0) {
		fprintf(stderr, "shmnetctl: out of memory\n");
		return -1;
	}
	if ((s = calloc(v.ns + 1, sizeof(*s))) == NULL ||
	    (b = calloc(v.nb + 1, sizeof(*b))) == NULL)
		fprintf(stderr, "shmnetctl: out of memory\n");
	else {
		for (i = 0; i < v.ns; i++)
			services_row(&v.s[i], &s[i]);
		for (i = 0; i < v.nb; i++)
			services_backend_row(&v.b[i], now, &b[i]);
		rc = out_nested(c, &services_table, s, v.ns, b, v.nb);
	}
	free(s);
	free(b);
	svc_table_free(&v);
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
 * IPv6): the address is a cluster address, or the wildcard address of
 * its family for any of them.  0, or -EINVAL. */
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
		memcpy(out->addr, a, 16);
		out->family = 6;
		port = end + 2;
	} else if ((end = strrchr(buf, ':')) != NULL) {
		*end = '\0';
		if (inet_pton(AF_INET, buf, a) != 1)
			return -EINVAL;
		memcpy(out->addr, a, 4);
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

/* services_match: does (family, addr, proto, port) fall under want?
 * addr: 16 bytes, IPv4 in the first 4. */
int
services_match(const struct ctl_service *want, uint32_t family,
    const uint8_t *addr, uint32_t proto, uint32_t port)
{
	static const uint8_t any[16];

	return (want->family == 0 ||
		   (want->family == family &&
		       (memcmp(want->addr, any, 16) == 0 ||
			   memcmp(want->addr, addr, 16) == 0))) &&
	    (want->proto == 0 || want->proto == proto) &&
	    (want->port == 0 || want->port == port);
}
