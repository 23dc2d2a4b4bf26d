/*
 * ofd.c: the lock file beside the segment, and who is alive by it.
 *
 * "<segment>.lock" carries OFD locks: byte 0 serialises creation and
 * removal of the segment, byte id says node id is alive.  OFD locks
 * follow the open file, not the PID, so they work across PID namespaces
 * and the kernel drops them when a daemon dies, even by SIGKILL.
 *
 * Daemons take write locks only.  A read lock is somebody else's, who
 * could open the file (it is the daemons' alone, but a process may have
 * opened it while it was readable): it says nobody is alive, and a wait
 * for a byte it holds ends at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

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

/* ofd_read_locked: is byte held by a read lock (nobody's write lock)? */
static int
ofd_read_locked(int fd, off_t byte)
{
	struct flock fl = { .l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1 };

	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_RDLCK;
}

/* ofd_lock_for: take an OFD write lock on one byte, waiting at most
 * timeout_ms for the daemon that holds it; -ETIMEDOUT when it stayed
 * held, -ENOLCK at once when a read lock holds it (not a daemon's: no
 * use waiting for it). */
int
ofd_lock_for(int fd, off_t byte, int timeout_ms)
{
	struct timespec nap = { 0, 1000000 }; /* 1 ms */
	uint64_t end = clock_ms() + (uint64_t)timeout_ms;
	int rc;

	while ((rc = ofd_lock(fd, byte, 0)) == -EADDRINUSE) {
		if (ofd_read_locked(fd, byte))
			return -ENOLCK;
		if (clock_ms() >= end)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	return rc;
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

/* ofd_range_held: is any byte of [start, start+len) write-locked by
 * others (a daemon)?  Probed as a read lock would be taken, which only a
 * write lock conflicts with: somebody's read lock says nobody lives. */
int
ofd_range_held(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = start,
		.l_len = len };

	if (fd < 0)
		return 0;
	if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* ofd_held: is one byte write-locked by another open file description? */
int
ofd_held(int fd, off_t byte)
{
	return ofd_range_held(fd, byte, 1);
}

/* ofd_alive: does node id's daemon live (hold its byte)?  A reader
 * that may not open the lock file (it is the daemons' alone) cannot
 * tell: for it the node table's state stands; so when the probe fails. */
int
ofd_alive(struct shmseg *s, uint32_t id)
{
	if (id < 1 || id > s->max_nodes)
		return 0;
	if (id == s->self || s->lockfd < 0)
		return 1;
	/* a probe that failed (-errno) says nothing: taking a live node's
	 * lock over, or reaping it, would be worse than waiting */
	return ofd_held(s->lockfd, (off_t)id) != 0;
}

/* ofd_same_file: is fd still the file linked at path?  (A last node out
 * may have removed it, and another node made a new one there.) */
int
ofd_same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(path, &b) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}
