/*
 * cpuspeed.c: how fast each CPU of this machine runs right now.
 *
 * On a virtual machine a CPU's speed drifts with what the host does
 * elsewhere (seen here: the same loop 2.5x slower on one vCPU for tens
 * of seconds, then not).  bench/run runs this before each measurement
 * and prints how far the speed moved over the run, so that a ratio
 * taken while the host drifted can be told from one that was not.
 *
 * For each CPU of its affinity set in turn, it pins itself there and
 * times a fixed chain of dependent additions; it prints the slowest
 * CPU's time in microseconds (what a two-sided exchange waits on).
 * Usage: cpuspeed [ITERATIONS, default 10000000]
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* loop_us: microseconds for n dependent additions on this CPU */
static double
loop_us(unsigned long n)
{
	volatile unsigned long x = 0;
	struct timespec a, b;
	unsigned long i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		x += i;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) * 1e6 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e3;
}

int
main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000UL;
	cpu_set_t all, one;
	double t, worst = 0;
	int cpu;

	if (n == 0 || sched_getaffinity(0, sizeof(all), &all) == -1) {
		fprintf(stderr, "usage: cpuspeed [ITERATIONS > 0]\n");
		return 2;
	}
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) == -1)
			continue;
		if ((t = loop_us(n)) > worst)
			worst = t;
	}
	printf("%.0f\n", worst);
	return 0;
}
