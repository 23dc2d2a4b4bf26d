/*
 * sdnotify.h: the service manager's notification protocol (sd_notify(3)).
 */
#ifndef SHMNETD_SDNOTIFY_H
#define SHMNETD_SDNOTIFY_H

#include <stdint.h>

/* Send one notification ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET: 0
 * sent, 1 when no service manager asked for them, -errno on failure. */
int	 sdnotify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* $WATCHDOG_USEC when the watchdog is meant for this process, else 0. */
uint64_t sdnotify_watchdog_usec(void);

#endif /* SHMNETD_SDNOTIFY_H */
