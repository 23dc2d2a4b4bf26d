/*
 * follow.c: keep a network's receive thread on its application's CPU.
 *
 * Where waking a thread on another CPU costs more than a whole hop (on a
 * paravirtualised guest about 7 us a wake-up, docs/PERFORMANCE.md), a
 * request/response exchange is fastest when the thread that writes frames
 * into the TAP runs where the application reading them runs: that
 * wake-up is then local.  The transmit thread learns the application's
 * CPU for nothing: the kernel wakes it, blocked in its TAP read, on the
 * CPU where the application's send ran (sched_getcpu after the read).
 * The receive thread polls and so is never woken, and the scheduler never
 * moves it there; instead, once the transmit thread saw FOLLOW_RUN
 * wake-ups in a row on one CPU, the receive thread restricts itself to
 * that CPU (at most one move every FOLLOW_MOVE_US).  A stream or a flood
 * wants the two sides on different CPUs, not on one: the transmit thread
 * withdraws its CPU when a frame opens its busy-poll window, and the
 * receive thread takes its whole CPU set back during a round of
 * RX_FLOOD_FRAMES frames or large ones, and for FOLLOW_QUIET_US after.
 * Only CPUs of the set the thread started with are used, so an
 * operator's taskset or cpuset stands.  Key cpu-follow turns it off.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "shmnetd.h"

#define FOLLOW_RUN	128		/* wake-ups in a row on one CPU */
#define FOLLOW_MOVE_US	10000		/* at most one move per 10 ms */
#define FOLLOW_QUIET_US	100000		/* no following 100 ms after a flood */
#define FOLLOW_LARGE	4096		/* frames above this make a stream */

/* follow_publish: tell the receive thread where to go (-1: anywhere). */
static void
follow_publish(struct dnet *dn, int cpu)
{
	if (atomic_load_explicit(&dn->app_cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&dn->app_cpu, cpu, memory_order_relaxed);
}

/* follow_tx_wake: the transmit thread's blocking read just returned a
 * frame; the CPU it runs on is the sender's unless the scheduler moved
 * it, which FOLLOW_RUN wake-ups in a row on one CPU rule out. */
void
follow_tx_wake(struct dnet *dn, struct txfollow *f)
{
	int cpu;

	if (!dn->nc->cpu_follow || (cpu = sched_getcpu()) < 0)
		return;
	if (cpu != f->cpu) {
		f->cpu = cpu;
		f->run = 0;
	}
	if (f->run < FOLLOW_RUN)
		f->run++;
	if (f->run == FOLLOW_RUN)
		follow_publish(dn, cpu);
}

/* follow_tx_stream: a stream started; the sides should spread. */
void
follow_tx_stream(struct dnet *dn, struct txfollow *f)
{
	f->run = 0;
	follow_publish(dn, -1);
}

/* follow_rx_init: remember the CPU set the receive thread started with. */
void
follow_rx_init(struct dnet *dn, struct follow *f)
{
	memset(f, 0, sizeof(*f));
	f->pinned = -1;
	if (sched_getaffinity(0, sizeof(f->all), &f->all) == -1 ||
	    CPU_COUNT(&f->all) < 2)
		f->off = 1;	/* nowhere to go */
	if (!dn->nc->cpu_follow)
		f->off = 1;
}

/* follow_move: restrict the thread to cpu, or give it its set back. */
static void
follow_move(struct dnet *dn, struct follow *f, int cpu, uint64_t now)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	if (cpu >= 0)
		CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), cpu >= 0 ? &one : &f->all)
	    == -1) {
		log_warn("%s: rx thread: CPU affinity; not following the "
		    "application's CPU", dn->name);
		f->off = 1;
		return;
	}
	f->pinned = cpu;
	f->moved_us = now;
	if (cpu >= 0)
		log_debug("%s: rx thread keeps to CPU %d, the sender's",
		    dn->name, cpu);
	else
		log_debug("%s: rx thread free on its CPU set", dn->name);
}

/* follow_rx: once per round of the receive thread, which moved frames
 * frames of bytes bytes in it. */
void
follow_rx(struct dnet *dn, struct follow *f, int frames, uint64_t bytes)
{
	uint64_t now = 0;
	int want;

	if (f->off)
		return;
	if (frames >= RX_FLOOD_FRAMES ||
	    (frames > 0 && bytes / (uint64_t)frames > FOLLOW_LARGE)) {
		now = shm_now_us();
		f->flood_us = now;
		follow_publish(dn, -1);
		if (f->pinned >= 0)
			follow_move(dn, f, -1, now);
		return;
	}
	want = atomic_load_explicit(&dn->app_cpu, memory_order_relaxed);
	if (want == f->pinned)
		return;
	if (want >= CPU_SETSIZE || (want >= 0 && !CPU_ISSET(want, &f->all)))
		want = -1;
	if (want == f->pinned)
		return;
	now = shm_now_us();
	if (want >= 0 && (now - f->moved_us < FOLLOW_MOVE_US ||
	    now - f->flood_us < FOLLOW_QUIET_US))
		return;
	follow_move(dn, f, want, now);
}
