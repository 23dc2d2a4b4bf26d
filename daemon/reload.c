/*
 * reload.c: SIGHUP reads the configuration again, from the file and the
 * command-line overrides the daemon started with, and puts into effect
 * what can change while it runs.
 *
 * The new configuration is read and checked whole, as --check-config
 * checks it (conf_read); a bad one changes nothing and is said in one
 * line.  Then, key by key: a live key, listed in reload_keys[] below,
 * takes its new value in the running configuration (struct daemon's
 * conf) and its apply function puts it into effect; any other key that
 * changed is said to need a restart and keeps its running value.  The
 * running configuration thus always says what is in effect.
 *
 * Everything here runs on the main thread.  A data thread never reads a
 * live key from struct conf: its apply function hands the value over
 * through an atomic (shmnetd.h), or the key stays restart-only.
 *
 * To make a key live: a row in reload_keys[] and, unless the main thread
 * reads the key from d->conf where it uses it, an apply function.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gnet.h"
#include "health.h"
#include "log.h"
#include "lscan.h"
#include "metricsd.h"
#include "reload.h"
#include "sdnotify.h"
#include "shmnetd.h"

/*
 * An apply function runs once d->conf holds the key's new value: it puts
 * it into effect and returns 0, or leaves the old value in effect and
 * returns -1 with err set (the old value is then put back in d->conf).
 */
typedef int (*reload_apply_fn)(struct daemon *d, char *err, size_t errlen);

/* reload_log_level: [cluster] log-level. */
static int
reload_log_level(struct daemon *d, char *err, size_t errlen)
{
	log_setlevel(conf_log_level(&d->conf, d->verbose));
	return 0;
}

/* reload_busy_poll: [local] and [global] busy-poll, for the data threads
 * from their next polling window on. */
static int
reload_busy_poll(struct daemon *d, char *err, size_t errlen)
{
	atomic_store_explicit(&d->ho.net[SHM_NET_LOCAL].busy_poll_us,
	    d->conf.local.busy_poll_us, memory_order_relaxed);
	atomic_store_explicit(&d->ho.net[SHM_NET_GLOBAL].busy_poll_us,
	    d->conf.global.busy_poll_us, memory_order_relaxed);
	return 0;
}

/* reload_timeouts: [global] flow timeouts, for the tx thread's next flow
 * and the next tick's sweep (gnet_gc). */
static int
reload_timeouts(struct daemon *d, char *err, size_t errlen)
{
	if (d->gnet != NULL)
		gnet_set_timeouts(d->gnet, &d->conf);
	return 0;
}

/* reload_weight: [global] weight, for the next new flows (backend.c):
 * the node's weight is that now, a drain of shmnetctl's stays. */
static int
reload_weight(struct daemon *d, char *err, size_t errlen)
{
	if (d->ho.seg != NULL && d->ho.self != 0)
		backend_configure(d->ho.seg, d->ho.self, d->conf.g.weight);
	return 0;
}

/* reload_rescan: [global] ignore-ports, taken at the next scan: now. */
static int
reload_rescan(struct daemon *d, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (d->lscan != NULL)
		lscan_now(d->lscan);
	return 0;
}

/* reload_checks: [global] check and its timing: every check starts
 * again (a port whose check is the same keeps its state). */
static int
reload_checks(struct daemon *d, char *err, size_t errlen)
{
	if (d->health != NULL && health_configure(d->health, &d->conf.g) != 0) {
		snprintf(err, errlen, "the checks could not be set up");
		return -1;
	}
	return 0;
}

/* reload_metrics: [cluster] metrics-listen (metricsd_move: an address
 * that cannot be bound leaves the old one serving). */
static int
reload_metrics(struct daemon *d, char *err, size_t errlen)
{
	return metricsd_move(&d->metricsd, &d->conf.metrics, d->base, d->ho.seg,
		   err, errlen) == 0 ?
	    0 :
	    -1;
}

/*
 * The live keys.  apply NULL: only the main thread reads the key, from
 * d->conf, each time it uses it (ring-shrink-after: resize.c at each
 * membership scan).  Restart-only, and why:
 *   cpu-follow  the TAP's queues and steering program are made with the
 *               interface, and each data thread decides at its start.
 *   the rest    interfaces, addresses and routes set up at the start,
 *               the segment's geometry, ring sizes, TAP I/O set up per
 *               thread.
 */
static const struct reload_key {
	const char *section, *name;
	reload_apply_fn apply;
} reload_keys[] = {
	{ "cluster", "log-level", reload_log_level },
	{ "cluster", "metrics-listen", reload_metrics },
	{ "local", "ring-shrink-after", NULL },
	{ "local", "busy-poll", reload_busy_poll },
	{ "global", "ring-shrink-after", NULL },
	{ "global", "busy-poll", reload_busy_poll },
	{ "global", "tcp-syn-timeout", reload_timeouts },
	{ "global", "tcp-established-timeout", reload_timeouts },
	{ "global", "tcp-closing-timeout", reload_timeouts },
	{ "global", "udp-timeout", reload_timeouts },
	{ "global", "weight", reload_weight },
	{ "global", "check", reload_checks },
	{ "global", "check-interval", reload_checks },
	{ "global", "check-timeout", reload_checks },
	{ "global", "check-rise", reload_checks },
	{ "global", "check-fall", reload_checks },
	{ "global", "withdraw-delay", NULL },
	{ "global", "ignore-ports", reload_rescan },
};

/* A reload in progress. */
struct reload {
	struct daemon *d;
	const struct conf *next;
	struct conf old;
	struct reload_result r;
};

/* reload_find: the live key section.key, or NULL. */
static const struct reload_key *
reload_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(reload_keys) / sizeof(*reload_keys); i++)
		if (strcmp(reload_keys[i].section, section) == 0 &&
		    strcmp(reload_keys[i].name, key) == 0)
			return &reload_keys[i];
	return NULL;
}

/* reload_live: is section.key live? */
int
reload_live(const char *section, const char *key)
{
	return reload_find(section, key) != NULL;
}

/* reload_key: live key i. */
int
reload_key(int i, const char **section, const char **key)
{
	if (i < 0 || (size_t)i >= sizeof(reload_keys) / sizeof(*reload_keys))
		return -1;
	*section = reload_keys[i].section;
	*key = reload_keys[i].name;
	return 0;
}

/* reload_change: one key that changed (conf_diff): apply it, or say it
 * needs a restart. */
static void
reload_change(const struct conf_change *ch, void *arg)
{
	struct reload *rl = arg;
	const struct reload_key *k = reload_find(ch->section, ch->name);
	char err[512];

	if (k == NULL) {
		log_warnx("reload: [%s] %s changed (%s -> %s): needs a "
			  "restart; kept %s",
		    ch->section, ch->name, ch->was, ch->now, ch->was);
		rl->r.kept++;
		return;
	}
	conf_take(&rl->d->conf, rl->next, ch->section, ch->name);
	if (k->apply != NULL && k->apply(rl->d, err, sizeof(err)) != 0) {
		conf_take(&rl->d->conf, &rl->old, ch->section, ch->name);
		log_warnx("reload: [%s] %s changed (%s -> %s): %s; kept %s",
		    ch->section, ch->name, ch->was, ch->now, err, ch->was);
		rl->r.failed++;
		return;
	}
	log_info("reload: [%s] %s changed (%s -> %s)", ch->section, ch->name,
	    ch->was, ch->now);
	rl->r.applied++;
}

/* reload_status: the outcome, for the log and the service manager. */
static void
reload_status(const struct reload_result *r, const char *err, char *buf,
    size_t len)
{
	if (r->bad)
		snprintf(buf, len, "reload failed, running as before: %s", err);
	else if (r->applied + r->kept + r->failed == 0)
		snprintf(buf, len, "reloaded, no change");
	else
		snprintf(buf, len,
		    "reloaded: %d change%s in effect, %d kept until a restart",
		    r->applied, r->applied == 1 ? "" : "s",
		    r->kept + r->failed);
}

/* reload_run: read the configuration again and apply it. */
void
reload_run(struct daemon *d, struct reload_result *out)
{
	static struct reload rl; /* the main thread's; struct conf is large */
	static struct conf next;
	char err[1200], status[1400];

	sdnotify("RELOADING=1\nMONOTONIC_USEC=%" PRIu64
		 "\nSTATUS=reloading the configuration",
	    clock_us());
	memset(&rl.r, 0, sizeof(rl.r));
	if (conf_read(&next, &d->src, err, sizeof(err)) != 0) {
		rl.r.bad = 1;
		log_warnx("reload: %s; configuration unchanged", err);
	} else {
		rl.d = d;
		rl.next = &next;
		rl.old = d->conf;
		conf_diff(&d->conf, &next, reload_change, &rl);
		log_debug("reload: %s compared key by key",
		    d->src.file != NULL ? d->src.file : "the command line");
	}
	reload_status(&rl.r, err, status, sizeof(status));
	if (!rl.r.bad)
		log_info("%s", status);
	sdnotify("READY=1\nSTATUS=node %u of cluster %s: up; %s", d->ho.self,
	    d->conf.cluster, status);
	if (out != NULL)
		*out = rl.r;
}
