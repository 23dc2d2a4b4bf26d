/*
 * check_backend.c: nodes as backends of the cluster address
 * (libshmnet/backend.c) and the weighted choice among them
 * (libshmnet/listen.c): weights, drain, per-port settings, stalled
 * nodes, full accept queues, the services' counters, and the read-write
 * mapping shmnetctl changes them through.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>

#include "shmnet_private.h"
#include "testutil.h"

static struct shmseg *seg, *peers[9];

static void
setup(void)
{
	uint32_t g, i;

	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &g), 1);
	node_publish(seg, 1);
	for (i = 2; i <= 4; i++) {
		peers[i] = tu_open(8 << 20, 8);
		ck_assert_int_eq(node_claim(peers[i], i, &g), (int)i);
		node_publish(peers[i], i);
	}
}

static void
teardown(void)
{
	uint32_t i;

	for (i = 2; i <= 4; i++)
		shmseg_close(peers[i], 0);
	shmseg_close(seg, 0);
	tu_rmdir();
}

static struct conn_key
key(uint16_t lport, uint16_t fport)
{
	struct conn_key k = { .family = 4,
		.proto = IPPROTO_TCP,
		.lport = lport,
		.fport = fport };

	memcpy(k.faddr, (uint32_t[]){ 7 }, 4);
	return k;
}

/* listen_on: nodes 1..n listen on TCP ports 80 and 443, flags on 80. */
static void
listen_on(uint32_t n, uint8_t flags80)
{
	struct shm_listen l[2] = {
		{ .family = 4, .proto = IPPROTO_TCP, .port = 80 },
		{ .family = 4, .proto = IPPROTO_TCP, .port = 443 },
	};
	uint32_t i;

	l[0].flags = flags80;
	for (i = 1; i <= n; i++)
		ck_assert_uint_eq(listen_publish(seg, i, l, 2), 2);
}

/* picks: n new flows to port, counted by node in count[]. */
static void
picks(uint16_t port, uint32_t n, uint32_t *count)
{
	uint32_t i, node;
	struct conn_key k;

	memset(count, 0, 5 * sizeof(*count));
	for (i = 0; i < n; i++) {
		k = key(port, (uint16_t)(20000 + i));
		ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
		ck_assert_uint_ge(node, 1);
		ck_assert_uint_le(node, 4);
		count[node]++;
	}
}

START_TEST(test_weights_exact_and_interleaved)
{
	uint32_t count[5], i, node, seq[10];
	struct conn_key k;

	listen_on(3, 0);
	backend_reset(seg, 1, 3);
	picks(80, 500, count);
	ck_assert_uint_eq(count[1], 300);
	ck_assert_uint_eq(count[2], 100);
	ck_assert_uint_eq(count[3], 100);
	/* rounds: a b c a a, not a a a b c */
	for (i = 0; i < 10; i++) {
		k = key(80, (uint16_t)(40000 + i));
		ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
		seq[i] = node;
	}
	for (i = 0; i < 5; i++)
		ck_assert_uint_eq(seq[i], seq[i + 5]);
	ck_assert_uint_eq(seq[0], 1);
	ck_assert_uint_eq(seq[1], 2);
	ck_assert_uint_eq(seq[2], 3);
	ck_assert_uint_eq(seq[3], 1);
	ck_assert_uint_eq(seq[4], 1);
	/* counted per service and per backend */
	ck_assert_uint_eq(svc_find(seg, svc_key(4, 0, IPPROTO_TCP, 80))->flows,
	    510);
	ck_assert_uint_eq(backend_flows(seg, 1, svc_key(4, 0, IPPROTO_TCP, 80)),
	    306);
	ck_assert_uint_eq(backend_flows(seg, 2, svc_key(4, 0, IPPROTO_TCP, 80)),
	    102);
	ck_assert_ptr_null(svc_find(seg, svc_key(4, 0, IPPROTO_TCP, 443)));
	/* large weights, one of them alone: still exact */
	backend_reset(seg, 1, 255);
	backend_reset(seg, 2, 254);
	backend_reset(seg, 3, 1);
	picks(80, 510 * 2, count);
	ck_assert_uint_eq(count[1], 510);
	ck_assert_uint_eq(count[2], 508);
	ck_assert_uint_eq(count[3], 2);
}
END_TEST

START_TEST(test_drain_and_weight_zero_take_no_new_flow)
{
	struct conn_key k = key(80, 1);
	uint32_t count[5], node;

	listen_on(3, 0);
	ck_assert_int_eq(backend_set_drain(seg, 2, 0, 1), 0);
	picks(80, 30, count);
	ck_assert_uint_eq(count[2], 0);
	ck_assert_uint_eq(count[1], 15);
	/* the drain outlives a weight change; undrain restores the weight */
	ck_assert_int_eq(backend_set_weight(seg, 2, 0, 2), 0);
	picks(80, 30, count);
	ck_assert_uint_eq(count[2], 0);
	ck_assert_int_eq(backend_set_drain(seg, 2, 0, 0), 0);
	picks(80, 40, count);
	ck_assert_uint_eq(count[2], 20);
	ck_assert_uint_eq(count[1], 10);
	/* weight 0 everywhere: nobody */
	ck_assert_int_eq(backend_set_weight(seg, 1, 0, 0), 0);
	ck_assert_int_eq(backend_set_weight(seg, 2, 0, 0), 0);
	ck_assert_int_eq(backend_set_weight(seg, 3, 0, 0), 0);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	/* a reload's configured weight: the drain stays */
	ck_assert_int_eq(backend_set_drain(seg, 3, 0, 1), 0);
	backend_configure(seg, 3, 4);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	ck_assert_int_eq(backend_set_drain(seg, 3, 0, 0), 0);
	ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
	ck_assert_uint_eq(node, 3);
}
END_TEST

START_TEST(test_port_settings)
{
	struct backend_view v;
	uint32_t count[5];
	int p;

	listen_on(3, 0);
	ck_assert_int_eq(backend_set_weight(seg, 3, 80, 0), 0);
	picks(80, 20, count);
	ck_assert_uint_eq(count[3], 0);
	picks(443, 30, count);
	ck_assert_uint_eq(count[3], 10);
	ck_assert_int_eq(backend_set_weight(seg, 3, 80, 2), 0);
	picks(80, 40, count);
	ck_assert_uint_eq(count[3], 20);
	ck_assert_int_eq(backend_set_drain(seg, 3, 443, 1), 0);
	picks(443, 20, count);
	ck_assert_uint_eq(count[3], 0);
	backend_view(seg, 3, 443, &v);
	ck_assert(v.drained);
	ck_assert(!v.port_set);
	ck_assert_uint_eq(v.weight, 1);
	/* cleared: the node's weight again, and the word freed */
	ck_assert_int_eq(backend_set_weight(seg, 3, 80, -1), 0);
	ck_assert_int_eq(backend_set_drain(seg, 3, 443, 0), 0);
	for (p = 0; p < SHM_BACKEND_PORTS; p++)
		ck_assert_uint_eq(shmseg_backend(seg, 3)->port[p], 0);
	/* room for SHM_BACKEND_PORTS ports */
	for (p = 1; p <= SHM_BACKEND_PORTS; p++)
		ck_assert_int_eq(backend_set_drain(seg, 3, 1000 + p, 1), 0);
	ck_assert_int_eq(backend_set_drain(seg, 3, 999, 1), -ENOSPC);
	ck_assert_int_eq(backend_set_weight(seg, 3, 1001, 9), 0);
	/* a claim clears them all */
	backend_reset(seg, 3, 1);
	for (p = 0; p < SHM_BACKEND_PORTS; p++)
		ck_assert_uint_eq(shmseg_backend(seg, 3)->port[p], 0);
	ck_assert_int_eq(backend_set_weight(seg, 3, 0, 256), -EINVAL);
	ck_assert_int_eq(backend_set_weight(seg, 3, 0, -1), -EINVAL);
	ck_assert_int_eq(backend_set_weight(seg, 9, 0, 1), -EINVAL);
}
END_TEST

START_TEST(test_full_queue_and_stalled_node_skipped)
{
	struct shm_listen l[2] = {
		{ .family = 4,
		    .proto = IPPROTO_TCP,
		    .port = 80,
		    .flags = SHM_LISTEN_FULL },
		{ .family = 4, .proto = IPPROTO_TCP, .port = 443 },
	};
	struct conn_key k = key(80, 1);
	uint32_t count[5], node;

	listen_on(3, 0);
	/* node 2's port 80 queue is full */
	listen_publish(seg, 2, l, 2);
	picks(80, 20, count);
	ck_assert_uint_eq(count[2], 0);
	picks(443, 30, count);
	ck_assert_uint_eq(count[2], 10);
	l[0].flags = SHM_LISTEN_FAILING;
	listen_publish(seg, 2, l, 2);
	picks(80, 20, count);
	ck_assert_uint_eq(count[2], 0);
	/* node 3 stalled, as this process saw it */
	backend_set_stalled(seg, 3, 1);
	ck_assert(backend_stalled(seg, 3));
	picks(443, 20, count);
	ck_assert_uint_eq(count[3], 0);
	ck_assert_uint_eq(count[2], 10);
	backend_set_stalled(seg, 3, 0);
	picks(443, 30, count);
	ck_assert_uint_eq(count[3], 10);
	/* every node full or stalled: picked among them anyway, as a burst
	 * is queued, not refused; failing or drained ones are not */
	l[0].flags = SHM_LISTEN_FULL;
	listen_publish(seg, 1, l, 2);
	listen_publish(seg, 2, l, 2);
	backend_set_stalled(seg, 3, 1);
	picks(80, 30, count);
	ck_assert_uint_eq(count[1] + count[2] + count[3], 30);
	ck_assert_uint_eq(count[1], 10);
	l[0].flags = SHM_LISTEN_FAILING;
	listen_publish(seg, 1, l, 2);
	listen_publish(seg, 2, l, 2);
	ck_assert_int_eq(backend_set_drain(seg, 3, 0, 1), 0);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
}
END_TEST

START_TEST(test_hash_choice_ignores_weight_drain_and_health)
{
	uint32_t before[200], i, node, moved = 0;
	struct conn_key k;

	listen_on(3, 0);
	for (i = 0; i < 200; i++) {
		k = key(80, (uint16_t)(1000 + i));
		ck_assert_int_eq(
		    listen_pick_by(seg, &k, conn_hash(seg, &k), &before[i]), 0);
	}
	/* drain, weigh, fail, fill: no flow going by its hash moves */
	ck_assert_int_eq(backend_set_drain(seg, 1, 0, 1), 0);
	ck_assert_int_eq(backend_set_weight(seg, 2, 0, 7), 0);
	backend_set_stalled(seg, 3, 1);
	listen_on(3, SHM_LISTEN_FAILING | SHM_LISTEN_FULL);
	for (i = 0; i < 200; i++) {
		k = key(80, (uint16_t)(1000 + i));
		ck_assert_int_eq(
		    listen_pick_by(seg, &k, conn_hash(seg, &k), &node), 0);
		moved += node != before[i];
	}
	ck_assert_uint_eq(moved, 0);
	/* and they spread over the three */
	for (node = 1; node <= 3; node++) {
		for (i = 0; i < 200 && before[i] != node; i++)
			;
		ck_assert_uint_lt(i, 200);
	}
}
END_TEST

START_TEST(test_rate_of_the_last_second)
{
	uint32_t key, now;
	struct shm_svc *e;
	uint16_t port = 80;
	int i;

	do { /* seven flows within one second */
		key = svc_key(4, 0, IPPROTO_TCP, port++);
		now = conn_now();
		for (i = 0; i < 7; i++)
			svc_take(seg, key);
	} while (conn_now() != now);
	e = (struct shm_svc *)svc_find(seg, key);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->flows, 7);
	/* the window began this second: the last whole one had none */
	ck_assert_uint_eq(e->sec, now);
	ck_assert_uint_eq(svc_rate(e, now), 0);
	/* a second later the 7 are the last whole second's */
	ck_assert_uint_eq(svc_rate(e, now + 1), 7);
	ck_assert_uint_eq(svc_rate(e, now + 2), 0);
	/* as the picker of the next second finds them */
	now = conn_now();
	atomic_store(&e->sec, now - 1);
	svc_take(seg, key);
	ck_assert_uint_eq(e->sec, now);
	ck_assert_uint_eq(svc_rate(e, now), 7);
}
END_TEST

START_TEST(test_admin_mapping)
{
	struct backend_view v;
	struct shmseg *ro, *rw;
	uint32_t g, i;
	char err[256];

	ck_assert_int_eq(shmseg_open_ro(tu_path, &ro, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_set_weight(ro, 2, 0, 5), -EROFS);
	ck_assert_int_eq(backend_set_drain(ro, 2, 0, 1), -EROFS);
	shmseg_close(ro, 0);
	ck_assert_int_eq(shmseg_open_admin(tu_path, &rw, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_set_weight(rw, 2, 0, 5), 0);
	backend_view(seg, 2, 80, &v);
	ck_assert_uint_eq(v.weight, 5);
	ck_assert_int_eq(node_claim(rw, 5, &g), -EROFS);
	/* the segment stays, whoever is alive: an admin mapping is no
	 * node, even closed as a last node would close */
	node_leave(seg, 1);
	for (i = 2; i <= 4; i++)
		node_leave(peers[i], i);
	shmseg_close(rw, 1);
	ck_assert_int_eq(access(tu_path, F_OK), 0);
	ck_assert_int_eq(shmseg_open_admin("/nonexistent/shmnet.x", &rw, err,
			     sizeof(err)),
	    -ENOENT);
}
END_TEST

/* What a gateway in route mode announces: the families some up node
 * listens in for new clients. */
START_TEST(test_listen_families)
{
	struct shm_listen l[2] = {
		{ .family = 6,
		    .proto = IPPROTO_UDP,
		    .port = 53,
		    .flags = SHM_LISTEN_REMOTE },
		{ .family = 4, .proto = IPPROTO_TCP, .port = 80 },
	};

	ck_assert_uint_eq(listen_families(seg), 0);
	listen_publish(seg, 2, l, 1); /* connected: takes no new client */
	ck_assert_uint_eq(listen_families(seg), 0);
	l[0].flags = 0;
	listen_publish(seg, 2, l, 1);
	ck_assert_uint_eq(listen_families(seg), LISTEN_V6);
	listen_publish(seg, 3, l + 1, 1);
	ck_assert_uint_eq(listen_families(seg), LISTEN_V4 | LISTEN_V6);
	ck_assert_int_eq(node_leave(peers[3], 3), 0);
	ck_assert_uint_eq(listen_families(seg), LISTEN_V6);
}
END_TEST

/* picks_at: n new flows to address index aidx, port, counted by node. */
static void
picks_at(uint8_t aidx, uint16_t port, uint32_t n, uint32_t *count)
{
	uint32_t i, node;
	struct conn_key k;

	memset(count, 0, 5 * sizeof(*count));
	for (i = 0; i < n; i++) {
		k = key(port, (uint16_t)(20000 + i));
		k.aidx = aidx;
		ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
		count[node]++;
	}
}

/* Two cluster addresses: G (index 0) on nodes 1, 2 and 4 (an older
 * build's node, which says nothing), index 1 on nodes 2 and 3. */
static void
carry_two(void)
{
	gaddr_publish(seg, 1, 0x1);
	gaddr_publish(peers[2], 2, 0x3);
	gaddr_publish(peers[3], 3, 0x2);
}

START_TEST(test_pick_among_the_nodes_carrying_the_address)
{
	struct shm_listen l = { .family = 4, .proto = IPPROTO_TCP, .port = 80 };
	uint32_t count[5], i, node;
	struct conn_key k;

	carry_two();
	for (i = 1; i <= 4; i++)
		listen_publish(seg, i, &l, 1);
	picks_at(0, 80, 30, count);
	ck_assert_uint_eq(count[1], 10);
	ck_assert_uint_eq(count[2], 10);
	ck_assert_uint_eq(count[3], 0);
	ck_assert_uint_eq(count[4], 10);
	picks_at(1, 80, 30, count);
	ck_assert_uint_eq(count[2], 15);
	ck_assert_uint_eq(count[3], 15);
	/* each address's service has its own rotation and counts */
	ck_assert_uint_eq(svc_find(seg, svc_key(4, 0, IPPROTO_TCP, 80))->flows,
	    30);
	ck_assert_uint_eq(svc_find(seg, svc_key(4, 1, IPPROTO_TCP, 80))->flows,
	    30);
	ck_assert_uint_eq(backend_flows(seg, 2, svc_key(4, 1, IPPROTO_TCP, 80)),
	    15);
	/* by hash too: only carriers */
	for (i = 0; i < 50; i++) {
		k = key(80, (uint16_t)i);
		k.aidx = 1;
		ck_assert_int_eq(
		    listen_pick_by(seg, &k, (uint64_t)i << 40, &node), 0);
		ck_assert(node == 2 || node == 3);
	}
	/* nobody carries index 2; an index past the table is nothing */
	k.aidx = 2;
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	k.aidx = 200;
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	ck_assert_int_eq(listen_pick_by(seg, &k, 1, &node), -ENOENT);
	/* IPv6 has one address, G6, on every node */
	l.family = 6;
	listen_publish(peers[3], 3, &l, 1);
	k = key(80, 1);
	k.family = 6;
	ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
	ck_assert_uint_eq(node, 3);
}
END_TEST

START_TEST(test_bound_listener_serves_its_address_only)
{
	struct shm_listen bound = { .family = 4,
		.proto = IPPROTO_TCP,
		.port = 90,
		.flags = SHM_LISTEN_SPECIFIC | (1 << SHM_LISTEN_AIDX_SHIFT) },
			  wild = {
				  .family = 4, .proto = IPPROTO_TCP, .port = 90
			  };
	uint32_t count[5], node;
	struct conn_key k = key(90, 1);

	carry_two();
	/* node 3 binds index 1's address only: no flow to G reaches it */
	listen_publish(peers[3], 3, &bound, 1);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	picks_at(1, 90, 10, count);
	ck_assert_uint_eq(count[3], 10);
	/* node 2 (carrying both) listens on the wildcard address: G's
	 * flows go there, index 1's to node 3's bound socket, which
	 * matches better */
	listen_publish(peers[2], 2, &wild, 1);
	picks_at(0, 90, 10, count);
	ck_assert_uint_eq(count[2], 10);
	picks_at(1, 90, 10, count);
	ck_assert_uint_eq(count[3], 10);
	/* node 1 binds G: G's flows go there, by the same rule */
	bound.flags = SHM_LISTEN_SPECIFIC;
	listen_publish(seg, 1, &bound, 1);
	picks_at(0, 90, 10, count);
	ck_assert_uint_eq(count[1], 10);
}
END_TEST

/* What a gateway in route mode announces each address for. */
START_TEST(test_listen_addresses)
{
	struct shm_listen bound = { .family = 4,
		.proto = IPPROTO_TCP,
		.port = 90,
		.flags = SHM_LISTEN_SPECIFIC | (1 << SHM_LISTEN_AIDX_SHIFT) },
			  wild = {
				  .family = 4, .proto = IPPROTO_UDP, .port = 53
			  };

	carry_two();
	ck_assert_uint_eq(listen_addresses(seg), 0);
	listen_publish(peers[3], 3, &bound, 1);
	ck_assert_uint_eq(listen_addresses(seg), 0x2);
	wild.flags = SHM_LISTEN_REMOTE; /* takes no new client */
	listen_publish(seg, 1, &wild, 1);
	ck_assert_uint_eq(listen_addresses(seg), 0x2);
	wild.flags = 0;
	listen_publish(seg, 1, &wild, 1);
	ck_assert_uint_eq(listen_addresses(seg), 0x3);
	ck_assert_int_eq(node_leave(peers[3], 3), 0);
	ck_assert_uint_eq(listen_addresses(seg), 0x1);
}
END_TEST

/* A ping to an address goes to a node that carries it. */
START_TEST(test_echo_node_carries_the_address)
{
	uint32_t node, h, seen = 0;

	carry_two();
	for (h = 0; h < 64; h++) {
		ck_assert_int_eq(gaddr_pick(seg, 1, (uint64_t)h << 32, &node),
		    0);
		ck_assert(node == 2 || node == 3);
		seen |= 1u << node;
	}
	ck_assert_uint_eq(seen, (1u << 2) | (1u << 3));
	ck_assert_int_eq(gaddr_pick(seg, 0, 0, &node), 0);
	ck_assert(node == 1 || node == 2 || node == 4);
	ck_assert_int_eq(gaddr_pick(seg, 5, 0, &node), -ENOENT);
	ck_assert_int_eq(gaddr_pick(seg, 99, 0, &node), -ENOENT);
}
END_TEST

static Suite *
backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_weights_exact_and_interleaved);
	tcase_add_test(tc, test_drain_and_weight_zero_take_no_new_flow);
	tcase_add_test(tc, test_port_settings);
	tcase_add_test(tc, test_full_queue_and_stalled_node_skipped);
	tcase_add_test(tc, test_hash_choice_ignores_weight_drain_and_health);
	tcase_add_test(tc, test_rate_of_the_last_second);
	tcase_add_test(tc, test_admin_mapping);
	tcase_add_test(tc, test_listen_families);
	tcase_add_test(tc, test_pick_among_the_nodes_carrying_the_address);
	tcase_add_test(tc, test_bound_listener_serves_its_address_only);
	tcase_add_test(tc, test_listen_addresses);
	tcase_add_test(tc, test_echo_node_carries_the_address);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(backend_suite());
}
