// SPDX-License-Identifier: MIT
// thread.h -- thread actors: the thread record (thread.c) and the inbox
// that carries their reports to the node loop (inbox.c).
//
// A thread record is shared by two threads: its actor thread, which runs
// incarnations one after the other (thread.c), and the node thread,
// which gives it incarnations and orders (the thread driver,
// supervisor/drv_thread.c).  Fields say who writes them; the ones marked
// "under mtx" are read and written only through the functions below,
// which take the lock: nothing outside thread.c touches it.

#ifndef ARB_THREAD_H
#define ARB_THREAD_H

#include "actor_int.h"

#include <pthread.h>

typedef struct arb__thr   arb__thr;
typedef struct arb__inbox arb__inbox;

// --- inbox.c: reports of thread actors to the node loop ------------------
typedef enum arb__item_kind {
	ARB__IT_READY = 1,
	ARB__IT_IGNORE,
	ARB__IT_FAIL,
	ARB__IT_EXIT, // the actor ended and released its mailbox address
	ARB__IT_REQ,  // a service request; the poster waits for the answer
	ARB__IT_DONE, // the thread finished tearing down: join it
} arb__item_kind;

typedef struct arb__item {
	arb__item_kind    kind;
	arb__thr         *thr;
	arb_exit          why;
	arb__req         *req;  // REQ: the asker's (NULL once it gave up)
	bool              done; // REQ answered (under the inbox's lock)
	struct arb__item *next;
} arb__item;

// arb__inbox_fn handles one item on the node loop.  It owns the item:
// it frees a report with arb__free, and answers a REQ (now or later,
// exactly once) with arb__inbox_answer.
typedef void (*arb__inbox_fn)(void *arg, arb__item *it);

// arb__inbox_open makes an inbox whose items fn(arg, item) handles on
// base's loop.  Returns ARB_OK or ARB_ENOMEM.
int arb__inbox_open(arb__inbox **ibp, struct event_base *base,
    arb__inbox_fn fn, void *arg);
// arb__inbox_close frees the inbox and any item still queued.  Nothing
// may post to it afterwards.  NULL is a harmless no-op.
void arb__inbox_close(arb__inbox *ib);
// arb__inbox_post queues it for the loop (Thread: any).  For a REQ it
// waits until the answer came (bounded: 5 s, 120 s for a run-time start)
// and frees the item; ARB_ETIMEDOUT when it gave up (the loop frees the
// item then).  Other items belong to the loop once posted.
int arb__inbox_post(arb__inbox *ib, arb__item *it);
// arb__inbox_answer completes a REQ item with rv and pid and wakes its
// poster (or frees the item when the poster gave up).  Thread: loop.
void arb__inbox_answer(arb__inbox *ib, arb__item *it, int rv, arb_pid pid);

// --- thread.c: the thread record --------------------------------------
struct arb__thr {
	arb__inbox      *inbox;   // where its reports go
	const arb__addr *addr;    // where mailboxes live
	size_t           max_msg;
	void            *owner;   // node thread: its child (NULL: none, or
	                          // abandoned); written under mtx
	bool             abandoned; // the node gave up on it (under mtx)
	arb_ctx         *ctx;     // set by the actor thread (under mtx)
	pthread_t        tid;
	pthread_mutex_t  mtx;     // guards cmd_*, cmd_ev, snapshots, order
	struct event    *cmd_ev;
	bool             cmd_stop;
	bool             cmd_exit;
	arb_exit         cmd_why;
	// The incarnation (node thread, before it runs).
	const arb_actor_ops *ops;
	arb_pid          pid;
	char             path[256];
	void            *arg;
	size_t           arg_len;
	// Its last heartbeat (under mtx).
	arb_stats        snap;
	arb__buf         msnap;   // the actor's metrics (metric.c encoding)
	int64_t          last_hb; // ms
	// One thread runs successive incarnations: after its EXIT report it
	// parks until the node orders the next run or its end.
	pthread_cond_t   cv;      // with mtx: the parked thread waits
	_Atomic int      order;   // under mtx; read spinning by the thread
	bool             tid_set; // the pthread exists (node thread)
	bool             prepared; // made ahead: set up, then park first
	struct event_base *base;  // kept from one incarnation to the next
	arb__outq       *outq;    // (actor thread only)
};

// The incarnation a thread is given.
typedef struct arb__thr_inc {
	const arb_actor_ops *ops;
	arb_pid              pid;
	const char          *path;
	void                *arg; // taken over (arb__free'd with the record)
	size_t               arg_len;
	void                *owner;
} arb__thr_inc;

// arb__thr_new makes a thread record (no thread yet) whose reports go to
// ib.  NULL when out of memory.  arb__thr_free releases a record whose
// thread was joined, or never made.
arb__thr *arb__thr_new(arb__inbox *ib, const arb__addr *addr, size_t max_msg);
void      arb__thr_free(arb__thr *t);
// arb__thr_spawn makes t's thread.  With t->prepared set, the thread sets
// up its loop and parks until arb__thr_start or arb__thr_retire.
int arb__thr_spawn(arb__thr *t);
// arb__thr_start gives t its next incarnation and runs it: on its parked
// thread, or on a new one.  On failure (the thread could not be made)
// nothing runs.
int arb__thr_start(arb__thr *t, const arb__thr_inc *inc);
// arb__thr_retire tells a parked (or parking) thread to end: it reports
// DONE, and the node joins it (arb__thr_join) then frees the record.
void arb__thr_retire(arb__thr *t);
void arb__thr_join(arb__thr *t);
// Orders to the running incarnation: stop, exit signal.  Queued until
// its loop runs, dropped once it ended.
void arb__thr_stop(arb__thr *t);
void arb__thr_exit_signal(arb__thr *t, const arb_exit *why);
// arb__thr_set_owner changes t's owner (NULL: its child let it go).
void arb__thr_set_owner(arb__thr *t, void *owner);
// arb__thr_abandon detaches t from its child for good: a thread cannot be
// killed, so it runs on and its reports find no owner.
void arb__thr_abandon(arb__thr *t);
// arb__thr_snapshot reads what t's last heartbeat left: stats, time (ms,
// 0 none) and, into v (may be NULL), metrics.
void arb__thr_snapshot(
    arb__thr *t, arb_stats *st, int64_t *hb, arb__mview *v);

#endif // ARB_THREAD_H
