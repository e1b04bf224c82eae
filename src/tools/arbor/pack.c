// SPDX-License-Identifier: MIT
// pack.c -- a YAML value as one msgpack object: the `config:` of a child,
// handed to its actor as arb_child_spec.arg.
//
// Mappings become maps with string keys (whatever the key looks like),
// lists become arrays, quoted scalars strings, and plain scalars are typed
// by the YAML 1.2 core schema: null, true/false, integers (decimal, 0x,
// 0o), floats (.inf, .nan), else strings.  ${VAR} is expanded first, so
// `port: ${PORT:-8080}` packs an integer.  Depth and size are bounded
// (a recursive alias is an error, not a hang).  Thread: the caller's.

#include "doc.h"

#include <ctype.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define PACK_DEPTH_MAX 64

// is_float matches the YAML 1.2 core float forms (without inf/nan).
static bool
is_float(const char *s)
{
	const char *p = s;
	bool        digits = false;

	if (*p == '-' || *p == '+') {
		p++;
	}
	while (isdigit((unsigned char) *p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char) *p)) {
			p++;
			digits = true;
		}
	}
	if (!digits) {
		return false;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+') {
			p++;
		}
		if (!isdigit((unsigned char) *p)) {
			return false;
		}
		while (isdigit((unsigned char) *p)) {
			p++;
		}
	}
	return *p == '\0';
}

static bool
pack_scalar(
    arbor_doc *d, msgpack_packer *pk, yaml_node_t *n, const char *field)
{
	static const char *const inf[]
	    = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
	static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
	static const char *const nan_[] = { ".nan", ".NaN", ".NAN", NULL };
	const char              *s;
	bool                     plain, inrange;
	long long                v;

	if (!doc_scalar(d, n, field, &s, &plain)) {
		return false;
	}
	if (!plain) {
		msgpack_pack_str(pk, strlen(s));
		msgpack_pack_str_body(pk, s, strlen(s));
		return true;
	}
	if (doc_word_in(s, doc_null_words)) {
		msgpack_pack_nil(pk);
	} else if (doc_word_in(s, doc_true_words)) {
		msgpack_pack_true(pk);
	} else if (doc_word_in(s, doc_false_words)) {
		msgpack_pack_false(pk);
	} else if (doc_parse_int(s, &v, &inrange)) {
		if (!inrange) {
			doc_err(d, n, field, "integer %s is out of range", s);
			return false;
		}
		msgpack_pack_int64(pk, v);
	} else if (is_float(s)) {
		msgpack_pack_double(pk, strtod(s, NULL));
	} else if (doc_word_in(s, inf)) {
		msgpack_pack_double(pk, HUGE_VAL);
	} else if (doc_word_in(s, ninf)) {
		msgpack_pack_double(pk, -HUGE_VAL);
	} else if (doc_word_in(s, nan_)) {
		msgpack_pack_double(pk, NAN);
	} else {
		msgpack_pack_str(pk, strlen(s));
		msgpack_pack_str_body(pk, s, strlen(s));
	}
	return true;
}

static bool
pack_node(arbor_doc *d, msgpack_packer *pk, yaml_node_t *n, const char *field,
    int depth)
{
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	bool              ok = true;
	char              sub[160];

	if (depth > PACK_DEPTH_MAX || d->budget == 0) {
		d->budget = 0; // doc_pack reports it once, at the top
		return false;
	}
	d->budget--;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return pack_scalar(d, pk, n, field);
	case YAML_SEQUENCE_NODE:
		msgpack_pack_array(pk, doc_len(n));
		for (it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			ok = pack_node(d, pk,
			         yaml_document_get_node(&d->doc, *it), field,
			         depth + 1)
			    && ok;
			if (d->budget == 0) {
				return false;
			}
		}
		return ok;
	case YAML_MAPPING_NODE:
		// Keys are strings whatever they look like; duplicates and
		// non-scalar keys are errors (doc_map_check).
		if (!doc_map_check(d, n, field, NULL)) {
			return false;
		}
		msgpack_pack_map(pk,
		    (size_t) (n->data.mapping.pairs.top
		        - n->data.mapping.pairs.start));
		for (p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = doc_key(d, p, NULL);
			if (k == NULL) {
				k = "";
				ok = false;
			}
			msgpack_pack_str(pk, strlen(k));
			msgpack_pack_str_body(pk, k, strlen(k));
			doc_field(sub, sizeof(sub), field, k);
			ok = pack_node(d, pk,
			         yaml_document_get_node(&d->doc, p->value),
			         sub, depth + 1)
			    && ok;
			if (d->budget == 0) {
				return false;
			}
		}
		return ok;
	default:
		doc_err(d, n, field, "empty node");
		return false;
	}
}

bool
doc_pack(
    arbor_doc *d, yaml_node_t *n, const char *field, void **bufp, size_t *lenp)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	int             before = d->nerr;
	bool            ok;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ok = pack_node(d, &pk, n, field, 0) && d->nerr == before;
	if (d->budget == 0) {
		doc_err(d, n, field,
		    "nested deeper than %d levels or more than %lu values in "
		    "all (a recursive alias?)",
		    PACK_DEPTH_MAX, DOC_PACK_BUDGET);
		ok = false;
	}
	if (ok) {
		*bufp = arbor_arena_alloc(d->arena, sb.size);
		memcpy(*bufp, sb.data, sb.size);
		*lenp = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
	return ok;
}
