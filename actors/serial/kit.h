// SPDX-License-Identifier: MIT
// kit.h -- TEMPORARY: the subset of the actor kit's public API (arb_log,
// arb_cfg_*, arb_metric_*) that the serial actor uses, declared here with
// the signatures the kit is adding to <arbor/actor.h>, and implemented
// minimally in kit.c, until the kit lands on main.  Then this file
// becomes #include <arbor/actor.h> and kit.c goes.  Thread: as in actor.h.

#ifndef ARBOR_SERIAL_KIT_H
#define ARBOR_SERIAL_KIT_H

#include <arbor/actor.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Private names, so that this file and kit.c keep compiling and linking
// beside the kit's real declarations and definitions until they go.
#define arb_log         serial__log
#define arb_cfg         serial__cfg
#define arb_cfg_type    serial__cfg_type
#define ARB_CFG_ABSENT  SERIAL__CFG_ABSENT
#define ARB_CFG_BOOL    SERIAL__CFG_BOOL
#define ARB_CFG_INT     SERIAL__CFG_INT
#define ARB_CFG_FLOAT   SERIAL__CFG_FLOAT
#define ARB_CFG_STR     SERIAL__CFG_STR
#define ARB_CFG_LIST    SERIAL__CFG_LIST
#define ARB_CFG_MAP     SERIAL__CFG_MAP
#define ARB_CFG_OTHER   SERIAL__CFG_OTHER
#define arb_cfg_alloc   serial__cfg_alloc
#define arb_cfg_free    serial__cfg_free
#define arb_cfg_has     serial__cfg_has
#define arb_cfg_type_of serial__cfg_type_of
#define arb_cfg_str     serial__cfg_str
#define arb_cfg_bool    serial__cfg_bool
#define arb_cfg_int     serial__cfg_int
#define arb_cfg_dur     serial__cfg_dur
#define arb_cfg_enum    serial__cfg_enum
#define arb_cfg_sub     serial__cfg_sub
#define arb_cfg_list    serial__cfg_list
#define arb_cfg_item    serial__cfg_item
#define arb_cfg_keys    serial__cfg_keys
#define arb_cfg_err     serial__cfg_err
#define arb_cfg_errors  serial__cfg_errors
#define arb_cfg_error   serial__cfg_error
#define arb_cfg_report  serial__cfg_report

typedef struct arb_cfg arb_cfg;

void arb_log(arb_ctx *ctx, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef enum arb_cfg_type {
	ARB_CFG_ABSENT = 0,
	ARB_CFG_BOOL,
	ARB_CFG_INT,
	ARB_CFG_FLOAT,
	ARB_CFG_STR,
	ARB_CFG_LIST,
	ARB_CFG_MAP,
	ARB_CFG_OTHER,
} arb_cfg_type;

int          arb_cfg_alloc(arb_cfg **cfgp, const void *arg, size_t len);
void         arb_cfg_free(arb_cfg *cfg);
bool         arb_cfg_has(arb_cfg *c, const char *key);
arb_cfg_type arb_cfg_type_of(arb_cfg *c, const char *key);
int arb_cfg_str(arb_cfg *c, const char *key, size_t maxlen, const char **out);
int arb_cfg_bool(arb_cfg *c, const char *key, bool *out);
int arb_cfg_int(
    arb_cfg *c, const char *key, int64_t lo, int64_t hi, int64_t *out);
int arb_cfg_dur(
    arb_cfg *c, const char *key, int64_t lo_ms, int64_t hi_ms, int64_t *ms);
int arb_cfg_enum(
    arb_cfg *c, const char *key, const char *const *words, int *out);
arb_cfg *arb_cfg_sub(arb_cfg *c, const char *key);
arb_cfg *arb_cfg_list(arb_cfg *c, const char *key, size_t *np);
arb_cfg *arb_cfg_item(arb_cfg *list, size_t i);
int      arb_cfg_keys(arb_cfg *c, const char *const *allowed);
void     arb_cfg_err(arb_cfg *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t arb_cfg_errors(const arb_cfg *c);
int    arb_cfg_error(
       const arb_cfg *c, size_t i, const char **keyp, const char **textp);
int arb_cfg_report(arb_ctx *ctx, const arb_cfg *c);

#endif // ARBOR_SERIAL_KIT_H
