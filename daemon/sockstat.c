/*
 * sockstat.c: has a TCP or UDP socket of this network namespace come or
 * gone since the last look?  The kernel keeps, per namespace, how many
 * TCP and UDP sockets (IPv4 and IPv6) are hashed: a listen(), a bind()
 * of a UDP socket and every close move those counts, and
 * /proc/net/sockstat and sockstat6 show them.  Two small reads tell the
 * listener scan whether its four sock_diag dumps, which walk the host's
 * whole listening and UDP hash tables, can find anything new.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockstat.h"

static const char *const ss_path[2] = { "/proc/net/sockstat",
	"/proc/net/sockstat6" };
static const char *const ss_key[SS_COUNTS] = { "TCP: inuse ", "UDP: inuse ",
	"TCP6: inuse ", "UDP6: inuse " };

/* ss_init: nothing open, nothing known. */
void
ss_init(struct sockstat *s)
{
	memset(s, 0, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
}

/* ss_close: the kept descriptors. */
void
ss_close(struct sockstat *s)
{
	for (int i = 0; i < 2; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	ss_init(s);
}

/* ss_field: the number after key at the start of a line of text; 0 if
 * the key is not there. */
static unsigned long
ss_field(const char *text, const char *key)
{
	const char *p = text;
	size_t klen = strlen(key);

	while (p != NULL && strncmp(p, key, klen) != 0)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	return p == NULL ? 0 : strtoul(p + klen, NULL, 10);
}

/* ss_read: file i's text into buf; 0, or -1 if it cannot be read. */
static int
ss_read(struct sockstat *s, int i, char *buf, size_t len)
{
	ssize_t n;

	if (s->fd[i] < 0 &&
	    (s->fd[i] = open(ss_path[i], O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((n = pread(s->fd[i], buf, len - 1, 0)) < 0) {
		close(s->fd[i]);
		s->fd[i] = -1;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* ss_moved: 1 when the counts moved since the last call, or when they
 * cannot be read (sockstat6 may be missing: IPv6 off, counted as 0); 0
 * when they stayed. */
int
ss_moved(struct sockstat *s)
{
	unsigned long now[SS_COUNTS] = { 0 };
	char buf[1024];
	int i, moved;

	if (ss_read(s, 0, buf, sizeof(buf)) != 0)
		return 1;
	now[0] = ss_field(buf, ss_key[0]);
	now[1] = ss_field(buf, ss_key[1]);
	if (ss_read(s, 1, buf, sizeof(buf)) == 0) {
		now[2] = ss_field(buf, ss_key[2]);
		now[3] = ss_field(buf, ss_key[3]);
	}
	moved = !s->known;
	for (i = 0; i < SS_COUNTS; i++) {
		moved |= now[i] != s->last[i];
		s->last[i] = now[i];
	}
	s->known = 1;
	return moved;
}
