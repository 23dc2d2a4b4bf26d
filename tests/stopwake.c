/*
 * stopwake: do what a transmitter stopped half-way through a wake-up
 * leaves behind: wait until node NODE's local receive thread sleeps
 * (its doorbell's sleeping flag is set), claim the wake-up as
 * bell_ring does (sleeping 1 -> 0), and exit without bumping the bell
 * or calling futex.
 *
 *   stopwake SEGMENT NODE
 *
 * Exit 0 once claimed, 1 if the thread did not sleep within 5 s or there
 * is no such segment or node.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "attach.h"

int
main(int argc, char **argv)
{
	struct timespec ts = { 0, 1000 * 1000 };
	struct shm_node *n;
	struct shm_bell *b;
	struct shmseg *seg;
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: stopwake SEGMENT NODE\n");
		return 2;
	}
	if ((seg = tu_attach("stopwake", argv[1])) == NULL)
		return 1;
	if ((n = shmseg_node(seg, (uint32_t)atoi(argv[2]))) == NULL) {
		fprintf(stderr, "stopwake: no node %s\n", argv[2]);
		shmseg_close(seg, 0);
		return 1;
	}
	b = &n->bell[SHM_NET_LOCAL];
	for (i = 0; i < 5000; i++) {
		if (atomic_load(&b->sleeping) == 1 &&
		    atomic_exchange(&b->sleeping, 0) == 1) {
			printf("claimed after %d ms\n", i);
			shmseg_close(seg, 0);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "stopwake: node %s's receive thread never slept\n",
	    argv[2]);
	shmseg_close(seg, 0);
	return 1;
}
