// SPDX-License-Identifier: MIT
// doc.c -- typed, position-aware access to one YAML document (doc.h).
//
// libyaml's loader builds the node graph (anchors and aliases resolved);
// this file reads it.  Scalars are expanded (${VAR}, ${VAR:-default},
// "$$" for a literal "$") every time they are read, and every problem is
// recorded with the node's position instead of stopping.  Packing values
// for actors is pack.c.  Thread: the caller's.

#include "doc.h"

#include "../core/arb_impl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// --- Problems ---------------------------------------------------------------

int
arb__doc_line(const yaml_node_t *n)
{
	return n != NULL ? (int) n->start_mark.line + 1 : 0;
}

// doc_first is true the first time text is seen in this document: an
// alias used a thousand times makes the same problem at the same place a
// thousand times, which is one problem.  The set keeps 64-bit FNV-1a
// hashes of the texts (open addressing, at most half full).
static bool
doc_first(arb__doc *d, const char *text)
{
	uint64_t       h = 14695981039346656037ull;
	const uint8_t *p;
	uint64_t      *old;
	size_t         i, j, oldcap;

	for (p = (const uint8_t *) text; *p != '\0'; p++) {
		h = (h ^ *p) * 1099511628211ull;
	}
	h = h != 0 ? h : 1; // 0 marks a free slot
	if (2 * (d->nseen + 1) > d->capseen) {
		old = d->seen;
		oldcap = d->capseen;
		d->capseen = oldcap ? 2 * oldcap : 64;
		d->seen = arb__xalloc(d->capseen * sizeof(*d->seen));
		for (i = 0; i < oldcap; i++) {
			if (old[i] == 0) {
				continue;
			}
			for (j = old[i] & (d->capseen - 1); d->seen[j] != 0;
			     j = (j + 1) & (d->capseen - 1)) { }
			d->seen[j] = old[i];
		}
		free(old);
	}
	for (j = h & (d->capseen - 1); d->seen[j] != 0;
	     j = (j + 1) & (d->capseen - 1)) {
		if (d->seen[j] == h) {
			return false;
		}
	}
	d->seen[j] = h;
	d->nseen++;
	return true;
}

void
arb__doc_err(arb__doc *d, const yaml_node_t *at, const char *field,
    const char *fmt, ...)
{
	char    msg[512];
	char    text[1024];
	va_list ap;
	int     line = 0, col = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at != NULL) {
		line = (int) at->start_mark.line + 1;
		col = (int) at->start_mark.column + 1;
		snprintf(text, sizeof(text), "%s:%d:%d: %s: %s", d->file, line,
		    col, field, msg);
	} else {
		snprintf(
		    text, sizeof(text), "%s: %s: %s", d->file, field, msg);
	}
	if (!doc_first(d, text)) {
		return;
	}
	if (d->nerr < DOC_ERRS_MAX) {
		arb__errs_add(d->errs, line, col, text);
	} // else counted: arb__tree_load says how many more
	d->nerr++;
}

const char *
arb__doc_kind(const yaml_node_t *n)
{
	if (n == NULL) {
		return "nothing";
	}
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

// --- Document ---------------------------------------------------------------

// doc_problem records a problem about the whole file ("FILE: what").
static void doc_problem(arb__doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
doc_problem(arb__doc *d, const char *fmt, ...)
{
	char    msg[512], text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%s: %s", d->file, msg);
	arb__errs_add(d->errs, 0, 0, text);
	d->nerr++;
}

// doc_text_ok is false, after recording why, when what was read cannot
// be a tree file's text: nothing from a FIFO or device (a FIFO without a
// writer reads as empty: "the file is empty" would be wrong), or text
// that starts with a UTF-16 or UTF-32 byte-order mark, or with one NUL
// byte of two (UTF-16 without one): the files are UTF-8 (libyaml would
// decode some of it, and say "control characters" or "a scalar" for
// the rest).
static bool
doc_text_ok(arb__doc *d, const struct stat *st, const uint8_t *b, size_t len)
{
	if (len == 0 && !S_ISREG(st->st_mode)) {
		doc_problem(d,
		    "not a regular file, and nothing was read from it%s",
		    S_ISFIFO(st->st_mode) ? " (a FIFO without a writer?)"
		                          : "");
		return false;
	}
	if (len >= 4
	    && ((b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0)
	        || (b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF))) {
		doc_problem(d, "UTF-32 text: tree files are UTF-8");
		return false;
	}
	if (len >= 2
	    && ((b[0] == 0xFF && b[1] == 0xFE)
	        || (b[0] == 0xFE && b[1] == 0xFF))) {
		doc_problem(d, "UTF-16 text: tree files are UTF-8");
		return false;
	}
	if (len >= 2 && (b[0] == 0) != (b[1] == 0)) {
		doc_problem(d,
		    "UTF-16 text (no byte-order mark): tree files are UTF-8");
		return false;
	}
	return true;
}

// doc_read reads the whole file into *bufp (NUL-terminated, free it),
// at most DOC_FILE_MAX bytes, within DOC_READ_MS: a pipe or FIFO whose
// writer never finishes is a problem, not a hang.  A cancel_fd that
// becomes readable (not -1) stops the read.  Returns 0, or -1 after
// recording why.
static int
doc_read(arb__doc *d, int cancel_fd, char **bufp, size_t *lenp)
{
	struct pollfd pf[2];
	struct stat   st;
	char         *buf = NULL, *nb;
	size_t        len = 0, cap = 0;
	int64_t       deadline = arb__now_ms() + DOC_READ_MS;
	ssize_t       n = -1;
	int           fd, left;

	// O_NONBLOCK: opening a FIFO must not wait for its writer (a FIFO
	// without one reads as empty).
	fd = open(d->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		doc_problem(d, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		doc_problem(d, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		doc_problem(d, "is a directory, not a tree file");
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size > DOC_FILE_MAX) {
		doc_problem(d, "%lld bytes: a tree file has at most %d MiB",
		    (long long) st.st_size, DOC_FILE_MAX >> 20);
		close(fd);
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 16384;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				close(fd);
				arb__oom();
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n > 0) {
			len += (size_t) n;
			if (len > DOC_FILE_MAX) {
				doc_problem(d,
				    "more than %d MiB: a tree file has at "
				    "most "
				    "%d MiB",
				    DOC_FILE_MAX >> 20, DOC_FILE_MAX >> 20);
				break;
			}
			continue;
		}
		if (n == 0) {
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN) {
			doc_problem(d, "%s", strerror(errno));
			break;
		}
		left = (int) (deadline - arb__now_ms());
		if (left <= 0) {
			doc_problem(d,
			    "not read to its end within %d s (a pipe whose "
			    "writer does not finish?)",
			    DOC_READ_MS / 1000);
			break;
		}
		pf[0] = (struct pollfd) { .fd = fd, .events = POLLIN };
		pf[1] = (struct pollfd) { .fd = cancel_fd, .events = POLLIN };
		if (poll(pf, cancel_fd >= 0 ? 2 : 1, left) > 0
		    && cancel_fd >= 0 && pf[1].revents != 0) {
			doc_problem(d,
			    "reading was cancelled (the node is "
			    "stopping)");
			break;
		}
	}
	close(fd);
	if (n == 0 && doc_text_ok(d, &st, (const uint8_t *) buf, len)) {
		buf[len] = '\0';
		*bufp = buf;
		*lenp = len;
		return 0;
	}
	free(buf);
	return -1;
}

// doc_syntax records libyaml's problem, with its position and, often,
// the construct it was in.
static void
doc_syntax(arb__doc *d, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = &parser->problem_mark;
	char               text[1024];

	if (parser->context != NULL) {
		snprintf(text, sizeof(text),
		    "%s:%d:%d: yaml: %s %s started at line %d", d->file,
		    (int) m->line + 1, (int) m->column + 1,
		    parser->problem ? parser->problem : "syntax error",
		    parser->context, (int) parser->context_mark.line + 1);
	} else {
		snprintf(text, sizeof(text), "%s:%d:%d: yaml: %s", d->file,
		    (int) m->line + 1, (int) m->column + 1,
		    parser->problem ? parser->problem : "syntax error");
	}
	arb__errs_add(d->errs, (int) m->line + 1, (int) m->column + 1, text);
	d->nerr++;
}

// doc_bounded reads the events of the text once and stops at the first
// collection nested deeper than DOC_DEPTH_MAX, or past DOC_NODES_MAX
// nodes.  libyaml's scanner costs the nesting depth for every token, so a
// file of 100,000 nested "[" takes it time quadratic in its size, and its
// loader would build all of it: checked first, the cost stays linear.
// Syntax errors are recorded here too.  Returns 0 or -1.
static int
doc_bounded(arb__doc *d, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t  ev;
	char          msg[1024];
	long          depth = 0, nodes = 0;
	int           rv = 0;
	bool          done = false;

	if (!yaml_parser_initialize(&parser)) {
		arb__oom();
	}
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *) text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			doc_syntax(d, &parser);
			rv = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			nodes++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			nodes++;
			break;
		default:
			break;
		}
		if (!done
		    && (depth > DOC_DEPTH_MAX || nodes > DOC_NODES_MAX)) {
			snprintf(msg, sizeof(msg),
			    depth > DOC_DEPTH_MAX
			        ? "%s:%d:%d: yaml: nested deeper than %d "
			          "levels"
			        : "%s:%d:%d: yaml: more than %d values in one "
			          "file",
			    d->file, (int) ev.start_mark.line + 1,
			    (int) ev.start_mark.column + 1,
			    depth > DOC_DEPTH_MAX ? DOC_DEPTH_MAX
			                          : DOC_NODES_MAX);
			arb__errs_add(d->errs, (int) ev.start_mark.line + 1,
			    (int) ev.start_mark.column + 1, msg);
			d->nerr++;
			rv = -1;
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rv;
}

// --- Merge keys -------------------------------------------------------------

// A key and where it came from, for merging: from 0 the mapping's own
// keys, then each merged mapping in turn (the first one wins).
typedef struct doc_mkey {
	const char *k;
	size_t      from, i;
	int         key, value; // node indexes
} doc_mkey;

static void *
doc_grow(void *p, size_t n)
{
	void *np = realloc(p, n);

	if (np == NULL) {
		free(p);
		arb__oom();
	}
	return np;
}

// By key (keys that are not scalars first), then in the order found.
static int
doc_mkey_cmp(const void *a, const void *b)
{
	const doc_mkey *x = a, *y = b;
	int             c;

	if ((x->k == NULL) != (y->k == NULL)) {
		return x->k == NULL ? -1 : 1;
	}
	c = x->k != NULL ? strcmp(x->k, y->k) : 0;

	if (c != 0) {
		return c;
	}
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
doc_mkey_order(const void *a, const void *b)
{
	const doc_mkey *x = a, *y = b;

	return x->i < y->i ? -1 : x->i > y->i;
}

// doc_is_merge is true for a plain `<<` key (or one tagged !!merge).
static bool
doc_is_merge(const yaml_node_t *k)
{
	return k != NULL && k->type == YAML_SCALAR_NODE
	    && ((k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
	            && strcmp((const char *) k->data.scalar.value, "<<") == 0)
	        || (k->tag != NULL
	            && strcmp((const char *) k->tag, "tag:yaml.org,2002:merge")
	                == 0));
}

// doc_merge_one resolves the merge keys of the mapping at index mi: its
// `<<` pairs go, and the keys of the mappings they name (a mapping or a
// list of mappings) that it has not got are added, the first merged
// mapping winning, as YAML 1.1 merge does.  The merged mappings come
// before mi in the document (an alias names an earlier node), so their
// own merges are done already.  *budget counts the keys added; *over
// is set when they are too many.
static void
doc_merge_one(arb__doc *d, int mi, size_t *budget, bool *over)
{
	yaml_node_t      *m = yaml_document_get_node(&d->doc, mi), *v, *src;
	yaml_node_pair_t *p, *q;
	yaml_node_item_t *it;
	doc_mkey         *v_keys = NULL;
	size_t            n = 0, cap = 0, from = 0, i, w, nsrc;
	int               srcs[64];

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		if (doc_is_merge(yaml_document_get_node(&d->doc, p->key))) {
			break;
		}
	}
	if (p == m->data.mapping.pairs.top) {
		return; // nothing to merge: the common case
	}
	// The mapping's own keys, then each merged mapping's, in order.
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);

		if (doc_is_merge(k)) {
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v_keys = doc_grow(v_keys, cap * sizeof(*v_keys));
		}
		v_keys[n] = (doc_mkey) { .k
			= k != NULL && k->type == YAML_SCALAR_NODE
			    ? (const char *) k->data.scalar.value
			    : NULL,
			.from = 0,
			.i = n,
			.key = p->key,
			.value = p->value };
		n++;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);

		if (!doc_is_merge(k)) {
			continue;
		}
		v = yaml_document_get_node(&d->doc, p->value);
		nsrc = 0;
		if (v != NULL && v->type == YAML_MAPPING_NODE) {
			srcs[nsrc++] = p->value;
		} else if (v != NULL && v->type == YAML_SEQUENCE_NODE) {
			for (it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top && nsrc < 64;
			     it++) {
				src = yaml_document_get_node(&d->doc, *it);
				if (src == NULL
				    || src->type != YAML_MAPPING_NODE) {
					arb__doc_err(d, src, "<<",
					    "a merge key takes a mapping or a "
					    "list of mappings, not a list "
					    "holding %s",
					    arb__doc_kind(src));
					continue;
				}
				srcs[nsrc++] = *it;
			}
			if (it < v->data.sequence.items.top) {
				arb__doc_err(d, v, "<<",
				    "a merge key takes at most 64 mappings");
			}
		} else {
			arb__doc_err(d, v, "<<",
			    "a merge key takes a mapping or a list of "
			    "mappings, not %s",
			    arb__doc_kind(v));
		}
		for (i = 0; i < nsrc; i++) {
			if (srcs[i] == mi) {
				arb__doc_err(d, v, "<<",
				    "a mapping cannot merge itself");
				continue;
			}
			src = yaml_document_get_node(&d->doc, srcs[i]);
			from++;
			for (q = src->data.mapping.pairs.start;
			     q < src->data.mapping.pairs.top; q++) {
				yaml_node_t *k2
				    = yaml_document_get_node(&d->doc, q->key);

				if (*budget == 0) {
					arb__doc_err(d, k, "<<",
					    "merge keys add more than %d keys "
					    "in one file",
					    DOC_NODES_MAX);
					*over = true; // said once
					goto out;
				}
				(*budget)--;
				if (k2 == NULL
				    || k2->type != YAML_SCALAR_NODE) {
					continue; // reported where it stands
				}
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					v_keys = doc_grow(
					    v_keys, cap * sizeof(*v_keys));
				}
				v_keys[n] = (doc_mkey) {
					.k
					= (const char *) k2->data.scalar.value,
					.from = from,
					.i = n,
					.key = q->key,
					.value = q->value,
				};
				n++;
			}
		}
	}
	// Keep the first of each key (the mapping's own first: its
	// duplicates stay, for doc_dups to report), in the order found.
	qsort(v_keys, n, sizeof(*v_keys), doc_mkey_cmp);
	for (i = 0, w = 0; i < n; i++) {
		if (v_keys[i].from != 0 && v_keys[i].k != NULL && w > 0
		    && v_keys[w - 1].k != NULL
		    && strcmp(v_keys[w - 1].k, v_keys[i].k) == 0) {
			continue;
		}
		v_keys[w++] = v_keys[i];
	}
	qsort(v_keys, w, sizeof(*v_keys), doc_mkey_order);
	// Rewrite the pairs: the own ones stay where they are.
	m->data.mapping.pairs.top = m->data.mapping.pairs.start;
	for (i = 0; i < w; i++) {
		if (!yaml_document_append_mapping_pair(
		        &d->doc, mi, v_keys[i].key, v_keys[i].value)) {
			arb__oom();
		}
		m = yaml_document_get_node(&d->doc, mi);
	}
out:
	free(v_keys);
}

// doc_merge resolves every merge key (`<<: *defaults`) of the document,
// earliest node first.
static void
doc_merge(arb__doc *d)
{
	size_t budget = DOC_NODES_MAX;
	bool   over = false;
	int    i, n = (int) (d->doc.nodes.top - d->doc.nodes.start);

	for (i = 1; i <= n && !over; i++) {
		yaml_node_t *m = yaml_document_get_node(&d->doc, i);

		if (m != NULL && m->type == YAML_MAPPING_NODE) {
			doc_merge_one(d, i, &budget, &over);
		}
	}
}

int
arb__doc_open(arb__doc *d, const char *file, int cancel_fd, arb__errs *errs,
    arb__arena *arena)
{
	yaml_parser_t   parser;
	yaml_document_t extra;
	char           *text = NULL;
	char            msg[1024];
	size_t          len = 0;
	int             rv = 0;

	memset(d, 0, sizeof(*d));
	d->file = file;
	d->errs = errs;
	d->arena = arena;
	d->budget = DOC_PACK_BUDGET;
	if (doc_read(d, cancel_fd, &text, &len) != 0) {
		return -1;
	}
	if (doc_bounded(d, text, len) != 0) {
		free(text);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		arb__oom();
	}
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *) text, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		doc_syntax(d, &parser);
		rv = -1;
		goto out;
	}
	d->loaded = true;
	if (yaml_document_get_root_node(&d->doc) == NULL) {
		doc_problem(d, "the file is empty");
		rv = -1;
		goto out;
	}
	// One document per file: a second one is a mistake, not a feature.
	if (!yaml_parser_load(&parser, &extra)) {
		doc_syntax(d, &parser);
		rv = -1;
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		snprintf(msg, sizeof(msg),
		    "%s:%d:%d: ---: a tree file holds one YAML document", file,
		    (int) extra.start_mark.line + 1,
		    (int) extra.start_mark.column + 1);
		arb__errs_add(errs, (int) extra.start_mark.line + 1,
		    (int) extra.start_mark.column + 1, msg);
		d->nerr++;
		rv = -1;
	}
	yaml_document_delete(&extra);
	if (rv == 0) {
		doc_merge(d);
		rv = d->nerr > 0 ? -1 : 0;
	}
out:
	yaml_parser_delete(&parser);
	free(text);
	return rv;
}

void
arb__doc_close(arb__doc *d)
{
	free(d->seen);
	d->seen = NULL;
	d->nseen = 0;
	d->capseen = 0;
	if (d->loaded) {
		yaml_document_delete(&d->doc);
		d->loaded = false;
	}
}

yaml_node_t *
arb__doc_root(arb__doc *d)
{
	return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

// --- Mappings and lists -----------------------------------------------------

const char *
arb__doc_key(arb__doc *d, yaml_node_pair_t *pair, yaml_node_t **keyp)
{
	yaml_node_t *k = yaml_document_get_node(&d->doc, pair->key);

	if (keyp != NULL) {
		*keyp = k;
	}
	if (k == NULL || k->type != YAML_SCALAR_NODE) {
		return NULL;
	}
	return (const char *) k->data.scalar.value;
}

yaml_node_t *
arb__doc_get(
    arb__doc *d, yaml_node_t *map, const char *key, yaml_node_t **keyp)
{
	yaml_node_pair_t *p;
	const char       *k;

	if (keyp != NULL) {
		*keyp = NULL;
	}
	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		return NULL;
	}
	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn;
		if ((k = arb__doc_key(d, p, &kn)) != NULL
		    && strcmp(k, key) == 0) {
			if (keyp != NULL) {
				*keyp = kn;
			}
			return yaml_document_get_node(&d->doc, p->value);
		}
	}
	return NULL;
}

void
arb__doc_field(char *buf, size_t len, const char *prefix, const char *key)
{
	if (prefix != NULL && prefix[0] != '\0') {
		snprintf(buf, len, "%s.%s", prefix, key);
	} else {
		snprintf(buf, len, "%s", key);
	}
}

// A key of a mapping and its position, for finding duplicates.
typedef struct doc_key {
	const char  *k;
	size_t       i;
	yaml_node_t *node;
} doc_key;

static int
doc_key_cmp(const void *a, const void *b)
{
	const doc_key *x = a, *y = b;
	int            c = strcmp(x->k, y->k);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

// doc_dups reports every key of map that an earlier one repeats, at the
// repeat, with the line of the first.  Sorted, so that a mapping of
// 100,000 keys costs n log n, not n squared.
static void
doc_dups(arb__doc *d, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *p;
	doc_key          *v;
	size_t            n = 0, i, first = 0;
	char              field[160];

	v = arb__xalloc(((size_t) (map->data.mapping.pairs.top
	                     - map->data.mapping.pairs.start)
	                    + 1)
	    * sizeof(*v));
	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		if ((v[n].k = arb__doc_key(d, p, &v[n].node)) != NULL) {
			v[n].i = n;
			n++;
		}
	}
	qsort(v, n, sizeof(*v), doc_key_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].k, v[first].k) != 0) {
			first = i;
			continue;
		}
		arb__doc_field(field, sizeof(field), prefix, v[i].k);
		arb__doc_err(d, v[i].node, field,
		    "duplicate key (first at line %d)",
		    arb__doc_line(v[first].node));
	}
	free(v);
}

bool
arb__doc_map_check(arb__doc *d, yaml_node_t *map, const char *prefix,
    const char *const *allowed)
{
	yaml_node_pair_t *p;
	const char       *k;
	char              field[160];
	char              list[512];
	size_t            i, used;

	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		arb__doc_err(d, map, prefix && *prefix ? prefix : "(top)",
		    "expected a mapping (key: value lines), got %s",
		    arb__doc_kind(map));
		return false;
	}
	for (p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn;
		if ((k = arb__doc_key(d, p, &kn)) == NULL) {
			arb__doc_err(d, kn,
			    prefix && *prefix ? prefix : "(top)",
			    "keys must be plain words, not %s",
			    arb__doc_kind(kn));
			continue;
		}
		arb__doc_field(field, sizeof(field), prefix, k);
		if (allowed == NULL) {
			continue;
		}
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], k) == 0) {
				break;
			}
		}
		if (allowed[i] != NULL) {
			continue;
		}
		list[0] = '\0';
		used = 0;
		for (i = 0; allowed[i] != NULL && used < sizeof(list); i++) {
			int n = snprintf(list + used, sizeof(list) - used,
			    "%s%s", i ? ", " : "", allowed[i]);
			used += n > 0 ? (size_t) n : 0;
		}
		arb__doc_err(
		    d, kn, field, "unknown key (expected one of: %s)", list);
	}
	doc_dups(d, map, prefix);
	return true;
}

yaml_node_t *
arb__doc_item(arb__doc *d, yaml_node_t *seq, size_t i)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE
	    || i >= arb__doc_len(seq)) {
		return NULL;
	}
	return yaml_document_get_node(
	    &d->doc, seq->data.sequence.items.start[i]);
}

size_t
arb__doc_len(const yaml_node_t *seq)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE) {
		return 0;
	}
	return (size_t) (seq->data.sequence.items.top
	    - seq->data.sequence.items.start);
}

yaml_node_t *
arb__doc_find(arb__doc *d, yaml_node_t *map, const char *path, bool *exact)
{
	yaml_node_t *at = map, *cur = map, *key;
	char         part[64];
	const char  *p = path;
	char        *end;
	size_t       n;
	unsigned long idx;

	*exact = false;
	while (*p != '\0') {
		if (*p == '[') {
			// A list item: "[i]".
			idx = strtoul(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' ||
			    (cur = arb__doc_item(d, cur, idx)) == NULL) {
				return at;
			}
			at = cur;
			p  = end + 1;
		} else {
			n = strcspn(p, ".[");
			if (n == 0 || n >= sizeof(part)) {
				return at;
			}
			memcpy(part, p, n);
			part[n] = '\0';
			if ((cur = arb__doc_get(d, cur, part, &key)) == NULL) {
				return at;
			}
			at = key;
			p += n;
		}
		if (*p == '\0') {
			*exact = true;
			return at;
		}
		if (*p == '.') {
			p++;
		}
	}
	return at;
}

// --- Scalars ----------------------------------------------------------------

typedef struct sbuf {
	char  *p;
	size_t n;
	size_t cap;
} sbuf;

static void
sbuf_add(sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char  *p = realloc(b->p, cap);
		if (p == NULL) {
			arb__oom();
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

// expand substitutes ${VAR}, ${VAR:-default} and $$ in s.
static bool
expand(arb__doc *d, yaml_node_t *n, const char *field, const char *s,
    const char **outp)
{
	sbuf        b = { 0 };
	const char *p, *end, *val;
	char        name[128];
	size_t      nl;
	bool        ok = true;

	if (strchr(s, '$') == NULL) {
		// A copy: the configuration outlives the document.
		*outp = arb__arena_strdup(d->arena, s);
		return true;
	}
	sbuf_add(&b, "", 0);
	for (p = s; *p != '\0';) {
		if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
			sbuf_add(&b, p, 1);
			p++;
			continue;
		}
		if (p[1] == '$') {
			sbuf_add(&b, "$", 1);
			p += 2;
			continue;
		}
		if ((end = strchr(p + 2, '}')) == NULL) {
			arb__doc_err(
			    d, n, field, "unterminated ${ in \"%s\"", s);
			ok = false;
			break;
		}
		nl = strspn(p + 2,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789_");
		if (nl == 0 || nl >= sizeof(name)
		    || isdigit((unsigned char) p[2])
		    || (p[2 + nl] != '}'
		        && strncmp(p + 2 + nl, ":-", 2) != 0)) {
			arb__doc_err(d, n, field,
			    "bad substitution \"%.*s\" (use ${VAR} or "
			    "${VAR:-default}, $$ for a dollar)",
			    (int) (end - p + 1), p);
			ok = false;
			break;
		}
		memcpy(name, p + 2, nl);
		name[nl] = '\0';
		val = getenv(name);
		if (p[2 + nl] == ':') {
			if (val == NULL || val[0] == '\0') {
				const char *def = p + 2 + nl + 2;
				sbuf_add(&b, def, (size_t) (end - def));
				val = NULL;
			}
		} else if (val == NULL) {
			arb__doc_err(d, n, field,
			    "${%s} is not set and has no default "
			    "(write ${%s:-default})",
			    name, name);
			ok = false;
			break;
		}
		if (val != NULL) {
			sbuf_add(&b, val, strlen(val));
		}
		p = end + 1;
	}
	if (ok) {
		*outp = arb__arena_strdup(d->arena, b.p);
	}
	free(b.p);
	return ok;
}

bool
arb__doc_scalar(arb__doc *d, yaml_node_t *n, const char *field,
    const char **sp, bool *plainp)
{
	const char *s;

	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		arb__doc_err(d, n, field, "expected a single value, got %s",
		    arb__doc_kind(n));
		return false;
	}
	s = (const char *) n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		arb__doc_err(d, n, field, "contains a NUL character");
		return false;
	}
	if (plainp != NULL) {
		*plainp = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	}
	return expand(d, n, field, s, sp);
}

bool
arb__doc_string(
    arb__doc *d, yaml_node_t *n, const char *field, const char **sp)
{
	const char *s;

	if (!arb__doc_scalar(d, n, field, &s, NULL)) {
		return false;
	}
	if (s[0] == '\0') {
		arb__doc_err(d, n, field, "must not be empty");
		return false;
	}
	*sp = s;
	return true;
}

bool
arb__doc_word_in(const char *s, const char *const *words)
{
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(s, words[i]) == 0) {
			return true;
		}
	}
	return false;
}

const char *const arb__doc_true_words[] = { "true", "True", "TRUE", NULL };
const char *const arb__doc_false_words[] = { "false", "False", "FALSE", NULL };
const char *const arb__doc_null_words[]
    = { "", "~", "null", "Null", "NULL", NULL };

bool
arb__doc_bool(arb__doc *d, yaml_node_t *n, const char *field, bool *bp)
{
	const char *s;

	if (!arb__doc_scalar(d, n, field, &s, NULL)) {
		return false;
	}
	if (arb__doc_word_in(s, arb__doc_true_words)) {
		*bp = true;
		return true;
	}
	if (arb__doc_word_in(s, arb__doc_false_words)) {
		*bp = false;
		return true;
	}
	arb__doc_err(d, n, field, "expected true or false, not \"%s\"", s);
	return false;
}

// arb__doc_parse_int reads a YAML 1.2 core integer: [-+]?[0-9]+, 0x..., 0o...
bool
arb__doc_parse_int(const char *s, long long *vp, bool *rangep)
{
	const char        *p = s;
	char              *end;
	int                base = 10;
	bool               neg = false;
	unsigned long long u;

	*rangep = true;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && s == p) {
		base = p[1] == 'x' ? 16 : 8;
		p += 2;
	}
	if (*p == '\0' || !isxdigit((unsigned char) *p)) {
		return false;
	}
	errno = 0;
	u = strtoull(p, &end, base);
	if (*end != '\0') {
		return false;
	}
	if (errno == ERANGE || u > (unsigned long long) LLONG_MAX + neg) {
		*rangep = false;
		return true;
	}
	*vp = neg ? (long long) (0 - u) : (long long) u;
	return true;
}

bool
arb__doc_int(arb__doc *d, yaml_node_t *n, const char *field, long long lo,
    long long hi, long long *vp)
{
	const char *s;
	long long   v = 0;
	bool        inrange;

	if (!arb__doc_scalar(d, n, field, &s, NULL)) {
		return false;
	}
	if (!arb__doc_parse_int(s, &v, &inrange)) {
		arb__doc_err(
		    d, n, field, "expected an integer, not \"%s\"", s);
		return false;
	}
	if (!inrange || v < lo || v > hi) {
		arb__doc_err(d, n, field, "%s is out of range (%lld to %lld)",
		    s, lo, hi);
		return false;
	}
	*vp = v;
	return true;
}

int
arb__doc_parse_duration(const char *s, int *msp)
{
	int64_t ms;

	if (arb__parse_dur_ms(s, &ms) != ARB_OK || ms > INT_MAX) {
		return -1;
	}
	*msp = (int) ms;
	return 0;
}

bool
arb__doc_duration(arb__doc *d, yaml_node_t *n, const char *field, int lo,
    int hi, const arb__doc_word *specials, int *msp)
{
	const char *s;
	int         ms;
	size_t      i;

	if (!arb__doc_scalar(d, n, field, &s, NULL)) {
		return false;
	}
	for (i = 0; specials != NULL && specials[i].word != NULL; i++) {
		if (strcmp(s, specials[i].word) == 0) {
			*msp = specials[i].value;
			return true;
		}
	}
	if (arb__doc_parse_duration(s, &ms) != 0) {
		char    extra[128] = "";
		size_t  used = 0;
		int64_t big;

		// A duration past INT_MAX ms ("100000h") is one, out of any
		// range here: say the range, not "not a duration".
		if (arb__parse_dur_ms(s, &big) == ARB_OK) {
			arb__doc_err(d, n, field,
			    "%s is out of range (%d ms to %d ms)", s, lo, hi);
			return false;
		}
		for (i = 0; specials != NULL && specials[i].word != NULL;
		     i++) {
			int w = snprintf(extra + used, sizeof(extra) - used,
			    ", %s", specials[i].word);
			used += w > 0 ? (size_t) w : 0;
			if (used >= sizeof(extra)) {
				break;
			}
		}
		arb__doc_err(d, n, field,
		    "\"%s\" is not a duration (milliseconds, or a number with "
		    "ms, s, m or h: \"250ms\", \"5s\"%s)",
		    s, extra);
		return false;
	}
	if (ms < lo || ms > hi) {
		arb__doc_err(d, n, field,
		    "%s is out of range (%d ms to %d ms)", s, lo, hi);
		return false;
	}
	*msp = ms;
	return true;
}

bool
arb__doc_enum(arb__doc *d, yaml_node_t *n, const char *field,
    const arb__doc_word *words, int *vp)
{
	const char *s;
	char        list[256];
	size_t      i, used = 0;

	if (!arb__doc_scalar(d, n, field, &s, NULL)) {
		return false;
	}
	list[0] = '\0';
	for (i = 0; words[i].word != NULL; i++) {
		int w;
		if (strcmp(s, words[i].word) == 0) {
			*vp = words[i].value;
			return true;
		}
		w = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? ", " : "", words[i].word);
		used += w > 0 ? (size_t) w : 0;
		if (used >= sizeof(list)) {
			used = sizeof(list) - 1;
		}
	}
	arb__doc_err(d, n, field, "unknown value \"%s\" (expected one of: %s)",
	    s, list);
	return false;
}
