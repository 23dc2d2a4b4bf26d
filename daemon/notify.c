/*
 * notify.c: the pipe by which the data and watch threads ask the main
 * loop for work.  The threads never call into libevent: they write one
 * byte, and the main loop, woken by the pipe, does the work.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "notify.h"

/* notify_init: no pipe yet. */
void
notify_init(struct notify *n)
{
	n->fd[0] = n->fd[1] = -1;
}

/* notify_open: the pipe, non-blocking at both ends; 0 or -errno. */
int
notify_open(struct notify *n)
{
	if (pipe2(n->fd, O_CLOEXEC | O_NONBLOCK) == -1)
		return -errno;
	return 0;
}

/* notify_close: undo notify_open. */
void
notify_close(struct notify *n)
{
	if (n->fd[0] != -1) {
		close(n->fd[0]);
		close(n->fd[1]);
	}
	notify_init(n);
}

/* notify_send: ask for `what` (any thread). */
void
notify_send(const struct notify *n, int what)
{
	char b = (char)what;
	ssize_t w = write(n->fd[1], &b, 1);

	(void)w;
}

/* notify_take: drain the pipe (main thread). */
int
notify_take(const struct notify *n)
{
	char buf[64];
	ssize_t got, i;
	int what = 0;

	while ((got = read(n->fd[0], buf, sizeof(buf))) > 0)
		for (i = 0; i < got; i++)
			what |= buf[i];
	return what;
}
