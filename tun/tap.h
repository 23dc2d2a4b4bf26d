/*
 * tap.h: TAP devices with virtio-net headers and offloads.
 */
#ifndef SHMNET_TAP_H
#define SHMNET_TAP_H

#include <net/if.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_CPU_NONE	UINT32_MAX	/* send_cpu before the first send */

struct tap {
	int		fd;
	int		ifindex;
	char		name[IFNAMSIZ];
	unsigned int	offloads;	/* TUN_F_* the kernel accepted */
	int		multi_queue;	/* IFF_MULTI_QUEUE */
	int		persistent;	/* made by `ip tuntap`: the operator's */
	int		queue2;		/* steer.c: the unread queue, or -1 */
	_Atomic uint32_t *send_cpu;	/* steer.c: CPU of the last send */
};

/*
 * Create TAP `name` as IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (12-byte
 * header), non-blocking; with `multi_queue` also IFF_MULTI_QUEUE where the
 * kernel has it (one queue, t->fd, until tap_steer_open adds one).  With `offload`, probe checksum, TSO and USO
 * offloads and keep the largest set the kernel accepts.  Returns 0 or
 * -errno with a one-line reason in err:
 *   -ENOENT  no /dev/net/tun
 *   -EPERM   no CAP_NET_ADMIN
 *   -EBUSY   an interface of that name exists
 */
int	 tap_open(struct tap *t, const char *name, int offload,
	    int multi_queue, char *err, size_t errlen);
void	 tap_close(struct tap *t);

/*
 * steer.c: have the kernel store, for every frame sent into the TAP, the
 * sending CPU in *t->send_cpu (TAP_CPU_NONE until the first).  Needs a
 * multi-queue TAP and bpf(2); 0 or -errno, and then t is unchanged.
 */
int	 tap_steer_open(struct tap *t);
void	 tap_steer_close(struct tap *t);
/* "csum,tso4,tso6,..." for logs. */
void	 tap_offload_str(unsigned int off, char *buf, size_t len);

#endif /* SHMNET_TAP_H */
