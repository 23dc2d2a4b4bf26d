/*
 * check_conntab.c: the global connection table (libshmnet/conntab.c)
 * and the choice of serving nodes (libshmnet/listen.c).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <time.h>

#include "shmnet_private.h"
#include "testutil.h"

static struct shmseg *seg;
static const struct conn_timeouts tmo = { 30, 900, 10, 30 };

static void
setup(void)
{
	uint32_t g;

	tu_mkdir();
	seg = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(seg, 1, &g), 1);
	node_publish(seg, 1);
}

static void
teardown(void)
{
	shmseg_close(seg, 0);
	tu_rmdir();
}

static struct conn_key
key(uint8_t proto, uint16_t lport, uint32_t client, uint16_t fport)
{
	struct conn_key k = {
		.family = 4, .proto = proto, .lport = lport, .fport = fport
	};

	memcpy(k.faddr, &client, 4);
	return k;
}

START_TEST(test_insert_lookup_reuse)
{
	struct conn_key k = key(IPPROTO_TCP, 8080, 0x0a0b0c0d, 40000);
	struct shm_conn c, *e;

	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 0);
	ck_assert_int_eq(
	    conn_insert(seg, 1, &k, 3, 1, SHM_CONN_SYN, 100, &tmo, &c, &e), 1);
	ck_assert_uint_eq(c.node, 3);
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 1);
	ck_assert_uint_eq(c.node, 3);
	ck_assert_uint_eq(c.ingress, 1);
	/* a SYN retransmit finds the same entry instead of a new node */
	ck_assert_int_eq(conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 101, &tmo,
			     &c, NULL),
	    0);
	ck_assert_uint_eq(c.node, 3);
	k.fport++;
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 0);
}
END_TEST

START_TEST(test_two_addresses_two_flows)
{
	struct conn_key k1 = key(IPPROTO_TCP, 80, 0x0a0b0c0d, 40100), k2 = k1;
	struct shm_conn c, *e1, *e2;

	/* a client uses one source port to G (index 0) and to index 1 */
	k2.aidx = 1;
	ck_assert_uint_ne(conn_hash(seg, &k1), conn_hash(seg, &k2));
	ck_assert_int_eq(conn_insert(seg, 1, &k1, 2, 1, SHM_CONN_SYN, 100, &tmo,
			     &c, &e1),
	    1);
	ck_assert_int_eq(conn_insert(seg, 1, &k2, 3, 1, SHM_CONN_SYN, 100, &tmo,
			     &c, &e2),
	    1);
	ck_assert_ptr_ne(e1, e2);
	ck_assert_int_eq(conn_lookup(seg, &k1, &c, NULL), 1);
	ck_assert_uint_eq(c.node, 2);
	ck_assert_uint_eq(c.aidx, 0);
	ck_assert_int_eq(conn_lookup(seg, &k2, &c, NULL), 1);
	ck_assert_uint_eq(c.node, 3);
	ck_assert_uint_eq(c.aidx, 1);
	/* walking the table finds each under its own key */
	ck_assert_int_eq(conn_read_slot(seg, e2, &c), 1);
	ck_assert_uint_eq(c.aidx, 1);
	ck_assert_uint_eq(c.node, 3);
	/* one re-homed, the other not */
	ck_assert_int_eq(conn_rehome(seg, 1, &k2, 1, 4), 1);
	ck_assert_int_eq(conn_lookup(seg, &k1, &c, NULL), 1);
	ck_assert_uint_eq(c.ingress, 1);
	ck_assert_int_eq(conn_lookup(seg, &k2, &c, NULL), 1);
	ck_assert_uint_eq(c.ingress, 4);
	/* a third address has neither */
	k2.aidx = 2;
	ck_assert_int_eq(conn_lookup(seg, &k2, &c, NULL), 0);
}
END_TEST

START_TEST(test_torn_entry_written_anew)
{
	struct conn_key k = key(IPPROTO_TCP, 8080, 0x0a0b0c0d, 40001);
	struct shm_conn c, *e;

	ck_assert_int_eq(
	    conn_insert(seg, 1, &k, 3, 1, SHM_CONN_SYN, 100, &tmo, &c, &e), 1);
	/* its writer died mid-write: seq stays odd */
	atomic_fetch_add(&e->seq, 1);
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 0);
	memset(&c, 0xaa, sizeof(c));
	ck_assert_int_eq(conn_insert(seg, 1, &k, 5, 1, SHM_CONN_SYN, 101, &tmo,
			     &c, NULL),
	    1);
	ck_assert_uint_eq(c.node, 5);
	ck_assert_int_eq(conn_lookup(seg, &k, &c, NULL), 1);
	ck_assert_uint_eq(c.node, 5);
	ck_assert_uint_eq(atomic_load(&e->seq) & 1, 0);
}
END_TEST

START_TEST(test_bucket_lock_cleared_by_next_life)
{
	struct shm_conn_bucket *b = shmseg_conn_bucket(seg, 17);
	uint32_t g;

	/* node 3 died holding an empty bucket's lock (nobody collects an
	 * empty bucket); id 3 is claimed again, by a new node, and its
	 * liveness would make the lock its forever */
	atomic_store(&b->lock.owner, 3 | (41u << 16));
	ck_assert_int_eq(node_claim(seg, 3, &g), 3);
	ck_assert_uint_eq(atomic_load(&b->lock.owner), 0);
	ck_assert_uint_eq(atomic_load(&b->lock.recoveries), 1);
	node_leave(seg, 3);
}
END_TEST

/* stopped_holder: a child that claims node id and waits (a node that
 * lives but does not run: SIGSTOP, docker pause); its pid */
static pid_t
stopped_holder(uint32_t id)
{
	int ready[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		struct shmseg *mine;
		uint32_t g;

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* goes with the test */
		mine = tu_open(8 << 20, 8);

		if (node_claim(mine, id, &g) != (int)id)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

START_TEST(test_bucket_kept_by_stopped_node_not_waited_for)
{
	struct conn_key k = key(IPPROTO_TCP, 8080, 0x0a0b0c0d, 40002),
			old = key(IPPROTO_UDP, 53, 0x0a0b0c0e, 40003);
	pid_t pid = stopped_holder(6);
	uint32_t i, owner = lock_owner_word(6);

	ck_assert_int_eq(conn_insert(seg, 1, &old, 3, 1, SHM_CONN_UDP, 100,
			     &tmo, NULL, NULL),
	    1);
	/* node 6 lives and holds every bucket's lock (or a scribbler wrote
	 * its owner word there) */
	for (i = 0; i < shmseg_conn_buckets(seg); i++)
		atomic_store(&shmseg_conn_bucket(seg, i)->lock.owner, owner);
	ck_assert_int_eq(conn_insert(seg, 1, &k, 3, 1, SHM_CONN_SYN, 100, &tmo,
			     NULL, NULL),
	    -EBUSY);
	ck_assert_uint_eq(conn_gc(seg, 1, 0, 100000, &tmo, NULL), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* dead now: its locks are taken over */
	ck_assert_uint_eq(conn_gc(seg, 1, 0, 100000, &tmo, NULL), 1);
	ck_assert_int_eq(conn_insert(seg, 1, &k, 3, 1, SHM_CONN_SYN, 100, &tmo,
			     NULL, NULL),
	    1);
}
END_TEST

START_TEST(test_tcp_states_and_expiry)
{
	struct conn_key k = key(IPPROTO_TCP, 80, 1, 2);
	struct shm_conn c, *e;

	conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 100, &tmo, &c, &e);
	conn_touch(e, 100, 60, CONN_TCP_SYN | CONN_TCP_ACK, 0); /* SYN-ACK */
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_SYN);
	ck_assert(!conn_expired(e, 129, &tmo));
	ck_assert(conn_expired(e, 130, &tmo)); /* SYN-only 30 s */
	conn_touch(e, 101, 52, CONN_TCP_ACK, 1);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_EST);
	ck_assert(!conn_expired(e, 101 + 899, &tmo));
	ck_assert(conn_expired(e, 101 + 900, &tmo)); /* 900 s idle */
	conn_touch(e, 102, 52, CONN_TCP_FIN | CONN_TCP_ACK, 1);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_EST);
	conn_touch(e, 102, 52, CONN_TCP_FIN | CONN_TCP_ACK, 0);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_CLOSING);
	ck_assert(conn_expired(e, 112, &tmo)); /* short after FIN */
	ck_assert_uint_eq(atomic_load(&e->packets), 4);
	ck_assert_uint_eq(atomic_load(&e->bytes), 216);
	ck_assert_str_eq(conn_state_name(atomic_load(&e->stflags)), "closing");
}
END_TEST

START_TEST(test_rst_and_udp)
{
	struct conn_key k = key(IPPROTO_TCP, 80, 1, 3),
			u = key(IPPROTO_UDP, 53, 1, 3);
	struct shm_conn *e, *eu;

	conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 100, &tmo, NULL, &e);
	conn_touch(e, 100, 40, CONN_TCP_RST, 0);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_CLOSING);
	conn_insert(seg, 1, &u, 2, 1, SHM_CONN_UDP, 100, &tmo, NULL, &eu);
	conn_touch(eu, 110, 40, CONN_TCP_FIN, 1); /* flags mean nothing */
	ck_assert_uint_eq(atomic_load(&eu->stflags), SHM_CONN_UDP);
	ck_assert(!conn_expired(eu, 139, &tmo));
	ck_assert(conn_expired(eu, 140, &tmo));
}
END_TEST

START_TEST(test_full_bucket_and_reuse_of_expired)
{
	struct conn_key k;
	uint32_t i, ins = 0, full = 0;
	int rc;

	/* 64 buckets x 7: push 2000 answered flows (which no new flow may
	 * evict), every bucket fills up */
	for (i = 0; i < 2000; i++) {
		k = key(IPPROTO_UDP, 9, i, (uint16_t)i);
		rc = conn_insert(seg, 1, &k, 2, 1,
		    SHM_CONN_UDP | SHM_CONN_REPLIED, 100, &tmo, NULL, NULL);
		ins += rc == 1;
		full += rc == -ENOSPC;
	}
	ck_assert_uint_eq(ins, 64 * SHM_CONN_PER_BUCKET);
	ck_assert_uint_eq(full, 2000 - ins);
	ck_assert_uint_eq(
	    atomic_load(&((struct shm_hdr *)shmseg_hdr(seg))->conn_full), full);
	/* once they have expired, new flows take their places */
	k = key(IPPROTO_UDP, 9, 99999, 1);
	ck_assert_int_eq(conn_insert(seg, 1, &k, 2, 1, SHM_CONN_UDP, 200, &tmo,
			     NULL, NULL),
	    1);
	ck_assert_uint_eq(conn_gc(seg, 1, 1, 200, &tmo, NULL), ins - 1);
}
END_TEST

START_TEST(test_gc_by_ingress_and_purge)
{
	struct conn_key k;
	uint32_t i, n;

	for (i = 0; i < 30; i++) {
		k = key(IPPROTO_TCP, 80, i, 1000);
		conn_insert(seg, 1, &k, (uint16_t)(1 + i % 3),
		    (uint16_t)(1 + i % 2), SHM_CONN_EST, 100, &tmo, NULL, NULL);
	}
	_Atomic uint64_t *live =
	    &((struct shm_hdr *)shmseg_hdr(seg))->conn_live;

	uint64_t gone[SHM_NODES_MAX / 64 + 1] = { 1u << 2 }; /* node 2 */

	ck_assert_uint_eq(*live, 30);
	ck_assert_uint_eq(conn_gc(seg, 1, 1, 150, &tmo, NULL), 0); /* idle? */
	ck_assert_uint_eq(conn_gc(seg, 1, 1, 1000, &tmo, NULL), 15);
	/* node 3 serves 10 of the 30; 5 of those entered via 1, gone; a
	 * purge drops those it serves, not those that entered by it */
	ck_assert_uint_eq(conn_purge_node(seg, 1, 2), 5);
	ck_assert_uint_eq(conn_purge_node(seg, 1, 3), 5);
	ck_assert_uint_eq(*live, 5);
	/* the flows that entered by node 2, gone, are node 1's to expire
	 * when 2 is in its bitmap, not before */
	ck_assert_uint_eq(conn_gc(seg, 1, 1, 2000, &tmo, NULL), 0);
	ck_assert_uint_eq(conn_gc(seg, 1, 1, 2000, &tmo, gone), 5);
	ck_assert_uint_eq(*live, 0);
	/* an empty table is not swept: an entry the count missed (a writer
	 * killed mid-insert) waits for the sweep every 64th call */
	k = key(IPPROTO_TCP, 80, 99, 1000);
	conn_insert(seg, 1, &k, 1, 1, SHM_CONN_EST, 100, &tmo, NULL, NULL);
	*live = 0;
	for (i = 0, n = 0; i < 64; i++)
		n += conn_gc(seg, 1, 0, 3000, &tmo, NULL);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* ---- placement and flood resistance ---------------------------------- */

START_TEST(test_siphash_reference_vectors)
{
	uint8_t k[16], m[16];
	int i;

	/* the reference implementation's: key 00..0f, message 00..len-1 */
	for (i = 0; i < 16; i++)
		k[i] = m[i] = (uint8_t)i;
	ck_assert_uint_eq(siphash24(k, m, 0), 0x726fdb47dd0e0e31ull);
	ck_assert_uint_eq(siphash24(k, m, 1), 0x74f839c593dc67fdull);
	ck_assert_uint_eq(siphash24(k, m, 8), 0x93f5f5799a932462ull);
	ck_assert_uint_eq(siphash24(k, m, 15), 0xa129ca6149be45e5ull);
}
END_TEST

START_TEST(test_hash_key_random_and_read_once)
{
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(seg);
	static const uint8_t zero[SHM_CONN_KEY_LEN];
	struct conn_key k = key(IPPROTO_TCP, 80, 0x0a000001, 1234);

	ck_assert(memcmp(h->conn_key, zero, sizeof(zero)) != 0);
	ck_assert_int_eq(conn_insert(seg, 1, &k, 2, 1, SHM_CONN_EST, 100, &tmo,
			     NULL, NULL),
	    1);
	/* a peer scribbling the key later moves nothing for this process */
	memset(h->conn_key, 0xa5, sizeof(h->conn_key));
	ck_assert_int_eq(conn_lookup(seg, &k, NULL, NULL), 1);
}
END_TEST

/* first_keys: n keys whose first choice is bucket b (fport from *next) */
static void
first_keys(uint32_t b, struct conn_key *out, int n, uint32_t *next)
{
	uint32_t pl[2];

	while (n > 0) {
		*out = key(IPPROTO_TCP, 80, 0x0a000001, (uint16_t)(*next)++);
		conn_places(seg, out, pl);
		ck_assert_uint_ne(pl[0], pl[1]);
		if (pl[0] == b) {
			out++;
			n--;
		}
	}
}

START_TEST(test_second_choice_bucket)
{
	struct conn_key k[2 * SHM_CONN_PER_BUCKET], probe;
	uint32_t pl[2], next = 1;
	int i;

	probe = key(IPPROTO_TCP, 80, 0x0a000001, 0);
	conn_places(seg, &probe, pl);
	first_keys(pl[0], k, 2 * SHM_CONN_PER_BUCKET, &next);
	for (i = 0; i < 2 * SHM_CONN_PER_BUCKET; i++)
		ck_assert_int_eq(conn_insert(seg, 1, &k[i], 2, 1, SHM_CONN_EST,
				     100, &tmo, NULL, NULL),
		    1);
	for (i = 0; i < 2 * SHM_CONN_PER_BUCKET; i++)
		ck_assert_int_eq(conn_lookup(seg, &k[i], NULL, NULL), 1);
}
END_TEST

/* pair_keys: n keys whose two buckets are {a, b} */
static void
pair_keys(uint32_t a, uint32_t b, struct conn_key *out, int n, uint8_t proto)
{
	uint32_t pl[2], i;

	for (i = 0; n > 0; i++) {
		ck_assert_uint_lt(i, 1u << 24);
		*out = key(proto, 81, 0x0b000000 + (i >> 16), (uint16_t)i);
		conn_places(seg, out, pl);
		if ((pl[0] == a && pl[1] == b) || (pl[0] == b && pl[1] == a)) {
			out++;
			n--;
		}
	}
}

/* ins: insert k in state st, returning its entry */
static struct shm_conn *
ins(const struct conn_key *k, uint16_t st)
{
	struct shm_conn *e = NULL;

	ck_assert_int_eq(conn_insert(seg, 1, k, 2, 1, st, 100, &tmo, NULL, &e),
	    1);
	return e;
}

static int
has(const struct conn_key *k)
{
	return conn_lookup(seg, k, NULL, NULL);
}

/* answered: the server's SYN-ACK and the client's ACK, as on the wire */
static void
answered(struct shm_conn *e)
{
	conn_touch(e, 100, 40, CONN_TCP_SYN | CONN_TCP_ACK, 0);
	conn_touch(e, 100, 40, CONN_TCP_ACK, 1);
}

START_TEST(test_eviction_order)
{
	const int n = 2 * SHM_CONN_PER_BUCKET;
	struct conn_key k[2 * SHM_CONN_PER_BUCKET], u[1], x[5];
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(seg);
	struct shm_conn *e[2 * SHM_CONN_PER_BUCKET], *ex[5];
	int i;

	/* fill the two buckets 5 and 9 share: established flows, an
	 * answered UDP flow and two SYNs seen 3 and 2 s ago */
	pair_keys(5, 9, k, n - 1, IPPROTO_TCP);
	pair_keys(5, 9, u, 1, IPPROTO_UDP);
	pair_keys(5, 9, x, 5, IPPROTO_ICMP); /* distinct from the above */
	for (i = 0; i < n - 3; i++)
		answered(e[i] = ins(&k[i], SHM_CONN_SYN));
	conn_touch(ins(&u[0], SHM_CONN_UDP), 100, 40, 0, 0);
	e[n - 3] = ins(&k[n - 3], SHM_CONN_SYN);
	e[n - 2] = ins(&k[n - 2], SHM_CONN_SYN);
	e[n - 3]->created_ms -= 3000;
	e[n - 2]->created_ms -= 2000;
	/* full: a new SYN or datagram does not push out a handshake in
	 * progress (it may be a real client's) */
	ck_assert_int_eq(conn_insert(seg, 1, &x[0], 2, 1, SHM_CONN_SYN, 100,
			     &tmo, NULL, NULL),
	    -ENOSPC);
	ck_assert_int_eq(conn_insert(seg, 1, &x[0], 2, 1, SHM_CONN_UDP, 100,
			     &tmo, NULL, NULL),
	    -ENOSPC);
	ck_assert_uint_eq(atomic_load(&h->conn_full), 2);
	/* a flow past its handshake takes the oldest embryonic one's place */
	ex[0] = ins(&x[0], SHM_CONN_EST);
	ck_assert(!has(&k[n - 3]) && has(&k[n - 2]));
	ck_assert_uint_eq(atomic_load(&h->conn_evicted), 1);
	/* a flow the server reset makes room even for a SYN */
	conn_touch(e[0], 100, 40, CONN_TCP_RST, 0);
	ex[1] = ins(&x[1], SHM_CONN_SYN);
	ck_assert(!has(&k[0]) && has(&k[n - 2]) && has(&x[0]));
	/* then the remaining old SYN; the young ones stay */
	ex[2] = ins(&x[2], SHM_CONN_EST);
	ck_assert(!has(&k[n - 2]) && has(&x[0]) && has(&x[1]));
	ck_assert_int_eq(conn_insert(seg, 1, &x[3], 2, 1, SHM_CONN_EST, 100,
			     &tmo, NULL, NULL),
	    -ENOSPC);
	/* a second later, the flow its server never answered goes */
	ex[0]->created_ms -= 1500;
	ex[3] = ins(&x[3], SHM_CONN_EST);
	ck_assert(!has(&x[0]) && has(&x[1]) && has(&x[2]));
	ck_assert_uint_eq(atomic_load(&h->conn_evicted), 4);
	/* answered and established flows stay, however old */
	answered(ex[1]);
	conn_touch(ex[2], 100, 40, CONN_TCP_ACK, 0);
	conn_touch(ex[3], 100, 40, CONN_TCP_ACK, 0);
	tu_age_flows(seg, 60000);
	ck_assert_int_eq(conn_insert(seg, 1, &x[4], 2, 1, SHM_CONN_EST, 100,
			     &tmo, NULL, NULL),
	    -ENOSPC);
	ck_assert(has(&u[0]));
	for (i = 1; i < n - 3; i++)
		ck_assert(has(&k[i]));
}
END_TEST

START_TEST(test_syn_flood_of_ten_tables)
{
	const uint32_t slots = shmseg_conn_buckets(seg) * SHM_CONN_PER_BUCKET;
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(seg);
	struct conn_key est[64], k, late;
	struct shm_conn *e;
	uint32_t i, r;

	for (i = 0; i < 64; i++) {
		est[i] = key(IPPROTO_TCP, 80, 0x0a000000 + i, 5000);
		answered(ins(&est[i], SHM_CONN_SYN));
	}
	/* spoofed SYNs, ten times the table: they fill what is free */
	for (i = 0, r = 1; i < 10 * slots; i++) {
		r = r * 1103515245u + 12345u;
		k = key(IPPROTO_TCP, 80, r, (uint16_t)(r >> 16));
		conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 100, &tmo, NULL,
		    NULL);
	}
	ck_assert_uint_eq(atomic_load(&h->conn_live), slots);
	ck_assert_uint_gt(atomic_load(&h->conn_full), 8 * slots);
	for (i = 0; i < 64; i++)
		ck_assert(has(&est[i]));
	/* a client's new connection: its SYN finds no room (the gateway
	 * sends it by its hash), its ACK gets in, in place of a SYN the
	 * flood sent more than a second ago */
	tu_age_flows(seg, 2000);
	late = key(IPPROTO_TCP, 80, 0x0a0000ff, 5001);
	ck_assert_int_eq(conn_insert(seg, 1, &late, 2, 1, SHM_CONN_SYN, 100,
			     &tmo, NULL, NULL),
	    -ENOSPC);
	e = ins(&late, SHM_CONN_EST);
	conn_touch(e, 100, 40, CONN_TCP_ACK, 0);
	for (i = 0; i < 10 * slots; i++) {
		r = r * 1103515245u + 12345u;
		k = key(IPPROTO_TCP, 80, r, (uint16_t)(r >> 16));
		conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 100, &tmo, NULL,
		    NULL);
	}
	ck_assert(has(&late));
	for (i = 0; i < 64; i++)
		ck_assert(has(&est[i]));
}
END_TEST

START_TEST(test_client_rst_until_server_answers)
{
	struct conn_key k = key(IPPROTO_TCP, 80, 7, 7),
			s = key(IPPROTO_TCP, 80, 7, 8);
	struct shm_conn *e, *es;

	e = ins(&k, SHM_CONN_SYN);
	conn_touch(e, 100, 40, CONN_TCP_ACK, 1);
	/* a client's RST (maybe forged) closes the entry... */
	conn_touch(e, 100, 40, CONN_TCP_RST, 1);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_CLOSING);
	/* ...until the server answers: its socket is still open */
	conn_touch(e, 100, 40, CONN_TCP_ACK, 0);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_EST);
	ck_assert(!(atomic_load(&e->stflags) & SHM_CONN_RST_IN));
	/* the server's RST is final */
	conn_touch(e, 100, 40, CONN_TCP_RST, 0);
	conn_touch(e, 100, 40, CONN_TCP_ACK, 0);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_CLOSING);
	/* a client's FIN before its handshake completes promotes nothing */
	es = ins(&s, SHM_CONN_SYN);
	conn_touch(es, 100, 40, CONN_TCP_FIN, 1);
	ck_assert_uint_eq(atomic_load(&es->stflags) & 0xff, SHM_CONN_SYN);
}
END_TEST

START_TEST(test_closed_flow_ports_used_again)
{
	struct conn_key k = key(IPPROTO_TCP, 80, 9, 9);
	struct shm_conn *e = ins(&k, SHM_CONN_SYN);

	answered(e);
	conn_touch(e, 100, 40, CONN_TCP_FIN | CONN_TCP_ACK, 1);
	conn_touch(e, 100, 40, CONN_TCP_FIN | CONN_TCP_ACK, 0);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_CLOSING);
	/* the client opens a new connection from the same port */
	conn_touch(e, 100, 40, CONN_TCP_SYN, 1);
	ck_assert_uint_eq(atomic_load(&e->stflags), SHM_CONN_SYN);
	answered(e);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_EST);
}
END_TEST

START_TEST(test_account_only_the_same_flow)
{
	struct conn_key k = key(IPPROTO_TCP, 80, 10, 10);
	struct shm_conn c, *e;

	ck_assert_int_eq(
	    conn_insert(seg, 1, &k, 2, 1, SHM_CONN_SYN, 100, &tmo, &c, &e), 1);
	conn_account(e, c.seq, 100, 40, CONN_TCP_ACK, 1);
	ck_assert_uint_eq(atomic_load(&e->packets), 1);
	/* the entry was rewritten (another flow took its place) */
	atomic_fetch_add(&e->seq, 2);
	conn_account(e, c.seq, 100, 40, CONN_TCP_RST, 1);
	ck_assert_uint_eq(atomic_load(&e->packets), 1);
	ck_assert_uint_eq(atomic_load(&e->stflags) & 0xff, SHM_CONN_EST);
}
END_TEST

START_TEST(test_kept_bucket_waited_for_once)
{
	struct conn_key k = key(IPPROTO_TCP, 8080, 0x0a0b0c0d, 40009);
	pid_t pid = stopped_holder(6);
	uint32_t b[2], i;

	conn_places(seg, &k, b);
	atomic_store(&shmseg_conn_bucket(seg, b[0])->lock.owner,
	    lock_owner_word(6));
	/* every packet of the flow tries: only the first one waits */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(conn_insert(seg, 1, &k, 3, 1, SHM_CONN_EST,
				     100, &tmo, NULL, NULL),
		    -EBUSY);
	ck_assert_uint_eq(atomic_load(&seg->conn_busy_waits), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/* ---- listeners and the serving node ---------------------------------- */

/* other nodes of the cluster (the test forks: they go with it) */
static struct shmseg *peers[9];

static void
up_nodes(uint32_t n)
{
	uint32_t i, g;

	for (i = 2; i <= n; i++) {
		peers[i] = tu_open(8 << 20, 8);
		ck_assert_int_eq(node_claim(peers[i], i, &g), (int)i);
		node_publish(peers[i], i);
	}
}

static void
publish(uint32_t id, uint8_t proto, uint16_t port, uint8_t flags)
{
	struct shm_listen l = {
		.family = 4, .proto = proto, .port = port, .flags = flags
	};

	ck_assert_uint_eq(listen_publish(seg, id, &l, 1), 1);
}

START_TEST(test_round_robin_exact)
{
	struct conn_key k;
	uint32_t count[4] = { 0 }, i, node;

	up_nodes(3);
	for (i = 1; i <= 3; i++)
		publish(i, IPPROTO_TCP, 8080, 0);
	for (i = 0; i < 300; i++) {
		k = key(IPPROTO_TCP, 8080, 7, (uint16_t)(30000 + i));
		ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
		ck_assert_uint_ge(node, 1);
		ck_assert_uint_le(node, 3);
		count[node]++;
	}
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	ck_assert_uint_eq(count[3], 100);
	k = key(IPPROTO_UDP, 8080, 7, 1);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
}
END_TEST

START_TEST(test_best_match_wins)
{
	struct conn_key k = key(IPPROTO_TCP, 9090, 7, 5555);
	struct shm_listen r = { .family = 4,
		.proto = IPPROTO_TCP,
		.port = 9090,
		.flags = SHM_LISTEN_REMOTE,
		.rport = 5555 };
	uint32_t node, i;

	up_nodes(3);
	publish(1, IPPROTO_TCP, 9090, 0);
	publish(2, IPPROTO_TCP, 9090, SHM_LISTEN_SPECIFIC);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
		ck_assert_uint_eq(node, 2); /* bound to G */
	}
	memcpy(r.raddr, (uint32_t[]){ 7 }, 4);
	listen_publish(seg, 3, &r, 1);
	ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
	ck_assert_uint_eq(node, 3); /* this very peer */
	/* a node that goes down stops being chosen */
	node_leave(peers[3], 3);
	ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
	ck_assert_uint_eq(node, 2);
}
END_TEST

/* A writer preempted mid-publish: it starts a publish, says so, and
 * finishes it 1 ms later. */
struct slow_writer {
	struct shm_listen_table *t;
	atomic_int started;
};

static void *
slow_publish(void *arg)
{
	struct slow_writer *w = arg;
	struct timespec ms = { 0, 1000000 };

	atomic_fetch_add(&w->t->seq, 1); /* odd: mid-publish */
	atomic_store(&w->started, 1);
	nanosleep(&ms, NULL);
	atomic_fetch_add(&w->t->seq, 1);
	return NULL;
}

START_TEST(test_pick_waits_for_preempted_writer)
{
	struct conn_key k = key(IPPROTO_TCP, 9090, 7, 5555);
	struct slow_writer w = { 0 };
	pthread_t th;
	uint32_t node = 0;

	up_nodes(3);
	publish(1, IPPROTO_TCP, 8080, 0);
	publish(2, IPPROTO_TCP, 9090, 0); /* the only one on 9090 */
	w.t = shmseg_listen(seg, 2);
	ck_assert_int_eq(pthread_create(&th, NULL, slow_publish, &w), 0);
	while (!atomic_load(&w.started))
		sched_yield();
	ck_assert_int_eq(listen_pick(seg, &k, &node), 0);
	ck_assert_uint_eq(node, 2);
	pthread_join(th, NULL);
}
END_TEST

START_TEST(test_pick_gives_up_on_dead_writer)
{
	struct conn_key k = key(IPPROTO_TCP, 9090, 7, 5555);
	struct shm_listen out[SHM_LISTEN_MAX];
	uint32_t node = 0;

	up_nodes(2);
	publish(2, IPPROTO_TCP, 9090, 0);
	atomic_fetch_add(&shmseg_listen(seg, 2)->seq, 1); /* never ends */
	/* the 20 ms wait runs out well within the test's timeout */
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	ck_assert_uint_eq(listen_read(seg, 2, out), 0);
}
END_TEST

START_TEST(test_pick_waits_once_for_all_stuck_tables)
{
	struct conn_key k = key(IPPROTO_TCP, 9090, 7, 5555);
	uint32_t node = 0, id;
	uint64_t t0;

	up_nodes(8);
	for (id = 2; id <= 8; id++) {
		publish(id, IPPROTO_TCP, 9090, 0);
		atomic_fetch_add(&shmseg_listen(seg, id)->seq, 1);
	}
	/* one LISTEN_WAIT_US (20 ms) for the pick, not one per stuck table:
	 * seven tables would take at least 140 ms each waited for alone */
	t0 = clock_ms();
	ck_assert_uint_eq(atomic_load(&seg->listen_busy_us), 0);
	ck_assert_int_eq(listen_pick(seg, &k, &node), -ENOENT);
	ck_assert_uint_lt(clock_ms() - t0, 140);
	/* and the picks of the next 100 ms do not wait at all (every packet
	 * of a flow the table cannot record is picked for) */
	ck_assert_uint_gt(atomic_load(&seg->listen_busy_us), clock_us());
}
END_TEST

START_TEST(test_publish_bounds)
{
	struct shm_listen many[SHM_LISTEN_MAX + 10], out[SHM_LISTEN_MAX];

	memset(many, 0, sizeof(many));
	ck_assert_uint_eq(listen_publish(seg, 1, many, SHM_LISTEN_MAX + 10),
	    SHM_LISTEN_MAX);
	ck_assert_uint_eq(listen_read(seg, 1, out), SHM_LISTEN_MAX);
	shmseg_listen(seg, 1)->count = 100000; /* scribbled */
	ck_assert_uint_eq(listen_read(seg, 1, out), SHM_LISTEN_MAX);
	ck_assert_uint_eq(listen_publish(seg, 99, many, 1), 0);
}
END_TEST

static Suite *
conntab_suite(void)
{
	Suite *s = suite_create("conntab");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_insert_lookup_reuse);
	tcase_add_test(tc, test_two_addresses_two_flows);
	tcase_add_test(tc, test_torn_entry_written_anew);
	tcase_add_test(tc, test_bucket_lock_cleared_by_next_life);
	tcase_add_test(tc, test_bucket_kept_by_stopped_node_not_waited_for);
	tcase_add_test(tc, test_tcp_states_and_expiry);
	tcase_add_test(tc, test_rst_and_udp);
	tcase_add_test(tc, test_full_bucket_and_reuse_of_expired);
	tcase_add_test(tc, test_gc_by_ingress_and_purge);
	tcase_add_test(tc, test_siphash_reference_vectors);
	tcase_add_test(tc, test_hash_key_random_and_read_once);
	tcase_add_test(tc, test_second_choice_bucket);
	tcase_add_test(tc, test_eviction_order);
	tcase_add_test(tc, test_syn_flood_of_ten_tables);
	tcase_add_test(tc, test_client_rst_until_server_answers);
	tcase_add_test(tc, test_closed_flow_ports_used_again);
	tcase_add_test(tc, test_account_only_the_same_flow);
	tcase_add_test(tc, test_kept_bucket_waited_for_once);
	tcase_add_test(tc, test_round_robin_exact);
	tcase_add_test(tc, test_best_match_wins);
	tcase_add_test(tc, test_publish_bounds);
	tcase_add_test(tc, test_pick_waits_for_preempted_writer);
	tcase_add_test(tc, test_pick_gives_up_on_dead_writer);
	tcase_add_test(tc, test_pick_waits_once_for_all_stuck_tables);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(conntab_suite());
}
