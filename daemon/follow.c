/*
 * follow.c: keep a network's data threads on their application's CPU.
 *
 * Where waking a thread on another CPU costs more than a whole hop (on a
 * paravirtualised guest 20-35 us a wake-up, docs/PERFORMANCE.md), a
 * request/response exchange is fastest when the thread that writes frames
 * into the TAP runs where the application reading them runs: that
 * wake-up is then local.  The receive thread polls and so is never
 * woken, and the scheduler never moves it there; instead, once the
 * application's CPU is known, the receive thread restricts itself to it
 * (at most one move every FOLLOW_MOVE_US).
 *
 * The application's CPU, best: the TAP's steering eBPF program stores
 * the CPU of every send (tun/steer.c), FOLLOW_RUN_EXACT sends in a row
 * from one CPU make it the application's, and the transmit thread keeps
 * to the CPU the receive thread keeps to, so that the send wakes it
 * there too.  Without the program (bpf(2) refused), a guess: the kernel
 * wakes the transmit thread, blocked in its TAP read, mostly on the CPU
 * where the send ran (sched_getcpu after the read), and FOLLOW_RUN
 * wake-ups in a row on one CPU make the guess; the transmit thread then
 * stays free, or it would make its own guess come true.
 *
 * A stream or a flood wants the two sides on different CPUs, not on one:
 * the transmit thread withdraws the CPU (and frees itself) when a frame
 * opens its busy-poll window, and the receive thread takes its whole CPU
 * set back during a round of RX_FLOOD_FRAMES frames or large ones, and
 * for FOLLOW_QUIET_US after; the transmit thread follows it there.  Only
 * CPUs of the set a thread started with are used, so an operator's
 * taskset or cpuset stands.  Key cpu-follow turns it all off.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "follow.h"
#include "shmnetd.h"

#define FOLLOW_RUN       128    /* wake-ups in a row on one CPU */
#define FOLLOW_RUN_EXACT 8      /* sends in a row, steering eBPF */
#define FOLLOW_MOVE_US   10000  /* at most one move per 10 ms */
#define FOLLOW_QUIET_US  100000 /* no following 100 ms after a flood */
#define FOLLOW_LARGE     4096   /* frames above this make a stream */

/* follow_publish: tell the receive thread where to go (-1: anywhere). */
static void
follow_publish(struct handoff_net *h, int cpu)
{
	if (atomic_load_explicit(&h->app_cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&h->app_cpu, cpu, memory_order_relaxed);
}

/* follow_init: remember the CPU set the thread started with. */
static void
follow_init(const struct netif *ni, struct follow *f, const char *who)
{
	memset(f, 0, sizeof(*f));
	f->who = who;
	f->pinned = -1;
	if (sched_getaffinity(0, sizeof(f->all), &f->all) == -1 ||
	    CPU_COUNT(&f->all) < 2)
		f->off = 1; /* nowhere to go */
	if (!ni->nc->cpu_follow)
		f->off = 1;
}

/* follow_move: restrict the thread to cpu, or give it its set back. */
static void
follow_move(const struct netif *ni, struct follow *f, int cpu, uint64_t now)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	if (cpu >= 0)
		CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), cpu >= 0 ? &one : &f->all) ==
	    -1) {
		log_warn("%s: %s thread: CPU affinity; not following the "
			 "application's CPU",
		    ni->name, f->who);
		f->off = 1;
		return;
	}
	f->pinned = cpu;
	f->moved_us = now;
	if (f->shown != NULL)
		atomic_store_explicit(f->shown, cpu, memory_order_relaxed);
	if (cpu >= 0)
		log_debug("%s: %s thread keeps to CPU %d, the sender's",
		    ni->name, f->who, cpu);
	else
		log_debug("%s: %s thread free on its CPU set", ni->name,
		    f->who);
}

/* follow_to: move toward want (-1: the whole set) when allowed: a CPU
 * of the thread's set, not within FOLLOW_MOVE_US of the last move. */
static void
follow_to(const struct netif *ni, struct follow *f, int want, uint64_t quiet_us)
{
	uint64_t now;

	if (want == f->pinned)
		return;
	if (want >= CPU_SETSIZE || (want >= 0 && !CPU_ISSET(want, &f->all)))
		want = -1;
	if (want == f->pinned)
		return;
	now = clock_us();
	if (want >= 0 &&
	    (now - f->moved_us < FOLLOW_MOVE_US ||
		now - quiet_us < FOLLOW_QUIET_US))
		return;
	follow_move(ni, f, want, now);
}

/* follow_tx_init: the transmit thread's following; it moves only where
 * the sending CPU is known exactly. */
void
follow_tx_init(const struct netif *ni, struct handoff_net *h,
    struct txfollow *f)
{
	f->cpu = -1;
	f->run = 0;
	f->large_us = 0;
	follow_init(ni, &f->th, "tx");
	if (ni->tap.send_cpu == NULL)
		f->th.off = 1;
}

/* follow_tx_cpu: the CPU of the send behind the frame just read, and
 * how many in a row make it the application's; -1 if unknown. */
static int
follow_tx_cpu(const struct netif *ni, int *need)
{
	uint32_t c;

	if (ni->tap.send_cpu == NULL) {
		*need = FOLLOW_RUN;
		return sched_getcpu();
	}
	*need = FOLLOW_RUN_EXACT;
	c = atomic_load_explicit(ni->tap.send_cpu, memory_order_relaxed);
	return c < CPU_SETSIZE ? (int)c : -1; /* TAP_CPU_NONE */
}

/* follow_tx_flooding: the transmit thread is in a flood of small
 * frames (follow_tx_stream) and keeps to where it is. */
static int
follow_tx_flooding(struct txfollow *f)
{
	return f->th.flood_us != 0 &&
	    clock_us() - f->th.flood_us < FOLLOW_QUIET_US;
}

/* follow_tx_wake: the transmit thread's blocking read just returned a
 * frame: count its sending CPU, publish it after a run, and keep the
 * transmit thread where the receive thread keeps. */
void
follow_tx_wake(const struct netif *ni, struct handoff_net *h,
    struct txfollow *f)
{
	int cpu, need;

	if (!ni->nc->cpu_follow || (cpu = follow_tx_cpu(ni, &need)) < 0)
		return;
	if (cpu != f->cpu) {
		f->cpu = cpu;
		f->run = 0;
	}
	if (f->run < need)
		f->run++;
	if (f->run == need) /* again after a flood withdrew it */
		follow_publish(h, cpu);
	if (!f->th.off && !follow_tx_flooding(f))
		follow_to(ni, &f->th,
		    atomic_load_explicit(&h->rx_cpu, memory_order_relaxed), 0);
}

/* follow_tx_small: a flood of small frames from one application, on a
 * node that is not receiving a flood nor sending large frames: the
 * transmit thread keeps to the sender's CPU.  It reads what the sender
 * wrote while still in that CPU's cache, and leaves the other CPU to the
 * receiving node and its application; spread, the two sides' threads
 * crowd each other's CPUs and the TAP drops (bench/run's 64-byte UDP
 * flood shows it). */
static void
follow_tx_small(const struct netif *ni, struct handoff_net *h,
    struct txfollow *f)
{
	uint64_t now = clock_us();
	int need, cpu;

	if (f->th.off || now - f->large_us < FOLLOW_QUIET_US ||
	    now - atomic_load_explicit(&h->rx_flood_us, memory_order_relaxed) <
		FOLLOW_QUIET_US ||
	    (cpu = follow_tx_cpu(ni, &need)) < 0) {
		if (f->th.pinned >= 0)
			follow_move(ni, &f->th, -1, now);
		f->th.flood_us = 0;
		return;
	}
	f->th.flood_us = now;
	if (cpu == f->th.pinned || !CPU_ISSET(cpu, &f->th.all) ||
	    now - f->th.moved_us < FOLLOW_MOVE_US)
		return;
	log_debug("%s: a flood of small frames from CPU %d", ni->name, cpu);
	follow_move(ni, &f->th, cpu, now);
}

/* follow_tx_stream: a stream of large frames (large) or a backlog of
 * small ones started, a flood if it took a batch of TX_FLOOD_BATCH
 * (flood); the sides should spread.  Within a flood of small frames,
 * the smaller backlogs between its batches change nothing. */
void
follow_tx_stream(const struct netif *ni, struct handoff_net *h,
    struct txfollow *f, int large, int flood)
{
	f->run = 0;
	follow_publish(h, -1);
	if (flood && !large) {
		follow_tx_small(ni, h, f);
		return;
	}
	if (!large && follow_tx_flooding(f))
		return;
	if (large)
		f->large_us = clock_us();
	f->th.flood_us = 0;
	if (f->th.pinned >= 0)
		follow_move(ni, &f->th, -1, clock_us());
}

/* follow_rx_init: the receive thread's following; it shows its CPU to
 * the transmit thread in h->rx_cpu. */
void
follow_rx_init(const struct netif *ni, struct handoff_net *h, struct follow *f)
{
	follow_init(ni, f, "rx");
	f->shown = &h->rx_cpu;
}

/* follow_rx: once per round of the receive thread, which moved frames
 * frames of bytes bytes in it. */
void
follow_rx(const struct netif *ni, struct handoff_net *h, struct follow *f,
    int frames, uint64_t bytes)
{
	if (f->off)
		return;
	if (frames >= RX_FLOOD_FRAMES ||
	    (frames > 0 && bytes / (uint64_t)frames > FOLLOW_LARGE)) {
		f->flood_us = clock_us();
		atomic_store_explicit(&h->rx_flood_us, f->flood_us,
		    memory_order_relaxed);
		follow_publish(h, -1);
		if (f->pinned >= 0)
			follow_move(ni, f, -1, f->flood_us);
		return;
	}
	follow_to(ni, f,
	    atomic_load_explicit(&h->app_cpu, memory_order_relaxed),
	    f->flood_us);
}
