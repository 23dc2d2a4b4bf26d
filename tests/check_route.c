/*
 * check_route.c: tun/route.c's undo log, in a network namespace of the
 * test's own: every rule recorded is taken back by rt_undo_all, however
 * many there are (the log grows), and a sysctl gets its old value back;
 * a default route is found in its table only, whatever its device, and
 * the one the daemon adds goes with the undo; a blackhole rule (table
 * 0) is one, and goes with the undo.  Needs root; skipped otherwise.
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

/* rules: how many lines of `ip -4 rule show` (-6 for AF_INET6) match
 * pattern */
static int
rules(int fam, const char *pattern)
{
	char cmd[200];
	FILE *fp;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ip -%d rule show | grep -c '%s'",
	    fam == AF_INET ? 4 : 6, pattern);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(fp, "%d", &n), 1);
	pclose(fp);
	return n;
}

/* rule_to: the rule "to 10.99.0.HOST iif lo" (host 0: to fd53::1) at
 * pref, looking up table or a blackhole, added */
static void
rule_to(struct rt_undo *u, uint32_t pref, uint32_t table, uint32_t host)
{
	static const uint8_t g6[16] = { 0xfd, 0x53, [15] = 1 };

	if (host == 0)
		ck_assert_int_eq(
		    rt_rule6_add(u, pref, table, g6, 128, NULL, 0, "lo"), 0);
	else
		ck_assert_int_eq(rt_rule4_add(u, pref, table,
				     htonl(0x0a630000 | host), 32, 0, 0, "lo"),
		    0);
}

START_TEST(test_blackhole_rule)
{
	struct rt_undo u = { 0 };

	if (!netns(__func__))
		return;
	rule_to(&u, PREF, TABLE, 1);
	rule_to(&u, PREF + 8, RT_RULE_BLACKHOLE, 1);
	rule_to(&u, PREF + 8, RT_RULE_BLACKHOLE, 0);
	/* again: there already, kept, not recorded twice */
	rule_to(&u, PREF + 8, RT_RULE_BLACKHOLE, 1);
	ck_assert_int_eq(u.n, 3);
	ck_assert_int_eq(
	    rules(AF_INET, "^20008:.*to 10.99.0.1 iif lo blackhole$"), 1);
	ck_assert_int_eq(
	    rules(AF_INET, "^20000:.*to 10.99.0.1 iif lo lookup 4242$"), 1);
	ck_assert_int_eq(
	    rules(AF_INET6, "^20008:.*to fd53::1 iif lo blackhole$"), 1);
	ck_assert_int_eq(rt_undo_all(&u), 0);
	ck_assert_int_eq(rules(AF_INET, "blackhole\\|4242"), 0);
	ck_assert_int_eq(rules(AF_INET6, "blackhole"), 0);
}
END_TEST

START_TEST(test_flush_by_kind)
{
	struct rt_undo u = { 0 };

	if (!netns(__func__))
		return;
	/* a killed daemon's: a lookup and two blackholes at one priority,
	 * a blackhole of IPv6 */
	rule_to(&u, PREF, TABLE, 1);
	rule_to(&u, PREF, RT_RULE_BLACKHOLE, 2);
	rule_to(&u, PREF, RT_RULE_BLACKHOLE, 3);
	rule_to(&u, PREF, RT_RULE_BLACKHOLE, 0);
	free(u.op); /* forgotten, as by a kill */
	/* the lookups at PREF go, the blackholes stay; then those */
	ck_assert_int_eq(rt_rule4_flush(PREF), 1);
	ck_assert_int_eq(rules(AF_INET, "lookup 4242"), 0);
	ck_assert_int_eq(rules(AF_INET, "^20000:.*blackhole$"), 2);
	ck_assert_int_eq(rt_rule_flush(AF_INET, PREF, RT_RULE_BLACKHOLE), 2);
	ck_assert_int_eq(rules(AF_INET, "blackhole"), 0);
	ck_assert_int_eq(rules(AF_INET6, "^20000:.*blackhole$"), 1);
	ck_assert_int_eq(rt_rule_flush(AF_INET6, PREF, RT_RULE_BLACKHOLE), 1);
	ck_assert_int_eq(rules(AF_INET6, "blackhole"), 0);
	ck_assert_int_eq(rt_rule_flush(AF_INET6, PREF, RT_RULE_BLACKHOLE), 0);
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
	tcase_add_test(tc, test_blackhole_rule);
	tcase_add_test(tc, test_flush_by_kind);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(route_suite());
}
