/*
 * tcpwmem.h: the TCP send buffer ceiling of the daemon's network
 * namespace (net.ipv4.tcp_wmem), raised at start and put back at exit.
 */
#ifndef SHMNETD_TCPWMEM_H
#define SHMNETD_TCPWMEM_H

#include <stdint.h>

#define TCPWMEM_SYSCTL	"/proc/sys/net/ipv4/tcp_wmem"

struct tcpwmem {
	uint64_t	old[3];		/* min, default, max before */
	uint64_t	set[3];		/* ... and as written */
	int		raised;		/* set is in place */
};

int	tcpwmem_parse(const char *s, uint64_t v[3]);
int	tcpwmem_raise(struct tcpwmem *t, const char *path, uint64_t want);
int	tcpwmem_restore(struct tcpwmem *t, const char *path);

#endif /* SHMNETD_TCPWMEM_H */
