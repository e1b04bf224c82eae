// SPDX-License-Identifier: MIT
// mbox.c -- a mailbox: an in-memory queue of batches for one child slot.
//
// Producers are the outbound queues of this process's actors (any loop
// thread) and the link connections that deliver frames from other
// processes (nng's threads).  They append whole batches under the
// mailbox's mutex; the one that makes the queue non-empty activates the
// delivery event of the loop that owns the mailbox, so a receiver pays
// one wakeup per burst, not per message.  The owning loop takes batches
// (up to a budget per wakeup, then yields to its timers) and hands each
// to the actor.  Thread: any, except the delivery callback (the owning
// loop) and attach/detach (that loop's thread).
//
// Back-pressure: above the high-water mark, local producers are refused
// (ARB_EAGAIN) and wait to be woken; a link is never refused (its frames
// are already here) but is told to PAUSE that mailbox until it drains
// below the low-water mark (link.h, docs/wire.md).

#include "transport.h"

#include <event2/event.h>
#include <pthread.h>
#include <string.h>

#define MBOX_HWM    (1024u * 1024u) // refuse / PAUSE above this
#define MBOX_LWM    (256u * 1024u)  // wake / RESUME below this
#define MBOX_BUDGET 64              // batches per wakeup

// An attachment: the mailbox's delivery to one loop.  The mailbox knows
// only the latest one (att); an older one (a thread actor abandoned by the
// node, still running) can neither receive, pause nor detach it.
struct arb__mbox_att {
	arb__mbox    *mb;
	struct event *ev; // delivery event on the attached loop
	arb__batch_cb cb;
	void (*drained)(void *);
	void *arg;
};

struct arb__mbox {
	pthread_mutex_t     mtx;
	_Atomic int         refs;
	uint32_t            mbid;
	arb__mbox_resume_fn resume;
	arb__chunk         *head;
	arb__chunk         *tail;
	size_t              bytes;
	uint64_t            nenv;
	arb__mbox_att      *att; // current attachment (NULL: detached)
	bool                paused;
	bool                closed;
	bool                sealed;      // its slot closed (arb__mbox_seal)
	bool                link_paused; // a link was told to PAUSE us
	_Atomic uint64_t   *pub;         // mirror of nenv (arb__mbox_publish)
	struct event      **waiters;     // local producers refused while full
	size_t              nwait;
	size_t              capwait;
};

int
arb__mbox_new(arb__mbox **mbp, uint32_t mbid, arb__mbox_resume_fn resume)
{
	arb__mbox *mb = arb__alloc(sizeof(*mb));

	if (mb == NULL) {
		return ARB_ENOMEM;
	}
	pthread_mutex_init(&mb->mtx, NULL);
	atomic_init(&mb->refs, 1);
	mb->mbid = mbid;
	mb->resume = resume;
	*mbp = mb;
	return ARB_OK;
}

void
arb__mbox_ref(arb__mbox *mb)
{
	atomic_fetch_add_explicit(&mb->refs, 1, memory_order_relaxed);
}

static void
mbox_free_chunks(arb__chunk *ch)
{
	arb__chunk *next;

	for (; ch != NULL; ch = next) {
		next = ch->next;
		arb__chunk_free(ch);
	}
}

void
arb__mbox_rele(arb__mbox *mb)
{
	if (mb == NULL
	    || atomic_fetch_sub_explicit(&mb->refs, 1, memory_order_acq_rel)
	        != 1) {
		return;
	}
	// The last reference: nobody is attached (an attached loop holds
	// one) and nobody can put any more.
	mbox_free_chunks(mb->head);
	arb__free(mb->waiters);
	pthread_mutex_destroy(&mb->mtx);
	arb__free(mb);
}

static void
mbox_wake_waiters(arb__mbox *mb)
{
	size_t i;

	for (i = 0; i < mb->nwait; i++) {
		event_active(mb->waiters[i], 0, 0);
	}
	mb->nwait = 0;
}

// mbox_empty takes everything queued out of mb and returns it (a list by
// next), with the envelopes it held in *n, taken off the published
// count; the producers refused for room are woken.  Under mb->mtx.
static arb__chunk *
mbox_empty(arb__mbox *mb, size_t *n)
{
	arb__chunk *list = mb->head;

	*n = (size_t) mb->nenv;
	mb->head = mb->tail = NULL;
	mb->bytes = 0;
	mb->nenv = 0;
	if (mb->pub != NULL) {
		atomic_fetch_sub_explicit(mb->pub, *n, memory_order_relaxed);
	}
	mbox_wake_waiters(mb);
	return list;
}

// mbox_append queues ch and wakes the owning loop if the queue was
// empty.  Under mb->mtx.
static void
mbox_append(arb__mbox *mb, arb__chunk *ch)
{
	bool was_empty = mb->head == NULL;

	ch->next = NULL;
	if (mb->tail != NULL) {
		mb->tail->next = ch;
	} else {
		mb->head = ch;
	}
	mb->tail = ch;
	mb->bytes += ch->len;
	mb->nenv += ch->nenv;
	if (mb->pub != NULL) {
		atomic_fetch_add_explicit(
		    mb->pub, ch->nenv, memory_order_relaxed);
	}
	if (was_empty && mb->att != NULL && !mb->paused) {
		event_active(mb->att->ev, 0, 0);
	}
}

int
arb__mbox_put(arb__mbox *mb, arb__chunk *ch, struct event *waiter)
{
	int rv = ARB_OK;

	pthread_mutex_lock(&mb->mtx);
	if (mb->closed || mb->sealed) {
		rv = ARB_ENOENT;
	} else if (mb->bytes >= MBOX_HWM) {
		size_t i;

		rv = ARB_EAGAIN;
		for (i = 0; i < mb->nwait && mb->waiters[i] != waiter; i++) { }
		if (waiter != NULL && i == mb->nwait) {
			if (mb->nwait == mb->capwait) {
				size_t cap = mb->capwait ? mb->capwait * 2 : 4;
				struct event **n = arb__realloc(
				    mb->waiters, cap * sizeof(*n));
				if (n != NULL) {
					mb->waiters = n;
					mb->capwait = cap;
				}
			}
			if (mb->nwait < mb->capwait) {
				mb->waiters[mb->nwait++] = waiter;
			}
		}
	} else {
		mbox_append(mb, ch);
	}
	pthread_mutex_unlock(&mb->mtx);
	return rv;
}

void
arb__mbox_unwait(arb__mbox *mb, struct event *waiter)
{
	size_t i;

	pthread_mutex_lock(&mb->mtx);
	for (i = 0; i < mb->nwait; i++) {
		if (mb->waiters[i] == waiter) {
			mb->waiters[i] = mb->waiters[--mb->nwait];
			break;
		}
	}
	pthread_mutex_unlock(&mb->mtx);
}

bool
arb__mbox_put_link(
    arb__mbox *mb, arb__chunk *ch, arb__tp_stats *st, bool *sealed)
{
	bool over;

	pthread_mutex_lock(&mb->mtx);
	if (sealed != NULL && (*sealed = mb->sealed)) {
		pthread_mutex_unlock(&mb->mtx);
		return false; // not taken: the caller hands it on
	}
	if (mb->closed) {
		pthread_mutex_unlock(&mb->mtx);
		arb__chunk_drop(ch, st); // the slot was removed meanwhile
		return false;
	}
	mbox_append(mb, ch);
	over = mb->bytes >= MBOX_HWM;
	if (over) {
		mb->link_paused = true;
	}
	pthread_mutex_unlock(&mb->mtx);
	return over;
}

bool
arb__mbox_still_full(arb__mbox *mb)
{
	bool full;

	pthread_mutex_lock(&mb->mtx);
	full = !mb->closed && mb->bytes > MBOX_LWM;
	if (full) {
		mb->link_paused = true; // the next drain below LWM resumes
	}
	pthread_mutex_unlock(&mb->mtx);
	return full;
}

// mbox_ready_cb delivers queued batches on the attached loop.
static void
mbox_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	arb__mbox_att *att = arg;
	arb__mbox     *mb = att->mb;
	arb__chunk    *list, *ch, *next, **tail = &list;
	int            n = 0;
	bool           more, resume = false;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	pthread_mutex_lock(&mb->mtx);
	if (mb->paused || mb->att != att) {
		pthread_mutex_unlock(&mb->mtx);
		return;
	}
	list = mb->head;
	for (ch = mb->head; ch != NULL && n < MBOX_BUDGET; ch = ch->next) {
		mb->bytes -= ch->len;
		mb->nenv -= ch->nenv;
		tail = &ch->next;
		n++;
	}
	mb->head = ch;
	if (ch == NULL) {
		mb->tail = NULL;
	}
	*tail = NULL;
	more = mb->head != NULL;
	if (mb->bytes <= MBOX_LWM) {
		mbox_wake_waiters(mb);
		resume = mb->link_paused;
		mb->link_paused = false;
	}
	pthread_mutex_unlock(&mb->mtx);
	if (resume && mb->resume != NULL) {
		mb->resume(mb->mbid);
	}
	for (ch = list; ch != NULL; ch = next) {
		next = ch->next;
		att->cb(att->arg, ch->data, ch->len);
		// Published as waiting until handed over: a process that dies
		// in the middle of this list leaves the rest counted.
		if (mb->pub != NULL) {
			atomic_fetch_sub_explicit(
			    mb->pub, ch->nenv, memory_order_relaxed);
		}
		arb__chunk_free(ch);
	}
	if (more) {
		event_active(att->ev, 0, 0); // the rest after the timers
	}
	if (att->drained != NULL) {
		att->drained(att->arg);
	}
}

int
arb__mbox_attach(arb__mbox *mb, struct event_base *base, arb__batch_cb cb,
    void (*drained)(void *arg), void *arg, arb__mbox_att **attp)
{
	arb__mbox_att *att = arb__alloc(sizeof(*att));

	if (att == NULL
	    || (att->ev = event_new(base, -1, 0, mbox_ready_cb, att))
	        == NULL) {
		arb__free(att);
		return ARB_ENOMEM;
	}
	att->mb = mb;
	att->cb = cb;
	att->drained = drained;
	att->arg = arg;
	pthread_mutex_lock(&mb->mtx);
	mb->att = att;
	mb->paused = false;
	if (mb->head != NULL) {
		event_active(att->ev, 0, 0); // queued while it had no loop
	}
	pthread_mutex_unlock(&mb->mtx);
	*attp = att;
	return ARB_OK;
}

void
arb__mbox_detach(arb__mbox_att *att)
{
	arb__mbox *mb;

	if (att == NULL) {
		return;
	}
	mb = att->mb;
	pthread_mutex_lock(&mb->mtx);
	if (mb->att == att) {
		mb->att = NULL;
		mb->paused = true;
	}
	pthread_mutex_unlock(&mb->mtx);
	event_free(att->ev); // on the attached loop's thread
	arb__free(att);
}

void
arb__mbox_pause(arb__mbox_att *att)
{
	arb__mbox *mb;

	if (att != NULL) {
		mb = att->mb;
		pthread_mutex_lock(&mb->mtx);
		if (mb->att == att) {
			mb->paused = true;
		}
		pthread_mutex_unlock(&mb->mtx);
	}
}

void
arb__mbox_unpause(arb__mbox_att *att)
{
	arb__mbox *mb;

	if (att != NULL) {
		mb = att->mb;
		pthread_mutex_lock(&mb->mtx);
		if (mb->att == att && mb->paused) {
			mb->paused = false;
			if (mb->head != NULL) {
				event_active(att->ev, 0, 0); // came meanwhile
			}
		}
		pthread_mutex_unlock(&mb->mtx);
	}
}

size_t
arb__mbox_drop(arb__mbox *mb)
{
	arb__chunk *list;
	size_t      n;

	if (mb == NULL) {
		return 0;
	}
	pthread_mutex_lock(&mb->mtx);
	list = mbox_empty(mb, &n);
	pthread_mutex_unlock(&mb->mtx);
	mbox_free_chunks(list);
	return n;
}

// mbox_take is arb__mbox_take; with seal it seals mb first, under the
// same hold of its lock (arb__mbox_seal).
static arb__chunk *
mbox_take(arb__mbox *mb, bool close, bool seal)
{
	arb__chunk *list;
	size_t      n;
	bool        resume;

	pthread_mutex_lock(&mb->mtx);
	mb->closed = mb->closed || close;
	mb->sealed = mb->sealed || seal;
	list = mbox_empty(mb, &n);
	resume = mb->link_paused;
	mb->link_paused = false;
	pthread_mutex_unlock(&mb->mtx);
	if (resume && mb->resume != NULL) {
		mb->resume(mb->mbid);
	}
	return list;
}

arb__chunk *
arb__mbox_take(arb__mbox *mb, bool close)
{
	return mbox_take(mb, close, false);
}

arb__chunk *
arb__mbox_seal(arb__mbox *mb, bool on)
{
	if (!on) {
		pthread_mutex_lock(&mb->mtx);
		mb->sealed = false;
		pthread_mutex_unlock(&mb->mtx);
		return NULL;
	}
	return mbox_take(mb, false, true);
}

size_t
arb__mbox_close(arb__mbox *mb)
{
	pthread_mutex_lock(&mb->mtx);
	mb->closed = true;
	pthread_mutex_unlock(&mb->mtx);
	return arb__mbox_drop(mb); // the woken producers then see ENOENT
}

void
arb__mbox_publish(arb__mbox *mb, _Atomic uint64_t *count)
{
	pthread_mutex_lock(&mb->mtx);
	mb->pub = count;
	if (count != NULL) {
		atomic_store_explicit(count, mb->nenv, memory_order_relaxed);
	}
	// (Called before the mailbox is attached: nothing is being handed
	// over, so nenv is all that waits.)
	pthread_mutex_unlock(&mb->mtx);
}
