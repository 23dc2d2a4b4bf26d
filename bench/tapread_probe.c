/*
 * tapread_probe.c: CPU per frame of reading a flooded TAP, one readv(2) per
 * frame against io_uring multishot reads into a provided-buffer ring
 * (IORING_OP_READ_MULTISHOT, Linux 6.7): whether batched TAP reads
 * would pay.  Built and run by bench/tapread, which floods the TAP.
 *
 * Usage: tapread readv|uring SECONDS  (creates TAP "tapread0" in the
 * current network namespace, prints "ready", waits 2 s for the flood);
 * tapread flood ADDR  (64-byte UDP datagrams to ADDR port 9, forever).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define OP_READ_MULTISHOT 49 /* liburing 2.3's headers predate it */
#define NBUF              256
#define BUFSZ             2048
#define BGID              1

static char bufs[NBUF * BUFSZ];

static int
tap_open(void)
{
	return probe_tap("tapread0");
}

static long
run_readv(int fd, double secs)
{
	struct iovec v = { bufs, BUFSZ };
	double t0 = now();
	long frames = 0;

	while (now() - t0 < secs)
		if (readv(fd, &v, 1) > 0)
			frames++;
	return frames;
}

/* buf_give: hand buffer bid back to the kernel */
static void
buf_give(struct io_uring_buf_ring *br, int bid)
{
	io_uring_buf_ring_add(br, bufs + bid * BUFSZ, BUFSZ, bid,
	    io_uring_buf_ring_mask(NBUF), 0);
	io_uring_buf_ring_advance(br, 1);
}

static long
run_uring(int fd, double secs)
{
	struct io_uring_buf_reg reg = { .ring_entries = NBUF, .bgid = BGID };
	struct io_uring_buf_ring *br;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	double t0 = now();
	unsigned head, n;
	long frames = 0;
	int armed = 0, i;

	if (io_uring_queue_init(NBUF, &ring, 0) != 0 ||
	    posix_memalign((void **)&br, 4096, NBUF * sizeof(*br->bufs)))
		return -1;
	io_uring_buf_ring_init(br);
	reg.ring_addr = (unsigned long)br;
	if (io_uring_register_buf_ring(&ring, &reg, 0) != 0)
		return -1;
	for (i = 0; i < NBUF; i++)
		buf_give(br, i);
	while (now() - t0 < secs) {
		if (!armed) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_rw(OP_READ_MULTISHOT, sqe, fd, NULL, 0,
			    0);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = BGID;
			armed = 1;
		}
		io_uring_submit_and_wait(&ring, 1);
		n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			if (cqe->res > 0) {
				frames++;
				buf_give(br,
				    cqe->flags >> IORING_CQE_BUFFER_SHIFT);
			} else if (cqe->res < 0 && cqe->res != -ENOBUFS)
				return -1;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				armed = 0;
		}
		io_uring_cq_advance(&ring, n);
	}
	return frames;
}

/* flood: the sender, as fast as one thread goes */
static int
flood(const char *addr)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char d[64];

	if (s < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return 1;
	memset(d, 'x', sizeof(d));
	for (;;)
		sendto(s, d, sizeof(d), 0, (struct sockaddr *)&a, sizeof(a));
}

int
main(int argc, char **argv)
{
	double secs, t0, c0, el;
	long frames;
	int fd;

	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2]);
	if (argc != 3 ||
	    (strcmp(argv[1], "readv") && strcmp(argv[1], "uring"))) {
		fprintf(stderr, "usage: tapread readv|uring SECONDS\n");
		return 2;
	}
	secs = atof(argv[2]);
	fd = tap_open();
	printf("ready\n");
	fflush(stdout);
	sleep(2);
	t0 = now();
	c0 = cpu();
	frames = argv[1][0] == 'r' ? run_readv(fd, secs) : run_uring(fd, secs);
	el = now() - t0;
	if (frames <= 0) {
		fprintf(stderr, "tapread: %s: no frames\n", argv[1]);
		return 1;
	}
	printf(
	    "%-6s %8.0f frames/s  %5.1f%% of a core  %5.2f us of CPU per frame\n",
	    argv[1], frames / el, 100 * (cpu() - c0) / el,
	    (cpu() - c0) * 1e6 / frames);
	return 0;
}
