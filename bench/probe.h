/*
 * probe.h: what the standalone TAP probes (bench/tapio_probe.c and
 * bench/tapread_probe.c) share: the clock, this process's CPU time, and
 * opening a TAP with a 12-byte virtio_net_hdr.
 */
#ifndef SHMNET_PROBE_H
#define SHMNET_PROBE_H

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* now: monotonic seconds */
static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* cpu: seconds of CPU (user + system) this process has used */
static double
cpu(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
	    (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* probe_tap: TAP name (IFF_VNET_HDR, 12-byte header); exits on failure */
static int
probe_tap(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR), hl = 12;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hl) < 0) {
		perror(name);
		exit(1);
	}
	return fd;
}

#endif /* SHMNET_PROBE_H */
