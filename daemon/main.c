/*
 * main.c: shmnetd command line.  Everything else lives in the daemon
 * library so that tests link the same code.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shmnetd.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: shmnetd --cluster NAME --node ID|auto "
	    "[--config FILE]\n"
	    "               [--set SECTION.KEY=VALUE]... [--foreground] "
	    "[--check-config] [--verbose]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "node", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'f' },
		{ "set", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d;
	const char *cluster = NULL, *node = NULL, *file = NULL;
	char **sets, err[1200];
	int ch, nsets = 0, check = 0, i;

	if ((sets = calloc((size_t)argc, sizeof(*sets))) == NULL)
		return 1;
	log_init(1, "shmnetd");
	while ((ch = getopt_long(argc, argv, "c:n:f:s:dtvhV", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cluster = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 's':
			sets[nsets++] = optarg;
			break;
		case 'd':
			d.foreground = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			d.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shmnetd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_verbose(d.verbose);
	conf_defaults(&d.conf);
	if (file != NULL &&
	    conf_parse_file(&d.conf, file, err, sizeof(err)) != 0)
		fatalx("%s", err);
	for (i = 0; i < nsets; i++)
		if (conf_set(&d.conf, sets[i], err, sizeof(err)) != 0)
			fatalx("%s", err);
	if (cluster != NULL &&
	    conf_apply(&d.conf, "cluster", "name", cluster, "--cluster", err,
		sizeof(err)) != 0)
		fatalx("%s", err);
	if (node != NULL &&
	    conf_apply(&d.conf, "cluster", "node", node, "--node", err,
		sizeof(err)) != 0)
		fatalx("%s", err);
	if (conf_finish(&d.conf, err, sizeof(err)) != 0)
		fatalx("%s", err);
	free(sets);
	if (check) {
		if (d.verbose)
			conf_print(&d.conf, stdout);
		printf("configuration OK\n");
		return 0;
	}
	return shmnetd_run(&d);
}
