// SPDX-License-Identifier: MIT
// kit.c -- TEMPORARY minimal implementation of the kit API subset in
// kit.h (arb_log, arb_cfg_*), until the actor kit lands on main.
// Thread: as in kit.h.

#include "kit.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_ERRS_MAX 100
#define CFG_KEY_MAX  128

typedef struct cfg_root cfg_root;

struct arb_cfg {
	cfg_root             *root;
	const msgpack_object *o; // the view's value; NULL: empty
	char                  path[CFG_KEY_MAX];
	arb_cfg              *next; // every view of the root, for free
};

struct cfg_root {
	arb_cfg          top;
	msgpack_unpacked u;
	size_t           nerr;
	struct {
		char key[CFG_KEY_MAX];
		char text[256];
	} errs[CFG_ERRS_MAX];
};

void
arb_log(arb_ctx *ctx, int level, const char *event, const char *fmt, ...)
{
	static const char *const names[]
	    = { "?", "error", "warn", "info", "debug" };
	const char *env = getenv("ARB_LOG_LEVEL");
	int         max = env != NULL ? atoi(env) : 3;
	char        line[512];
	int         n, m;
	va_list     ap;

	if (level > (max > 0 ? max : 3) || level < 1 || level > 4) {
		return;
	}
	n = snprintf(line, sizeof(line), "arbor[%d]: %s %s event=%s",
	    (int) getpid(), names[level], ctx != NULL ? arb_path(ctx) : "-",
	    event);
	if (n < 0 || (size_t) n >= sizeof(line) - 2) {
		n = (int) sizeof(line) - 2;
	}
	if (fmt != NULL && fmt[0] != '\0') {
		line[n++] = ' ';
		va_start(ap, fmt);
		m = vsnprintf(
		    line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
		va_end(ap);
		if (m > 0) {
			n += m;
		}
		if ((size_t) n > sizeof(line) - 2) {
			n = (int) sizeof(line) - 2;
		}
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t) n) < 0) {
		return;
	}
}

static void
cfg_verr(arb_cfg *c, const char *key, const char *fmt, va_list ap)
{
	cfg_root *r = c->root;

	if (r->nerr >= CFG_ERRS_MAX) {
		r->nerr++;
		return;
	}
	if (key == NULL || key[0] == '\0') {
		snprintf(r->errs[r->nerr].key, CFG_KEY_MAX, "%s", c->path);
	} else if (c->path[0] != '\0') {
		snprintf(r->errs[r->nerr].key, CFG_KEY_MAX, "%.63s.%.63s",
		    c->path, key);
	} else {
		snprintf(r->errs[r->nerr].key, CFG_KEY_MAX, "%s", key);
	}
	vsnprintf(r->errs[r->nerr].text, sizeof(r->errs[0].text), fmt, ap);
	r->nerr++;
}

void
arb_cfg_err(arb_cfg *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(c, key, fmt, ap);
	va_end(ap);
}

int
arb_cfg_alloc(arb_cfg **cfgp, const void *arg, size_t len)
{
	cfg_root *r = calloc(1, sizeof(*r));
	size_t    off = 0;

	if (r == NULL) {
		return ARB_ENOMEM;
	}
	r->top.root = r;
	msgpack_unpacked_init(&r->u);
	if (len > 0) {
		if (msgpack_unpack_next(&r->u, arg, len, &off)
		    != MSGPACK_UNPACK_SUCCESS) {
			arb_cfg_err(&r->top, NULL, "not a msgpack value");
		} else if (r->u.data.type == MSGPACK_OBJECT_MAP) {
			r->top.o = &r->u.data;
		} else if (r->u.data.type != MSGPACK_OBJECT_NIL) {
			arb_cfg_err(
			    &r->top, NULL, "expected a mapping of settings");
		}
	}
	*cfgp = &r->top;
	return ARB_OK;
}

void
arb_cfg_free(arb_cfg *cfg)
{
	cfg_root *r;
	arb_cfg  *v, *next;

	if (cfg == NULL || cfg != &cfg->root->top) {
		return;
	}
	r = cfg->root;
	for (v = r->top.next; v != NULL; v = next) {
		next = v->next;
		free(v);
	}
	msgpack_unpacked_destroy(&r->u);
	free(r);
}

static const msgpack_object *
get(arb_cfg *c, const char *key)
{
	uint32_t i;
	size_t   n;

	if (c->o == NULL) {
		return NULL;
	}
	if (key == NULL) {
		return c->o->type == MSGPACK_OBJECT_NIL ? NULL : c->o;
	}
	if (c->o->type != MSGPACK_OBJECT_MAP) {
		return NULL;
	}
	n = strlen(key);
	for (i = 0; i < c->o->via.map.size; i++) {
		const msgpack_object *k = &c->o->via.map.ptr[i].key;
		const msgpack_object *v = &c->o->via.map.ptr[i].val;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
		    && memcmp(k->via.str.ptr, key, n) == 0) {
			return v->type == MSGPACK_OBJECT_NIL ? NULL : v;
		}
	}
	return NULL;
}

bool
arb_cfg_has(arb_cfg *c, const char *key)
{
	return get(c, key) != NULL;
}

arb_cfg_type
arb_cfg_type_of(arb_cfg *c, const char *key)
{
	const msgpack_object *o = get(c, key);

	if (o == NULL) {
		return ARB_CFG_ABSENT;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		return ARB_CFG_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return ARB_CFG_INT;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return ARB_CFG_FLOAT;
	case MSGPACK_OBJECT_STR:
		return ARB_CFG_STR;
	case MSGPACK_OBJECT_ARRAY:
		return ARB_CFG_LIST;
	case MSGPACK_OBJECT_MAP:
		return ARB_CFG_MAP;
	default:
		return ARB_CFG_OTHER;
	}
}

// A string copy that lives as long as the config: kept in a view.
static const char *
keep_str(arb_cfg *c, const char *p, size_t n)
{
	arb_cfg *v = calloc(1, sizeof(*v) + n + 1);
	char    *s;

	if (v == NULL) {
		return NULL;
	}
	v->root = c->root;
	v->next = c->root->top.next;
	c->root->top.next = v;
	s = (char *) (v + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
arb_cfg_str(arb_cfg *c, const char *key, size_t maxlen, const char **out)
{
	const msgpack_object *o = get(c, key);
	const char           *s;

	if (o == NULL) {
		return ARB_ENOENT;
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		arb_cfg_err(c, key, "expected a string");
		return ARB_EINVAL;
	}
	if ((maxlen > 0 && o->via.str.size > maxlen)
	    || memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		arb_cfg_err(c, key,
		    "too long (at most %zu bytes) or holds a NUL", maxlen);
		return ARB_EINVAL;
	}
	if ((s = keep_str(c, o->via.str.ptr, o->via.str.size)) == NULL) {
		arb_cfg_err(c, key, "out of memory");
		return ARB_EINVAL;
	}
	*out = s;
	return ARB_OK;
}

int
arb_cfg_bool(arb_cfg *c, const char *key, bool *out)
{
	const msgpack_object *o = get(c, key);

	if (o == NULL) {
		return ARB_ENOENT;
	}
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		arb_cfg_err(c, key, "expected true or false");
		return ARB_EINVAL;
	}
	*out = o->via.boolean;
	return ARB_OK;
}

int
arb_cfg_int(arb_cfg *c, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const msgpack_object *o = get(c, key);
	int64_t               v;

	if (o == NULL) {
		return ARB_ENOENT;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	    && o->via.u64 <= (uint64_t) INT64_MAX) {
		v = (int64_t) o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		arb_cfg_err(c, key, "expected an integer");
		return ARB_EINVAL;
	}
	if (v < lo || v > hi) {
		arb_cfg_err(c, key, "%lld is out of range (%lld to %lld)",
		    (long long) v, (long long) lo, (long long) hi);
		return ARB_EINVAL;
	}
	*out = v;
	return ARB_OK;
}

int
arb_cfg_dur(
    arb_cfg *c, const char *key, int64_t lo_ms, int64_t hi_ms, int64_t *ms)
{
	const msgpack_object *o = get(c, key);
	char                  s[32], *end;
	double                v, mul;

	if (o == NULL) {
		return ARB_ENOENT;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		v = (double) o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0
	    && o->via.str.size < sizeof(s)) {
		memcpy(s, o->via.str.ptr, o->via.str.size);
		s[o->via.str.size] = '\0';
		v = strtod(s, &end);
		if (end == s) {
			goto bad;
		} else if (strcmp(end, "ms") == 0) {
			mul = 1;
		} else if (strcmp(end, "s") == 0) {
			mul = 1000;
		} else if (strcmp(end, "m") == 0) {
			mul = 60000;
		} else if (strcmp(end, "h") == 0) {
			mul = 3600000;
		} else {
			goto bad;
		}
		v *= mul;
	} else {
		goto bad;
	}
	if (!(v >= (double) lo_ms && v <= (double) hi_ms)) {
		arb_cfg_err(c, key, "out of range (%lld ms to %lld ms)",
		    (long long) lo_ms, (long long) hi_ms);
		return ARB_EINVAL;
	}
	*ms = (int64_t) v;
	return ARB_OK;
bad:
	arb_cfg_err(c, key,
	    "not a duration (milliseconds, or a number with ms, s, m or h: "
	    "\"250ms\", \"5s\")");
	return ARB_EINVAL;
}

int
arb_cfg_enum(arb_cfg *c, const char *key, const char *const *words, int *out)
{
	const msgpack_object *o = get(c, key);
	char                  list[256];
	size_t                used = 0;
	int                   i;

	if (o == NULL) {
		return ARB_ENOENT;
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		for (i = 0; words[i] != NULL; i++) {
			if (strlen(words[i]) == o->via.str.size
			    && memcmp(
			           words[i], o->via.str.ptr, o->via.str.size)
			        == 0) {
				*out = i;
				return ARB_OK;
			}
		}
	}
	list[0] = '\0';
	for (i = 0; words[i] != NULL && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? ", " : "", words[i]);
		used += n > 0 ? (size_t) n : 0;
	}
	arb_cfg_err(c, key, "expected one of: %s", list);
	return ARB_EINVAL;
}

static arb_cfg *
view(arb_cfg *c, const msgpack_object *o, const char *fmt, const char *key,
    size_t i)
{
	arb_cfg *v = calloc(1, sizeof(*v));
	char     tail[CFG_KEY_MAX];

	if (v == NULL) {
		v = &c->root->top; // never freed twice: arb_cfg_free skips it
		return v;
	}
	v->root = c->root;
	v->o = o;
	v->next = c->root->top.next;
	c->root->top.next = v;
	snprintf(tail, sizeof(tail), fmt, key, i);
	if (c->path[0] != '\0' && tail[0] != '[') {
		snprintf(
		    v->path, sizeof(v->path), "%.60s.%.60s", c->path, tail);
	} else {
		snprintf(
		    v->path, sizeof(v->path), "%.60s%.60s", c->path, tail);
	}
	return v;
}

arb_cfg *
arb_cfg_sub(arb_cfg *c, const char *key)
{
	const msgpack_object *o = get(c, key);

	if (o != NULL && o->type != MSGPACK_OBJECT_MAP) {
		arb_cfg_err(c, key, "expected a mapping");
		o = NULL;
	}
	return view(c, o, "%s", key, 0);
}

arb_cfg *
arb_cfg_list(arb_cfg *c, const char *key, size_t *np)
{
	const msgpack_object *o = get(c, key);

	if (o != NULL && o->type != MSGPACK_OBJECT_ARRAY) {
		arb_cfg_err(c, key, "expected a list");
		o = NULL;
	}
	if (np != NULL) {
		*np = o != NULL ? o->via.array.size : 0;
	}
	return view(c, o, "%s", key, 0);
}

arb_cfg *
arb_cfg_item(arb_cfg *list, size_t i)
{
	const msgpack_object *o = NULL;

	if (list->o != NULL && list->o->type == MSGPACK_OBJECT_ARRAY
	    && i < list->o->via.array.size) {
		o = &list->o->via.array.ptr[i];
	}
	return view(list, o, "[%.0s%zu]", "", i);
}

int
arb_cfg_keys(arb_cfg *c, const char *const *allowed)
{
	char     list[256], key[64];
	size_t   used, j;
	uint32_t i;
	int      rv = ARB_OK;

	if (c->o == NULL || c->o->type != MSGPACK_OBJECT_MAP) {
		return ARB_OK;
	}
	for (i = 0; i < c->o->via.map.size; i++) {
		const msgpack_object *k = &c->o->via.map.ptr[i].key;
		for (j = 0; allowed[j] != NULL; j++) {
			if (k->type == MSGPACK_OBJECT_STR
			    && strlen(allowed[j]) == k->via.str.size
			    && memcmp(
			           allowed[j], k->via.str.ptr, k->via.str.size)
			        == 0) {
				break;
			}
		}
		if (allowed[j] != NULL) {
			continue;
		}
		list[0] = '\0';
		used = 0;
		for (j = 0; allowed[j] != NULL && used < sizeof(list); j++) {
			int n = snprintf(list + used, sizeof(list) - used,
			    "%s%s", j ? ", " : "", allowed[j]);
			used += n > 0 ? (size_t) n : 0;
		}
		if (k->type == MSGPACK_OBJECT_STR) {
			snprintf(key, sizeof(key), "%.*s",
			    (int) (k->via.str.size < 60 ? k->via.str.size
			                                : 60),
			    k->via.str.ptr);
		} else {
			snprintf(key, sizeof(key), "?");
		}
		arb_cfg_err(c, key, "unknown key (expected one of: %s)", list);
		rv = ARB_EINVAL;
	}
	return rv;
}

size_t
arb_cfg_errors(const arb_cfg *c)
{
	return c->root->nerr;
}

int
arb_cfg_error(
    const arb_cfg *c, size_t i, const char **keyp, const char **textp)
{
	const cfg_root *r = c->root;

	if (i >= r->nerr || i >= CFG_ERRS_MAX) {
		return ARB_ENOENT;
	}
	if (keyp != NULL) {
		*keyp = r->errs[i].key;
	}
	if (textp != NULL) {
		*textp = r->errs[i].text;
	}
	return ARB_OK;
}

int
arb_cfg_report(arb_ctx *ctx, const arb_cfg *c)
{
	size_t i;

	for (i = 0; i < c->root->nerr && i < CFG_ERRS_MAX; i++) {
		arb_log(ctx, ARB_LOG_ERROR, "bad_config",
		    "key=%s problem=\"%s\"", c->root->errs[i].key,
		    c->root->errs[i].text);
	}
	return c->root->nerr > 0 ? ARB_EINVAL : ARB_OK;
}
