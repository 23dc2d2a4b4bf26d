/*
 * log.c: log_warn (adds strerror(errno)), log_warnx, log_info, log_debug,
 * fatal and fatalx, to stderr in the foreground and to syslog otherwise.
 * When stderr is the journal ($JOURNAL_STREAM names it, as systemd sets
 * for a service), each line starts with its priority, "<4>" for a
 * warning (sd-daemon(3)), so that journalctl -p can select by it.
 * Messages less urgent than the level set ([cluster] log-level) are
 * dropped; any thread may log while the main thread changes the level.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_to_stderr = 1;
static int log_journal; /* stderr is the journal: "<N>" prefixes */
/* the least urgent priority logged: the main thread writes it, every
 * thread reads it; relaxed, a message logged by the old level as the
 * level changes is harmless */
static _Atomic int log_level = LOG_INFO;
static const char *log_ident = "shmnetd";

/* log_stderr_is_journal: does $JOURNAL_STREAM ("DEV:INODE") name the
 * file stderr is? */
static int
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* log_init: choose stderr or syslog. */
void
log_init(int foreground, const char *ident)
{
	log_ident = ident;
	log_to_stderr = foreground;
	log_journal = foreground && log_stderr_is_journal();
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* log_setlevel: log messages of priority pri and more urgent ones. */
void
log_setlevel(int pri)
{
	atomic_store_explicit(&log_level, pri, memory_order_relaxed);
}

/* log_wanted: is a message of priority pri logged? */
static int
log_wanted(int pri)
{
	return pri <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* vlog: emit one line at priority pri. */
static void
vlog(int pri, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!log_wanted(pri))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s: %s\n", pri, log_ident, msg);
	else if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else
		syslog(pri, "%s", msg);
}

/* vlog_errno: emit with ": strerror(e)" appended. */
static void
vlog_errno(int pri, int e, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!log_wanted(pri))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s: %s: %s\n", pri, log_ident, msg,
		    strerror(e));
	else if (log_to_stderr)
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

	if (!log_wanted(LOG_DEBUG))
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
