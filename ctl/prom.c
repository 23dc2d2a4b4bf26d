/*
 * prom.c: shmnetctl metrics: the cluster's metrics in Prometheus' text
 * format (libshmnet's metrics_write, which the daemon's /metrics serves
 * too) on standard output, or written atomically into the directory of
 * node_exporter's textfile collector.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* prom_file_name: "shmnet_<cluster>.prom"; a character of the name
 * (from the segment) that a file name should not hold shown as '_'. */
static void
prom_file_name(struct ctl *c, char *name, size_t len)
{
	char cluster[SHM_CLUSTER_MAX], *p;

	memcpy(cluster, shmseg_hdr(c->seg)->cluster, sizeof(cluster));
	cluster[sizeof(cluster) - 1] = '\0';
	for (p = cluster; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.'))
			*p = '_';
	snprintf(name, len, "shmnet_%s.prom", cluster);
}

/* prom_dir: dir is a directory this process may write in; else says
 * why and returns -1. */
static int
prom_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		fprintf(stderr, "shmnetctl: textfile directory %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		    "shmnetctl: textfile directory %s: not a "
		    "directory\n",
		    dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr,
		    "shmnetctl: textfile directory %s: cannot "
		    "write in it: %s\n",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* prom_sync_dir: make a rename in dir durable. */
static void
prom_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* prom_fill: the metrics into the temporary file fd (closed here),
 * readable by all (the collector runs as another user), on disk. */
static int
prom_fill(struct ctl *c, int fd, const char *tmp)
{
	FILE *fp;
	int rc;

	if (fchmod(fd, 0644) != 0 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "shmnetctl: %s: %s\n", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	rc = metrics_write(c->seg, fp);
	if (rc == 0 && fsync(fileno(fp)) != 0)
		rc = -errno;
	if (fclose(fp) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		fprintf(stderr, "shmnetctl: write %s: %s\n", tmp,
		    strerror(-rc));
	return rc == 0 ? 0 : -1;
}

/* prom_textfile: DIR/shmnet_<cluster>.prom, replaced atomically: a
 * temporary file in DIR (named so that the collector, which reads
 * *.prom, leaves it alone), written and synced, renamed over it. */
static int
prom_textfile(struct ctl *c, const char *dir)
{
	char name[SHM_CLUSTER_MAX + 16], path[PATH_MAX], tmp[PATH_MAX];
	int fd;

	if (prom_dir(dir) != 0)
		return -1;
	prom_file_name(c, name, sizeof(name));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >=
		sizeof(tmp)) {
		fprintf(stderr,
		    "shmnetctl: textfile directory %s: path too "
		    "long\n",
		    dir);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fprintf(stderr, "shmnetctl: create a file in %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	if (prom_fill(c, fd, tmp) != 0)
		goto fail;
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "shmnetctl: rename %s to %s: %s\n", tmp, path,
		    strerror(errno));
		goto fail;
	}
	prom_sync_dir(dir);
	return 0;
fail:
	unlink(tmp);
	return -1;
}

/* prom_metrics: the metrics command: [--textfile DIR]. */
int
prom_metrics(struct ctl *c)
{
	if (c->textfile != NULL)
		return prom_textfile(c, c->textfile);
	if (metrics_write(c->seg, c->out) != 0) {
		fprintf(stderr, "shmnetctl: write the metrics: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}
