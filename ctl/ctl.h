/*
 * ctl.h: shmnetctl's commands and the descriptions they print from.
 */
#ifndef SHMNETCTL_H
#define SHMNETCTL_H

#include <stddef.h>
#include <stdio.h>

#include "shmnet.h"

/* A service as shmnetctl's options name it: [ADDR:]PORT[/PROTO]; 0 in a
 * field matches any. */
struct ctl_service {
	uint32_t	family;		/* 4 or 6 (from ADDR), 0 any */
	uint8_t		addr[16];	/* ADDR (IPv4 in the first 4 bytes);
					 * all zero (0.0.0.0, [::]): any of
					 * the family */
	uint32_t	proto;		/* IPPROTO_TCP or _UDP, 0 any */
	uint32_t	port;
};

struct ctl {
	struct shmseg	*seg;
	const char	*path;
	int		 json;
	FILE		*out;
	/* conns: only these flows (0: all), or only their numbers */
	struct ctl_service service;
	uint32_t	 node;
	int		 count;
	const char	*textfile;	/* metrics: the directory, or NULL */
	uint32_t	 g4[SHM_GADDR_MAX];	/* the cluster addresses, read
					 * once (show_gaddr) */
	int		 g4_read;
	int		 port;		/* --port: one port, 0 the node */
	uint32_t	 arg_node;	/* weight, drain, undrain: NODE */
	int		 arg_weight;	/* weight: WEIGHT, -1 default */
};

/* What a command returns for arguments it does not take (exit 2). */
#define CTL_USAGE	2

/*
 * What a value means to a reader.  Its storage (a 4- or 8-byte unsigned
 * integer, or a NUL-terminated char array) comes from the row struct
 * through OUT_AT, so the two cannot disagree.  Every value is flat; a
 * nested one (a list of rows of another table) would be one more type
 * whose JSON is built from that other table.
 */
enum out_type {
	OUT_UINT,	/* unsigned integer */
	OUT_STR,	/* string; "-" in text when empty */
	OUT_KEY,	/* 64-bit ring key: 16 hex digits, a JSON string */
	OUT_NODE,	/* node id; text "*" for 0, which is no single node */
	OUT_NAME,	/* a code, shown as the name names() gives it */
	OUT_MIB,	/* a size in bytes; text in MiB */
};

/* out_field flags */
#define OUT_OPT		0x01	/* JSON: left out when 0 or empty; text: a
				 * glued value is then left out too */

/*
 * One column of a table, or one key of a document.  A field with a key
 * is in the JSON; one with a head or glue is in the text: a column under
 * head (a label in a document), or glued to the value before it.
 */
struct out_field {
	const char	*key;		/* JSON key; NULL: text only */
	const char	*head;		/* text header or label; NULL and no
					 * glue: JSON only */
	enum out_type	 type;
	size_t		 off;		/* where the value is in the row */
	size_t		 size;		/* and its size (OUT_AT) */
	int		 width;		/* text: columns, negative to align
					 * left, 0 for no padding */
	const char	*glue;		/* text: what joins it to the value
					 * before it, on the same line */
	const char	*unit;		/* text: what follows the value */
	const char	*(*names)(uint32_t);	/* OUT_NAME */
	unsigned	 flags;		/* OUT_OPT */
};

/* The position and size of member m of struct st, for an out_field. */
#define OUT_AT(st, m)							\
	.off = offsetof(struct st, m), .size = sizeof(((struct st *)0)->m)

/* The output of one command: rows of a table, or one document.  A table
 * may have a sub-table: each of its rows then owns the sub-table's rows
 * that name it (their uint32_t at sub->parent_off is the owner's index),
 * shown under it, and in JSON as an array under subkey. */
struct out_table {
	const char		*cmd;
	const struct out_field	*fields;
	size_t			 nfields;
	size_t			 rowsize;
	const struct out_table	*sub;
	const char		*subkey;
	size_t			 parent_off;	/* of a sub-table's row */
};

/* out.c: text and JSON from a description. */
int	 out_rows(struct ctl *c, const struct out_table *t, const void *rows,
	    size_t n);
int	 out_doc(struct ctl *c, const struct out_table *t, const void *row);
/* Rows of t, each followed by the rows of t->sub it owns (text: indented
 * under it, "  -> "; JSON: an array under t->subkey). */
int	 out_nested(struct ctl *c, const struct out_table *t, const void *rows,
	    size_t n, const void *subrows, size_t subn);

/* show.c: one printer per command, and the tables they print. */
int	 show_status(struct ctl *c);
int	 show_nodes(struct ctl *c);
int	 show_rings(struct ctl *c);
int	 show_conns(struct ctl *c);
int	 show_listeners(struct ctl *c);
int	 show_addresses(struct ctl *c);
/* Does flow f pass --service and --node? */
int	 show_conn_wanted(struct ctl *c, const struct shm_conn *f);

/* services.c: services and their backends; parsing a service's name. */
int	 services_show(struct ctl *c);
int	 services_parse(const char *name, struct ctl_service *out);
int	 services_match(const struct ctl_service *want, uint32_t family,
	    const uint8_t *addr, uint32_t proto, uint32_t port);
extern const struct out_table services_table;

/* admin.c: the commands that change the cluster. */
int	 admin_weight(struct ctl *c, uint32_t node, int port, int weight);
int	 admin_drain(struct ctl *c, uint32_t node, int port, int drain);
extern const struct out_table *const show_tables[];	/* NULL ends it */

/* prom.c: the metrics command (its own options: --textfile DIR). */
int	 prom_metrics(struct ctl *c);

#endif /* SHMNETCTL_H */
