/*
 * health.c: health checks of the ports this node publishes for the
 * cluster address G, in the manner of keepalived's real server checks.
 *
 * A check runs for each (family, protocol, port) the listener scan
 * (lscan.c) finds, every check-interval seconds, from the main loop:
 *   tcp        a non-blocking connect to the port on 127.0.0.1 (::1): a
 *              socket bound to the wildcard address answers on every
 *              address of the namespace, loopback included.  Not on G:
 *              the node's policy routing (groute.c) sends everything it
 *              sends to G through the global interface, into the
 *              cluster, which would answer for whatever node it picks.
 *              So a port whose socket is bound to G itself has no tcp
 *              check (state none; an exec check can test it), nor has a
 *              UDP port.  A connect that completes is a success.
 *   exec:PATH  PATH PORT, forked and executed without a shell, in a
 *              process group of its own, with stdin /dev/null, stdout and
 *              stderr to the daemon's stderr in the foreground (else
 *              /dev/null) and SHMNET_PORT, SHMNET_PROTO (tcp, udp) and
 *              SHMNET_FAMILY (4, 6) added to the daemon's environment.
 *              Exit status 0 is a success.  SIGCHLD (through the loop,
 *              shmnetd.c) reaps it: the loop never waits.
 * A round that takes longer than check-timeout is a failure: the connect
 * is abandoned, the script's process group killed (SIGKILL).
 *
 * A new port's check is pending, and a pending port takes new flows (as
 * keepalived's real servers start up): its listening socket exists, and
 * nothing says it fails.  After check-rise successes in a row it is up,
 * after check-fall failures in a row down (health_step); a port whose
 * check is down is published with SHM_LISTEN_FAILING and takes no new
 * flow until it is up again.  Each change is logged and published at once
 * (the changed callback).  Main thread only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "health.h"
#include "log.h"

#define HEALTH_CHECKS_MAX SHM_LISTEN_MAX /* one per listener at most */
#define HEALTH_COUNT_MAX  1000000        /* results counted in a row */

enum health_kind { HEALTH_NONE, HEALTH_TCP, HEALTH_EXEC };

struct health;

/* The check of one (family, protocol, port). */
struct hcheck {
	struct health *h;
	uint8_t family, proto;
	uint16_t port;
	int specific;           /* a socket of the port is bound to G */
	int fresh;              /* health_merge: new, not started yet */
	struct health_sm sm;    /* its state */
	uint32_t since;         /* CLOCK_REALTIME seconds of its last change */
	struct event *ev_timer; /* the next round, or this one's timeout */
	struct event *ev_conn;  /* tcp: the connect completes */
	int fd;                 /* tcp: the socket connecting, or -1 */
	pid_t pid;              /* exec: the script not yet reaped, or 0 */
	int running;            /* a round is under way */
	struct timespec start;  /* CLOCK_MONOTONIC: when it began */
	int seen;               /* health_merge: still published */
};

struct health {
	struct event_base *base;
	int foreground;
	void (*changed)(void *);
	void *arg;
	uint32_t g4;    /* G, network order */
	uint8_t g6[16]; /* G6, all zero without */
	enum health_kind kind;
	char check[CONF_CHECK_MAX]; /* as configured */
	const char *path;           /* exec: the program */
	uint32_t interval, timeout, rise, fall;
	struct hcheck *c[HEALTH_CHECKS_MAX];
	uint32_t n;
	pid_t *orphans; /* scripts killed whose check is gone, to reap */
	uint32_t norphans, caporphans;
	int warned;
};

static void hc_timer(evutil_socket_t fd, short ev, void *arg);

/* health_sm_init: pending, nothing counted. */
void
health_sm_init(struct health_sm *sm)
{
	sm->state = SHM_CHECK_PENDING;
	sm->ok = sm->bad = 0;
}

/* health_step: count a result; 1 when the state changed. */
int
health_step(struct health_sm *sm, int success, uint32_t rise, uint32_t fall)
{
	if (sm->state == SHM_CHECK_NONE)
		return 0;
	if (success) {
		sm->bad = 0;
		if (sm->ok < HEALTH_COUNT_MAX)
			sm->ok++;
		if (sm->state != SHM_CHECK_UP && sm->ok >= rise) {
			sm->state = SHM_CHECK_UP;
			return 1;
		}
		return 0;
	}
	sm->ok = 0;
	if (sm->bad < HEALTH_COUNT_MAX)
		sm->bad++;
	if (sm->state != SHM_CHECK_DOWN && sm->bad >= fall) {
		sm->state = SHM_CHECK_DOWN;
		return 1;
	}
	return 0;
}

/* health_kind_of: what a check value asks for; -1 if nothing known. */
static int
health_kind_of(const char *check)
{
	if (strcmp(check, "none") == 0 || *check == '\0')
		return HEALTH_NONE;
	if (strcmp(check, "tcp") == 0)
		return HEALTH_TCP;
	if (strncmp(check, "exec:", 5) == 0 && check[5] == '/')
		return HEALTH_EXEC;
	return -1;
}

/* health_now: CLOCK_REALTIME seconds, as check_since holds them. */
static uint32_t
health_now(void)
{
	return (uint32_t)time(NULL);
}

/* hc_applies: does the configured check run on this port? */
static int
hc_applies(const struct hcheck *hc)
{
	const struct health *h = hc->h;

	return h->kind == HEALTH_EXEC ||
	    (h->kind == HEALTH_TCP && hc->proto == IPPROTO_TCP &&
		!hc->specific);
}

/* hc_name: "8080/tcp", with " (IPv6)" for G6, for the log. */
static void
hc_name(const struct hcheck *hc, char *buf, size_t len)
{
	snprintf(buf, len, "%u/%s%s", hc->port,
	    hc->proto == IPPROTO_TCP ? "tcp" : "udp",
	    hc->family == 6 ? " (IPv6)" : "");
}

/* hc_addr: the address a tcp check connects to: loopback (a socket bound
 * to G cannot be reached from its node, see above). */
static void
hc_addr(const struct hcheck *hc, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (hc->family == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(hc->port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
		return;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(hc->port);
	sin6->sin6_addr = in6addr_loopback;
	*len = sizeof(*sin6);
}

/* hc_arm: the timer in ms milliseconds. */
static void
hc_arm(struct hcheck *hc, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
		(suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(hc->ev_timer, &tv);
}

/* hc_elapsed_ms: milliseconds since the round began. */
static uint64_t
hc_elapsed_ms(const struct hcheck *hc)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - hc->start.tv_sec) * 1000 +
	    (now.tv_nsec - hc->start.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/* health_orphan: keep a killed script's PID to reap it later. */
static void
health_orphan(struct health *h, pid_t pid)
{
	pid_t *o;
	uint32_t cap;

	if (h->norphans == h->caporphans) {
		cap = h->caporphans ? h->caporphans * 2 : 8;
		if ((o = realloc(h->orphans, cap * sizeof(*o))) == NULL) {
			log_warn("health: cannot keep script %d to reap it",
			    (int)pid);
			return;
		}
		h->orphans = o;
		h->caporphans = cap;
	}
	h->orphans[h->norphans++] = pid;
}

/* hc_abandon: end the round under way, if any, without a result: close
 * the connecting socket, kill the script's process group (its PID is
 * reaped later, by health_reap). */
static void
hc_abandon(struct hcheck *hc)
{
	if (hc->ev_conn != NULL) {
		event_free(hc->ev_conn);
		hc->ev_conn = NULL;
	}
	if (hc->fd != -1) {
		close(hc->fd);
		hc->fd = -1;
	}
	if (hc->pid > 0 && hc->running) {
		kill(-hc->pid, SIGKILL);
		kill(hc->pid, SIGKILL); /* before its setpgid */
	}
	hc->running = 0;
}

/* hc_result: a round's result: count it, log and publish a change, and
 * arm the next round, check-interval after this one began. */
static void
hc_result(struct hcheck *hc, int success, const char *why)
{
	struct health *h = hc->h;
	uint64_t ms = hc_elapsed_ms(hc), every = h->interval * 1000ull;
	char name[32];

	hc_abandon(hc);
	hc_arm(hc, ms < every ? every - ms : 0);
	hc_name(hc, name, sizeof(name));
	if (!health_step(&hc->sm, success, h->rise, h->fall)) {
		if (!success)
			log_debug("global: port %s check failed (%s)", name,
			    why);
		return;
	}
	hc->since = health_now();
	if (hc->sm.state == SHM_CHECK_DOWN)
		log_warnx("global: port %s check down (%u failure%s: %s)", name,
		    hc->sm.bad, hc->sm.bad == 1 ? "" : "s", why);
	else
		log_info("global: port %s check up (%u success%s)", name,
		    hc->sm.ok, hc->sm.ok == 1 ? "" : "es");
	h->changed(h->arg);
}

/* hc_connected: the tcp check's connect completed, or failed. */
static void
hc_connected(evutil_socket_t fd, short ev, void *arg)
{
	struct hcheck *hc = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	hc_result(hc, err == 0, err == 0 ? "" : strerror(err));
}

/* hc_tcp: start a tcp check's connect. */
static void
hc_tcp(struct hcheck *hc)
{
	struct sockaddr_storage ss;
	socklen_t len;

	hc_addr(hc, &ss, &len);
	hc->fd = socket(ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (hc->fd == -1) {
		hc_result(hc, 0, strerror(errno));
		return;
	}
	if (connect(hc->fd, (struct sockaddr *)&ss, len) == 0) {
		hc_result(hc, 1, "");
		return;
	}
	if (errno != EINPROGRESS) {
		hc_result(hc, 0, strerror(errno));
		return;
	}
	hc->ev_conn = event_new(hc->h->base, hc->fd, EV_WRITE, hc_connected,
	    hc);
	if (hc->ev_conn == NULL || event_add(hc->ev_conn, NULL) != 0)
		hc_result(hc, 0, "cannot watch the connect");
}

/* hc_env: the script's environment: the daemon's without SHMNET_*, and
 * the port's SHMNET_* variables (in vars).  NULL without memory. */
static char **
hc_env(char vars[3][32], const struct hcheck *hc)
{
	extern char **environ;
	size_t n = 0, i, k = 0;
	char **env;

	snprintf(vars[0], 32, "SHMNET_PORT=%u", hc->port);
	snprintf(vars[1], 32, "SHMNET_PROTO=%s",
	    hc->proto == IPPROTO_TCP ? "tcp" : "udp");
	snprintf(vars[2], 32, "SHMNET_FAMILY=%u", hc->family);
	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((env = calloc(n + 4, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SHMNET_", 7) != 0)
			env[k++] = environ[i];
	for (i = 0; i < 3; i++)
		env[k++] = vars[i];
	return env;
}

/* hc_child: in the forked child, async-signal-safe calls only: its own
 * process group, default signal handling, stdin /dev/null, stdout and
 * stderr to the daemon's stderr or /dev/null, no other descriptor, and
 * the program.  Never returns. */
static void
hc_child(const char *path, char *const argv[], char *const env[],
    int foreground)
{
	struct sigaction sa;
	sigset_t none;
	int sig, null;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* SIGKILL, SIGSTOP: refused */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((null = open("/dev/null", O_RDWR)) == -1 || dup2(null, 0) == -1 ||
	    dup2(foreground ? 2 : null, 1) == -1 ||
	    (!foreground && dup2(null, 2) == -1))
		_exit(127);
	if (close_range(3, ~0u, 0) == -1)
		for (null = 3; null < 1024; null++)
			close(null);
	execve(path, argv, env);
	_exit(127);
}

/* hc_exec: start an exec check's script. */
static void
hc_exec(struct hcheck *hc)
{
	struct health *h = hc->h;
	char port[8], vars[3][32], **env;
	char *argv[3] = { (char *)h->path, port, NULL };
	sigset_t all, old;
	int err;

	snprintf(port, sizeof(port), "%u", hc->port);
	if ((env = hc_env(vars, hc)) == NULL) {
		hc_result(hc, 0, "out of memory");
		return;
	}
	/* no signal handler of the daemon's may run in the child */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	hc->pid = fork();
	err = errno;
	if (hc->pid == 0)
		hc_child(h->path, argv, env, h->foreground);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(env);
	if (hc->pid == -1) {
		hc->pid = 0;
		hc_result(hc, 0, strerror(err));
		return;
	}
	setpgid(hc->pid, hc->pid); /* as the child does: whoever is first */
}

/* hc_round: a round begins: its timeout armed, the check started. */
static void
hc_round(struct hcheck *hc)
{
	struct health *h = hc->h;

	if (hc->pid > 0) { /* the last script is not reaped yet: wait */
		hc_arm(hc, h->interval * 1000ull);
		return;
	}
	hc->running = 1;
	clock_gettime(CLOCK_MONOTONIC, &hc->start);
	hc_arm(hc, h->timeout * 1000ull);
	if (h->kind == HEALTH_TCP)
		hc_tcp(hc);
	else
		hc_exec(hc);
}

/* hc_timer: the next round, or the round under way timed out. */
static void
hc_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct hcheck *hc = arg;
	char why[48];

	if (!hc->running) {
		hc_round(hc);
		return;
	}
	snprintf(why, sizeof(why), "timed out after %u s", hc->h->timeout);
	hc_result(hc, 0, why);
}

/* hc_start: begin checking afresh: the state machine's counts from zero,
 * the first round at once; keep: keep an up or down state. */
static void
hc_start(struct hcheck *hc, int keep)
{
	uint8_t was = hc->sm.state;

	hc_abandon(hc);
	evtimer_del(hc->ev_timer);
	health_sm_init(&hc->sm);
	if (!hc_applies(hc))
		hc->sm.state = SHM_CHECK_NONE;
	else if (keep && (was == SHM_CHECK_UP || was == SHM_CHECK_DOWN))
		hc->sm.state = was;
	if (hc->sm.state != was)
		hc->since = health_now();
	if (hc->sm.state != SHM_CHECK_NONE)
		hc_arm(hc, 0);
	if (hc->h->kind == HEALTH_TCP && hc->proto == IPPROTO_TCP &&
	    hc->specific)
		log_info("global: port %u/tcp%s is bound to G: no tcp check "
			 "reaches it from this node (check = exec: can test "
			 "it)",
		    hc->port, hc->family == 6 ? " (IPv6)" : "");
}

/* hc_new: the check of a port that appeared. */
static struct hcheck *
hc_new(struct health *h, const struct shm_listen *l)
{
	struct hcheck *hc;

	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return NULL;
	if ((hc->ev_timer = evtimer_new(h->base, hc_timer, hc)) == NULL) {
		free(hc);
		return NULL;
	}
	hc->h = h;
	hc->family = l->family;
	hc->proto = l->proto;
	hc->port = l->port;
	hc->fd = -1;
	hc->sm.state = SHM_CHECK_NONE;
	hc->since = health_now();
	hc->fresh = 1; /* health_merge starts it, once it knows the sockets */
	return hc;
}

/* hc_free: stop a port's check; a running script is left to reap. */
static void
hc_free(struct hcheck *hc)
{
	hc_abandon(hc);
	if (hc->pid > 0)
		health_orphan(hc->h, hc->pid);
	event_free(hc->ev_timer);
	free(hc);
}

/* health_new: no check until health_configure. */
struct health *
health_new(struct event_base *base, const struct conf *c, int foreground,
    void (*changed)(void *), void *arg)
{
	struct health *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	h->foreground = foreground;
	h->changed = changed;
	h->arg = arg;
	h->g4 = c->global.addr;
	memcpy(h->g6, c->g.addr6, 16);
	h->kind = HEALTH_NONE;
	strcpy(h->check, "none");
	h->interval = h->timeout = h->rise = h->fall = 1;
	return h;
}

/* health_free: stop every check; kill and wait for the scripts. */
void
health_free(struct health *h)
{
	uint32_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		hc_free(h->c[i]);
	for (i = 0; i < h->norphans; i++)
		waitpid(h->orphans[i], NULL, 0); /* SIGKILLed: at once */
	free(h->orphans);
	free(h);
}

/* health_say: the configured checks, in one line. */
static void
health_say(const struct health *h)
{
	if (h->kind == HEALTH_NONE) {
		log_info("global: no health checks");
		return;
	}
	log_info("global: health checks: %s every %u s (timeout %u s, up "
		 "after %u, down after %u in a row)",
	    h->kind == HEALTH_TCP ? "tcp connect" : h->path, h->interval,
	    h->timeout, h->rise, h->fall);
	if (h->kind == HEALTH_EXEC && access(h->path, X_OK) == -1)
		log_warn("global: check %s: every check will fail", h->path);
}

/* health_configure: new settings; every check starts afresh. */
int
health_configure(struct health *h, const struct globalconf *g)
{
	int kind = health_kind_of(g->check), same;
	uint32_t i;

	if (kind < 0 || g->check_interval == 0 || g->check_timeout == 0 ||
	    g->check_rise == 0 || g->check_fall == 0 ||
	    memchr(g->check, '\0', sizeof(g->check)) == NULL)
		return -EINVAL;
	same = strcmp(h->check, g->check) == 0;
	h->kind = (enum health_kind)kind;
	strcpy(h->check, g->check);
	h->path = kind == HEALTH_EXEC ? h->check + 5 : NULL;
	h->interval = g->check_interval;
	h->timeout = g->check_timeout;
	h->rise = g->check_rise;
	h->fall = g->check_fall;
	health_say(h);
	for (i = 0; i < h->n; i++)
		hc_start(h->c[i], same);
	h->changed(h->arg);
	return 0;
}

/* health_find: the check of l's port, NULL if none. */
static struct hcheck *
health_find(struct health *h, const struct shm_listen *l)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (h->c[i]->family == l->family &&
		    h->c[i]->proto == l->proto && h->c[i]->port == l->port)
			return h->c[i];
	return NULL;
}

/* health_fill: a listener's check fields, from its port's check (none
 * when it has none). */
static void
health_fill(struct shm_listen *l, const struct hcheck *hc)
{
	l->flags &= (uint8_t)~SHM_LISTEN_FAILING;
	l->check = hc != NULL ? hc->sm.state : SHM_CHECK_NONE;
	l->check_since = hc != NULL ? hc->since : 0;
	if (l->check == SHM_CHECK_DOWN)
		l->flags |= SHM_LISTEN_FAILING;
}

/* health_drop: stop the checks of ports no longer published. */
static void
health_drop(struct health *h)
{
	uint32_t i = 0;

	while (i < h->n) {
		if (h->c[i]->seen) {
			i++;
			continue;
		}
		hc_free(h->c[i]);
		h->c[i] = h->c[--h->n];
	}
}

/* health_sockets: find or make the check of every listener's port, and
 * note which ports have a socket bound to G. */
static void
health_sockets(struct health *h, const struct shm_listen *l, uint32_t n)
{
	struct hcheck *hc;
	uint32_t i;

	for (i = 0; i < h->n; i++)
		h->c[i]->seen = h->c[i]->specific = 0;
	for (i = 0; i < n; i++) {
		if ((hc = health_find(h, &l[i])) == NULL &&
		    h->n < HEALTH_CHECKS_MAX && (hc = hc_new(h, &l[i])) != NULL)
			h->c[h->n++] = hc;
		if (hc == NULL && !h->warned++)
			log_warnx("global: port %u: no memory for its check",
			    l[i].port);
		if (hc != NULL) {
			hc->seen = 1;
			hc->specific |= (l[i].flags & SHM_LISTEN_SPECIFIC) != 0;
		}
	}
}

/* health_merge: checks for the published ports, their state into l: a
 * new port's check starts, and so does one whose sockets now make the
 * configured check run, or not (a tcp check and a socket bound to G). */
void
health_merge(struct health *h, struct shm_listen *l, uint32_t n)
{
	struct hcheck *hc;
	uint32_t i;

	health_sockets(h, l, n);
	health_drop(h);
	for (i = 0; i < h->n; i++) {
		hc = h->c[i];
		if (hc->fresh ||
		    hc_applies(hc) != (hc->sm.state != SHM_CHECK_NONE))
			hc_start(hc, !hc->fresh);
		hc->fresh = 0;
	}
	for (i = 0; i < n; i++)
		health_fill(&l[i], health_find(h, &l[i]));
}

/* health_status: why a script's round failed, from its wait status. */
static void
health_status(int st, char *why, size_t len)
{
	if (WIFEXITED(st))
		snprintf(why, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(why, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, len, "wait status %d", st);
}

/* health_reap_orphans: the killed scripts of checks gone. */
static void
health_reap_orphans(struct health *h)
{
	uint32_t i = 0;

	while (i < h->norphans) {
		if (waitpid(h->orphans[i], NULL, WNOHANG) == 0) {
			i++;
			continue;
		}
		h->orphans[i] = h->orphans[--h->norphans];
	}
}

/* health_reap: collect ended scripts; a round under way has its result. */
void
health_reap(struct health *h)
{
	struct hcheck *hc;
	char why[48];
	pid_t r;
	uint32_t i;
	int st;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++) {
		hc = h->c[i];
		if (hc->pid <= 0 ||
		    ((r = waitpid(hc->pid, &st, WNOHANG)) == 0 ||
			(r == -1 && errno == EINTR)))
			continue;
		hc->pid = 0;
		if (!hc->running)
			continue; /* timed out: counted already */
		if (r == -1) {
			hc_result(hc, 0, strerror(errno));
			continue;
		}
		health_status(st, why, sizeof(why));
		hc_result(hc, WIFEXITED(st) && WEXITSTATUS(st) == 0, why);
	}
	health_reap_orphans(h);
}
