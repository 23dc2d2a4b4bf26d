/*
 * check_reload.c: a reload (daemon/reload.c) compares the configuration
 * read again with the running one key by key: a live key takes effect,
 * a key that needs a restart is kept, a bad file changes nothing; the
 * service manager hears RELOADING=1 then READY=1; and shmnetd.conf(5)
 * lists each key as live or not as the code has it.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "testutil.h"
#include "gnet.h"
#include "log.h"
#include "reload.h"
#include "shmnetd.h"

static struct daemon d;
static struct netif ni;
static char file[PATH_MAX];
static char err[1200];

/* write_file: the configuration file's new text. */
static void
write_file(const char *text)
{
	FILE *fp = fopen(file, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/* setup: a daemon as main.c leaves it, read from a file and a --set,
 * with the global network's routing state and no threads. */
static void
setup(void)
{
	static char *sets[] = { "local.mtu=9000" };

	tu_mkdir();
	snprintf(file, sizeof(file), "%s/shmnetd.conf", tu_dir);
	write_file("[cluster]\nname = rl\n[global]\nudp-timeout = 30\n");
	memset(&d, 0, sizeof(d));
	d.src.file = file;
	d.src.sets = sets;
	d.src.nsets = 1;
	d.src.node = "3";
	ck_assert_msg(conf_read(&d.conf, &d.src, err, sizeof(err)) == 0, "%s",
	    err);
	d.nnets = 2;
	ni.net = SHM_NET_GLOBAL;
	ni.name = "global";
	ck_assert_ptr_nonnull(d.gnet = gnet_new(&d.ho, &ni, &d.conf));
	atomic_init(&d.ho.net[0].busy_poll_us, d.conf.local.busy_poll_us);
	atomic_init(&d.ho.net[1].busy_poll_us, d.conf.global.busy_poll_us);
	log_setlevel(LOG_INFO);
}

static void
teardown(void)
{
	gnet_free(d.gnet);
	unlink(file);
	tu_rmdir();
	log_setlevel(LOG_INFO);
}

START_TEST(test_live_keys_take_effect)
{
	struct reload_result r;
	struct conn_timeouts t;

	write_file("[cluster]\nname = rl\nlog-level = debug\n"
		   "[local]\nbusy-poll = 7\nring-shrink-after = 2\n"
		   "[global]\nudp-timeout = 5\ntcp-syn-timeout = 4\n"
		   "ignore-ports = udp/3784\n");
	reload_run(&d, &r);
	ck_assert_int_eq(r.bad, 0);
	ck_assert_int_eq(r.applied, 6);
	ck_assert_uint_eq(d.conf.g.ignore.n, 1);
	ck_assert_int_eq(r.kept, 0);
	ck_assert_uint_eq(d.conf.log_level, LOG_DEBUG);
	ck_assert_uint_eq(d.conf.local.busy_poll_us, 7);
	ck_assert_uint_eq(atomic_load(&d.ho.net[SHM_NET_LOCAL].busy_poll_us),
	    7);
	ck_assert_uint_eq(atomic_load(&d.ho.net[SHM_NET_GLOBAL].busy_poll_us),
	    50);
	ck_assert_uint_eq(d.conf.local.ring_shrink_s, 2);
	gnet_timeouts(d.gnet, &t);
	ck_assert_uint_eq(t.udp, 5);
	ck_assert_uint_eq(t.syn, 4);
	ck_assert_uint_eq(t.established, 900);
	/* the --set is read again: mtu 9000 did not change */
	ck_assert_uint_eq(d.conf.local.mtu, 9000);
	/* the same file again: nothing to do */
	reload_run(&d, &r);
	ck_assert_int_eq(r.applied + r.kept + r.failed + r.bad, 0);
}
END_TEST

START_TEST(test_restart_keys_are_kept)
{
	struct reload_result r;
	struct conf before = d.conf;

	write_file("[cluster]\nname = rl\nmax-nodes = 16\n"
		   "[local]\naddress = 192.168.9.1/24\ncpu-follow = no\n"
		   "[global]\nudp-timeout = 9\n");
	reload_run(&d, &r);
	ck_assert_int_eq(r.bad, 0);
	ck_assert_int_eq(r.applied, 1);
	ck_assert_int_eq(r.kept, 3);
	ck_assert_uint_eq(d.conf.g.udp_timeout, 9);
	ck_assert_uint_eq(d.conf.max_nodes, before.max_nodes);
	ck_assert_uint_eq(d.conf.local.addr, before.local.addr);
	ck_assert_uint_eq(d.conf.local.prefix, before.local.prefix);
	ck_assert_uint_eq(d.conf.local.cpu_follow, 1);
	/* what is kept is compared again next time */
	reload_run(&d, &r);
	ck_assert_int_eq(r.applied, 0);
	ck_assert_int_eq(r.kept, 3);
}
END_TEST

START_TEST(test_bad_file_changes_nothing)
{
	struct reload_result r;
	struct conn_timeouts t;
	struct conf before = d.conf;

	write_file("[cluster]\nname = rl\nlog-level = debug\n"
		   "[global]\nudp-timeout = 5\n[local]\nmtu = 70000\n");
	reload_run(&d, &r);
	ck_assert_int_eq(r.bad, 1);
	ck_assert_int_eq(r.applied + r.kept + r.failed, 0);
	ck_assert(memcmp(&before, &d.conf, sizeof(before)) == 0);
	gnet_timeouts(d.gnet, &t);
	ck_assert_uint_eq(t.udp, 30);
	/* a file that went away is as bad */
	unlink(file);
	reload_run(&d, &r);
	ck_assert_int_eq(r.bad, 1);
	ck_assert(memcmp(&before, &d.conf, sizeof(before)) == 0);
}
END_TEST

START_TEST(test_service_manager_told)
{
	char path[PATH_MAX];
	uint64_t before = clock_us(), usec;
	const char *m;
	int fd;

	snprintf(path, sizeof(path), "%s/notify", tu_dir);
	fd = tu_dgram_listen(path);
	setenv("NOTIFY_SOCKET", path, 1);
	write_file("[cluster]\nname = rl\n[local]\nmtu = x\n");
	reload_run(&d, NULL);
	m = tu_received(fd);
	ck_assert_msg(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%" SCNu64,
			  &usec) == 1,
	    "%s", m);
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_le(usec, clock_us());
	m = tu_received(fd);
	ck_assert_msg(strncmp(m, "READY=1\nSTATUS=", 15) == 0, "%s", m);
	ck_assert_msg(strstr(m, "shmnetd.conf:4:") != NULL, "%s", m);
	write_file("[cluster]\nname = rl\n[global]\nudp-timeout = 8\n");
	reload_run(&d, NULL);
	ck_assert_ptr_nonnull(strstr(tu_received(fd), "RELOADING=1\n"));
	m = tu_received(fd);
	ck_assert_msg(strstr(m, "READY=1\n") == m &&
		strstr(m, "1 change in effect") != NULL,
	    "%s", m);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
}
END_TEST

/* section_text: the man page's section name, up to the next .SH (free
 * it). */
static char *
section_text(const char *path, const char *name)
{
	char line[1024], *text = calloc(1, 1 << 16);
	size_t len = 0, n;
	FILE *fp = fopen(path, "r");
	int in = 0;

	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(text);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, ".SH ", 4) == 0) {
			in = strcmp(line + 4, name) == 0;
			continue;
		}
		if (!in)
			continue;
		n = strlen(line);
		ck_assert_uint_lt(len + n, 1 << 16);
		memcpy(text + len, line, n + 1);
		len += n;
	}
	fclose(fp);
	return text;
}

/* listed: is key a word of text, between its ':' and the end of text
 * or the next "restart:"?  which: "live:" or "restart:". */
static int
listed(const char *para, const char *which, const char *key)
{
	const char *p = strstr(para, which), *end;
	size_t n = strlen(key);

	if (p == NULL)
		return 0;
	end = strcmp(which, "live:") == 0 ? strstr(p, "restart:") : NULL;
	if (end == NULL)
		end = p + strlen(p);
	for (p += strlen(which); (p = strstr(p, key)) != NULL && p < end;
	     p += n)
		if (!(isalnum((unsigned char)p[-1]) || p[-1] == '-') &&
		    !(isalnum((unsigned char)p[n]) || p[n] == '-'))
			return 1;
	return 0;
}

/* paragraph: the part of text about section sec: from its ".B [sec]"
 * line to the next ".TP" (a copy in buf). */
static const char *
paragraph(const char *text, const char *sec, char *buf, size_t len)
{
	char head[64];
	const char *at, *end;
	size_t start, n;

	snprintf(head, sizeof(head), ".B [%s]\n", sec);
	if ((at = strstr(text, head)) == NULL)
		return NULL;
	start = (size_t)(at - text) + strlen(head);
	end = strstr(text + start, ".TP");
	n = end != NULL ? (size_t)(end - text) - start : strlen(text + start);
	snprintf(buf, len, "%.*s", (int)n, text + start);
	return buf;
}

START_TEST(test_man_page_lists_every_key)
{
	char *text, *printed = NULL, *line, *save, sec[32] = "", para[4096];
	size_t len = 0;
	FILE *fp;
	int keys = 0, live = 0, i;
	const char *s, *k;

	text = section_text(SHMNETD_CONF_MAN, "RELOAD\n");
	ck_assert_msg(*text != '\0', "no RELOAD section in %s",
	    SHMNETD_CONF_MAN);
	/* every key, from the printer of the whole configuration */
	ck_assert_ptr_nonnull(fp = open_memstream(&printed, &len));
	conf_print(&d.conf, fp);
	fclose(fp);
	for (line = strtok_r(printed, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "[%31[^]]]", sec) == 1)
			continue;
		if (strncmp(line, "# ", 2) == 0)
			line += 2;
		*strchr(line, ' ') = '\0';
		ck_assert_msg(paragraph(text, sec, para, sizeof(para)) != NULL,
		    "no [%s] in the RELOAD section", sec);
		ck_assert_msg(listed(para, "live:", line) ==
			reload_live(sec, line),
		    "[%s] %s: live %d, the man page says otherwise", sec, line,
		    reload_live(sec, line));
		ck_assert_msg(listed(para, "restart:", line) ==
			!reload_live(sec, line),
		    "[%s] %s: live %d, the man page says otherwise", sec, line,
		    reload_live(sec, line));
		keys++;
	}
	ck_assert_int_ge(keys, 50);
	/* and every live key is a key */
	for (i = 0; reload_key(i, &s, &k) == 0; i++, live++)
		ck_assert_msg(conf_known(s, k), "[%s] %s", s, k);
	ck_assert_int_ge(live, 9);
	free(printed);
	free(text);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_live_keys_take_effect);
	tcase_add_test(tc, test_restart_keys_are_kept);
	tcase_add_test(tc, test_bad_file_changes_nothing);
	tcase_add_test(tc, test_service_manager_told);
	tcase_add_test(tc, test_man_page_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(reload_suite());
}
