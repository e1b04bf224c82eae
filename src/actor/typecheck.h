// SPDX-License-Identifier: MIT
// typecheck.h -- an actor's config read by its type's check hook, in this
// process or in a child process of the same program (typecheck.c), for
// the tree loader (src/ops/tree.c) and the node's reaper.
// Thread: any (each function says what it shares).

#ifndef ARB_ACTOR_TYPECHECK_H
#define ARB_ACTOR_TYPECHECK_H

#include "../core/arb_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

// The check argv flag: "EXE --arb-check", requests on fd 3.
#define ARB__CHECK_ARGV_FLAG "--arb-check"

// arb__actor_type_known is ARB_OK when type is registered or its module
// is in the actor path, without loading it; ARB_ENOENT (the reason in
// errbuf, as arb_actor_type_load gives it) otherwise (module.c).
// arb__actor_type_registered is true when type is registered (types.c).
// Thread: any.
int  arb__actor_type_known(const char *type, char *errbuf, size_t errlen);
bool arb__actor_type_is_registered(const char *type);

// One check: the type and its packed config in, the outcome out.
typedef struct arb__tcheck {
	const char *type;    // in
	const void *cfg;     // in: msgpack (NULL: none)
	size_t      cfg_len; // in
	int         rv;      // out: ARB_OK (checked), or the type did not
	                     // load (its module, a crash of the check)
	char   why[512];     // out: the reason when rv is not ARB_OK
	size_t total;        // out: problems the hook recorded
	size_t n;            // out: listed below (at most 100)
	char **keys;         // out: key paths ("" the config itself)
	char **texts;        // out: their texts
} arb__tcheck;

// arb__tcheck_here loads t->type into this process (for good: the type
// registry keeps its ops) and runs its check hook over t->cfg.  Fills the
// outputs of t; release them with arb__tcheck_fini.  Thread: any.
void arb__tcheck_here(arb__tcheck *t);

// arb__tcheck_away does what arb__tcheck_here does for each of the n
// checks, in a child process of this program ("EXE --arb-check", run by
// arb_actor_main), so that the modules of the types, and the libraries
// they link, are never mapped here.  A check that gets no answer within
// timeout_ms, or whose child ended, has rv ARB_ETIMEDOUT or ARB_ECLOSED
// and says so in why; the checks after it get a new child.  Returns ARB_OK, or
// an error when no child could be started (ARB_ENOTSUP: this program never
// called arb_actor_main, so its main would not know the flag); then nothing of
// t was touched and the caller checks here.  Thread: any; it waits (at most
// timeout_ms for each answer).
int arb__tcheck_away(arb__tcheck *t, size_t n, int timeout_ms);

// arb__tcheck_fini releases what a check's outputs hold.  Thread: any.
void arb__tcheck_fini(arb__tcheck *t);

// arb__tcheck_reaped is true when pid is a check process of
// arb__tcheck_away, which a reaper (waitpid(-1)) collected for it: the
// node's reaper must not count it as an orphan.  Thread: any.
bool arb__tcheck_reaped(pid_t pid);

// arb__tcheck_main_seen records that the program called arb_actor_main
// (process.c), and arb__tcheck_serve is the child's side: it answers the
// requests on fd until EOF.  Thread: the main thread.
void arb__tcheck_main_seen(void);
void arb__tcheck_serve(int fd);

#endif // ARB_ACTOR_TYPECHECK_H
