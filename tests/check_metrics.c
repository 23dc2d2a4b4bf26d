/*
 * check_metrics.c: the Prometheus text libshmnet/metrics.c renders from
 * a segment of the test's own: values, labels and their escaping, the
 * format's grouping, and agreement with man/shmnetctl.8's METRICS.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"

#ifndef SHMNETCTL_MAN
#error "SHMNETCTL_MAN: the path of man/shmnetctl.8 in the source tree"
#endif

/* The segment as the nodes write it, and as a reader maps it. */
static struct shmseg *w, *ro;
/* What metrics_write printed; teardown frees it. */
static char *text;

/* open_seg: a segment of this test's own, with G when global. */
static void
open_seg(int global)
{
	struct shmseg_params p = tu_params(8 << 20, 16);
	char err[256];

	snprintf(tu_path, sizeof(tu_path), "%s/seg.%ld", tu_dir,
	    (long)getpid());
	if (global)
		ck_assert_int_eq(
		    inet_pton(AF_INET, "10.9.0.1", &p.global_addr4), 1);
	ck_assert_msg(shmseg_open(&p, &w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(shmseg_open_ro(tu_path, &ro, err, sizeof(err)), 0);
}

/* setup_cluster: nodes 1 and 2 up with G, node 2 with counters, a pair
 * ring 1 -> 2, node 1 listening on TCP and UDP 8080, two flows. */
static void
setup_cluster(void)
{
	struct shm_listen l[2] = {
		{ .family = 4, .proto = IPPROTO_TCP, .port = 8080 },
		{ .family = 4, .proto = IPPROTO_UDP, .port = 8080 },
	};
	struct shm_node_stats *s;
	uint32_t gen;

	open_seg(1);
	ck_assert_int_eq(node_claim(w, 1, &gen), 1);
	ck_assert_int_eq(node_claim(w, 2, &gen), 2);
	node_publish(w, 1);
	node_publish(w, 2);
	s = shmseg_node(w, 2)->stats;
	atomic_store(&s[SHM_NET_LOCAL].tx_frames, 42);
	atomic_store(&s[SHM_NET_LOCAL].tx_bytes, 4200);
	atomic_store(&s[SHM_NET_LOCAL].rx_frames, 41);
	atomic_store(&s[SHM_NET_GLOBAL].drop_full, 7);
	atomic_store(&s[SHM_NET_GLOBAL].foreign, 3);
	atomic_store(&s[SHM_NET_GLOBAL].looped, 5);
	ck_assert_int_eq(
	    node_dirent_alloc(w, 2, SHM_NET_LOCAL, 1, gen, 64, 1024), 0);
	ck_assert_uint_eq(listen_publish(w, 1, l, 2), 2);
	tu_add_flow(w, 40000, SHM_CONN_EST);
	tu_add_flow(w, 40001, SHM_CONN_SYN);
}

/* setup_local: node 1 up, no global address. */
static void
setup_local(void)
{
	uint32_t gen;

	open_seg(0);
	ck_assert_int_eq(node_claim(w, 1, &gen), 1);
	node_publish(w, 1);
}

/* teardown: free the output, unmap the segment and remove it. */
static void
teardown(void)
{
	free(text);
	text = NULL;
	shmseg_close(ro, 0);
	shmseg_close(w, 1);
}

/* render: what metrics_write prints from the read-only mapping. */
static void
render(void)
{
	size_t len = 0;
	FILE *fp;

	free(text);
	ck_assert_ptr_nonnull(fp = open_memstream(&text, &len));
	ck_assert_int_eq(metrics_write(ro, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert(len > 0 && text[len - 1] == '\n');
}

/* has: the text has line as a whole line. */
static int
has(const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	return strncmp(text, want + 1, strlen(want + 1)) == 0 ||
	    strstr(text, want) != NULL;
}

#define HAS(line) ck_assert_msg(has(line), "no line \"%s\" in:\n%s", line, text)

START_TEST(test_node_counters)
{
	render();
	HAS("shmnet_node_tx_frames_total{cluster=\"test\",node=\"2\","
	    "network=\"local\"} 42");
	HAS("shmnet_node_tx_bytes_total{cluster=\"test\",node=\"2\","
	    "network=\"local\"} 4200");
	HAS("shmnet_node_rx_frames_total{cluster=\"test\",node=\"2\","
	    "network=\"local\"} 41");
	HAS("shmnet_node_drops_total{cluster=\"test\",node=\"2\","
	    "network=\"global\",reason=\"ring_full\"} 7");
	HAS("shmnet_node_drops_total{cluster=\"test\",node=\"2\","
	    "network=\"global\",reason=\"foreign\"} 3");
	HAS("shmnet_node_drops_total{cluster=\"test\",node=\"2\","
	    "network=\"local\",reason=\"ring_full\"} 0");
	HAS("shmnet_node_looped_frames_total{cluster=\"test\",node=\"2\","
	    "network=\"global\"} 5");
	HAS("shmnet_node_up{cluster=\"test\",node=\"1\"} 1");
	HAS("shmnet_node_listeners{cluster=\"test\",node=\"1\"} 2");
	HAS("shmnet_node_listeners{cluster=\"test\",node=\"2\"} 0");
	/* the global network's own reasons are not the local one's */
	ck_assert_ptr_null(strstr(text,
	    "network=\"local\",reason=\"foreign\""));
	ck_assert_ptr_null(strstr(text,
	    "shmnet_node_looped_frames_total{cluster=\"test\",node=\"2\","
	    "network=\"local\"}"));
}
END_TEST

START_TEST(test_rings_and_flows)
{
	render();
	HAS("shmnet_ring_slots{cluster=\"test\",node=\"2\",peer=\"1\","
	    "network=\"local\",kind=\"pair\"} 64");
	HAS("shmnet_ring_size_bytes{cluster=\"test\",node=\"2\",peer=\"1\","
	    "network=\"local\",kind=\"pair\"} 65536");
	HAS("shmnet_ring_used_slots{cluster=\"test\",node=\"2\",peer=\"1\","
	    "network=\"local\",kind=\"pair\"} 0");
	HAS("shmnet_ring_slots{cluster=\"test\",network=\"local\","
	    "kind=\"broadcast\"} 64");
	HAS("shmnet_ring_frames_total{cluster=\"test\",network=\"global\","
	    "kind=\"multicast\",index=\"0\"} 0");
	HAS("shmnet_conn_entries{cluster=\"test\"} 2");
	HAS("shmnet_conn_capacity{cluster=\"test\"} 448");
	HAS("shmnet_conn_refused_total{cluster=\"test\"} 0");
	HAS("shmnet_conn_flows{cluster=\"test\",node=\"2\","
	    "state=\"established\"} 1");
	HAS("shmnet_conn_flows{cluster=\"test\",node=\"2\",state=\"syn\"} 1");
	HAS("shmnet_conn_flows{cluster=\"test\",node=\"1\",state=\"syn\"} 0");
	HAS("shmnet_max_nodes{cluster=\"test\"} 16");
}
END_TEST

/* Two cluster addresses: each service's label names its own, and a
 * wildcard socket of a node that carries both is a backend of each. */
START_TEST(test_services_by_address)
{
	struct shm_listen l = {
		.family = 4, .proto = IPPROTO_TCP, .port = 7000
	};

	ck_assert_int_eq(gaddr_claim(w, inet_addr("10.9.0.2")), 1);
	gaddr_publish(w, 1, 0x1);
	gaddr_publish(w, 2, 0x3);
	ck_assert_uint_eq(listen_publish(w, 2, &l, 1), 1);
	render();
	HAS("shmnet_backend_weight{cluster=\"test\","
	    "service=\"10.9.0.1:7000/tcp\",node=\"2\"} 1");
	HAS("shmnet_backend_weight{cluster=\"test\","
	    "service=\"10.9.0.2:7000/tcp\",node=\"2\"} 1");
	HAS("shmnet_service_active_flows{cluster=\"test\","
	    "service=\"10.9.0.1:8080/tcp\"} 1");
	/* node 1 carries G only: its 8080 is no service of 10.9.0.2 */
	ck_assert_ptr_null(strstr(text, "10.9.0.2:8080"));
}
END_TEST

START_TEST(test_local_only)
{
	render();
	HAS("shmnet_node_tx_frames_total{cluster=\"test\",node=\"1\","
	    "network=\"local\"} 0");
	ck_assert_ptr_null(strstr(text, "network=\"global\""));
	HAS("shmnet_conn_entries{cluster=\"test\"} 0");
}
END_TEST

START_TEST(test_label_values_escaped)
{
	static const char name[] = "a\"b\\c\nd\x1b\xff";
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(w);

	/* a peer wrote a name no daemon accepts into the segment */
	memcpy(h->cluster, name, sizeof(name));
	render();
	HAS("shmnet_node_up{cluster=\"a\\\"b\\\\c\\nd??\",node=\"1\"} 1");
	ck_assert_ptr_null(strchr(text, 0x1b));
}
END_TEST

/*
 * The format's rules as the text keeps them: every family is announced
 * by HELP then TYPE, once, and its samples follow before the next
 * family; a sample is name{labels} value, name one of the family's.
 */
START_TEST(test_grouped)
{
	char family[128] = "", seen[8192] = " ", *line, *save, word[130];
	size_t samples = 0;

	render();
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%127s", family), 1);
			snprintf(word, sizeof(word), " %s ", family);
			ck_assert_msg(strstr(seen, word) == NULL,
			    "%s announced twice", family);
			strncat(seen, word + 1,
			    sizeof(seen) - strlen(seen) - 1);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			snprintf(word, sizeof(word), "%s ", family);
			ck_assert_msg(strncmp(line + 7, word, strlen(word)) ==
				0,
			    "TYPE without its HELP: %s", line);
			ck_assert(strstr(line, " counter") != NULL ||
			    strstr(line, " gauge") != NULL);
			ck_assert(strstr(family, "_total") == NULL ||
			    strstr(line, " counter") != NULL);
			continue;
		}
		ck_assert_msg(strncmp(line, family, strlen(family)) == 0 &&
			line[strlen(family)] == '{',
		    "sample of another family than %s: %s", family, line);
		ck_assert_ptr_nonnull(strstr(line, "\"} "));
		samples++;
	}
	ck_assert_uint_gt(samples, 50);
}
END_TEST

START_TEST(test_write_error)
{
	FILE *fp = fopen("/dev/full", "w");

	if (fp == NULL) {
		tu_skip("test_write_error", "no /dev/full");
		return;
	}
	ck_assert_int_eq(metrics_write(ro, fp), -EIO);
	fclose(fp);
}
END_TEST

/* man_families: " name type " for every family man/shmnetctl.8's
 * METRICS section lists: a .B shmnet_ line, and the line after it,
 * which starts with the type. */
static void
man_families(char *out, size_t len)
{
	FILE *fp = fopen(SHMNETCTL_MAN, "r");
	char line[512], name[128] = "";
	int in = 0;

	ck_assert_msg(fp != NULL, "%s: %s", SHMNETCTL_MAN, strerror(errno));
	snprintf(out, len, " ");
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, ".SH", 3) == 0)
			in = strcmp(line, ".SH METRICS\n") == 0;
		else if (in && strncmp(line, ".B shmnet_", 10) == 0)
			sscanf(line + 3, "%127s", name);
		else if (in && name[0] != '\0') {
			snprintf(out + strlen(out), len - strlen(out),
			    "%s %.*s ", name, (int)strcspn(line, ";. \n"),
			    line);
			name[0] = '\0';
		}
	}
	fclose(fp);
}

START_TEST(test_man_agrees)
{
	char documented[8192], want[256], *line, *save;
	size_t n = 0, listed = 0, i;

	render();
	man_families(documented, sizeof(documented));
	for (i = 0; documented[i] != '\0'; i++)
		listed += documented[i] == ' ';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) != 0)
			continue;
		snprintf(want, sizeof(want), " %s ", line + 7);
		ck_assert_msg(strstr(documented, want) != NULL,
		    "%s: no \".B %.*s\" with its type in METRICS",
		    SHMNETCTL_MAN, (int)strcspn(line + 7, " "), line + 7);
		n++;
	}
	/* and no family documented that is not printed */
	ck_assert_uint_eq(listed - 1, 2 * n);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tu_segment_case(s, "cluster", setup_cluster, teardown);
	TCase *tl = tu_segment_case(s, "local", setup_local, teardown);

	tcase_add_test(tc, test_node_counters);
	tcase_add_test(tc, test_rings_and_flows);
	tcase_add_test(tc, test_services_by_address);
	tcase_add_test(tc, test_grouped);
	tcase_add_test(tc, test_write_error);
	tcase_add_test(tc, test_man_agrees);
	tcase_add_test(tl, test_local_only);
	tcase_add_test(tl, test_label_values_escaped);
	return s;
}

int
main(void)
{
	return tu_run(metrics_suite());
}
