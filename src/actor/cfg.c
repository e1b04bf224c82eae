// SPDX-License-Identifier: MIT
// cfg.c -- reading an actor's config (arb_cfg_* in actor.h).
//
// The config is decoded once into a value tree (mpval.c); views point
// into it and carry their key path ("exit.after", "ports[2]").  Getters
// leave the caller's default alone when a key is absent, and record
// "what is wrong" under the key path when it is present but bad, so the
// check hook and init read the config with the same code and one pass
// reports every problem.  Every view and problem is owned by the config
// and freed with it.  Thread: the caller's (one thread at a time).

#include "actor_int.h"

#include <stdio.h>
#include <string.h>

#define CFG_PROBLEMS_MAX 100 // recorded; more are only counted
#define CFG_TEXT_MAX     256
#define CFG_KEY_MAX      200

typedef struct cfg_problem {
	char key[CFG_KEY_MAX];
	char text[CFG_TEXT_MAX];
} cfg_problem;

typedef struct cfg_root {
	arb__val    *tree;  // NULL: no config, or not decodable
	cfg_problem *probs; // CFG_PROBLEMS_MAX, allocated at the first one
	size_t       nprobs;
	size_t       count; // every problem, recorded or not
	arb_cfg     *views; // every view but the root
	arb_cfg     *root;
} cfg_root;

struct arb_cfg {
	cfg_root       *r;    // NULL only for cfg_dead
	const arb__val *v;    // NULL: an empty view
	arb_cfg        *next; // in r->views
	char            path[CFG_KEY_MAX];
};

// The view handed out when memory for a view is exhausted: empty, and it
// records nothing (the out-of-memory problem was recorded instead).
static arb_cfg cfg_dead;

// cfg_join writes a, sep and b into out, cut to len (a path that long is
// a config nobody writes by hand; the cut one still names the place).
static void
cfg_join(char *out, size_t len, const char *a, const char *sep, const char *b)
{
	if (snprintf(out, len, "%s%s%s", a, sep, b) >= (int) len) {
		out[len - 1] = '\0';
	}
}

// cfg_key joins the view's path and key into out.
static void
cfg_key(const arb_cfg *c, const char *key, char *out, size_t len)
{
	if (key == NULL || key[0] == '\0') {
		cfg_join(out, len, c->path, "", "");
	} else if (c->path[0] == '\0') {
		cfg_join(out, len, key, "", "");
	} else {
		cfg_join(out, len, c->path, ".", key);
	}
}

static void
cfg_vrecord(arb_cfg *c, const char *key, const char *fmt, va_list ap)
{
	cfg_root    *r = c->r;
	cfg_problem *p;

	if (r == NULL) {
		return;
	}
	r->count++;
	if (r->probs == NULL) {
		r->probs = arb__alloc(CFG_PROBLEMS_MAX * sizeof(*r->probs));
	}
	if (r->probs == NULL || r->nprobs == CFG_PROBLEMS_MAX) {
		return; // counted only
	}
	p = &r->probs[r->nprobs++];
	cfg_key(c, key, p->key, sizeof(p->key));
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
}

static void cfg_record(arb_cfg *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cfg_record(arb_cfg *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vrecord(c, key, fmt, ap);
	va_end(ap);
}

void
arb_cfg_err(arb_cfg *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL) {
		return;
	}
	va_start(ap, fmt);
	cfg_vrecord(c, key, fmt, ap);
	va_end(ap);
}

// cfg_view makes a view of v (NULL: empty) under path.
static arb_cfg *
cfg_view(arb_cfg *c, const arb__val *v, const char *path)
{
	arb_cfg *nv;

	if (c->r == NULL) {
		return &cfg_dead;
	}
	if ((nv = arb__alloc(sizeof(*nv))) == NULL) {
		cfg_record(c, NULL, "out of memory");
		return &cfg_dead;
	}
	nv->r = c->r;
	nv->v = v;
	nv->next = c->r->views;
	c->r->views = nv;
	cfg_join(nv->path, sizeof(nv->path), path, "", "");
	return nv;
}

int
arb_cfg_alloc(arb_cfg **cfgp, const void *arg, size_t len)
{
	cfg_root *r;
	arb_cfg  *c;
	int       rv;

	if ((r = arb__alloc(sizeof(*r))) == NULL
	    || (c = arb__alloc(sizeof(*c))) == NULL) {
		arb__free(r);
		return ARB_ENOMEM;
	}
	c->r = r;
	r->root = c;
	if (len > 0) {
		rv = arb__val_decode(arg, len, &r->tree);
		if (rv == ARB_ENOMEM) {
			arb__free(c);
			arb__free(r);
			return rv;
		}
		if (rv != ARB_OK) {
			cfg_record(c, NULL, "not a msgpack value");
		} else if (r->tree->type == ARB__V_MAP) {
			c->v = r->tree;
		} else if (r->tree->type != ARB__V_NIL) {
			cfg_record(c, NULL, "expected a mapping of settings");
		}
	}
	*cfgp = c;
	return ARB_OK;
}

void
arb_cfg_free(arb_cfg *cfg)
{
	cfg_root *r;
	arb_cfg  *v, *next;

	if (cfg == NULL || cfg->r == NULL || cfg->r->root != cfg) {
		return;
	}
	r = cfg->r;
	for (v = r->views; v != NULL; v = next) {
		next = v->next;
		arb__free(v);
	}
	arb__free(r->probs);
	arb__free(r->tree);
	arb__free(r);
	arb__free(cfg);
}

// cfg_at returns the value at key (NULL key: the view's own), or NULL
// when absent or null.
static const arb__val *
cfg_at(arb_cfg *c, const char *key)
{
	const arb__val *v;

	if (c == NULL || c->v == NULL) {
		return NULL;
	}
	v = key == NULL ? c->v : arb__val_get(c->v, key);
	return v == NULL || v->type == ARB__V_NIL ? NULL : v;
}

bool
arb_cfg_has(arb_cfg *c, const char *key)
{
	return cfg_at(c, key) != NULL;
}

arb_cfg_type
arb_cfg_type_of(arb_cfg *c, const char *key)
{
	const arb__val *v = cfg_at(c, key);

	switch (v != NULL ? v->type : ARB__V_NIL) {
	case ARB__V_NIL:
		return ARB_CFG_ABSENT;
	case ARB__V_BOOL:
		return ARB_CFG_BOOL;
	case ARB__V_UINT:
	case ARB__V_INT:
		return ARB_CFG_INT;
	case ARB__V_FLOAT:
		return ARB_CFG_FLOAT;
	case ARB__V_STR:
		return ARB_CFG_STR;
	case ARB__V_ARRAY:
		return ARB_CFG_LIST;
	case ARB__V_MAP:
		return ARB_CFG_MAP;
	default:
		return ARB_CFG_OTHER;
	}
}

int
arb_cfg_str(arb_cfg *c, const char *key, size_t maxlen, const char **out)
{
	const arb__val *v = cfg_at(c, key);

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type != ARB__V_STR) {
		cfg_record(c, key, "expected a string");
		return ARB_EINVAL;
	}
	if (memchr(v->via.s, '\0', v->n) != NULL) {
		cfg_record(c, key, "holds a NUL byte");
		return ARB_EINVAL;
	}
	if (maxlen > 0 && v->n > maxlen) {
		cfg_record(
		    c, key, "too long (%u bytes, at most %zu)", v->n, maxlen);
		return ARB_EINVAL;
	}
	*out = v->via.s;
	return ARB_OK;
}

int
arb_cfg_bool(arb_cfg *c, const char *key, bool *out)
{
	const arb__val *v = cfg_at(c, key);

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type != ARB__V_BOOL) {
		cfg_record(c, key, "expected true or false");
		return ARB_EINVAL;
	}
	*out = v->via.b;
	return ARB_OK;
}

int
arb_cfg_int(arb_cfg *c, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const arb__val *v = cfg_at(c, key);
	bool            in;

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type == ARB__V_UINT) {
		in = hi >= 0 && v->via.u <= (uint64_t) hi
		    && (lo < 0 || v->via.u >= (uint64_t) lo);
	} else if (v->type == ARB__V_INT) {
		in = v->via.i >= lo && v->via.i <= hi;
	} else {
		cfg_record(c, key, "expected an integer");
		return ARB_EINVAL;
	}
	if (!in) {
		cfg_record(c, key, "out of range (%lld to %lld)",
		    (long long) lo, (long long) hi);
		return ARB_EINVAL;
	}
	*out = v->type == ARB__V_UINT ? (int64_t) v->via.u : v->via.i;
	return ARB_OK;
}

int
arb_cfg_dur(
    arb_cfg *c, const char *key, int64_t lo_ms, int64_t hi_ms, int64_t *ms)
{
	const arb__val *v = cfg_at(c, key);
	int64_t         d;

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type == ARB__V_UINT && v->via.u <= (uint64_t) INT64_MAX) {
		d = (int64_t) v->via.u;
	} else if (v->type == ARB__V_STR) {
		if (arb__parse_dur_ms(v->via.s, &d) != ARB_OK) {
			cfg_record(c, key,
			    "\"%.60s\" is not a duration (milliseconds, or a "
			    "number with ms, s, m or h: \"250ms\", \"5s\")",
			    v->via.s);
			return ARB_EINVAL;
		}
	} else {
		cfg_record(c, key, "expected a duration (\"250ms\", \"5s\")");
		return ARB_EINVAL;
	}
	if (d < lo_ms || d > hi_ms) {
		cfg_record(c, key, "out of range (%lld ms to %lld ms)",
		    (long long) lo_ms, (long long) hi_ms);
		return ARB_EINVAL;
	}
	*ms = d;
	return ARB_OK;
}

int
arb_cfg_size(
    arb_cfg *c, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const arb__val *v = cfg_at(c, key);
	uint64_t        n;

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type == ARB__V_UINT) {
		n = v->via.u;
	} else if (v->type == ARB__V_STR) {
		if (arb__parse_size(v->via.s, &n) != ARB_OK) {
			cfg_record(c, key,
			    "\"%.60s\" is not a size (bytes, or a number with "
			    "B, KiB, MiB, GiB, kB, MB, GB: \"64KiB\")",
			    v->via.s);
			return ARB_EINVAL;
		}
	} else {
		cfg_record(c, key, "expected a size (\"64KiB\", \"1MiB\")");
		return ARB_EINVAL;
	}
	if (n < lo || n > hi) {
		cfg_record(c, key, "out of range (%llu to %llu bytes)",
		    (unsigned long long) lo, (unsigned long long) hi);
		return ARB_EINVAL;
	}
	*out = n;
	return ARB_OK;
}

// cfg_words writes words as "a|b|c" into out.
static void
cfg_words(const char *const *words, const char *sep, char *out, size_t len)
{
	size_t used = 0;
	size_t i;
	int    n;

	out[0] = '\0';
	for (i = 0; words[i] != NULL && used + 1 < len; i++) {
		n = snprintf(
		    out + used, len - used, "%s%s", i ? sep : "", words[i]);
		used += n > 0 ? (size_t) n : 0;
	}
}

int
arb_cfg_enum(arb_cfg *c, const char *key, const char *const *words, int *out)
{
	const arb__val *v = cfg_at(c, key);
	char            list[160];
	int             i;

	if (v == NULL) {
		return ARB_ENOENT;
	}
	if (v->type == ARB__V_STR) {
		for (i = 0; words[i] != NULL; i++) {
			if (strcmp(v->via.s, words[i]) == 0
			    && strlen(words[i]) == v->n) {
				*out = i;
				return ARB_OK;
			}
		}
	}
	cfg_words(words, "|", list, sizeof(list));
	if (v->type == ARB__V_STR) {
		cfg_record(c, key, "unknown value \"%.60s\" (expected %s)",
		    v->via.s, list);
	} else {
		cfg_record(c, key, "expected one of %s", list);
	}
	return ARB_EINVAL;
}

int
arb_cfg_raw(arb_cfg *c, const char *key, const void **p, size_t *len)
{
	const arb__val *v = cfg_at(c, key);

	if (v == NULL) {
		return ARB_ENOENT;
	}
	*p = v->raw;
	*len = v->rawlen;
	return ARB_OK;
}

// cfg_child makes the view at key that must have type t (else: recorded,
// and an empty view).
static arb_cfg *
cfg_child(arb_cfg *c, const char *key, arb__vtype t, const char *what)
{
	const arb__val *v;
	char            path[CFG_KEY_MAX];

	if (c == NULL) {
		return &cfg_dead;
	}
	v = cfg_at(c, key);
	cfg_key(c, key, path, sizeof(path));
	if (v != NULL && v->type != t) {
		cfg_record(c, key, "expected %s", what);
		v = NULL;
	}
	return cfg_view(c, v, path);
}

arb_cfg *
arb_cfg_sub(arb_cfg *c, const char *key)
{
	return cfg_child(c, key, ARB__V_MAP, "a mapping");
}

arb_cfg *
arb_cfg_list(arb_cfg *c, const char *key, size_t *np)
{
	arb_cfg *l = cfg_child(c, key, ARB__V_ARRAY, "a list");

	if (np != NULL) {
		*np = l->v != NULL ? l->v->n : 0;
	}
	return l;
}

arb_cfg *
arb_cfg_item(arb_cfg *list, size_t i)
{
	char path[CFG_KEY_MAX];
	char idx[32];

	if (list == NULL) {
		return &cfg_dead;
	}
	snprintf(idx, sizeof(idx), "[%zu]", i);
	cfg_join(path, sizeof(path), list->path, idx, "");
	if (list->v == NULL || list->v->type != ARB__V_ARRAY
	    || i >= list->v->n) {
		return cfg_view(list, NULL, path);
	}
	return cfg_view(list, &list->v->via.v[i], path);
}

int
arb_cfg_keys(arb_cfg *c, const char *const *allowed)
{
	char     list[256];
	size_t   before, j;
	uint32_t i;

	if (c == NULL || c->v == NULL || c->v->type != ARB__V_MAP) {
		return ARB_OK;
	}
	before = c->r != NULL ? c->r->count : 0;
	for (i = 0; i < c->v->n; i++) {
		const arb__val *k = &c->v->via.v[2 * i];
		if (k->type != ARB__V_STR) {
			cfg_record(c, NULL, "a key is not a string");
			continue;
		}
		for (j = 0; allowed[j] != NULL; j++) {
			if (strlen(allowed[j]) == k->n
			    && strcmp(allowed[j], k->via.s) == 0) {
				break;
			}
		}
		if (allowed[j] == NULL) {
			cfg_words(allowed, ", ", list, sizeof(list));
			cfg_record(c, k->via.s,
			    "unknown key (expected one of: %s)", list);
		}
	}
	return c->r != NULL && c->r->count > before ? ARB_EINVAL : ARB_OK;
}

size_t
arb_cfg_errors(const arb_cfg *c)
{
	return c != NULL && c->r != NULL ? c->r->count : 0;
}

int
arb_cfg_error(
    const arb_cfg *c, size_t i, const char **keyp, const char **textp)
{
	if (c == NULL || c->r == NULL || i >= c->r->nprobs) {
		return ARB_ENOENT;
	}
	if (keyp != NULL) {
		*keyp = c->r->probs[i].key;
	}
	if (textp != NULL) {
		*textp = c->r->probs[i].text;
	}
	return ARB_OK;
}

int
arb_cfg_report(arb_ctx *ctx, const arb_cfg *c)
{
	const char *key, *text;
	size_t      i;

	if (arb_cfg_errors(c) == 0) {
		return ARB_OK;
	}
	for (i = 0; arb_cfg_error(c, i, &key, &text) == ARB_OK; i++) {
		arb_log(ctx, ARB_LOG_ERROR, "bad_config",
		    "key=%s problem=\"%s\"", key[0] != '\0' ? key : "-", text);
	}
	if (c->r->count > c->r->nprobs) {
		arb_log(ctx, ARB_LOG_ERROR, "bad_config", "more=%zu",
		    c->r->count - c->r->nprobs);
	}
	if (arb_cfg_error(c, 0, &key, &text) == ARB_OK) {
		// Cut to fit an exit reason; the log lines have it whole.
		snprintf(ctx->init_text, sizeof(ctx->init_text),
		    "config: %.40s%s%.66s", key, key[0] != '\0' ? ": " : "",
		    text);
	} else {
		snprintf(ctx->init_text, sizeof(ctx->init_text),
		    "config: out of memory");
	}
	return ARB_EINVAL;
}
