/*
 * out.c: text and JSON from one description.  A table (struct out_table)
 * says once what each value is called, how it is stored in a row and how
 * it reads as text; both forms are built from it and the same rows, so
 * they cannot drift apart.  JSON is built with jansson.
 */
#include "config.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define OUT_TEXT_MAX (PATH_MAX + 64) /* the longest value: a path */

/* out_uint: an integer field of a row, whatever its width. */
static uint64_t
out_uint(const struct out_field *f, const void *row)
{
	const char *p = (const char *)row + f->off;
	uint32_t v32;
	uint64_t v64;

	if (f->size == sizeof(v64)) {
		memcpy(&v64, p, sizeof(v64));
		return v64;
	}
	memcpy(&v32, p, sizeof(v32));
	return v32;
}

/* out_str: a string field of a row. */
static const char *
out_str(const struct out_field *f, const void *row)
{
	return (const char *)row + f->off;
}

/* out_empty: the field holds 0 or "". */
static int
out_empty(const struct out_field *f, const void *row)
{
	if (f->type == OUT_STR)
		return out_str(f, row)[0] == '\0';
	return out_uint(f, row) == 0;
}

/* out_name: the name of a coded value. */
static const char *
out_name(const struct out_field *f, const void *row)
{
	return f->names((uint32_t)out_uint(f, row));
}

/* out_text: a value as text, with its unit. */
static const char *
out_text(const struct out_field *f, const void *row, char *buf, size_t len)
{
	const char *s;

	switch (f->type) {
	case OUT_STR:
		s = out_str(f, row);
		snprintf(buf, len, "%s", s[0] != '\0' ? s : "-");
		break;
	case OUT_NAME:
		snprintf(buf, len, "%s", out_name(f, row));
		break;
	case OUT_KEY:
		snprintf(buf, len, "%016" PRIx64, out_uint(f, row));
		break;
	case OUT_MIB:
		snprintf(buf, len, "%" PRIu64 " MiB", out_uint(f, row) >> 20);
		break;
	case OUT_NODE:
		if (out_uint(f, row) == 0) {
			snprintf(buf, len, "*");
			break;
		}
		/* FALLTHROUGH */
	case OUT_UINT:
		snprintf(buf, len, "%" PRIu64, out_uint(f, row));
		break;
	}
	if (f->unit != NULL)
		snprintf(buf + strlen(buf), len - strlen(buf), " %s", f->unit);
	return buf;
}

/* out_json_str: a JSON string; bytes that are not UTF-8 (the segment is
 * untrusted, paths are bytes) become '?' so the output stays JSON. */
static json_t *
out_json_str(const char *s)
{
	json_t *j;
	char *t;
	size_t i;

	if ((j = json_string(s)) != NULL || (t = strdup(s)) == NULL)
		return j;
	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] >= 0x80)
			t[i] = '?';
	j = json_string(t);
	free(t);
	return j;
}

/* out_json_value: a value as JSON.  Counters are JSON integers, which
 * jansson holds signed: a value past INT64_MAX (never reached, but the
 * segment is untrusted) is shown as INT64_MAX rather than negative. */
static json_t *
out_json_value(const struct out_field *f, const void *row)
{
	char key[17];
	uint64_t v = f->type == OUT_STR ? 0 : out_uint(f, row);

	switch (f->type) {
	case OUT_STR:
		return out_json_str(out_str(f, row));
	case OUT_NAME:
		return json_string(out_name(f, row));
	case OUT_KEY:
		snprintf(key, sizeof(key), "%016" PRIx64, v);
		return json_string(key);
	case OUT_UINT:
	case OUT_NODE:
	case OUT_MIB:
		break;
	}
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* out_json_obj: one row as a JSON object; NULL when out of memory. */
static json_t *
out_json_obj(const struct out_table *t, const void *row)
{
	const struct out_field *f;
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < t->nfields; i++) {
		f = &t->fields[i];
		if (f->key == NULL ||
		    ((f->flags & OUT_OPT) && out_empty(f, row)))
			continue;
		if (json_object_set_new(o, f->key, out_json_value(f, row)) !=
		    0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* out_json_dump: print a JSON value (NULL: out of memory) and free it. */
static int
out_json_dump(struct ctl *c, json_t *j)
{
	int rc = -1;

	if (j != NULL && json_dumpf(j, c->out, JSON_INDENT(2)) == 0 &&
	    fputc('\n', c->out) != EOF)
		rc = 0;
	else
		fprintf(stderr, "shmnetctl: %s\n",
		    j == NULL ? "out of memory" :
				"cannot write the JSON output");
	json_decref(j);
	return rc;
}

/* out_json_rows: the rows as a JSON array of objects. */
static json_t *
out_json_rows(const struct out_table *t, const void *rows, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a,
			out_json_obj(t, (const char *)rows + i * t->rowsize)) !=
		    0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* out_in_text: the field is shown in text. */
static int
out_in_text(const struct out_field *f)
{
	return f->head != NULL || f->glue != NULL;
}

/* out_width: columns a value takes, whichever way it is aligned. */
static int
out_width(const struct out_field *f)
{
	return f->width < 0 ? -f->width : f->width;
}

/* out_span: text width of column i with the values glued to it, negative
 * to align left as the column does. */
static int
out_span(const struct out_table *t, size_t i)
{
	const struct out_field *f;
	int span = out_width(&t->fields[i]);
	size_t j;

	if (span == 0)
		return 0;
	for (j = i + 1; j < t->nfields && t->fields[j].head == NULL; j++) {
		f = &t->fields[j];
		if (f->glue != NULL)
			span += (int)strlen(f->glue) + out_width(f);
	}
	return t->fields[i].width < 0 ? -span : span;
}

/* out_head: the header line of a table. */
static void
out_head(struct ctl *c, const struct out_table *t)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < t->nfields; i++) {
		if (t->fields[i].head == NULL)
			continue;
		fprintf(c->out, "%s%*s", sep, out_span(t, i),
		    t->fields[i].head);
		sep = " ";
	}
	fputc('\n', c->out);
}

/* out_line: one row of a table as text. */
static void
out_line(struct ctl *c, const struct out_table *t, const void *row)
{
	const struct out_field *f;
	const char *sep = "";
	char buf[OUT_TEXT_MAX];
	size_t i;

	for (i = 0; i < t->nfields; i++) {
		f = &t->fields[i];
		if (!out_in_text(f) ||
		    (f->glue != NULL && (f->flags & OUT_OPT) &&
			out_empty(f, row)))
			continue;
		fprintf(c->out, "%s%*s", f->glue != NULL ? f->glue : sep,
		    f->width, out_text(f, row, buf, sizeof(buf)));
		sep = " ";
	}
	fputc('\n', c->out);
}

/* out_rows: a table as text columns or a JSON array. */
int
out_rows(struct ctl *c, const struct out_table *t, const void *rows, size_t n)
{
	size_t i;

	if (c->json)
		return out_json_dump(c, out_json_rows(t, rows, n));
	out_head(c, t);
	for (i = 0; i < n; i++)
		out_line(c, t, (const char *)rows + i * t->rowsize);
	return 0;
}

/* out_label_width: columns of the widest label of a document; values
 * start three columns further. */
static int
out_label_width(const struct out_table *t)
{
	size_t i, w = 0;

	for (i = 0; i < t->nfields; i++)
		if (t->fields[i].head != NULL && strlen(t->fields[i].head) > w)
			w = strlen(t->fields[i].head);
	return (int)w;
}

/* out_doc: one row as "label   value" lines (values glued to the one
 * before them share its line), or as a JSON object. */
int
out_doc(struct ctl *c, const struct out_table *t, const void *row)
{
	const struct out_field *f;
	const char *sep = "";
	int w = out_label_width(t) + 3;
	char buf[OUT_TEXT_MAX];
	size_t i;

	if (c->json)
		return out_json_dump(c, out_json_obj(t, row));
	for (i = 0; i < t->nfields; i++) {
		f = &t->fields[i];
		if (f->head != NULL) {
			fprintf(c->out, "%s%-*s", sep, w, f->head);
			sep = "\n";
		} else if (f->glue != NULL)
			fputs(f->glue, c->out);
		else
			continue;
		fputs(out_text(f, row, buf, sizeof(buf)), c->out);
	}
	fputc('\n', c->out);
	return 0;
}

/* out_parent: the index of the row a sub-table's row belongs to. */
static uint32_t
out_parent(const struct out_table *sub, const void *row)
{
	uint32_t v;

	memcpy(&v, (const char *)row + sub->parent_off, sizeof(v));
	return v;
}

/* out_json_nested: rows of t as objects, each with its sub-rows. */
static json_t *
out_json_nested(const struct out_table *t, const void *rows, size_t n,
    const void *subrows, size_t subn)
{
	const struct out_table *sub = t->sub;
	json_t *a = json_array(), *o, *sa;
	const void *r;
	size_t i, k;

	for (i = 0; a != NULL && i < n; i++) {
		o = out_json_obj(t, (const char *)rows + i * t->rowsize);
		sa = json_array();
		for (k = 0; sa != NULL && k < subn; k++) {
			r = (const char *)subrows + k * sub->rowsize;
			if (out_parent(sub, r) == i &&
			    json_array_append_new(sa, out_json_obj(sub, r)) !=
				0) {
				json_decref(sa);
				sa = NULL;
			}
		}
		/* json_object_set_new and json_array_append_new take their
		 * value's reference, even when they fail */
		if (o == NULL || sa == NULL) {
			json_decref(o);
			json_decref(sa);
			o = NULL;
		} else if (json_object_set_new(o, t->subkey, sa) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* out_nested: rows of t, each followed by the sub-table rows it owns. */
int
out_nested(struct ctl *c, const struct out_table *t, const void *rows, size_t n,
    const void *subrows, size_t subn)
{
	const struct out_table *sub = t->sub;
	const void *r;
	size_t i, k;

	if (c->json)
		return out_json_dump(c,
		    out_json_nested(t, rows, n, subrows, subn));
	out_head(c, t);
	fputs("  -> ", c->out);
	out_head(c, sub);
	for (i = 0; i < n; i++) {
		out_line(c, t, (const char *)rows + i * t->rowsize);
		for (k = 0; k < subn; k++) {
			r = (const char *)subrows + k * sub->rowsize;
			if (out_parent(sub, r) != i)
				continue;
			fputs("  -> ", c->out);
			out_line(c, sub, r);
		}
	}
	return 0;
}
