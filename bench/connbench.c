/*
 * connbench: connection-table lookups per second on one core, measured on
 * a private segment: fill the table to a load factor, then look up random
 * live flows (hits) and absent ones (misses) for a fixed time; then the
 * choice of a serving node for new flows (listen_pick) among 3 nodes
 * listening, per second.
 *
 *   connbench [SECONDS] [FLOWS]
 */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmnet.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct conn_key
key(uint32_t i, uint16_t salt)
{
	struct conn_key k = { .family = 4,
		.proto = IPPROTO_TCP,
		.lport = 8080,
		.fport = (uint16_t)(i * 7 + salt) };
	uint32_t a = 0x0a000000 + i;

	memcpy(k.faddr, &a, 4);
	return k;
}

/* run: lookups of keys from mk() for `secs`; returns lookups per second. */
static double
run(struct shmseg *seg, uint32_t flows, uint16_t salt, double secs,
    uint64_t *found)
{
	struct conn_key k;
	struct shm_conn c;
	uint64_t n = 0, f = 0, x = 88172645463325252ull;
	double t0 = now_s(), t;
	int i;

	do {
		for (i = 0; i < 4096; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			k = key((uint32_t)(x % flows), salt);
			f += (uint64_t)conn_lookup(seg, &k, &c, NULL);
		}
		n += 4096;
		t = now_s() - t0;
	} while (t < secs);
	*found = f;
	return n / t;
}

/* picks: listen_pick among nodes 1-3, each listening on TCP 8080 (peers
 * hold nodes 2 and 3), for `secs`; picks per second. */
static double
picks(struct shmseg *seg, struct shmseg **peers, double secs)
{
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 8080
	};
	uint64_t n = 0, spread[4] = { 0 };
	double t0, t;
	struct conn_key k = key(1, 0);
	uint32_t i, g, node;

	for (i = 2; i <= 3; i++)
		if (node_claim(peers[i - 2], i, &g) != (int)i)
			return 0;
		else
			node_publish(peers[i - 2], i);
	for (i = 1; i <= 3; i++)
		listen_publish(seg, i, &l, 1);
	t0 = now_s();
	do {
		for (i = 0; i < 4096; i++) {
			k.fport = (uint16_t)(n + i);
			if (listen_pick(seg, &k, &node) == 0 && node <= 3)
				spread[node]++;
		}
		n += 4096;
		t = now_s() - t0;
	} while (t < secs);
	return spread[1] + spread[2] + spread[3] == n ? n / t : 0;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, hit, miss;
	uint32_t flows = argc > 2 ? (uint32_t)atoi(argv[2]) : 40000, i, g;
	struct conn_timeouts t = { 30, 900, 10, 30 };
	char path[] = "/dev/shm/shmnet-connbench-XXXXXX", err[256];
	struct shmseg_params p = { .path = path,
		.cluster = "bench",
		.size = 64 << 20,
		.max_nodes = 8,
		.cast_slots = 64,
		.cast_slot_size = 256,
		.conn_buckets = 8192 };
	struct shmseg *seg, *peer[2];
	struct conn_key k;
	uint64_t found;
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	unlink(path);
	if (shmseg_open(&p, &seg, err, sizeof(err)) != 0 ||
	    node_claim(seg, 1, &g) != 1) {
		fprintf(stderr, "connbench: %s\n", err);
		return 1;
	}
	for (i = 0; i < flows; i++) {
		k = key(i, 0);
		conn_insert(seg, 1, &k, 2, 1, SHM_CONN_EST, conn_now(), &t,
		    NULL, NULL);
	}
	hit = run(seg, flows, 0, secs, &found);
	printf("connbench: %u flows in %u buckets x %d: %.2f M lookups/s "
	       "(hits, %.0f%% found)\n",
	    flows, p.conn_buckets, SHM_CONN_PER_BUCKET, hit / 1e6,
	    100.0 * found / (hit * secs > 0 ? hit * secs : 1));
	miss = run(seg, flows, 1, secs, &found);
	printf("connbench: %.2f M lookups/s (misses)\n", miss / 1e6);
	node_publish(seg, 1);
	for (i = 0; i < 2; i++) {
		p.path = path;
		if (shmseg_open(&p, &peer[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "connbench: %s\n", err);
			return 1;
		}
	}
	printf("connbench: %.2f M picks/s (new flows, 3 nodes listening)\n",
	    picks(seg, peer, secs) / 1e6);
	for (i = 0; i < 2; i++)
		shmseg_close(peer[i], 0);
	shmseg_close(seg, 1);
	unlink(path);
	return 0;
}
