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
#include "watch.h"

struct watch {
	struct handoff *ho; /* watch_kick, watch_stop,
						 * watch_armed, notify */
	pthread_t thread;
	uint32_t *keeper_seen; /* the watch thread's */
};

/* watch_stopping: has the main thread asked the thread to leave? */
static int
watch_stopping(const struct handoff *ho)
{
	return atomic_load_explicit(&ho->watch_stop, memory_order_acquire);
}

/* watch_idle: without futex_waitv, stay until stopped: this thread's
 * end would mark our keeper dead. */
static void
watch_idle(struct handoff *ho)
{
	uint32_t kick;

	while (!watch_stopping(ho)) {
		kick = atomic_load_explicit(&ho->watch_kick,
		    memory_order_acquire);
		if (!watch_stopping(ho))
			keeper_pause(&ho->watch_kick, kick);
	}
}

/* watch_main: thread body. */
static void *
watch_main(void *arg)
{
	struct watch *w = arg;
	struct handoff *ho = w->ho;
	uint32_t kick;
	int rc;

	pthread_setname_np(pthread_self(), "watch");
	if ((rc = keeper_arm(ho->seg, ho->self)) != 0)
		log_info("no robust futexes (%s): peers see this node's "
			 "death by heartbeat",
		    strerror(-rc));
	sem_post(&ho->watch_armed);
	if ((rc = keeper_probe()) == 0)
		log_info("futex_waitv: deaths of peers are seen at once");
	/* rc: 0, or how many peers died (and on to the next), or -errno */
	while (rc >= 0 && !watch_stopping(ho)) {
		kick = atomic_load_explicit(&ho->watch_kick,
		    memory_order_acquire);
		rc = keeper_wait(ho->seg, ho->self, w->keeper_seen,
		    &ho->watch_kick, kick);
		if (rc > 0)
			notify_send(&ho->notify, NOTIFY_MEMBERS);
	}
	if (rc < 0) {
		log_info("futex_waitv: %s: deaths of peers are seen by "
			 "heartbeat",
		    strerror(-rc));
		watch_idle(ho);
	}
	keeper_disarm(ho->seg, ho->self);
	return NULL;
}

/* watch_start: start the thread once the node is claimed, and wait
 * until our keeper is armed: peers look at it when we come up. */
struct watch *
watch_start(struct handoff *ho)
{
	struct watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ho = ho;
	w->keeper_seen = calloc(ho->max_nodes + 1, sizeof(*w->keeper_seen));
	if (w->keeper_seen == NULL || sem_init(&ho->watch_armed, 0, 0) != 0)
		goto fail;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		sem_destroy(&ho->watch_armed);
		goto fail;
	}
	while (sem_wait(&ho->watch_armed) == -1 && errno == EINTR)
		;
	return w;
fail:
	free(w->keeper_seen);
	free(w);
	return NULL;
}

/* watch_kick: look at the peers' keepers again (a peer came up). */
void
watch_kick(struct watch *w)
{
	if (w != NULL)
		keeper_kick(&w->ho->watch_kick);
}

/* watch_stop: disarm our keeper (this is no death), join and free. */
void
watch_stop(struct watch *w)
{
	if (w == NULL)
		return;
	atomic_store_explicit(&w->ho->watch_stop, 1, memory_order_release);
	keeper_kick(&w->ho->watch_kick);
	pthread_join(w->thread, NULL);
	sem_destroy(&w->ho->watch_armed);
	free(w->keeper_seen);
	free(w);
}
