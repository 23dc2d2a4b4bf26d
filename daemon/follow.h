/*
 * follow.h: a network's data threads follow the application's CPU.
 */
#ifndef SHMNETD_FOLLOW_H
#define SHMNETD_FOLLOW_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

struct netif;
struct handoff_net;

#define RX_FLOOD_FRAMES	16	/* frames in one rx round that make a flood */

/* One thread's following (its own). */
struct follow {
	cpu_set_t	 all;		/* the set it started with */
	int		 pinned;	/* CPU it keeps to, -1: all */
	int		 off;		/* one CPU, refused, or cpu-follow=no */
	uint64_t	 moved_us, flood_us;
	const char	*who;		/* "rx", "tx" for logs */
	_Atomic int	*shown;		/* where pinned is shown, or NULL */
};

/* The tx thread's. */
struct txfollow {
	int		 cpu;		/* of the last wake-up */
	int		 run;		/* wake-ups in a row there */
	uint64_t	 large_us;	/* last stream of large frames */
	struct follow	 th;		/* the tx thread itself */
};

void	 follow_tx_init(const struct netif *ni, struct handoff_net *h,
	    struct txfollow *f);
void	 follow_tx_wake(const struct netif *ni, struct handoff_net *h,
	    struct txfollow *f);
void	 follow_tx_stream(const struct netif *ni, struct handoff_net *h,
	    struct txfollow *f, int large, int flood);
void	 follow_rx_init(const struct netif *ni, struct handoff_net *h,
	    struct follow *f);
void	 follow_rx(const struct netif *ni, struct handoff_net *h,
	    struct follow *f, int frames, uint64_t bytes);

#endif /* SHMNETD_FOLLOW_H */
