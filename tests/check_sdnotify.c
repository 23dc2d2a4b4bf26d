/*
 * check_sdnotify.c: the service manager's notifications (daemon/
 * sdnotify.c) reach a datagram socket named by $NOTIFY_SOCKET, as a path
 * or in the abstract namespace; the watchdog interval is read only when
 * it is meant for this process; log lines carry their priority when
 * stderr is the journal (daemon/log.c).
 */
#include "config.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "testutil.h"
#include "log.h"
#include "sdnotify.h"

START_TEST(test_path_socket)
{
	char path[PATH_MAX];
	int fd;

	tu_mkdir();
	snprintf(path, sizeof(path), "%s/notify", tu_dir);
	fd = tu_dgram_listen(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(sdnotify("READY=1\nSTATUS=node %u: up", 3u), 0);
	ck_assert_str_eq(tu_received(fd), "READY=1\nSTATUS=node 3: up");
	close(fd);
	unlink(path);
	tu_rmdir();
}
END_TEST

START_TEST(test_abstract_socket)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@shmnet-check-notify-%d", (int)getpid());
	fd = tu_dgram_listen(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(sdnotify("WATCHDOG=1"), 0);
	ck_assert_str_eq(tu_received(fd), "WATCHDOG=1");
	close(fd);
}
END_TEST

START_TEST(test_no_manager)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sdnotify("READY=1"), 1);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(sdnotify("READY=1"), 1);
	setenv("NOTIFY_SOCKET", "/nonexistent/shmnet-notify", 1);
	ck_assert_int_lt(sdnotify("READY=1"), 0);
}
END_TEST

START_TEST(test_watchdog_for_us_only)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "10000000", 1);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 10000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 10000000);
	setenv("WATCHDOG_PID", "1", 1); /* our parent's, say */
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "10s", 1);
	ck_assert_uint_eq(sdnotify_watchdog_usec(), 0);
}
END_TEST

/* log_lines: what log_warnx and log_info write to stderr, with
 * $JOURNAL_STREAM naming stderr (journal) or not */
static void
log_lines(int journal, char *out, size_t len)
{
	char path[PATH_MAX], js[64];
	int fd, saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	tu_mkdir();
	snprintf(path, sizeof(path), "%s/stderr", tu_dir);
	ck_assert_int_ge(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + !journal);
	setenv("JOURNAL_STREAM", js, 1);
	log_init(1, "shmnetd");
	log_warnx("a warning");
	log_info("news");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_init(1, "shmnetd");
	tu_rmdir();
}

START_TEST(test_journal_priorities)
{
	char out[256];

	log_lines(1, out, sizeof(out));
	ck_assert_str_eq(out, "<4>shmnetd: a warning\n<6>shmnetd: news\n");
	log_lines(0, out, sizeof(out)); /* another file: no prefixes */
	ck_assert_str_eq(out, "shmnetd: a warning\nshmnetd: news\n");
}
END_TEST

static Suite *
sdnotify_suite(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_path_socket);
	tcase_add_test(tc, test_abstract_socket);
	tcase_add_test(tc, test_no_manager);
	tcase_add_test(tc, test_watchdog_for_us_only);
	tcase_add_test(tc, test_journal_priorities);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(sdnotify_suite());
}
