// SPDX-License-Identifier: MIT
// reload.c -- applying a changed tree file to a running node (SIGHUP,
// and `arborctl reload` through the control socket): SPEC 25.  A node
// served without a tree file reloads through the program's callback.
//
// The file is read and checked exactly as `arbor check` does, on a
// thread of its own: reading a file (a slow disk, a pipe) and checking it
// (plugins and actor modules loaded, every type's check hook) take their
// time, and the node's loop must keep serving its tree, its probes and
// the systemd watchdog meanwhile.  The thread hands its result to the
// loop (an event made active), which applies it: an invalid file is
// rejected and the running tree stays as it is; a valid one is handed to
// arb_node_reload, which touches only the children that were added,
// removed or changed.  The new configuration is released once the
// library has copied the spec: services keep reading the configuration
// the node started with.  At most one read runs at a time; requests that
// come while it runs are served together by the next read, which starts
// when it ends (the file may have changed after the read began).
// Thread: node, except reload_thread.

#include "plugin.h"
#include "serve.h"

#include "../core/arb_impl.h"

#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RELOAD_ERRBUF (64 * 1024)

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL)
	    || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

// same_peers is true when a and b list the same peers in the same order.
static bool
same_peers(const arb_tree *a, const arb_tree *b)
{
	size_t i;

	if (a->npeers != b->npeers) {
		return false;
	}
	for (i = 0; i < a->npeers; i++) {
		if (!same_str(a->peers[i].name, b->peers[i].name)
		    || !same_str(a->peers[i].url, b->peers[i].url)) {
			return false;
		}
	}
	return true;
}

// node_changes lists the node.* settings that differ and need a restart.
static void
node_changes(
    const arb_tree *a, const arb_tree *b, char *buf, size_t len)
{
	size_t used = 0;
	int    n;

	buf[0] = '\0';
#define CHANGED(cond, name)                                                   \
	if ((cond) && used < len) {                                           \
		n = snprintf(                                                 \
		    buf + used, len - used, "%s%s", used ? "," : "", name);   \
		used += n > 0 ? (size_t) n : 0;                               \
	}
	CHANGED(!same_str(a->name, b->name), "node.name")
	CHANGED(!same_str(a->control, b->control), "node.control")
	CHANGED(!same_str(a->http_host, b->http_host)
	        || a->http_port != b->http_port,
	    "node.http")
	CHANGED(a->max_msg_size != b->max_msg_size, "node.max_msg_size")
	CHANGED(!same_str(a->run_dir, b->run_dir), "node.run_dir")
	CHANGED(a->log_time != b->log_time, "node.log_time")
	CHANGED(!same_str(a->listen, b->listen), "node.listen")
	CHANGED(!same_peers(a, b), "node.peers")
	CHANGED(!same_str(a->cookie, b->cookie), "node.cookie")
	CHANGED(a->insecure != b->insecure, "node.insecure")
	CHANGED(!same_str(a->tls_cert, b->tls_cert)
	        || !same_str(a->tls_key, b->tls_key)
	        || !same_str(a->tls_ca, b->tls_ca),
	    "node.tls")
	CHANGED(a->heartbeat_ms != b->heartbeat_ms
	        || a->heartbeat_misses != b->heartbeat_misses,
	    "node.heartbeat")
	CHANGED(a->no_standby != b->no_standby, "node.standby")
	CHANGED(a->watch_max != b->watch_max, "node.watch_max")
	CHANGED(a->max_unproven != b->max_unproven, "node.max_unproven")
#undef CHANGED
}

// new_plugin returns the first plugin of b that a did not load.
static const char *
new_plugin(const arb_tree *a, const arb_tree *b)
{
	size_t i, j;

	for (i = 0; i < b->nplugins; i++) {
		for (j = 0; j < a->nplugins; j++) {
			if (strcmp(a->plugins[j], b->plugins[i]) == 0) {
				break;
			}
		}
		if (j == a->nplugins) {
			return b->plugins[i];
		}
	}
	return NULL;
}

// serve_reload_cb reloads through the program's own reload callback (a
// node served without a tree file).
static int
serve_reload_cb(arb__serve *run, arb__errs *errs)
{
	char buf[1024];
	int  rv;

	if (run->reload == NULL) {
		arb__errs_add(errs, 0, 0,
		    "this node has no tree file and no reload callback: "
		    "nothing to reload");
		return ARB_ENOTSUP;
	}
	buf[0] = '\0';
	if ((rv = run->reload(run->node, run->reload_arg, buf, sizeof(buf)))
	    == ARB_OK) {
		run->reloads++;
	} else {
		arb__errs_add(
		    errs, 0, 0, buf[0] != '\0' ? buf : arb_strerror(rv));
	}
	return rv;
}

// --- Applying (node thread) -------------------------------------------------

// reload_apply applies a loaded tree (taking it), or keeps the running
// tree; every problem goes to errs.
static int
reload_apply(arb__serve *run, arb_tree *cfg, arb__errs *errs,
    arb_node_done_fn fn, void *arg)
{
	char       *buf, *line, *save = NULL;
	const char *p;
	int         rv;

	if ((p = new_plugin(run->cfg, cfg)) != NULL) {
		// Process actors learn plugins from the environment, which
		// can't be changed safely while actor threads run.
		buf = arb__xalloc(1024);
		snprintf(buf, 1024,
		    "%s: plugins: %s is new; plugins are loaded at start only "
		    "(restart the node)",
		    run->file, p);
		arb__errs_add(errs, 0, 0, buf);
		free(buf);
		arb__tree_free(cfg);
		return ARB_ESPEC;
	}
	buf = arb__xalloc(RELOAD_ERRBUF);
	node_changes(run->cfg, cfg, buf, 512);
	snprintf(run->reload_ignored, sizeof(run->reload_ignored), "%s", buf);
	if (buf[0] != '\0') {
		arb_log(NULL, ARB_LOG_WARN, "reload_ignored",
		    "fields=%s reason=\"read at start only; restart the "
		    "node\"",
		    buf);
	}
	if (cfg->log_level != run->cfg->log_level) {
		arb_node_set_log_level(run->node,
		    cfg->log_level != ARB_LOG_DEFAULT ? cfg->log_level
		                                      : ARB_LOG_INFO);
	}
	// Counted first: fn may answer (with the count) before the call
	// returns.
	run->reloads++;
	rv = arb_node_reload_then(
	    run->node, cfg->root, buf, RELOAD_ERRBUF, fn, arg);
	if (rv != ARB_OK) {
		run->reloads--;
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			arb__errs_add(errs, 0, 0, line);
		}
	}
	free(buf);
	arb__tree_free(cfg); // the library copied the spec
	return rv;
}

// reload_log logs the outcome: one line per problem, then
// event=reload_applied or event=reload_rejected.
static void
reload_log(arb__serve *run, int rv, const arb__errs *errs, const char *by)
{
	size_t i;

	for (i = 0; i < errs->n; i++) {
		arb_log(NULL, ARB_LOG_ERROR, "reload_error", "%s",
		    errs->v[i].text);
	}
	if (rv == ARB_OK || rv == ARB_ECHILD) {
		arb_log(NULL, rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_ERROR,
		    "reload_applied", "file=%s reloads=%u by=%s%s",
		    run->file != NULL ? run->file : "-", run->reloads, by,
		    rv == ARB_OK ? "" : " start_failed=yes");
	} else {
		arb_log(NULL, ARB_LOG_ERROR, "reload_rejected",
		    "file=%s problems=%zu error=%s action=keep_tree by=%s",
		    run->file != NULL ? run->file : "-", errs->n + errs->more,
		    arb_err_name(rv), by);
	}
}

// --- The read, on a thread of its own ---------------------------------------

// Who waits for one read: SIGHUP (logged only) and at most one control
// request: one more reload asked for while the next read already has
// one is answered ARB_EAGAIN at once.
typedef struct reload_waiters {
	bool             sighup;
	arb__reload_done done;
	void            *arg;
	bool             control;
} reload_waiters;

struct arb__reload {
	arb__serve    *run;
	struct event  *ev;        // made active by the thread when it is done
	int            cancel[2]; // a pipe: written to stop a read
	pthread_t      thr;
	bool           busy; // the thread runs (or has not been joined)
	reload_waiters cur;  // waiting for the read under way
	reload_waiters next; // waiting for the next read
	// Applied, the children it started not all READY yet: who waits,
	// and what to tell them (reload_started_all).
	bool           applying;
	reload_waiters applied;
	arb__errs      applied_errs;
	// The thread's result, read on the node thread after the join.
	arb_tree *cfg;
	arb__errs errs;
	int       rv;
};

static void *
reload_thread(void *arg)
{
	struct arb__reload *r = arg;

	r->rv = arb__tree_load(r->run->file, r->cancel[0], &r->cfg, &r->errs);
	event_active(r->ev, EV_READ, 0); // the node base is thread-safe
	return NULL;
}

static void
reload_by(const reload_waiters *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", w->sighup ? "sighup" : "",
	    w->sighup && w->control ? "," : "", w->control ? "control" : "");
}

static void reload_begin(struct arb__reload *r);

// reload_finish logs the outcome, answers, then starts the next read if
// requests wait for one.
static void
reload_finish(struct arb__reload *r, const reload_waiters *w, int rv,
    arb__errs *errs)
{
	char by[32];

	reload_by(w, by, sizeof(by));
	reload_log(r->run, rv, errs, by);
	if (w->done != NULL) {
		w->done(rv, errs, w->arg);
	}
	arb__errs_fini(errs);
	if (r->next.sighup || r->next.control) {
		r->cur = r->next;
		memset(&r->next, 0, sizeof(r->next));
		reload_begin(r);
	}
}

// reload_started_all receives the outcome of the starts an applied reload
// made: a child that failed to start was left out (or stopped), and the
// reload says so to whoever asked.
static void
reload_started_all(void *arg, int rv, const char *why)
{
	struct arb__reload *r = arg;
	reload_waiters      w = r->applied;
	arb__errs           errs = r->applied_errs;
	char                text[512];

	r->applying = false;
	memset(&r->applied, 0, sizeof(r->applied));
	memset(&r->applied_errs, 0, sizeof(r->applied_errs));
	if (rv == ARB_ECHILD) {
		snprintf(text, sizeof(text),
		    "%s (a child added by the reload is left out, a changed "
		    "one stopped; the rest was applied)",
		    why);
		arb__errs_add(&errs, 0, 0, text);
	} else if (rv != ARB_OK) {
		arb__errs_add(&errs, 0, 0, why);
	}
	reload_finish(r, &w, rv, &errs);
}

// reload_done runs on the node thread once the read ended: apply, then
// log and answer once the children it started are up (or failed).
static void
reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct arb__reload *r = arg;
	reload_waiters      w = r->cur;
	arb__errs           errs;
	int                 rv;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	if (!r->busy) {
		return;
	}
	pthread_join(r->thr, NULL);
	r->busy = false;
	memset(&r->cur, 0, sizeof(r->cur));
	errs = r->errs;
	rv = r->rv;
	memset(&r->errs, 0, sizeof(r->errs));
	if (rv == ARB_OK) {
		// Taken before the apply: when it is answered at once,
		// reload_finish may start the next read, whose thread writes
		// r->cfg.
		arb_tree *cfg = r->cfg;

		r->cfg          = NULL;
		r->applying     = true;
		r->applied      = w;
		r->applied_errs = errs;
		rv = reload_apply(r->run, cfg, &r->applied_errs,
		    reload_started_all, r);
		if (rv == ARB_OK) {
			return; // reload_started_all answers (perhaps did)
		}
		r->applying = false;
		errs = r->applied_errs;
		memset(&r->applied_errs, 0, sizeof(r->applied_errs));
		memset(&r->applied, 0, sizeof(r->applied));
	}
	reload_finish(r, &w, rv, &errs);
}

// reload_begin starts the read for the waiters in r->cur.
static void
reload_begin(struct arb__reload *r)
{
	arb__errs errs = { 0 };
	char      by[32];
	int       e;

	r->cfg = NULL;
	memset(&r->errs, 0, sizeof(r->errs));
	r->busy = true;
	reload_by(&r->cur, by, sizeof(by));
	arb_log(NULL, ARB_LOG_INFO, "reload_started", "file=%s by=%s",
	    r->run->file, by);
	if ((e = pthread_create(&r->thr, NULL, reload_thread, r)) != 0) {
		// No thread: nothing was read, nothing changes.
		r->busy = false;
		arb__errs_add(&errs, 0, 0,
		    "cannot start the thread that reads "
		    "the file");
		reload_log(r->run, ARB_EAGAIN, &errs, by);
		if (r->cur.done != NULL) {
			r->cur.done(ARB_EAGAIN, &errs, r->cur.arg);
		}
		arb__errs_fini(&errs);
		memset(&r->cur, 0, sizeof(r->cur));
	}
}

static struct arb__reload *
reload_state(arb__serve *run)
{
	struct arb__reload *r = run->reloader;

	if (r != NULL) {
		return r;
	}
	r = arb__xalloc(sizeof(*r));
	r->run = run;
	r->ev = event_new(arb_node_base(run->node), -1, 0, reload_done, r);
	if (r->ev == NULL || pipe2(r->cancel, O_CLOEXEC | O_NONBLOCK) != 0) {
		arb__oom();
	}
	run->reloader = r;
	return r;
}

void
arb__serve_reload_request(
    arb__serve *run, const char *by, arb__reload_done done, void *arg)
{
	struct arb__reload *r;
	reload_waiters     *w;
	arb__errs           errs = { 0 };
	int                 rv;

	if (run->file == NULL) {
		// The program's own callback, on this thread, at once.
		rv = serve_reload_cb(run, &errs);
		reload_log(run, rv, &errs, by);
		if (done != NULL) {
			done(rv, &errs, arg);
		}
		arb__errs_fini(&errs);
		return;
	}
	r = reload_state(run);
	w = r->busy || r->applying ? &r->next : &r->cur;
	if (strcmp(by, "sighup") == 0) {
		w->sighup = true;
	} else {
		if (w->control && w->done != NULL) {
			// Two clients asked while a read runs: answered
			// rather than lost.
			arb__errs_add(&errs, 0, 0, "another reload waits");
			done(ARB_EAGAIN, &errs, arg);
			arb__errs_fini(&errs);
			return;
		}
		w->control = true;
		w->done = done;
		w->arg = arg;
		if (w == &r->next) {
			arb_log(NULL, ARB_LOG_INFO, "reload_waits",
			    "by=%s (served by the read after the one under "
			    "way)",
			    by);
		}
	}
	if (!r->busy && !r->applying) {
		reload_begin(r);
	}
}

void
arb__serve_reload_stop(arb__serve *run)
{
	struct arb__reload *r = run->reloader;
	char                c = 'x';

	if (r == NULL) {
		return;
	}
	if (r->busy) {
		// The read ends at once; what follows it is bounded (the
		// file is at most DOC_FILE_MAX bytes).
		(void) write(r->cancel[1], &c, 1);
		pthread_join(r->thr, NULL);
		arb__tree_free(r->cfg);
		arb__errs_fini(&r->errs);
	}
	// An applied reload whose starts are still awaited is never
	// answered: the node stops (the tree calls nobody back any more).
	arb__errs_fini(&r->applied_errs);
	event_free(r->ev);
	close(r->cancel[0]);
	close(r->cancel[1]);
	free(r);
	run->reloader = NULL;
}

// --- A child spec given on its own (arborctl start-child) -----------------

int
arb__serve_spec_load(const char *near, const char *dir,
    const char *spec, size_t len, arb_tree **cfgp, char *why,
    size_t whylen)
{
	arb__errs   errs = { 0 };
	arb__buf    doc  = { 0 };
	char        file[PATH_MAX];
	const char *p = spec, *end = spec + len, *nl;
	size_t      i, off = 0;
	FILE       *f;
	int         fd, rv;

	*cfgp = NULL;
	why[0] = '\0';
	// "root:\n  children:\n" then the text, each line indented by
	// four ("  - " before the first): LINE - 2, COLUMN - 4 in the text.
	rv = arb__buf_append(&doc, "root:\n  children:\n", 18);
	for (i = 0; p < end && rv == ARB_OK; i++) {
		nl = memchr(p, '\n', (size_t) (end - p));
		nl = nl != NULL ? nl + 1 : end;
		rv |= arb__buf_append(&doc, i == 0 ? "  - " : "    ", 4);
		rv |= arb__buf_append(&doc, p, (size_t) (nl - p));
		p = nl;
	}
	rv |= arb__buf_append(&doc, "\n", 1);
	snprintf(file, sizeof(file), "%s.spec-XXXXXX", near);
	if (rv != ARB_OK || (fd = mkstemp(file)) < 0) {
		arb__buf_fini(&doc);
		snprintf(why, whylen, "cannot keep it in a file next to %s",
		    near);
		return ARB_ENOSPC;
	}
	f = fdopen(fd, "w");
	if (f == NULL || fwrite(doc.data, 1, doc.len, f) != doc.len) {
		rv = ARB_ENOSPC;
	}
	if (f != NULL) {
		fclose(f);
	} else {
		close(fd);
	}
	arb__buf_fini(&doc);
	if (rv == ARB_OK) {
		rv = arb__tree_load_in(
		    file, dir != NULL ? dir : ".", -1, cfgp, &errs);
	}
	unlink(file);
	if (rv == ARB_OK && (*cfgp)->root->nchildren != 1) {
		arb__tree_free(*cfgp);
		*cfgp = NULL;
		rv    = ARB_ESPEC;
		arb__errs_add(&errs, 0, 0, ": expected one child spec");
	}
	// Each problem as "spec:LINE:COLUMN: field: ..." of the text given.
	for (i = 0; rv != ARB_OK && i < errs.n && off + 1 < whylen; i++) {
		const arb__err *e    = &errs.v[i];
		size_t          flen = strlen(file);
		const char     *rest = e->text;
		int             skip = 0;

		if (strncmp(rest, file, flen) == 0) {
			rest += flen;
			if (sscanf(rest, ":%*d:%*d%n", &skip) >= 0
			    && skip > 0) {
				rest += skip;
			}
		}
		if (e->line > 2) {
			off += (size_t) snprintf(why + off, whylen - off,
			    "%sspec:%d:%d%s", i ? "; " : "", e->line - 2,
			    e->col > 4 ? e->col - 4 : 1, rest);
		} else {
			off += (size_t) snprintf(why + off, whylen - off,
			    "%sspec%s", i ? "; " : "", rest);
		}
	}
	if (rv != ARB_OK && why[0] == '\0') {
		snprintf(why, whylen, "%s", arb_strerror(rv));
	}
	arb__errs_fini(&errs);
	return rv;
}
