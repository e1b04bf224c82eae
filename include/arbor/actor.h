// SPDX-License-Identifier: MIT
// actor.h -- the contract for writing an arbor actor.
//
// An actor is a set of callbacks (arb_actor_ops) run on the actor's own
// libevent loop, in its own thread (ARB_THREAD) or its own OS process
// (ARB_PROCESS).  All callbacks of one actor run on that loop thread, one
// at a time; the actor's state is touched nowhere else.

#ifndef ARBOR_ACTOR_H
#define ARBOR_ACTOR_H

#include <arbor/arbor.h>

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base; // libevent; the actor may add its own events to it

typedef struct arb_ctx arb_ctx;
typedef struct arb_cfg arb_cfg; // a view of an actor's config (below)

typedef struct arb_actor_ops {
	const char *type; // the name child specs use

	// init runs on the new loop before the actor counts as started.
	// Return ARB_OK to report READY, ARB_EPENDING to report it later
	// with arb_ready(), ARB_EIGNORE for OTP's `ignore`, or any other
	// code for a start failure (reported as error{code, "init: <the
	// code's text>"}; terminate is not called).  *statep is the actor's
	// private state.
	int (*init)(arb_ctx *ctx, void **statep, const void *arg,
	    size_t arg_len);

	// handle is called for each message; msg is borrowed (valid until
	// handle returns).  May be NULL (messages are dropped).
	void (*handle)(arb_ctx *ctx, void *state, const arb_msg *msg);

	// stop is the stop request (supervisor shutdown, SIGTERM cascade).
	// NULL means exit with `shutdown` at once.  An actor that needs time
	// calls arb_exit() later; its supervisor's shutdown timeout bounds
	// the wait.
	void (*stop)(arb_ctx *ctx, void *state);

	// terminate runs once, after the loop has stopped for any reason the
	// actor can observe (arb_exit, stop, link exit).  May be NULL.
	void (*terminate)(arb_ctx *ctx, void *state, const arb_exit *why);

	// check validates a child's config without running anything: the
	// `arbor` program calls it for every child of this type when it
	// checks, runs or reloads a tree file, in the node's process, never
	// on an actor loop (a reload checks on a thread of its own, beside
	// the running actors: keep it free of shared state).  It reads cfg with the arb_cfg_* getters (which
	// record what is wrong) and may add problems with arb_cfg_err; the
	// program reports each one as FILE:LINE:COLUMN of the offending key.
	// Use the same reading code in init, so a config that passed the
	// check cannot fail there.  May be NULL (nothing is checked).
	void (*check)(arb_cfg *cfg);
} arb_actor_ops;

// arb_actor_type_register makes ops known under ops->type, for thread and
// process children of this program.  ops must stay valid for the life of
// the process (it is not copied).  Returns ARB_EEXIST for a duplicate
// type, ARB_EINVAL for a NULL type or init.  Thread: any (call it before
// arb_node_open / arb_actor_main).
ARB_DECL int arb_actor_type_register(const arb_actor_ops *ops);

// arb_actor_type_find returns the ops registered under type, loading the
// type's module from the actor path when it is not registered yet
// (arb_actor_type_load), or NULL.  Thread: any.
ARB_DECL const arb_actor_ops *arb_actor_type_find(const char *type);

// arb_actor_type_load is arb_actor_type_find with the reason of a failure:
// when type is not registered, it loads the module TYPE.so from the first
// directory of the actor path (arb_actor_path) that has one, and looks
// again.  On success *opsp (may be NULL) is set.  Errors (with a line
// naming the type, file or directories in errbuf, which may be NULL):
// ARB_ENOENT no such module (or it did not register the type), ARB_EINVAL
// the module could not be loaded (dlopen's reason: a missing symbol, not
// an actor module), or the code its arbor_plugin_init returned.
// Thread: any.
ARB_DECL int arb_actor_type_load(const char *type,
    const arb_actor_ops **opsp, char *errbuf, size_t errlen);

// arb_actor_module_load loads the actor module at path (a tree file's
// `plugins:`) and calls its arbor_plugin_init.  Loading the same file
// again is a harmless no-op.  Errors as arb_actor_type_load, ARB_ENOENT
// when path does not exist.  Modules are never unloaded.  Thread: any.
ARB_DECL int arb_actor_module_load(
    const char *path, char *errbuf, size_t errlen);

// arb_actor_path writes the actor path into buf: the directories of
// $ARBOR_ACTOR_PATH, then arbor/actors beside the arbor library
// (<libdir>/arbor/actors when installed), ':'-separated.  Returns ARB_OK,
// or ARB_ENOSPC when it does not fit (buf holds a cut path).
// Thread: any.
ARB_DECL int arb_actor_path(char *buf, size_t len);

// arb_actor_main must be called early in main() by every program that
// hosts ARB_PROCESS actors (the program re-executes itself).  When argv
// says this process is an actor child, it runs the actor and never
// returns; otherwise it returns 0 and main continues.  A program that
// called it also lets arb_tree_load check the configs of the types it
// will not run in this process (process actors, children of other
// nodes) in a child of itself ("--arb-check"), so their modules are never
// loaded here (docs/actors.md).  Thread: main.
ARB_DECL int arb_actor_main(int argc, char **argv);

// arb_node_base returns the node's own loop, where tools (control socket,
// HTTP) add their events; they then run on the node thread.  Thread: any.
ARB_DECL struct event_base *arb_node_base(arb_node *node);

// --- Identity and loop ---------------------------------------------------
ARB_DECL arb_pid            arb_self(arb_ctx *ctx);
ARB_DECL const char        *arb_path(arb_ctx *ctx); // "root/sensors/s1"
ARB_DECL struct event_base *arb_base(arb_ctx *ctx);

// arb_actor_isolation returns ARB_THREAD when the actor runs in a thread
// of the node's process, ARB_PROCESS in its own process (where it may
// _exit or raise a signal without taking the node down).  Thread: loop.
ARB_DECL arb_isolation arb_actor_isolation(arb_ctx *ctx);

// arb_ready reports READY after init returned ARB_EPENDING.  Repeated
// calls are harmless no-ops.  Thread: loop.
ARB_DECL void arb_ready(arb_ctx *ctx);

// arb_actor_exit ends the actor with reason *why (copied) once the current
// callback returns; terminate runs, then the supervisor sees the reason.
// Thread: loop.
ARB_DECL void arb_actor_exit(arb_ctx *ctx, const arb_exit *why);
// arb_actor_exit_error is arb_actor_exit with error{code,text}.  Thread: loop.
ARB_DECL void arb_actor_exit_error(arb_ctx *ctx, int code, const char *text);

// --- Sending (SPEC 18-21) ------------------------------------------------

// arb_send queues msg for the actor identified by to.  On success (0) the
// message belongs to arbor and the caller must not touch it again; on any
// error the caller still owns msg.  Never blocks: a full queue towards the
// destination gives ARB_EAGAIN, a pid that cannot be reached now (a removed
// child, an incarnation that has ended) ARB_ENOENT, a body over the node's
// maximum ARB_EMSGSIZE.  A slot address (arb_whereis of a child path)
// reaches whichever incarnation holds the slot on delivery; an exact pid
// reaches that incarnation only (docs/api/core.md, Pids).  Messages to
// one destination in one loop turn travel as one batch, handed on at the
// end of the turn.  Delivery is at most once; losses are counted
// (arb_stats).  Thread: loop.
ARB_DECL int arb_send(arb_ctx *ctx, arb_pid to, arb_msg *msg);

// arb_send_copy is arb_send with a fresh message built from tag and body
// bytes; the caller keeps body.  Thread: loop.
ARB_DECL int arb_send_copy(arb_ctx *ctx, arb_pid to, uint32_t tag,
    const void *body, size_t len);

// arb_reply answers a request (arb_msg_is_request) with tag and body.
// arb_reply_error answers it with an error (code, text) that the caller
// sees as ARB_EREMOTE with the text.  Thread: loop.
ARB_DECL int arb_reply(arb_ctx *ctx, const arb_msg *req, uint32_t tag,
    const void *body, size_t len);
ARB_DECL int arb_reply_error(
    arb_ctx *ctx, const arb_msg *req, int code, const char *text);

// Result of one request of a call or gather.  status is ARB_OK (reply is
// set, borrowed for the callback), ARB_EREMOTE (code/text from
// arb_reply_error), ARB_ETIMEDOUT, ARB_EEXITED (the actor died: exit holds
// the reason), ARB_ECANCELED (FIRST_EXCEPTION cancelled it), a send error
// (ARB_EAGAIN, ARB_ENOENT), or ARB_ENOENT with exit.kind ARB_EXIT_NOPROC:
// the request reached no actor on another node (a name nobody holds
// there, an ended incarnation), which that node answers at once;
// ARB_ENOENT with exit.kind ARB_EXIT_NOCONNECTION: this node counted the
// target's node DOWN before the answer (the request ends then); for a
// process actor, ARB_EAGAIN when its node's relay had no room for it.
typedef struct arb_result {
	arb_pid        pid;
	int            status;
	const arb_msg *reply;
	int            code;
	char           text[ARB_EXIT_TEXT_MAX];
	arb_exit       exit;
} arb_result;

typedef void (*arb_call_cb)(arb_ctx *ctx, void *arg, const arb_result *r);

// arb_call sends a request and calls cb exactly once on this loop with the
// outcome, within timeout_ms (at once when the target's node goes DOWN:
// ARB_ENOENT, noconnection).  A late reply is dropped and counted.  If
// arb_call returns an error, cb is never called.  Thread: loop.
ARB_DECL int arb_call(arb_ctx *ctx, arb_pid to, uint32_t tag,
    const void *body, size_t len, int timeout_ms, arb_call_cb cb, void *arg);

typedef enum arb_gather_mode {
	ARB_ALL_COMPLETED = 0,
	ARB_FIRST_EXCEPTION,
} arb_gather_mode;

typedef void (*arb_gather_cb)(arb_ctx *ctx, void *arg,
    const arb_result *results, size_t n, size_t nerrors);

// arb_gather asks the n actors in pids the same request and calls cb
// exactly once with one result per pid (same order) and the number of
// errors.  ARB_FIRST_EXCEPTION completes at the first error: the
// outstanding requests are cancelled (ARB_ECANCELED), their late replies
// dropped and counted.  Errors that arrive in the same loop turn are all
// reported.  Each target is monitored, so a crash gives ARB_EEXITED with
// its reason.  Thread: loop.
ARB_DECL int arb_gather(arb_ctx *ctx, const arb_pid *pids, size_t n,
    uint32_t tag, const void *body, size_t len, int timeout_ms,
    arb_gather_mode mode, arb_gather_cb cb, void *arg);

// --- Pub/sub topics (SPEC 21) ----------------------------------------------

// A topic is a string of 1..ARB_TOPIC_MAX-1 bytes (no NUL), node-wide; a
// topic has at most ARB_TOPIC_SUBS_MAX subscribers.
#define ARB_TOPIC_MAX      128
#define ARB_TOPIC_SUBS_MAX 4096

// arb_subscribe subscribes the calling incarnation to topic: from its
// return on, every arb_publish to topic, by any actor of the node (thread
// or process), sends it one message.  The subscription dies with the
// incarnation (an exit of any kind); a restarted actor is not subscribed
// until it subscribes again, typically in init.  Subscribing twice is a
// harmless no-op (one message per publish).  Returns ARB_OK, ARB_EINVAL
// (topic NULL, empty or too long), ARB_ENOSPC (the topic has
// ARB_TOPIC_SUBS_MAX subscribers) or ARB_ENOMEM.  Blocks the caller's
// loop for the round trip to the node (bounded).  Thread: loop.
ARB_DECL int arb_subscribe(arb_ctx *ctx, const char *topic);
// arb_unsubscribe ends the calling incarnation's subscription to topic;
// none is a harmless no-op.  Thread: loop.
ARB_DECL int arb_unsubscribe(arb_ctx *ctx, const char *topic);

// arb_publish sends one message (tag, a copy of body) to every live
// subscriber of topic, the caller included if it subscribed.  Each is an
// ordinary envelope from the caller to the subscriber's exact pid, sent
// as arb_send sends it: batched with the turn's other messages to the
// same destination, delivered at most once, in order per destination.
// The topic itself does not travel: subscribers tell messages apart by
// tag (give each topic its own tags).  A topic nobody subscribed to is
// fine: the publish is counted (arb_stats.unheard) and returns ARB_OK.  A
// subscriber that cannot take the message (its outbound backlog is full,
// or it ended and its subscription is not yet gone) does not fail the
// publish: that message is counted as a dead letter of the caller.  The
// caller keeps body.  Returns ARB_OK, ARB_EINVAL, ARB_EMSGSIZE (body
// over the actor's maximum message size; nothing was sent) or ARB_ENOMEM
// (nothing was sent).
// The first publish to a topic, and the first after any subscription of
// the node changed, asks the node for the topic's subscribers (a bounded
// round trip); the others cost one arb_send per subscriber.
// Thread: loop.
ARB_DECL int arb_publish(arb_ctx *ctx, const char *topic, uint32_t tag,
    const void *body, size_t len);

// --- Names, links, monitors (SPEC 8) -------------------------------------

// arb_register names the calling incarnation (node-wide); the name dies
// with it, as in Erlang.  arb_whereis resolves a registered name to the
// exact pid of the incarnation that took it, and a child path
// ("root/w1") to the child's slot address (arb_pid_slot): messages sent
// to a slot address reach whichever incarnation holds the slot when they
// are delivered, so they keep flowing across the child's restarts.  Every
// child is registered under its path automatically, until it is removed
// from the tree (then ARB_ENOENT, at whereis and at send).  Thread: loop.
ARB_DECL int arb_register(arb_ctx *ctx, const char *name);
ARB_DECL int arb_whereis(arb_ctx *ctx, const char *name, arb_pid *pidp);

// arb_monitor watches target: when it exits (or if it is already gone,
// with reason noproc) the caller receives one ARB_TAG_DOWN message whose
// ref is *refp and whose body is the msgpack-encoded reason.  Monitors
// and links bind to one incarnation: a slot address means the incarnation
// holding the slot now, and DOWN/EXIT name that exact pid.  Thread: loop.
ARB_DECL int arb_monitor(arb_ctx *ctx, arb_pid target, uint64_t *refp);
ARB_DECL int arb_demonitor(arb_ctx *ctx, uint64_t ref);

// arb_link links the caller and target both ways: when one exits
// abnormally the other exits with the same reason unless it traps exits,
// in which case it receives ARB_TAG_EXIT instead.  Thread: loop.
ARB_DECL int  arb_link(arb_ctx *ctx, arb_pid target);
ARB_DECL int  arb_unlink(arb_ctx *ctx, arb_pid target);
ARB_DECL void arb_trap_exit(arb_ctx *ctx, bool on);

// arb_decode_exit decodes the body of ARB_TAG_DOWN / ARB_TAG_EXIT.
ARB_DECL int arb_decode_exit(const arb_msg *msg, arb_pid *who, arb_exit *e);

// --- Shield (SPEC 14) ------------------------------------------------------

// arb_shield_begin/end bracket a critical section: a stop request that
// arrives inside it waits for arb_shield_end (the supervisor's shutdown
// timeout still bounds the wait).  Sections nest.  Thread: loop.
ARB_DECL void arb_shield_begin(arb_ctx *ctx);
ARB_DECL void arb_shield_end(arb_ctx *ctx);

// --- Children at run time (SPEC 1, 13) -----------------------------------

// arb_start_child adds a child to the simple_one_for_one supervisor at
// sup_path.  Returns ARB_ESHUTDOWN when that supervisor is stopping.  A
// pool that runs on another node (a remote subtree) is asked through its
// node's agent: *pidp is then that node's (arb_send reaches it), and
// ARB_ETIMEDOUT (no answer within the remote child's start_timeout) or
// ARB_ECHILD (that node lost) may come back (docs/multinode.md, "Remote
// pools").
// Blocks the caller's loop for the round trip to the node (bounded).
// Thread: loop.
ARB_DECL int arb_start_child(arb_ctx *ctx, const char *sup_path,
    const void *arg, size_t arg_len, arb_pid *pidp);

// arb_stats_get copies this actor's counters.  Thread: loop.
ARB_DECL void arb_stats_get(arb_ctx *ctx, arb_stats *st);

// --- Logging (SPEC 26) -----------------------------------------------------

// arb_log writes one line to stderr in the node's layout,
//     arbor[OSPID]: LEVEL PATH event=EVENT <fmt...>
// where PATH is the actor's path ("-" when ctx is NULL: a line of the node
// itself, or of a tool embedded in it).  level is ARB_LOG_ERROR, _WARN,
// _INFO or _DEBUG; lines above the node's level (arb_node_set_log_level,
// $ARB_LOG_LEVEL, node.log_level) are dropped.  fmt (may be NULL) is a
// printf format for the rest of the line, by convention key=value pairs
// with quoted values that hold blanks.  Identical error and warning lines
// of one actor repeated within a second are folded into one line
// "event=repeated count=N" (SPEC 26).  A line is written with one write(2)
// and cut to 512 bytes, so lines of several threads and processes never
// interleave.  This function can't fail.  Thread: loop (ctx set), any
// (ctx NULL).  Not async-signal-safe.
ARB_DECL void arb_log(arb_ctx *ctx, int level, const char *event,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

// arb_logv is arb_log with a va_list.  Thread: as arb_log.
ARB_DECL void arb_logv(arb_ctx *ctx, int level, const char *event,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

// --- Reading the config (docs/actors.md) --------------------------------
//
// An actor's config is the `config:` of its child in a tree file, handed
// to init as ONE msgpack value in arg/arg_len (a YAML mapping becomes a
// map with string keys; arg_len is 0 when there is none).  An arb_cfg is
// a read-only view of one value of it: the whole config, a nested map, a
// list or a list item.  Getters take the key of a map entry, or NULL for
// the view's own value (list items).  They return ARB_OK and set *out when
// the key is present and valid, ARB_ENOENT (nothing recorded, *out left
// alone: keep your default) when it is absent or null, and ARB_EINVAL when
// it is present but wrong: then they record the problem with its key path
// ("exit.after", "ports[2].baud") and leave *out alone.  So one pass over
// the config reports every problem, which is what the check hook and init
// both need.  Views are owned by the config they came from and freed with
// it.  Thread: the caller's (a config belongs to one thread at a time).

// arb_cfg_alloc decodes arg/len into a new config view.  A value that is
// not a map (or nil) is recorded as a problem of key "".  On success the
// caller owns *cfgp and releases it with arb_cfg_free.  Returns ARB_ENOMEM
// (nothing allocated).  Malformed msgpack is not an error of this call: it
// is recorded as a problem.
ARB_DECL int arb_cfg_alloc(arb_cfg **cfgp, const void *arg, size_t len);

// arb_cfg_free releases cfg and every view taken from it.  Calling it with
// NULL, or with a view that arb_cfg_alloc did not return, is a harmless
// no-op.
ARB_DECL void arb_cfg_free(arb_cfg *cfg);

// arb_cfg_has is true when key is present and not null.
ARB_DECL bool arb_cfg_has(arb_cfg *c, const char *key);

// What a value is, for settings that take several forms ("a word or a
// mapping").  Integers are ARB_CFG_INT whatever their sign.
typedef enum arb_cfg_type {
	ARB_CFG_ABSENT = 0, // absent or null
	ARB_CFG_BOOL,
	ARB_CFG_INT,
	ARB_CFG_FLOAT,
	ARB_CFG_STR,
	ARB_CFG_LIST,
	ARB_CFG_MAP,
	ARB_CFG_OTHER, // bin, ext
} arb_cfg_type;

// arb_cfg_type returns the type of the value at key.  This function can't
// fail.
ARB_DECL arb_cfg_type arb_cfg_type_of(arb_cfg *c, const char *key);

// arb_cfg_str sets *out to the string at key, NUL-terminated, valid until
// the config is freed.  A string longer than maxlen bytes (0: no limit)
// or holding a NUL byte is a problem.
ARB_DECL int arb_cfg_str(
    arb_cfg *c, const char *key, size_t maxlen, const char **out);

// arb_cfg_bool reads true or false.
ARB_DECL int arb_cfg_bool(arb_cfg *c, const char *key, bool *out);

// arb_cfg_int reads an integer between lo and hi inclusive.
ARB_DECL int arb_cfg_int(
    arb_cfg *c, const char *key, int64_t lo, int64_t hi, int64_t *out);

// arb_cfg_dur reads a duration in milliseconds between lo_ms and hi_ms: an
// integer (milliseconds) or a string, a number and one unit of ms, s, m,
// h ("250ms", "1.5s", "2m").
ARB_DECL int arb_cfg_dur(
    arb_cfg *c, const char *key, int64_t lo_ms, int64_t hi_ms, int64_t *ms);

// arb_cfg_size reads a size in bytes between lo and hi: an integer
// (bytes) or a string, a number and one unit of B, KiB, MiB, GiB, TiB
// (powers of 1024) or kB, MB, GB, TB (powers of 1000): "64KiB", "1.5MiB".
ARB_DECL int arb_cfg_size(
    arb_cfg *c, const char *key, uint64_t lo, uint64_t hi, uint64_t *out);

// arb_cfg_enum reads a string that must be one of words (NULL-terminated)
// and sets *out to its index.
ARB_DECL int arb_cfg_enum(
    arb_cfg *c, const char *key, const char *const *words, int *out);

// arb_cfg_raw sets *p and *len to the msgpack encoding of the value at key
// (any type), valid until the config is freed: a message body, for
// instance.
ARB_DECL int arb_cfg_raw(
    arb_cfg *c, const char *key, const void **p, size_t *len);

// arb_cfg_sub returns the view of the map at key.  Absent or null: an
// empty view (its getters answer ARB_ENOENT).  Not a map: the problem is
// recorded and the view is empty.  This function can't fail: out of
// memory is recorded as a problem and gives an empty view.
ARB_DECL arb_cfg *arb_cfg_sub(arb_cfg *c, const char *key);

// arb_cfg_list returns the view of the list at key and sets *np (may be
// NULL) to its length: 0 when absent, null or not a list (a problem).
// This function can't fail (as arb_cfg_sub).
ARB_DECL arb_cfg *arb_cfg_list(arb_cfg *c, const char *key, size_t *np);

// arb_cfg_item returns the view of item i of a list view (key path
// "list[i]"): read a scalar item with key NULL, a map item with keys.
// Past the end: an empty view.  This function can't fail (as arb_cfg_sub).
ARB_DECL arb_cfg *arb_cfg_item(arb_cfg *list, size_t i);

// arb_cfg_keys records every key of the map view that is not in allowed
// (NULL-terminated) as "unknown key (expected one of: ...)", and every
// key that is not a string.  Returns ARB_OK or ARB_EINVAL.
ARB_DECL int arb_cfg_keys(arb_cfg *c, const char *const *allowed);

// arb_cfg_err records a problem of key (NULL: the view itself), for the
// checks a getter cannot make ("required", "min must not exceed max").
// This function can't fail (past 100 problems they are only counted).
ARB_DECL void arb_cfg_err(arb_cfg *c, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

// arb_cfg_errors returns how many problems the whole config (any of its
// views) has recorded.  This function can't fail.
ARB_DECL size_t arb_cfg_errors(const arb_cfg *c);

// arb_cfg_error sets *keyp to the key path ("" for the config as a whole)
// and *textp to the text of problem i (0 <= i < arb_cfg_errors), valid
// until the config is freed; either pointer may be NULL.  Returns ARB_OK,
// or ARB_ENOENT past the last recorded problem.
ARB_DECL int arb_cfg_error(
    const arb_cfg *c, size_t i, const char **keyp, const char **textp);

// arb_cfg_report ends the reading in init: with no problem it returns
// ARB_OK; otherwise it logs each problem (arb_log, event=bad_config
// key=... problem="...") and returns ARB_EINVAL, and if init returns that
// code the start fails with the text "config: KEY: PROBLEM" of the first
// one instead of "init: invalid argument".  Thread: loop.
ARB_DECL int arb_cfg_report(arb_ctx *ctx, const arb_cfg *c);

// --- Metrics (docs/actors.md) ------------------------------------------
//
// An actor declares named counters, gauges and histograms and updates
// them on its loop.  The node exports them on /metrics (Prometheus text,
// one family per name, labelled path="<actor path>" and the series'
// own label), in `arborctl status` and /api/tree (arb_child_info.metrics).
// Values reach the node with the actor's heartbeat (at least once a
// second; process actors send them over their control channel when they
// changed).  They belong to one incarnation: a restart starts at zero
// (Prometheus counters handle resets).

typedef struct arb_metric arb_metric;

// ARB_METRIC_MAX series per actor; a histogram has at most
// ARB_METRIC_BUCKETS_MAX bounds (+Inf is implied).
#define ARB_METRIC_MAX         64
#define ARB_METRIC_BUCKETS_MAX 16
#define ARB_METRIC_NAME_MAX    63  // bytes of a name or label key
#define ARB_METRIC_VALUE_MAX   63  // bytes of a label value
#define ARB_METRIC_HELP_MAX    127 // bytes of the help text (cut)

// arb_metric_counter declares a counter of the calling actor, and
// arb_metric_gauge a gauge.  name is a Prometheus metric name
// ([a-zA-Z_:][a-zA-Z0-9_:]*, at most ARB_METRIC_NAME_MAX bytes, not
// starting with "arbor_", which is the node's own); counters should end
// in "_total".  label is NULL or one "key=value" pair ("cause=crc"): key a
// label name other than path and le, value any text (escaped on export;
// UTF-8: a byte that is not part of a UTF-8 sequence is exported U+FFFD).
// Series of one name differ by their label value and share type and help
// (the first declaration's).  help is one line of text (cut at
// ARB_METRIC_HELP_MAX bytes, between UTF-8 characters).  On success *mp
// is the series, valid until the actor's incarnation ends.
// Errors: ARB_EINVAL (bad name, label or type clash with an earlier
// series of the same name), ARB_EEXIST (the same name and label again),
// ARB_ENOSPC (ARB_METRIC_MAX series already), ARB_ENOMEM.  Thread: loop.
ARB_DECL int arb_metric_counter(arb_ctx *ctx, const char *name,
    const char *label, const char *help, arb_metric **mp);
ARB_DECL int arb_metric_gauge(arb_ctx *ctx, const char *name,
    const char *label, const char *help, arb_metric **mp);

// arb_metric_histogram declares a histogram with the upper bounds (in
// the unit the name says, e.g. seconds; strictly increasing, at most
// ARB_METRIC_BUCKETS_MAX; NULL and 0 give .005 .01 .025 .05 .1 .25 .5 1
// 2.5 5 10).  Errors as arb_metric_counter, and ARB_EINVAL for bounds
// that are not increasing or too many.  Thread: loop.
ARB_DECL int arb_metric_histogram(arb_ctx *ctx, const char *name,
    const char *label, const char *help, const double *bounds,
    size_t nbounds, arb_metric **mp);

// arb_metric_add adds n to a counter or a gauge.  arb_metric_set sets a
// gauge.  arb_metric_observe records one value in a histogram.  Calling
// them with NULL (a declaration that failed) or with the wrong kind of
// series is a harmless no-op.  These functions can't fail.
// Thread: loop.
ARB_DECL void arb_metric_add(arb_metric *m, uint64_t n);
ARB_DECL void arb_metric_set(arb_metric *m, double v);
ARB_DECL void arb_metric_observe(arb_metric *m, double v);

// --- Actor modules (docs/actors.md) ---------------------------------------
//
// A module is a shared object of actor types, loaded by the program that
// runs them (the `arbor` program, or any program that calls
// arb_actor_main).  It exports one function, arbor_plugin_init, which
// registers its types with arb_actor_type_register and returns ARB_OK, or
// an error code that makes the load fail.  It is called once per process
// (the node, and every process actor).  A module is never unloaded: keep
// the ops in static storage.  arbor_add_actor() in CMake builds one.
#define ARB_PLUGIN_EXPORT __attribute__((visibility("default")))
ARB_PLUGIN_EXPORT int arbor_plugin_init(void);

#ifdef __cplusplus
}
#endif

#endif // ARBOR_ACTOR_H
