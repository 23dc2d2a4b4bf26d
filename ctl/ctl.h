/*
 * ctl.h: shmnetctl's commands.
 */
#ifndef SHMNETCTL_H
#define SHMNETCTL_H

#include <stdio.h>

#include "shmnet.h"

struct ctl {
	struct shmseg	*seg;
	const char	*path;
	int		 json;
	FILE		*out;
};

/* show.c: one printer per command, text or JSON. */
int	 show_status(struct ctl *c);
int	 show_nodes(struct ctl *c);
int	 show_rings(struct ctl *c);
int	 show_conns(struct ctl *c);
int	 show_listeners(struct ctl *c);

#endif /* SHMNETCTL_H */
