/*
 * tapio_probe.c: CPU per frame of moving 64-byte frames through a TAP, one
 * system call per frame against io_uring batches (what io-batch does in
 * the daemon; daemon/tapio.c).  Built and run by bench/tapio.
 *
 *   tapio read K N   queue N frames on TAP "tapio0" (a socket sends them
 *                    to a pinned neighbour; nobody reads yet), then drain
 *                    the queue: readv(2) per frame (K = 1) or batches of K
 *                    READV with RWF_NOWAIT in one io_uring_enter(2) (K = 0:
 *                    io_uring batches of one)
 *   tapio write K N  write N frames to the TAP: writev(2) per frame
 *                    (K = 1) or batches of K WRITEV, 0 as for read (the
 *                    frames are for another host and dropped early by the
 *                    stack)
 *
 * Prints frames/s and microseconds of CPU (user + system) per frame.
 * Run it in a network namespace of its own (bench/tapio does).
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

#define KMAX 64
#define FMAX (65535 + 18)

static unsigned char bufs[KMAX][FMAX], vnets[KMAX][12];
static struct iovec iov[KMAX][2];

static int
tap_open(void)
{
	int fd = probe_tap("tapio0");

	if (system(
		"ip link set tapio0 txqueuelen 300000 up && "
		"ip addr add 10.215.0.1/24 dev tapio0 && "
		"ip neigh add 10.215.0.2 lladdr 02:00:00:00:00:02 dev tapio0") !=
	    0)
		exit(1);
	return fd;
}

/* queue: n datagrams out of the TAP, left in its queue */
static void
queue(long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char d[64];

	memset(d, 'x', sizeof(d));
	inet_pton(AF_INET, "10.215.0.2", &a.sin_addr);
	for (long i = 0; i < n; i++)
		if (sendto(s, d, sizeof(d), 0, (struct sockaddr *)&a,
			sizeof(a)) != sizeof(d)) {
			perror("tapio: send");
			exit(1);
		}
	close(s);
}

/* batch: K reads (RWF_NOWAIT) or writes in one io_uring_enter; the
 * number that moved a frame */
static int
batch(struct io_uring *r, int fd, int wr, int k)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	int i, ok = 0;

	for (i = 0; i < k; i++) {
		sqe = io_uring_get_sqe(r);
		if (wr)
			io_uring_prep_writev(sqe, fd, iov[i], 2, 0);
		else {
			io_uring_prep_readv(sqe, fd, iov[i], 2, 0);
			sqe->rw_flags = RWF_NOWAIT;
		}
	}
	if (io_uring_submit_and_wait(r, (unsigned int)k) < 0) {
		perror("tapio: io_uring");
		exit(1);
	}
	io_uring_for_each_cqe(r, head, cqe) {
		n++;
		ok += cqe->res > 0;
	}
	io_uring_cq_advance(r, n);
	return ok;
}

/* run: move n frames; returns frames moved */
static long
run(int fd, int wr, int k, long n)
{
	struct io_uring r;
	long moved = 0;
	int got;

	if (k == 1) {
		while (moved < n &&
		    (wr ? writev(fd, iov[0], 2) : readv(fd, iov[0], 2)) > 0)
			moved++;
		return moved;
	}
	if (k == 0)
		k = 1; /* io_uring all the same */
	if (io_uring_queue_init((unsigned int)k, &r, 0) != 0) {
		perror("tapio: io_uring_queue_init");
		exit(1);
	}
	do
		moved += got = batch(&r, fd, wr, k);
	while (got == k && moved < n);
	io_uring_queue_exit(&r);
	return moved;
}

int
main(int argc, char **argv)
{
	double t0, c0, el;
	long n, moved;
	int fd, wr, k, i;
	char how[16];

	if (argc != 4 ||
	    (strcmp(argv[1], "read") && strcmp(argv[1], "write")) ||
	    (k = atoi(argv[2])) < 0 || k > KMAX || (n = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: tapio read|write K N (K 0-%d)\n", KMAX);
		return 2;
	}
	wr = argv[1][0] == 'w';
	fd = tap_open();
	for (i = 0; i < KMAX; i++) {
		iov[i][0] = (struct iovec){ vnets[i], 12 };
		iov[i][1] = (struct iovec){ bufs[i], wr ? 64 : FMAX };
		/* to 02:00:00:00:00:99, not us: dropped at the IP layer */
		memcpy(bufs[i], "\x02\0\0\0\0\x99\x02\0\0\0\0\x01\x08\0\x45",
		    15);
	}
	if (!wr) {
		queue(n);
		fcntl(fd, F_SETFL, O_NONBLOCK); /* readv: stop when dry */
	}
	t0 = now();
	c0 = cpu();
	moved = run(fd, wr, k, n);
	el = now() - t0;
	if (moved < n) {
		fprintf(stderr, "tapio: moved %ld of %ld frames\n", moved, n);
		return 1;
	}
	if (k == 1)
		snprintf(how, sizeof(how), "%s", wr ? "writev" : "readv");
	else
		snprintf(how, sizeof(how), "io_uring/%d", k ? k : 1);
	printf("%-5s %-12s %8.0f k frames/s  %5.2f us of CPU per frame\n",
	    argv[1], how, moved / el / 1e3, (cpu() - c0) * 1e6 / moved);
	return 0;
}
