/*
 * check_txpath.c: the zero-copy read of the transmit path
 * (daemon/txpath.c).  A frame is read straight into room reserved in the
 * ring toward the peer the last frame went to, and the read may block for
 * as long as the TAP stays quiet.  When the frame comes, that ring may be
 * gone: the peer left, its ring was freed and its memory reused by a new
 * ring.  The frame must then never be committed through the old pointer;
 * a ring that was only replaced (growth) still takes it.  And the thread
 * is kicked out of such a read when the peer goes down (member.c), with
 * a pipe for its TAP.
 */
#include "config.h"

#include "testutil.h"
#include "member.h"
#include "resize.h"
#include "shmnetd.h"
#include "txpath.h"

#define LEN 60

static struct shmseg *a, *b; /* node 1 (transmits), node 2 (receives) */
static struct handoff ho;
static struct handoff_net *hn;
static struct tx *tx;
static uint32_t gen2;
static uint8_t vnet[SHM_VNET_HDR_LEN], f[LEN];

static void
setup(void)
{
	uint32_t gen;

	tu_mkdir();
	a = tu_open(8 << 20, 8);
	b = tu_open(8 << 20, 8);
	ck_assert_int_eq(node_claim(a, 1, &gen), 1);
	ck_assert_int_eq(node_claim(b, 2, &gen2), 2);
	node_publish(a, 1);
	node_publish(b, 2);
	ho.seg = a;
	ho.self = 1;
	ho.gen = gen;
	ho.max_nodes = shmseg_max_nodes(a);
	ho.node = shmseg_node(a, 1);
	notify_init(&ho.notify);
	ck_assert_int_eq(notify_open(&ho.notify), 0);
	hn = &ho.net[SHM_NET_LOCAL];
	hn->tx_seen_dv = calloc(ho.max_nodes + 1, sizeof(*hn->tx_seen_dv));
	ck_assert_ptr_nonnull(hn->tx_seen_dv);
	hn->ni.net = SHM_NET_LOCAL;
	hn->ni.name = "local";
	netif_attach(&hn->ni, ho.node);
	ck_assert_ptr_nonnull(tx = tx_new(&ho, hn, &hn->ni, NULL, NULL));
	/* the ring 1 -> 2, and a frame for node 2 */
	ck_assert_int_eq(
	    node_dirent_alloc(b, 2, SHM_NET_LOCAL, 1, gen, 128, 1024), 0);
	memset(f, 0xab, sizeof(f));
	frame_node_mac(SHM_NET_LOCAL, 2, f);
	frame_node_mac(SHM_NET_LOCAL, 1, f + 6);
}

static void
teardown(void)
{
	tx_free(tx);
	free(hn->tx_seen_dv);
	notify_close(&ho.notify);
	shmseg_close(b, 0);
	shmseg_close(a, 0);
	tu_rmdir();
}

/* ring_to_2: the ring node 2 publishes for node 1 now, and its dirent */
static struct shm_ring_hdr *
ring_to_2(struct shm_dirent *de)
{
	struct shm_ring_hdr *r;

	ck_assert_int_eq(node_dirent_read(b, 2, SHM_NET_LOCAL, 1, de), 0);
	ck_assert_ptr_nonnull(r = shmseg_ring(b, de->off, de->size));
	return r;
}

static uint32_t
widx(struct shm_ring_hdr *r)
{
	return atomic_load(&r->widx);
}

static uint64_t
stat(_Atomic uint64_t *v)
{
	return atomic_load(v);
}

/* read_ahead: a frame sent the ordinary way makes node 2 the predicted
 * peer; then room is reserved there for the next read */
static struct txpeer *
read_ahead(struct ring_slot *slot)
{
	struct txpeer *zc;

	tx_zc_frame(tx, NULL, NULL, vnet, f, LEN);
	ck_assert_ptr_nonnull(zc = tx_zc_reserve(tx, slot));
	return zc;
}

/* read_frame: the read returns: the frame is where it was reserved */
static void
read_frame(struct ring_slot *slot)
{
	memcpy(slot->desc->vnet, vnet, sizeof(vnet));
	memcpy(slot->data, f, LEN);
}

START_TEST(test_freed_and_reused_ring_not_written)
{
	struct shm_node_stats *st = hn->ni.stats;
	struct shm_dirent de, de2;
	struct shm_ring_hdr *r, *r2;
	struct ring_slot slot;
	struct txpeer *zc;
	uint64_t drops;

	r = ring_to_2(&de);
	zc = read_ahead(&slot);
	ck_assert_uint_eq(widx(r), 1);
	/* while the read blocks: the ring is retired, its quarantine ends;
	 * our hazard keeps its memory from being reused... */
	ck_assert_int_eq(node_dirent_clear(b, 2, SHM_NET_LOCAL, 1), 0);
	usleep((SHM_QUARANTINE_MS + 100) * 1000);
	ck_assert_uint_eq(heap_reclaim(b), 0);
	ck_assert_int_eq(
	    node_dirent_alloc(b, 2, SHM_NET_LOCAL, 1, ho.gen, 128, 1024), 0);
	r2 = ring_to_2(&de2);
	ck_assert_uint_ne(de2.off, de.off);
	ck_assert_uint_eq(widx(r2), 0);
	drops = stat(&st->drop_down);
	read_frame(&slot);
	tx_zc_frame(tx, zc, &slot, slot.desc->vnet, slot.data, LEN);
	ck_assert_uint_eq(widx(r2), 0); /* nothing written through r */
	ck_assert_uint_eq(stat(&st->drop_down), drops + 1);
	/* the next frame goes into the new ring; the old one's memory is
	 * reused once nobody names it */
	tx_zc_frame(tx, NULL, NULL, vnet, f, LEN);
	ck_assert_uint_eq(widx(r2), 1);
	usleep((SHM_QUARANTINE_MS + 100) * 1000); /* reclaim is due again */
	ck_assert_uint_gt(heap_reclaim(b), 0);
}
END_TEST

START_TEST(test_left_peer_not_written)
{
	struct shm_dirent de;
	struct shm_ring_hdr *r;
	struct ring_slot slot;
	struct txpeer *zc;

	r = ring_to_2(&de);
	zc = read_ahead(&slot);
	ck_assert_int_eq(node_leave(b, 2), 0);
	read_frame(&slot);
	tx_zc_frame(tx, zc, &slot, slot.desc->vnet, slot.data, LEN);
	ck_assert_uint_eq(widx(r), 1); /* the freed ring untouched */
}
END_TEST

START_TEST(test_replaced_ring_still_taken)
{
	struct shm_node_stats *st = hn->ni.stats;
	struct shm_dirent de, de2;
	struct shm_ring_hdr *r, *r2;
	struct ring_slot slot;
	struct txpeer *zc;
	uint64_t zcs;

	r = ring_to_2(&de);
	zc = read_ahead(&slot);
	/* the peer grew the ring meanwhile: the old one is drained before
	 * the new one, so the frame read into it is still delivered */
	ck_assert_int_eq(node_dirent_replace(b, 2, SHM_NET_LOCAL, 1, 256, 1024),
	    0);
	r2 = ring_to_2(&de2);
	ck_assert_uint_eq(de2.old_off, de.off);
	zcs = stat(&st->zero_copy);
	read_frame(&slot);
	tx_zc_frame(tx, zc, &slot, slot.desc->vnet, slot.data, LEN);
	ck_assert_uint_eq(widx(r), 2);
	ck_assert_uint_eq(widx(r2), 0);
	ck_assert_uint_eq(stat(&st->zero_copy), zcs + 1);
}
END_TEST

/* seen_dv_is: wait (scanning, as the main loop's ticks do) until the tx
 * thread says it is attached to node 2 (or not, want 0) */
static int
seen_dv_is(struct member *m, int want_attached)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if ((atomic_load(&hn->tx_seen_dv[2]) != 0) == want_attached)
			return 1;
		if (m != NULL && i % 10 == 0)
			member_scan(m);
		usleep(1000);
	}
	return 0;
}

START_TEST(test_peer_down_kicks_the_read)
{
	uint8_t buf[SHM_VNET_HDR_LEN + LEN];
	struct resize *rs;
	struct member *m;
	struct conf c;
	int fd[2];

	conf_defaults(&c);
	c.local.io_batch = 1;
	c.local.busy_poll_us = 0;
	c.local.cpu_follow = 0;
	hn->ni.nc = &c.local;
	ck_assert_int_eq(pipe(fd), 0);
	hn->ni.tap.fd = fd[0];
	ck_assert_ptr_nonnull(m = member_new(&ho, 0));
	ck_assert_ptr_nonnull(rs = rs_new(&ho, hn, &hn->ni, tx));
	member_net(m, &hn->ni, rs);
	rs_on(rs);
	ck_assert_int_eq(tx_start(tx), 0);
	/* a frame for node 2: the thread attaches to its ring, and its next
	 * read blocks with room reserved there */
	memcpy(buf, vnet, sizeof(vnet));
	memcpy(buf + SHM_VNET_HDR_LEN, f, LEN);
	ck_assert_int_eq(write(fd[1], buf, sizeof(buf)), sizeof(buf));
	ck_assert(seen_dv_is(NULL, 1));
	/* node 2 dies; our scans reap it, freeing that ring */
	shmseg_close(b, 0);
	b = NULL;
	ck_assert(seen_dv_is(m, 0));
	tx_stop(tx);
	rs_free(rs);
	member_free(m);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

static Suite *
txpath_suite(void)
{
	Suite *s = suite_create("txpath");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_freed_and_reused_ring_not_written);
	tcase_add_test(tc, test_left_peer_not_written);
	tcase_add_test(tc, test_replaced_ring_still_taken);
	tcase_add_test(tc, test_peer_down_kicks_the_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(txpath_suite());
}
