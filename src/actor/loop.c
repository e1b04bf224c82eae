// SPDX-License-Identifier: MIT
// loop.c -- the only place that creates a libevent event_base.
//
// Every actor (and the node) gets its own base with three priorities:
// 1 is the default for everything, 2 is for end-of-turn work (outbound
// flush, gather completion) which libevent runs only when nothing of a
// higher priority is active.  At most 64 callbacks run before the loop
// polls again, so no event can starve timers, fds or node commands.
// evthread_use_pthreads() is called once
// before the first base, so event_active() from another thread is safe.

#include "actor_int.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int            loop_threads_rv;

static void
loop_init_once(void)
{
	loop_threads_rv = evthread_use_pthreads();
}

struct event_base *
arb__loop_new(void)
{
	struct event_base *base;

	pthread_once(&loop_once, loop_init_once);
	if (loop_threads_rv != 0) {
		return NULL;
	}
	struct event_config *cfg;

	if ((cfg = event_config_new()) == NULL) {
		return NULL;
	}
	// libevent runs a priority's active queue until it is empty.  An
	// event that re-activates itself (a producer pumping messages) would
	// then keep the loop there forever: no timer (the outbound retry), no
	// fd and no command from the node (stop) would ever run.  Returning
	// to the poll after every 64 callbacks bounds that.
	event_config_set_max_dispatch_interval(cfg, NULL, 64, 0);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL) {
		return NULL;
	}
	if (event_base_priority_init(base, 3) != 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

void
arb__loop_free(struct event_base *base)
{
	if (base != NULL) {
		event_base_free(base);
	}
}
