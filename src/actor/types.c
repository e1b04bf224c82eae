// SPDX-License-Identifier: MIT
// types.c -- the registry of actor types (name -> arb_actor_ops).
//
// Types are registered at start-up, or when a module is loaded
// (module.c, which also finds a type: registered, or loaded), and only
// read afterwards.  Thread: any (a mutex guards the table).

#include "actor_int.h"

#include <pthread.h>
#include <string.h>

#define TYPES_MAX 256

static const arb_actor_ops *types[TYPES_MAX];
static size_t               ntypes;
static pthread_mutex_t      types_mtx = PTHREAD_MUTEX_INITIALIZER;

int
arb_actor_type_register(const arb_actor_ops *ops)
{
	size_t i;
	int    rv = ARB_OK;

	if (ops == NULL || ops->type == NULL || ops->init == NULL ||
	    ops->type[0] == '\0') {
		return ARB_EINVAL;
	}
	pthread_mutex_lock(&types_mtx);
	for (i = 0; i < ntypes; i++) {
		if (strcmp(types[i]->type, ops->type) == 0) {
			rv = types[i] == ops ? ARB_OK : ARB_EEXIST;
			goto out;
		}
	}
	if (ntypes == TYPES_MAX) {
		rv = ARB_ENOMEM;
		goto out;
	}
	types[ntypes++] = ops;
out:
	pthread_mutex_unlock(&types_mtx);
	return rv;
}

const arb_actor_ops *
arb__actor_type_registered(const char *type)
{
	const arb_actor_ops *ops = NULL;
	size_t               i;

	if (type == NULL) {
		return NULL;
	}
	pthread_mutex_lock(&types_mtx);
	for (i = 0; i < ntypes; i++) {
		if (strcmp(types[i]->type, type) == 0) {
			ops = types[i];
			break;
		}
	}
	pthread_mutex_unlock(&types_mtx);
	return ops;
}
