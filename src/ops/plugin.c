// SPDX-License-Identifier: MIT
// plugin.c -- the `plugins:` of a tree file (plugin.h): modules loaded
// by path through the library, and the list process actors inherit.
// Thread: any (the main thread, a reload's thread): one lock guards the
// list.

#include "plugin.h"

#include "config.h"

#include <arbor/actor.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t loaded_mtx = PTHREAD_MUTEX_INITIALIZER;
static char          **loaded; // absolute paths
static size_t          nloaded;

int
arb__plugins_load(const char *path, char *err, size_t errlen)
{
	char   real[PATH_MAX];
	char **v;
	size_t i;

	if (arb_actor_module_load(path, err, errlen) != ARB_OK) {
		return -1;
	}
	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&loaded_mtx);
	for (i = 0; i < nloaded; i++) {
		if (strcmp(loaded[i], real) == 0) {
			pthread_mutex_unlock(&loaded_mtx);
			return 0;
		}
	}
	v = realloc(loaded, (nloaded + 1) * sizeof(*v));
	if (v == NULL) {
		pthread_mutex_unlock(&loaded_mtx);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	loaded = v;
	loaded[nloaded++] = arb__xstrdup(real);
	pthread_mutex_unlock(&loaded_mtx);
	return 0;
}

void
arb__plugins_export_env(void)
{
	size_t i, len = 1;
	char  *v;

	pthread_mutex_lock(&loaded_mtx);
	if (nloaded == 0) {
		pthread_mutex_unlock(&loaded_mtx);
		unsetenv("ARBOR_PLUGINS");
		return;
	}
	for (i = 0; i < nloaded; i++) {
		len += strlen(loaded[i]) + 1;
	}
	v = arb__xalloc(len);
	v[0] = '\0';
	for (i = 0; i < nloaded; i++) {
		if (i > 0) {
			strcat(v, ":");
		}
		strcat(v, loaded[i]);
	}
	pthread_mutex_unlock(&loaded_mtx);
	setenv("ARBOR_PLUGINS", v, 1);
	free(v);
}

void
arb__plugins_fini(void)
{
	size_t i;

	pthread_mutex_lock(&loaded_mtx);
	for (i = 0; i < nloaded; i++) {
		free(loaded[i]);
	}
	free(loaded);
	loaded = NULL;
	nloaded = 0;
	pthread_mutex_unlock(&loaded_mtx);
}
