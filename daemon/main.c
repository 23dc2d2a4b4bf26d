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
	struct conf_src *src = &d.src;
	char err[1200];
	int ch, check = 0;

	/* kept for the daemon's life: a reload reads the same sources */
	if ((src->sets = calloc((size_t)argc, sizeof(*src->sets))) == NULL)
		return 1;
	log_init(1, "shmnetd");
	while ((ch = getopt_long(argc, argv, "c:n:f:s:dtvhV", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			src->cluster = optarg;
			break;
		case 'n':
			src->node = optarg;
			break;
		case 'f':
			src->file = optarg;
			break;
		case 's':
			src->sets[src->nsets++] = optarg;
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
	if (conf_read(&d.conf, src, err, sizeof(err)) != 0)
		fatalx("%s", err);
	log_setlevel(conf_log_level(&d.conf, d.verbose));
	if (check) {
		if (d.verbose)
			conf_print(&d.conf, stdout);
		printf("configuration OK\n");
		return 0;
	}
	return shmnetd_run(&d);
}
