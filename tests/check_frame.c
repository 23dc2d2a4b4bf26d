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

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

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
