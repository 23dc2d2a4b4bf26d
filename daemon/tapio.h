/*
 * tapio.h: batched TAP I/O (io_uring), one ring per data thread.
 */
#ifndef SHMNETD_TAPIO_H
#define SHMNETD_TAPIO_H

#include <stdint.h>
#include <sys/uio.h>

#include "conf.h"

#define TAPIO_MAX	CONF_IO_BATCH_MAX
#define TAPIO_UNDONE	INT32_MIN	/* tapio_rw did not get to it */

struct io_uring;

/* One thread's batched I/O on a TAP; ring NULL: none (one system call
 * per frame).  Only the thread that opened it uses it or closes it. */
struct tapio {
	struct io_uring	*ring;
	int		 fd;
	unsigned int	 depth;
	const char	*name;		/* the network's, for the log */
};

/* A ring for batches of up to depth frames on fd, created on the calling
 * thread; 0 or -errno (the caller then does without). */
int	 tapio_open(struct tapio *t, int fd, unsigned int depth,
	    const char *name);
void	 tapio_close(struct tapio *t);
/*
 * n reads (write == 0) or writes of the frames iov[i][0..1]
 * (virtio_net_hdr, then frame) in one go.  res[i] is the byte count or
 * -errno of frame i, or TAPIO_UNDONE where the batch did not get to it
 * (the caller does those its own way).  Returns 0, or -errno when the
 * ring itself failed: then it has logged that and closed the ring, and
 * the caller goes on with one system call per frame; res still holds
 * what was done, and -EIO for frames the ring may or may not have moved.
 */
int	 tapio_rw(struct tapio *t, int write, struct iovec (*iov)[2],
	    unsigned int n, int32_t *res);

#endif /* SHMNETD_TAPIO_H */
