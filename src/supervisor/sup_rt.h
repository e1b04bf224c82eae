// SPDX-License-Identifier: MIT
// sup_rt.h -- the supervision tree's runtime: child records, the tree that
// holds what all supervisors and drivers of one node share, and what
// supervisors, drivers and the OS process mechanics offer each other.
//
// The node owns one tree (node/node.c) and is above it: the tree never
// calls the node, it tells it what happened through the hooks it was
// given (a child changed, the root is up, the root ended, the tree began
// to stop).  Below it: the registry, the actor runtime (thread records,
// the control channel), the transport and core.
//
// Everything declared here runs on the node thread (the thread inside
// arb_node_run) unless it says otherwise.  The whole tree lives on that
// one loop: supervisors are state machines, not threads.

#ifndef ARB_SUP_RT_H
#define ARB_SUP_RT_H

#include "../actor/ctl.h"
#include "../actor/thread.h"
#include "../registry/registry.h"
#include "driver.h"
#include "sup_int.h"

#include <limits.h>
#include <sys/types.h>

struct event;
struct event_base;

typedef struct arb__sup    arb__sup;
typedef struct arb__stree  arb__stree;
typedef struct arb__exec   arb__exec;
typedef struct arb__output arb__output;

// arb__started_fn delivers the outcome of a run-time child start once the
// child reported READY (ARB_OK), ignore (ARB_EIGNORE), failed (ARB_ECHILD)
// or was stopped first (ARB_ESHUTDOWN).  Called exactly once.
typedef void (*arb__started_fn)(void *arg, int rv, arb_pid pid);

// One child slot of a supervisor (or the root's slot in the node).
struct arb__child {
	arb__sup      *sup;   // parent (NULL for the root slot)
	arb__stree     *tree;
	arb_child_spec spec;  // own deep copy
	const arb__driver *drv; // how this kind of child is run
	char           path[256];
	arb__cstate    state;
	uint32_t       mbid;  // stable mailbox id
	arb_pid        pid;   // current incarnation
	bool           dynamic; // simple_one_for_one child (removed on exit)
	// Process and exec children.  ospid is the process the node forked
	// and reaps: an exec child's shim (its program is exec->pid).
	pid_t          ospid;
	int            pidfd;
	struct event  *pidfd_ev;
	int            ctl_fd;
	struct event  *ctl_ev;
	bool           reported;  // process actor reported its exit reason
	arb_exit       report;
	bool           stop_sent; // stop requested (exec: exit => shutdown)
	bool           killed;    // we sent SIGKILL (brutal / deadline)
	bool           hung;      // killed by the watchdog
	bool           brutal;    // stopped by a brutal stop (its stop
	                          // deadline is the grace, not its shutdown)
	arb__exec     *exec;      // exec children: program, shim, output
	// Thread children.
	arb__thr      *thr;
	// Nested supervisor.
	arb__sup      *child_sup;
	// Timers.
	struct event  *start_timer;
	struct event  *stop_timer;
	struct event  *backoff_timer;
	struct event  *watchdog_timer;
	int64_t        started_at_ms;
	int64_t        next_attempt_ms;
	unsigned       backoff_attempt;
	unsigned       restarts;
	arb_exit       last_exit;
	bool           has_last_exit;
	bool           restart_pending; // start failure: retry counted
	arb__started_fn started_fn;     // run-time start waiting for READY
	void          *started_arg;
	int64_t        last_hb_ms;   // process actors: last heartbeat
	arb_stats      stats;        // process actors: last heartbeat's stats
	arb__buf       metrics;      // process actors: their metrics as sent
	uint64_t       ctl_rejected; // malformed control messages (this run)
	uint64_t       exits[8];     // exits by arb_exit_kind
	bool           held;         // stopped by an operator: not restarted
	bool           removing;     // reload removes it: no restart decision
	bool           pinned;       // arb__sup_pin_child's: not in the spec,
	                             // kept by reloads, untouched by group
	                             // restarts and operators
	bool           added;        // a reload added it and it never started:
	                             // a failed start leaves it out
};

// The grace a thread actor gets to end when a stop turns brutal (a second
// SIGTERM/SIGINT): a thread cannot be killed, so it is asked, and
// abandoned only if it has not ended by then (SPEC 11).
#define ARB__BRUTAL_GRACE_MS 1000

// An exec child's running incarnation (spawn.c, drv_exec.c): its program
// runs under its own arbor-shim (src/shim/shim.c), which the node forked
// (c->ospid) and which reports on a SOCK_SEQPACKET channel.
struct arb__exec {
	pid_t         pid;     // the program (0 before exec, and once ended)
	int           pidfd;   // its pidfd (-1: signalled by pid)
	int           shim_fd; // the node's end of the shim's channel
	struct event *shim_ev;
	arb__output  *out;     // its stdout and stderr (output.c)
	int           out_fd;  // the read ends, until output.c takes them
	int           err_fd;
};

// arb__child_ospid is the OS pid shown for c (logs, status): its process,
// or an exec child's program (not its shim); 0 when none runs.
static inline pid_t
arb__child_ospid(const arb__child *c)
{
	return c->exec != NULL && c->exec->pid > 0 ? c->exec->pid : c->ospid;
}

// What the tree tells its owner (the node), on the node thread.
typedef struct arb__stree_hooks {
	void (*changed)(void *arg);    // a child changed state
	void (*ready)(void *arg);      // the root reported READY
	void (*exited)(void *arg, const arb_exit *why); // the root ended
	void (*stop_began)(void *arg); // the tree began to stop (once)
	// A monitor or link of target, an actor of another node, is being
	// made and no entry stood for it (on): ask its node to report its
	// end (docs/multinode.md); false: not asked (the entry goes down
	// with noconnection at once).  Or (!on) the last monitor or link of
	// it is gone, and so its entry: its node may stop watching it.
	// NULL: only node loss ends such entries.
	bool (*watch)(void *arg, arb_pid target, bool on);
	// self (an actor of this node) linked (on) or unlinked target, an
	// actor of another node: that node makes the same link, so each
	// side's exit reaches the other (docs/multinode.md).  NULL: links
	// with other nodes' actors fire only on their end or node loss.
	void (*link)(void *arg, arb_pid self, arb_pid target, bool on);
} arb__stree_hooks;

// arb__track_fn receives the outcome of a tracked operation (an operator
// start or restart, a reload): ARB_OK, or ARB_ECHILD and why ("PATH:
// reason") when a child it started failed to start.
typedef void (*arb__track_fn)(void *arg, int rv, const char *why);

// The number of isolations (arb_isolation), so of drivers.
#define ARB__ISOLATIONS 4

// The supervision tree (stree): what every supervisor and driver of one
// node shares.
struct arb__stree {
	struct event_base *base;     // the node loop
	// How each isolation is run, by arb_isolation (set by the owner).
	const arb__driver *drivers[ARB__ISOLATIONS];
	// How a child of another node (spec.node) is run: the node's agent
	// protocol (src/node/remote_driver.c).  NULL: such a child cannot
	// start.
	const arb__driver *remote;
	const arb__addr   *addr;     // where mailboxes live
	size_t             max_msg;
	const char        *self_exe; // the node's program (process actors)
	arb__reg          *reg;      // names, monitors, links
	arb__stree_hooks    hooks;
	void              *hook_arg;
	arb__sup          *root;
	arb__child        *root_slot;
	int64_t            started_ms;
	uint32_t           next_mbid;
	uint32_t           next_inc;
	arb__idmap         slots;    // mbid + 1 -> child (every child slot)
	// Counters (arb_node_stats_get adds the running ones).
	uint64_t           dead_letters; // queued in removed slots' mailboxes
	arb_stats          ended;        // of incarnations that ended
	arb__tp_totals     ended_tp;     // and of their processes' links
	// Set by the node.
	bool               stopping;   // a stop was requested
	bool               brutal;     // ... again: the stop is brutal
	                               // (arb__sup_brutal of the root)
	// Set by the tree.
	bool               stop_begun; // the tree began to stop (any cause)
	bool               gave_up;    // the root reached its intensity
	bool               auto_failed; // the root's auto_shutdown came
	                                // after a significant child failed
	uint64_t           give_ups;   // supervisors that gave up
	int                abandoned;  // thread actors left running
	arb__mview        *mview;      // scratch of walks (lazily made)
	// Process and exec children (spawn.c, drv_process.c).
	arb__idmap         by_ospid;   // ospid -> child
	unsigned           orphans_reaped;
	pid_t              standby_pid; // > 0: a standby process
	int                standby_pidfd;
	int                standby_ctl;
	uint64_t           standby_env; // env_hash() when it was spawned
	bool               no_standby;  // set by the node: never spawn one
	char               shim_path[PATH_MAX]; // arbor-shim ("" not found)
	char               cg_dir[PATH_MAX];    // cgroup.c ("" no cgroups)
	unsigned           cg_join_failed;      // cgroup.c: joins that failed
	pid_t             *foreign;  // the process's children before the node
	size_t             nforeign; // (never swept: arb__proc_sweep)
	// Thread children (drv_thread.c).
	arb__inbox        *inbox;      // their reports
	int                threads;    // threads not yet joined
	arb__thr          *spare_thr;  // while an EXIT is handled: its thread
	arb__thr          *ready_thr;  // made ahead for the next thread start
	// The operation whose outcome is awaited (arb__stree_track_*): the
	// operator jobs and reload jobs it began, the first start that failed.
	bool               tracking;    // jobs begun now belong to it
	int                track_jobs;  // its jobs still running
	int                track_rv;
	char               track_why[256];
	arb__track_fn      track_fn;    // NULL: none awaited
	void              *track_arg;
	char               start_fail[256]; // the last failed start: "PATH:
	                                    // reason"
};

// --- stree.c -------------------------------------------------------------
// arb__stree_init readies tree on base; the caller fills drivers, addr,
// max_msg, self_exe and reg, and may set hooks.  arb__stree_fini releases
// what the tree holds (the exec children's cgroups are removed, killing
// what is left in them); the supervisors must be freed first (arb__sup_free
// of the root).  With thread actors still running (abandoned) it keeps
// the inbox they post to.
void arb__stree_init(arb__stree *tree, struct event_base *base);
void arb__stree_fini(arb__stree *tree);
uint32_t arb__stree_new_mbid(arb__stree *tree);
arb_pid  arb__stree_new_pid(arb__stree *tree, unsigned kind, uint32_t mbid);
// arb__stree_actor_up/down keep the registry in step with the children's
// lives: an actor's entry reaches it through its driver.
void arb__stree_actor_up(arb__stree *tree, arb__child *c);
void arb__stree_actor_down(
    arb__stree *tree, arb__child *c, const arb_exit *why);
// arb__stree_count_ended adds the counters of an incarnation that ended
// (a child's record keeps them until its next start or its removal) to
// tree->ended.
void arb__stree_count_ended(arb__stree *tree, const arb_stats *st);
// arb__stree_track_begin makes the operator and reload jobs begun until
// arb__stree_track_end one operation; arb__stree_track_end has fn(arg, rv,
// why) called once they all ended (at once if they did, or if none
// began).  An operation under way makes arb__stree_track_begin return
// ARB_EAGAIN.  Once the tree began to stop, fn is never called.
int  arb__stree_track_begin(arb__stree *tree);
void arb__stree_track_end(arb__stree *tree, arb__track_fn fn, void *arg);
// arb__stree_track_job_ended: one of its jobs ended.
void arb__stree_track_job_ended(arb__stree *tree);
// arb__stree_track_fail records a failed start of the operation (the
// first one is reported).
void arb__stree_track_fail(
    arb__stree *tree, const char *path, const arb_exit *why);
// arb__stree_note_fail keeps the last failed start's path and reason in
// tree->start_fail (read by a run-time start's caller).
void arb__stree_note_fail(
    arb__stree *tree, const char *path, const arb_exit *why);
// arb__stree_changed tells the owner a child changed state.
void arb__stree_changed(arb__stree *tree);
// arb__stree_mview returns the scratch for decoding an actor's metrics
// during a walk (made on first use; NULL when out of memory: the walk
// then shows no metrics).
arb__mview *arb__stree_mview(arb__stree *tree);

// --- service.c: what actors ask of the tree ---------------------------------
// arb__stree_peer_lost takes down, with noconnection, every registry
// entry that stands for an actor of node node_id (monitors fire DOWN,
// links propagate the exit).  Thread: node.
void arb__stree_peer_lost(arb__stree *tree, uint32_t node_id);
// arb__stree_remote_link makes (on) or removes the link between self, an
// actor of this node (a slot address: its current incarnation), and
// other, an actor of another node that linked it there: the other half
// of a link across nodes.  self not alive: nothing (that node hears
// noproc from its watch of self).  Thread: node.
void arb__stree_remote_link(
    arb__stree *tree, arb_pid self, arb_pid other, bool on);
// arb__stree_whereis resolves name as arb_whereis does: a registered
// name or child path of this node, or "name@node": on this node's own
// name the name here, on a peer's a name address (arb__pid_name) that
// peer resolves on delivery.  ARB_ENOENT unknown (or not a peer),
// ARB_EINVAL for "@node" / "name@".
int arb__stree_whereis(arb__stree *tree, const char *name, arb_pid *pidp);
// arb__stree_service answers an actor's service request req (its `self`
// set by the caller).  It returns true when the answer is deferred
// (ARB__REQ_START_CHILD waits for READY): then fn(fnarg, rv, pid)
// delivers it later, exactly once.
bool arb__stree_service(
    arb__stree *tree, arb__req *req, arb__started_fn fn, void *fnarg);
// arb__stree_start_child starts a run-time child of the simple_one_for_one
// supervisor at sup_path (arb__sup_start_dynamic).
int arb__stree_start_child(arb__stree *tree, const char *sup_path,
    const void *arg, size_t len, arb_pid *pidp, arb__started_fn fn,
    void *fnarg);

// --- supervisor.c -----------------------------------------------------------
int  arb__sup_open(arb__sup **supp, arb__stree *tree, arb__child *slot,
     const arb_sup_spec *spec, const char *path);
void arb__sup_free(arb__sup *sup);
// arb__sup_pin_child puts a record for spec (deep-copied) at the head of
// sup, which has not started yet, so it starts first.  sup's spec does
// not list it: a reload keeps it as it is, a sibling's group restart
// (one_for_all, rest_for_one) never stops it, and an operator's stop,
// restart or delete of it is refused (ARB_EPERM).  The record lives as
// long as sup; *cp points to it.  ARB_ENOMEM; ARB_ESTATE when sup is a
// simple_one_for_one supervisor or has started.  (The agent's own
// supervisor, src/node/remote_agent.c.)
int  arb__sup_pin_child(
     arb__sup *sup, const arb_child_spec *spec, arb__child **cp);
void arb__sup_start(arb__sup *sup);        // async: slot gets READY/FAIL
void arb__sup_stop(arb__sup *sup);         // async: slot gets EXIT
// arb__sup_brutal makes sup's stop brutal (starting it if need be), its
// nested supervisors' too: every process is SIGKILLed at once, every
// thread actor asked to stop at once and abandoned if it has not ended
// after ARB__BRUTAL_GRACE_MS (or its shutdown, if shorter); nothing waits
// for the stop order any more.  Idempotent.
void arb__sup_brutal(arb__sup *sup);
// arb__child_stop_ms is the stop deadline c got when its stop was asked
// for: its shutdown, or the grace of a brutal stop (ms; <= 0: none).
int  arb__child_stop_ms(const arb__child *c);
bool arb__sup_stopping(const arb__sup *sup);
arb__sup *arb__sup_find(arb__sup *root, const char *path);
// arb__sup_start_dynamic adds and starts a simple_one_for_one child.  With
// fn NULL it returns once spawned; otherwise fn gets the outcome (READY or
// failure) unless an error is returned at once.
int  arb__sup_start_dynamic(arb__sup *sup, const void *arg, size_t len,
     arb_pid *pidp, arb__started_fn fn, void *fnarg);
// arb__sup_walk reports sup and its subtree to cb (arb_node_walk).
void arb__sup_walk(arb__sup *sup, arb__child *slot, int depth,
    arb_walk_cb cb, void *arg);
// arb__sup_lookup finds the child record at path ("root/a/b").
arb__child *arb__sup_lookup(arb__sup *root, const char *path);
// arb__sup_remote_at finds the remote child (its spec names another
// node) that is at path or holds path in its subtree (which runs there:
// no record of it here); NULL when path is not under one.
arb__child *arb__sup_remote_at(arb__sup *root, const char *path);
// arb__sup_lookup_inc finds the record at path whose incarnation is inc:
// the child's, or the old record of a child that a reload is replacing or
// removing (its supervisor's removed list, while its stop runs).  NULL:
// neither.
arb__child *arb__sup_lookup_inc(
    arb__sup *root, const char *path, uint32_t inc);
// arb__sup_child_op: 0 stop, 1 start, 2 restart (arb_node_child_*).
int arb__sup_child_op(arb__child *c, int op);
// arb__sup_reload applies a validated spec to a running supervisor.
int arb__sup_reload(arb__sup *sup, const arb_sup_spec *spec);
// arb__sup_stop_began is called when the tree begins to stop, whatever
// the cause (a requested stop, the root giving up, its auto_shutdown or a
// failed start): drivers let go of what they keep for later starts, and
// the owner hears it (hooks.stop_began), once.
void arb__sup_stop_began(arb__stree *tree);
// arb__sup_add_child adds spec (checked as the tree file's children are,
// problems in errbuf: ARB_ESPEC) to the running static supervisor sup and
// starts it, as a reload that adds it would (OTP's start_child with a
// child spec); ARB_ESTATE for a simple_one_for_one supervisor, ARB_EAGAIN
// while sup or one below runs a job, ARB_ESHUTDOWN once it stops.
// arb__sup_delete_child takes the stopped child c out of its supervisor's
// spec (OTP's delete_child): ARB_ESTATE while it runs, ARB_ENOTSUP for a
// simple_one_for_one child (its stop deletes it), ARB_EAGAIN as above.
int arb__sup_add_child(arb__sup *sup, const arb_child_spec *spec,
    char *errbuf, size_t errlen);
int arb__sup_delete_child(arb__child *c);
// arb__sup_busy is true when sup or a nested supervisor runs a job.
bool arb__sup_busy(const arb__sup *sup);

// arb__child_event feeds an event of child c (from its driver, a nested
// supervisor or a timer) into its supervisor.
void arb__child_event(arb__child *c, arb__cevent ev, const arb_exit *why);

// --- drv_thread.c ---------------------------------------------------------
// arb__thread_inbox handles a report of a thread actor (the inbox's
// handler, arg the tree).
void arb__thread_inbox(void *arg, arb__item *it);

// --- spawn.c: the OS processes of process and exec children ------------
// arb__proc_spawn_actor starts c's process actor: the standby when it can
// (not for spec.exe), else posix_spawn; sets c->ospid (and c->pidfd from
// the standby) and *ctlp, the node's end of its control channel.
int  arb__proc_spawn_actor(arb__stree *tree, arb__child *c, int *ctlp);
// arb__proc_spawn_exec forks and execs c's program; sets c->ospid.  An
// exec failure is that errno (the child is already reaped).
int  arb__proc_spawn_exec(arb__child *c);
// arb__proc_watch has the reap loop watch c's process (pidfd, by_ospid).
void arb__proc_watch(arb__stree *tree, arb__child *c);
// arb__proc_signal sends sig to c's process (if any).
void arb__proc_signal(arb__child *c, int sig);
// arb__proc_kill SIGKILLs c's process and its group (c->killed).
void arb__proc_kill(arb__child *c);
// arb__proc_ended turns c's wait status into its exit reason and reports
// the EXIT (whatever watched the process is released first).
void arb__proc_ended(arb__child *c, int status);
// arb__proc_close kills and reaps what is left of c's process, reporting
// nothing (idempotent).
void arb__proc_close(arb__child *c);
// arb__proc_exec_signal sends sig to c's program (SIGKILL: c->killed);
// its shim kills the rest of the subtree once the program has ended.
void arb__proc_exec_signal(arb__child *c, int sig);
// arb__proc_exec_close ends what is left of c's exec incarnation, without
// reporting: its program is SIGKILLed, its shim told (EOF) and reaped
// (it kills the rest), its output read and closed.  Idempotent.
void arb__proc_exec_close(arb__child *c);
// arb__proc_exec_reports logs what c's shim said ("K PID COMM": a
// leftover descendant it killed).
void arb__proc_exec_reports(arb__child *c);
// arb__proc_shim_find sets tree->shim_path: $ARBOR_SHIM, else
// arbor/arbor-shim beside the library, else the compiled-in path.
void arb__proc_shim_find(arb__stree *tree);
// arb__proc_foreign_note records the process's children when the node
// opens (arb__proc_sweep leaves them and their descendants alone).
void arb__proc_foreign_note(arb__stree *tree);
// arb__proc_sweep kills and reaps every descendant of the node still
// alive once the tree has stopped (the process's own children from before
// the node excepted), logging each (event=killed_leftover).  Returns how
// many are still alive after its deadline (event=leftover_alive).
int  arb__proc_sweep(arb__stree *tree);
// arb__proc_standby_spawn spawns the standby if there is none;
// arb__proc_standby_end ends it, if any (reaped: the reap loop already
// collected it).
void arb__proc_standby_spawn(arb__stree *tree);
void arb__proc_standby_end(arb__stree *tree, bool reaped);
// arb__stree_reap collects every child process that ended (s6: waitpid
// until nothing is left) and hands each to its driver; orphaned
// grandchildren (the node is a subreaper) are counted.
void arb__stree_reap(arb__stree *tree);

// --- output.c: exec children's output as log lines -----------------------
#define ARB__OUT_RATE  100     // lines a second logged per child, sustained
#define ARB__OUT_BURST 1000    // lines logged in a burst
#define ARB__OUT_PIECE 256     // longer lines are cut into pieces this long
#define ARB__OUT_PIPE  (1 << 20) // pipe size asked for (F_SETPIPE_SZ)

// arb__outrate: the token bucket of one child's lines (pure).
typedef struct arb__outrate {
	int64_t tokens_milli; // thousandths of a line
	int64_t last_ms;
} arb__outrate;
void arb__outrate_init(arb__outrate *r, int64_t now_ms);
// arb__outrate_take takes one line's token at now_ms: false when the rate
// is exceeded (the line is dropped).  This function can't fail.
bool arb__outrate_take(arb__outrate *r, int64_t now_ms);

// arb__outline assembles lines from a stream's bytes (pure).
typedef struct arb__outline {
	char   buf[ARB__OUT_PIECE];
	size_t len;
} arb__outline;
typedef void (*arb__outline_fn)(void *arg, const char *text, size_t n);
// arb__outline_feed calls fn once per complete line in l's pending bytes
// plus p[0..n) (without its "\n" or "\r\n"), and once per
// ARB__OUT_PIECE bytes of a longer line (1 to 3 fewer when a UTF-8
// character would be cut: it starts the next piece); the rest waits
// in l.
void arb__outline_feed(arb__outline *l, const char *p, size_t n,
    arb__outline_fn fn, void *arg);
// arb__outline_flush emits what waits in l (a last line without "\n").
void arb__outline_flush(arb__outline *l, arb__outline_fn fn, void *arg);

// arb__output_open logs c's output from the read ends outfd and errfd
// (taken: closed on failure too).  ARB_ENOMEM.
int  arb__output_open(arb__output **op, arb__child *c, int outfd, int errfd);
// arb__output_close reads what is left in the pipes, logs it and the
// drops not yet logged, and frees o.  NULL is a harmless no-op.
void arb__output_close(arb__output *o);

// --- cgroup.c: cgroup v2 for exec children ----------------------------------
// arb__cg_open makes the node's cgroup directory (tree->cg_dir) when it
// can, after removing those of nodes that are gone; logs the mode.
void arb__cg_open(arb__stree *tree);
// arb__cg_child makes (if need be) exec child mbid's cgroup and writes
// its path to buf.  ARB_ENOENT when the node has no cgroups.
int  arb__cg_child(arb__stree *tree, uint32_t mbid, char *buf, size_t len);
// arb__cg_join_failed logs (once per node) that a shim could not move an
// exec child's program into its cgroup (it runs without: the /proc walk).
void arb__cg_join_failed(arb__stree *tree, const char *dir, int e);
// arb__cg_child_kill kills whatever is in child mbid's cgroup.
void arb__cg_child_kill(arb__stree *tree, uint32_t mbid);
// arb__cg_child_release removes child mbid's cgroup (if empty).
void arb__cg_child_release(arb__stree *tree, uint32_t mbid);
// arb__cg_close kills what is left in the node's cgroups and removes them.
void arb__cg_close(arb__stree *tree);

#endif // ARB_SUP_RT_H
