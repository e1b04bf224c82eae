// SPDX-License-Identifier: MIT
// transport.h -- internal message transport: mailboxes and outbound queues.
//
// A mailbox (arb__mbox) is an nng PULL socket listening on the actor's
// addresses, watched by the actor's loop through NNG_OPT_RECVFD and drained
// with NNG_FLAG_NONBLOCK until NNG_EAGAIN.  An outbound queue (arb__outq)
// keeps, per destination mailbox, a PUSH socket and a pending batch:
// envelopes produced in one loop turn are encoded into that batch and sent
// as ONE nng message when the turn ends (a lowest-priority event), so a
// lone message is not delayed and a stream pays one hand-off per batch.
//
// Both objects belong to one loop and are used only on its thread.
// Only tp_nng.c includes <nng/nng.h>.

#ifndef ARB_TRANSPORT_H
#define ARB_TRANSPORT_H

#include "../core/arb_impl.h"

struct event_base;

// Where mailboxes live.  `token` makes inproc names unique per node;
// `in_node` is true in the node process (where thread actors are reachable
// over inproc).
typedef struct arb__addr {
	char run_dir[160];
	char token[40];
	bool in_node;
} arb__addr;

// arb__transport_warm starts nng (its thread pool) ahead of the first
// mailbox, in a process that has time now and will need speed later.
void arb__transport_warm(void);

// arb__addr_url writes the URL to reach the mailbox of pid.
void arb__addr_url(const arb__addr *a, arb_pid pid, bool inproc, char *buf,
    size_t len);

typedef struct arb__mbox arb__mbox;
typedef void (*arb__batch_cb)(void *arg, const void *data, size_t len);

// arb__mbox_open listens for pid's mailbox: inproc too when pid is a
// thread actor in the node process, ipc always.  cb runs on the loop for
// every received batch (data borrowed for the call); drained (may be NULL)
// after each wakeup's batches, so replies produced while draining leave
// as one batch even when the loop never goes idle.  With base NULL the
// mailbox is opened detached (listening; arb__mbox_attach puts it on a
// loop later).
int arb__mbox_open(arb__mbox **mbp, struct event_base *base,
    const arb__addr *a, arb_pid pid, size_t max_batch, arb__batch_cb cb,
    void (*drained)(void *arg), void *arg);
// arb__mbox_listen_ipc opens the ipc address of a thread actor's mailbox
// (deferred by arb__mbox_open; a no-op once done or for other mailboxes).
// Until then senders in other processes redial every few ms.  A thread
// actor's ipc address is opened only when a process needs it: when the
// actor first sends to a process, or when a process asks the node
// (ARB__CTL_LISTEN) because it is about to send to the actor.
int arb__mbox_listen_ipc(arb__mbox *mb);
// arb__mbox_detach removes the mailbox from its loop (on that loop's
// thread) without closing the socket; arb__mbox_attach puts it on another
// loop.  A thread actor's mailbox belongs to its child slot and passes
// from one incarnation to the next this way: no close, no new listen, and
// what was queued during the restart reaches the new incarnation.
void arb__mbox_detach(arb__mbox *mb);
int  arb__mbox_attach(arb__mbox *mb, struct event_base *base,
     arb__batch_cb cb, void (*drained)(void *arg), void *arg);
// arb__mbox_pause stops delivering batches (the actor is exiting).
void arb__mbox_pause(arb__mbox *mb);
// arb__mbox_close closes the socket; envelopes still queued are decoded
// only to be counted and returned as dead letters.  NULL is a no-op.
size_t arb__mbox_close(arb__mbox *mb);

// Mailbox slots of this node process: a child slot's mailbox exists from
// its creation until it is removed.  Senders in the node process get
// ARB_ENOENT for a pid whose slot never existed or is gone.  (Process
// actors cannot see the table: from them such messages wait for a
// reconnect that never comes, bounded by the backlog.)  Thread: any.
void arb__mbid_set(uint32_t mbid, bool exists);
bool arb__mbid_gone(uint32_t mbid);

typedef struct arb__outq arb__outq;

#define ARB__OUTQ_BATCH_FLUSH (64u * 1024u)  // flush a peer early above this
#define ARB__OUTQ_BACKLOG_MAX (1024u * 1024u) // ARB_EAGAIN above this

int arb__outq_open(arb__outq **qp, struct event_base *base,
    const arb__addr *a, size_t max_msg);
// arb__outq_push encodes m for m->to.  Returns ARB_EAGAIN when that
// destination's backlog is full, ARB_EMSGSIZE over max_msg, ARB_ENOENT
// for a pid that cannot have a mailbox, ARB_ENOMEM.  m stays the caller's.
int arb__outq_push(arb__outq *q, const arb_msg *m);
// arb__outq_set_reach sets fn(arg, to), called once per destination
// reached over ipc, when its peer socket is made (before the first batch
// to it leaves).  Thread actors use it to open their own ipc address only
// when they talk to a process; process actors to ask the node to have a
// thread actor's ipc address opened.  fn NULL clears it.
typedef void (*arb__outq_reach_fn)(void *arg, arb_pid to);
void arb__outq_set_reach(arb__outq *q, arb__outq_reach_fn fn, void *arg);
// arb__outq_flush sends every pending batch now (non-blocking).
void arb__outq_flush(arb__outq *q);
// arb__outq_backlog returns the bytes not yet handed to nng.
size_t arb__outq_backlog(const arb__outq *q);
uint64_t arb__outq_batches(const arb__outq *q);
// arb__outq_idle is true when nothing waits to be sent (no pending batch,
// so none of the queue's events is armed).
bool arb__outq_idle(const arb__outq *q);
// arb__outq_owns is true when ev is one of an outbound queue's own events.
struct event;
bool arb__outq_owns(const struct event *ev);
// arb__outq_linger flushes and waits (at most ms) until every pending
// batch has been handed over by nng, so an exiting actor's last messages
// are not lost with its sockets.  Blocks: call it on the actor's own
// thread as it ends, never on the node loop.
void arb__outq_linger(arb__outq *q, int ms);
// arb__outq_close flushes what it can and closes every socket.  NULL is a
// harmless no-op.
void arb__outq_close(arb__outq *q);

#endif // ARB_TRANSPORT_H
