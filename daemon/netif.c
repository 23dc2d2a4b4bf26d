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
#include "netif.h"
#include "tapio.h"

/* netif_output: write one frame (and its vnet header) to the TAP. */
static int
netif_output(void *ctx, const uint8_t *vnet, const uint8_t *frame, uint32_t len)
{
	struct netif *ni = ctx;
	struct iovec iov[2] = {
		{ .iov_base = (void *)vnet, .iov_len = SHM_VNET_HDR_LEN },
		{ .iov_base = (void *)frame, .iov_len = len },
	};
	ssize_t n;

	do
		n = writev(ni->tap.fd, iov, 2);
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
 * asks for it and the kernel allows it; which one is said once per
 * network, by the first data thread (the engines' default seccomp
 * profiles, for one, refuse io_uring). */
void
netif_tapio(const struct netif *ni, struct tapio *t, _Atomic int *said)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (ni->nc->io_batch < 2)
		return;
	rc = tapio_open(t, ni->tap.fd, ni->nc->io_batch, ni->name);
	if (atomic_exchange(said, 1) != 0)
		return;
	if (rc == 0)
		log_info("%s: io_uring: up to %u frames per system call on %s",
		    ni->name, ni->nc->io_batch, ni->tap.name);
	else
		log_info("%s: no io_uring (%s): one system call per frame on "
			 "%s",
		    ni->name, strerror(-rc), ni->tap.name);
}

/* netif_steer: the sending CPU of each frame for follow.c, from the
 * TAP's steering hook; without it follow.c guesses from wake-ups. */
static void
netif_steer(struct netif *ni)
{
	int rc;

	if ((rc = tap_steer_open(&ni->tap)) == 0)
		log_debug("%s: sending CPU of each frame from the steering "
			  "eBPF program of %s",
		    ni->name, ni->tap.name);
	else
		log_debug("%s: no steering eBPF on %s (%s): sending CPU "
			  "guessed from wake-ups",
		    ni->name, ni->tap.name, strerror(-rc));
}

/* netif_open: create the TAP (checks /dev/net/tun and CAP_NET_ADMIN). */
int
netif_open(struct netif *ni, uint32_t net, const struct netconf *nc, char *err,
    size_t errlen)
{
	char off[128];
	int rc;

	ni->net = net;
	ni->name = net == SHM_NET_LOCAL ? "local" : "global";
	ni->nc = nc;

	if ((rc = tap_open(&ni->tap, ni->nc->ifname, ni->nc->offload,
		 ni->nc->cpu_follow, err, errlen)) != 0)
		return rc;
	ni->out.ops = &netif_port_ops;
	ni->out.ctx = ni;
	tap_offload_str(ni->tap.offloads, off, sizeof(off));
	log_debug("%s: TAP %s ifindex %d offloads %s", ni->name, ni->tap.name,
	    ni->tap.ifindex, off);
	if (ni->nc->cpu_follow)
		netif_steer(ni);
	return 0;
}

/* netif_attach: the node's counters and doorbell for this network. */
void
netif_attach(struct netif *ni, struct shm_node *node)
{
	ni->stats = &node->stats[ni->net];
	ni->bell = &node->bell[ni->net];
}

/* netif_addr6: the local network's configured IPv6 address, if any.  One
 * derived from the node id is unique by construction and skips DAD; one
 * given in full is checked like any other. */
static int
netif_addr6(struct netif *ni, const struct conf *c, uint32_t self, char *err,
    size_t errlen)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	int rc, derived;

	if (conf_local_addr6(c, self, addr) != 0)
		return 0;
	derived = memcmp(addr, c->local.addr6, 16) != 0;
	inet_ntop(AF_INET6, addr, a, sizeof(a));
	if ((rc = nl_addr6_add(ni->tap.ifindex, addr, (uint8_t)c->local.prefix6,
		 derived)) != 0) {
		snprintf(err, errlen, "%s: add address %s/%u: %s", ni->tap.name,
		    a, c->local.prefix6, strerror(-rc));
		return rc;
	}
	log_info("%s: %s has %s/%u", ni->name, ni->tap.name, a,
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
netif_qdisc(struct netif *ni)
{
	int rc;

	if (!ni->tap.multi_queue)
		return;
	if (ni->tap.persistent) {
		log_info("%s: %s is a persistent TAP: its qdisc is left as "
			 "configured",
		    ni->name, ni->tap.name);
		return;
	}
	if ((rc = nl_qdisc_root(ni->tap.ifindex, "pfifo_fast")) != 0)
		log_warnx("%s: cannot set a pfifo_fast root qdisc on %s (%s); "
			  "the kernel's mq qdisc takes about 6 MiB",
		    ni->name, ni->tap.name, strerror(-rc));
}

/* netif_txqlen: the frames tun holds for the transmit thread before it
 * drops (it never stops the queue, so a sender gets no backpressure);
 * a short queue drops a flood of small frames whenever the transmit
 * thread waits for a CPU.  A persistent TAP's is the operator's, as
 * its qdisc is. */
static void
netif_txqlen(struct netif *ni)
{
	int rc;

	if (ni->tap.persistent) {
		log_info("%s: %s is a persistent TAP: its txqueuelen is left "
			 "as configured",
		    ni->name, ni->tap.name);
		return;
	}
	if ((rc = nl_link_txqlen(ni->tap.ifindex, ni->nc->txqueuelen)) != 0)
		log_warnx("%s: cannot set txqueuelen %u on %s (%s); it keeps "
			  "the kernel's",
		    ni->name, ni->nc->txqueuelen, ni->tap.name, strerror(-rc));
}

/* netif_configure: MAC, MTU, address and link up, over netlink. */
int
netif_configure(struct netif *ni, const struct conf *c, struct shm_node *n,
    uint32_t self, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN], m[18];
	uint8_t mac[6];
	uint32_t addr;
	int rc;

	/* built here, not read back from the segment a peer may write */
	frame_node_mac(ni->net, self, mac);
	addr = ni->net == SHM_NET_LOCAL ? conf_local_addr(c, self) :
					  ni->nc->addr;
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if ((rc = nl_link_setup(ni->tap.ifindex, mac, ni->nc->mtu, 0,
		 ni->net == SHM_NET_GLOBAL)) != 0) {
		snprintf(err, errlen, "%s: set MAC and MTU %u: %s",
		    ni->tap.name, ni->nc->mtu, strerror(-rc));
		return rc;
	}
	if ((rc = nl_addr4_add(ni->tap.ifindex, addr,
		 (uint8_t)ni->nc->prefix)) != 0) {
		snprintf(err, errlen, "%s: add address %s/%u: %s", ni->tap.name,
		    a, ni->nc->prefix, strerror(-rc));
		return rc;
	}
	if (ni->net == SHM_NET_LOCAL &&
	    (rc = netif_addr6(ni, c, self, err, errlen)) != 0)
		return rc;
	netif_txqlen(ni);
	netif_qdisc(ni);
	if ((rc = nl_link_setup(ni->tap.ifindex, NULL, 0, 1, 0)) != 0) {
		snprintf(err, errlen, "%s: set link up: %s", ni->tap.name,
		    strerror(-rc));
		return rc;
	}
	memcpy(n->mac[ni->net], mac, 6);
	n->addr4[ni->net] = addr;
	n->prefix4[ni->net] = (uint8_t)ni->nc->prefix;
	if (ni->net == SHM_NET_GLOBAL && c->g.gateway[0] != '\0')
		n->flags |= SHM_NODE_F_GATEWAY;
	if (ni->net == SHM_NET_GLOBAL && conf_egress(c))
		n->flags |= c->g.egress_source == CONF_EGRESS_GLOBAL ?
		    SHM_NODE_F_EGRESS :
		    SHM_NODE_F_EGRESS_NODE;
	frame_mac_str(mac, m, sizeof(m));
	log_info("%s: %s up, %s/%u, MAC %s, MTU %u", ni->name, ni->tap.name, a,
	    ni->nc->prefix, m, ni->nc->mtu);
	return 0;
}

/* netif_close: closing the TAP removes the interface. */
void
netif_close(struct netif *ni)
{
	tap_close(&ni->tap);
}
