/*
 * sockstat.h: has a TCP or UDP socket of this namespace come or gone?
 */
#ifndef SHMNETD_SOCKSTAT_H
#define SHMNETD_SOCKSTAT_H

/* The namespace's TCP and UDP socket counts at the last look. */
#define SS_COUNTS	4		/* TCP, UDP, TCP6, UDP6 */
struct sockstat {
	int			 fd[2];		/* sockstat, sockstat6; -1 */
	unsigned long		 last[SS_COUNTS];
	int			 known;
};

void	 ss_init(struct sockstat *s);
/* 1 when the counts moved since the last call (or cannot be read). */
int	 ss_moved(struct sockstat *s);
void	 ss_close(struct sockstat *s);

#endif /* SHMNETD_SOCKSTAT_H */
