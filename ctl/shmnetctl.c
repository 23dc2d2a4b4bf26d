/*
 * shmnetctl: inspect a live cluster by mapping its segment read-only, so
 * it works while a daemon hangs; weight, drain and undrain map it
 * read-write and change only a node's backend entry.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* A command: its printer (or changer), whether it writes, which of the
 * command options it takes (CTL_OPT_*) and how many words follow it. */
#define CTL_OPT_PORT     0x01 /* --port P */
#define CTL_OPT_FILTER   0x02 /* --service S, --node N, --count */
#define CTL_OPT_TEXTFILE 0x04 /* --textfile DIR */
struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *, char **args);
	int writes;
	unsigned opts;
	int nargs;
	const char *usage;
	const char *help;
};

/* The port --port gave a command (0: the node as a whole). */
static int ctl_port;

static int ctl_show_status(struct ctl *c, char **a);
static int ctl_show_nodes(struct ctl *c, char **a);
static int ctl_show_rings(struct ctl *c, char **a);
static int ctl_show_conns(struct ctl *c, char **a);
static int ctl_show_listeners(struct ctl *c, char **a);
static int ctl_show_services(struct ctl *c, char **a);
static int ctl_metrics(struct ctl *c, char **a);
static int ctl_weight(struct ctl *c, char **a);
static int ctl_drain(struct ctl *c, char **a);
static int ctl_undrain(struct ctl *c, char **a);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", ctl_show_status, 0, 0, 0, "", "cluster summary" },
	{ "nodes", ctl_show_nodes, 0, 0, 0, "",
	    "node table: id, state, generation, MAC, address, counters" },
	{ "rings", ctl_show_rings, 0, 0, 0, "",
	    "pair and broadcast rings with keys and counters" },
	{ "conns", ctl_show_conns, 0, CTL_OPT_FILTER, 0,
	    " [--service [ADDR:]PORT[/PROTO]] [--node N] [--count]",
	    "global network flows: 5-tuple, node, state, age, counters" },
	{ "listeners", ctl_show_listeners, 0, 0, 0, "",
	    "sockets each node publishes for the global address" },
	{ "services", ctl_show_services, 0, 0, 0, "",
	    "services of the global address and their backends" },
	{ "metrics", ctl_metrics, 0, CTL_OPT_TEXTFILE, 0, " [--textfile DIR]",
	    "Prometheus text format; --textfile: into "
	    "DIR/shmnet_<cluster>.prom" },
	{ "weight", ctl_weight, 1, CTL_OPT_PORT, 2,
	    " NODE WEIGHT|default [--port P]",
	    "set a node's share of new flows (0-255)" },
	{ "drain", ctl_drain, 1, CTL_OPT_PORT, 1, " NODE [--port P]",
	    "give a node no new flows; its flows go on" },
	{ "undrain", ctl_undrain, 1, CTL_OPT_PORT, 1, " NODE [--port P]",
	    "give a drained node new flows again" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: shmnetctl [--cluster NAME | --segment PATH] "
	    "[--json] COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(*ctl_cmds); i++)
		fprintf(fp, "  %s%s\n      %s\n", ctl_cmds[i].name,
		    ctl_cmds[i].usage, ctl_cmds[i].help);
}

static int
ctl_show_status(struct ctl *c, char **a)
{
	(void)a;
	return show_status(c);
}

static int
ctl_show_nodes(struct ctl *c, char **a)
{
	(void)a;
	return show_nodes(c);
}

static int
ctl_show_rings(struct ctl *c, char **a)
{
	(void)a;
	return show_rings(c);
}

static int
ctl_show_conns(struct ctl *c, char **a)
{
	(void)a;
	return show_conns(c);
}

static int
ctl_show_listeners(struct ctl *c, char **a)
{
	(void)a;
	return show_listeners(c);
}

static int
ctl_show_services(struct ctl *c, char **a)
{
	(void)a;
	return services_show(c);
}

static int
ctl_metrics(struct ctl *c, char **a)
{
	(void)a;
	return prom_metrics(c);
}

/* ctl_number: a decimal number in [lo, hi] from s, or -1 with a line
 * said. */
static long
ctl_number(const char *what, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr,
		    "shmnetctl: %s '%s' is not a number in %ld-%ld\n", what, s,
		    lo, hi);
		return -1;
	}
	return v;
}

static int
ctl_weight(struct ctl *c, char **a)
{
	long node = ctl_number("node", a[0], 1, SHM_NODES_MAX), w;

	if (node < 0)
		return -1;
	if (strcmp(a[1], "default") == 0)
		w = -1;
	else if ((w = ctl_number("weight", a[1], 0, 255)) < 0)
		return -1;
	return admin_weight(c, (uint32_t)node, ctl_port, (int)w);
}

static int
ctl_drain(struct ctl *c, char **a)
{
	long node = ctl_number("node", a[0], 1, SHM_NODES_MAX);

	return node < 0 ? -1 : admin_drain(c, (uint32_t)node, ctl_port, 1);
}

static int
ctl_undrain(struct ctl *c, char **a)
{
	long node = ctl_number("node", a[0], 1, SHM_NODES_MAX);

	return node < 0 ? -1 : admin_drain(c, (uint32_t)node, ctl_port, 0);
}

/* ctl_options: the command's own options, after its name; its words
 * are left in argv[optind...].  0, or 2 (usage) with a line said. */
static int
ctl_options(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "port", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "count", no_argument, NULL, 'C' },
		{ "textfile", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (ch == 'j') {
			c->json = 1;
			continue;
		}
		if ((ch == 'p' && !(cmd->opts & CTL_OPT_PORT)) ||
		    (ch == 't' && !(cmd->opts & CTL_OPT_TEXTFILE)) ||
		    ((ch == 's' || ch == 'n' || ch == 'C') &&
			!(cmd->opts & CTL_OPT_FILTER)) ||
		    ch == '?') {
			if (ch != '?')
				fprintf(stderr,
				    "shmnetctl: %s takes no option %s\n",
				    cmd->name, argv[optind - 1]);
			return 2;
		}
		if (ch == 'p') {
			if ((v = ctl_number("port", optarg, 1, 65535)) < 0)
				return 2;
			ctl_port = (int)v;
		} else if (ch == 's' &&
		    services_parse(optarg, &c->service) != 0) {
			fprintf(stderr,
			    "shmnetctl: --service '%s': not [ADDR:]PORT"
			    "[/tcp|/udp]\n",
			    optarg);
			return 2;
		} else if (ch == 'n') {
			if ((v = ctl_number("node", optarg, 1, SHM_NODES_MAX)) <
			    0)
				return 2;
			c->node = (uint32_t)v;
		} else if (ch == 'C')
			c->count = 1;
		else if (ch == 't')
			c->textfile = optarg;
	}
	if (argc - optind != cmd->nargs) {
		fprintf(stderr, "usage: shmnetctl %s%s\n", cmd->name,
		    cmd->usage);
		return 2;
	}
	return 0;
}

/* ctl_find_segment: the only segment in /dev/shm, if there is one. */
static int
ctl_find_segment(char *path, size_t len)
{
	DIR *dir;
	struct dirent *e;
	char names[1024] = "";
	int n = 0;
	size_t l;

	if ((dir = opendir("/dev/shm")) == NULL) {
		fprintf(stderr, "shmnetctl: /dev/shm: %s\n", strerror(errno));
		return -1;
	}
	while ((e = readdir(dir)) != NULL) {
		l = strlen(e->d_name);
		if (strncmp(e->d_name, "shmnet.", 7) != 0 || l <= 7 ||
		    (l > 5 && strcmp(e->d_name + l - 5, ".lock") == 0))
			continue;
		if (n++ == 0)
			snprintf(path, len, "/dev/shm/%s", e->d_name);
		if (strlen(names) + l + 3 < sizeof(names)) {
			if (names[0] != '\0')
				strcat(names, ", ");
			strcat(names, e->d_name + 7);
		}
	}
	closedir(dir);
	if (n == 1)
		return 0;
	if (n == 0)
		fprintf(stderr,
		    "shmnetctl: no shmnet cluster in /dev/shm "
		    "(is shmnetd running?)\n");
	else
		fprintf(stderr,
		    "shmnetctl: several clusters (%s); choose one "
		    "with --cluster\n",
		    names);
	return -1;
}

/* ctl_open: map the segment, read-write for a command that writes. */
static int
ctl_open(struct ctl *c, const struct ctl_cmd *cmd, const char *path)
{
	char err[512];
	int rc;

	rc = cmd->writes ? shmseg_open_admin(path, &c->seg, err, sizeof(err)) :
			   shmseg_open_ro(path, &c->seg, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc == -ENOENT)
		fprintf(stderr,
		    "shmnetctl: no segment at %s (is the cluster running?)\n",
		    path);
	else if (cmd->writes && (rc == -EACCES || rc == -EPERM || rc == -EROFS))
		fprintf(stderr,
		    "shmnetctl: %s changes the cluster and needs write access "
		    "to %s: %s (run it as the segment's owner, or root)\n",
		    cmd->name, path, strerror(-rc));
	else
		fprintf(stderr, "shmnetctl: %s\n", err);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "segment", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .out = stdout };
	char path[4096] = "";
	const struct ctl_cmd *cmd = NULL;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:S:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			snprintf(path, sizeof(path), "/dev/shm/shmnet.%s",
			    optarg);
			break;
		case 'S':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'j':
			c.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shmnetctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(*ctl_cmds); i++)
		if (strcmp(argv[optind], ctl_cmds[i].name) == 0)
			cmd = &ctl_cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "shmnetctl: unknown command '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: start over, at argv[1] */
	if ((rc = ctl_options(&c, cmd, argc, argv)) != 0)
		return rc;
	if (path[0] == '\0' && ctl_find_segment(path, sizeof(path)) != 0)
		return 1;
	if (ctl_open(&c, cmd, path) != 0)
		return 1;
	c.path = path;
	rc = cmd->fn(&c, argv + optind);
	shmseg_close(c.seg, 0);
	return rc == 0 ? 0 : rc == CTL_USAGE ? 2 : 1;
}
