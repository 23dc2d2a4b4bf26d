/*
 * ofd.c: the lock file beside the segment, and who is alive by it.
 *
 * "<segment>.lock" carries OFD locks: byte 0 serialises creation and
 * removal of the segment, byte id says node id is alive.  OFD locks
 * follow the open file, not the PID, so they work across PID namespaces
 * and the kernel drops them when a daemon dies, even by SIGKILL.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "shmnet_private.h"

/* ofd_lock: take an OFD write lock on one byte, waiting if asked. */
int
ofd_lock(int fd, off_t byte, int wait)
{
	struct flock fl = { .l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1 };

	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EACCES)
			return -EADDRINUSE;
		return -errno;
	}
	return 0;
}

/* ofd_unlock: release an OFD lock on one byte. */
int
ofd_unlock(int fd, off_t byte)
{
	struct flock fl = { .l_type = F_UNLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1 };

	if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
		return -errno;
	return 0;
}

/* ofd_range_held: is any byte of [start, start+len) locked by others? */
int
ofd_range_held(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = start,
		.l_len = len };

	if (fd < 0)
		return 0;
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* ofd_held: is one byte locked by another open file description? */
int
ofd_held(int fd, off_t byte)
{
	return ofd_range_held(fd, byte, 1);
}

/* ofd_alive: does node id's daemon live (hold its byte)? */
int
ofd_alive(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return 0;
	if (id == s->self)
		return 1;
	return ofd_held(s->lockfd, (off_t)id) > 0;
}
