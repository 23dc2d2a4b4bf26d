/*
 * tcpwmem.c: the TCP send buffer ceiling of the daemon's network namespace.
 *
 * A TCP socket's send buffer autotunes up to net.ipv4.tcp_wmem's third
 * field (4 MiB by default), and that buffer holds everything not yet
 * acknowledged.  Over shm0 a frame passes two data threads on each side,
 * so under load the round trip is far longer than over a veth, and one
 * stream fills 4 MiB before the first acknowledgement of it comes back
 * (docs/PERFORMANCE.md).  At start the daemon raises that ceiling in its
 * own namespace to [namespace] tcp-wmem-max, never lowers it, and at exit
 * puts the old value back unless somebody changed it meanwhile.  The
 * sysctl is per network namespace, so only the node's own sockets see it.
 * The path is a parameter so that the tests can point it at a file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcpwmem.h"

/* tcpwmem_parse: "MIN DEFAULT MAX" (tabs or spaces, a newline at the
 * end); 0, or -EINVAL for anything else. */
int
tcpwmem_parse(const char *s, uint64_t v[3])
{
	char *end;
	int i;

	for (i = 0; i < 3; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v[i] = strtoull(s, &end, 10);
		if (errno != 0 || v[i] > INT32_MAX) /* the kernel's int */
			return -EINVAL;
		s = end;
	}
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return *s == '\0' ? 0 : -EINVAL;
}

/* tcpwmem_read: the three values in path; 0 or -errno. */
static int
tcpwmem_read(const char *path, uint64_t v[3])
{
	char buf[128];
	ssize_t n;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	return tcpwmem_parse(buf, v);
}

/* tcpwmem_write: the three values into path; 0 or -errno. */
static int
tcpwmem_write(const char *path, const uint64_t v[3])
{
	char buf[96];
	ssize_t n;
	int fd, len, err = 0;

	len = snprintf(buf, sizeof(buf),
	    "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", v[0], v[1], v[2]);
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return -errno;
	n = write(fd, buf, (size_t)len);
	if (n != len)
		err = n < 0 ? errno : EIO;
	if (close(fd) == -1 && err == 0)
		err = errno;
	return -err;
}

/* tcpwmem_raise: raise the ceiling in path to want when it is lower.
 * Returns 1 when it wrote, 0 when it was high enough already (or want
 * is 0), -errno when it could not read or write; t says what to undo. */
int
tcpwmem_raise(struct tcpwmem *t, const char *path, uint64_t want)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (want == 0)
		return 0;
	if (want > INT32_MAX)
		return -ERANGE;
	if ((rc = tcpwmem_read(path, t->old)) != 0)
		return rc;
	if (t->old[2] >= want)
		return 0;
	memcpy(t->set, t->old, sizeof(t->set));
	t->set[2] = want;
	if (t->set[1] > want) /* the kernel wants min <= def <= max */
		t->set[1] = want;
	if (t->set[0] > t->set[1])
		t->set[0] = t->set[1];
	if ((rc = tcpwmem_write(path, t->set)) != 0)
		return rc;
	t->raised = 1;
	return 1;
}

/* tcpwmem_restore: put back what tcpwmem_raise changed, if path still
 * holds what it wrote.  Returns 1 when it did, 0 when there was nothing
 * to put back, -EBUSY when somebody changed the value since (it is left
 * as it is), other -errno when it could not read or write. */
int
tcpwmem_restore(struct tcpwmem *t, const char *path)
{
	uint64_t now[3];
	int rc;

	if (!t->raised)
		return 0;
	t->raised = 0;
	if ((rc = tcpwmem_read(path, now)) != 0)
		return rc;
	if (memcmp(now, t->set, sizeof(now)) != 0)
		return -EBUSY;
	if ((rc = tcpwmem_write(path, t->old)) != 0)
		return rc;
	return 1;
}
