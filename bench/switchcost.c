/*
 * switchcost.c: what a system call and a switch between tasks cost on
 * this machine right now.
 *
 * A frame through shmnet makes system calls a veth does not (the TAP
 * read and write) and, on one CPU, two switches between processes per
 * direction (the application to the daemon that reads its TAP, the
 * daemon that writes the peer's TAP to the application it woke).  On a
 * paravirtualised guest both cost several times what they cost on bare
 * metal, and they set how close a ping-pong can come to a veth's.
 * bench/run prints these figures next to its table so that its latency
 * ratios can be read against them on any machine.
 *
 * Measures, each the median of 5 runs of N round trips of one byte over
 * two pipes: two threads of one process on one CPU, two processes on
 * one CPU (the difference is the address-space switch), and two
 * processes on two CPUs (a wake-up across CPUs, what a veth pays).
 * Usage: switchcost [ROUND_TRIPS, default 20000]
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 5

struct peer {
	int rfd, wfd, cpu, n;
};

/* now_us: monotonic microseconds. */
static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* pin: keep the calling thread on cpu; 0 or -1. */
static int
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* echo: the answering side; returns what its thread returns. */
static void *
echo(void *arg)
{
	struct peer *p = arg;
	char c;
	int i;

	if (pin(p->cpu) == -1)
		return (void *)1;
	for (i = 0; i < p->n; i++)
		if (read(p->rfd, &c, 1) != 1 || write(p->wfd, &c, 1) != 1)
			return (void *)1;
	return NULL;
}

/* ask: the asking side, n round trips; microseconds per round trip, or
 * a negative number when a pipe failed. */
static double
ask(int rfd, int wfd, int n)
{
	double t0 = now_us();
	char c = 'x';
	int i;

	for (i = 0; i < n; i++)
		if (write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1)
			return -1;
	return (now_us() - t0) / n;
}

/* roundtrip: one run, the echo side a thread (threads) or a child
 * process on cpu_b, the asking side on cpu_a; us per round trip or -1. */
static double
roundtrip(int cpu_a, int cpu_b, int threads, int n)
{
	struct peer p = { .cpu = cpu_b, .n = n };
	int to[2], from[2], st;
	pthread_t th;
	double us = -1;
	pid_t pid;
	void *rv;

	if (pipe(to) == -1 || pipe(from) == -1)
		return -1;
	p.rfd = to[0];
	p.wfd = from[1];
	if (pin(cpu_a) == -1)
		goto out;
	if (threads) {
		if (pthread_create(&th, NULL, echo, &p) != 0)
			goto out;
		us = ask(from[0], to[1], n);
		pthread_join(th, &rv);
		if (rv != NULL)
			us = -1;
	} else {
		if ((pid = fork()) == -1)
			goto out;
		if (pid == 0)
			_exit(echo(&p) == NULL ? 0 : 1);
		us = ask(from[0], to[1], n);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			us = -1;
	}
out:
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	return us;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* median_rt: median of RUNS round trips; -1 if any failed. */
static double
median_rt(int cpu_a, int cpu_b, int threads, int n)
{
	double v[RUNS];
	int i;

	for (i = 0; i < RUNS; i++)
		if ((v[i] = roundtrip(cpu_a, cpu_b, threads, n)) < 0)
			return -1;
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

/* syscall_us: median cost of getppid, microseconds. */
static double
syscall_us(int n)
{
	double v[RUNS], t0;
	int i, j;

	for (i = 0; i < RUNS; i++) {
		t0 = now_us();
		for (j = 0; j < n; j++)
			(void)getppid();
		v[i] = (now_us() - t0) / n;
	}
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

/* two_cpus: the first two CPUs this process may run on; how many. */
static int
two_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, k = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 0;
	for (i = 0; i < CPU_SETSIZE && k < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[k++] = i;
	return k;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000, cpu[2], ncpu;
	double sc, th, pr, x = -1;

	if (n < 100 || n > 10000000) {
		fprintf(stderr,
		    "usage: switchcost [ROUND_TRIPS, 100-10000000]\n");
		return 2;
	}
	if ((ncpu = two_cpus(cpu)) == 0) {
		perror("switchcost: sched_getaffinity");
		return 1;
	}
	sc = syscall_us(n * 10);
	th = median_rt(cpu[0], cpu[0], 1, n);
	pr = median_rt(cpu[0], cpu[0], 0, n);
	if (ncpu == 2)
		x = median_rt(cpu[0], cpu[1], 0, n);
	if (th < 0 || pr < 0 || (ncpu == 2 && x < 0)) {
		fprintf(stderr, "switchcost: a pipe round trip failed\n");
		return 1;
	}
	printf("system call (getppid)                       %6.2f us\n", sc);
	printf("pipe round trip, 2 threads, 1 CPU           %6.2f us"
	       "  (4 calls, 2 switches)\n",
	    th);
	printf("pipe round trip, 2 processes, 1 CPU         %6.2f us"
	       "  (a switch between processes %.2f us more)\n",
	    pr, (pr - th) / 2);
	if (ncpu == 2)
		printf("pipe round trip, 2 processes, 2 CPUs        %6.2f us"
		       "  (wake-ups across CPUs)\n",
		    x);
	return 0;
}
