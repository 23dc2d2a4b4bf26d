/*
 * sockdiag.h: the sockets that can serve the cluster address (sock_diag).
 */
#ifndef SHMNETD_SOCKDIAG_H
#define SHMNETD_SOCKDIAG_H

#include <stdint.h>

#include "shmnet.h"

struct mnl_socket;

/* The kept sock_diag socket of the listener scan. */
struct sd_sock {
	struct mnl_socket	*nl;		/* NULL: open on next scan */
	unsigned int		 seq;
};

/* Fill out (at most max) with the sockets of this namespace that can
 * serve one of the cluster addresses of g (those this node carries: a
 * socket bound to one is published with its index) or G6; *truncated
 * when there were more.  0 or -errno. */
int	 sd_scan(struct sd_sock *s, const struct pkt_g *g, int ifindex,
	    struct shm_listen *out, uint32_t max, uint32_t *count,
	    int *truncated);
/* Fill out (at most max) with the TCP connections of this namespace
 * whose local address is one of g's or G6 (the flows this node serves),
 * as flow keys; *truncated when there were more.  0 or -errno. */
int	 sd_established(struct sd_sock *s, const struct pkt_g *g,
	    struct conn_key *out, uint32_t max, uint32_t *count,
	    int *truncated);
void	 sd_close(struct sd_sock *s);

#endif /* SHMNETD_SOCKDIAG_H */
