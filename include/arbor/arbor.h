// SPDX-License-Identifier: MIT
// arbor.h -- THE public header of arbor: supervised actors for IoT gateways.
//
// Use of definitions or declarations not found in this header file (or in
// arbor/actor.h) is specifically unsupported.  Symbols named
// arb_ are public; arb__ are private to the library.  No type of a
// dependency (nng, libevent, msgpack) appears here.
//
// Threads: every function carries a tag.  "Thread: any." may be called from
// any thread; "Thread: loop." only from the actor's own loop thread (inside
// its callbacks); "Thread: node." only from the thread running the node.

#ifndef ARBOR_ARBOR_H
#define ARBOR_ARBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARB_DECL __attribute__((visibility("default")))

// The project's version (CMakeLists.txt says the same).  While the major
// is 0 every minor may change the ABI and is a new soname, libarbor.so.0.2
// (docs/api/README.md, "ABI and versions").
#define ARB_VERSION_MAJOR 0
#define ARB_VERSION_MINOR 2
#define ARB_VERSION_PATCH 0

// arb_version returns the library's version as "MAJOR.MINOR.PATCH".
// This function can't fail.  Thread: any.
ARB_DECL const char *arb_version(void);

// ---------------------------------------------------------------------------
// Errors.  Functions that can fail return ARB_OK (0) or a positive ARB_E*
// code.  Codes are ABI: new ones are added at the end of the table only.
// ARB_ESYSERR is a flag bit: (ARB_ESYSERR | errno) wraps an OS error that
// has no closer ARB_E* code.
// ---------------------------------------------------------------------------
#define ARB_ERRNO_MAP(XX)                                                    \
	XX(ENOMEM, 1, "out of memory")                                       \
	XX(EINVAL, 2, "invalid argument")                                    \
	XX(EAGAIN, 3, "resource temporarily unavailable (full mailbox)")     \
	XX(ENOENT, 4, "no such actor or name")                               \
	XX(ECLOSED, 5, "object closed")                                      \
	XX(ECANCELED, 6, "operation canceled")                               \
	XX(ETIMEDOUT, 7, "timed out")                                        \
	XX(ESHUTDOWN, 8, "supervisor is shutting down")                      \
	XX(EBADMSG, 9, "malformed message")                                  \
	XX(EMSGSIZE, 10, "message too large")                                \
	XX(EEXIST, 11, "name already registered")                            \
	XX(ESTATE, 12, "incorrect state")                                    \
	XX(ESPEC, 13, "invalid child or supervisor spec")                    \
	XX(ENOTSUP, 14, "not supported")                                     \
	XX(EPERM, 15, "permission denied")                                   \
	XX(EREMOTE, 16, "the peer answered with an error")                   \
	XX(EEXITED, 17, "the actor exited")                                  \
	XX(ECHILD, 18, "child failed to start")                              \
	XX(EIGNORE, 19, "child init answered ignore")                        \
	XX(EPENDING, 20, "readiness will be reported later")                \
	XX(ENOSPC, 21, "no space left (a limit was reached)")

enum arb_errno {
	ARB_OK = 0,
#define ARB__XX(name, val, text) ARB_##name = val,
	ARB_ERRNO_MAP(ARB__XX)
#undef ARB__XX
	ARB_ESYSERR = 0x10000000,
};

// arb_strerror returns a static English text for err, including decoded
// ARB_ESYSERR values.  Unknown codes give "unknown error".  This function
// can't fail.  Thread: any.
ARB_DECL const char *arb_strerror(int err);

// arb_err_name returns the code's symbolic name ("ARB_EAGAIN").  This
// function can't fail.  Thread: any.
ARB_DECL const char *arb_err_name(int err);

// ---------------------------------------------------------------------------
// Identities.  An arb_pid names a node, a child slot (its mailbox) and one
// incarnation of the actor in that slot; it is never reused.  Messages to
// an exact pid reach that incarnation only: once it has ended they are
// refused (ARB_ENOENT when the sender can tell at once) or dropped and
// counted as dead letters, never handed to its successor.  The *slot
// address* of a child (arb_pid_slot, and what arb_whereis returns for a
// child path) names whichever incarnation holds the slot when the message
// is delivered: messages sent to it while the actor restarts reach the
// new incarnation (SPEC 19).  Fields are opaque; compare pids with
// arb_pid_eq.
// ---------------------------------------------------------------------------
typedef struct arb_pid {
	uint64_t id;       // kind, child slot and incarnation
	uint32_t node;     // the node (a hash of its name); 0: this node
	uint32_t creation; // the node's incarnation; 0: this node's
} arb_pid;

#define ARB_PID_NONE ((arb_pid) { 0, 0, 0 })

// arb_pid_eq compares two pids (node 0 stands for this node).
// Thread: any.
ARB_DECL bool arb_pid_eq(arb_pid a, arb_pid b);
// arb_pid_same_actor is true when a and b name the same child slot of the
// same node, whatever the incarnations.  Thread: any.
ARB_DECL bool arb_pid_same_actor(arb_pid a, arb_pid b);
// arb_pid_slot returns the slot address of p: the pid that names
// whichever incarnation holds p's child slot.  This function can't fail.
// Thread: any.
ARB_DECL arb_pid arb_pid_slot(arb_pid p);
// arb_pid_is_slot is true when p is a slot address rather than one
// incarnation.  Thread: any.
ARB_DECL bool arb_pid_is_slot(arb_pid p);

// ---------------------------------------------------------------------------
// Exit reasons (SPEC 9).  They are plain data and cross process boundaries.
// ---------------------------------------------------------------------------
typedef enum arb_exit_kind {
	ARB_EXIT_NORMAL = 0,
	ARB_EXIT_SHUTDOWN,     // asked to stop, or auto/intensity shutdown
	ARB_EXIT_ERROR,        // error{code,text}
	ARB_EXIT_CRASHED,      // crashed{signal}: code holds the signal
	ARB_EXIT_KILLED,       // brutal_kill, or the stop deadline passed
	ARB_EXIT_HUNG,         // watchdog: loop stuck longer than `watchdog`
	ARB_EXIT_NOCONNECTION, // remote node lost
	ARB_EXIT_NOPROC,       // monitored actor was already gone
} arb_exit_kind;

#define ARB_EXIT_TEXT_MAX 120

typedef struct arb_exit {
	arb_exit_kind kind;
	int           code; // error code, exit status or signal number
	char          text[ARB_EXIT_TEXT_MAX];
} arb_exit;

// arb_exit_abnormal is false for normal and shutdown, true otherwise
// (OTP: what makes a transient child restart).  Thread: any.
ARB_DECL bool arb_exit_abnormal(const arb_exit *e);

// arb_exit_format writes e as text, e.g. "error{code=3,text=\"boom\"}" or
// "crashed{signal=SIGSEGV}", into buf (always NUL-terminated when len > 0).
// Returns the length it wanted to write, as snprintf.  Thread: any.
ARB_DECL int arb_exit_format(const arb_exit *e, char *buf, size_t len);

// arb_exit_kind_name returns "normal", "shutdown", "error", "crashed",
// "killed", "hung", "noconnection" or "noproc".  Thread: any.
ARB_DECL const char *arb_exit_kind_name(arb_exit_kind k);

// ---------------------------------------------------------------------------
// Messages.  An arb_msg is an envelope (from, to, tag, ref) and a body of
// msgpack bytes (any msgpack value, or empty).  Tags at or above
// ARB_TAG_SYSTEM are reserved for arbor.
// ---------------------------------------------------------------------------
typedef struct arb_msg arb_msg;

#define ARB_TAG_SYSTEM 0xFFFF0000u
#define ARB_TAG_DOWN   0xFFFF0001u // monitor fired: body = exit reason
#define ARB_TAG_EXIT   0xFFFF0002u // linked actor exited (trap_exit)

// arb_msg_alloc allocates a message with a copy of the body (len bytes;
// body may be NULL when len is 0).  On success *msgp owns the message.
// Returns ARB_ENOMEM, or ARB_EMSGSIZE when len exceeds ARB_MSG_BODY_MAX.
// Thread: any.
#define ARB_MSG_BODY_MAX (16u * 1024u * 1024u)
ARB_DECL int arb_msg_alloc(
    arb_msg **msgp, uint32_t tag, const void *body, size_t len);

// arb_msg_free releases msg.  Calling it with NULL is a harmless no-op.
// Thread: any.
ARB_DECL void arb_msg_free(arb_msg *msg);

// arb_msg_dup copies msg (handlers receive borrowed messages; dup keeps
// one).  Thread: any.
ARB_DECL int arb_msg_dup(arb_msg **dupp, const arb_msg *msg);

ARB_DECL uint32_t    arb_msg_tag(const arb_msg *msg);
ARB_DECL arb_pid     arb_msg_from(const arb_msg *msg);
ARB_DECL arb_pid     arb_msg_to(const arb_msg *msg);
ARB_DECL uint64_t    arb_msg_ref(const arb_msg *msg);
ARB_DECL const void *arb_msg_body(const arb_msg *msg);
ARB_DECL size_t      arb_msg_len(const arb_msg *msg);
// arb_msg_is_request is true when the sender used arb_call / arb_gather and
// waits for arb_reply.  Thread: any.
ARB_DECL bool arb_msg_is_request(const arb_msg *msg);

// ---------------------------------------------------------------------------
// Child and supervisor specs (SPEC 1-7).  Zeroed fields mean OTP defaults.
// Specs are copied by the functions that take them.
// ---------------------------------------------------------------------------
typedef enum arb_strategy {
	ARB_ONE_FOR_ONE = 0,
	ARB_ONE_FOR_ALL,
	ARB_REST_FOR_ONE,
	ARB_SIMPLE_ONE_FOR_ONE,
} arb_strategy;

typedef enum arb_restart {
	ARB_PERMANENT = 0,
	ARB_TRANSIENT,
	ARB_TEMPORARY,
} arb_restart;

typedef enum arb_isolation {
	ARB_THREAD = 0,  // own pthread and event_base
	ARB_PROCESS,     // own OS process (re-exec of a program using arbor)
	ARB_EXEC,        // any program, supervised as an opaque process
	ARB_SUPERVISOR,  // a nested supervisor (runs on the node's loop)
} arb_isolation;

typedef enum arb_auto_shutdown {
	ARB_AUTO_SHUTDOWN_NEVER = 0,
	ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
	ARB_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
} arb_auto_shutdown;

// shutdown_ms special values: 0 = default (5000 for workers, infinity for
// supervisors).
#define ARB_SHUTDOWN_BRUTAL_KILL (-1)
#define ARB_SHUTDOWN_INFINITY    (-2)

typedef struct arb_sup_spec arb_sup_spec;

typedef struct arb_child_spec {
	const char   *name;      // unique among siblings: [A-Za-z0-9_.-]+
	arb_isolation isolation;
	const char   *type;      // actor type (thread/process), see actor.h
	const void   *arg;       // opaque bytes handed to init (copied)
	size_t        arg_len;
	const char   *exe;       // process: program to run (NULL = this one)
	const char *const *argv; // exec: NULL-terminated, argv[0] is the path
	arb_restart   restart;
	int           shutdown_ms;      // 0 default, >0 ms, or special
	int           start_timeout_ms; // 0 = 5000
	int           backoff_min_ms;   // 0 = no backoff (restart at once)
	int           backoff_max_ms;   // cap; 0 = 30000 when backoff on
	int           stable_ms;        // up this long resets backoff; 0=10000
	int           watchdog_ms;      // process: 0 = off
	bool          significant;
	const arb_sup_spec *sup; // ARB_SUPERVISOR: the nested supervisor
	// The node the child runs on (a peer's name, docs/supervision.md,
	// "Remote children"); NULL or this node's own name: here.  Thread
	// and process actors, and supervisors (the whole subtree runs there).
	const char   *node;
} arb_child_spec;

struct arb_sup_spec {
	arb_strategy      strategy;
	int               intensity; // with period_ms 0 both take OTP defaults
	int               period_ms; // (1 restart in 5000 ms)
	arb_auto_shutdown auto_shutdown;
	const arb_child_spec *children; // simple_one_for_one: exactly one,
	size_t                nchildren; // the template
};

// arb_sup_spec_check validates spec and every nested spec without
// starting anything.  On ARB_ESPEC, errbuf (if not NULL) receives one line
// per problem naming the child path and the field, e.g.
// "root/w1: significant: a permanent child cannot be significant".
// Thread: any.
ARB_DECL int arb_sup_spec_check(
    const arb_sup_spec *spec, char *errbuf, size_t errlen);

// ---------------------------------------------------------------------------
// Nodes.  A node is one OS process owning a root supervisor (SPEC 0).
// ---------------------------------------------------------------------------
typedef struct arb_node arb_node;

// Exit codes of a node (SPEC 10), see docs/supervision.md.
#define ARB_EXIT_OK        0  // requested stop finished cleanly
#define ARB_EXIT_USAGE     64 // bad command line
#define ARB_EXIT_SOFTWARE  70 // the root supervisor gave up / failed start
                              // / shut down after a significant failure
#define ARB_EXIT_UNCLEAN   71 // a thread actor overran its shutdown and
                              // had to be abandoned
#define ARB_EXIT_CONFIG    78 // bad configuration / spec

// A peer of a node (SPEC 31): its name and the URL it listens on.
typedef struct arb_node_peer {
	const char *name; // the peer's node name (its arb_node_opts.name)
	const char *url;  // where it listens: "tcp://127.0.0.1:7101"
} arb_node_peer;

#define ARB_NODE_PEERS_MAX 64

typedef struct arb_node_opts {
	const char *name;          // node name (default "arbor")
	const char *run_dir;       // ipc sockets live here (default: a fresh
	                           // 0700 dir under $XDG_RUNTIME_DIR or /tmp)
	size_t      max_msg_size;  // per envelope, enforced on receive
	                           // (default 1 MiB)
	bool        no_signals;    // do not take SIGTERM/SIGINT/SIGHUP
	int         log_level;     // ARB_LOG_* (default ARB_LOG_INFO)
	int         log_time;      // ARB_LOG_TIME_* (default: auto)
	// Several nodes (docs/multinode.md).  With a tcp:// listener or
	// peer, either cookie_file or insecure is required; with a
	// tls+tcp:// one, the three tls_* files (ARB_EINVAL otherwise).
	const char          *listen;  // "tcp://HOST:PORT" or
	                              // "tls+tcp://HOST:PORT" peers dial
	                              // (NULL: none; port 0: any,
	                              // arb_node_port)
	const arb_node_peer *peers;   // static peers this node dials (copied)
	size_t               npeers;  // at most ARB_NODE_PEERS_MAX
	const char *cookie_file;    // the shared secret: a file of 16-256
	                            // bytes, owned by us, mode 0600 or 0400
	bool        insecure;       // explicit: peers are not authenticated
	const char *tls_cert;       // tls+tcp://: PEM, this node's
	                            // certificate (its CN or a DNS
	                            // subjectAltName is the node's name)
	const char *tls_key;        // PEM, its private key (unencrypted)
	const char *tls_ca;         // PEM, the CA that signs every node's
	int         hb_interval_ms; // heartbeat period (0: 500 ms)
	int         hb_miss;        // DOWN after this many periods of
	                            // silence (0: 4)
	int         orphan_grace_ms; // a remote child whose supervisor's
	                             // node is lost is stopped this long
	                             // after (0: 5000; 10..86400000)
	bool        no_standby;      // no standby process: each start of a
	                             // process actor of the node's program
	                             // spawns and loads it afresh (one
	                             // process less, slower restarts:
	                             // docs/config.md, node.standby)
	int         watch_max;       // monitored or linked actors of this
	                             // node one peer may watch at once
	                             // (0: 4096; 1..1000000)
	int         max_unproven;    // connections to the listener that
	                             // have yet to prove themselves, at
	                             // once (0: min(256, hard fd limit /
	                             // 4); 1..65536); one source address
	                             // may hold an eighth (at least 4)
} arb_node_opts;

#define ARB_LOG_DEFAULT 0 // info, or $ARB_LOG_LEVEL when set
#define ARB_LOG_ERROR   1
#define ARB_LOG_WARN    2
#define ARB_LOG_INFO    3
#define ARB_LOG_DEBUG   4

// Timestamps on log lines (arb_node_opts.log_time).  AUTO: RFC 3339 UTC
// with milliseconds at the start of every line, unless standard error is
// the systemd journal ($JOURNAL_STREAM names it), which stamps lines
// itself; $ARB_LOG_TIME (auto, on, off) decides when AUTO is given.  ON
// and OFF force them either way, for the node and its process actors.
#define ARB_LOG_TIME_AUTO 0
#define ARB_LOG_TIME_ON   1
#define ARB_LOG_TIME_OFF  2

// arb_node_open prepares a node in this process (signals, subreaper, run
// directory).  opts may be NULL for defaults.  At most one node per
// process.  On success *nodep must be released with arb_node_close.
// A log_time of ON or OFF is also put in the environment ($ARB_LOG_TIME),
// where the process actors the node starts read it.
// Thread: any (the thread calling arb_node_run becomes the node thread).
ARB_DECL int arb_node_open(arb_node **nodep, const arb_node_opts *opts);

// arb_node_run starts the root supervisor from spec (copied) and runs the
// node loop until the tree has stopped.  *exit_code receives the node's
// exit status (ARB_EXIT_*), suitable for exit().  Returns ARB_ESPEC (with
// the problems logged) when spec is invalid; then *exit_code is
// ARB_EXIT_CONFIG.  Thread: node.
ARB_DECL int arb_node_run(
    arb_node *node, const arb_sup_spec *spec, int *exit_code);

// arb_node_stop asks the node to stop its tree in order, as SIGTERM does.
// It is idempotent; a second call makes the stop brutal.  Thread: any.
// Async-signal-safe.
ARB_DECL void arb_node_stop(arb_node *node);

// Peers (SPEC 31).  arb_node_peers copies up to max peers' state into out,
// in the order of arb_node_opts.peers, and returns how many peers there
// are.  arb_node_port returns the TCP port the node's peer listener is
// bound to (0: none).  Thread: any.
typedef enum arb_peer_state {
	ARB_PEER_DOWN = 0,       // no link: never connected, or lost
	ARB_PEER_CONNECTING = 1, // a dial or handshake is under way
	ARB_PEER_UP = 2,         // authenticated, heartbeats answered
} arb_peer_state;

typedef struct arb_peer_info {
	char     name[64];
	char     url[300];
	int      state;       // arb_peer_state
	uint32_t incarnation; // the peer's creation (last HELLO; 0: never)
	int64_t  rtt_us;      // last heartbeat round trip (-1: not up)
	int64_t  last_hb_ms;  // ms since the last heartbeat answer (-1: never)
	uint64_t ups;         // times the link came up
	uint64_t downs;       // times it was lost
	// The streams: `dialled`, this node's own link to the peer is up on
	// a stream it dialled (what it sends on); `accepted`, proven data
	// streams the peer dialled into this node (what it receives on).
	// The peer UP with accepted > 0 and dialled false: the peer reaches
	// this node, this node cannot reach it and sends on the peer's
	// stream (docs/multinode.md, "One stream per pair").
	bool     dialled;
	uint32_t accepted;
	// The last time the peer was refused, and why, briefly: by this
	// node's link to it ("wrong cookie", "no cookie", "TLS handshake
	// failed", "closed before HELLO", "no HELLO reply", "a tls+tcp://
	// listener", "another node answers", "host not resolved": its URL's
	// host, at a dial; "connection refused", "connect timed out",
	// "resolver timed out", "dial failed": a dial that failed) or by
	// this node's listener, a stream whose HELLO named it ("wrong
	// cookie", "no cookie", "cookie, none here", "dials here for another
	// node"); "" and -1: never.  The log's event=link_refused (a failed
	// dial's event=link_dial_failed) line says more.  A peer never
	// refused and never up was never reached, and no dial of it failed
	// in a way the node can name.
	char    last_refusal[32];
	int64_t last_refusal_ms; // ms since it (-1: never)
} arb_peer_info;

ARB_DECL size_t arb_node_peers(arb_node *node, arb_peer_info *out, size_t max);
ARB_DECL int    arb_node_port(arb_node *node);
// arb_peer_state_name gives "down", "connecting" or "up".  Thread: any.
ARB_DECL const char *arb_peer_state_name(int state);

// The agent (docs/supervision.md, "Remote children"): the children this
// node runs for other nodes' supervisors.  arb_node_agent_children copies
// up to max of them into out (newest first) and returns how many there
// are.  Thread: node.
typedef struct arb_agent_child {
	char        path[80];     // its path here: root/~agent/rc-HASH-NAME
	char        sup_node[64]; // the supervisor's node
	char        child[256];   // the child's path on that node
	uint32_t    generation;   // the supervisor's start it belongs to
	const char *state;        // "queued", "starting", "running",
	                          // "stopping" (static strings)
	bool        orphan;       // its supervisor's node is lost: stopped
	                          // when the orphan grace runs out
} arb_agent_child;

ARB_DECL size_t arb_node_agent_children(
    arb_node *node, arb_agent_child *out, size_t max);

// arb_node_close releases the node and removes the run directory it made
// (not one given in arb_node_opts.run_dir, and not while abandoned
// threads may still use it).
// Calling it with NULL is a harmless no-op.  Must not be called while
// arb_node_run is running.  Thread: node.
ARB_DECL void arb_node_close(arb_node *node);

// arb_node_start_child adds a child to the running simple_one_for_one
// supervisor at path (e.g. "root/pool"), with arg bytes handed to the
// template's init.  Returns ARB_ESHUTDOWN once the supervisor (or node)
// began to stop, ARB_ENOENT for an unknown path, ARB_ENOTSUP for a
// supervisor that runs on another node (node:) or inside one (its answer
// comes later: arb_node_start_child_then relays it), ARB_ESTATE when the
// supervisor is not simple_one_for_one, ARB_ECHILD when the child failed
// to start.  Thread: node.
ARB_DECL int arb_node_start_child(arb_node *node, const char *sup_path,
    const void *arg, size_t arg_len, arb_pid *pidp);

typedef void (*arb_node_done_fn)(void *arg, int rv, const char *why);

// arb_node_start_child_then is arb_node_start_child that answers through
// fn once the new child reported READY (ARB_OK, why its path), answered
// ignore (ARB_EIGNORE; it is not kept), or failed to start (ARB_ECHILD,
// why "PATH: reason"; the child is not added and nothing counts toward
// intensity, as OTP's start_child answers {error, Reason}).  When it
// returns ARB_OK, fn is called exactly once (possibly before it returns),
// unless the node begins to stop first; on an error it is not called
// (errors as arb_node_start_child but ARB_ECHILD).  A pool that runs on
// another node (a remote child with node:, or inside its subtree) is
// asked through that node's agent (docs/multinode.md, "Remote pools"):
// why is then the child's path there and "@NODE" on success; fn also
// gets ARB_ETIMEDOUT (no answer within the remote child's start_timeout;
// the child may run there), ARB_ECHILD "node NODE lost", and the other
// node's refusal (ARB_ESTATE "fenced: ..."); ARB_ESTATE at once when the
// remote child is not running, ARB_ENOTSUP when the path there is no
// pool.  Thread: node.
ARB_DECL int arb_node_start_child_then(arb_node *node, const char *sup_path,
    const void *arg, size_t arg_len, arb_node_done_fn fn, void *fnarg);

// --- Statistics of one actor (arb_stats_get in actor.h) -----------------
// The kinds of an actor's own metrics (arb_metric_* in actor.h).
typedef enum arb_metric_type {
	ARB_METRIC_COUNTER = 1,
	ARB_METRIC_GAUGE,
	ARB_METRIC_HISTOGRAM,
} arb_metric_type;

typedef struct arb_stats {
	uint64_t msgs_in;       // envelopes delivered to handle / replies
	uint64_t msgs_out;      // envelopes accepted by arb_send
	uint64_t batches_in;    // batches received (one per chunk or frame)
	uint64_t batches_out;   // batches handed on
	uint64_t rejected;      // malformed / truncated / oversized frames
	uint64_t late_replies;  // replies to cancelled or timed-out requests
	uint64_t dead_letters;  // envelopes that reached this actor's mailbox
	                        // and were never handled (mailbox closed,
	                        // actor exiting, stale incarnation), plus
	                        // those it sent to a destination that went
	                        // away for good before they left, its
	                        // replies refused ARB_ENOENT (the caller
	                        // gone or its node not reachable), and
	                        // replies to its calls and gathers that came
	                        // from elsewhere than the pid asked (dropped)
	uint64_t send_eagain;   // arb_send refused with ARB_EAGAIN
	uint64_t stale;         // of dead_letters: addressed to an earlier
	                        // incarnation of this actor, dropped
	uint64_t lost;          // envelopes it sent on a link that died
	                        // before acknowledging them: possibly lost
	uint64_t published;     // arb_publish calls that sent (or found
	                        // nobody to send to)
	uint64_t unheard;       // of published: the topic had no subscriber
} arb_stats;

// ---------------------------------------------------------------------------
// Introspection and control of a running node (for tools: arborctl, HTTP,
// systemd).  All of these run on the node thread: call them from hooks or
// from events added to the node's loop (arb_node_base in actor.h).
// ---------------------------------------------------------------------------
typedef enum arb_child_state {
	ARB_STATE_STOPPED = 0,
	ARB_STATE_STARTING,
	ARB_STATE_RUNNING,
	ARB_STATE_STOPPING,
	ARB_STATE_RESTARTING, // waiting for its backoff delay
	ARB_STATE_IGNORED,
} arb_child_state;

// arb_child_state_name returns "stopped", "starting", "running",
// "stopping", "restarting" or "ignored".  Thread: any.
ARB_DECL const char *arb_child_state_name(arb_child_state s);

// One series of an actor's own metrics (arb_metric_* in actor.h), as the
// node last received it.  Strings are valid during the walk callback
// only.
typedef struct arb_metric_info {
	arb_metric_type type;
	const char     *name;
	const char     *help;
	const char     *label_key;   // NULL when the series has no label
	const char     *label_value; // NULL when the series has no label
	double          value;       // counter, gauge; histogram: the sum
	uint64_t        count;       // histogram: observations
	size_t          nbounds;     // histogram: its upper bounds
	const double   *bounds;
	const uint64_t *buckets; // cumulative counts, nbounds + 1 (+Inf last)
} arb_metric_info;

typedef struct arb_child_info {
	const char     *path;      // "root/sensors/s1" ("root" for the root)
	const char     *name;
	const char     *type;      // actor type, exec argv[0], or "supervisor"
	arb_isolation   isolation;
	arb_restart     restart;
	arb_strategy    strategy;  // supervisors only
	arb_child_state state;
	int             depth;     // 0 for the root
	arb_pid         pid;       // current or last incarnation
	int             ospid;     // process / exec children, else 0
	int64_t         uptime_ms; // since READY, 0 when not running
	unsigned        restarts;
	bool            has_last_exit;
	arb_exit        last_exit;
	int64_t         next_attempt_in_ms; // ARB_STATE_RESTARTING only
	bool            live;      // its loop ticked recently (actors)
	int64_t         heartbeat_age_ms; // -1 when unknown
	uint64_t        exits[8];  // exits by arb_exit_kind
	arb_stats       stats;     // last snapshot (heartbeat), actors only
	// The actor's own metrics as of its last heartbeat (its current or
	// last incarnation), nmetrics of them; valid during the callback.
	const arb_metric_info *metrics;
	size_t                 nmetrics;
	bool                   significant; // its spec's significant flag
	const char            *node; // a remote child's node, else NULL
} arb_child_info;

typedef void (*arb_walk_cb)(const arb_child_info *info, void *arg);

// arb_node_walk calls cb for the root supervisor and every child, depth
// first in start order.  info and its strings are valid during the call
// only.  Thread: node.
ARB_DECL void arb_node_walk(arb_node *node, arb_walk_cb cb, void *arg);

// arb_node_child_stop stops the child at path and keeps its spec; it is
// not restarted until arb_node_child_start (OTP terminate_child).
// arb_node_child_start starts a stopped or ignored child (OTP
// restart_child).  arb_node_child_restart stops then starts it.  All are
// asynchronous: they return once the work is queued.  Errors: ARB_ENOENT
// unknown path, ARB_ENOTSUP a path inside a remote subtree (it runs on
// that node, which supervises it), ARB_ESTATE wrong state (e.g. start of
// a running child), ARB_ESHUTDOWN the node, or a supervisor above the
// child, is stopping, ARB_EAGAIN (start and restart only) the child's
// supervisor is busy with a restart, a reload or another operator
// command: nothing was done, try again.  A stop is accepted at any time;
// it also cancels a restart that waits out its backoff.  Thread: node.
ARB_DECL int arb_node_child_stop(arb_node *node, const char *path);
ARB_DECL int arb_node_child_start(arb_node *node, const char *path);
ARB_DECL int arb_node_child_restart(arb_node *node, const char *path);

// arb_node_done_fn receives the outcome of an operator start or restart
// (arb_node_child_start_then) or of a reload (arb_node_reload_then):
// ARB_OK once every child it started reported READY (or ignore), or
// ARB_ECHILD with why ("PATH: reason") when one failed to start, or
// ARB_ESHUTDOWN when its supervisor began to stop first.  (Declared
// above, with arb_node_start_child_then.)

// arb_node_child_start_then is arb_node_child_start (restart true:
// arb_node_child_restart) that reports the outcome to fn, as OTP's
// restart_child answers {error, Reason}: a child whose start fails is
// left stopped, with that failure as its last exit, and the failure never
// counts toward its supervisor's intensity.  When it returns ARB_OK, fn
// is called exactly once (possibly before it returns), unless the node
// begins to stop first; on an error it is not called (errors as
// arb_node_child_start, and ARB_EAGAIN while another start, restart or
// reload whose outcome is awaited is under way).  Thread: node.
ARB_DECL int arb_node_child_start_then(arb_node *node, const char *path,
    bool restart, arb_node_done_fn fn, void *arg);

// arb_node_add_child_then adds a child given by spec (copied) to the
// running static supervisor at sup_path, at the end of its children, and
// starts it, as OTP's start_child(Sup, ChildSpec): spec is checked as the
// tree file's children are (ARB_ESPEC with one line per problem in errbuf,
// e.g. a name its siblings already use), and fn gets the outcome as from
// arb_node_child_start_then (ARB_ECHILD: its start failed and it is not
// added; nothing counts toward intensity).  A reload of the tree file
// afterwards applies the file, which does not have the child.  Errors:
// ARB_ENOENT no such supervisor, ARB_ENOTSUP one at or inside a remote
// subtree (it runs on that node), ARB_ESTATE a simple_one_for_one one
// (arb_node_start_child_then), ARB_EAGAIN a job or another awaited
// operation under way, ARB_ESHUTDOWN.  Thread: node.
ARB_DECL int arb_node_add_child_then(arb_node *node, const char *sup_path,
    const arb_child_spec *spec, char *errbuf, size_t errlen,
    arb_node_done_fn fn, void *arg);

// arb_node_delete_child removes the stopped child at path from its
// supervisor's spec (OTP's delete_child).  ARB_ESTATE while it is not
// stopped (stop it first), ARB_ENOTSUP for a simple_one_for_one child
// (its stop deletes it) or a path inside a remote subtree, ARB_ENOENT,
// ARB_EAGAIN, ARB_ESHUTDOWN.
// Thread: node.
ARB_DECL int arb_node_delete_child(arb_node *node, const char *path);

// arb_node_send delivers one message (tag, body bytes copied) from the
// node to the actor at path (a child path or registered name; or
// "NAME@NODE" for one of another node, resolved by that node on delivery,
// as arb_whereis does).  ARB_ENOENT when there is no such running actor
// (or NODE is not a peer, or its link is down), ARB_EINVAL for a tag at
// or above ARB_TAG_SYSTEM.  Thread: node.
ARB_DECL int arb_node_send(arb_node *node, const char *path, uint32_t tag,
    const void *body, size_t len);

// arb_node_reload applies spec (copied) to the running tree as a diff:
// added children are started, removed ones stopped, changed ones
// restarted with their new spec, untouched ones keep running (same OS
// pid).  A stopped nested supervisor starts nothing: it takes its new spec
// at its next start.  An invalid spec returns ARB_ESPEC with one line per
// problem in errbuf and leaves the tree exactly as it was.  ARB_EAGAIN
// while a restart, reload or operator command is under way anywhere in
// the tree (nothing changed, errbuf says why; try again), ARB_ESHUTDOWN
// once the node began to stop.  Thread: node.
ARB_DECL int arb_node_reload(
    arb_node *node, const arb_sup_spec *spec, char *errbuf, size_t errlen);
// arb_node_reload_then is arb_node_reload that reports, through fn, the
// outcome of the starts the reload made (arb_node_done_fn): an added child
// whose start fails is not added, a changed one is left stopped, neither
// counts toward intensity (OTP's start_child answers {error, Reason}).
// When it returns ARB_OK, fn is called exactly once (possibly before
// it returns) unless the node begins to stop first.  Thread: node.
ARB_DECL int arb_node_reload_then(arb_node *node, const arb_sup_spec *spec,
    char *errbuf, size_t errlen, arb_node_done_fn fn, void *arg);

// arb_node_live is true while every running actor's loop has ticked
// within the last 3 s (or its watchdog); else false and stuck (if not
// NULL) receives the first stuck path.  Thread: node.
ARB_DECL bool arb_node_live(arb_node *node, char *stuck, size_t len);

// arb_node_ready is true once the whole tree reported READY and until the
// node begins to stop.  Thread: node.
ARB_DECL bool arb_node_ready(arb_node *node);

// Counters of the whole node (arb_node_stats_get): every actor's, those
// running and those that ended since the node started, and the node's
// own.  docs/wire.md says what each one counts and where.
typedef struct arb_node_stats {
	uint64_t msgs_in;         // envelopes handed to actors (handle, replies)
	uint64_t msgs_out;        // envelopes accepted by actors' arb_send
	uint64_t dead_letters;    // envelopes known undelivered: actors'
	                          // dead_letters, mailboxes of removed children
	                          // and of crashed process actors, batches for
	                          // no mailbox, envelopes of link_gaps' frames
	uint64_t lost;            // envelopes possibly lost on links that died
	uint64_t stale;           // dropped: addressed to an earlier incarnation
	uint64_t rejected;        // malformed batches refused by actors
	uint64_t send_eagain;     // sends refused with ARB_EAGAIN
	uint64_t link_gaps;       // DATA frames missing from a link's sequence
	uint64_t links_accepted;  // link connections accepted by the node
	uint64_t links_refused;   // connections refused before or at HELLO
	uint64_t link_bad_frames; // connections closed on a malformed frame
	uint64_t links_lost;      // links the node dialled that died
	uint64_t log_dropped;     // lines of the node's own log dropped:
	                          // stderr was not read (docs/operations.md)
	uint64_t link_auth_failed; // node link handshakes refused for a
	                           // missing or bad proof (either side)
	uint64_t link_hb_timeouts; // node links closed: heartbeats unanswered
	uint64_t link_backoff_refused; // connections to the node's listener
	                               // closed at once: their source address
	                               // sent garbage or failed to prove
	                               // itself and is backed off
	uint64_t link_backoff_evicted; // backed-off sources dropped from the
	                               // listener's full table (256)
	uint64_t link_unproven_refused; // connections to the node's listener
	                                // closed at once: it held as many
	                                // unproven ones as it may (the new
	                                // one, or the oldest of the source
	                                // holding the most; max_unproven)
	uint64_t link_replaced; // peers' data streams (and their heartbeat
	                        // channels) the node's listener closed: a
	                        // newer one of that peer proved itself
	uint64_t link_closed_with_peer; // peers' data streams (and their
	                                // heartbeat channels) the node's
	                                // listener closed because the node
	                                // took that peer DOWN: a pair's two
	                                // streams are one link
	uint64_t peer_watches;     // this node's actors that peers watch now
	                           // (their monitors and links across nodes)
	uint64_t peer_watches_refused; // watches refused: a peer at its
	                               // arb_node_opts.watch_max
	// The agent (remote children this node runs for other nodes'
	// supervisors; docs/supervision.md "Remote children"):
	uint64_t agent_children;        // running or starting now (a gauge)
	uint64_t agent_orphans_stopped; // stopped after the orphan grace
	uint64_t agent_fenced;          // STARTs refused: an older fence
	uint64_t agent_reports_pending; // reports not acknowledged yet (gauge)
	uint64_t agent_reports_resent;  // reports sent again, not acknowledged
	uint64_t agent_reports_stale;   // reports dropped: superseded by a
	                                // newer generation, or for an ended
	                                // incarnation of the supervisor's node
	uint64_t agent_reports_dropped; // reports dropped: more than 256 for
	                                // one node waiting (or no memory)
	uint64_t agent_orphans_reclaimed; // orphans kept: their supervisor
	                                  // still wanted them (a KEEP)
	// The supervisor's side: generations of remote children counted
	// lost whose STOP (sent when their node is back) was dropped: more
	// than 1024 waiting, or no memory (their agent's orphan grace, or a
	// newer START, still ends them).
	uint64_t remote_lost_dropped;
	// One stream per pair (docs/multinode.md): streams peers dialled
	// that the node's links send on -- adopted because the node could
	// not dial the peer, or kept by a merge -- and the node's own
	// dialled streams retired for the peer's (both dialled).
	uint64_t link_adopted;
	uint64_t link_merged;
	// Envelopes refused from peers: a `from` that is not a pid of the
	// peer whose link brought it, or a reserved tag only this node
	// sends (docs/multinode.md, "Bad input from peers"; each batch
	// logged, at most a line a second, event=forged_envelope).
	uint64_t link_forged;
} arb_node_stats;

// arb_node_stats_get fills *st with the node's counters.  Actors that run
// count as of their last heartbeat.  This function can't fail.
// Thread: node.
ARB_DECL void arb_node_stats_get(arb_node *node, arb_node_stats *st);

// arb_node_uptime_ms and arb_node_give_ups: node-level metrics.
ARB_DECL int64_t  arb_node_uptime_ms(arb_node *node);
ARB_DECL uint64_t arb_node_give_ups(arb_node *node);

// arb_node_name returns the node's name (arb_node_opts.name, "arbor" by
// default).  This function can't fail.  Thread: any.
ARB_DECL const char *arb_node_name(arb_node *node);

// arb_node_set_log_level changes the level of this node's log (and of
// process actors started afterwards); ARB_LOG_DEFAULT means info, or
// $ARB_LOG_LEVEL when set.  Thread: any.
ARB_DECL void arb_node_set_log_level(arb_node *node, int level);

typedef struct arb_node_hooks {
	void (*ready)(arb_node *node, void *arg);    // the whole tree is up
	void (*stopping)(arb_node *node, void *arg); // a stop began
	void (*changed)(arb_node *node, void *arg);  // a child changed state
	void (*tick)(arb_node *node, void *arg);     // once per second
	// reload is called on SIGHUP; NULL means SIGHUP is only logged.
	void (*reload)(arb_node *node, void *arg);
} arb_node_hooks;

// arb_node_set_hooks installs hooks (copied) called on the node thread;
// NULL clears them.  Call it before arb_node_run.  Thread: node.
ARB_DECL void arb_node_set_hooks(
    arb_node *node, const arb_node_hooks *hooks, void *arg);

// ---------------------------------------------------------------------------
// Tree files and the operator surface (docs/config.md, docs/operations.md).
// What the `arbor` program offers is a layer of the library any program
// can use: a tree file's loader and checker (arb_tree_*), and by one call
// (arb_node_serve) the control socket `arborctl` talks to, HTTP
// (/healthz, /readyz, /metrics, /api/tree and a page), reload on SIGHUP
// and `arborctl reload`, and the systemd protocol (Type=notify, watchdog).
// ---------------------------------------------------------------------------
typedef struct arb_tree arb_tree;

// arb_tree_load reads the tree file at path (YAML, docs/config.md) and
// checks it as `arbor check` does: every problem is collected, each child's
// config is read by its type's check hook, plugins named under `plugins:`
// are loaded.  *treep is set unless the result is ARB_ENOMEM: with ARB_OK
// the tree is valid; with ARB_ESPEC it holds only the problems
// (arb_tree_errors).  Either way release it with arb_tree_free.
// Thread: any (one load at a time).
ARB_DECL int arb_tree_load(const char *path, arb_tree **treep);

// arb_tree_free releases tree.  Calling it with NULL is a harmless no-op.
// A tree given to arb_node_serve must stay until arb_node_close.
ARB_DECL void arb_tree_free(arb_tree *tree);

// arb_tree_errors returns the number of problems of a tree (0 when it is
// valid), and arb_tree_error the text of problem i, as
// "FILE:LINE:COLUMN: field: what is wrong" (NULL past the end), valid
// until the tree is freed.  Sorted by position.  Thread: any.
ARB_DECL size_t      arb_tree_errors(const arb_tree *tree);
ARB_DECL const char *arb_tree_error(const arb_tree *tree, size_t i);

// arb_tree_spec returns the supervision tree of a valid tree (the root
// supervisor's spec, ready for arb_node_run), or NULL.  It lives as long
// as the tree.  Thread: any.
ARB_DECL const arb_sup_spec *arb_tree_spec(const arb_tree *tree);

// arb_tree_node_opts fills *opts from the tree's node.* settings (name,
// run_dir, max_msg_size, log_level); the strings live as long as the
// tree.  Fields the file does not set are zero (the defaults).
// Thread: any.
ARB_DECL void arb_tree_node_opts(const arb_tree *tree, arb_node_opts *opts);

// What arb_node_serve offers; a zeroed struct serves the control socket
// at its default path and the systemd protocol, with no HTTP and no
// reload.
typedef struct arb_serve_opts {
	// The tree file the node runs, or NULL: its node.control and
	// node.http are the defaults of the fields below, and a reload
	// re-reads the file and applies it (arb_node_reload).
	const arb_tree *tree;
	// The control socket's path; NULL: node.control of the tree, else
	// $XDG_RUNTIME_DIR/arbor/NAME.sock or /tmp/arbor-UID/NAME.sock.
	const char *control;
	bool        no_control; // serve no control socket at all
	// HTTP on loopback, "PORT" or "127.0.0.1:PORT"; NULL: node.http of
	// the tree, else off.
	const char *http;
	bool        no_notify; // do not speak the systemd protocol
	// reload is called for SIGHUP and `arborctl reload` when tree is
	// NULL: return ARB_OK once applied, or an error with a line in
	// errbuf.  NULL (and no tree): a reload is refused (ARB_ENOTSUP).
	int (*reload)(arb_node *node, void *arg, char *errbuf, size_t errlen);
	void *reload_arg;
} arb_serve_opts;

// arb_node_serve starts the operator surface of node on the node's loop:
// the control socket (`arborctl status|stop|start|restart|send|reload|
// log-level`, owner-only, docs/control.md), HTTP when configured, reload,
// and the systemd protocol (READY=1 once the whole tree is up,
// STOPPING=1, STATUS=, WATCHDOG=1 while every loop ticks; a no-op outside
// a Type=notify unit).  Call it after arb_node_open and before
// arb_node_run; arb_node_close stops everything.  Its lines go to the log
// as arb_log(NULL, ...) lines.  opts (copied) may be NULL for defaults.
// Errors (the reason is logged): ARB_ESPEC a setting is wrong (the
// socket's directory is open to others or owned by another user, the path
// exists and is not a socket, a bad HTTP address: exit 78 for a program),
// ARB_EEXIST the socket path or the HTTP port is in use by another node or
// program, ARB_ESTATE called twice or after arb_node_run began,
// ARB_ENOMEM.  Nothing is left started on error.  Thread: node.
ARB_DECL int arb_node_serve(arb_node *node, const arb_serve_opts *opts);

#ifdef __cplusplus
}
#endif

#endif // ARBOR_ARBOR_H
