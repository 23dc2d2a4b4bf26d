/*
 * check_tcpwmem.c: the namespace's TCP send buffer ceiling
 * (daemon/tcpwmem.c).  The parser takes the kernel's three numbers and
 * nothing else; raise writes only when the ceiling is lower than asked,
 * keeps min <= default <= max, and restore puts the old line back only
 * while the file still holds what raise wrote.  On a file of the
 * test's, then on the real sysctl in a network namespace of the test's
 * own (root only; skipped otherwise).
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "testutil.h"
#include "tcpwmem.h"

/* put: write s into tu_path */
static void
put(const char *s)
{
	FILE *f = fopen(tu_path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(s, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* got: the three values in tu_path, which must parse */
static void
got(uint64_t v[3])
{
	char buf[128] = "";
	FILE *f = fopen(tu_path, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(tcpwmem_parse(buf, v), 0);
}

START_TEST(parse)
{
	static const char *bad[] = { "", "4096 16384", "4096 16384 x",
		"4096 16384 4194304 1", "-1 16384 4194304",
		"4096 16384 4194304x", "4096 16384 99999999999", "a b c" };
	uint64_t v[3];
	size_t i;

	ck_assert_int_eq(tcpwmem_parse("4096\t16384\t4194304\n", v), 0);
	ck_assert_uint_eq(v[0], 4096);
	ck_assert_uint_eq(v[1], 16384);
	ck_assert_uint_eq(v[2], 4194304);
	ck_assert_int_eq(tcpwmem_parse(" 1 2 3 ", v), 0);
	ck_assert_uint_eq(v[2], 3);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(tcpwmem_parse(bad[i], v) == -EINVAL, "'%s'",
		    bad[i]);
}
END_TEST

START_TEST(raise_restore)
{
	struct tcpwmem t;
	uint64_t v[3];

	tu_mkdir();
	put("4096\t16384\t4194304\n");
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), 1);
	got(v);
	ck_assert_uint_eq(v[0], 4096);
	ck_assert_uint_eq(v[1], 16384);
	ck_assert_uint_eq(v[2], 8u << 20);
	ck_assert_int_eq(tcpwmem_restore(&t, tu_path), 1);
	got(v);
	ck_assert_uint_eq(v[2], 4194304);
	ck_assert_int_eq(tcpwmem_restore(&t, tu_path), 0); /* once */

	/* changed by somebody else meanwhile: left as it is */
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), 1);
	put("4096 16384 33554432\n");
	ck_assert_int_eq(tcpwmem_restore(&t, tu_path), -EBUSY);
	got(v);
	ck_assert_uint_eq(v[2], 33554432);
	tu_rmdir();
}
END_TEST

START_TEST(never_lowers)
{
	struct tcpwmem t;
	uint64_t v[3];

	tu_mkdir();
	put("4096 16384 33554432\n");
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), 0);
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 33554432), 0);
	ck_assert_int_eq(tcpwmem_restore(&t, tu_path), 0);
	got(v);
	ck_assert_uint_eq(v[2], 33554432);
	/* 0 leaves it alone, even when lower */
	put("4096 16384 1000000\n");
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 0), 0);
	got(v);
	ck_assert_uint_eq(v[2], 1000000);
	tu_rmdir();
}
END_TEST

START_TEST(keeps_order)
{
	struct tcpwmem t;
	uint64_t v[3];

	/* a default above the old maximum (not what the kernel holds, but
	 * what a file may say) comes down to the new maximum */
	tu_mkdir();
	put("9000000 9000000 4194304\n");
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), 1);
	got(v);
	ck_assert_uint_eq(v[0], 8u << 20);
	ck_assert_uint_eq(v[1], 8u << 20);
	ck_assert_uint_eq(v[2], 8u << 20);
	tu_rmdir();
}
END_TEST

START_TEST(errors)
{
	struct tcpwmem t;

	tu_mkdir();
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), -ENOENT);
	ck_assert_int_eq(t.raised, 0);
	put("garbage\n");
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), -EINVAL);
	ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 1ull << 32), -ERANGE);
	put("4096 16384 4194304\n");
	ck_assert_int_eq(chmod(tu_path, 0444), 0);
	if (geteuid() != 0) /* root writes a 0444 file all the same */
		ck_assert_int_eq(tcpwmem_raise(&t, tu_path, 8u << 20), -EACCES);
	tu_rmdir();
}
END_TEST

START_TEST(real_sysctl)
{
	struct tcpwmem t;
	uint64_t v[3];
	int fd;

	if (!tu_can_tap("real_sysctl"))
		return;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	/* the host's value is copied into a new namespace: start from
	 * the kernel's own default whatever the host says */
	fd = open(TCPWMEM_SYSCTL, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "4096 16384 4194304", 18), 18);
	close(fd);
	ck_assert_int_eq(tcpwmem_raise(&t, TCPWMEM_SYSCTL, 8u << 20), 1);
	snprintf(tu_path, sizeof(tu_path), "%s", TCPWMEM_SYSCTL);
	got(v);
	ck_assert_uint_eq(v[2], 8u << 20);
	ck_assert_int_eq(tcpwmem_restore(&t, TCPWMEM_SYSCTL), 1);
	got(v);
	ck_assert_uint_eq(v[2], 4194304);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tcpwmem");
	TCase *tc = tcase_create("tcpwmem");

	tcase_add_test(tc, parse);
	tcase_add_test(tc, raise_restore);
	tcase_add_test(tc, never_lowers);
	tcase_add_test(tc, keeps_order);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, real_sysctl);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
