/*
 * log.h: OpenBSD-style logging for shmnetd.
 */
#ifndef SHMNETD_LOG_H
#define SHMNETD_LOG_H

#include <stdarg.h>

/* Log to stderr until log_init(0) switches to syslog. */
void	log_init(int foreground, const char *ident);
/* Log priorities up to pri (LOG_ERR ... LOG_DEBUG; fatal always logs);
 * LOG_INFO until set. */
void	log_setlevel(int pri);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* SHMNETD_LOG_H */
