/*
 * tap.c: create TAP devices for the data path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <bsd/string.h>

#include "tap.h"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#define TAP_VNET_HDR_LEN 12

/* Offload sets to try, richest first. */
static const unsigned int tap_offload_sets[] = {
	TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 |
	    TUN_F_USO6,
	TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
	TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	TUN_F_CSUM,
	0,
};

/* tap_err: format and return. */
static int
tap_err(char *err, size_t errlen, int rc, const char *what, const char *name)
{
	switch (-rc) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		snprintf(err, errlen,
		    "no /dev/net/tun: load the tun module "
		    "or pass --device /dev/net/tun to the container");
		break;
	case EPERM:
	case EACCES:
		snprintf(err, errlen,
		    "creating TAP %s needs CAP_NET_ADMIN "
		    "(run as root or with --cap-add NET_ADMIN)",
		    name);
		break;
	case EBUSY:
		snprintf(err, errlen,
		    "interface %s already exists and is not "
		    "a free TAP device",
		    name);
		break;
	default:
		snprintf(err, errlen, "%s %s: %s", what, name, strerror(-rc));
	}
	return rc;
}

/* tap_probe_offloads: keep the richest offload set the kernel accepts. */
static unsigned int
tap_probe_offloads(int fd)
{
	size_t i;

	for (i = 0; i < sizeof(tap_offload_sets) / sizeof(*tap_offload_sets);
	     i++)
		if (ioctl(fd, TUNSETOFFLOAD, tap_offload_sets[i]) == 0)
			return tap_offload_sets[i];
	return 0;
}

/* tap_setiff: TUNSETIFF with the ifr's flags and more (a copy, so
 * that a refusal leaves ifr as it was for another try). */
static int
tap_setiff(int fd, struct ifreq *ifr, short more)
{
	struct ifreq r = *ifr;

	r.ifr_flags |= more;
	if (ioctl(fd, TUNSETIFF, &r) == -1)
		return -1;
	*ifr = r;
	return 0;
}

/* tap_open: create and set up a TAP device. */
int
tap_open(struct tap *t, const char *name, int offload, int multi_queue,
    char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = TAP_VNET_HDR_LEN, rc;

	memset(t, 0, sizeof(*t));
	t->queue2 = -1;
	if ((t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return tap_err(err, errlen, -errno, "open", "/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	rc = -1; /* no multi-queue yet */
	if (multi_queue &&
	    (rc = tap_setiff(t->fd, &ifr, IFF_MULTI_QUEUE)) == -1 &&
	    errno != EINVAL) {
		rc = -errno;
		goto fail;
	}
	t->multi_queue = rc == 0;
	if (rc == -1 && tap_setiff(t->fd, &ifr, 0) == -1) {
		rc = -errno;
		goto fail;
	}
	strlcpy(t->name, ifr.ifr_name, sizeof(t->name));
	if (ioctl(t->fd, TUNGETIFF, &ifr) == 0)
		t->persistent = (ifr.ifr_flags & IFF_PERSIST) != 0;
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) == -1) {
		rc = -errno;
		goto fail;
	}
	t->offloads = offload ? tap_probe_offloads(t->fd) : 0;
	if (!offload && ioctl(t->fd, TUNSETOFFLOAD, 0) == -1) {
		rc = -errno;
		goto fail;
	}
	if (fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK) == -1) {
		rc = -errno;
		goto fail;
	}
	if ((t->ifindex = (int)if_nametoindex(t->name)) == 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	close(t->fd);
	t->fd = -1;
	return tap_err(err, errlen, rc, "TUNSETIFF", name);
}

/* tap_close: closing the last fd removes a non-persistent TAP. */
void
tap_close(struct tap *t)
{
	tap_steer_close(t);
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

/* tap_offload_str: names of offload bits. */
void
tap_offload_str(unsigned int off, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} n[] = {
		{ TUN_F_CSUM, "csum" },
		{ TUN_F_TSO4, "tso4" },
		{ TUN_F_TSO6, "tso6" },
		{ TUN_F_TSO_ECN, "tso-ecn" },
		{ TUN_F_USO4, "uso4" },
		{ TUN_F_USO6, "uso6" },
	};
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(n) / sizeof(*n); i++) {
		if (!(off & n[i].bit))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ",", len);
		strlcat(buf, n[i].name, len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "none", len);
}
