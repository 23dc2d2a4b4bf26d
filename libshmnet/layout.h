/*
 * layout.h: the shared-memory format that every node of a cluster relies on.
 *
 * This file is a contract between processes that may run different builds:
 * fixed-width fields, offsets (never pointers), named padding and a
 * _Static_assert on every size and offset peers rely on.  Any change to a
 * structure below bumps SHM_VERSION_MAJOR, except giving meaning to a
 * reserved field that older builds leave zero and newer ones accept as
 * zero, which bumps SHM_VERSION_MINOR.
 *
 * Segment map (all offsets from the start of the segment):
 *
 *   0             struct shm_hdr           (SHM_HDR_SIZE)
 *   node_off      struct shm_node[max_nodes]
 *   dir_off       struct shm_dirent[max_nodes][SHM_NETS][max_nodes]
 *   cast_off[n]   struct shm_ring_hdr + descs + data, one broadcast ring per net
 *   mcast_off[n]  mcast_rings[n] multicast rings per net, broadcast geometry
 *   conn_off      struct shm_conn_bucket[conn_buckets]  (global connections)
 *   listen_off    struct shm_listen_table[max_nodes]    (published listeners)
 *   svc_off       struct shm_svc[SHM_SVC_SLOTS]          (services: rotation, rate)
 *   backend_off   struct shm_backend[max_nodes]          (weights, drain, flows)
 *   pagemap_off   uint32_t[heap_pages]     (heap page states, under heap lock)
 *   heap_off      heap_pages * SHM_PAGE_SIZE, pair rings are carved from here
 *
 * Writers: the creator writes the header once (magic last, with release
 * order) under the lock-file init lock; every other field says who writes it.
 * Everything read from the segment is untrusted: readers bounds-check it.
 */
#ifndef SHMNET_LAYOUT_H
#define SHMNET_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SHM_MAGIC		0x47534e544e4d4853ULL	/* "SHMNTNSG" little endian */
#define SHM_RING_MAGIC		0x474e49524d4853ULL	/* "SHMRING" */
#define SHM_VERSION_MAJOR	6
#define SHM_VERSION_MINOR	2
#define SHM_VERSION		((SHM_VERSION_MAJOR << 8) | SHM_VERSION_MINOR)

#define SHM_CACHELINE		64
#define SHM_HDR_SIZE		4096
#define SHM_PAGE_SIZE		4096
#define SHM_NETS		2	/* 0 = local, 1 = global */
#define SHM_NET_LOCAL		0
#define SHM_NET_GLOBAL		1
#define SHM_VNET_HDR_LEN	12	/* struct virtio_net_hdr_mrg_rxbuf */
#define SHM_CLUSTER_MAX		32	/* including the NUL */
#define SHM_NODES_MIN		2
#define SHM_NODES_MAX		256
#define SHM_GADDR_MAX		16	/* cluster addresses (IPv4) */

/* Largest Ethernet frame a ring carries: a 64 KiB GSO super-frame. */
#define SHM_FRAME_MAX		(65535 + 14 + 4)
#define SHM_FRAME_MIN		14	/* an Ethernet header */

/*
 * A lock in shared memory that survives the death of its holder.  owner is
 * 0 when free, else node id (low 16 bits) | thread tag (high 16 bits).  A
 * waiter that finds the holder's node dead (its OFD lock gone) takes the
 * lock over and counts a recovery.  Written only with atomic CAS.
 */
struct shm_lock {
	_Atomic uint32_t	owner;
	uint32_t		reserved0;
	_Atomic uint64_t	acquisitions;	/* holder, under the lock */
	_Atomic uint64_t	recoveries;	/* recovering waiter */
	uint8_t			reserved[SHM_CACHELINE - 24];
};
_Static_assert(sizeof(struct shm_lock) == SHM_CACHELINE, "shm_lock size");

/*
 * One slot descriptor.  A pair ring has one per slot; the frame that starts
 * at slot i is described by desc[i] and occupies slots i .. i+span-1, whose
 * data areas are contiguous.  A frame never wraps: a PAD descriptor covers
 * the tail of the ring instead.  Written by the producer before it
 * publishes the write index (release); read by the consumer after it loads
 * the write index (acquire).
 *
 * In a broadcast ring, seq is index+1 of the slot once the frame is
 * complete and 0 while it is written (a per-slot sequence number that lets
 * lapped readers notice), from is the writing node and fseq the ring's
 * frame number (so a reader counts exactly how many frames it lost).
 */
struct shm_desc {
	uint32_t	len;		/* frame bytes, vnet header excluded */
	uint16_t	span;		/* slots covered, >= 1 */
	uint16_t	flags;		/* SHM_DESC_* */
	_Atomic uint32_t seq;		/* broadcast rings only */
	uint16_t	from;		/* broadcast rings only */
	uint16_t	reserved0;
	uint8_t		vnet[SHM_VNET_HDR_LEN];	/* virtio_net_hdr of the frame */
	uint32_t	fseq;		/* broadcast rings only: frame number */
};
_Static_assert(sizeof(struct shm_desc) == 32, "shm_desc size");
_Static_assert(offsetof(struct shm_desc, vnet) == 16, "shm_desc vnet");

#define SHM_DESC_PAD		0x0001	/* skip span slots, no frame */
#define SHM_DESC_VNET		0x0002	/* vnet holds a valid header */
#define SHM_DESC_KNOWN		(SHM_DESC_PAD | SHM_DESC_VNET)

/* A multicast ring's label: the group MAC in the low 48 bits (byte 0 of
 * the MAC most significant) plus this bit. */
#define SHM_LABEL_VALID		(1ULL << 63)
#define SHM_MCAST_MAX		64	/* multicast rings per network */

/* Ring states (shm_ring_hdr.state). */
#define SHM_RING_UP		1
#define SHM_RING_DOWN		2	/* retired by its owner */
#define SHM_RING_CORRUPT	3	/* marked by a side that found bad data */

/*
 * Ring header, at the start of every ring (pair or broadcast).
 * Line 0 is written once by the allocator (the receiving node for a pair
 * ring, the segment creator for a broadcast ring) before the ring is
 * published, except state which either side may lower to DOWN/CORRUPT.
 * Line 1 belongs to the producer, line 2 to the consumer.
 */
struct shm_ring_hdr {
	/* line 0: geometry, allocator */
	uint64_t		magic;
	uint64_t		key;		/* random, equals the dirent's */
	uint32_t		slots;		/* power of two */
	uint32_t		slot_size;	/* power of two, bytes */
	uint32_t		desc_off;	/* from ring start */
	uint32_t		data_off;	/* from ring start */
	uint16_t		from;		/* producer node, 0 = any */
	uint16_t		to;		/* consumer node, 0 = all */
	uint32_t		gen;		/* producer generation served */
	_Atomic uint32_t	state;		/* SHM_RING_* */
	uint32_t		net;
	_Atomic uint64_t	label;		/* multicast rings: SHM_LABEL_VALID
						 * | group MAC, 0 = free; set with
						 * CAS by the writer taking it */
	uint8_t			reserved0[SHM_CACHELINE - 56];

	/* line 1: producer (for a broadcast ring, the writer holding lock) */
	_Atomic uint32_t	widx;		/* free-running slot index */
	_Atomic uint32_t	prod_waiting;	/* free slots the sleeping producer
						 * waits for, 0 = not waiting */
	_Atomic uint64_t	frames;
	_Atomic uint64_t	bytes;
	_Atomic uint64_t	drops;		/* full ring or oversize frame */
	_Atomic uint64_t	last_ms;	/* cast rings: monotonic ms of the
						 * last write */
	_Atomic uint32_t	grow_req;	/* pair rings: slots the producer
						 * asks for (a frame did not fit
						 * or the ring ran full), 0 none */
	_Atomic uint32_t	moved;		/* pair rings: the producer has
						 * moved to this ring's successor
						 * and will not write here again */
	uint8_t			reserved1[SHM_CACHELINE - 48];

	/* line 2: consumer (unused in a broadcast ring) */
	_Atomic uint32_t	ridx;		/* free-running slot index */
	_Atomic uint32_t	space_bell;	/* futex: bumped when space frees */
	_Atomic uint64_t	rx_frames;
	uint8_t			reserved2[SHM_CACHELINE - 16];

	/* line 3: broadcast ring writer lock */
	struct shm_lock		lock;
};
_Static_assert(sizeof(struct shm_ring_hdr) == 4 * SHM_CACHELINE, "ring hdr");
_Static_assert(offsetof(struct shm_ring_hdr, label) == 48, "label");
_Static_assert(offsetof(struct shm_ring_hdr, widx) == SHM_CACHELINE, "widx");
_Static_assert(offsetof(struct shm_ring_hdr, ridx) == 2 * SHM_CACHELINE, "ridx");

/*
 * Directory entry: where the ring from node `peer` into the directory's
 * owner lives.  Written only by the owner (the receiver) with a seqlock:
 * seq odd while fields change.  Transmitters re-validate (off, key, gen)
 * whenever the owner's dir_version changes.
 *
 * While a ring is being replaced by a larger or smaller one (ring growth
 * and shrink), old_* describe the ring it replaces: the transmitter still
 * finishes the frame it was writing there, sets `moved` in its header and
 * goes on in the new ring; the receiver drains the old ring first, then
 * the owner frees it and clears old_*.  Whoever frees the directory frees
 * both rings.
 */
struct shm_dirent {
	_Atomic uint32_t	seq;
	uint32_t		state;		/* SHM_RING_UP when usable;
						 * SHM_RING_DOWN: retired, its
						 * pages not freed yet (the
						 * heap lock was kept) */
	uint64_t		off;		/* ring offset in the segment */
	uint64_t		key;		/* equals ring hdr key */
	uint32_t		size;		/* bytes allocated */
	uint32_t		peer_gen;	/* transmitter generation served */
	uint64_t		old_off;	/* ring being replaced, 0 none */
	uint64_t		old_key;
	uint32_t		old_size;
	uint8_t			reserved[12];
};
_Static_assert(sizeof(struct shm_dirent) == 64, "dirent size");

/* Node states (shm_node.state). */
#define SHM_NODE_NEVER		0	/* slot never used */
#define SHM_NODE_UP		1
#define SHM_NODE_DOWN		2	/* left or reaped after death */

/*
 * Per node and network counters, written only by the node itself, each by
 * one thread with a plain load and store (readers: relaxed loads), except
 * where said: tx_*, drop_unknown, drop_down, drop_full, zero_copy,
 * no_listener, unrouted, looped, foreign and egress_* by the network's
 * transmit thread;
 * rx_*, cast_lost and mc_filtered by whichever thread holds the
 * network's receive lock (its receive thread, or its transmit thread
 * while it helps); drop_tap and corrupt by any thread, with an atomic
 * add; wakes_recovered by the main thread.
 */
struct shm_node_stats {
	_Atomic uint64_t	tx_frames;	/* taken from the TAP */
	_Atomic uint64_t	tx_bytes;
	_Atomic uint64_t	rx_frames;	/* written to the TAP */
	_Atomic uint64_t	rx_bytes;
	_Atomic uint64_t	drop_unknown;	/* no such node */
	_Atomic uint64_t	drop_down;	/* node or ring down */
	_Atomic uint64_t	drop_full;	/* ring stayed full */
	_Atomic uint64_t	drop_tap;	/* TAP refused the write */
	_Atomic uint64_t	cast_lost;	/* lapped on a broadcast ring */
	_Atomic uint64_t	corrupt;	/* bad ring data seen */
	_Atomic uint64_t	zero_copy;	/* frames read straight into a ring */
	_Atomic uint64_t	no_listener;	/* global: new flow, no listener */
	_Atomic uint64_t	unrouted;	/* global: not to or from G nor
						 * between a client address and
						 * the outside, or a fragment/
						 * error of no known flow */
	_Atomic uint64_t	looped;		/* global: served by this node */
	_Atomic uint64_t	mc_filtered;	/* multicast for a group this
						 * node has not joined */
	_Atomic uint64_t	wakes_recovered;	/* doorbell wake-ups a
						 * peer claimed and never
						 * made: made good by the
						 * main loop */
	_Atomic uint64_t	foreign;	/* global: a packet of a flow
						 * another node serves (from G)
						 * or carries in (to G) */
	/* minor 1: zero in older builds' segments, which do not send out */
	_Atomic uint64_t	egress_flows;	/* global: flows this node
						 * opened to the outside from G,
						 * recorded */
	_Atomic uint64_t	egress_no_gateway;	/* global: packets to
						 * the outside dropped: no
						 * gateway up */
	_Atomic uint64_t	egress_collided;	/* global: packets
						 * opening a flow to the outside
						 * dropped: another node has
						 * that flow */
	uint64_t		reserved[4];
};
_Static_assert(sizeof(struct shm_node_stats) == 3 * SHM_CACHELINE, "stats");

/* shm_node.flags */
#define SHM_NODE_F_GATEWAY	0x01	/* outside traffic for G enters here */
#define SHM_NODE_F_GADDRS	0x02	/* (minor 2) gaddrs says which
					 * cluster addresses the node carries;
					 * without it (an older build's node)
					 * it carries G, index 0 */
#define SHM_NODE_F_EGRESS	0x04	/* opens flows to the outside from G */
#define SHM_NODE_F_EGRESS_NODE	0x08	/* ... from its client address */
/* shm_node.gw: a gateway in route mode, and the routes it keeps for a
 * routing daemon to announce (the node's main thread: announce.c) */
#define SHM_GW_ROUTE		0x01	/* gateway-mode = route */
#define SHM_GW_G		0x02	/* G's route (index 0) is in place */
#define SHM_GW_G6		0x04	/* G6's */
#define SHM_GW_HAS6		0x08	/* G6 is configured: it may be */
#define SHM_GW_LOCAL		0x10	/* the local network's route too */
#define SHM_GW_CLIENT		0x20	/* the client networks' */

/* Doorbell of one node on one network. */
struct shm_bell {
	_Atomic uint32_t	bell;		/* futex word, bumped to wake */
	_Atomic uint32_t	sleeping;	/* receiver is (about to be) asleep */
	_Atomic uint64_t	wakeups;	/* futex wakes received */
	uint8_t			reserved[SHM_CACHELINE - 16];
};
_Static_assert(sizeof(struct shm_bell) == SHM_CACHELINE, "bell size");

/*
 * Node table entry.  Line 0 is written by the node itself while it holds
 * its OFD lock (state last, release), or by a reaper under the table lock
 * once that OFD lock is gone.  Peers read it with acquire on state.
 */
struct shm_node {
	/* line 0: identity */
	_Atomic uint32_t	state;		/* SHM_NODE_* */
	_Atomic uint32_t	gen;		/* bumped at every claim */
	uint32_t		pid;		/* informational, own PID ns */
	_Atomic uint32_t	dir_version;	/* bumped after dirent changes */
	uint8_t			mac[SHM_NETS][6];
	_Atomic uint32_t	keeper;		/* robust futex: TID of the
						 * node's watch thread, 0, or
						 * FUTEX_OWNER_DIED set */
	uint32_t		addr4[SHM_NETS];	/* network byte order */
	uint8_t			prefix4[SHM_NETS];
	uint8_t			flags;		/* SHM_NODE_F_* */
	_Atomic uint8_t		gw;		/* SHM_GW_* */
	_Atomic uint16_t	gaddrs;		/* (minor 2) bit i: the node
						 * carries cluster address i
						 * (SHM_NODE_F_GADDRS); written
						 * before the node goes UP */
	_Atomic uint16_t	gw_gaddrs;	/* (minor 2) bit i: a gateway in
						 * route mode keeps cluster
						 * address i's route in place
						 * (bit 0 is SHM_GW_G) */
	_Atomic uint64_t	heartbeat;	/* bumped every tick */
	uint64_t		started_ns;	/* CLOCK_REALTIME */

	/* lines 1-2: doorbells */
	struct shm_bell		bell[SHM_NETS];
	/* lines 3-8: counters */
	struct shm_node_stats	stats[SHM_NETS];
	/* line 9: mcast_follow written by the node's rx threads, tx_hazard
	 * by its tx threads */
	_Atomic uint64_t	mcast_follow[SHM_NETS];	/* bit i: reads
						 * multicast ring i, wake me */
	_Atomic uint64_t	tx_hazard[SHM_NETS];	/* the ring the tx
						 * thread may be writing: its
						 * first heap page << 32 | its
						 * pages; 0 none.  The heap
						 * reuses no page of it. */
	uint8_t			reserved3[SHM_CACHELINE - 32];
};
_Static_assert(offsetof(struct shm_node, keeper) == 28, "keeper");
_Static_assert(offsetof(struct shm_node, gaddrs) == 44, "gaddrs");
_Static_assert(offsetof(struct shm_node, gw_gaddrs) == 46, "gw_gaddrs");
_Static_assert(offsetof(struct shm_node, heartbeat) == 48, "heartbeat");
_Static_assert(offsetof(struct shm_node, bell) == SHM_CACHELINE, "bell off");
_Static_assert(sizeof(struct shm_node) == 10 * SHM_CACHELINE, "node size");

/* Heap page states (pagemap), under the heap lock. */
#define SHM_PAGE_FREE		0u
#define SHM_PAGE_USED		1u
/* any other value: freed, quarantined; value = (ms clock | 1) at free */

/* ---- global network ------------------------------------------------ */

/*
 * One connection of the global network: a flow to a cluster address G,
 * or from G to the outside (SHM_CONN_EGRESS), identified by (family, aidx,
 * proto, lport, faddr, fport) where aidx is G's index in the cluster's
 * address table (0 for G6) and lport the port on G's side.  Entries live
 * in fixed buckets, each flow in one of two that a hash keyed with
 * conn_key chooses; a writer holds the bucket's lock and wraps its stores
 * in seq (odd while writing), so readers need no lock.
 * A new flow that finds both buckets full takes the place of a closing
 * flow or an echo, and a TCP flow past its handshake that of an embryonic
 * one (a SYN not answered by a handshake, a flow never answered) older
 * than a second: a flood of new flows cannot push out established ones,
 * nor handshakes in progress.  Counters, last_seen and stflags are updated with
 * atomics by whichever node forwards a packet of the flow.
 */
#define SHM_CONN_EMPTY		0
#define SHM_CONN_SYN		1	/* TCP: SYN seen, not yet established */
#define SHM_CONN_EST		2	/* TCP: established */
#define SHM_CONN_CLOSING	3	/* TCP: FIN both ways or RST */
#define SHM_CONN_UDP		4	/* UDP (and ICMP echo) association */
#define SHM_CONN_FIN_IN		0x100	/* stflags: FIN from the client */
#define SHM_CONN_FIN_OUT	0x200	/* stflags: FIN from the server */
#define SHM_CONN_REPLIED	0x400	/* stflags: the server has answered */
#define SHM_CONN_RST_IN		0x800	/* stflags: closing on the client's
					 * RST, until the server answers */
#define SHM_CONN_ECHO		0x1000	/* stflags: an ICMP echo, answered
					 * by any node */
#define SHM_CONN_EGRESS		0x2000	/* stflags (minor 1): a flow a node
					 * opened to the outside: its client
					 * is the node (G's side), its
					 * server outside, and ingress the
					 * gateway it leaves by */

struct shm_conn {
	_Atomic uint32_t	seq;
	uint8_t			family;		/* 4 or 6; 0 = empty */
	uint8_t			proto;		/* IPPROTO_* */
	uint16_t		lport;		/* G side, host order */
	uint16_t		fport;		/* foreign side, host order */
	uint16_t		node;		/* serving node */
	uint16_t		ingress;	/* node the flow entered by */
	_Atomic uint16_t	stflags;	/* state | SHM_CONN_FIN_* */
	uint8_t			faddr[16];	/* IPv4 in the first 4 bytes */
	_Atomic uint32_t	last_seen;	/* monotonic seconds */
	uint32_t		created;	/* monotonic seconds */
	_Atomic uint64_t	packets;
	_Atomic uint64_t	bytes;
	uint32_t		created_ms;	/* monotonic ms (low 32 bits):
						 * eviction order */
	uint8_t			aidx;		/* (minor 2) G's index in the
						 * address table; older builds
						 * write 0, G's own */
	uint8_t			reserved[3];
};
_Static_assert(sizeof(struct shm_conn) == 64, "shm_conn size");
_Static_assert(offsetof(struct shm_conn, faddr) == 16, "conn faddr");
_Static_assert(offsetof(struct shm_conn, aidx) == 60, "conn aidx");

#define SHM_CONN_PER_BUCKET	7
#define SHM_CONN_KEY_LEN	16
struct shm_conn_bucket {
	struct shm_lock		lock;		/* writers */
	struct shm_conn		e[SHM_CONN_PER_BUCKET];
};
_Static_assert(sizeof(struct shm_conn_bucket) == 512, "conn bucket");

/*
 * A listening socket a node publishes: TCP in LISTEN, UDP bound.  addr is
 * a cluster address the node carries (SHM_LISTEN_SPECIFIC, its index in
 * the high bits of flags: SHM_LISTEN_AIDX; G6 is index 0) or the
 * wildcard, which serves every address the node carries; a connected
 * UDP socket also carries its remote address and port
 * (SHM_LISTEN_REMOTE).  A listener flagged SHM_LISTEN_FULL (its accept
 * queue was full at the last scan, on every socket of the port) or
 * SHM_LISTEN_FAILING (its health check fails) takes no new flow.
 */
#define SHM_LISTEN_SPECIFIC	0x01	/* bound to a cluster address */
#define SHM_LISTEN_REMOTE	0x02	/* connected: raddr/rport set */
#define SHM_LISTEN_FULL		0x04	/* accept queue full */
#define SHM_LISTEN_FAILING	0x08	/* health check failing */
#define SHM_LISTEN_AIDX_SHIFT	4	/* (minor 2) flags >> 4: the index
					 * of the address of a SPECIFIC one */
#define SHM_LISTEN_AIDX(f)	((uint32_t)(f) >> SHM_LISTEN_AIDX_SHIFT)
#define SHM_CHECK_NONE		0	/* no check configured */
#define SHM_CHECK_PENDING	1	/* configured, not yet decided */
#define SHM_CHECK_UP		2
#define SHM_CHECK_DOWN		3
struct shm_listen {
	uint8_t			family;		/* 4 or 6 */
	uint8_t			proto;
	uint8_t			flags;
	uint8_t			check;		/* SHM_CHECK_* */
	uint16_t		port;		/* host order */
	uint16_t		rport;		/* host order */
	uint8_t			raddr[16];
	uint16_t		qlen;		/* TCP: accept queue, now */
	uint16_t		qmax;		/* ... and its limit */
	uint32_t		check_since;	/* CLOCK_REALTIME seconds of the
						 * check's last change */
};
_Static_assert(sizeof(struct shm_listen) == 32, "shm_listen size");

#define SHM_LISTEN_MAX		254
/* Written only by the owning node, under seq (odd while writing). */
struct shm_listen_table {
	_Atomic uint32_t	seq;
	uint32_t		count;
	_Atomic uint64_t	scans;		/* discovery runs */
	uint8_t			reserved[48];
	struct shm_listen	l[SHM_LISTEN_MAX];
};
_Static_assert(sizeof(struct shm_listen_table) == 8192, "listen table");

/*
 * A service: flows to one (address, proto, port) of the cluster, whatever
 * node serves them: the address is a cluster address (family 4, its
 * index aidx) or G6 (family 6, aidx 0).  key 0 = free; taken once with
 * CAS, never released.
 * flows counts the new flows picked a node for; it is the weighted
 * rotation's position too, so the balance is exact cluster-wide (among
 * the nodes every ingress sees answering: stalls are judged by each).  rate
 * is how many began in the last whole second: the picker that first
 * sees a new second moves the window (sec, base).
 */
#define SHM_SVC_SLOTS		1024
struct shm_svc {
	_Atomic uint32_t	key;		/* aidx<<28 | family<<24 |
						 * proto<<16 | port (aidx:
						 * minor 2) */
	_Atomic uint32_t	sec;		/* monotonic second the window
						 * began */
	_Atomic uint64_t	flows;		/* new flows, ever */
	_Atomic uint64_t	base;		/* flows when the window began */
	_Atomic uint32_t	rate;		/* flows in the last whole second */
	uint32_t		reserved;
};
_Static_assert(sizeof(struct shm_svc) == 32, "shm_svc size");

/*
 * One node as a backend of G.  Its weight (0-255) is written by its
 * daemon from the configuration, at start and when a reload changes it,
 * and by shmnetctl weight; SHM_ADMIN_DRAIN by shmnetctl drain/undrain.
 * port[] holds shmnetctl's per-port overrides: SHM_ADMIN_USED |
 * port << 32 | SHM_ADMIN_SET | weight (the port's own weight) and/or
 * SHM_ADMIN_DRAIN; 0 free.  Every word is written whole with atomics, so
 * writers need no lock; the daemon clears the overrides when it claims
 * the node, so a restart derives everything from its configuration.
 * svc[] counts the flows picked for the node, per service (the key of
 * struct shm_svc), written by every picker.
 */
#define SHM_ADMIN_WEIGHT	0xffu		/* weight, 0 = no new flows */
#define SHM_ADMIN_DRAIN		0x100u		/* drained: no new flows */
#define SHM_ADMIN_SET		0x200u		/* port word: weight set */
#define SHM_ADMIN_USED		(1ull << 63)	/* port word in use */
#define SHM_BACKEND_PORTS	16
#define SHM_BACKEND_SVCS	52
struct shm_backend_svc {
	_Atomic uint32_t	key;		/* shm_svc key; 0 free */
	uint32_t		reserved;
	_Atomic uint64_t	flows;
};
struct shm_backend {
	_Atomic uint32_t	admin;		/* weight | SHM_ADMIN_DRAIN */
	_Atomic uint32_t	conf_weight;	/* the configuration's weight */
	uint8_t			reserved[56];
	_Atomic uint64_t	port[SHM_BACKEND_PORTS];
	struct shm_backend_svc	svc[SHM_BACKEND_SVCS];
};
_Static_assert(sizeof(struct shm_backend) == 1024, "shm_backend size");

/* Segment header.  Written once by the creator, magic last. */
struct shm_hdr {
	_Atomic uint64_t	magic;
	uint32_t		version;
	uint32_t		hdr_size;
	uint64_t		seg_size;
	uint32_t		max_nodes;
	uint32_t		nets;
	uint64_t		node_off;
	uint64_t		dir_off;
	uint64_t		cast_off[SHM_NETS];
	uint32_t		cast_size[SHM_NETS];
	uint64_t		pagemap_off;
	uint64_t		heap_off;
	uint32_t		heap_pages;
	uint32_t		page_size;
	uint64_t		created_ns;	/* CLOCK_REALTIME */
	char			cluster[SHM_CLUSTER_MAX];
	uint64_t		conn_off;
	uint32_t		conn_buckets;	/* power of two */
	uint32_t		global_addr4;	/* G, network order */
	uint64_t		listen_off;	/* max_nodes tables */
	uint64_t		svc_off;	/* SHM_SVC_SLOTS entries */
	_Atomic uint64_t	conn_full;	/* inserts with no place: both
						 * buckets full */
	uint8_t			global_addr6[16];	/* G6, zero: none */

	struct shm_lock		table_lock;	/* node table claims, reaping */
	struct shm_lock		heap_lock;	/* pagemap */
	uint64_t		mcast_off[SHM_NETS];	/* first ring of net */
	uint32_t		mcast_rings[SHM_NETS];	/* each cast_size[n] */
	_Atomic uint64_t	conn_live;	/* connection entries in use: a
						 * hint that lets an empty table
						 * skip its collection sweep */
	uint8_t			conn_key[SHM_CONN_KEY_LEN];	/* the
						 * table's hash key, random */
	_Atomic uint64_t	conn_evicted;	/* embryonic or closing flows
						 * that made room for others */
	uint64_t		backend_off;	/* max_nodes entries */
	/* minor 2: the cluster addresses (IPv4, network order).  Index 0
	 * is global_addr4, written with the header; index i (1 ..
	 * SHM_GADDR_MAX - 1) is gaddr4[i - 1]: 0 until the first node
	 * that carries an address no index has takes the lowest free one
	 * with CAS, and never changed after, so that every node and
	 * shmnetctl agree on index <-> address (gaddr.c) */
	_Atomic uint32_t	gaddr4[SHM_GADDR_MAX - 1];
	uint32_t		reserved2;
	uint8_t			reserved1[SHM_HDR_SIZE - SHM_CACHELINE * 7];
};
_Static_assert(offsetof(struct shm_hdr, cluster) == 104, "cluster off");
_Static_assert(offsetof(struct shm_hdr, global_addr6) == 176, "g6 off");
_Static_assert(offsetof(struct shm_hdr, table_lock) == 3 * SHM_CACHELINE,
    "table lock off");
_Static_assert(offsetof(struct shm_hdr, mcast_off) == 5 * SHM_CACHELINE,
    "mcast off");
_Static_assert(offsetof(struct shm_hdr, gaddr4) == 6 * SHM_CACHELINE,
    "gaddr4 off");
_Static_assert(sizeof(struct shm_hdr) == SHM_HDR_SIZE, "hdr size");

#endif /* SHMNET_LAYOUT_H */
