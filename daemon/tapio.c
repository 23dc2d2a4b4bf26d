/*
 * tapio.c: batched TAP I/O with io_uring, for one data thread.
 *
 * A readv(2) or writev(2) per frame costs a system call per frame, and
 * on some machines (paravirtualised guests) a system call costs about a
 * microsecond by itself.  tapio_rw hands the kernel up to TAPIO_MAX
 * reads or writes of whole frames in one io_uring_enter(2): a TAP read
 * or write completes inline, so the batch costs one system call.  Reads
 * carry RWF_NOWAIT: on an empty TAP they fail with -EAGAIN at once
 * instead of waiting for a frame (a poll the caller does not want).
 *
 * Each thread owns its ring (created on the thread, SINGLE_ISSUER); a
 * ring that fails is closed by tapio_rw itself, on that thread, so no
 * thread ever closes another's.
 * Where io_uring cannot be had (an old kernel, a seccomp filter such as
 * Docker's default, kernel.io_uring_disabled) tapio_open fails and the
 * caller keeps its one call per frame.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>

#include "log.h"
#include "tapio.h"

/* tapio_open: a ring for batches of up to depth frames on fd; 0 or
 * -errno (the caller then does without). */
int
tapio_open(struct tapio *t, int fd, unsigned int depth, const char *name)
{
	struct io_uring *r;
	int rc;

	memset(t, 0, sizeof(*t));
	if (depth == 0 || depth > TAPIO_MAX)
		return -EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	rc = io_uring_queue_init(depth, r, IORING_SETUP_SINGLE_ISSUER);
	if (rc == -EINVAL) /* kernels before 6.0 */
		rc = io_uring_queue_init(depth, r, 0);
	if (rc != 0) {
		free(r);
		return rc;
	}
	t->ring = r;
	t->fd = fd;
	t->depth = depth;
	t->name = name;
	return 0;
}

/* tapio_close: the ring and its memory. */
void
tapio_close(struct tapio *t)
{
	if (t->ring != NULL) {
		io_uring_queue_exit(t->ring);
		free(t->ring);
	}
	t->ring = NULL;
}

/* tapio_reap: collect the completions of want submitted requests into
 * res (indexed by user_data).  Waits only for what is not complete yet;
 * a signal does not lose a completion. */
static int
tapio_reap(struct tapio *t, unsigned int want, int32_t *res, unsigned int n)
{
	struct io_uring_cqe *cqe;
	unsigned int got = 0;
	int rc;

	while (got < want) {
		rc = io_uring_wait_cqe(t->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc != 0)
			return rc;
		if (cqe->user_data < n)
			res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(t->ring, cqe);
		got++;
	}
	return 0;
}

/* tapio_failed: the ring itself failed: say so once and close it. */
static int
tapio_failed(struct tapio *t, int write, int rc)
{
	log_warnx("%s: batched TAP %s failed (%s); one system call per frame "
		  "from now on",
	    t->name ? t->name : "tap", write ? "writes" : "reads",
	    strerror(-rc));
	tapio_close(t);
	return rc;
}

/* tapio_rw: n reads or writes in one go (tapio.h). */
int
tapio_rw(struct tapio *t, int write, struct iovec (*iov)[2], unsigned int n,
    int32_t *res)
{
	struct io_uring_sqe *sqe;
	unsigned int i, queued = 0;
	int rc = 0, sub = 0;

	if (n > t->depth)
		n = t->depth;
	for (i = 0; i < n; i++)
		res[i] = TAPIO_UNDONE;
	for (i = 0; i < n; i++) {
		if ((sqe = io_uring_get_sqe(t->ring)) == NULL)
			break;
		if (write)
			io_uring_prep_writev(sqe, t->fd, iov[i], 2, 0);
		else {
			io_uring_prep_readv(sqe, t->fd, iov[i], 2, 0);
			sqe->rw_flags = RWF_NOWAIT;
		}
		io_uring_sqe_set_data64(sqe, i);
		queued++;
	}
	while ((unsigned int)sub < queued) {
		rc = io_uring_submit(t->ring);
		if (rc == -EINTR)
			continue;
		if (rc <= 0)
			break;
		sub += rc;
	}
	if (sub > 0 && tapio_reap(t, (unsigned int)sub, res, n) != 0) {
		/* submitted, not reaped: it may have been done; doing it
		 * again could send a frame twice */
		for (i = 0; i < (unsigned int)sub; i++)
			if (res[i] == TAPIO_UNDONE)
				res[i] = -EIO;
		return tapio_failed(t, write, -EIO);
	}
	if ((unsigned int)sub < queued)
		return tapio_failed(t, write, rc < 0 ? rc : -EAGAIN);
	return 0;
}
