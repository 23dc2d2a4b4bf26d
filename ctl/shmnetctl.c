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

/* A command: what runs it, whether it writes, which of the command
 * options it takes (CTL_OPT_*), the words that follow it (CTL_ARGS_*,
 * checked before the segment is opened) and what it does. */
#define CTL_OPT_PORT     0x01 /* --port P */
#define CTL_OPT_FILTER   0x02 /* --service S, --node N, --count */
#define CTL_OPT_TEXTFILE 0x04 /* --textfile DIR */
#define CTL_OPT_NOJSON   0x08 /* --json does not apply */
#define CTL_ARGS_NONE    0
#define CTL_ARGS_NODE    1 /* NODE */
#define CTL_ARGS_WEIGHT  2 /* NODE WEIGHT|default */
struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *);
	int writes;
	unsigned opts;
	int args;
	const char *usage;
	const char *help;
};

static int ctl_drain(struct ctl *c);
static int ctl_undrain(struct ctl *c);
static int ctl_weight(struct ctl *c);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", show_status, 0, 0, CTL_ARGS_NONE, "", "cluster summary" },
	{ "nodes", show_nodes, 0, 0, CTL_ARGS_NONE, "",
	    "node table: id, state, generation, MAC, address, counters" },
	{ "rings", show_rings, 0, 0, CTL_ARGS_NONE, "",
	    "pair and broadcast rings with keys and counters" },
	{ "conns", show_conns, 0, CTL_OPT_FILTER, CTL_ARGS_NONE,
	    " [--service [ADDR:]PORT[/PROTO]] [--node N] [--count]",
	    "global network flows: 5-tuple, node, state, age, counters" },
	{ "listeners", show_listeners, 0, 0, CTL_ARGS_NONE, "",
	    "sockets each node publishes for the cluster addresses" },
	{ "services", services_show, 0, 0, CTL_ARGS_NONE, "",
	    "services of the cluster addresses and their backends" },
	{ "addresses", show_addresses, 0, 0, CTL_ARGS_NONE, "",
	    "the cluster addresses and the nodes that carry them" },
	{ "metrics", prom_metrics, 0, CTL_OPT_TEXTFILE | CTL_OPT_NOJSON,
	    CTL_ARGS_NONE, " [--textfile DIR]",
	    "Prometheus text format; --textfile: into "
	    "DIR/shmnet_<cluster>.prom" },
	{ "weight", ctl_weight, 1, CTL_OPT_PORT, CTL_ARGS_WEIGHT,
	    " NODE WEIGHT|default [--port P]",
	    "set a node's share of new flows (0-255)" },
	{ "drain", ctl_drain, 1, CTL_OPT_PORT, CTL_ARGS_NODE,
	    " NODE [--port P]", "give a node no new flows; its flows go on" },
	{ "undrain", ctl_undrain, 1, CTL_OPT_PORT, CTL_ARGS_NODE,
	    " NODE [--port P]", "give a drained node new flows again" },
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
ctl_weight(struct ctl *c)
{
	return admin_weight(c, c->arg_node, c->port, c->arg_weight);
}

static int
ctl_drain(struct ctl *c)
{
	return admin_drain(c, c->arg_node, c->port, 1);
}

static int
ctl_undrain(struct ctl *c)
{
	return admin_drain(c, c->arg_node, c->port, 0);
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

/* ctl_words: the words after a command's options (NODE [WEIGHT]); 0, or
 * 2 (usage) with a line said. */
static int
ctl_words(struct ctl *c, const struct ctl_cmd *cmd, int n, char **w)
{
	long v;

	if (n != cmd->args) {
		fprintf(stderr, "usage: shmnetctl %s%s\n", cmd->name,
		    cmd->usage);
		return 2;
	}
	if (n >= 1) {
		if ((v = ctl_number("node", w[0], 1, SHM_NODES_MAX)) < 0)
			return 2;
		c->arg_node = (uint32_t)v;
	}
	if (n == 2) {
		if (strcmp(w[1], "default") == 0)
			c->arg_weight = -1;
		else if ((v = ctl_number("weight", w[1], 0, 255)) < 0)
			return 2;
		else
			c->arg_weight = (int)v;
	}
	return 0;
}

/* ctl_option: one option of a command's; 0, or 2 (usage) with a line
 * said. */
static int
ctl_option(struct ctl *c, int ch, const char *arg)
{
	long v;

	switch (ch) {
	case 'j':
		c->json = 1;
		return 0;
	case 'p':
		if ((v = ctl_number("port", arg, 1, 65535)) < 0)
			return 2;
		c->port = (int)v;
		return 0;
	case 's':
		if (services_parse(arg, &c->service) == 0)
			return 0;
		fprintf(stderr,
		    "shmnetctl: --service '%s': not [ADDR:]PORT[/tcp|/udp]\n",
		    arg);
		return 2;
	case 'n':
		if ((v = ctl_number("node", arg, 1, SHM_NODES_MAX)) < 0)
			return 2;
		c->node = (uint32_t)v;
		return 0;
	case 'C':
		c->count = 1;
		return 0;
	case 't':
		c->textfile = arg;
		return 0;
	}
	return 2;
}

/* ctl_options: the command's own options and words, after its name
 * (argv[0]), checked before the segment is opened.  0, or 2 (usage)
 * with a line said. */
static int
ctl_options(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct {
		struct option o;
		unsigned needs; /* CTL_OPT_*, 0 for every command */
	} known[] = {
		{ { "json", no_argument, NULL, 'j' }, 0 },
		{ { "port", required_argument, NULL, 'p' }, CTL_OPT_PORT },
		{ { "service", required_argument, NULL, 's' }, CTL_OPT_FILTER },
		{ { "node", required_argument, NULL, 'n' }, CTL_OPT_FILTER },
		{ { "count", no_argument, NULL, 'C' }, CTL_OPT_FILTER },
		{ { "textfile", required_argument, NULL, 't' },
		    CTL_OPT_TEXTFILE },
	};
	struct option opts[sizeof(known) / sizeof(*known) + 1];
	int ch, li, rc;
	size_t i;

	memset(opts, 0, sizeof(opts));
	for (i = 0; i < sizeof(known) / sizeof(*known); i++)
		opts[i] = known[i].o;
	opterr = 0;
	optind = 0; /* glibc: start over, at argv[1] */
	while ((ch = getopt_long(argc, argv, ":j", opts, &li)) != -1) {
		if (ch == '?' || ch == ':') {
			fprintf(stderr, "shmnetctl: %s: %s %s\n", cmd->name,
			    ch == ':' ? "option needs a value:" :
					"unknown option",
			    argv[optind - 1]);
			return 2;
		}
		for (i = 0; i < sizeof(known) / sizeof(*known); i++)
			if (known[i].o.val == ch)
				break;
		if ((known[i].needs != 0 && !(cmd->opts & known[i].needs)) ||
		    (ch == 'j' && (cmd->opts & CTL_OPT_NOJSON))) {
			fprintf(stderr, "shmnetctl: %s takes no --%s\n",
			    cmd->name, known[i].o.name);
			return 2;
		}
		if ((rc = ctl_option(c, ch, optarg)) != 0)
			return rc;
	}
	if (c->json && (cmd->opts & CTL_OPT_NOJSON)) {
		fprintf(stderr, "shmnetctl: %s takes no --json\n", cmd->name);
		return 2;
	}
	return ctl_words(c, cmd, argc - optind, argv + optind);
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
		    "to %s: %s (run it as the segment's owner or root, or as "
		    "a member of a group [cluster] segment-mode lets write)\n",
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
	if ((rc = ctl_options(&c, cmd, argc - optind, argv + optind)) != 0)
		return rc;
	if (path[0] == '\0' && ctl_find_segment(path, sizeof(path)) != 0)
		return 1;
	if (ctl_open(&c, cmd, path) != 0)
		return 1;
	c.path = path;
	rc = cmd->fn(&c);
	shmseg_close(c.seg, 0);
	return rc == 0 ? 0 : rc == CTL_USAGE ? 2 : 1;
}
