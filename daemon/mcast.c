/*
 * mcast.c: multicast on one network of this node.
 *
 *   main thread  mc_refresh: reads the groups the TAP has joined
 *                (/proc/net/dev_mcast, IFF_PROMISC/IFF_ALLMULTI) when
 *                the kernel says they changed (mcwatch.c) and every tick,
 *                and hands them to the rx thread (mc_pub, mc_gen and
 *                mc_lock in struct handoff_net).
 *   tx thread    mc_tx_ring: the multicast ring a frame's group uses,
 *                taking one on first use; the nodes that follow it are
 *                woken by wake_followers (wake.c).
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
#include "mcast.h"
#include "shmnetd.h"

#define MC_PROC     "/proc/net/dev_mcast"
#define MC_IDLE_MS  30000 /* a ring idle this long may change group */
#define MC_TEXT_MAX 16384 /* of MC_PROC; more means "take all" */

/* Reader of one multicast ring (rx thread). */
struct mcring {
	struct cast_rx c;
	uint64_t label; /* as last seen */
	int follow;     /* label is a group we joined */
};

struct mc {
	struct shmseg *seg;
	struct shm_node *node; /* own: mcast_follow */
	const struct netif *ni;
	struct handoff_net *h; /* mc_pub, mc_gen, mc_lock */

	/* main thread */
	int warned;
	int proc;   /* MC_PROC, kept open */
	char *text; /* its last text, */
	size_t text_len;
	struct mcgroups parsed; /* parsed (no flags) */
	int sock;               /* for SIOCGIFFLAGS */

	/* rx thread (ring and n are fixed once made) */
	struct mcgroups rx; /* its copy of mc_pub */
	uint32_t rx_gen;
	struct mcring *ring; /* [n] multicast rings */
	uint32_t n;
};

/* mc_rx_attach: a reader for every multicast ring, none followed yet. */
static int
mc_rx_attach(struct mc *m)
{
	uint32_t i, size;
	void *mem;

	m->n = shmseg_mcast_count(m->seg, m->ni->net);
	if (m->n == 0)
		return 0;
	if ((m->ring = calloc(m->n, sizeof(*m->ring))) == NULL)
		return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		mem = shmseg_mcast(m->seg, m->ni->net, i, &size);
		if (cast_attach(&m->ring[i].c, mem, size) != 0)
			return -EBADMSG;
	}
	return 0;
}

/* mc_rx_skip: the readers start at the rings' write positions. */
void
mc_rx_skip(struct mc *m)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		cast_skip(&m->ring[i].c);
}

/* mc_new: a network's multicast state; the rx thread filters nothing
 * until the first mc_refresh. */
int
mc_new(const struct handoff *ho, struct handoff_net *h, const struct netif *ni,
    struct mc **out)
{
	struct mc *m;
	int rc;

	if ((*out = m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->seg = ho->seg;
	m->node = ho->node;
	m->ni = ni;
	m->h = h;
	m->proc = m->sock = -1;
	m->text_len = SIZE_MAX; /* nothing parsed yet */
	if ((rc = mc_rx_attach(m)) != 0) {
		mc_free(m);
		*out = NULL;
	}
	return rc;
}

/* mc_flags_all: does the TAP take every multicast frame? */
static int
mc_flags_all(struct mc *m)
{
	struct ifreq ifr;

	if (m->sock < 0 &&
	    (m->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, m->ni->tap.name, sizeof(ifr.ifr_name));
	if (ioctl(m->sock, SIOCGIFFLAGS, &ifr) != 0)
		return 0;
	return (ifr.ifr_flags & (IFF_PROMISC | IFF_ALLMULTI)) != 0;
}

/* mc_parse_mac: 12 hex digits into a MAC. */
static int
mc_parse_mac(const char *hex, uint8_t mac[6])
{
	unsigned int v[6];

	if (strlen(hex) != 12 ||
	    sscanf(hex, "%2x%2x%2x%2x%2x%2x", &v[0], &v[1], &v[2], &v[3], &v[4],
		&v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* mc_slurp: the whole of MC_PROC, kept open and re-read from offset 0
 * (one syscall per tick, not three).  Returns its length or -errno. */
static ssize_t
mc_slurp(struct mc *m, char *buf, size_t len)
{
	ssize_t n, got = 0;

	if (m->proc < 0 && (m->proc = open(MC_PROC, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while ((size_t)got < len - 1 &&
	    (n = pread(m->proc, buf + got, len - 1 - (size_t)got, got)) > 0)
		got += n;
	if (got == 0 && n < 0)
		return -errno;
	buf[got] = '\0';
	return got;
}

/* mc_parse: the groups of the TAP in the text of MC_PROC. */
static void
mc_parse(struct mc *m, char *text, int truncated, struct mcgroups *g)
{
	char name[IFNAMSIZ + 1], hex[64], *line, *save = NULL;
	int idx, users, glob;
	uint8_t mac[6];

	memset(g, 0, sizeof(*g));
	g->all = truncated;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%d %16s %d %d %63s", &idx, name, &users,
			&glob, hex) != 5 ||
		    idx != m->ni->tap.ifindex || mc_parse_mac(hex, mac) != 0 ||
		    !(mac[0] & 1))
			continue;
		if (g->n == MC_GROUPS_MAX) {
			g->all = 1; /* too many to filter */
			break;
		}
		g->label[g->n++] = mcast_label(mac);
	}
}

/* mc_read: the groups the TAP joined into g; -errno if unreadable.  The
 * text rarely changes: when it is the one parsed last time, so are the
 * groups (the flags are asked for every time). */
static int
mc_read(struct mc *m, struct mcgroups *g)
{
	char buf[MC_TEXT_MAX];
	ssize_t n;

	if (m->text == NULL && (m->text = malloc(MC_TEXT_MAX)) == NULL)
		return -ENOMEM;
	if ((n = mc_slurp(m, buf, sizeof(buf))) < 0)
		return (int)n;
	if ((size_t)n != m->text_len || memcmp(buf, m->text, (size_t)n) != 0) {
		memcpy(m->text, buf, (size_t)n);
		m->text_len = (size_t)n;
		mc_parse(m, buf, (size_t)n >= sizeof(buf) - 1,
		    &m->parsed); /* strtok_r: buf is spent */
	}
	*g = m->parsed;
	if (mc_flags_all(m))
		g->all = 1;
	return 0;
}

/* mc_refresh: re-read the TAP's groups; hand them to the rx thread when
 * they changed and wake it so it follows the right rings at once.  Only
 * this thread writes mc_pub, so it reads it without the lock. */
void
mc_refresh(struct mc *m)
{
	struct handoff_net *h = m->h;
	struct mcgroups g;
	int rc;

	/* without multicast rings every group shares the broadcast ring and
	 * the kernel drops groups the TAP has not joined: filtering here
	 * would only save it that work, not worth a /proc read per tick */
	if (m->n == 0)
		return;
	if ((rc = mc_read(m, &g)) != 0) {
		if (!m->warned++)
			log_warnx("%s: cannot read %s (%s); multicast is not "
				  "filtered",
			    m->ni->name, MC_PROC, strerror(-rc));
		g.n = 0;
		g.all = 1;
	}
	if (g.all == h->mc_pub.all && g.n == h->mc_pub.n &&
	    memcmp(g.label, h->mc_pub.label, g.n * sizeof(g.label[0])) == 0)
		return;
	pthread_mutex_lock(&h->mc_lock);
	h->mc_pub = g;
	atomic_fetch_add_explicit(&h->mc_gen, 1, memory_order_release);
	pthread_mutex_unlock(&h->mc_lock);
	bell_force(m->ni->bell);
}

/* mc_free: the main thread's descriptors and the rx thread's readers
 * (both threads have stopped using them). */
void
mc_free(struct mc *m)
{
	if (m == NULL)
		return;
	if (m->proc >= 0)
		close(m->proc);
	if (m->sock >= 0)
		close(m->sock);
	free(m->text);
	free(m->ring);
	free(m);
}

/* ---- tx thread ---- */

/* mc_tx_ring: the multicast ring for frame's group (mcast.h). */
int
mc_tx_ring(struct shmseg *seg, uint32_t net, const uint8_t *frame,
    int *wake_all)
{
	*wake_all = 0;
	if (shmseg_mcast_count(seg, net) == 0 || !mcast_ring_worthy(frame))
		return -1;
	return mcast_take(seg, net, mcast_label(frame), MC_IDLE_MS, wake_all);
}

/* ---- rx thread ---- */

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
mc_wanted(const struct mc *m, const uint8_t *dst)
{
	if (!(dst[0] & 1) ||
	    (dst[0] & dst[1] & dst[2] & dst[3] & dst[4] & dst[5]) == 0xff)
		return 1;
	return mc_joined(&m->rx, mcast_label(dst));
}

/* mc_rx_groups: take the main thread's latest groups; 1 if they moved. */
static int
mc_rx_groups(struct mc *m)
{
	struct handoff_net *h = m->h;
	uint32_t g = atomic_load_explicit(&h->mc_gen, memory_order_acquire);

	if (g == m->rx_gen)
		return 0;
	pthread_mutex_lock(&h->mc_lock);
	m->rx = h->mc_pub;
	m->rx_gen = atomic_load_explicit(&h->mc_gen, memory_order_relaxed);
	pthread_mutex_unlock(&h->mc_lock);
	return 1;
}

/* mc_rx_update: follow the rings whose group the TAP joined.  A ring
 * followed because we just joined its group starts at its write
 * position; one that just took a group we had joined is read from where
 * we were, so its first frames are not lost. */
void
mc_rx_update(struct mc *m)
{
	uint64_t lab, mask = 0;
	struct mcring *r;
	uint32_t i;
	int moved, follow, changed = 0;

	moved = mc_rx_groups(m);
	for (i = 0; i < m->n; i++) {
		r = &m->ring[i];
		lab = atomic_load_explicit(&r->c.v.hdr->label,
		    memory_order_acquire);
		if (lab != r->label || moved) {
			follow = lab != 0 && mc_joined(&m->rx, lab);
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
		atomic_store_explicit(&m->node->mcast_follow[m->ni->net], mask,
		    memory_order_relaxed);
}

/* mc_rx_rings: how many multicast rings the network has (fixed). */
uint32_t
mc_rx_rings(const struct mc *m)
{
	return m->n;
}

/* mc_rx_followed: multicast ring i's reader while it is followed. */
struct cast_rx *
mc_rx_followed(struct mc *m, uint32_t i)
{
	return i < m->n && m->ring[i].follow ? &m->ring[i].c : NULL;
}
