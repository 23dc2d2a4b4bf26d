/*
 * admin.c: the shmnetctl commands that change the cluster: a node's
 * weight, and its drain, for the node or one port.  They map the segment
 * read-write (shmseg_open_admin, in shmnetctl.c) and write only the
 * node's backend entry (libshmnet/backend.c); new flows follow at once,
 * flows already pinned to a node stay on it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* admin_target: "node 2" or "node 2 port 80", for messages. */
static const char *
admin_target(uint32_t node, int port, char *buf, size_t len)
{
	if (port > 0)
		snprintf(buf, len, "node %u port %d", node, port);
	else
		snprintf(buf, len, "node %u", node);
	return buf;
}

/* admin_check: the node must exist and be up: a node's daemon sets its
 * configured weight when it starts, so a setting made before would be
 * lost.  0 or -1 with a line said. */
static int
admin_check(struct ctl *c, uint32_t node)
{
	if (node < 1 || node > shmseg_max_nodes(c->seg)) {
		fprintf(stderr, "shmnetctl: node %u: no such node (1-%u)\n",
		    node, shmseg_max_nodes(c->seg));
		return -1;
	}
	if (!node_is_up(c->seg, node)) {
		fprintf(stderr,
		    "shmnetctl: node %u is not up (its daemon sets its "
		    "configured weight when it starts)\n",
		    node);
		return -1;
	}
	return 0;
}

/* admin_failed: say why a change was refused. */
static int
admin_failed(const char *what, const char *target, int rc)
{
	if (rc == -ENOSPC)
		fprintf(stderr,
		    "shmnetctl: %s %s: %d ports of the node have their own "
		    "setting already; clear one (weight NODE default --port "
		    "P, undrain NODE --port P)\n",
		    what, target, SHM_BACKEND_PORTS);
	else
		fprintf(stderr, "shmnetctl: %s %s: %s\n", what, target,
		    strerror(-rc));
	return -1;
}

/* admin_weight: shmnetctl weight NODE N|default [--port P]. */
int
admin_weight(struct ctl *c, uint32_t node, int port, int weight)
{
	struct backend_view before, after;
	char target[48];
	int rc;

	if (admin_check(c, node) != 0)
		return -1;
	admin_target(node, port, target, sizeof(target));
	backend_view(c->seg, node, (uint16_t)port, &before);
	if (weight < 0 && port == 0)
		weight = (int)before.conf_weight; /* "default" */
	if ((rc = backend_set_weight(c->seg, node, port, weight)) != 0)
		return admin_failed("weight", target, rc);
	backend_view(c->seg, node, (uint16_t)port, &after);
	fprintf(c->out, "%s: weight %u (was %u)%s\n", target, after.weight,
	    before.weight,
	    after.drained ? "; drained: it takes no new flow until undrain" :
		after.weight == 0 ? "; it takes no new flow, its flows go on" :
				    "");
	return 0;
}

/* admin_drain: shmnetctl drain|undrain NODE [--port P]. */
int
admin_drain(struct ctl *c, uint32_t node, int port, int drain)
{
	struct backend_view v;
	char target[48];
	int rc;

	if (admin_check(c, node) != 0)
		return -1;
	admin_target(node, port, target, sizeof(target));
	if ((rc = backend_set_drain(c->seg, node, port, drain)) != 0)
		return admin_failed(drain ? "drain" : "undrain", target, rc);
	backend_view(c->seg, node, (uint16_t)port, &v);
	if (drain)
		fprintf(c->out,
		    "%s drained: it takes no new flow; its flows go on "
		    "(shmnetctl services shows when none is left)\n",
		    target);
	else if (v.drained)
		fprintf(c->out, "%s undrained, but still drained as a %s\n",
		    target, port > 0 ? "node" : "port");
	else
		fprintf(c->out, "%s undrained: weight %u%s\n", target, v.weight,
		    v.weight == 0 ? " (it takes no new flow until its weight "
				    "is above 0)" :
				    "");
	return 0;
}
