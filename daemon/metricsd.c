/*
 * metricsd.c: GET /metrics over HTTP, for Prometheus to scrape, on the
 * address [cluster] metrics-listen names.  The socket is bound at start,
 * before the node joins, so that an address the namespace does not have
 * or a port in use stops the start with a clear error; libevent's evhttp
 * then serves it from the main loop.  The text is libshmnet's
 * metrics_write, the same shmnetctl metrics prints: the whole cluster as
 * this node's segment mapping sees it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "metricsd.h"
#include "shmnet.h"

/* A slow or idle client is dropped after this many seconds. */
#define METRICSD_TIMEOUT_S 10
#define METRICSD_BACKLOG   16

struct metricsd {
	int fd; /* listening, until evhttp owns it */
	struct evhttp *http;
	struct shmseg *seg;
	char where[80];       /* ADDRESS:PORT, for the log */
	struct conf_listen l; /* ... and as configured */
	/* the last rendering, served again until METRICSD_CACHE_MS old:
	 * scrapers in a hurry cost the main loop one rendering a second */
	char *text;
	size_t len;
	uint64_t text_ms;
};

#define METRICSD_CACHE_MS 1000

/* metricsd_sockaddr: l as a socket address; its length. */
static socklen_t
metricsd_sockaddr(const struct conf_listen *l, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (l->family == AF_INET6) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)l->port);
		memcpy(&in6->sin6_addr, l->addr, 16);
		return sizeof(*in6);
	}
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)l->port);
	memcpy(&in->sin_addr, l->addr, 4);
	return sizeof(*in);
}

/* metricsd_open: the listening socket. */
int
metricsd_open(const struct conf_listen *l, struct metricsd **out, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = metricsd_sockaddr(l, &ss);
	struct metricsd *m;
	const char *what;
	int one = 1, rc;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "metrics-listen: out of memory");
		return -ENOMEM;
	}
	conf_listen_str(l, m->where, sizeof(m->where));
	m->l = *l;
	what = "socket";
	if ((m->fd = socket((int)l->family,
		 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	what = "setsockopt";
	if (setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	what = "bind";
	if (bind(m->fd, (struct sockaddr *)&ss, len) != 0)
		goto fail;
	what = "listen";
	if (listen(m->fd, METRICSD_BACKLOG) != 0)
		goto fail;
	*out = m;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "metrics-listen %s: %s: %s", m->where, what,
	    strerror(errno));
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return rc;
}

/* metricsd_render: the metrics text, rendered again when the last is
 * METRICSD_CACHE_MS old; 0 or -errno. */
static int
metricsd_render(struct metricsd *m)
{
	uint64_t now = clock_ms();
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = -ENOMEM;

	if (m->text != NULL && now - m->text_ms < METRICSD_CACHE_MS)
		return 0;
	if ((fp = open_memstream(&buf, &len)) != NULL) {
		rc = metrics_write(m->seg, fp);
		if (fclose(fp) != 0 && rc == 0)
			rc = -ENOMEM;
	}
	if (rc != 0) {
		free(buf);
		return rc;
	}
	free(m->text);
	m->text = buf;
	m->len = len;
	m->text_ms = now;
	return 0;
}

/* metricsd_metrics: GET /metrics: the cluster's metrics. */
static void
metricsd_metrics(struct evhttp_request *req, void *arg)
{
	struct metricsd *m = arg;
	int rc;

	if ((rc = metricsd_render(m)) != 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), m->text,
		m->len) != 0) {
		log_warnx("metrics %s: cannot render the metrics: %s", m->where,
		    strerror(rc != 0 ? -rc : ENOMEM));
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

/* metricsd_other: any other path. */
static void
metricsd_other(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* metricsd_serve: hand the socket to evhttp on base's loop. */
int
metricsd_serve(struct metricsd *m, struct event_base *base, struct shmseg *seg)
{
	m->seg = seg;
	if ((m->http = evhttp_new(base)) == NULL)
		return -ENOMEM;
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(m->http, METRICSD_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	if (evhttp_set_cb(m->http, "/metrics", metricsd_metrics, m) != 0)
		return -ENOMEM;
	evhttp_set_gencb(m->http, metricsd_other, m);
	/* from here the listener evhttp made closes the socket */
	if (evhttp_accept_socket_with_handle(m->http, m->fd) == NULL)
		return -ENOMEM;
	m->fd = -1;
	log_info("serving metrics on http://%s/metrics", m->where);
	return 0;
}

/* metricsd_start: open and serve on l; 0 and *out, or -errno with err
 * set. */
static int
metricsd_start(const struct conf_listen *l, struct event_base *base,
    struct shmseg *seg, struct metricsd **out, char *err, size_t errlen)
{
	int rc;

	*out = NULL;
	if ((rc = metricsd_open(l, out, err, errlen)) != 0)
		return rc;
	if ((rc = metricsd_serve(*out, base, seg)) != 0) {
		snprintf(err, errlen, "metrics-listen: out of memory");
		metricsd_free(*out);
		*out = NULL;
	}
	return rc;
}

/* metricsd_move: serve on l instead of *m (NULL: none; l off: stop).
 * The new socket is bound first, so that one that cannot be leaves *m
 * serving; only an address in use, which may be *m's own port, makes
 * *m close first, and come back if l cannot be bound either.  0, or
 * -errno with err set and *m as it was. */
int
metricsd_move(struct metricsd **m, const struct conf_listen *l,
    struct event_base *base, struct shmseg *seg, char *err, size_t errlen)
{
	struct metricsd *neu = NULL, *back = NULL;
	struct conf_listen old;
	int rc = 0;

	if (l->family != 0 &&
	    (rc = metricsd_start(l, base, seg, &neu, err, errlen)) != 0 &&
	    (rc != -EADDRINUSE || *m == NULL))
		return rc;
	if (rc == 0) {
		metricsd_free(*m);
		*m = neu;
		return 0;
	}
	old = (*m)->l;
	metricsd_free(*m);
	*m = NULL;
	if ((rc = metricsd_start(l, base, seg, m, err, errlen)) == 0)
		return 0;
	if (metricsd_start(&old, base, seg, &back, NULL, 0) == 0)
		*m = back;
	return rc;
}

/* metricsd_free: evhttp (which closes the socket it took), or the
 * socket it never took. */
void
metricsd_free(struct metricsd *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	if (m->fd >= 0)
		close(m->fd);
	free(m->text);
	free(m);
}
