/*
 * tap.h: TAP devices with virtio-net headers and offloads.
 */
#ifndef SHMNET_TAP_H
#define SHMNET_TAP_H

#include <net/if.h>
#include <stddef.h>

struct tap {
	int		fd;
	int		ifindex;
	char		name[IFNAMSIZ];
	unsigned int	offloads;	/* TUN_F_* the kernel accepted */
};

/*
 * Create TAP `name` as IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (12-byte
 * header), non-blocking.  With `offload`, probe checksum, TSO and USO
 * offloads and keep the largest set the kernel accepts.  Returns 0 or
 * -errno with a one-line reason in err:
 *   -ENOENT  no /dev/net/tun
 *   -EPERM   no CAP_NET_ADMIN
 *   -EBUSY   an interface of that name exists
 */
int	 tap_open(struct tap *t, const char *name, int offload, char *err,
	    size_t errlen);
void	 tap_close(struct tap *t);
/* "csum,tso4,tso6,..." for logs. */
void	 tap_offload_str(unsigned int off, char *buf, size_t len);

#endif /* SHMNET_TAP_H */
