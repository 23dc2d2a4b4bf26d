/*
 * check_route.c: tun/route.c's undo log, in a network namespace of the
 * test's own: every rule recorded is taken back by rt_undo_all, however
 * many there are (the log grows), and a sysctl gets its old value back;
 * a default route is found in its table only, whatever its device, and
 * the one the daemon adds goes with the undo; a table's blackhole
 * default stays behind its link routes, outlives them and goes with the
 * undo.  Needs root; skipped otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "netlink.h"
#include "route.h"

#define RULES 40 /* more than the global setup records */
#define PREF  20000
#define TABLE 4242

/* netns: a namespace of our own (Check runs each test in a child) */
static int
netns(const char *test)
{
	if (!tu_can_tap(test))
		return 0;
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	return 1;
}

/* add_rules: RULES rules, "to 10.99.I.0/24 iif lo lookup TABLE" */
static void
add_rules(struct rt_undo *u)
{
	uint32_t i;

	for (i = 0; i < RULES; i++)
		ck_assert_int_eq(rt_rule4_add(u, PREF + i, TABLE,
				     htonl(0x0a630000 | i << 8), 24, 0, 0,
				     "lo"),
		    0);
}

START_TEST(test_undo_takes_back_every_rule)
{
	struct rt_undo u = { 0 };

	if (!netns(__func__))
		return;
	add_rules(&u);
	ck_assert_int_eq(u.n, RULES);
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert_int_eq(u.n, 0);
	ck_assert_ptr_null(u.op);
	/* a rule left in place would be found existing and not recorded */
	add_rules(&u);
	ck_assert_int_eq(u.n, RULES);
	ck_assert_int_eq(rt_undo_all(&u), 0);
}
END_TEST

/* sysctl_read: a sysctl's value, first word */
static int
sysctl_read(const char *path)
{
	char p[128];
	FILE *fp;
	int v = -1;

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	ck_assert_ptr_nonnull(fp = fopen(p, "r"));
	ck_assert_int_eq(fscanf(fp, "%d", &v), 1);
	fclose(fp);
	return v;
}

START_TEST(test_undo_puts_a_sysctl_back)
{
	const char *p = "net/ipv4/conf/lo/accept_local";
	struct rt_undo u = { 0 };
	int old;

	if (!netns(__func__))
		return;
	old = sysctl_read(p);
	ck_assert_int_eq(rt_sysctl_set(&u, p, old ? "0" : "1"), 0);
	ck_assert_int_eq(sysctl_read(p), !old);
	ck_assert_int_eq(u.n, 1);
	ck_assert_int_eq(rt_sysctl_set(&u, p, old ? "0" : "1"), 0);
	ck_assert_int_eq(u.n, 1); /* already so: nothing to record */
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert_int_eq(sysctl_read(p), old);
}
END_TEST

START_TEST(test_default_route_found_and_undone)
{
	static const uint8_t any6[16];
	struct rt_undo u = { 0 };
	char ports[32];

	if (!netns(__func__))
		return;
	ck_assert_int_eq(nl_link_setup(1, NULL, 0, 1, 0), 0); /* lo up */
	ck_assert_int_eq(rt_default_exists(AF_INET, RT_TABLE_MAIN), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET6, RT_TABLE_MAIN), 0);
	/* another table's default is not the namespace's */
	ck_assert_int_eq(rt_route4_add(&u, TABLE, 0, 0, 1, 0), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET, RT_TABLE_MAIN), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET, TABLE), 1);
	ck_assert_int_eq(rt_route4_add(&u, RT_TABLE_MAIN, 0, 0, 1,
			     htonl(INADDR_LOOPBACK)),
	    0);
	ck_assert_int_eq(rt_default_exists(AF_INET, RT_TABLE_MAIN), 1);
	ck_assert_int_eq(rt_default_exists(AF_INET6, RT_TABLE_MAIN), 0);
	ck_assert_int_eq(rt_route6_add(&u, RT_TABLE_MAIN, any6, 0, 1, NULL), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET6, RT_TABLE_MAIN), 1);
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET, RT_TABLE_MAIN), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET, TABLE), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET6, RT_TABLE_MAIN), 0);
	/* the ephemeral port range as the daemon sets it, and back */
	ck_assert_int_eq(rt_sysctl_get("net/ipv4/ip_local_port_range", ports,
			     sizeof(ports)),
	    0);
	ck_assert_int_eq(rt_sysctl_set(&u, "net/ipv4/ip_local_port_range",
			     "40000\t40439"),
	    0);
	ck_assert_int_eq(sysctl_read("net/ipv4/ip_local_port_range"), 40000);
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert_int_eq(sysctl_read("net/ipv4/ip_local_port_range"),
	    atoi(ports));
}
END_TEST

/* shown: does `ip -F route show table TABLE` print a line with what? */
static int
shown(int fam, const char *what)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "ip -%d route show table %d | grep -q '^%s'",
	    fam == AF_INET ? 4 : 6, TABLE, what);
	return system(cmd) == 0;
}

START_TEST(test_blackhole_behind_link_routes)
{
	static const uint8_t any6[16];
	struct rt_undo u = { 0 };
	uint32_t any = 0;
	int fam;

	if (!netns(__func__))
		return;
	ck_assert_int_eq(nl_link_setup(1, NULL, 0, 1, 0), 0); /* lo up */
	ck_assert_int_eq(rt_blackhole_add(&u, AF_INET, TABLE, 4294967295u), 0);
	ck_assert_int_eq(rt_blackhole_add(&u, AF_INET6, TABLE, 4294967295u), 0);
	/* a second time replaces it (a restart after kill -9) */
	ck_assert_int_eq(rt_blackhole_add(&u, AF_INET, TABLE, 4294967295u), 0);
	ck_assert_int_eq(rt_default_exists(AF_INET, TABLE), 1);
	ck_assert_int_eq(rt_default_exists(AF_INET6, TABLE), 1);
	/* the link default beside it, and gone again: the blackhole stays */
	ck_assert_int_eq(rt_route4_add(&u, TABLE, 0, 0, 1, 0), 0);
	ck_assert_int_eq(rt_route6_add(&u, TABLE, any6, 0, 1, NULL), 0);
	ck_assert(shown(AF_INET, "default dev lo"));
	ck_assert(shown(AF_INET6, "default dev lo"));
	ck_assert_int_eq(rt_route_set(0, AF_INET, TABLE, &any, 0, 1), 0);
	ck_assert_int_eq(rt_route_set(0, AF_INET6, TABLE, any6, 0, 1), 0);
	for (fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET) {
		ck_assert(shown(fam, "blackhole default .*metric 4294967295"));
		ck_assert(!shown(fam, "default dev lo"));
	}
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert(!shown(AF_INET, "blackhole"));
	ck_assert(!shown(AF_INET6, "blackhole"));
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("undo");

	tcase_add_test(tc, test_undo_takes_back_every_rule);
	tcase_add_test(tc, test_undo_puts_a_sysctl_back);
	tcase_add_test(tc, test_default_route_found_and_undone);
	tcase_add_test(tc, test_blackhole_behind_link_routes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(route_suite());
}
