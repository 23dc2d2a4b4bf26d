/*
 * reload.h: read the configuration again on SIGHUP and put what can
 * change while the daemon runs into effect (reload.c).
 */
#ifndef SHMNETD_RELOAD_H
#define SHMNETD_RELOAD_H

struct daemon;

/* What a reload did. */
struct reload_result {
	int	bad;		/* the configuration was bad: nothing changed */
	int	applied;	/* live keys changed and now in effect */
	int	kept;		/* keys changed that need a restart: kept */
	int	failed;		/* live keys whose change failed: kept */
};

/* Main thread: read d->src again, checked as --check-config checks it,
 * and apply the live keys that changed; the rest is logged and kept.
 * Tells the service manager (RELOADING=1, then READY=1).  r may be
 * NULL. */
void	 reload_run(struct daemon *d, struct reload_result *r);
/* 1 when section.key can change on reload. */
int	 reload_live(const char *section, const char *key);
/* The live keys, i = 0, 1, ... until it returns -1. */
int	 reload_key(int i, const char **section, const char **key);

#endif /* SHMNETD_RELOAD_H */
