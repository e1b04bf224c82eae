// SPDX-License-Identifier: MIT
// node.c -- a node: one OS process that owns a root supervisor.
//
// The node thread runs one libevent loop with the whole supervision tree
// (src/supervisor/, which the node owns and drives from above: it starts
// and stops the root, reaps on SIGCHLD, and hears back through hooks).
// Signals arrive as events (evsignal is libevent's self-pipe; nothing runs
// in a signal handler).  The node owns the registry of names, monitors
// and links (src/registry/) and gives it its way out: the node's own
// outbound queue.
// Thread: node, except where a function says otherwise.

#include "node_int.h"

#include <errno.h>
#include <event2/event.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static arb_node *the_node; // for arb_node_stop from a signal context

// ---------------------------------------------------------------------------
// The registry's way out: DOWN / EXIT messages leave through the node's
// outbound queue (its entries reach their actors through the tree).
// ---------------------------------------------------------------------------
static void
node_reg_notify(void *arg, arb_pid to, uint32_t tag, uint64_t ref,
    arb_pid who, const arb_exit *why)
{
	arb_node *node = arg;
	arb__buf  b    = { 0 };
	arb_msg   m    = { 0 };
	int       rv;

	if (tag == ARB_TAG_DOWN && arb__watch_fired(node, to, ref, why)) {
		return; // a peer's watch: its node hears it (watch.c)
	}
	if (arb__codec_encode_exit(&b, who, why) != 0) {
		return;
	}
	m.from = arb__pid_make(ARB__KIND_NODE, 0, 0);
	m.to   = to;
	m.tag  = tag;
	m.ref  = ref;
	m.body = b.data;
	m.len  = b.len;
	// A notice, not a send: one per monitor or link per exit, so it
	// goes past a full backlog towards its actor (a busy actor flooded
	// by name@node sends still gets its DOWN, exactly once).  Refused
	// only when the actor is gone (nothing to tell) or for memory.
	rv = arb__outq_notice(node->outq, &m);
	if (rv != ARB_OK && rv != ARB_ENOENT) {
		node->tree.dead_letters++;
		arb__log(ARB_LOG_WARN, NULL,
		    "event=notice_lost tag=%s error=%s",
		    tag == ARB_TAG_DOWN ? "down" : "exit", arb_err_name(rv));
	}
	arb__buf_fini(&b);
}

static void
node_reg_flush(void *arg)
{
	arb_node *node = arg;

	arb__outq_flush(node->outq);
}

// node_reg_topics publishes the topic table's generation to every
// process of the node (the slot table's word 0): publishers that keep a
// topic's subscribers ask again.
static void
node_reg_topics(void *arg, uint64_t gen)
{
	ARB_UNUSED(arg);
	arb__tp_topics_set(gen);
}

static const arb__reg_io node_reg_io = {
	.notify = node_reg_notify,
	.flush  = node_reg_flush,
	.topics = node_reg_topics,
};

// ---------------------------------------------------------------------------
// Signals and stop
// ---------------------------------------------------------------------------
static void
node_stop_now(arb_node *node)
{
	int req = atomic_load(&node->stop_requests);

	while (node->stops_handled < req) {
		node->stops_handled++;
		if (!node->tree.stopping) {
			node->tree.stopping = true;
			arb__sup_stop_began(&node->tree);
			arb__log(ARB_LOG_INFO, NULL,
			    "event=stop_requested action=orderly_stop");
			if (node->tree.root != NULL) {
				arb__sup_stop(node->tree.root);
			}
		} else if (!node->tree.brutal) {
			node->tree.brutal = true;
			arb__log(ARB_LOG_WARN, NULL,
			    "event=stop_requested_again action=brutal_stop");
			if (node->tree.root != NULL) {
				arb__sup_brutal(node->tree.root);
			}
		}
	}
}

static void
node_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	node_stop_now(arg);
}

void
arb_node_stop(arb_node *node)
{
	if (node == NULL) {
		return;
	}
	atomic_fetch_add(&node->stop_requests, 1);
	if (node->stop_ev != NULL) {
		event_active(node->stop_ev, 0, 0);
	}
}

// NODE_HOOK calls hook h of the program, then of every service.
#define NODE_HOOK(node, h)                                                    \
	do {                                                                  \
		int hk_;                                                      \
		if ((node)->hooks.h != NULL) {                                \
			(node)->hooks.h((node), (node)->hook_arg);            \
		}                                                             \
		for (hk_ = 0; hk_ < (node)->nservices; hk_++) {               \
			if ((node)->services[hk_].hooks.h != NULL) {          \
				(node)->services[hk_].hooks.h(                \
				    (node), (node)->services[hk_].arg);       \
			}                                                     \
		}                                                             \
	} while (0)

static bool
node_has_reload(arb_node *node)
{
	int i;

	for (i = 0; i < node->nservices; i++) {
		if (node->services[i].hooks.reload != NULL) {
			return true;
		}
	}
	return node->hooks.reload != NULL;
}

int
arb__node_service_add(arb_node *node, const arb__service *svc)
{
	if (node->nservices == ARB__SERVICES_MAX) {
		return ARB_ENOSPC;
	}
	node->services[node->nservices++] = *svc;
	return ARB_OK;
}

const char *
arb_node_name(arb_node *node)
{
	return node->name;
}

static void
node_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	arb_node *node = arg;

	ARB_UNUSED(what);
	switch (sig) {
	case SIGCHLD:
		arb__stree_reap(&node->tree);
		break;
	case SIGHUP:
		if (node->tree.stop_begun) {
			arb__log(ARB_LOG_INFO, NULL,
			    "event=sighup action=none (stopping)");
		} else if (node_has_reload(node)) {
			arb__log(
			    ARB_LOG_INFO, NULL, "event=sighup action=reload");
			NODE_HOOK(node, reload);
		} else {
			arb__log(ARB_LOG_INFO, NULL,
			    "event=sighup action=none (no reload hook)");
		}
		break;
	default:
		arb__log(ARB_LOG_INFO, NULL, "event=signal signal=SIG%s",
		    sigabbrev_np((int) sig));
		atomic_fetch_add(&node->stop_requests, 1);
		node_stop_now(node);
		break;
	}
}

// node_tree_exited: the root supervisor has stopped (tree hook).
static void
node_tree_exited(void *arg, const arb_exit *why)
{
	arb_node   *node = arg;
	arb__stree *tree = &node->tree;
	char        reason[200];
	int         alive;

	arb_exit_format(why, reason, sizeof(reason));
	// Every child has been reaped; whatever is still alive below the
	// node (an escaped descendant) is killed and reaped now, each one
	// logged; one that cannot be makes the stop unclean (SPEC 12).
	alive = arb__proc_sweep(tree);
	// 70 only when the tree failed on its own (gave up, its start
	// failed, or its auto_shutdown followed a significant child's
	// failure); a stop requested during the start is still a requested
	// stop.
	if (tree->gave_up || tree->auto_failed ||
	    (why->kind != ARB_EXIT_SHUTDOWN && !tree->stopping) ||
	    (tree->root_slot->state == ARB__CS_STARTING && !tree->stopping)) {
		node->exit_code = ARB_EXIT_SOFTWARE;
	} else if (tree->abandoned > 0 || alive > 0) {
		node->exit_code = ARB_EXIT_UNCLEAN;
	} else {
		node->exit_code = ARB_EXIT_OK;
	}
	arb__log(node->exit_code ? ARB_LOG_ERROR : ARB_LOG_INFO, NULL,
	    "event=node_exit reason=%s exit_code=%d requested=%s abandoned=%d"
	    "%s%s",
	    reason, node->exit_code, tree->stopping ? "yes" : "no",
	    tree->abandoned, tree->brutal ? " stop=brutal" : "",
	    alive > 0 ? " leftovers_alive=yes" : "");
	node->done = true;
	event_base_loopbreak(node->base);
}

static void
node_tree_changed(void *arg)
{
	arb_node *node = arg;

	NODE_HOOK(node, changed);
}

// node_tree_stop_began: the tree began to stop, whatever the cause (a
// requested stop, the root giving up, its auto_shutdown or a failed
// start): from then on the node is not ready, control operations answer
// ARB_ESHUTDOWN, and the `stopping` hook runs (once per node).
static void
node_tree_stop_began(void *arg)
{
	arb_node *node = arg;

	node->tree_ready = false;
	NODE_HOOK(node, stopping);
}

// node_tree_ready: the root reported READY.
static void
node_tree_ready(void *arg)
{
	arb_node *node = arg;

	if (node->tree.stopping || node->tree.stop_begun) {
		return;
	}
	node->tree_ready = true;
	NODE_HOOK(node, ready);
}

// node_tree_watch / node_tree_link: monitors and links of other nodes'
// actors reach those nodes (watch.c).
static bool
node_tree_watch(void *arg, arb_pid target, bool on)
{
	return arb__watch_ask(arg, target, on);
}

static void
node_tree_link(void *arg, arb_pid self, arb_pid target, bool on)
{
	arb__watch_link(arg, self, target, on);
}

static const arb__stree_hooks node_tree_hooks = {
	.changed    = node_tree_changed,
	.ready      = node_tree_ready,
	.exited     = node_tree_exited,
	.stop_began = node_tree_stop_began,
	.watch      = node_tree_watch,
	.link       = node_tree_link,
};

// ---------------------------------------------------------------------------
// Open / run / close
// ---------------------------------------------------------------------------
static int
node_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	ARB_UNUSED(sb);
	ARB_UNUSED(flag);
	ARB_UNUSED(f);
	remove(path);
	return 0;
}

// node_peer_event is peer.c's event function (on a link's thread): wake
// the node's loop.
static void
node_peer_event(void *arg, size_t idx, bool up, uint32_t creation)
{
	arb_node *node = arg;

	ARB_UNUSED(idx);
	ARB_UNUSED(up);
	ARB_UNUSED(creation);
	event_active(node->peer_ev, EV_READ, 0);
}

// The node's notice that a peer is down, as it goes to each actor.
typedef struct node_calls_down_st {
	arb_node *node;
	arb_msg   m;
	size_t    unsent;
} node_calls_down_st;

static void
node_calls_down_cb(void *arg, arb_pid pid)
{
	node_calls_down_st *st = arg;

	st->m.to = pid;
	// Past a full backlog towards pid (its mailbox full, the node's
	// queue behind it too): never refused for room.
	if (arb__outq_notice(st->node->outq, &st->m) != ARB_OK) {
		st->unsent++;
	}
}

// node_calls_down tells every thread and process actor of the node that
// peer idx (the incarnation in pi) is down, one envelope each through the
// node's outbound queue (behind the DOWNs of their monitors): each ends
// the calls and gathers it waits on there (actor.c, ctx_peer_lost).  The
// envelope's ref is the time of this DOWN: calls sent after it (to the
// peer's next incarnation) are not ended.
static void
node_calls_down(arb_node *node, uint32_t node_id, const arb_peer_info *pi)
{
	node_calls_down_st st = { .node = node };
	arb_exit           why = { .kind = ARB_EXIT_NOCONNECTION };
	arb_pid            lost;
	arb__buf           b = { 0 };
	size_t             n;

	lost.id = arb__pid_make(ARB__KIND_NODE, 0, 0).id;
	lost.node = node_id;
	lost.creation = pi->incarnation;
	snprintf(why.text, sizeof(why.text),
	    "noconnection: node %.64s is down", pi->name);
	if (arb__codec_encode_exit_wide(&b, lost, &why) != ARB_OK) {
		st.unsent = 1; // no memory: they wait for their timeouts
		n = 0;
	} else {
		st.m.from = arb__pid_make(ARB__KIND_NODE, 0, 0);
		st.m.tag = ARB__TAG_PEER_LOST;
		st.m.ref = (uint64_t) arb__now_us();
		st.m.body = b.data;
		st.m.len = b.len;
		n = arb__reg_actors(node->reg, node_calls_down_cb, &st);
		arb__outq_flush(node->outq);
	}
	arb__buf_fini(&b);
	if (st.unsent > 0) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=calls_down_unsent peer=%s actors=%zu unsent=%zu",
		    pi->name, n, st.unsent);
	}
}

// node_peer_cb logs every change of a peer's state once, on the node
// thread: each UP with the peer's incarnation, each DOWN with
// noconnection.
static void
node_peer_cb(evutil_socket_t fd, short what, void *arg)
{
	arb_node     *node = arg;
	arb_peer_info info[ARB_NODE_PEERS_MAX];
	size_t        i, n, dropped;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	n = arb__peers_info(info, ARB_NODE_PEERS_MAX);
	for (i = 0; i < n && i < node->npeers; i++) {
		while (node->peer_ups[i] < info[i].ups
		    || node->peer_downs[i] < info[i].downs) {
			// Ups and downs alternate, UP first.
			if (node->peer_ups[i] == node->peer_downs[i]) {
				node->peer_ups[i]++;
				arb__log(ARB_LOG_INFO, NULL,
				    "event=peer_up peer=%s url=%s "
				    "incarnation=%u",
				    info[i].name, info[i].url,
				    (unsigned) info[i].incarnation);
				arb__remote_peer_up(
				    node, arb__peers_node_id(i));
			} else {
				node->peer_downs[i]++;
				arb__log(ARB_LOG_WARN, NULL,
				    "event=peer_down peer=%s url=%s "
				    "reason=noconnection",
				    info[i].name, info[i].url);
				// Monitors of its actors: DOWN noconnection,
				// once (their entries are gone after).
				arb__stree_peer_lost(
				    &node->tree, arb__peers_node_id(i));
				// Calls and gathers waiting on it: ended
				// now, noconnection (after those DOWNs).
				node_calls_down(
				    node, arb__peers_node_id(i), &info[i]);
				// Its watches of our actors: dropped.
				dropped = arb__watch_peer_lost(
				    node, i, node->peer_downs[i]);
				if (dropped > 0) {
					arb__log(ARB_LOG_INFO, NULL,
					    "event=peer_watches_dropped "
					    "peer=%s dropped=%zu",
					    info[i].name, dropped);
				}
				// Remote children: ours there exit with
				// noconnection, its here become orphans.
				arb__remote_peer_down(node,
				    arb__peers_node_id(i), info[i].name);
			}
		}
	}
}

int
arb_node_open(arb_node **nodep, const arb_node_opts *opts)
{
	arb_node      *node;
	arb_node_opts  o = { 0 };
	const char    *base;
	char           tmpl[160];
	struct stat    st;
	ssize_t        n;
	int            rv;

	if (nodep == NULL) {
		return ARB_EINVAL;
	}
	if (the_node != NULL) {
		return ARB_EEXIST; // one node per process
	}
	if (opts != NULL) {
		o = *opts;
	}
	if (o.name != NULL) {
		// The name travels in link HELLOs: printable, no spaces.
		size_t i, len = strlen(o.name);
		if (len == 0 || len >= sizeof(node->name)) {
			return ARB_EINVAL;
		}
		for (i = 0; i < len; i++) {
			if (o.name[i] < 0x21 || o.name[i] > 0x7e) {
				return ARB_EINVAL;
			}
		}
	}
	if ((node = arb__alloc(sizeof(*node))) == NULL) {
		return ARB_ENOMEM;
	}
	snprintf(
	    node->name, sizeof(node->name), "%s", o.name ? o.name : "arbor");
	node->max_msg = o.max_msg_size ? o.max_msg_size : 1024 * 1024;
	node->signals = !o.no_signals;
	arb_node_set_log_level(node, o.log_level);
	if (o.log_time == ARB_LOG_TIME_ON || o.log_time == ARB_LOG_TIME_OFF) {
		arb__log_set_time(o.log_time);
		// Process actors re-execute the program and decide for
		// themselves (log.c): the environment tells them.
		setenv("ARB_LOG_TIME",
		    o.log_time == ARB_LOG_TIME_ON ? "on" : "off", 1);
	}
	node->run_lock = -1;
	n = readlink(
	    "/proc/self/exe", node->self_exe, sizeof(node->self_exe) - 1);
	if (n <= 0) {
		rv = arb__err_from_errno(errno);
		goto fail;
	}
	node->self_exe[n] = '\0';
	if (o.run_dir != NULL) {
		snprintf(node->addr.run_dir, sizeof(node->addr.run_dir), "%s",
		    o.run_dir);
		if (mkdir(o.run_dir, 0700) != 0 && errno != EEXIST) {
			rv = arb__err_from_errno(errno);
			goto fail;
		}
	} else {
		// The rule of the default control socket (paths.c): an
		// absolute directory, else /tmp.  A writable regular file
		// there ("cannot open the node: Not a directory", 70) or a
		// relative path (the node's cwd's) was taken.
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL || base[0] != '/' || stat(base, &st) != 0
		    || !S_ISDIR(st.st_mode) || access(base, W_OK | X_OK) != 0) {
			base = "/tmp";
		}
		arb__rundir_clean_stale(base);
		snprintf(tmpl, sizeof(tmpl), "%s/arbor-%d-XXXXXX", base,
		    (int) getpid());
		if (mkdtemp(tmpl) == NULL) {
			rv = arb__err_from_errno(errno);
			goto fail;
		}
		snprintf(node->addr.run_dir, sizeof(node->addr.run_dir), "%s",
		    tmpl);
		node->own_run_dir = true;
	}
	if ((rv = arb__rundir_lock(node)) != 0) {
		node->own_run_dir = false; // (never remove another node's)
		goto fail;
	}
	node->addr.in_node = true;
	// The node's identity goes into every pid it hands out: its name's
	// hash and an incarnation, so pids of an earlier run of a node with
	// the same name are never taken for this run's.
	snprintf(node->addr.node, sizeof(node->addr.node), "%s", node->name);
	node->addr.node_id  = arb__node_id(node->name);
	node->addr.creation = (uint32_t) (arb__random() | 1u);
	arb__local_set(node->addr.node_id, node->addr.creation);
	if ((node->base = arb__loop_new()) == NULL) {
		rv = ARB_ENOMEM;
		goto fail;
	}
	node->stop_ev = event_new(node->base, -1, 0, node_stop_cb, node);
	if (node->stop_ev == NULL) {
		rv = ARB_ENOMEM;
		goto fail;
	}
	// The node's transport: its link listener, the thread actors'
	// mailboxes and the table of child slots (src/transport/route.c).
	if ((rv = arb__tp_open(&node->addr,
	         arb__pid_make(ARB__KIND_NODE, 0, 0), node->max_msg))
	    != 0) {
		goto fail;
	}
	if ((rv = arb__outq_open(&node->outq, node->base, node->max_msg)) !=
	    0) {
		goto fail;
	}
	if ((rv = arb__reg_open(&node->reg, &node_reg_io, node)) != 0) {
		goto fail;
	}
	arb__stree_init(&node->tree, node->base);
	node->tree.drivers[ARB_THREAD]     = &arb__drv_thread;
	node->tree.drivers[ARB_PROCESS]    = &arb__drv_process;
	node->tree.drivers[ARB_EXEC]       = &arb__drv_exec;
	node->tree.drivers[ARB_SUPERVISOR] = &arb__drv_sup;
	// The agent (children of other nodes, and ours on them): its slot
	// is the first of every node's tree.
	if (o.orphan_grace_ms < 0 || o.orphan_grace_ms > 86400000
	    || (o.orphan_grace_ms > 0 && o.orphan_grace_ms < 10)) {
		arb__log(ARB_LOG_ERROR, NULL,
		    "event=bad_option orphan_grace_ms=%d (10..86400000, 0: "
		    "default %d)",
		    o.orphan_grace_ms, ARB__ORPHAN_GRACE_MS);
		rv = ARB_EINVAL;
		goto fail;
	}
	if ((rv = arb__remote_open(node, o.orphan_grace_ms)) != ARB_OK) {
		goto fail;
	}
	node->tree.addr     = &node->addr;
	node->tree.max_msg  = node->max_msg;
	node->tree.self_exe = node->self_exe;
	node->tree.no_standby = o.no_standby;
	node->tree.reg      = node->reg;
	node->tree.hooks    = node_tree_hooks;
	node->tree.hook_arg = node;
	if ((rv = arb__names_open(node)) != 0) {
		goto fail;
	}
	if (o.watch_max < 0 || o.watch_max > 1000000) {
		arb__log(ARB_LOG_ERROR, NULL,
		    "event=bad_option watch_max=%d "
		    "(1..1000000, 0: default %d)",
		    o.watch_max, ARB__WATCH_MAX);
		rv = ARB_EINVAL;
		goto fail;
	}
	if ((rv = arb__watch_open(node, (size_t) o.watch_max)) != 0) {
		goto fail;
	}
	if (o.max_unproven < 0 || o.max_unproven > 65536) {
		arb__log(ARB_LOG_ERROR, NULL,
		    "event=bad_option max_unproven=%d "
		    "(1..65536, 0: default min(256, hard fd limit / 4))",
		    o.max_unproven);
		rv = ARB_EINVAL;
		goto fail;
	}
	// Peers: other nodes (SPEC 31).  Opened last, once the mailboxes a
	// peer addresses before any actor of ours runs exist: the agent's
	// (slot 1), the names' and the watches' (a peer sends to them at its
	// UP, which comes as soon as our listener answers; an envelope for a
	// mailbox not made yet was dropped as a dead letter).
	if (o.listen != NULL || o.npeers > 0) {
		arb__peers_cfg pc = { .listen = o.listen,
			.peers = o.peers,
			.npeers = o.npeers,
			.cookie_file = o.cookie_file,
			.insecure = o.insecure,
			.tls = { o.tls_cert, o.tls_key, o.tls_ca },
			.hb_ms = o.hb_interval_ms,
			.hb_miss = o.hb_miss,
			.max_unproven = o.max_unproven,
			.event = node_peer_event,
			.arg = node };
		char err[512];

		node->peer_ev
		    = event_new(node->base, -1, 0, node_peer_cb, node);
		if (node->peer_ev == NULL) {
			rv = ARB_ENOMEM;
			goto fail;
		}
		node->npeers = o.npeers;
		if ((rv = arb__peers_open(&pc, &node->addr, node->max_msg, err,
		         sizeof(err)))
		    != 0) {
			arb__log(
			    ARB_LOG_ERROR, NULL, "event=bad_peers %s", err);
			if (rv == ARB_EEXIST) {
				// The listener's address is in use (nng's
				// EADDRINUSE): ARB_EEXIST is a node already
				// open in this process.
				rv = ARB_ESYSERR | EADDRINUSE;
			}
			goto fail;
		}
		if (o.listen != NULL) {
			char bound[320];
			int  port = arb__peers_port();
			int  unp, unp_src;

			arb__peers_unproven(o.max_unproven, &unp, &unp_src);
			// url: where it listens (port 0 as bound).
			arb__log(ARB_LOG_INFO, NULL,
			    "event=peer_listen url=%s port=%d auth=%s "
			    "watch_max=%zu max_unproven=%d "
			    "max_unproven_source=%d",
			    arb__url_bound(o.listen, port, bound, sizeof(bound)),
			    port,
			    strncmp(o.listen, "tls+", 4) == 0
			        ? (o.cookie_file != NULL ? "tls+cookie"
			                                 : "tls")
			    : o.insecure ? "none (insecure)"
			                 : "cookie",
			    node->watch_max, unp, unp_src);
		}
	}
	// Every actor holds a few fds (mailbox, loop, wakeups): lift the soft
	// fd limit to the hard one so thousands of actors fit.
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	// Orphaned grandchildren of exec children come to us (SPEC 12).
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	arb__proc_foreign_note(&node->tree);
	arb__proc_shim_find(&node->tree);
	arb__cg_open(&node->tree);
	signal(SIGPIPE, SIG_IGN);
	if (node->signals) {
		static const int sigs[4]
		    = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
		int              i;
		for (i = 0; i < 4; i++) {
			node->sig_ev[i] = evsignal_new(
			    node->base, sigs[i], node_signal_cb, node);
			if (node->sig_ev[i] == NULL ||
			    event_add(node->sig_ev[i], NULL) != 0) {
				rv = ARB_ENOMEM;
				goto fail;
			}
		}
	} else {
		node->sig_ev[3] =
		    evsignal_new(node->base, SIGCHLD, node_signal_cb, node);
		if (node->sig_ev[3] == NULL ||
		    event_add(node->sig_ev[3], NULL) != 0) {
			rv = ARB_ENOMEM;
			goto fail;
		}
	}
	the_node = node;
	*nodep   = node;
	return ARB_OK;
fail:
	the_node = NULL;
	arb_node_close(node);
	return rv;
}

static void
node_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	arb_node *node = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	NODE_HOOK(node, tick);
}


int
arb_node_run(arb_node *node, const arb_sup_spec *spec, int *exit_code)
{
	arb__stree *tree;
	char        errbuf[4096];
	int         rv;

	if (node == NULL || spec == NULL || exit_code == NULL) {
		return ARB_EINVAL;
	}
	if (node->running || node->done) {
		return ARB_ESTATE;
	}
	tree = &node->tree;
	if ((rv = arb__sup_spec_check(spec, "root", errbuf, sizeof(errbuf))) !=
	    0) {
		char *line, *save = NULL;
		for (line = strtok_r(errbuf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			arb__log(
			    ARB_LOG_ERROR, NULL, "event=bad_spec %s", line);
		}
		*exit_code = ARB_EXIT_CONFIG;
		return ARB_ESPEC;
	}
	if ((tree->root_slot = arb__alloc(sizeof(arb__child))) == NULL) {
		return ARB_ENOMEM;
	}
	tree->root_slot->state  = ARB__CS_STARTING;
	tree->root_slot->pidfd  = -1;
	tree->root_slot->ctl_fd = -1;
	tree->root_slot->tree   = tree;
	snprintf(tree->root_slot->path, sizeof(tree->root_slot->path), "root");
	if ((rv = arb__sup_open(&tree->root, tree, tree->root_slot, spec,
	         "root")) != 0) {
		return rv;
	}
	if ((rv = arb__remote_host(node)) != ARB_OK) {
		return rv;
	}
	node->running    = true;
	tree->started_ms = arb__now_ms();
	{
		struct timeval tv = { 1, 0 };
		node->tick_ev = event_new(
		    node->base, -1, EV_PERSIST, node_tick_cb, node);
		if (node->tick_ev != NULL) {
			event_add(node->tick_ev, &tv);
		}
	}
	arb__log(ARB_LOG_INFO, "root",
	    "event=node_start node=%s run_dir=%s node_id=%u creation=%u",
	    node->name, node->addr.run_dir, (unsigned) node->addr.node_id,
	    (unsigned) node->addr.creation);
	arb__sup_start(tree->root);
	// If a stop was requested before the loop ran, honour it now.
	if (atomic_load(&node->stop_requests) > 0) {
		event_active(node->stop_ev, 0, 0);
	}
	while (!node->done) {
		if (event_base_loop(node->base, EVLOOP_ONCE) < 0) {
			break;
		}
		if (tree->root_slot->state == ARB__CS_STARTING &&
		    !node->done) {
			continue;
		}
	}
	// Thread actors report EXIT before tearing down; wait (bounded) for
	// their DONE so nothing posts to a closed node.  Abandoned threads are
	// not waited for.
	// The spare thread and the standby went when the stop began
	// (arb__sup_stop_began), which every end of the tree goes through.
	{
		int64_t dl = arb__now_ms() + 5000;
		while (tree->threads > tree->abandoned && arb__now_ms() < dl) {
			struct timeval tv = { 0, 50000 };
			event_base_loopexit(node->base, &tv);
			event_base_loop(node->base, EVLOOP_ONCE);
		}
	}
	node->running = false;
	arb__stree_reap(tree);
	*exit_code = node->exit_code;
	return ARB_OK;
}

void
arb_node_close(arb_node *node)
{
	int i;

	if (node == NULL) {
		return;
	}
	// Services first (the control socket, HTTP...), in reverse order,
	// while the loop they run on still exists.
	for (i = node->nservices - 1; i >= 0; i--) {
		if (node->services[i].close != NULL) {
			node->services[i].close(node, node->services[i].arg);
		}
	}
	node->nservices = 0;
	if (node->tree.root != NULL) {
		arb__sup_free(node->tree.root);
		node->tree.root = NULL;
	}
	arb__free(node->tree.root_slot);
	node->tree.root_slot = NULL;
	arb__names_close(node);
	arb__watch_close(node);
	arb__stree_fini(&node->tree);
	arb__remote_close(node);
	arb__reg_close(node->reg);
	node->reg = NULL;
	arb__outq_close(node->outq);
	if (node->tree.abandoned > 0) {
		// Abandoned threads may still post to the inbox: keep the loop
		// and the node (the process is about to exit anyway).
		the_node = NULL;
		return;
	}
	arb__peers_close();
	arb__tp_close();
	if (node->peer_ev != NULL) {
		event_free(node->peer_ev);
	}
	for (i = 0; i < 4; i++) {
		if (node->sig_ev[i] != NULL) {
			event_free(node->sig_ev[i]);
		}
	}
	if (node->stop_ev != NULL) {
		event_free(node->stop_ev);
	}
	if (node->tick_ev != NULL) {
		event_free(node->tick_ev);
	}
	arb__loop_free(node->base);
	if (node->own_run_dir) {
		nftw(node->addr.run_dir, node_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	}
	if (node->run_lock >= 0) {
		close(node->run_lock); // (after the removal: never a gap)
	}
	arb__free(node);
	the_node = NULL;
}

size_t
arb_node_peers(arb_node *node, arb_peer_info *out, size_t max)
{
	return node != NULL ? arb__peers_info(out, max) : 0;
}

int
arb_node_port(arb_node *node)
{
	return node != NULL ? arb__peers_port() : 0;
}

const char *
arb_peer_state_name(int state)
{
	switch (state) {
	case ARB_PEER_UP:
		return "up";
	case ARB_PEER_CONNECTING:
		return "connecting";
	default:
		return "down";
	}
}

int
arb_node_start_child(arb_node *node, const char *sup_path, const void *arg,
    size_t arg_len, arb_pid *pidp)
{
	if (node == NULL || sup_path == NULL || pidp == NULL) {
		return ARB_EINVAL;
	}
	return arb__stree_start_child(
	    &node->tree, sup_path, arg, arg_len, pidp, NULL, NULL);
}

// A run-time start whose outcome an operator awaits.
typedef struct node_added {
	arb_node        *node;
	arb_node_done_fn fn;
	void            *arg;
	arb_pid          pid;
	char             path[256];
} node_added;

static void
node_added_find(const arb_child_info *in, void *arg)
{
	node_added *a = arg;

	if (a->path[0] == '\0' && in->depth > 0 && in->pid.id == a->pid.id) {
		snprintf(a->path, sizeof(a->path), "%s", in->path);
	}
}

static void
node_added_cb(void *arg, int rv, arb_pid pid)
{
	node_added *a = arg;
	// A start relayed to a remote pool: its answer's text (the child's
	// path on that node, or why it failed).
	const char *remote = arb__remote_answer();

	if (a->node->tree.stop_begun) {
		// The node stops: nobody is answered any more (the
		// operator's connection may be gone already).
	} else if (remote != NULL) {
		a->fn(a->arg, rv, remote);
	} else if (rv == ARB_OK) {
		a->pid = pid;
		arb_node_walk(a->node, node_added_find, a);
		a->fn(a->arg, rv, a->path);
	} else if (rv == ARB_ECHILD) {
		a->fn(a->arg, rv, a->node->tree.start_fail);
	} else {
		a->fn(a->arg, rv, arb_strerror(rv));
	}
	arb__free(a);
}

int
arb_node_start_child_then(arb_node *node, const char *sup_path,
    const void *arg, size_t arg_len, arb_node_done_fn fn, void *fnarg)
{
	node_added *a;
	arb_pid     pid;
	int         rv;

	if (node == NULL || sup_path == NULL || fn == NULL) {
		return ARB_EINVAL;
	}
	if ((a = arb__alloc(sizeof(*a))) == NULL) {
		return ARB_ENOMEM;
	}
	memset(a, 0, sizeof(*a));
	a->node = node;
	a->fn   = fn;
	a->arg  = fnarg;
	rv = arb__stree_start_child(
	    &node->tree, sup_path, arg, arg_len, &pid, node_added_cb, a);
	if (rv == ARB_ECHILD) {
		node_added_cb(a, rv, ARB_PID_NONE); // failed at once
		return ARB_OK;
	}
	if (rv != ARB_OK) {
		arb__free(a);
	}
	return rv;
}

// ---------------------------------------------------------------------------
// Introspection and control (tools)
// ---------------------------------------------------------------------------
struct event_base *
arb_node_base(arb_node *node)
{
	return node->base;
}

void
arb_node_set_hooks(arb_node *node, const arb_node_hooks *hooks, void *arg)
{
	if (hooks == NULL) {
		memset(&node->hooks, 0, sizeof(node->hooks)); // clears them
	} else {
		node->hooks = *hooks;
	}
	node->hook_arg = arg;
}

void
arb_node_walk(arb_node *node, arb_walk_cb cb, void *arg)
{
	if (node->tree.root != NULL) {
		arb__sup_walk(node->tree.root, NULL, 0, cb, arg);
	}
}

static int
node_child_op(arb_node *node, const char *path, int op, arb_node_done_fn fn,
    void *arg)
{
	arb__child *c;
	int         rv;

	if (node == NULL || path == NULL) {
		return ARB_EINVAL;
	}
	if (node->tree.stop_begun) {
		return ARB_ESHUTDOWN;
	}
	if ((c = arb__sup_lookup(node->tree.root, path)) == NULL) {
		// Under a remote subtree: it runs on that child's node.
		return arb__sup_remote_at(node->tree.root, path) != NULL
		    ? ARB_ENOTSUP
		    : ARB_ENOENT;
	}
	if (fn == NULL) {
		return arb__sup_child_op(c, op);
	}
	if ((rv = arb__stree_track_begin(&node->tree)) != ARB_OK) {
		return rv;
	}
	rv = arb__sup_child_op(c, op);
	// Not accepted: nothing to wait for, fn is not called.
	arb__stree_track_end(&node->tree, rv == ARB_OK ? fn : NULL, arg);
	return rv;
}

int
arb_node_child_stop(arb_node *node, const char *path)
{
	return node_child_op(node, path, 0, NULL, NULL);
}

int
arb_node_child_start(arb_node *node, const char *path)
{
	return node_child_op(node, path, 1, NULL, NULL);
}

int
arb_node_child_restart(arb_node *node, const char *path)
{
	return node_child_op(node, path, 2, NULL, NULL);
}

int
arb_node_child_start_then(arb_node *node, const char *path, bool restart,
    arb_node_done_fn fn, void *arg)
{
	if (fn == NULL) {
		return ARB_EINVAL;
	}
	return node_child_op(node, path, restart ? 2 : 1, fn, arg);
}

int
arb_node_add_child_then(arb_node *node, const char *sup_path,
    const arb_child_spec *spec, char *errbuf, size_t errlen,
    arb_node_done_fn fn, void *arg)
{
	arb__sup *sup;
	int       rv;

	if (node == NULL || sup_path == NULL || spec == NULL || fn == NULL) {
		return ARB_EINVAL;
	}
	if (errbuf != NULL && errlen > 0) {
		errbuf[0] = '\0';
	}
	if (node->tree.stop_begun || node->tree.root == NULL) {
		return ARB_ESHUTDOWN;
	}
	if ((sup = arb__sup_find(node->tree.root, sup_path)) == NULL) {
		return arb__sup_remote_at(node->tree.root, sup_path) != NULL
		    ? ARB_ENOTSUP
		    : ARB_ENOENT; // it runs on another node
	}
	if ((rv = arb__stree_track_begin(&node->tree)) != ARB_OK) {
		return rv;
	}
	rv = arb__sup_add_child(sup, spec, errbuf, errlen);
	arb__stree_track_end(&node->tree, rv == ARB_OK ? fn : NULL, arg);
	return rv;
}

int
arb_node_delete_child(arb_node *node, const char *path)
{
	arb__child *c;

	if (node == NULL || path == NULL) {
		return ARB_EINVAL;
	}
	if (node->tree.stop_begun || node->tree.root == NULL) {
		return ARB_ESHUTDOWN;
	}
	if ((c = arb__sup_lookup(node->tree.root, path)) == NULL) {
		return arb__sup_remote_at(node->tree.root, path) != NULL
		    ? ARB_ENOTSUP
		    : ARB_ENOENT; // it runs on another node
	}
	return arb__sup_delete_child(c);
}

int
arb_node_send(arb_node *node, const char *path, uint32_t tag,
    const void *body, size_t len)
{
	arb_pid to;
	arb_msg m = { 0 };
	int     rv;

	if (node == NULL || path == NULL || (len > 0 && body == NULL) ||
	    tag >= ARB_TAG_SYSTEM) {
		return ARB_EINVAL; // system tags (DOWN, EXIT) cannot be forged
	}
	if (arb__stree_whereis(&node->tree, path, &to) != 0 ||
	    (!arb__pid_is_name(to) && !arb__reg_alive(node->reg, to))) {
		return ARB_ENOENT; // another node's name: resolved there
	}
	m.from = arb__pid_make(ARB__KIND_NODE, 0, 0);
	m.to   = to;
	m.tag  = tag;
	m.body = body;
	m.len  = len;
	if ((rv = arb__outq_push(node->outq, &m)) == 0) {
		arb__outq_flush(node->outq);
	}
	return rv;
}

int
arb_node_reload(
    arb_node *node, const arb_sup_spec *spec, char *errbuf, size_t errlen)
{
	return arb_node_reload_then(node, spec, errbuf, errlen, NULL, NULL);
}

int
arb_node_reload_then(arb_node *node, const arb_sup_spec *spec,
    char *errbuf, size_t errlen, arb_node_done_fn fn, void *arg)
{
	int rv;

	if (node == NULL || spec == NULL) {
		return ARB_EINVAL;
	}
	if (errbuf != NULL && errlen > 0) {
		errbuf[0] = '\0';
	}
	if ((rv = arb__sup_spec_check(spec, "root", errbuf, errlen)) != 0) {
		return rv; // the running tree is untouched
	}
	if (node->tree.stop_begun || node->tree.root == NULL) {
		return ARB_ESHUTDOWN;
	}
	if (arb__sup_busy(node->tree.root)) {
		if (errbuf != NULL) {
			snprintf(errbuf, errlen,
			    "root: a restart, reload or operator command is "
			    "under way; try again\n");
		}
		return ARB_EAGAIN;
	}
	arb__log(ARB_LOG_INFO, "root", "event=reload");
	if (fn == NULL) {
		return arb__sup_reload(node->tree.root, spec);
	}
	if ((rv = arb__stree_track_begin(&node->tree)) != ARB_OK) {
		return rv;
	}
	rv = arb__sup_reload(node->tree.root, spec);
	arb__stree_track_end(&node->tree, rv == ARB_OK ? fn : NULL, arg);
	return rv;
}

typedef struct live_walk {
	bool  live;
	char *stuck;
	size_t len;
} live_walk;

static void
node_live_cb(const arb_child_info *in, void *arg)
{
	live_walk *w = arg;

	if (in->state == ARB_STATE_RUNNING && !in->live && w->live) {
		w->live = false;
		if (w->stuck != NULL && w->len > 0) {
			snprintf(w->stuck, w->len, "%s", in->path);
		}
	}
}

bool
arb_node_live(arb_node *node, char *stuck, size_t len)
{
	live_walk w = { true, stuck, len };

	arb_node_walk(node, node_live_cb, &w);
	return w.live;
}

bool
arb_node_ready(arb_node *node)
{
	return node->tree_ready && !node->tree.stop_begun;
}

int64_t
arb_node_uptime_ms(arb_node *node)
{
	return node->tree.started_ms > 0
	    ? arb__now_ms() - node->tree.started_ms
	    : 0;
}

uint64_t
arb_node_give_ups(arb_node *node)
{
	return node->tree.give_ups;
}

void
arb_node_set_log_level(arb_node *node, int level)
{
	const char *env = getenv("ARB_LOG_LEVEL");
	bool        bad = false;

	ARB_UNUSED(node);
	if (level == ARB_LOG_DEFAULT) {
		level = ARB_LOG_INFO;
		if (env != NULL && *env != '\0') {
			level = arb__log_level_parse(env);
			bad   = level == 0;
			level = bad ? ARB_LOG_INFO : level;
		}
	}
	arb__log_set_level(level);
	if (bad) {
		// Said, not guessed: "debug" once read as a number meant
		// errors only.
		arb__log(ARB_LOG_WARN, NULL,
		    "event=bad_env name=ARB_LOG_LEVEL value=\"%.40s\" "
		    "reason=\"not error, warn, info, debug or 1-4; "
		    "using info\"",
		    env);
	}
}

typedef struct stats_walk {
	arb_node_stats *st;
	arb__tp_totals *tp;
} stats_walk;

static void
node_stats_cb(const arb_child_info *in, void *arg)
{
	stats_walk     *w  = arg;
	arb_node_stats *st = w->st;

	if (in->isolation == ARB_SUPERVISOR || in->isolation == ARB_EXEC) {
		return;
	}
	if (in->isolation == ARB_PROCESS && in->ospid > 0) {
		(void) arb__slot_rec_tp(in->pid, w->tp); // its links, live
	}
	// Running or not, a child's stats are its current (or last)
	// incarnation's; earlier ones are in the tree's `ended`.
	st->msgs_in += in->stats.msgs_in;
	st->msgs_out += in->stats.msgs_out;
	st->dead_letters += in->stats.dead_letters;
	st->lost += in->stats.lost;
	st->stale += in->stats.stale;
	st->rejected += in->stats.rejected;
	st->send_eagain += in->stats.send_eagain;
}

void
arb_node_stats_get(arb_node *node, arb_node_stats *st)
{
	const arb__stree *tree = &node->tree;
	arb__tp_totals    t    = tree->ended_tp, own;
	arb__origin      *o    = arb__outq_origin(node->outq);
	stats_walk        w    = { st, &t };

	memset(st, 0, sizeof(*st));
	st->msgs_in      = tree->ended.msgs_in;
	st->msgs_out     = tree->ended.msgs_out;
	st->dead_letters = tree->ended.dead_letters + tree->dead_letters;
	st->lost         = tree->ended.lost;
	st->stale        = tree->ended.stale;
	st->rejected     = tree->ended.rejected;
	st->send_eagain  = tree->ended.send_eagain;
	arb_node_walk(node, node_stats_cb, &w);
	// The node's own sends (DOWN, EXIT, arb_node_send) ...
	st->lost += atomic_load(&o->lost);
	st->dead_letters += atomic_load(&o->dead);
	// ... and what its transport dropped for no actor: batches for a
	// mailbox it does not host, left in a link or queue at its close.
	arb__tp_stats_get(&own);
	st->dead_letters += own.dead; // processes' are in their actors'
	t.gaps += own.gaps;
	t.conns += own.conns;
	t.refused += own.refused;
	t.bad_frames += own.bad_frames;
	t.links_lost += own.links_lost;
	t.auth_failed += own.auth_failed;
	t.hb_timeouts += own.hb_timeouts;
	st->link_gaps       = t.gaps;
	st->links_accepted  = t.conns;
	st->links_refused   = t.refused;
	st->link_bad_frames = t.bad_frames;
	st->links_lost      = t.links_lost;
	st->link_auth_failed = t.auth_failed;
	st->link_hb_timeouts = t.hb_timeouts;
	st->link_backoff_refused = own.backoff_refused; // node listener's
	st->link_backoff_evicted = own.backoff_evicted;
	st->link_unproven_refused = arb__peers_unproven_refused();
	st->link_replaced = own.replaced;
	st->link_closed_with_peer = arb__peers_closed_with_peer();
	st->link_adopted = arb__peers_adopted();
	st->link_merged = arb__peers_merged();
	st->link_forged = arb__peers_forged();
	st->peer_watches = node->watches;
	st->peer_watches_refused = node->watch_refused;
	st->log_dropped     = arb__log_dropped();
	arb__remote_stats(node, st);
}
