// SPDX-License-Identifier: MIT
// registry.h -- names, monitors and links of a node's actors.
//
// The registry knows which actors are alive (one entry per running
// incarnation), the names they registered, who monitors whom and who is
// linked to whom.  When an entry goes down it fires what follows from
// that (OTP): DOWN to every monitor, EXIT to linked actors that trap
// exits, an exit signal to linked actors that do not (abnormal exits
// only).  It touches no loop, socket or process: messages leave through
// the io functions its owner gives it, exit signals through the ops of
// the linked actor's entry.  So an entry can stand for an actor of this
// node (its child driver's ops) or, later, one reached through another
// node (that peer's ops; arb__reg_lost takes them all down when the
// peer is lost).  It also holds the topic table of pub/sub: who
// subscribed to which topic, subscriptions ending with their subscriber.
// Thread: one (the node thread); not thread-safe.

#ifndef ARB_REGISTRY_H
#define ARB_REGISTRY_H

#include "../core/arb_impl.h"

typedef struct arb__reg arb__reg;

// How the registry speaks: notify sends a DOWN (tag ARB_TAG_DOWN, ref
// the monitor's) or EXIT (tag ARB_TAG_EXIT, ref 0) message about `who`
// to `to`; flush is called once at the end of every operation that
// notified, so the messages of one operation leave together; topics (may
// be NULL) is called with the topic table's new generation after every
// change of a subscription.  None may call back into the registry.
typedef struct arb__reg_io {
	void (*notify)(void *arg, arb_pid to, uint32_t tag, uint64_t ref,
	    arb_pid who, const arb_exit *why);
	void (*flush)(void *arg);
	void (*topics)(void *arg, uint64_t gen);
} arb__reg_io;

// How the registry reaches the actor of an entry.
typedef struct arb__reg_ops {
	// exit_signal: an actor linked to this one ended abnormally and this
	// one does not trap exits: it must end with `why` (OTP).  Must not
	// block or call back into the registry (the actor ends later, and
	// its entry goes down then).
	void (*exit_signal)(void *arg, const arb_exit *why);
} arb__reg_ops;

// arb__reg_open makes an empty registry that speaks through io (copied)
// with io_arg.  Returns ARB_OK or ARB_ENOMEM.
int arb__reg_open(arb__reg **regp, const arb__reg_io *io, void *io_arg);
// arb__reg_close frees the registry and everything in it, firing
// nothing.  NULL is a harmless no-op.
void arb__reg_close(arb__reg *reg);

// arb__reg_up adds the entry of a running actor: pid, its path (also
// registered as its name, taken back from an earlier incarnation; "" for
// an actor of another node, which has none here), and ops/arg to reach
// it.  An entry of another node's actor stands for the pid asked (its
// slot address and each incarnation have their own).  A trap_exit it
// asked for before it was up (during init) applies now.  Returns ARB_OK
// or ARB_ENOMEM (then nothing changed).
int arb__reg_up(arb__reg *reg, arb_pid pid, const char *path,
    const arb__reg_ops *ops, void *arg);
// arb__reg_down removes pid's entry and fires DOWN, EXIT and exit
// signals with why.  Names it registered, other than its path, are
// dropped; monitors it held are dropped.  Only pid's own entry goes
// down (for a slot address of this node: the incarnation holding it):
// never another incarnation's, nor, for an incarnation of another node's
// actor, its slot address's (arb__reg_slot_down).  An unknown pid (or
// one whose entry went: a late DOWN) is a harmless no-op.
void arb__reg_down(arb__reg *reg, arb_pid pid, const arb_exit *why);
// What another node's answer to a watch did (arb__reg_watch_down,
// arb__reg_slot_down).
typedef enum arb__reg_answer {
	ARB__REG_ANSWER_NONE,  // no entry for it: a late answer, or bad pid
	ARB__REG_ANSWER_DOWN,  // the entry went down
	ARB__REG_ANSWER_STALE, // the entry's watch is another: not taken
} arb__reg_answer;
// arb__reg_watch_down is arb__reg_down for another node's answer (DOWN)
// to a watch of pid, an actor of that node: the answer names the watch
// it answers (watch, arb__reg_watch_id), and the entry goes down only
// when that is the watch it was asked with now -- an answer to an earlier
// watch of the same pid (demonitored, then monitored again before the
// answer arrived: a new entry, a new watch) is stale and changes
// nothing.  watch 0 (a node that does not echo it) is taken as before.
arb__reg_answer arb__reg_watch_down(
    arb__reg *reg, arb_pid pid, uint64_t watch, const arb_exit *why);
// arb__reg_slot_down is arb__reg_watch_down for another node's answer
// (SLOT_DOWN) to a watch of a slot address of its actor: pid is the
// incarnation that node watched (the one holding the slot), and the entry
// taken down is the slot address's (pid's node incarnation's, else
// creation 0's: whichever incarnation of that node), its DOWN and EXIT
// naming pid.  Never pid's own entry (that is arb__reg_watch_down's, for
// a watch of pid).  No such entry (a late answer: the monitors went) or
// a pid that is not an incarnation of another node's actor: NONE.
arb__reg_answer arb__reg_slot_down(
    arb__reg *reg, arb_pid pid, uint64_t watch, const arb_exit *why);
// arb__reg_watch_id returns the id of the watch pid's entry (another
// node's actor) asks its node for, never 0: the ref of the first monitor
// made of it, or for an entry made for a link a ref of its own (refs are
// never reused, so a new entry of the same pid has a new id).  0: no
// such entry.
uint64_t arb__reg_watch_id(arb__reg *reg, arb_pid pid);
// arb__reg_lost takes down, with why, every entry whose arg is `arg`:
// all actors reached through one peer when that peer is lost (their
// monitors fire DOWN, e.g. with ARB_EXIT_NOCONNECTION).  Returns how
// many went down.
size_t arb__reg_lost(arb__reg *reg, const void *arg, const arb_exit *why);
// arb__reg_actors calls fn for every running thread or process actor of
// this node that has an entry (fn must not change the registry) and
// returns how many.
size_t arb__reg_actors(const arb__reg *reg,
    void (*fn)(void *arg, arb_pid pid), void *arg);
// arb__reg_alive is true when pid (this very incarnation; for a slot
// address, any incarnation of the slot) has an entry.
bool arb__reg_alive(const arb__reg *reg, arb_pid pid);
// arb__reg_current returns the incarnation a slot address names now (the
// slot's running actor), or pid itself (not a slot address, or no
// incarnation runs).
arb_pid arb__reg_current(const arb__reg *reg, arb_pid pid);

// arb__reg_register gives name to pid.  ARB_EEXIST when a live actor
// other than pid holds it (a dead holder's name is taken over),
// ARB_ENOMEM.
int arb__reg_register(arb__reg *reg, const char *name, arb_pid pid);
// arb__reg_whereis finds name's pid: for a child path its slot address
// (arb_pid_slot: whichever incarnation holds the slot, or none between
// two) until arb__reg_release, for a registered name the exact pid that
// registered it (which may have ended).  ARB_ENOENT when unknown.
int arb__reg_whereis(const arb__reg *reg, const char *name, arb_pid *pidp);
// arb__reg_whereis_hash is arb__reg_whereis for the name whose
// arb__name_hash is hash (a name address from another node): ARB_ENOENT
// for none, ARB_EEXIST when two names share the hash (neither is
// guessed).
int arb__reg_whereis_hash(const arb__reg *reg, uint32_t hash, arb_pid *pidp);
// arb__reg_release: the actor of pid's mailbox is gone for good (its
// child was removed from the tree), so name, when it names any
// incarnation of that mailbox, stops resolving.  A name that now belongs
// to another mailbox (a child that took the path over) is kept, and so is
// an entry still up (it goes down on its own).
void arb__reg_release(arb__reg *reg, const char *name, arb_pid pid);
// arb__reg_monitor makes watcher monitor target and returns the ref in
// *refp.  A target that is not alive gets its DOWN (noproc) at once.
// ARB_ENOMEM.
int arb__reg_monitor(
    arb__reg *reg, arb_pid watcher, arb_pid target, uint64_t *refp);
// arb__reg_demonitor drops watcher's monitor ref and returns its target;
// one that fired or never existed is a harmless no-op (ARB_PID_NONE).
arb_pid arb__reg_demonitor(arb__reg *reg, arb_pid watcher, uint64_t ref);
// arb__reg_forget_unbound removes pid's entry, firing nothing, when no
// monitor or link refers to it any more (an entry standing for another
// node's actor that nobody here watches now) and returns true; else
// (bound, or no entry) false.
bool arb__reg_forget_unbound(arb__reg *reg, arb_pid pid);
// arb__reg_link links self and target (once: a pair already linked,
// either way round, stays one link).  A target that is not alive:
// self gets EXIT (noproc) when it traps exits, else ARB_ENOENT (the
// caller's own failure, as in Erlang).  ARB_ENOMEM.
int arb__reg_link(arb__reg *reg, arb_pid self, arb_pid target);
// arb__reg_unlink removes every link between a and b.
void arb__reg_unlink(arb__reg *reg, arb_pid a, arb_pid b);
// arb__reg_trap_exit sets whether pid traps exits (kept until it is up
// when it asks during init).  ARB_ENOMEM.
int arb__reg_trap_exit(arb__reg *reg, arb_pid pid, bool on);

// --- topics (pub/sub, SPEC 21) --------------------------------------------
// The topic table says which incarnations subscribed to which topic.  A
// subscription belongs to one incarnation (an exact pid): it ends when
// that entry goes down (arb__reg_down, arb__reg_lost), when another
// incarnation of its mailbox comes up (one whose init failed subscribed
// and never went down), and when its mailbox is released.  A restarted
// actor is not subscribed until it subscribes again.  Every change adds
// one to the table's generation and tells io->topics, so publishers that
// keep a topic's subscribers know when to ask again.

// arb__reg_subscribe subscribes pid to topic (1..ARB_TOPIC_MAX-1 bytes;
// the caller checked it).  Subscribing again is a harmless no-op.  pid
// need not be up yet (an actor subscribes in its init).  ARB_ENOSPC when
// the topic has ARB_TOPIC_SUBS_MAX subscribers, ARB_ENOMEM; then nothing
// changed.
int arb__reg_subscribe(arb__reg *reg, const char *topic, arb_pid pid);
// arb__reg_unsubscribe ends pid's subscription to topic; none is a
// harmless no-op.
void arb__reg_unsubscribe(arb__reg *reg, const char *topic, arb_pid pid);
// arb__reg_subscribers writes up to max subscribers of topic into pids
// and returns how many it has (0 for a topic nobody subscribed to).
size_t arb__reg_subscribers(
    const arb__reg *reg, const char *topic, arb_pid *pids, size_t max);
// arb__reg_topics_gen returns the topic table's generation.
uint64_t arb__reg_topics_gen(const arb__reg *reg);

#endif // ARB_REGISTRY_H
