// SPDX-License-Identifier: MIT
// dcfg.c -- reading an actor's msgpack config map (dcfg.h).
//
// Keys are msgpack strings (the arbor program packs YAML keys as
// strings); durations are integers (ms) or strings such as "250ms".
// Thread: any.

#include "dcfg.h"

#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int         sig;
} signals[] = {
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },
	{ "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },
	{ "BUS", SIGBUS },
	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
	{ "SYS", SIGSYS },
};

static void
errs_vadd(dcfg_errs *e, const char *prefix, const char *key, const char *fmt,
    va_list ap)
{
	size_t room;
	int    n;

	e->n++;
	if (e->buf == NULL || e->used + 1 >= e->len) {
		return;
	}
	room = e->len - e->used;
	if (prefix[0] != '\0' && key[0] != '\0') {
		n = snprintf(e->buf + e->used, room, "%s.%s: ", prefix, key);
	} else {
		n = snprintf(e->buf + e->used, room,
		    "%s: ", prefix[0] != '\0' ? prefix : key);
	}
	if (n > 0 && (size_t) n < room) {
		e->used += (size_t) n;
		room -= (size_t) n;
		n = vsnprintf(e->buf + e->used, room, fmt, ap);
		if (n > 0 && (size_t) n < room) {
			e->used += (size_t) n;
			room -= (size_t) n;
			n = snprintf(e->buf + e->used, room, "\n");
			if (n > 0 && (size_t) n < room) {
				e->used += (size_t) n;
				return;
			}
		}
	}
	e->used = e->len - 1; // truncated
}

void
dcfg_err(dcfg *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errs_vadd(c->errs, c->prefix, key, fmt, ap);
	va_end(ap);
}

void
dcfg_open(
    dcfg *c, msgpack_unpacked *u, const void *arg, size_t len, dcfg_errs *errs)
{
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	c->errs = errs;
	msgpack_unpacked_init(u);
	if (len == 0) {
		return;
	}
	if (msgpack_unpack_next(u, arg, len, &off) != MSGPACK_UNPACK_SUCCESS) {
		dcfg_err(c, "", "not a msgpack value");
		return;
	}
	if (u->data.type == MSGPACK_OBJECT_NIL) {
		return;
	}
	if (u->data.type != MSGPACK_OBJECT_MAP) {
		dcfg_err(c, "", "expected a mapping of settings");
		return;
	}
	c->map = &u->data;
}

void
dcfg_sub(dcfg *c, const char *key, dcfg *sub)
{
	const msgpack_object *o = dcfg_get(c, key);

	memset(sub, 0, sizeof(*sub));
	sub->errs = c->errs;
	if (c->prefix[0] != '\0') {
		snprintf(sub->prefix, sizeof(sub->prefix), "%.23s.%.23s",
		    c->prefix, key);
	} else {
		snprintf(sub->prefix, sizeof(sub->prefix), "%.47s", key);
	}
	if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
		return;
	}
	if (o->type != MSGPACK_OBJECT_MAP) {
		dcfg_err(c, key, "expected a mapping");
		return;
	}
	sub->map = o;
}

static bool
key_is(const msgpack_object *k, const char *key)
{
	size_t n = strlen(key);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
	    && memcmp(k->via.str.ptr, key, n) == 0;
}

const msgpack_object *
dcfg_get(dcfg *c, const char *key)
{
	uint32_t i;

	if (c->map == NULL) {
		return NULL;
	}
	for (i = 0; i < c->map->via.map.size; i++) {
		if (key_is(&c->map->via.map.ptr[i].key, key)) {
			return &c->map->via.map.ptr[i].val;
		}
	}
	return NULL;
}

void
dcfg_keys(dcfg *c, const char *const *allowed)
{
	char     list[256], key[64];
	size_t   used;
	uint32_t i;
	size_t   j;

	if (c->map == NULL) {
		return;
	}
	for (i = 0; i < c->map->via.map.size; i++) {
		const msgpack_object *k = &c->map->via.map.ptr[i].key;
		for (j = 0; allowed[j] != NULL; j++) {
			if (key_is(k, allowed[j])) {
				break;
			}
		}
		if (allowed[j] != NULL) {
			continue;
		}
		list[0] = '\0';
		used = 0;
		for (j = 0; allowed[j] != NULL; j++) {
			int n = snprintf(list + used, sizeof(list) - used,
			    "%s%s", j ? ", " : "", allowed[j]);
			used += n > 0 ? (size_t) n : 0;
			if (used >= sizeof(list)) {
				break;
			}
		}
		if (k->type == MSGPACK_OBJECT_STR) {
			snprintf(key, sizeof(key), "%.*s",
			    (int) (k->via.str.size < 60 ? k->via.str.size
			                                : 60),
			    k->via.str.ptr);
		} else {
			snprintf(key, sizeof(key), "?");
		}
		dcfg_err(c, key, "unknown key (expected one of: %s)", list);
	}
}

bool
dcfg_str(dcfg *c, const char *key, char *out, size_t len)
{
	const msgpack_object *o = dcfg_get(c, key);

	if (o == NULL) {
		return false;
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		dcfg_err(c, key, "expected a string");
		return false;
	}
	if (o->via.str.size >= len
	    || memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		dcfg_err(c, key, "too long (at most %zu bytes) or holds a NUL",
		    len - 1);
		return false;
	}
	memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	return true;
}

bool
dcfg_bool(dcfg *c, const char *key, bool *out)
{
	const msgpack_object *o = dcfg_get(c, key);

	if (o == NULL) {
		return false;
	}
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		dcfg_err(c, key, "expected true or false");
		return false;
	}
	*out = o->via.boolean;
	return true;
}

bool
dcfg_int(dcfg *c, const char *key, long long lo, long long hi, long long *out)
{
	const msgpack_object *o = dcfg_get(c, key);
	long long             v;

	if (o == NULL) {
		return false;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		v = o->via.u64 > (uint64_t) hi ? hi + 1
		                               : (long long) o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		dcfg_err(c, key, "expected an integer");
		return false;
	}
	if (v < lo || v > hi) {
		dcfg_err(c, key, "out of range (%lld to %lld)", lo, hi);
		return false;
	}
	*out = v;
	return true;
}

bool
dcfg_dur(dcfg *c, const char *key, int lo, int *out)
{
	const msgpack_object *o = dcfg_get(c, key);
	char                  s[32];
	int                   ms;

	if (o == NULL) {
		return false;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	    && o->via.u64 <= (uint64_t) INT32_MAX) {
		ms = (int) o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_STR
	    && o->via.str.size < sizeof(s)) {
		memcpy(s, o->via.str.ptr, o->via.str.size);
		s[o->via.str.size] = '\0';
		if (arbor_parse_duration(s, &ms) != 0) {
			dcfg_err(c, key,
			    "\"%s\" is not a duration (ms, or \"250ms\", "
			    "\"5s\", \"2m\", \"1h\")",
			    s);
			return false;
		}
	} else {
		dcfg_err(c, key, "expected a duration (\"250ms\", \"5s\")");
		return false;
	}
	if (ms < lo) {
		dcfg_err(c, key, "must be at least %d ms", lo);
		return false;
	}
	*out = ms;
	return true;
}

bool
dcfg_enum(dcfg *c, const char *key, const char *const *words, int *out)
{
	char   s[32], list[200];
	size_t used = 0;
	int    i;

	if (dcfg_get(c, key) == NULL) {
		return false;
	}
	if (!dcfg_str(c, key, s, sizeof(s))) {
		return false;
	}
	list[0] = '\0';
	for (i = 0; words[i] != NULL; i++) {
		int n;
		if (strcmp(s, words[i]) == 0) {
			*out = i;
			return true;
		}
		n = snprintf(list + used, sizeof(list) - used, "%s%s",
		    i ? "|" : "", words[i]);
		used += n > 0 ? (size_t) n : 0;
		if (used >= sizeof(list)) {
			used = sizeof(list) - 1;
		}
	}
	dcfg_err(c, key, "unknown value \"%s\" (expected %s)", s, list);
	return false;
}

bool
dcfg_signal(dcfg *c, const char *key, int *out)
{
	const msgpack_object *o = dcfg_get(c, key);
	char                  s[16];
	const char           *p;
	size_t                i;

	if (o == NULL) {
		return false;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 < 1 || o->via.u64 > 31) {
			dcfg_err(c, key, "signal numbers are 1 to 31");
			return false;
		}
		*out = (int) o->via.u64;
		return true;
	}
	if (!dcfg_str(c, key, s, sizeof(s))) {
		if (o->type != MSGPACK_OBJECT_STR) {
			return false; // recorded
		}
		dcfg_err(c, key, "unknown signal");
		return false;
	}
	p = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(p, signals[i].name) == 0) {
			*out = signals[i].sig;
			return true;
		}
	}
	dcfg_err(c, key,
	    "unknown signal \"%s\" (SIGSEGV, SIGABRT, SIGKILL, "
	    "SIGTERM, ... or a number)",
	    s);
	return false;
}

// --- Rendering bodies -------------------------------------------------------

typedef struct rbuf {
	char  *p;
	size_t len;
	size_t used;
	bool   full;
} rbuf;

static void rb_printf(rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rb_printf(rbuf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (b->full) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= b->len - b->used) {
		b->full = true;
		b->used = b->len - 1;
		return;
	}
	b->used += (size_t) n;
}

static void
rb_str(rbuf *b, const char *s, size_t n)
{
	size_t i;

	rb_printf(b, "\"");
	for (i = 0; i < n && !b->full; i++) {
		unsigned char ch = (unsigned char) s[i];
		if (ch == '"' || ch == '\\') {
			rb_printf(b, "\\%c", ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			rb_printf(b, "\\x%02x", ch);
		} else {
			rb_printf(b, "%c", ch);
		}
	}
	rb_printf(b, "\"");
}

static void
rb_obj(rbuf *b, const msgpack_object *o, int depth)
{
	uint32_t i;

	if (depth > 8) {
		rb_printf(b, "...");
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		rb_printf(b, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		rb_printf(b, "%s", o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		rb_printf(b, "%llu", (unsigned long long) o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		rb_printf(b, "%lld", (long long) o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		rb_printf(b, "%g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		rb_str(b, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		rb_printf(b, "<%u bytes>", o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		rb_printf(b, "[");
		for (i = 0; i < o->via.array.size && !b->full; i++) {
			rb_printf(b, i ? "," : "");
			rb_obj(b, &o->via.array.ptr[i], depth + 1);
		}
		rb_printf(b, "]");
		break;
	case MSGPACK_OBJECT_MAP:
		rb_printf(b, "{");
		for (i = 0; i < o->via.map.size && !b->full; i++) {
			rb_printf(b, i ? "," : "");
			rb_obj(b, &o->via.map.ptr[i].key, depth + 1);
			rb_printf(b, ":");
			rb_obj(b, &o->via.map.ptr[i].val, depth + 1);
		}
		rb_printf(b, "}");
		break;
	default:
		rb_printf(b, "<ext>");
		break;
	}
}

void
dcfg_render(const void *body, size_t len, char *out, size_t outlen)
{
	msgpack_unpacked u;
	size_t           off = 0;
	rbuf             b = { out, outlen, 0, false };

	if (outlen < 8) {
		if (outlen > 0) {
			out[0] = '\0';
		}
		return;
	}
	out[0] = '\0';
	if (len == 0) {
		rb_printf(&b, "-");
		return;
	}
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, len, &off)
	    == MSGPACK_UNPACK_SUCCESS) {
		b.len = outlen - 4; // room for "..."
		rb_obj(&b, &u.data, 0);
		if (b.full) {
			memcpy(out + b.used, "...", 4);
		}
	} else {
		rb_printf(&b, "<%zu bytes, not msgpack>", len);
	}
	msgpack_unpacked_destroy(&u);
}
