// SPDX-License-Identifier: MIT
// module.c -- actor modules: shared objects of actor types, loaded by path
// (a tree file's `plugins:`) or found by type name (docs/actors.md).
//
// A module exports arbor_plugin_init, which registers its types.  The
// module of type T is the file T.so in the first directory of the actor
// path that has it: the directories of $ARBOR_ACTOR_PATH (':'-separated),
// then arbor/actors beside the library itself (lib/arbor/actors in the
// build tree, <libdir>/arbor/actors installed), so a program finds the
// project's own actor types with zero configuration, and its process
// actors (which re-execute it) find the same ones.  dlopen(RTLD_NOW) so a
// missing symbol is reported at load, where `arbor check` can name the
// file.  Modules are never unloaded: the registry keeps their ops (and
// OpenSSL 3, which the MQTT actor's links, is -z nodelete anyway), so the
// tree loader loads only the types this process runs and checks the
// others' configs in a child (typecheck.c).  Finding a type by name
// (arb_actor_type_find) is here: registered (types.c), or loaded; and
// knowing it without loading it (arb__actor_type_known).
// Thread: any (one recursive lock: a module's init may look types up).

#include "actor_int.h"
#include "typecheck.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODULES_MAX   64
#define TYPE_NAME_MAX 63

static pthread_mutex_t mod_mtx = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static char           *mod_paths[MODULES_MAX]; // realpaths of loaded ones
static size_t          mod_n;

typedef int (*module_init_fn)(void);

// module_open loads the module at real (an absolute path) unless it is
// loaded already.  Called with mod_mtx held.
static int
module_open(const char *real, char *err, size_t errlen)
{
	void          *h, *sym;
	module_init_fn init;
	size_t         i;
	int            rv;

	for (i = 0; i < mod_n; i++) {
		if (strcmp(mod_paths[i], real) == 0) {
			return ARB_OK;
		}
	}
	if (mod_n == MODULES_MAX) {
		snprintf(err, errlen, "%s: too many modules (%d)", real,
		    MODULES_MAX);
		return ARB_ENOSPC;
	}
	if ((h = dlopen(real, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		return ARB_EINVAL;
	}
	dlerror();
	if ((sym = dlsym(h, "arbor_plugin_init")) == NULL) {
		snprintf(err, errlen,
		    "%s: no function arbor_plugin_init (docs/actors.md)",
		    real);
		dlclose(h);
		return ARB_EINVAL;
	}
	memcpy(&init, &sym, sizeof(init)); // POSIX: data and code pointers
	if ((rv = init()) != 0) {
		snprintf(err, errlen, "%s: arbor_plugin_init returned %d (%s)",
		    real, rv, arb_strerror(rv));
		// Not unloaded: it may have registered some types already.
		return rv;
	}
	if ((mod_paths[mod_n] = arb__strdup(real)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ARB_ENOMEM;
	}
	mod_n++;
	return ARB_OK;
}

int
arb_actor_module_load(const char *path, char *errbuf, size_t errlen)
{
	char real[PATH_MAX];
	char dummy[8];
	int  rv;

	if (errbuf == NULL || errlen == 0) {
		errbuf = dummy;
		errlen = sizeof(dummy);
	}
	errbuf[0] = '\0';
	if (path == NULL) {
		snprintf(errbuf, errlen, "no path");
		return ARB_EINVAL;
	}
	if (realpath(path, real) == NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return ARB_ENOENT;
	}
	pthread_mutex_lock(&mod_mtx);
	rv = module_open(real, errbuf, errlen);
	pthread_mutex_unlock(&mod_mtx);
	return rv;
}

// module_type_ok is true for names a module file may carry.
static bool
module_type_ok(const char *type)
{
	size_t i;

	for (i = 0; type[i] != '\0'; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || (i > 0 && (c == '_' || c == '-')))) {
			return false;
		}
	}
	return i > 0 && i <= TYPE_NAME_MAX;
}

// module_home writes the default actor directory: arbor/actors beside
// the file this code was loaded from.  False when that is unknown.
static bool
module_home(char *buf, size_t len)
{
	Dl_info     info;
	const char *slash;

	if (dladdr((void *) module_home, &info) == 0 || info.dli_fname == NULL
	    || (slash = strrchr(info.dli_fname, '/')) == NULL) {
		return false;
	}
	return snprintf(buf, len, "%.*s/arbor/actors",
	           (int) (slash - info.dli_fname), info.dli_fname)
	    < (int) len;
}

int
arb_actor_path(char *buf, size_t len)
{
	const char *env = getenv("ARBOR_ACTOR_PATH");
	char        home[PATH_MAX];
	int         n;

	if (!module_home(home, sizeof(home))) {
		home[0] = '\0';
	}
	n = snprintf(buf, len, "%s%s%s", env != NULL ? env : "",
	    env != NULL && env[0] != '\0' && home[0] != '\0' ? ":" : "", home);
	return n >= 0 && (size_t) n < len ? ARB_OK : ARB_ENOSPC;
}

// module_locate writes the real path of type's module (TYPE.so in the
// first directory of the actor path that has it) to real.  ARB_ENOENT
// with the reason in errbuf.
static int
module_locate(const char *type, char real[PATH_MAX], char *errbuf,
    size_t errlen)
{
	char  path[PATH_MAX * 2], file[PATH_MAX];
	char *dir, *save = NULL;

	if (!module_type_ok(type)) {
		snprintf(errbuf, errlen,
		    "unknown actor type \"%.64s\" (module names are "
		    "[a-z0-9_-])",
		    type);
		return ARB_ENOENT;
	}
	arb_actor_path(path, sizeof(path));
	for (dir = strtok_r(path, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(file, sizeof(file), "%s/%s.so", dir, type)
		        < (int) sizeof(file)
		    && realpath(file, real) != NULL) {
			return ARB_OK;
		}
	}
	arb_actor_path(path, sizeof(path));
	snprintf(errbuf, errlen,
	    "unknown actor type \"%s\" (no %s.so in the actor path %s)", type,
	    type, path[0] != '\0' ? path : "(empty)");
	return ARB_ENOENT;
}

// type_find is the start of both lookups below: errbuf set up (a dummy
// when NULL), then the type registered (*opsp, ARB_OK), or its module
// found (*opsp NULL, its real path in real, ARB_OK), or the reason.
static int
type_find(const char *type, const arb_actor_ops **opsp, char real[PATH_MAX],
    char **errbufp, size_t *errlenp, char dummy[8])
{
	if (*errbufp == NULL || *errlenp == 0) {
		*errbufp = dummy;
		*errlenp = 8;
	}
	(*errbufp)[0] = '\0';
	if (type == NULL) {
		return ARB_EINVAL;
	}
	if ((*opsp = arb__actor_type_registered(type)) != NULL) {
		return ARB_OK;
	}
	return module_locate(type, real, *errbufp, *errlenp);
}

int
arb_actor_type_load(
    const char *type, const arb_actor_ops **opsp, char *errbuf, size_t errlen)
{
	const arb_actor_ops *ops;
	char                 real[PATH_MAX], dummy[8];
	int                  rv;

	if ((rv = type_find(type, &ops, real, &errbuf, &errlen, dummy))
	    != ARB_OK) {
		return rv;
	}
	if (ops == NULL) {
		pthread_mutex_lock(&mod_mtx);
		rv = module_open(real, errbuf, errlen);
		pthread_mutex_unlock(&mod_mtx);
		if (rv != ARB_OK) {
			return rv;
		}
		if ((ops = arb__actor_type_registered(type)) == NULL) {
			snprintf(errbuf, errlen,
			    "%s was loaded but registered no type \"%s\"",
			    real, type);
			return ARB_ENOENT;
		}
	}
	if (opsp != NULL) {
		*opsp = ops;
	}
	return ARB_OK;
}

bool
arb__actor_type_is_registered(const char *type)
{
	return arb__actor_type_registered(type) != NULL;
}

int
arb__actor_type_known(const char *type, char *errbuf, size_t errlen)
{
	const arb_actor_ops *ops;
	char                 real[PATH_MAX], dummy[8];

	return type_find(type, &ops, real, &errbuf, &errlen, dummy);
}

void
arb__modules_load_env(void)
{
	const char *env = getenv(ARB__PLUGINS_ENV);
	char       *list, *p, *save = NULL;
	char        err[512];

	if (env == NULL || env[0] == '\0' ||
	    (list = arb__strdup(env)) == NULL) {
		return;
	}
	for (p = strtok_r(list, ":", &save); p != NULL;
	     p = strtok_r(NULL, ":", &save)) {
		if (arb_actor_module_load(p, err, sizeof(err)) != ARB_OK) {
			arb__log(ARB_LOG_ERROR, NULL,
			    "event=module_unavailable env=%s error=\"%s\"",
			    ARB__PLUGINS_ENV, err);
		}
	}
	arb__free(list);
}

// A type is found registered, or in a module of the actor path.
const arb_actor_ops *
arb_actor_type_find(const char *type)
{
	return arb__actor_type_find(type);
}

const arb_actor_ops *
arb__actor_type_find(const char *type)
{
	const arb_actor_ops *ops = NULL;

	arb_actor_type_load(type, &ops, NULL, 0);
	return ops;
}
