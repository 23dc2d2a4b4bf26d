/*
 * netif.c: the TAP device of one network and the port that writes to it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "shmnetd.h"

/* netif_output: write one frame (and its vnet header) to the TAP. */
static int
netif_output(void *ctx, const uint8_t *vnet, const uint8_t *frame,
    uint32_t len)
{
	struct dnet *dn = ctx;
	struct iovec iov[2] = {
		{ .iov_base = (void *)vnet, .iov_len = SHM_VNET_HDR_LEN },
		{ .iov_base = (void *)frame, .iov_len = len },
	};
	ssize_t n;

	do
		n = writev(dn->tap.fd, iov, 2);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	return 0;
}

static const struct port_ops netif_port_ops = {
	.kind = "tap",
	.output = netif_output,
};

/* netif_tapio: the calling data thread's batched TAP I/O, when io-batch
 * asks for it and the kernel allows it (said once per network when not:
 * Docker's default seccomp profile, for one, refuses io_uring). */
void
netif_tapio(struct dnet *dn, struct tapio *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (dn->nc->io_batch < 2)
		return;
	if ((rc = tapio_open(t, dn->tap.fd, dn->nc->io_batch)) == 0)
		return;
	if (atomic_exchange(&dn->tapio_warned, 1) == 0)
		log_info("%s: no io_uring (%s): one system call per frame on "
		    "%s", dn->name, strerror(-rc), dn->tap.name);
}

/* netif_steer: the sending CPU of each frame for follow.c, from the
 * TAP's steering hook; without it follow.c guesses from wake-ups. */
static void
netif_steer(struct dnet *dn)
{
	int rc;

	if ((rc = tap_steer_open(&dn->tap)) == 0)
		log_debug("%s: sending CPU of each frame from the steering "
		    "eBPF program of %s", dn->name, dn->tap.name);
	else
		log_debug("%s: no steering eBPF on %s (%s): sending CPU "
		    "guessed from wake-ups", dn->name, dn->tap.name,
		    strerror(-rc));
}

/* netif_open: create the TAP (checks /dev/net/tun and CAP_NET_ADMIN). */
int
netif_open(struct dnet *dn, char *err, size_t errlen)
{
	char off[128];
	int rc;

	if ((rc = tap_open(&dn->tap, dn->nc->ifname, dn->nc->offload,
	    dn->nc->cpu_follow, err, errlen)) != 0)
		return rc;
	dn->out.ops = &netif_port_ops;
	dn->out.ctx = dn;
	tap_offload_str(dn->tap.offloads, off, sizeof(off));
	log_debug("%s: TAP %s ifindex %d offloads %s", dn->name,
	    dn->tap.name, dn->tap.ifindex, off);
	if (dn->nc->cpu_follow)
		netif_steer(dn);
	return 0;
}

/* netif_addr6: the local network's configured IPv6 address, if any.  One
 * derived from the node id is unique by construction and skips DAD; one
 * given in full is checked like any other. */
static int
netif_addr6(struct dnet *dn, char *err, size_t errlen)
{
	const struct conf *c = &dn->d->conf;
	char a[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	int rc, derived;

	if (conf_local_addr6(c, dn->d->self, addr) != 0)
		return 0;
	derived = memcmp(addr, c->local.addr6, 16) != 0;
	inet_ntop(AF_INET6, addr, a, sizeof(a));
	if ((rc = nl_addr6_add(dn->tap.ifindex, addr,
	    (uint8_t)c->local.prefix6, derived)) != 0) {
		snprintf(err, errlen, "%s: add address %s/%u: %s",
		    dn->tap.name, a, c->local.prefix6, strerror(-rc));
		return rc;
	}
	log_info("%s: %s has %s/%u", dn->name, dn->tap.name, a,
	    c->local.prefix6);
	return 0;
}

/* netif_qdisc: one pfifo_fast for a multi-queue TAP, as a single-queue
 * TAP has, set before the link goes up.  Otherwise link up gives it the
 * kernel's mq qdisc with a pfifo_fast for each of the 256 queues tun
 * allocates (two of them in use), about 6 MiB of kernel memory and 15-20
 * ms per TAP.  The steering program sends every frame to queue 0, so a
 * qdisc per queue buys nothing.  A persistent TAP (ip tuntap add) is the
 * operator's, and so is its qdisc. */
static void
netif_qdisc(struct dnet *dn)
{
	int rc;

	if (!dn->tap.multi_queue)
		return;
	if (dn->tap.persistent) {
		log_info("%s: %s is a persistent TAP: its qdisc is left as "
		    "configured", dn->name, dn->tap.name);
		return;
	}
	if ((rc = nl_qdisc_root(dn->tap.ifindex, "pfifo_fast")) != 0)
		log_warnx("%s: cannot set a pfifo_fast root qdisc on %s (%s); "
		    "the kernel's mq qdisc takes about 6 MiB", dn->name,
		    dn->tap.name, strerror(-rc));
}

/* netif_txqlen: the frames tun holds for the transmit thread before it
 * drops (it never stops the queue, so a sender gets no backpressure);
 * a short queue drops a flood of small frames whenever the transmit
 * thread waits for a CPU.  A persistent TAP's is the operator's, as
 * its qdisc is. */
static void
netif_txqlen(struct dnet *dn)
{
	int rc;

	if (dn->tap.persistent) {
		log_info("%s: %s is a persistent TAP: its txqueuelen is left "
		    "as configured", dn->name, dn->tap.name);
		return;
	}
	if ((rc = nl_link_txqlen(dn->tap.ifindex, dn->nc->txqueuelen)) != 0)
		log_warnx("%s: cannot set txqueuelen %u on %s (%s); it keeps "
		    "the kernel's", dn->name, dn->nc->txqueuelen, dn->tap.name,
		    strerror(-rc));
}

/* netif_configure: MAC, MTU, address and link up, over netlink. */
int
netif_configure(struct dnet *dn, char *err, size_t errlen)
{
	struct daemon *d = dn->d;
	struct shm_node *n = d->node;
	char a[INET_ADDRSTRLEN];
	uint32_t addr;
	int rc;

	frame_node_mac(dn->net, d->self, n->mac[dn->net]);
	addr = dn->net == SHM_NET_LOCAL ? conf_local_addr(&d->conf, d->self) :
	    dn->nc->addr;
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if ((rc = nl_link_setup(dn->tap.ifindex, n->mac[dn->net],
	    dn->nc->mtu, 0, dn->net == SHM_NET_GLOBAL)) != 0) {
		snprintf(err, errlen, "%s: set MAC and MTU %u: %s",
		    dn->tap.name, dn->nc->mtu, strerror(-rc));
		return rc;
	}
	if ((rc = nl_addr4_add(dn->tap.ifindex, addr,
	    (uint8_t)dn->nc->prefix)) != 0) {
		snprintf(err, errlen, "%s: add address %s/%u: %s",
		    dn->tap.name, a, dn->nc->prefix, strerror(-rc));
		return rc;
	}
	if (dn->net == SHM_NET_LOCAL && (rc = netif_addr6(dn, err, errlen)) != 0)
		return rc;
	netif_txqlen(dn);
	netif_qdisc(dn);
	if ((rc = nl_link_setup(dn->tap.ifindex, NULL, 0, 1, 0)) != 0) {
		snprintf(err, errlen, "%s: set link up: %s", dn->tap.name,
		    strerror(-rc));
		return rc;
	}
	n->addr4[dn->net] = addr;
	n->prefix4[dn->net] = (uint8_t)dn->nc->prefix;
	log_info("%s: %s up, %s/%u, MAC %02x:%02x:%02x:%02x:%02x:%02x, "
	    "MTU %u", dn->name, dn->tap.name, a, dn->nc->prefix,
	    n->mac[dn->net][0], n->mac[dn->net][1], n->mac[dn->net][2],
	    n->mac[dn->net][3], n->mac[dn->net][4], n->mac[dn->net][5],
	    dn->nc->mtu);
	return 0;
}

/* netif_close: closing the TAP removes the interface. */
void
netif_close(struct dnet *dn)
{
	tap_close(&dn->tap);
}
