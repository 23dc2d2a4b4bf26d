/*
 * notify.h: what the other threads ask of the main loop.
 */
#ifndef SHMNETD_NOTIFY_H
#define SHMNETD_NOTIFY_H

/* What a thread asks for (one byte on the pipe; notify_take ORs them). */
#define NOTIFY_MEMBERS		0x01	/* a membership scan */
#define NOTIFY_RESCAN		0x02	/* rescan our listeners */
#define NOTIFY_RESCAN_ALL	0x04	/* ... and ask every node to */

/* A pipe from any thread to the main loop.  Its descriptors are set
 * before the other threads start and closed after they ended. */
struct notify {
	int	fd[2];		/* read end (main loop), write end */
};

void	 notify_init(struct notify *n);
int	 notify_open(struct notify *n);
void	 notify_close(struct notify *n);
/* Any thread: ask for `what` (NOTIFY_*); a full pipe already asks. */
void	 notify_send(const struct notify *n, int what);
/* Main thread: everything asked since the last call, ORed. */
int	 notify_take(const struct notify *n);

#endif /* SHMNETD_NOTIFY_H */
