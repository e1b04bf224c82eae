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

#include "../core/arb_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PACK_DEPTH_MAX 64

// put checks a write of the msgpack writer: out of memory ends the
// program, as arb__xalloc does.
static void
put(int rv)
{
	if (rv != ARB_OK) {
		arb__oom();
	}
}

static void
put_str(arb__buf *b, const char *s)
{
	put(arb__mp_put_str(b, s, strlen(s)));
}

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
    arb__doc *d, arb__buf *pk, yaml_node_t *n, const char *field)
{
	static const char *const inf[]
	    = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
	static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
	static const char *const nan_[] = { ".nan", ".NaN", ".NAN", NULL };
	const char              *s;
	bool                     plain, inrange;
	long long                v;

	if (!arb__doc_scalar(d, n, field, &s, &plain)) {
		return false;
	}
	if (!plain) {
		put_str(pk, s);
		return true;
	}
	if (arb__doc_word_in(s, arb__doc_null_words)) {
		put(arb__mp_put_nil(pk));
	} else if (arb__doc_word_in(s, arb__doc_true_words)) {
		put(arb__mp_put_bool(pk, true));
	} else if (arb__doc_word_in(s, arb__doc_false_words)) {
		put(arb__mp_put_bool(pk, false));
	} else if (arb__doc_parse_int(s, &v, &inrange)) {
		if (!inrange) {
			arb__doc_err(
			    d, n, field, "integer %s is out of range", s);
			return false;
		}
		put(arb__mp_put_int(pk, v));
	} else if (is_float(s)) {
		put(arb__mp_put_double(pk, strtod(s, NULL)));
	} else if (arb__doc_word_in(s, inf)) {
		put(arb__mp_put_double(pk, HUGE_VAL));
	} else if (arb__doc_word_in(s, ninf)) {
		put(arb__mp_put_double(pk, -HUGE_VAL));
	} else if (arb__doc_word_in(s, nan_)) {
		put(arb__mp_put_double(pk, NAN));
	} else {
		put_str(pk, s);
	}
	return true;
}

static bool
pack_node(arb__doc *d, arb__buf *pk, yaml_node_t *n, const char *field,
    int depth)
{
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	bool              ok = true;
	char              sub[160];

	if (depth > PACK_DEPTH_MAX || d->budget == 0) {
		d->budget = 0; // arb__doc_pack reports it once, at the top
		return false;
	}
	d->budget--;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return pack_scalar(d, pk, n, field);
	case YAML_SEQUENCE_NODE:
		put(arb__mp_put_array(pk, (uint32_t) arb__doc_len(n)));
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
		// non-scalar keys are errors (arb__doc_map_check).
		if (!arb__doc_map_check(d, n, field, NULL)) {
			return false;
		}
		put(arb__mp_put_map(pk,
		    (uint32_t) (n->data.mapping.pairs.top
		        - n->data.mapping.pairs.start)));
		for (p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			const char *k = arb__doc_key(d, p, NULL);
			if (k == NULL) {
				k = "";
				ok = false;
			}
			put_str(pk, k);
			arb__doc_field(sub, sizeof(sub), field, k);
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
		arb__doc_err(d, n, field, "empty node");
		return false;
	}
}

bool
arb__doc_pack(
    arb__doc *d, yaml_node_t *n, const char *field, void **bufp, size_t *lenp)
{
	arb__buf sb = { 0 };
	int      before = d->nerr;
	bool     ok;

	ok = pack_node(d, &sb, n, field, 0) && d->nerr == before;
	if (d->budget == 0) {
		arb__doc_err(d, n, field,
		    "nested deeper than %d levels or more than %lu values in "
		    "all (a recursive alias?)",
		    PACK_DEPTH_MAX, DOC_PACK_BUDGET);
		ok = false;
	}
	if (ok) {
		*bufp = arb__arena_alloc(d->arena, sb.len);
		memcpy(*bufp, sb.data, sb.len);
		*lenp = sb.len;
	}
	arb__buf_fini(&sb);
	return ok;
}
