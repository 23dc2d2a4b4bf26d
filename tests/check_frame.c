/*
 * check_frame.c: Ethernet addressing (libshmnet/frame.c) and control
 * frames (daemon/cframe.c).
 */
#include "config.h"

#include <check.h>

#include "testutil.h"
#include <stdlib.h>
#include <string.h>

#include "cframe.h"

START_TEST(test_node_mac)
{
	uint8_t m[6];
	char s[18];

	frame_node_mac(SHM_NET_LOCAL, 0x0102, m);
	frame_mac_str(m, s, sizeof(s));
	ck_assert_str_eq(s, "02:53:4d:4c:01:02");
	frame_node_mac(SHM_NET_GLOBAL, 3, m);
	frame_mac_str(m, s, sizeof(s));
	ck_assert_str_eq(s, "02:53:4d:47:00:03");
}
END_TEST

START_TEST(test_classify)
{
	uint8_t f[64] = { 0 };
	uint32_t id = 0;

	ck_assert_int_eq(frame_classify(0, f, 13, 64, &id), FRAME_RUNT);
	frame_node_mac(0, 5, f);
	f[12] = 0x08;
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_UNICAST);
	ck_assert_uint_eq(id, 5);
	/* a global-network MAC is not a node on the local network */
	ck_assert_int_eq(frame_classify(1, f, 60, 64, &id), FRAME_UNKNOWN);
	frame_node_mac(0, 65, f);
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_UNKNOWN);
	frame_node_mac(0, 0, f);
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_UNKNOWN);
	memset(f, 0xff, 6);
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_CAST);
	f[0] = 0x33;
	f[1] = 0x33; /* IPv6 multicast */
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_CAST);
	f[0] = 0x00;
	f[1] = 0x11; /* someone else's NIC */
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_UNKNOWN);
	f[12] = 0x88;
	f[13] = 0xb5; /* forged control frame */
	ck_assert_int_eq(frame_classify(0, f, 60, 64, &id), FRAME_CONTROL);
}
END_TEST

START_TEST(test_control_frame_roundtrip)
{
	uint8_t f[CFRAME_LEN], type;
	uint32_t id, gen, len;

	len = cframe_build(f, 0, 300, 0xdeadbeef, CFRAME_ANNOUNCE);
	ck_assert_uint_eq(len, CFRAME_LEN);
	ck_assert_int_eq(cframe_parse(f, len, &type, &id, &gen), 0);
	ck_assert_uint_eq(type, CFRAME_ANNOUNCE);
	ck_assert_uint_eq(id, 300);
	ck_assert_uint_eq(gen, 0xdeadbeef);
	ck_assert_int_eq(cframe_parse(f, 20, &type, &id, &gen), -1);
	f[19] = 9;
	ck_assert_int_eq(cframe_parse(f, len, &type, &id, &gen), -1);
	f[19] = CFRAME_LEAVE;
	f[18] = 2;
	ck_assert_int_eq(cframe_parse(f, len, &type, &id, &gen), -1);
}
END_TEST

/* vnet: a virtio_net_hdr from its fields (host byte order) */
static void
vnet(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t hdr_len,
    uint16_t gso_size, uint16_t cstart, uint16_t coff)
{
	memset(h, 0, SHM_VNET_HDR_LEN);
	h[0] = flags;
	h[1] = gso;
	memcpy(h + 2, &hdr_len, 2);
	memcpy(h + 4, &gso_size, 2);
	memcpy(h + 6, &cstart, 2);
	memcpy(h + 8, &coff, 2);
}

START_TEST(test_vnet_headers_a_tap_gives)
{
	uint8_t h[SHM_VNET_HDR_LEN];

	vnet(h, 0, FRAME_GSO_NONE, 0, 0, 0, 0);
	ck_assert(frame_vnet_ok(h, 60));
	/* a TCP segment to split, checksum to fill: as a TAP gives it */
	vnet(h, FRAME_VNET_NEEDS_CSUM, FRAME_GSO_TCPV4, 66, 1448, 34, 16);
	ck_assert(frame_vnet_ok(h, 65000));
	vnet(h, FRAME_VNET_NEEDS_CSUM, FRAME_GSO_TCPV6 | FRAME_GSO_ECN, 86,
	    1428, 54, 16);
	ck_assert(frame_vnet_ok(h, 65000));
	vnet(h, FRAME_VNET_DATA_VALID, FRAME_GSO_UDP_L4, 42, 1472, 0, 0);
	ck_assert(frame_vnet_ok(h, 30000));
	/* what no TAP gives */
	vnet(h, 0x40, FRAME_GSO_NONE, 0, 0, 0, 0);
	ck_assert(!frame_vnet_ok(h, 60)); /* unknown flag */
	vnet(h, 0, 2, 0, 1000, 0, 0);
	ck_assert(!frame_vnet_ok(h, 60000)); /* unknown GSO type */
	vnet(h, 0, FRAME_GSO_NONE | FRAME_GSO_ECN, 0, 0, 0, 0);
	ck_assert(!frame_vnet_ok(h, 60)); /* ECN without GSO */
	vnet(h, 0, FRAME_GSO_TCPV4, 66, 0, 0, 0);
	ck_assert(!frame_vnet_ok(h, 60000)); /* no segment size */
	vnet(h, 0, FRAME_GSO_TCPV4, 9000, 1448, 0, 0);
	ck_assert(!frame_vnet_ok(h, 8000)); /* headers past end */
	vnet(h, FRAME_VNET_NEEDS_CSUM, FRAME_GSO_NONE, 0, 0, 60, 16);
	ck_assert(!frame_vnet_ok(h, 70)); /* checksum past end */
	vnet(h, FRAME_VNET_NEEDS_CSUM, FRAME_GSO_NONE, 0, 0, 65535, 65535);
	ck_assert(!frame_vnet_ok(h, 65535)); /* no overflow */
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_vnet_headers_a_tap_gives);
	tcase_add_test(tc, test_node_mac);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_control_frame_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(frame_suite());
}
