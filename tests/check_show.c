/*
 * check_show.c: shmnetctl's printers (ctl/show.c, ctl/out.c) on a segment
 * of the test's own, in text and JSON, and their agreement with
 * man/shmnetctl.8.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>

#include "testutil.h"
#include "ctl.h"

#ifndef SHMNETCTL_MAN
#error "SHMNETCTL_MAN: the path of man/shmnetctl.8 in the source tree"
#endif

typedef int (*printer)(struct ctl *);

/* The segment as the nodes write it, and as shmnetctl maps it. */
static struct shmseg *w, *ro;
static uint32_t gen1, gen2;
static uint64_t pair_key;

/* What the printer under test wrote, parsed; teardown frees it. */
static json_t *j;
static char *text;

/* open_seg: a segment of this test's own, with G and G6 when global. */
static struct shmseg *
open_seg(int global)
{
	struct shmseg_params p = tu_params(8 << 20, 16);
	struct shmseg *s = NULL;
	char err[256];

	if (global) {
		ck_assert_int_eq(
		    inet_pton(AF_INET, "10.9.0.1", &p.global_addr4), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::1", p.global_addr6),
		    1);
	}
	ck_assert_msg(shmseg_open(&p, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(shmseg_open_ro(tu_path, &ro, err, sizeof(err)), 0);
	return s;
}

/* add_listeners: node 1 listens on TCP 8080 (wildcard) and has a
 * connected UDP socket on G6 port 53. */
static void
add_listeners(void)
{
	struct shm_listen l[2] = {
		{ .family = 4, .proto = IPPROTO_TCP, .port = 8080 },
		{ .family = 6,
		    .proto = IPPROTO_UDP,
		    .flags = SHM_LISTEN_SPECIFIC | SHM_LISTEN_REMOTE,
		    .port = 53,
		    .rport = 5353 },
	};

	ck_assert_int_eq(inet_pton(AF_INET6, "fd00::77", l[1].raddr), 1);
	ck_assert_uint_eq(listen_publish(w, 1, l, 2), 2);
}

/*
 * A segment per test, named by the forked test's pid in the directory
 * the unchecked fixture made (and removes, whatever the test did): nodes
 * 1 and 2 up, 3 gone, a pair ring 1 -> 2, listeners and a flow.
 */
static void
setup_cluster(void)
{
	struct shm_dirent de;
	uint32_t gen3;

	snprintf(tu_path, sizeof(tu_path), "%s/seg.%ld", tu_dir,
	    (long)getpid());
	w = open_seg(1);
	ck_assert_int_eq(node_claim(w, 1, &gen1), 1);
	ck_assert_int_eq(node_claim(w, 2, &gen2), 2);
	ck_assert_int_eq(node_claim(w, 3, &gen3), 3);
	node_publish(w, 1);
	node_publish(w, 2);
	node_publish(w, 3);
	node_leave(w, 3);
	ck_assert_int_eq(
	    node_dirent_alloc(w, 2, SHM_NET_LOCAL, 1, gen1, 64, 1024), 0);
	ck_assert_int_eq(node_dirent_read(w, 2, SHM_NET_LOCAL, 1, &de), 0);
	pair_key = de.key;
	add_listeners();
	tu_add_flow(w, 40000, SHM_CONN_EST);
}

/* setup_empty: a segment nobody joined, without a global address. */
static void
setup_empty(void)
{
	snprintf(tu_path, sizeof(tu_path), "%s/seg.%ld", tu_dir,
	    (long)getpid());
	w = open_seg(0);
}

/* teardown: free the output, unmap the segment and remove it. */
static void
teardown(void)
{
	json_decref(j);
	free(text);
	shmseg_close(ro, 0);
	shmseg_close(w, 1);
}

/* run: what a printer writes, as text or JSON; the caller frees it. */
static char *
run(printer fn, int json)
{
	struct ctl c = { .seg = ro, .path = tu_path, .json = json };
	char *buf = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(c.out = open_memstream(&buf, &len));
	ck_assert_int_eq(fn(&c), 0);
	ck_assert_int_eq(fclose(c.out), 0);
	return buf;
}

/* table: the description of a command's output. */
static const struct out_table *
table(const char *cmd)
{
	const struct out_table *const *t;

	for (t = show_tables; *t != NULL; t++)
		if (strcmp((*t)->cmd, cmd) == 0)
			return *t;
	ck_abort_msg("no table for %s", cmd);
	return NULL;
}

/* check_table_keys: o has every key table t describes for JSON, but for
 * optional ones, and no other; a sub-table's rows under its key. */
static void
check_table_keys(const char *cmd, const struct out_table *t, json_t *o)
{
	const struct out_field *f;
	size_t i, n = 0;
	json_t *sub, *r;

	ck_assert(json_is_object(o));
	if (t->sub != NULL) {
		sub = json_object_get(o, t->subkey);
		ck_assert_msg(json_is_array(sub), "%s: no %s", cmd, t->subkey);
		json_array_foreach(sub, i, r) check_table_keys(cmd, t->sub, r);
		n++;
	}
	for (i = 0; i < t->nfields; i++) {
		f = &t->fields[i];
		if (f->key == NULL || json_object_get(o, f->key) == NULL) {
			ck_assert_msg(f->key == NULL || (f->flags & OUT_OPT),
			    "%s: no %s", cmd, f->key);
			continue;
		}
		n++;
	}
	ck_assert_uint_eq(json_object_size(o), n);
}

/* check_keys: o has every key cmd's table describes for JSON. */
static void
check_keys(const char *cmd, json_t *o)
{
	check_table_keys(cmd, table(cmd), o);
}

/* run_json: a printer's JSON, parsed, its objects' keys checked. */
static json_t *
run_json(const char *cmd, printer fn)
{
	char *s = run(fn, 1);
	json_error_t err;
	json_t *v, *o;
	size_t i;

	ck_assert_msg((v = json_loads(s, 0, &err)) != NULL, "%s: %s: %s", cmd,
	    err.text, s);
	ck_assert(strlen(s) > 0 && s[strlen(s) - 1] == '\n');
	free(s);
	if (json_is_array(v))
		json_array_foreach(v, i, o) check_keys(cmd, o);
	else
		check_keys(cmd, v);
	return v;
}

/* print: run cmd's printer for JSON into j and for text into text. */
static void
print(const char *cmd, printer fn)
{
	j = run_json(cmd, fn);
	text = run(fn, 0);
}

/* jint: an integer member of o. */
static json_int_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is no integer", key);
	return json_integer_value(v);
}

/* jstr: a string member of o. */
static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is no string", key);
	return json_string_value(v);
}

/* find: the element of array a whose key has string value s (s NULL:
 * integer value n); NULL if none. */
static json_t *
find(json_t *a, const char *key, const char *s, json_int_t n)
{
	json_t *o, *v;
	size_t i;

	json_array_foreach(a, i, o)
	{
		v = json_object_get(o, key);
		if (s != NULL ?
			json_is_string(v) &&
			    strcmp(json_string_value(v), s) == 0 :
			json_is_integer(v) && json_integer_value(v) == n)
			return o;
	}
	return NULL;
}

/* contains: s has line as a whole line. */
static void
contains(const char *s, const char *line)
{
	char want[PATH_MAX + 128];

	snprintf(want, sizeof(want), "\n%s\n", line);
	ck_assert_msg(strncmp(s, want + 1, strlen(want + 1)) == 0 ||
		strstr(s, want) != NULL,
	    "no line \"%s\" in:\n%s", line, s);
}

START_TEST(test_status)
{
	char want[PATH_MAX + 64], version[16];

	print("status", show_status);
	snprintf(version, sizeof(version), "%d.%d", SHM_VERSION_MAJOR,
	    SHM_VERSION_MINOR);
	ck_assert_str_eq(jstr(j, "cluster"), "test");
	ck_assert_str_eq(jstr(j, "segment"), tu_path);
	ck_assert_str_eq(jstr(j, "version"), version);
	ck_assert_int_eq(jint(j, "size"), 8 << 20);
	ck_assert_int_eq(jint(j, "max_nodes"), 16);
	ck_assert_int_eq(jint(j, "nodes_up"), 2);
	ck_assert_int_eq(jint(j, "nodes_known"), 3);
	ck_assert_int_eq(jint(j, "pair_rings"), 1);
	ck_assert_int_gt(jint(j, "heap_pages_used"), 0);
	ck_assert_int_lt(jint(j, "heap_pages_used"), jint(j, "heap_pages"));
	ck_assert_int_eq(
	    jint(j, "tx_frames") + jint(j, "rx_frames") + jint(j, "drops"), 0);
	ck_assert_str_eq(jstr(j, "global_address"), "10.9.0.1");
	ck_assert_int_eq(jint(j, "flows"), 1);
	ck_assert_int_eq(jint(j, "flow_slots"), 64 * SHM_CONN_PER_BUCKET);
	ck_assert_int_eq(jint(j, "flows_refused"), 0);
	contains(text, "cluster   test");
	snprintf(want, sizeof(want),
	    "segment   %s (layout %s, 8 MiB, max 16 "
	    "nodes)",
	    tu_path, version);
	contains(text, want);
	contains(text, "nodes     2 up, 3 known");
	contains(text, "traffic   0 frames sent, 0 received, 0 dropped");
	contains(text,
	    "global    10.9.0.1: 1 flows of 448, 0 not recorded "
	    "(table full), 0 evicted");
}
END_TEST

START_TEST(test_status_name_escapes_shown)
{
	static const char esc[] = "\x1b[31mred\x07";
	struct shm_hdr *h = (struct shm_hdr *)shmseg_hdr(w);

	/* a peer wrote terminal escapes into the cluster name */
	memcpy(h->cluster, esc, sizeof(esc));
	print("status", show_status);
	ck_assert_ptr_null(strchr(text, 0x1b));
	ck_assert_ptr_null(strchr(text, 0x07));
	contains(text, "cluster   ?[31mred?");
	ck_assert_str_eq(jstr(j, "cluster"), "?[31mred?");
}
END_TEST

START_TEST(test_nodes)
{
	json_t *n;

	shmseg_node(w, 2)->flags |= SHM_NODE_F_GATEWAY;
	shmseg_node(w, 2)->gw = SHM_GW_ROUTE | SHM_GW_G6;
	shmseg_node(w, 3)->flags |= SHM_NODE_F_GATEWAY;
	print("nodes", show_nodes);
	ck_assert_uint_eq(json_array_size(j), 3);
	ck_assert_ptr_nonnull(n = find(j, "id", NULL, 1));
	ck_assert_str_eq(jstr(n, "state"), "up");
	ck_assert_str_eq(jstr(n, "gateway"), "none");
	ck_assert_str_eq(jstr(n, "announced"), "");
	ck_assert_int_eq(jint(n, "generation"), gen1);
	ck_assert_int_eq(jint(n, "pid"), getpid());
	ck_assert_uint_eq(strlen(jstr(n, "mac")), 17);
	ck_assert_int_eq(jint(n, "wakes_recovered"), 0);
	ck_assert_ptr_nonnull(n = find(j, "id", NULL, 2));
	ck_assert_int_eq(jint(n, "generation"), gen2);
	ck_assert_str_eq(jstr(n, "gateway"), "route");
	ck_assert_str_eq(jstr(n, "announced"), "G6");
	ck_assert_ptr_nonnull(n = find(j, "id", NULL, 3));
	ck_assert_str_eq(jstr(n, "state"), "down");
	ck_assert_str_eq(jstr(n, "gateway"), "arp");
	contains(text,
	    "ID    STATE GEN   PID      MAC               ADDRESS"
	    "            GATEWAY ANNOUNCED     TX-FRAMES    RX-FRAMES    DROPS");
	ck_assert_ptr_nonnull(strstr(text, "\n3     down  "));
}
END_TEST

START_TEST(test_rings)
{
	json_t *r, *o;
	char key[17];
	size_t i, casts = 0;

	print("rings", show_rings);
	snprintf(key, sizeof(key), "%016" PRIx64, pair_key);
	ck_assert_ptr_nonnull(r = find(j, "kind", "pair", 0));
	ck_assert_str_eq(jstr(r, "net"), "local");
	ck_assert_int_eq(jint(r, "from"), 1);
	ck_assert_int_eq(jint(r, "to"), 2);
	ck_assert_int_eq(jint(r, "slots"), 64);
	ck_assert_int_eq(jint(r, "slot_size"), 1024);
	ck_assert_int_eq(jint(r, "used"), 0);
	ck_assert_str_eq(jstr(r, "state"), "up");
	ck_assert_int_eq(jint(r, "generation"), gen1);
	ck_assert_str_eq(jstr(r, "key"), key);
	ck_assert_str_eq(jstr(r, "label"), "-");
	/* a broadcast and 3 + 1 multicast rings: G makes both nets used */
	json_array_foreach(j, i, o)
	{
		if (strcmp(jstr(o, "kind"), "pair") == 0)
			continue;
		ck_assert_int_eq(jint(o, "from") + jint(o, "to"), 0);
		ck_assert_str_eq(jstr(o, "label"),
		    strcmp(jstr(o, "kind"), "broadcast") == 0 ?
			"ff:ff:ff:ff:ff:ff" :
			"-");
		casts++;
	}
	ck_assert_uint_eq(casts, 2 + 3 + 1);
	ck_assert_uint_eq(json_array_size(j), casts + 1);
	contains(text,
	    "KIND      NET    FROM   TO  SLOTS SLOTSZ   USED       "
	    "FRAMES          BYTES    DROPS STATE     GEN LABEL             KEY");
	ck_assert_ptr_nonnull(strstr(text,
	    "\npair      local     1    2 "
	    "    64   1024      0"));
	ck_assert_ptr_nonnull(strstr(text, key));
	ck_assert_ptr_nonnull(strstr(text, "\nbroadcast global    *    *"));
}
END_TEST

START_TEST(test_conns)
{
	json_t *f;

	print("conns", show_conns);
	ck_assert_uint_eq(json_array_size(j), 1);
	f = json_array_get(j, 0);
	ck_assert_str_eq(jstr(f, "proto"), "tcp");
	ck_assert_str_eq(jstr(f, "local"), "10.9.0.1");
	ck_assert_int_eq(jint(f, "lport"), 8080);
	ck_assert_str_eq(jstr(f, "foreign"), "192.0.2.7");
	ck_assert_int_eq(jint(f, "fport"), 40000);
	ck_assert_int_eq(jint(f, "node"), 2);
	ck_assert_int_eq(jint(f, "ingress"), 1);
	ck_assert_str_eq(jstr(f, "direction"), "in");
	ck_assert_str_eq(jstr(f, "state"), "established");
	ck_assert_int_le(jint(f, "age"), 5);
	ck_assert_int_eq(jint(f, "packets") + jint(f, "bytes"), 0);
	contains(text,
	    "PROTO                 LOCAL               FOREIGN NODE "
	    "INGRESS DIR STATE          AGE   IDLE    PACKETS        BYTES");
	ck_assert_ptr_nonnull(strstr(text,
	    "\ntcp          10.9.0.1:8080   "
	    "     192.0.2.7:40000    2       1 in  established "));
}
END_TEST

START_TEST(test_listeners)
{
	json_t *l;

	print("listeners", show_listeners);
	ck_assert_uint_eq(json_array_size(j), 2);
	ck_assert_ptr_nonnull(l = find(j, "proto", "tcp", 0));
	ck_assert_int_eq(jint(l, "node"), 1);
	ck_assert_int_eq(jint(l, "family"), 4);
	ck_assert_str_eq(jstr(l, "address"), "0.0.0.0");
	ck_assert_int_eq(jint(l, "port"), 8080);
	ck_assert_ptr_null(json_object_get(l, "peer"));
	ck_assert_ptr_null(json_object_get(l, "peer_port"));
	ck_assert_ptr_nonnull(l = find(j, "proto", "udp", 0));
	ck_assert_int_eq(jint(l, "family"), 6);
	ck_assert_str_eq(jstr(l, "address"), "fd00::1");
	ck_assert_int_eq(jint(l, "port"), 53);
	ck_assert_str_eq(jstr(l, "peer"), "fd00::77");
	ck_assert_int_eq(jint(l, "peer_port"), 5353);
	contains(text, "NODE  PROTO ADDRESS                  PORT  PEER");
	contains(text, "1     tcp   0.0.0.0                  8080  -");
	contains(text,
	    "1     udp   fd00::1                  53    "
	    "fd00::77:5353");
}
END_TEST

/* two_addresses: a second cluster address, 10.9.0.2 (index 1), carried
 * by node 2 (with G), which binds port 9000 to it, listens on 7000 on
 * the wildcard address, serves a flow to 10.9.0.2:9000 and, a gateway
 * in route mode, keeps its route. */
static void
two_addresses(void)
{
	static const struct conn_timeouts tmo = { 30, 900, 10, 30 };
	struct shm_listen l[2] = {
		{ .family = 4,
		    .proto = IPPROTO_TCP,
		    .port = 9000,
		    .flags = SHM_LISTEN_SPECIFIC |
			(1 << SHM_LISTEN_AIDX_SHIFT) },
		{ .family = 4, .proto = IPPROTO_TCP, .port = 7000 },
	};
	struct conn_key k = {
		.family = 4, .proto = IPPROTO_TCP, .lport = 9000, .fport = 40001
	};
	const uint8_t client[4] = { 192, 0, 2, 7 };

	ck_assert_int_eq(gaddr_claim(w, inet_addr("10.9.0.2")), 1);
	gaddr_publish(w, 1, 0x1);
	gaddr_publish(w, 2, 0x3);
	ck_assert_uint_eq(listen_publish(w, 2, l, 2), 2);
	k.aidx = 1;
	memcpy(k.faddr, client, 4);
	ck_assert_int_eq(conn_insert(w, 1, &k, 2, 1, SHM_CONN_EST, conn_now(),
			     &tmo, NULL, NULL),
	    1);
	shmseg_node(w, 2)->flags |= SHM_NODE_F_GATEWAY;
	shmseg_node(w, 2)->gw = SHM_GW_ROUTE | SHM_GW_HAS6;
	shmseg_node(w, 2)->gw_gaddrs = 0x2;
}

START_TEST(test_addresses)
{
	json_t *a;

	two_addresses();
	print("addresses", show_addresses);
	ck_assert_uint_eq(json_array_size(j), 3);
	ck_assert_ptr_nonnull(a = find(j, "name", "G", 0));
	ck_assert_int_eq(jint(a, "index"), 0);
	ck_assert_int_eq(jint(a, "family"), 4);
	ck_assert_str_eq(jstr(a, "address"), "10.9.0.1");
	ck_assert_int_eq(jint(a, "nodes"), 2);
	ck_assert_str_eq(jstr(a, "carried_by"), "1-2");
	ck_assert_str_eq(jstr(a, "announced_by"), "");
	ck_assert_ptr_nonnull(a = find(j, "name", "G#1", 0));
	ck_assert_int_eq(jint(a, "index"), 1);
	ck_assert_str_eq(jstr(a, "address"), "10.9.0.2");
	ck_assert_int_eq(jint(a, "nodes"), 1);
	ck_assert_str_eq(jstr(a, "carried_by"), "2");
	ck_assert_str_eq(jstr(a, "announced_by"), "2");
	ck_assert_ptr_nonnull(a = find(j, "name", "G6", 0));
	ck_assert_int_eq(jint(a, "family"), 6);
	ck_assert_str_eq(jstr(a, "address"), "fd00::1");
	ck_assert_str_eq(jstr(a, "carried_by"), "1-2");
	contains(text,
	    "NAME  ADDRESS                  NODES CARRIED-BY       "
	    "ANNOUNCED-BY");
	contains(text,
	    "G     10.9.0.1                     2 1-2              -");
	contains(text,
	    "G#1   10.9.0.2                     1 2                2");
}
END_TEST

/* count_of: the flows conns --count finds under --service name. */
static json_int_t
count_of(const char *name)
{
	struct ctl c = { .seg = ro, .path = tu_path, .json = 1, .count = 1 };
	json_error_t err;
	char *buf = NULL;
	size_t len = 0;
	json_int_t n;
	json_t *o;

	ck_assert_int_eq(services_parse(name, &c.service), 0);
	ck_assert_ptr_nonnull(c.out = open_memstream(&buf, &len));
	ck_assert_int_eq(show_conns(&c), 0);
	ck_assert_int_eq(fclose(c.out), 0);
	ck_assert_ptr_nonnull(o = json_loads(buf, 0, &err));
	n = jint(o, "flows");
	json_decref(o);
	free(buf);
	return n;
}

/* reset: forget what the last print wrote. */
static void
reset(void)
{
	json_decref(j);
	free(text);
	j = NULL;
	text = NULL;
}

START_TEST(test_two_addresses_apart)
{
	json_t *s, *b, *n;
	size_t i, found = 0;

	two_addresses();
	/* services: G:7000 and G#1:7000, each with node 2; 9000 is G#1's
	 * only, 8080 G's only (and G6's UDP 53) */
	print("services", services_show);
	ck_assert_uint_eq(json_array_size(j), 5);
	ck_assert_ptr_nonnull(strstr(text, "\ntcp   10.9.0.1:7000 "));
	ck_assert_ptr_nonnull(strstr(text, "\ntcp   10.9.0.2:7000 "));
	ck_assert_ptr_nonnull(strstr(text, "\ntcp   10.9.0.2:9000 "));
	ck_assert_ptr_nonnull(strstr(text, "\ntcp   10.9.0.1:8080 "));
	json_array_foreach(j, i, s)
	{
		if (jint(s, "port") != 9000 && jint(s, "port") != 7000)
			continue;
		found++;
		ck_assert_uint_eq(
		    json_array_size(json_object_get(s, "backends")), 1);
		b = json_array_get(json_object_get(s, "backends"), 0);
		ck_assert_int_eq(jint(b, "node"), 2);
		if (jint(s, "port") == 9000) {
			ck_assert_str_eq(jstr(s, "address"), "10.9.0.2");
			ck_assert_int_eq(jint(b, "active"), 1);
		}
	}
	ck_assert_uint_eq(found, 3);
	reset();
	/* conns: the flow to G#1 shows its address; --service filters by
	 * address, 0.0.0.0 for any */
	print("conns", show_conns);
	ck_assert_ptr_nonnull(n = find(j, "lport", NULL, 9000));
	ck_assert_str_eq(jstr(n, "local"), "10.9.0.2");
	ck_assert_ptr_nonnull(n = find(j, "lport", NULL, 8080));
	ck_assert_str_eq(jstr(n, "local"), "10.9.0.1");
	reset();
	ck_assert_int_eq(count_of("10.9.0.2:9000"), 1);
	ck_assert_int_eq(count_of("10.9.0.1:9000"), 0);
	ck_assert_int_eq(count_of("0.0.0.0:9000"), 1);
	ck_assert_int_eq(count_of("10.9.0.1:8080/tcp"), 1);
	ck_assert_int_eq(count_of("10.9.0.2:8080"), 0);
	ck_assert_int_eq(count_of("[fd00::1]:9000"), 0);
	ck_assert_int_eq(count_of("9000"), 1);
	/* listeners: the bound one shows its address */
	print("listeners", show_listeners);
	contains(text, "2     tcp   10.9.0.2                 9000  -");
	reset();
	/* nodes: what node 2 announces, by name */
	print("nodes", show_nodes);
	ck_assert_ptr_nonnull(n = find(j, "id", NULL, 2));
	ck_assert_str_eq(jstr(n, "announced"), "G#1");
}
END_TEST

/* lines: how many lines s has. */
static size_t
lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_empty)
{
	static const printer lists[] = { show_nodes, show_rings, show_conns,
		show_listeners };
	static const char *const names[] = { "nodes", "rings", "conns",
		"listeners" };
	size_t i, rows;

	for (i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		print(names[i], lists[i]);
		ck_assert(json_is_array(j));
		rows = json_array_size(j);
		/* the local network's cast rings are there, nothing else */
		ck_assert_uint_eq(rows, lists[i] == show_rings ? 1 + 3 : 0);
		ck_assert_uint_eq(lines(text), 1 + rows);
		json_decref(j);
		free(text);
		j = NULL;
		text = NULL;
	}
	print("status", show_status);
	ck_assert_int_eq(jint(j, "nodes_known"), 0);
	ck_assert_str_eq(jstr(j, "global_address"), "0.0.0.0");
	contains(text, "nodes     0 up, 0 known");
}
END_TEST

/* cmpstr: qsort order of strings. */
static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* man_fields: the JSON keys man/shmnetctl.8 gives for cmd, sorted and
 * joined by spaces: in the .TP item tagged ".B cmd", the first word of
 * each .B or .BR line after the one that says "With --json:". */
static void
man_fields(const char *cmd, char *out, size_t len)
{
	FILE *fp = fopen(SHMNETCTL_MAN, "r");
	char line[512], tag[64], *words[64], *p;
	int state = 0; /* 1 in the item, 2 past --json */
	size_t n = 0, i;

	ck_assert_msg(fp != NULL, "%s: %s", SHMNETCTL_MAN, strerror(errno));
	snprintf(tag, sizeof(tag), ".B %s\n", cmd);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (state == 0 && strcmp(line, tag) == 0)
			state = 1;
		else if (state > 0 &&
		    (strncmp(line, ".TP", 3) == 0 ||
			strncmp(line, ".SH", 3) == 0))
			break;
		else if (state == 1 && strcmp(line, ".BR \\-\\-json :\n") == 0)
			state = 2;
		else if (state == 2 &&
		    (strncmp(line, ".B ", 3) == 0 ||
			strncmp(line, ".BR ", 4) == 0) &&
		    n < 64) {
			p = line + (line[2] == ' ' ? 3 : 4);
			words[n++] = strndup(p, strcspn(p, " \n"));
		}
	}
	fclose(fp);
	qsort(words, n, sizeof(*words), cmpstr);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i ? " " : "", words[i]);
		free(words[i]);
	}
}

/* table_fields: the JSON keys a table describes, sorted and joined. */
static void
table_fields(const struct out_table *t, char *out, size_t len)
{
	const char *words[64];
	size_t n = 0, i;

	for (i = 0; i < t->nfields && n < 64; i++)
		if (t->fields[i].key != NULL)
			words[n++] = t->fields[i].key;
	if (t->sub != NULL) { /* its sub-table's keys, under subkey */
		words[n++] = t->subkey;
		for (i = 0; i < t->sub->nfields && n < 64; i++)
			if (t->sub->fields[i].key != NULL)
				words[n++] = t->sub->fields[i].key;
	}
	qsort(words, n, sizeof(*words), cmpstr);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i ? " " : "", words[i]);
}

START_TEST(test_man_agrees)
{
	const struct out_table *const *t;
	char described[2048], documented[2048];

	for (t = show_tables; *t != NULL; t++) {
		table_fields(*t, described, sizeof(described));
		man_fields((*t)->cmd, documented, sizeof(documented));
		ck_assert_msg(strcmp(described, documented) == 0,
		    "%s prints: %s\n%s documents: %s", (*t)->cmd, described,
		    SHMNETCTL_MAN, documented);
	}
}
END_TEST

/* Each field's type fits what the row holds, and no key is used twice. */
START_TEST(test_descriptions_sound)
{
	const struct out_table *const *t;
	const struct out_field *f;
	size_t i, k;

	for (t = show_tables; *t != NULL; t++)
		for (i = 0; i < (*t)->nfields; i++) {
			f = &(*t)->fields[i];
			ck_assert_msg(f->key != NULL || f->head != NULL ||
				f->glue != NULL,
			    "%s: field %zu shown nowhere", (*t)->cmd, i);
			ck_assert_uint_le(f->off + f->size, (*t)->rowsize);
			if (f->type != OUT_STR)
				ck_assert_msg(f->size == 4 || f->size == 8,
				    "%s.%s: %zu bytes", (*t)->cmd, f->key,
				    f->size);
			if (f->type == OUT_NAME)
				ck_assert_ptr_nonnull(f->names);
			for (k = 0; f->key != NULL && k < i; k++)
				ck_assert_msg((*t)->fields[k].key == NULL ||
					strcmp((*t)->fields[k].key, f->key) !=
					    0,
				    "%s.%s twice", (*t)->cmd, f->key);
		}
}
END_TEST

static Suite *
show_suite(void)
{
	Suite *s = suite_create("show");
	TCase *tc = tu_segment_case(s, "cluster", setup_cluster, teardown);
	TCase *td = tcase_create("descriptions");

	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_status_name_escapes_shown);
	tcase_add_test(tc, test_nodes);
	tcase_add_test(tc, test_rings);
	tcase_add_test(tc, test_conns);
	tcase_add_test(tc, test_listeners);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_two_addresses_apart);
	tcase_add_test(tu_segment_case(s, "empty", setup_empty, teardown),
	    test_empty);
	tcase_add_test(td, test_man_agrees);
	tcase_add_test(td, test_descriptions_sound);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	return tu_run(show_suite());
}
