/*
 * netlink.h: interface configuration over rtnetlink (libmnl).
 */
#ifndef SHMNET_NETLINK_H
#define SHMNET_NETLINK_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/* Send one rtnetlink request (NLM_F_ACK set) on a fresh socket and wait
 * for the kernel's answer: 0 or -errno. */
int	 nl_talk(struct nlmsghdr *nlh);
/* Set MAC (if mac != NULL), MTU (if mtu != 0), IFF_NOARP (if noarp) and
 * bring the link up (if up).  Returns 0 or -errno (the kernel's answer). */
int	 nl_link_setup(int ifindex, const uint8_t *mac, uint32_t mtu, int up,
	    int noarp);
/* Set the transmit queue length (IFLA_TXQLEN); 0 or -errno. */
int	 nl_link_txqlen(int ifindex, uint32_t qlen);
/* Make a qdisc of kind (default options) the root qdisc, replacing the
 * kernel's default; 0 or -errno. */
int	 nl_qdisc_root(int ifindex, const char *kind);
/* Add an IPv4 address (network byte order) with prefix and the subnet's
 * broadcast address.  An existing identical address is not an error. */
int	 nl_addr4_add(int ifindex, uint32_t addr, uint8_t prefix);
/* Add an IPv6 address with prefix; nodad skips duplicate address
 * detection.  An existing identical address is not an error. */
int	 nl_addr6_add(int ifindex, const uint8_t *addr, uint8_t prefix,
	    int nodad);

#endif /* SHMNET_NETLINK_H */
