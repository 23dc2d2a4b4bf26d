/*
 * shmnetctl: inspect a live cluster by mapping its segment read-only.
 * It never writes to the segment, so it works while a daemon hangs.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* A command: its name, what runs it, its own arguments (in c->argc and
 * c->argv, its name first; NULL: it takes none) and what it does. */
struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *);
	const char *args;
	const char *help;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", show_status, NULL, "cluster summary" },
	{ "nodes", show_nodes, NULL,
	    "node table: id, state, generation, MAC, "
	    "address, counters" },
	{ "rings", show_rings, NULL,
	    "pair and broadcast rings with keys and "
	    "counters" },
	{ "conns", show_conns, NULL,
	    "global network flows: 5-tuple, node, state, "
	    "age, counters" },
	{ "listeners", show_listeners, NULL,
	    "sockets each node publishes for the "
	    "global address" },
	{ "metrics", prom_metrics, "[--textfile DIR]",
	    "Prometheus text format; --textfile: "
	    "into DIR/shmnet_<cluster>.prom" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: shmnetctl [--cluster NAME | --segment PATH] "
	    "[--json] COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(*ctl_cmds); i++)
		if (ctl_cmds[i].args != NULL)
			fprintf(fp, "  %s %s\n  %-9s %s\n", ctl_cmds[i].name,
			    ctl_cmds[i].args, "", ctl_cmds[i].help);
		else
			fprintf(fp, "  %-9s %s\n", ctl_cmds[i].name,
			    ctl_cmds[i].help);
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
	char path[4096] = "", err[512];
	const struct ctl_cmd *cmd = NULL;
	size_t i;
	int ch, rc;

	/* '+': the options before the command are shmnetctl's, those after
	 * it the command's */
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
	c.argc = argc - optind;
	c.argv = argv + optind;
	if (cmd->args == NULL && c.argc > 1) {
		fprintf(stderr, "shmnetctl: %s takes no arguments\n",
		    cmd->name);
		usage(stderr);
		return 2;
	}
	if (path[0] == '\0' && ctl_find_segment(path, sizeof(path)) != 0)
		return 1;
	if ((rc = shmseg_open_ro(path, &c.seg, err, sizeof(err))) != 0) {
		if (rc == -ENOENT)
			fprintf(stderr,
			    "shmnetctl: no segment at %s (is the "
			    "cluster running?)\n",
			    path);
		else
			fprintf(stderr, "shmnetctl: %s\n", err);
		return 1;
	}
	c.path = path;
	rc = cmd->fn(&c);
	shmseg_close(c.seg, 0);
	if (rc == CTL_USAGE)
		usage(stderr);
	return rc == 0 ? 0 : rc == CTL_USAGE ? 2 : 1;
}
