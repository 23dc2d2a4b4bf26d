/*
 * watch.c: the watch thread, which turns a peer's crash into an event.
 *
 * The thread is this node's keeper (libshmnet/keeper.c): the kernel
 * marks our keeper word when it ends, however the process dies.  It
 * sleeps on the keepers of all live peers and asks the main loop for a
 * membership scan as soon as one dies.  The main loop kicks it to look
 * again when a peer comes up, and to stop.  Without robust futexes or
 * futex_waitv the thread only keeps its keeper (or nothing) and
 * membership falls back to heartbeats on the tick.
 */
#include "config.h"

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shmnetd.h"

/* watch_main: thread body. */
static void *
watch_main(void *arg)
{
	struct daemon *d = arg;
	uint32_t kick;
	int rc;

	pthread_setname_np(pthread_self(), "watch");
	if ((rc = keeper_arm(d->seg, d->self)) != 0)
		log_info("no robust futexes (%s): peers see this node's "
		    "death by heartbeat", strerror(-rc));
	sem_post(&d->watch_armed);
	rc = 0;
	while (!atomic_load_explicit(&d->watch_stop, memory_order_acquire)) {
		kick = atomic_load_explicit(&d->watch_kick,
		    memory_order_acquire);
		rc = keeper_wait(d->seg, d->self, d->keeper_seen,
		    &d->watch_kick, kick);
		if (rc > 0)
			daemon_notify(d, NOTIFY_MEMBERS);
		else if (rc < 0)
			break;
	}
	if (rc < 0) {
		log_info("futex_waitv: %s: deaths of peers are seen by "
		    "heartbeat", strerror(-rc));
		/* stay: this thread's end would mark our keeper dead */
		while (!atomic_load_explicit(&d->watch_stop,
		    memory_order_acquire)) {
			kick = atomic_load_explicit(&d->watch_kick,
			    memory_order_acquire);
			if (!atomic_load_explicit(&d->watch_stop,
			    memory_order_acquire))
				keeper_pause(&d->watch_kick, kick);
		}
	}
	keeper_disarm(d->seg, d->self);
	return NULL;
}

/* watch_start: start the thread once the node is claimed, and wait
 * until our keeper is armed: peers look at it when we come up. */
int
watch_start(struct daemon *d)
{
	int rc;

	d->keeper_seen = calloc(d->max_nodes + 1, sizeof(*d->keeper_seen));
	if (d->keeper_seen == NULL || sem_init(&d->watch_armed, 0, 0) != 0)
		return -ENOMEM;
	if ((rc = pthread_create(&d->watch_thread, NULL, watch_main, d)) != 0) {
		sem_destroy(&d->watch_armed);
		return -rc;
	}
	d->watching = 1;
	while (sem_wait(&d->watch_armed) == -1 && errno == EINTR)
		;
	return 0;
}

/* watch_kick: look at the peers' keepers again (a peer came up). */
void
watch_kick(struct daemon *d)
{
	if (d->watching)
		keeper_kick(&d->watch_kick);
}

/* watch_stop: disarm our keeper (this is no death) and join. */
void
watch_stop(struct daemon *d)
{
	if (d->watching) {
		atomic_store_explicit(&d->watch_stop, 1, memory_order_release);
		keeper_kick(&d->watch_kick);
		pthread_join(d->watch_thread, NULL);
		sem_destroy(&d->watch_armed);
		d->watching = 0;
	}
	free(d->keeper_seen);
	d->keeper_seen = NULL;
}
