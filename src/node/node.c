// SPDX-License-Identifier: MIT
// node.c -- a node: one OS process that owns a root supervisor.
//
// The node thread runs one libevent loop with the whole supervision tree.
// Signals arrive as events (evsignal is libevent's self-pipe; nothing runs
// in a signal handler), SIGCHLD and pidfds trigger the reap loop, thread
// actors post to the inbox.  The node owns the registry of names,
// monitors and links (src/registry/), because it sees every exit.
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
// Ids
// ---------------------------------------------------------------------------
uint32_t
arb__node_new_mbid(arb_node *node)
{
	return ++node->next_mbid;
}

arb_pid
arb__node_new_pid(arb_node *node, unsigned kind, uint32_t mbid)
{
	// The slot table says which incarnation holds the slot (exact pids
	// of earlier ones give ARB_ENOENT); arb__node_actor_down clears it.
	arb__slot_run(mbid, ++node->next_inc);
	return arb__pid_make(kind, mbid, node->next_inc);
}

// ---------------------------------------------------------------------------
// Inbox (Thread: any -> node)
// ---------------------------------------------------------------------------
int
arb__node_post(arb_node *node, arb__item *it)
{
	struct timespec dl;
	int             rv = ARB_OK;
	bool            wait = it->kind == ARB__IT_REQ;

	pthread_mutex_lock(&node->mtx);
	it->next = NULL;
	if (node->inbox_tail != NULL) {
		node->inbox_tail->next = it;
	} else {
		node->inbox_head = it;
	}
	node->inbox_tail = it;
	event_active(node->inbox_ev, 0, 0);
	if (wait) {
		// A run-time start waits for READY, bounded by start
		// timeouts (default 5 s); everything else is one loop turn.
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += it->req->op == ARB__REQ_START_CHILD ? 120 : 5;
		while (!it->done) {
			if (pthread_cond_timedwait(&node->cv, &node->mtx, &dl) ==
			    ETIMEDOUT) {
				rv = ARB_ETIMEDOUT;
				break;
			}
		}
		if (it->done) {
			arb__free(it);
		} else {
			it->req = NULL; // the node frees it when it gets there
		}
	}
	pthread_mutex_unlock(&node->mtx);
	return rv;
}

// inbox_answer completes a thread actor's request (maybe deferred).
static void
inbox_answer(void *arg, int rv, arb_pid pid)
{
	arb__item *it   = arg;
	arb_node  *node = it->thr->node;

	pthread_mutex_lock(&node->mtx);
	if (it->req == NULL) { // the asker gave up waiting
		pthread_mutex_unlock(&node->mtx);
		arb__free(it);
		return;
	}
	it->req->rv  = rv;
	it->req->pid = pid;
	it->done     = true;
	pthread_cond_broadcast(&node->cv);
	pthread_mutex_unlock(&node->mtx); // the asker frees it
}

static void
node_inbox_cb(evutil_socket_t fd, short what, void *arg)
{
	arb_node  *node = arg;
	arb__item *it, *next;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	pthread_mutex_lock(&node->mtx);
	it               = node->inbox_head;
	node->inbox_head = node->inbox_tail = NULL;
	pthread_mutex_unlock(&node->mtx);
	for (; it != NULL; it = next) {
		next = it->next;
		if (it->kind == ARB__IT_REQ) {
			pthread_mutex_lock(&node->mtx);
			if (it->req == NULL) { // the asker gave up
				pthread_mutex_unlock(&node->mtx);
				arb__free(it);
				continue;
			}
			pthread_mutex_unlock(&node->mtx);
			// The service runs on the node thread while the asker
			// waits, so reading and writing *it->req is safe here.
			if (!arb__node_service(node, it->req, inbox_answer, it)) {
				inbox_answer(it, it->req->rv, it->req->pid);
			}
			continue;
		}
		arb__thread_inbox(node, it);
	}
}

// ---------------------------------------------------------------------------
// Registry glue: names, monitors and links live in src/registry/; the node
// gives it a way to send DOWN/EXIT messages and each entry a way to reach
// its actor.
// ---------------------------------------------------------------------------
static void
node_reg_notify(void *arg, arb_pid to, uint32_t tag, uint64_t ref,
    arb_pid who, const arb_exit *why)
{
	arb_node *node = arg;
	arb__buf  b    = { 0 };
	arb_msg   m    = { 0 };

	if (arb__codec_encode_exit(&b, who, why) != 0) {
		return;
	}
	m.from = arb__pid_make(ARB__KIND_NODE, 0, 0);
	m.to   = to;
	m.tag  = tag;
	m.ref  = ref;
	m.body = b.data;
	m.len  = b.len;
	arb__outq_push(node->outq, &m);
	arb__buf_fini(&b);
}

static void
node_reg_flush(void *arg)
{
	arb_node *node = arg;

	arb__outq_flush(node->outq);
}

static const arb__reg_io node_reg_io = {
	.notify = node_reg_notify,
	.flush  = node_reg_flush,
};

// node_exit_signal delivers a linked actor's exit signal to child c.
static void
node_exit_signal(void *arg, const arb_exit *why)
{
	arb__child *c = arg;

	if (c->drv->exit_signal != NULL) {
		c->drv->exit_signal(c, why);
	}
}

static const arb__reg_ops node_child_reg_ops = {
	.exit_signal = node_exit_signal,
};

void
arb__node_actor_up(arb_node *node, arb__child *c)
{
	if (c->drv->pid_kind == ARB__KIND_NODE) {
		return; // a nested supervisor is no actor
	}
	if (arb__reg_up(node->reg, c->pid, c->path, &node_child_reg_ops, c) !=
	    0) {
		arb__panic("out of memory registering %s", c->path);
	}
}

void
arb__node_actor_down(arb_node *node, arb__child *c, const arb_exit *why)
{
	arb__slot_run(c->mbid, 0); // no incarnation holds the slot now
	arb__reg_down(node->reg, c->pid, why);
}

void
arb__node_reply_ctl(
    arb_node *node, pid_t ospid, arb_pid requester, arb__req *req)
{
	arb__child *c = arb__idmap_get(&node->by_ospid, (uint64_t) ospid);

	if (c != NULL && arb_pid_eq(c->pid, requester) && c->ctl_fd >= 0) {
		arb__ctl_msg m;

		m.op  = ARB__CTL_REP;
		m.req = *req;
		arb__ctl_send(c->ctl_fd, &m);
	}
}

bool
arb__node_service(
    arb_node *node, arb__req *req, arb__started_fn fn, void *fnarg)
{
	arb__sup *sup;

	req->rv = ARB_OK;
	// Monitors and links bind to one incarnation: a slot address's
	// current one (or none: noproc).
	req->target = arb__reg_current(node->reg, req->target);
	switch (req->op) {
	case ARB__REQ_REGISTER:
		req->rv = arb__reg_register(node->reg, req->name, req->self);
		return false;
	case ARB__REQ_WHEREIS:
		req->rv = arb__reg_whereis(node->reg, req->name, &req->pid);
		return false;
	case ARB__REQ_MONITOR:
		req->rv = arb__reg_monitor(
		    node->reg, req->self, req->target, &req->ref);
		return false;
	case ARB__REQ_DEMONITOR:
		arb__reg_demonitor(node->reg, req->self, req->ref);
		return false; // already fired or unknown: harmless
	case ARB__REQ_LINK:
		req->rv = arb__reg_link(node->reg, req->self, req->target);
		return false;
	case ARB__REQ_UNLINK:
		arb__reg_unlink(node->reg, req->self, req->target);
		return false;
	case ARB__REQ_TRAP_EXIT:
		req->rv = arb__reg_trap_exit(node->reg, req->self, req->flag);
		return false;
	case ARB__REQ_START_CHILD:
		if (node->stop_begun) {
			req->rv = ARB_ESHUTDOWN;
			return false;
		}
		if ((sup = arb__sup_find(node->root, req->name)) == NULL) {
			req->rv = ARB_ENOENT;
			return false;
		}
		req->rv = arb__sup_start_dynamic(
		    sup, req->arg, req->arg_len, &req->pid, fn, fnarg);
		return req->rv == ARB_OK && fn != NULL;
	}
	req->rv = ARB_EINVAL;
	return false;
}

// ---------------------------------------------------------------------------
// Reaping
// ---------------------------------------------------------------------------
void
arb__node_reap(arb_node *node)
{
	pid_t       pid;
	int         st;
	arb__child *c;

	// s6: on SIGCHLD, reap until nothing is left.  Children of the tree
	// are dispatched; anything else is an orphaned grandchild that the
	// subreaper inherited.
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		c = arb__idmap_get(&node->by_ospid, (uint64_t) pid);
		if (c != NULL) {
			c->drv->reaped(c, st);
		} else if (pid == node->standby_pid) {
			arb__proc_standby_end(node, true); // it died idle
		} else {
			node->orphans_reaped++;
			arb__log(ARB_LOG_DEBUG, NULL,
			    "event=reaped_orphan ospid=%d", (int) pid);
		}
	}
}

// ---------------------------------------------------------------------------
// Signals and stop
// ---------------------------------------------------------------------------
static void
node_stop_now(arb_node *node)
{
	int req = atomic_load(&node->stop_requests);

	while (node->stops_handled < req) {
		node->stops_handled++;
		if (!node->stopping) {
			node->stopping = true;
			arb__node_stop_began(node);
			arb__log(ARB_LOG_INFO, NULL,
			    "event=stop_requested action=orderly_stop");
			if (node->root != NULL) {
				arb__sup_stop(node->root);
			}
		} else if (!node->brutal) {
			node->brutal = true;
			arb__log(ARB_LOG_WARN, NULL,
			    "event=stop_requested_again action=brutal_stop");
			if (node->root != NULL) {
				arb__sup_brutal(node->root);
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

arb__mview *
arb__node_mview(arb_node *node)
{
	if (node->mview == NULL) {
		node->mview = arb__alloc(sizeof(*node->mview));
	}
	return node->mview;
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
		arb__node_reap(node);
		break;
	case SIGHUP:
		if (node->stop_begun) {
			arb__log(ARB_LOG_INFO, NULL,
			    "event=sighup action=none (stopping)");
		} else if (node_has_reload(node)) {
			arb__log(ARB_LOG_INFO, NULL, "event=sighup action=reload");
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

void
arb__node_root_exited(arb_node *node, const arb_exit *why)
{
	char reason[200];
	int  alive;

	arb_exit_format(why, reason, sizeof(reason));
	// Every child has been reaped; whatever is still alive below the
	// node (an escaped descendant) is killed and reaped now, each one
	// logged; one that cannot be makes the stop unclean (SPEC 12).
	alive = arb__proc_sweep(node);
	// 70 only when the tree failed on its own (gave up, or its start
	// failed); a stop requested during the start is still a requested
	// stop.
	if (node->gave_up ||
	    (why->kind != ARB_EXIT_SHUTDOWN && !node->stopping) ||
	    (node->root_slot->state == ARB__CS_STARTING && !node->stopping)) {
		node->exit_code = ARB_EXIT_SOFTWARE;
	} else if (node->abandoned > 0 || alive > 0) {
		node->exit_code = ARB_EXIT_UNCLEAN;
	} else {
		node->exit_code = ARB_EXIT_OK;
	}
	arb__log(node->exit_code ? ARB_LOG_ERROR : ARB_LOG_INFO, NULL,
	    "event=node_exit reason=%s exit_code=%d requested=%s abandoned=%d"
	    "%s%s",
	    reason, node->exit_code, node->stopping ? "yes" : "no",
	    node->abandoned, node->brutal ? " stop=brutal" : "",
	    alive > 0 ? " leftovers_alive=yes" : "");
	node->done = true;
	event_base_loopbreak(node->base);
}

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

int
arb_node_open(arb_node **nodep, const arb_node_opts *opts)
{
	arb_node      *node;
	arb_node_opts  o = { 0 };
	const char    *base;
	char           tmpl[160];
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
	snprintf(node->name, sizeof(node->name), "%s", o.name ? o.name : "arbor");
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
	pthread_mutex_init(&node->mtx, NULL);
	node->standby_pidfd = -1;
	node->run_lock      = -1;
	node->standby_ctl   = -1;
	pthread_cond_init(&node->cv, NULL);
	n = readlink("/proc/self/exe", node->self_exe, sizeof(node->self_exe) - 1);
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
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL || access(base, W_OK) != 0) {
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
	node->inbox_ev = event_new(node->base, -1, 0, node_inbox_cb, node);
	node->stop_ev  = event_new(node->base, -1, 0, node_stop_cb, node);
	if (node->inbox_ev == NULL || node->stop_ev == NULL) {
		rv = ARB_ENOMEM;
		goto fail;
	}
	// The node's transport: its link listener, the thread actors'
	// mailboxes and the table of child slots (src/transport/route.c).
	if ((rv = arb__tp_open(&node->addr, arb__pid_make(ARB__KIND_NODE, 0, 0),
	         node->max_msg)) != 0) {
		goto fail;
	}
	if ((rv = arb__outq_open(&node->outq, node->base, node->max_msg)) !=
	    0) {
		goto fail;
	}
	if ((rv = arb__reg_open(&node->reg, &node_reg_io, node)) != 0) {
		goto fail;
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
	arb__proc_foreign_note(node);
	arb__proc_shim_find(node);
	arb__cg_open(node);
	signal(SIGPIPE, SIG_IGN);
	if (node->signals) {
		static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
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

void
arb__node_changed(arb_node *node)
{
	NODE_HOOK(node, changed);
}

void
arb__node_stop_began(arb_node *node)
{
	if (node->stop_begun) {
		return; // e.g. a SIGTERM while the root gives up: one stop
	}
	node->stop_begun = true;
	node->tree_ready = false;
	arb__sup_drivers_idle(node);
	arb__proc_standby_end(node, false);
	NODE_HOOK(node, stopping);
}

void
arb__node_tree_ready(arb_node *node)
{
	if (node->stopping || node->stop_begun) {
		return;
	}
	node->tree_ready = true;
	NODE_HOOK(node, ready);
}

int
arb_node_run(arb_node *node, const arb_sup_spec *spec, int *exit_code)
{
	char errbuf[4096];
	int  rv;

	if (node == NULL || spec == NULL || exit_code == NULL) {
		return ARB_EINVAL;
	}
	if (node->running || node->done) {
		return ARB_ESTATE;
	}
	if ((rv = arb__sup_spec_check(spec, "root", errbuf, sizeof(errbuf))) !=
	    0) {
		char *line, *save = NULL;
		for (line = strtok_r(errbuf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			arb__log(ARB_LOG_ERROR, NULL, "event=bad_spec %s", line);
		}
		*exit_code = ARB_EXIT_CONFIG;
		return ARB_ESPEC;
	}
	if ((node->root_slot = arb__alloc(sizeof(arb__child))) == NULL) {
		return ARB_ENOMEM;
	}
	node->root_slot->state     = ARB__CS_STARTING;
	node->root_slot->pidfd     = -1;
	node->root_slot->ctl_fd    = -1;
	snprintf(node->root_slot->path, sizeof(node->root_slot->path), "root");
	if ((rv = arb__sup_open(&node->root, node, node->root_slot, spec,
	         "root")) != 0) {
		return rv;
	}
	node->running    = true;
	node->started_ms = arb__now_ms();
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
	arb__sup_start(node->root);
	// If a stop was requested before the loop ran, honour it now.
	if (atomic_load(&node->stop_requests) > 0) {
		event_active(node->stop_ev, 0, 0);
	}
	while (!node->done) {
		if (event_base_loop(node->base, EVLOOP_ONCE) < 0) {
			break;
		}
		if (node->root_slot->state == ARB__CS_STARTING &&
		    !node->done) {
			continue;
		}
	}
	// Thread actors report EXIT before tearing down; wait (bounded) for
	// their DONE so nothing posts to a closed node.  Abandoned threads are
	// not waited for.
	// The spare thread and the standby went when the stop began
	// (arb__node_stop_began), which every end of the tree goes through.
	{
		int64_t dl = arb__now_ms() + 5000;
		while (node->threads > node->abandoned && arb__now_ms() < dl) {
			struct timeval tv = { 0, 50000 };
			event_base_loopexit(node->base, &tv);
			event_base_loop(node->base, EVLOOP_ONCE);
		}
	}
	node->running = false;
	arb__node_reap(node);
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
	arb__mview_free(node->mview);
	node->mview = NULL;
	if (node->root != NULL) {
		arb__sup_free(node->root);
		node->root = NULL;
	}
	arb__free(node->root_slot);
	arb__reg_close(node->reg);
	node->reg = NULL;
	arb__outq_close(node->outq);
	if (node->abandoned > 0) {
		// Abandoned threads may still post to the inbox: keep the loop
		// and the node (the process is about to exit anyway).
		the_node = NULL;
		return;
	}
	arb__tp_close();
	for (i = 0; i < 4; i++) {
		if (node->sig_ev[i] != NULL) {
			event_free(node->sig_ev[i]);
		}
	}
	if (node->inbox_ev != NULL) {
		event_free(node->inbox_ev);
	}
	if (node->stop_ev != NULL) {
		event_free(node->stop_ev);
	}
	if (node->tick_ev != NULL) {
		event_free(node->tick_ev);
	}
	arb__loop_free(node->base);
	arb__idmap_fini(&node->by_ospid);
	arb__idmap_fini(&node->slots);
	arb__cg_close(node);
	free(node->foreign);
	if (node->own_run_dir) {
		nftw(node->addr.run_dir, node_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	}
	if (node->run_lock >= 0) {
		close(node->run_lock); // (after the removal: never a gap)
	}
	pthread_mutex_destroy(&node->mtx);
	pthread_cond_destroy(&node->cv);
	arb__free(node);
	the_node = NULL;
}

int
arb_node_start_child(arb_node *node, const char *sup_path, const void *arg,
    size_t arg_len, arb_pid *pidp)
{
	arb__sup *sup;

	if (node == NULL || sup_path == NULL || pidp == NULL) {
		return ARB_EINVAL;
	}
	if (node->stop_begun) {
		return ARB_ESHUTDOWN;
	}
	if ((sup = arb__sup_find(node->root, sup_path)) == NULL) {
		return ARB_ENOENT;
	}
	return arb__sup_start_dynamic(sup, arg, arg_len, pidp, NULL, NULL);
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
	if (node->root != NULL) {
		arb__sup_walk(node->root, NULL, 0, cb, arg);
	}
}

static int
node_child_op(arb_node *node, const char *path, int op)
{
	arb__child *c;

	if (node == NULL || path == NULL) {
		return ARB_EINVAL;
	}
	if (node->stop_begun) {
		return ARB_ESHUTDOWN;
	}
	if ((c = arb__sup_lookup(node->root, path)) == NULL) {
		return ARB_ENOENT;
	}
	return arb__sup_child_op(c, op);
}

int
arb_node_child_stop(arb_node *node, const char *path)
{
	return node_child_op(node, path, 0);
}

int
arb_node_child_start(arb_node *node, const char *path)
{
	return node_child_op(node, path, 1);
}

int
arb_node_child_restart(arb_node *node, const char *path)
{
	return node_child_op(node, path, 2);
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
	if (arb__reg_whereis(node->reg, path, &to) != 0 ||
	    !arb__reg_alive(node->reg, to)) {
		return ARB_ENOENT;
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
	if (node->stop_begun || node->root == NULL) {
		return ARB_ESHUTDOWN;
	}
	if (arb__sup_busy(node->root)) {
		if (errbuf != NULL) {
			snprintf(errbuf, errlen,
			    "root: a restart, reload or operator command is "
			    "under way; try again\n");
		}
		return ARB_EAGAIN;
	}
	arb__log(ARB_LOG_INFO, "root", "event=reload");
	return arb__sup_reload(node->root, spec);
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
	return node->tree_ready && !node->stop_begun;
}

int64_t
arb_node_uptime_ms(arb_node *node)
{
	return node->started_ms > 0 ? arb__now_ms() - node->started_ms : 0;
}

uint64_t
arb_node_give_ups(arb_node *node)
{
	return node->give_ups;
}

void
arb_node_set_log_level(arb_node *node, int level)
{
	ARB_UNUSED(node);
	if (level == ARB_LOG_DEFAULT) {
		level = getenv("ARB_LOG_LEVEL") != NULL
		    ? atoi(getenv("ARB_LOG_LEVEL"))
		    : ARB_LOG_INFO;
	}
	arb__log_set_level(level);
}

void
arb__node_count_ended(arb_node *node, const arb_stats *st)
{
	arb_stats *e = &node->ended;

	e->msgs_in += st->msgs_in;
	e->msgs_out += st->msgs_out;
	e->batches_in += st->batches_in;
	e->batches_out += st->batches_out;
	e->rejected += st->rejected;
	e->late_replies += st->late_replies;
	e->dead_letters += st->dead_letters;
	e->send_eagain += st->send_eagain;
	e->stale += st->stale;
	e->lost += st->lost;
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
	// incarnation's; earlier ones are in node->ended.
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
	arb__tp_totals t = node->ended_tp, own;
	arb__origin   *o = arb__outq_origin(node->outq);
	stats_walk     w = { st, &t };

	memset(st, 0, sizeof(*st));
	st->msgs_in      = node->ended.msgs_in;
	st->msgs_out     = node->ended.msgs_out;
	st->dead_letters = node->ended.dead_letters + node->dead_letters;
	st->lost         = node->ended.lost;
	st->stale        = node->ended.stale;
	st->rejected     = node->ended.rejected;
	st->send_eagain  = node->ended.send_eagain;
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
	st->link_gaps       = t.gaps;
	st->links_accepted  = t.conns;
	st->links_refused   = t.refused;
	st->link_bad_frames = t.bad_frames;
	st->links_lost      = t.links_lost;
}
