// SPDX-License-Identifier: MIT
// plugin.c -- loading actor types from shared objects (plugin.h).
//
// dlopen(RTLD_NOW) so a missing symbol is reported at load time, where
// `arbor check` can name the file, rather than at the first start.
//
// The library keeps its type table private, so "is this type known?" is
// answered by registering a stand-in under that name: ARB_EEXIST means
// the type exists.  When the registration succeeds the name was unknown;
// the stand-in stays registered (its init fails with ARB_ENOENT, so it
// can never run anything) and is remembered, so the next question gets
// the same answer.  Thread: main, or the node thread (reload).

#include "plugin.h"

#include "config.h"

#include <arbor/actor.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*plugin_init_fn)(void);

static char **loaded; // absolute paths
static size_t nloaded;

typedef struct unknown_type {
	arb_actor_ops ops;
	char          name[];
} unknown_type;

static unknown_type **unknowns; // never freed: the library points at them
static size_t         nunknowns;

int
arbor_plugin_load(const char *path, char *err, size_t errlen)
{
	char           real[PATH_MAX];
	void          *h;
	void          *sym;
	plugin_init_fn init;
	char         **v;
	size_t         i;
	int            rv;

	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < nloaded; i++) {
		if (strcmp(loaded[i], real) == 0) {
			return 0;
		}
	}
	if ((h = dlopen(real, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	dlerror();
	sym = dlsym(h, "arbor_plugin_init");
	if (sym == NULL) {
		snprintf(err, errlen,
		    "%s: no function arbor_plugin_init (see "
		    "examples/plugin/README.md)",
		    real);
		dlclose(h);
		return -1;
	}
	memcpy(&init, &sym, sizeof(init)); // POSIX: data and code pointers
	if ((rv = init()) != 0) {
		snprintf(err, errlen, "%s: arbor_plugin_init returned %d (%s)",
		    real, rv, arb_strerror(rv));
		// Not unloaded: it may have registered some types already.
		return -1;
	}
	v = realloc(loaded, (nloaded + 1) * sizeof(*v));
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	loaded = v;
	loaded[nloaded++] = arbor_xstrdup(real);
	return 0;
}

int
arbor_plugin_load_env(char *err, size_t errlen)
{
	const char *env = getenv(ARBOR_PLUGINS_ENV);
	char       *list, *p, *save = NULL;
	char        one[512];
	int         rv = 0;

	if (env == NULL || env[0] == '\0') {
		return 0;
	}
	list = arbor_xstrdup(env);
	for (p = strtok_r(list, ":", &save); p != NULL;
	     p = strtok_r(NULL, ":", &save)) {
		if (arbor_plugin_load(p, one, sizeof(one)) != 0 && rv == 0) {
			snprintf(err, errlen, "%s", one);
			rv = -1;
		}
	}
	free(list);
	return rv;
}

void
arbor_plugin_export_env(void)
{
	size_t i, len = 1;
	char  *v;

	if (nloaded == 0) {
		unsetenv(ARBOR_PLUGINS_ENV);
		return;
	}
	for (i = 0; i < nloaded; i++) {
		len += strlen(loaded[i]) + 1;
	}
	v = arbor_xalloc(len);
	v[0] = '\0';
	for (i = 0; i < nloaded; i++) {
		if (i > 0) {
			strcat(v, ":");
		}
		strcat(v, loaded[i]);
	}
	setenv(ARBOR_PLUGINS_ENV, v, 1);
	free(v);
}

const char *
arbor_plugin_loaded(size_t i)
{
	return i < nloaded ? loaded[i] : NULL;
}

static int
unknown_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) ctx;
	(void) statep;
	(void) arg;
	(void) len;
	return ARB_ENOENT;
}

bool
arbor_plugin_type_known(const char *type)
{
	unknown_type  *u;
	unknown_type **v;
	size_t         i, n;
	int            rv;

	for (i = 0; i < nunknowns; i++) {
		if (strcmp(unknowns[i]->name, type) == 0) {
			return false;
		}
	}
	n = strlen(type);
	u = arbor_xalloc(sizeof(*u) + n + 1);
	memcpy(u->name, type, n + 1);
	u->ops.type = u->name;
	u->ops.init = unknown_init;
	rv = arb_actor_type_register(&u->ops);
	if (rv == ARB_EEXIST) {
		free(u);
		return true;
	}
	if (rv != ARB_OK) {
		free(u); // table full or bad name: unknown, and not kept
		return false;
	}
	if ((v = realloc(unknowns, (nunknowns + 1) * sizeof(*v))) == NULL) {
		fprintf(stderr, "arbor: out of memory\n");
		exit(ARB_EXIT_SOFTWARE);
	}
	unknowns = v;
	unknowns[nunknowns++] = u;
	return false;
}

void
arbor_plugin_fini(void)
{
	size_t i;

	for (i = 0; i < nloaded; i++) {
		free(loaded[i]);
	}
	free(loaded);
	loaded = NULL;
	nloaded = 0;
}
