/*
 * log.c: log_warn (adds strerror(errno)), log_warnx, log_info, log_debug,
 * fatal and fatalx, to stderr in the foreground and to syslog otherwise.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_to_stderr = 1;
static int log_level;
static const char *log_ident = "shmnetd";

/* log_init: choose stderr or syslog. */
void
log_init(int foreground, const char *ident)
{
	log_ident = ident;
	log_to_stderr = foreground;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* log_verbose: 1 shows debug messages. */
void
log_verbose(int level)
{
	log_level = level;
}

/* vlog: emit one line at priority pri. */
static void
vlog(int pri, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else
		syslog(pri, "%s", msg);
}

/* vlog_errno: emit with ": strerror(e)" appended. */
static void
vlog_errno(int pri, int e, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_ident, msg, strerror(e));
	else
		syslog(pri, "%s: %s", msg, strerror(e));
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
