/*
 * mcast.c: multicast on one network of this node.
 *
 *   main thread  mc_refresh: reads the groups the TAP has joined
 *                (/proc/net/dev_mcast, IFF_PROMISC/IFF_ALLMULTI) when
 *                the kernel says they changed (mcwatch.c) and every tick,
 *                and publishes them to the rx thread under mc_lock.
 *   tx thread    mc_tx_ring: the multicast ring a frame's group uses,
 *                taking one on first use; mc_tx_wake: the doorbells of the
 *                nodes that follow that ring.
 *   rx thread    mc_rx_*: follows the multicast rings whose label is a
 *                group the TAP joined, publishes them as a bit mask in the
 *                node table (writers wake only followers) and filters
 *                every multicast frame, whichever ring it came by, by its
 *                destination MAC.
 *
 * Groups with no ring of their own travel on the broadcast ring and are
 * filtered the same way.  A ring's label is only a hint (rings change
 * groups), so the per-frame filter is what decides.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "shmnetd.h"

#define MC_PROC		"/proc/net/dev_mcast"
#define MC_IDLE_MS	30000	/* a ring idle this long may change group */
#define MC_TEXT_MAX	16384	/* of MC_PROC; more means "take all" */

/* mc_init: state of a network before its threads start. */
int
mc_init(struct dnet *dn)
{
	int rc;

	if ((rc = pthread_mutex_init(&dn->mc_lock, NULL)) != 0)
		return -rc;
	dn->mc_pub.all = 1;		/* until the first read: no filter */
	dn->mc_proc = dn->mc_sock = -1;
	dn->mc_text = NULL;
	dn->mc_text_len = SIZE_MAX;	/* nothing parsed yet */
	atomic_store(&dn->mc_gen, 1);
	return 0;
}

/* mc_flags_all: does the TAP take every multicast frame? */
static int
mc_flags_all(struct dnet *dn)
{
	struct ifreq ifr;

	if (dn->mc_sock < 0 && (dn->mc_sock = socket(AF_INET,
	    SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, dn->tap.name, sizeof(ifr.ifr_name));
	if (ioctl(dn->mc_sock, SIOCGIFFLAGS, &ifr) != 0)
		return 0;
	return (ifr.ifr_flags & (IFF_PROMISC | IFF_ALLMULTI)) != 0;
}

/* mc_parse_mac: 12 hex digits into a MAC. */
static int
mc_parse_mac(const char *hex, uint8_t m[6])
{
	unsigned int v[6];

	if (strlen(hex) != 12 || sscanf(hex, "%2x%2x%2x%2x%2x%2x", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

/* mc_slurp: the whole of MC_PROC, kept open and re-read from offset 0
 * (one syscall per tick, not three).  Returns its length or -errno. */
static ssize_t
mc_slurp(struct dnet *dn, char *buf, size_t len)
{
	ssize_t n, got = 0;

	if (dn->mc_proc < 0 &&
	    (dn->mc_proc = open(MC_PROC, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while ((size_t)got < len - 1 &&
	    (n = pread(dn->mc_proc, buf + got, len - 1 - (size_t)got,
	    got)) > 0)
		got += n;
	if (got == 0 && n < 0)
		return -errno;
	buf[got] = '\0';
	return got;
}

/* mc_parse: the groups of the TAP in the text of MC_PROC. */
static void
mc_parse(struct dnet *dn, char *text, int truncated, struct mcgroups *g)
{
	char name[IFNAMSIZ + 1], hex[64], *line, *save = NULL;
	int idx, users, glob;
	uint8_t mac[6];

	memset(g, 0, sizeof(*g));
	g->all = truncated;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%d %16s %d %d %63s", &idx, name, &users,
		    &glob, hex) != 5 || idx != dn->tap.ifindex ||
		    mc_parse_mac(hex, mac) != 0 || !(mac[0] & 1))
			continue;
		if (g->n == MC_GROUPS_MAX) {
			g->all = 1;		/* too many to filter */
			break;
		}
		g->label[g->n++] = mcast_label(mac);
	}
}

/* mc_read: the groups the TAP joined into g; -errno if unreadable.  The
 * text rarely changes: when it is the one parsed last time, so are the
 * groups (the flags are asked for every time). */
static int
mc_read(struct dnet *dn, struct mcgroups *g)
{
	char buf[MC_TEXT_MAX];
	ssize_t n;

	if (dn->mc_text == NULL && (dn->mc_text = malloc(MC_TEXT_MAX)) == NULL)
		return -ENOMEM;
	if ((n = mc_slurp(dn, buf, sizeof(buf))) < 0)
		return (int)n;
	if ((size_t)n != dn->mc_text_len || memcmp(buf, dn->mc_text,
	    (size_t)n) != 0) {
		memcpy(dn->mc_text, buf, (size_t)n);
		dn->mc_text_len = (size_t)n;
		mc_parse(dn, buf, (size_t)n >= sizeof(buf) - 1,
		    &dn->mc_parsed);	/* strtok_r: buf is spent */
	}
	*g = dn->mc_parsed;
	if (mc_flags_all(dn))
		g->all = 1;
	return 0;
}

/* mc_refresh: re-read the TAP's groups; publish them when they changed
 * and wake the rx thread so it follows the right rings at once. */
void
mc_refresh(struct dnet *dn)
{
	struct mcgroups g;
	int rc;

	/* without multicast rings every group shares the broadcast ring and
	 * the kernel drops groups the TAP has not joined: filtering here
	 * would only save it that work, not worth a /proc read per tick */
	if (shmseg_mcast_count(dn->d->seg, dn->net) == 0)
		return;
	if ((rc = mc_read(dn, &g)) != 0) {
		if (!dn->mc_warned++)
			log_warnx("%s: cannot read %s (%s); multicast is not "
			    "filtered", dn->name, MC_PROC, strerror(-rc));
		g.n = 0;
		g.all = 1;
	}
	if (g.all == dn->mc_pub.all && g.n == dn->mc_pub.n &&
	    memcmp(g.label, dn->mc_pub.label, g.n * sizeof(g.label[0])) == 0)
		return;
	pthread_mutex_lock(&dn->mc_lock);
	dn->mc_pub = g;
	atomic_fetch_add_explicit(&dn->mc_gen, 1, memory_order_release);
	pthread_mutex_unlock(&dn->mc_lock);
	bell_force(dn->bell);
}

/* mc_close: the main thread's descriptors. */
void
mc_close(struct dnet *dn)
{
	if (dn->mc_proc >= 0)
		close(dn->mc_proc);
	if (dn->mc_sock >= 0)
		close(dn->mc_sock);
	dn->mc_proc = dn->mc_sock = -1;
	free(dn->mc_text);
	dn->mc_text = NULL;
	dn->mc_text_len = SIZE_MAX;	/* nothing parsed yet */
}

/* ---- tx thread ---- */

/* mc_tx_ring: the multicast ring for frame's group, -1 for the broadcast
 * ring.  *wake_all is set when the ring just changed group (its new
 * followers do not know yet). */
int
mc_tx_ring(struct dnet *dn, const uint8_t *frame, int *wake_all)
{
	*wake_all = 0;
	if (shmseg_mcast_count(dn->d->seg, dn->net) == 0 ||
	    !mcast_ring_worthy(frame))
		return -1;
	return mcast_take(dn->d->seg, dn->net, mcast_label(frame), MC_IDLE_MS,
	    wake_all);
}

/* mc_tx_wake: ring the doorbells of the nodes following ring i. */
void
mc_tx_wake(struct dnet *dn, uint32_t i)
{
	struct daemon *d = dn->d;
	struct shm_node *n;
	uint64_t bit = 1ull << i;
	uint32_t id;

	for (id = 1; id <= d->max_nodes; id++) {
		if (id == d->self || (n = shmseg_node(d->seg, id)) == NULL ||
		    !(atomic_load_explicit(&n->mcast_follow[dn->net],
		    memory_order_relaxed) & bit) ||
		    atomic_load_explicit(&n->state, memory_order_relaxed) !=
		    SHM_NODE_UP)
			continue;
		bell_ring(&n->bell[dn->net]);
	}
}

/* ---- rx thread ---- */

/* mc_rx_init: a reader for every multicast ring, none followed yet. */
int
mc_rx_init(struct dnet *dn)
{
	struct shmseg *seg = dn->d->seg;
	uint32_t i, size;
	void *mem;
	int rc;

	dn->mc_n = shmseg_mcast_count(seg, dn->net);
	dn->mc_rx_gen = 0;
	if (dn->mc_n == 0)
		return 0;
	if ((dn->mc = calloc(dn->mc_n, sizeof(*dn->mc))) == NULL)
		return -ENOMEM;
	for (i = 0; i < dn->mc_n; i++) {
		mem = shmseg_mcast(seg, dn->net, i, &size);
		if ((rc = cast_attach(&dn->mc[i].c, mem, size)) != 0)
			return rc;
	}
	return 0;
}

/* mc_rx_free: undo mc_rx_init. */
void
mc_rx_free(struct dnet *dn)
{
	free(dn->mc);
	dn->mc = NULL;
	dn->mc_n = 0;
}

/* mc_joined: has the TAP joined the group of label? */
static int
mc_joined(const struct mcgroups *g, uint64_t label)
{
	uint32_t i;

	if (g->all)
		return 1;
	for (i = 0; i < g->n; i++)
		if (g->label[i] == label)
			return 1;
	return 0;
}

/* mc_wanted: should a frame with this destination reach the TAP? */
int
mc_wanted(struct dnet *dn, const uint8_t *dst)
{
	if (!(dst[0] & 1) || (dst[0] & dst[1] & dst[2] & dst[3] & dst[4] &
	    dst[5]) == 0xff)
		return 1;
	return mc_joined(&dn->mc_rx, mcast_label(dst));
}

/* mc_rx_groups: take the main thread's latest groups; 1 if they moved. */
static int
mc_rx_groups(struct dnet *dn)
{
	uint32_t g = atomic_load_explicit(&dn->mc_gen, memory_order_acquire);

	if (g == dn->mc_rx_gen)
		return 0;
	pthread_mutex_lock(&dn->mc_lock);
	dn->mc_rx = dn->mc_pub;
	dn->mc_rx_gen = atomic_load_explicit(&dn->mc_gen,
	    memory_order_relaxed);
	pthread_mutex_unlock(&dn->mc_lock);
	return 1;
}

/* mc_rx_update: follow the rings whose group the TAP joined.  A ring
 * followed because we just joined its group starts at its write
 * position; one that just took a group we had joined is read from where
 * we were, so its first frames are not lost. */
void
mc_rx_update(struct dnet *dn)
{
	uint64_t lab, mask = 0;
	struct mcring *r;
	uint32_t i;
	int moved, follow, changed = 0;

	moved = mc_rx_groups(dn);
	for (i = 0; i < dn->mc_n; i++) {
		r = &dn->mc[i];
		lab = atomic_load_explicit(&r->c.v.hdr->label,
		    memory_order_acquire);
		if (lab != r->label || moved) {
			follow = lab != 0 && mc_joined(&dn->mc_rx, lab);
			if (follow && !r->follow && lab == r->label)
				cast_skip(&r->c);
			changed |= follow != r->follow;
			r->label = lab;
			r->follow = follow;
		}
		if (r->follow)
			mask |= 1ull << i;
	}
	if (changed || moved)
		atomic_store_explicit(&dn->d->node->mcast_follow[dn->net], mask,
		    memory_order_relaxed);
}
