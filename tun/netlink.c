/*
 * netlink.c: rtnetlink requests with libmnl, one socket per request.
 * No shelling out to ip(8).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "netlink.h"

/* nl_talk: send one request and wait for its ACK. */
int
nl_talk(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid, seq;
	int rc = 0;
	ssize_t n;

	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = nlh->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
		if (rc <= MNL_CB_STOP)
			break;
	}
	rc = rc < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return rc;
}

/* nl_link_msg: an RTM_NEWLINK request (NLM_F_ACK) for ifindex in nlh, to
 * which the caller adds flags and attributes. */
static struct ifinfomsg *
nl_link_msg(struct nlmsghdr *nlh, int ifindex)
{
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

/* nl_link_setup: MAC, MTU and IFF_UP in one RTM_NEWLINK. */
int
nl_link_setup(int ifindex, const uint8_t *mac, uint32_t mtu, int up, int noarp)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi = nl_link_msg(nlh, ifindex);

	if (up) {
		ifi->ifi_flags |= IFF_UP;
		ifi->ifi_change |= IFF_UP;
	}
	if (noarp) {
		ifi->ifi_flags |= IFF_NOARP;
		ifi->ifi_change |= IFF_NOARP;
	}
	if (mac != NULL)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (mtu != 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nlh);
}

/* nl_link_txqlen: the device's transmit queue length (for a TAP, the
 * frames its ring holds for the reader). */
int
nl_link_txqlen(int ifindex, uint32_t qlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nl_link_msg(nlh, ifindex);
	mnl_attr_put_u32(nlh, IFLA_TXQLEN, qlen);
	return nl_talk(nlh);
}

/* nl_qdisc_root: a root qdisc of kind (no options), replacing any. */
int
nl_qdisc_root(int ifindex, const char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tc;

	nlh->nlmsg_type = RTM_NEWQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
	    NLM_F_REPLACE;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nl_talk(nlh);
}

/* nl_addr_new: an RTM_NEWADDR request in buf with local and address set
 * (alen bytes each); the caller may add attributes. */
static struct nlmsghdr *
nl_addr_new(char *buf, int family, int ifindex, const void *addr, size_t alen,
    uint8_t prefix, uint8_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
	    NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_flags = flags;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return nlh;
}

/* nl_addr4_add: RTM_NEWADDR with local, address and broadcast. */
int
nl_addr4_add(int ifindex, uint32_t addr, uint8_t prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t mask, brd;
	int rc;

	mask = prefix == 0 ? 0 : htonl(~0u << (32 - prefix));
	brd = prefix >= 31 ? 0 : (addr | ~mask);
	nlh = nl_addr_new(buf, AF_INET, ifindex, &addr, 4, prefix, 0);
	if (brd != 0)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, brd);
	rc = nl_talk(nlh);
	return rc == -EEXIST ? 0 : rc;
}

/* nl_addr6_add: RTM_NEWADDR for an IPv6 address, with or without DAD. */
int
nl_addr6_add(int ifindex, const uint8_t *addr, uint8_t prefix, int nodad)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int rc;

	rc = nl_talk(nl_addr_new(buf, AF_INET6, ifindex, addr, 16, prefix,
	    nodad ? IFA_F_NODAD : 0));
	return rc == -EEXIST ? 0 : rc;
}
