/*
 * sdnotify.c: tell a service manager (systemd, or anything that speaks
 * sd_notify(3)) how the daemon is: READY=1 once the node has joined and
 * its interfaces are configured, STOPPING=1 as it leaves, STATUS= lines,
 * and WATCHDOG=1 from the main loop's tick when the unit has WatchdogSec.
 * The protocol is one datagram of KEY=VALUE lines on the AF_UNIX socket
 * $NOTIFY_SOCKET names (a path, or "@name" in the abstract namespace);
 * without it nothing is sent.  No libsystemd is needed.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* sdnotify_addr: the address $NOTIFY_SOCKET names, and its length; 0 if
 * none or unusable. */
static socklen_t
sdnotify_addr(struct sockaddr_un *sa)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sa->sun_path))
		return 0;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/'));
}

int
sdnotify(const char *fmt, ...)
{
	struct sockaddr_un sa;
	socklen_t salen;
	char msg[512];
	va_list ap;
	int fd, rc = 0;

	if ((salen = sdnotify_addr(&sa)) == 0)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		salen) == -1)
		rc = -errno;
	close(fd);
	return rc;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"),
		   *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (usec == NULL ||
	    (pid != NULL && strtol(pid, NULL, 10) != (long)getpid()))
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || end == usec)
		return 0;
	return v;
}
