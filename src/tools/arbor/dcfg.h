// SPDX-License-Identifier: MIT
// dcfg.h -- reading an actor's msgpack config map, for the built-in
// actor types (diag.c).
//
// The same reader serves the actor's init and `arbor check`
// (diag_config_check): getters leave the caller's default alone when a
// key is absent, and record "key: what is wrong" when it is present but
// bad, so one pass reports every problem.  Thread: any (no shared state).

#ifndef ARBOR_TOOL_DCFG_H
#define ARBOR_TOOL_DCFG_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dcfg_errs {
	char  *buf; // may be NULL: problems are only counted
	size_t len;
	size_t used;
	int    n;
} dcfg_errs;

typedef struct dcfg {
	const msgpack_object *map;        // NULL when there is no config
	char                  prefix[48]; // "exit" for keys of exit:
	dcfg_errs            *errs;
} dcfg;

// dcfg_open unpacks arg (len 0 or nil: no config) into u, which the
// caller releases with msgpack_unpacked_destroy, and sets up c.  A value
// that is not a map is recorded as a problem (key "").
void dcfg_open(dcfg *c, msgpack_unpacked *u, const void *arg, size_t len,
    dcfg_errs *errs);

// dcfg_sub sets up sub for the map under key (absent: no config; not a
// map: a problem).
void dcfg_sub(dcfg *c, const char *key, dcfg *sub);

void dcfg_err(dcfg *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// dcfg_keys records every key of the map not in allowed (NULL-ended).
void dcfg_keys(dcfg *c, const char *const *allowed);

const msgpack_object *dcfg_get(dcfg *c, const char *key);

// Getters: true when key is present and valid (*out set); false when
// absent (nothing recorded) or bad (a problem recorded).
bool dcfg_str(dcfg *c, const char *key, char *out, size_t len);
bool dcfg_bool(dcfg *c, const char *key, bool *out);
bool dcfg_int(
    dcfg *c, const char *key, long long lo, long long hi, long long *out);
bool dcfg_dur(dcfg *c, const char *key, int lo, int *out);
// dcfg_enum: *out is the index of the word in words (NULL-ended).
bool dcfg_enum(dcfg *c, const char *key, const char *const *words, int *out);
// dcfg_signal accepts "SIGSEGV", "SEGV" or a number.
bool dcfg_signal(dcfg *c, const char *key, int *out);

// dcfg_render writes a message body for a log line: "-" when empty, a
// quoted string for a msgpack string, else a compact rendering of the
// value (maps, arrays, numbers), truncated with "..." to fit.
void dcfg_render(const void *body, size_t len, char *out, size_t outlen);

#endif // ARBOR_TOOL_DCFG_H
