// SPDX-License-Identifier: MIT
// remote_agent.c -- the node's agent: the children that other nodes'
// supervisors run on this node (docs/multinode.md "The agent",
// docs/supervision.md "Remote children").  It takes their START, STOP,
// START_CHILD, ACK and KEEP and the DOWN of what it monitors (remote.c's
// dispatch hands them over), and answers READY / FAIL / EXIT, CHILD and
// CLAIM; a report is kept, and sent again, until its node acknowledges
// it.  Our own children on other nodes are the driver's
// (remote_driver.c).
//
// The agent starts a child as a temporary child of its own supervisor,
// root/~agent (pinned at the head of the root: it is up before the root
// starts its other children, takes no part in the root's jobs, and a
// reload keeps it), named rc-HASH-NAME (HASH: of the supervisor's node
// and the child's path),
// monitors it, and reports its exit with the real reason.  Every START
// carries its fence: the supervisor's node and incarnation (the sender's
// pid) and the child's path and generation (the incarnation number of the
// supervisor's child record).  The agent refuses a START whose fence is
// older than the one it runs (same incarnation, not a newer generation;
// or not the incarnation the link to that node has now) and stops a child
// whose fence a newer START supersedes before it starts the new one, so
// one supervisor's child never runs twice on the agent's node.  When the
// supervisor's node is lost, its children here are orphans: the agent
// stops each after the orphan grace (node.orphan_grace) unless a newer
// START took it over first.
//
// Thread: node (everything here runs on the node loop).

#include "remote_int.h"

#include "../transport/transport.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define AGENT_RETRY_MS 20       // its supervisor busy: the agent's next try
#define HOST_NAME      "~agent" // not a name a tree file can use
#define REPORTS_MAX    256 // reports kept for one supervisor's node

// What the agent runs for one supervisor's child.
typedef enum rc_state {
	RC_QUEUED,   // waiting for its turn to start
	RC_STARTING, // added to the root, READY awaited
	RC_RUNNING,  // monitored
	RC_STOPPING, // stop asked, its DOWN awaited
} rc_state;

typedef struct rc {
	struct rc   *next;
	uint32_t     sup_node;  // fence: the supervisor's node ...
	uint32_t     creation;  // ... its incarnation
	char         key[256];  // ... the child's path there
	uint32_t     gen;       // ... and its generation
	arb_pid      sup_agent; // where reports go
	char         sup_name[64];
	char         lname[64]; // the local child's name and path
	char         lpath[80];
	rc_state     state;
	arb_pid      pid;       // the local incarnation (RUNNING, STOPPING)
	uint64_t     ref;       // its monitor
	bool         superseded; // a newer fence waits (next) for its end
	arb_child_spec spec;    // RC_QUEUED: what to start (owned)
	struct event *orphan_ev; // armed while the supervisor's node is lost
	uint32_t       claim;     // which orphan grace (a KEEP names it)
	struct rc   *after;     // the START that supersedes this one
	bool         orphaned;  // stopped by the orphan grace
} rc;

// A report (READY / FAIL / EXIT) for a supervisor, kept until that
// supervisor's node acknowledges it (TAG_ACK): sent at once when the link
// to its node is up, again every RESEND_MS and at the node's UP.  A report
// to an incarnation the node no longer has is dropped (stale).
typedef struct rpt {
	struct rpt *next;
	arb_pid     to;      // the supervisor node's agent (its creation)
	uint32_t    tag;
	uint32_t    gen;
	char        key[256];
	bool        has_why;
	arb_exit    why;
	int64_t     sent_ms; // last sent (0: never)
} rpt;

// The record of a child that ended, whose delete found the agent's
// supervisor busy (another child's stop or start: ARB_EAGAIN): deleted
// at the agent's next try (agent_retry_cb), so an ended child leaves the
// tree (OTP: a temporary child's end removes it) even when several end
// at once, as orphans do after their grace.
typedef struct del {
	struct del *next;
	char        lpath[80];
} del;

static struct {
	arb_node      *node;
	arb__child    *host;   // root/~agent (arb__remote_host), or NULL
	void          *adding; // the rc local_add is adding (arb__agent_pump)
	rc            *rcs;
	struct event  *retry_ev;
	int            orphan_grace_ms;
	rpt           *rpts;      // oldest first
	del           *dels;      // records left to delete (local_delete)
	struct {
		uint64_t orphans_stopped, fenced;
		uint64_t reports_resent, reports_stale, reports_dropped;
		uint64_t orphans_reclaimed;
	} st;
} A;

// The agent's operations on its own tree (the supervisor layer's, as the
// node's operator commands do them: this file is beside node.c, not above
// it).
static arb__child *
local_child(const char *lpath)
{
	arb__stree *t = &A.node->tree;

	return t->stop_begun || t->root == NULL
	    ? NULL
	    : arb__sup_lookup(t->root, lpath);
}

static void
local_stop(const char *lpath)
{
	arb__child *c = local_child(lpath);

	if (c != NULL) {
		arb__sup_child_op(c, 0);
	}
}

// local_delete takes the ended child's record at lpath out of the
// agent's supervisor; while that supervisor is busy the delete is kept
// for the agent's next try (dels_retry).
static void
local_delete(const char *lpath)
{
	arb__child    *c = local_child(lpath);
	del           *d;
	struct timeval tv = { 0, AGENT_RETRY_MS * 1000 };

	if (c == NULL || arb__sup_delete_child(c) != ARB_EAGAIN) {
		return;
	}
	for (d = A.dels; d != NULL && strcmp(d->lpath, lpath) != 0;
	     d = d->next) { }
	if (d != NULL) {
		return; // kept already
	}
	if ((d = arb__alloc(sizeof(*d))) == NULL) {
		// Left as before: a later add of that name deletes it first
		// (local_add).
		arb__log(ARB_LOG_WARN, lpath,
		    "event=agent_delete_later result=ARB_ENOMEM");
		return;
	}
	snprintf(d->lpath, sizeof(d->lpath), "%s", lpath);
	d->next = A.dels;
	A.dels = d;
	evtimer_add(A.retry_ev, &tv);
}

// dels_retry tries the kept deletes again: done (or no longer needed: the
// record is gone, runs again, or belongs to a newer run of that child,
// which local_add takes care of) or kept for the next try.  True when
// some are kept.
static bool
dels_retry(void)
{
	del       **pp = &A.dels, *d;
	arb__child *c;
	const rc   *x;

	while ((d = *pp) != NULL) {
		for (x = A.rcs; x != NULL && strcmp(x->lpath, d->lpath) != 0;
		     x = x->next) { }
		if (x == NULL && (c = local_child(d->lpath)) != NULL
		    && arb__sup_delete_child(c) == ARB_EAGAIN) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		arb__free(d);
	}
	return A.dels != NULL;
}

static void agent_started(void *arg, int rv, const char *why);

// local_add adds x's child to the agent's supervisor (root/~agent; the
// root on a node without one) and starts it; agent_started gets the
// outcome (when ARB_OK is returned).  ARB_EAGAIN: that supervisor is not
// up yet, or busy with another operation.
static int
local_add(void *x, const arb_child_spec *spec, char *err, size_t len)
{
	arb__stree *t = &A.node->tree;
	arb__sup   *sup;
	int         rv;

	if (t->stop_begun || t->root == NULL) {
		return ARB_ESHUTDOWN;
	}
	sup = A.host != NULL ? A.host->child_sup : t->root;
	if (sup == NULL) {
		return ARB_EAGAIN; // root/~agent has not started yet
	}
	{
		// The record of an earlier run of this child, left because its
		// delete came while the supervisor was busy
		// (arb__sup_delete_child answers ARB_EAGAIN then): it would
		// take the name.  Deleted first, then this add is tried again.
		const rc   *me = x;
		arb__child *old = arb__sup_lookup(t->root, me->lpath);

		if (old != NULL) {
			rv = old->state == ARB__CS_STOPPED
			    ? arb__sup_delete_child(old)
			    : ARB_EAGAIN;
			return rv == ARB_OK || rv == ARB_ESTATE ? ARB_EAGAIN
			                                        : rv;
		}
	}
	if ((rv = arb__stree_track_begin(t)) != ARB_OK) {
		return rv;
	}
	rv = arb__sup_add_child(sup, spec, err, len);
	arb__stree_track_end(t, rv == ARB_OK ? agent_started : NULL, x);
	return rv;
}
static uint32_t peer_creation(uint32_t node_id, char *name, size_t len);

static void
rc_free(rc *x)
{
	if (A.adding == x) {
		A.adding = NULL;
	}
	if (x->orphan_ev != NULL) {
		event_free(x->orphan_ev);
	}
	arb__child_spec_fini(&x->spec);
	arb__free(x);
}

static void
rc_unlink(rc *x)
{
	rc **pp;

	for (pp = &A.rcs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			return;
		}
	}
}

static int
report_send(arb_node *node, rpt *r)
{
	arb__buf b = { 0 };
	int      rv;

	rv = arb__mp_put_array(&b, r->has_why ? 5 : 2)
	    | arb__mp_put_str(&b, r->key, strlen(r->key))
	    | arb__mp_put_uint(&b, r->gen);
	if (r->has_why) {
		rv |= arb__remote_put_exit(&b, &r->why);
	}
	if (rv == 0
	    && (rv = arb__remote_send(node, r->to, r->tag, &b)) == ARB_OK) {
		if (r->sent_ms != 0) {
			A.st.reports_resent++;
		}
		r->sent_ms = arb__now_ms();
	}
	arb__buf_fini(&b);
	return rv;
}

static void
report_unlink(rpt *r)
{
	rpt **pp;

	for (pp = &A.rpts; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

// report_add keeps a report for to until it is acknowledged, and sends
// it now if the link to its node is up.  The same report twice is kept
// once; a report of a newer generation of the same child makes the older
// ones of that child stale (the supervisor no longer wants them: it sent
// the newer START); beyond REPORTS_MAX for one node the oldest goes,
// counted and logged.
static void
report_add(arb_pid to, const char *key, uint32_t gen, uint32_t tag,
    const arb_exit *why)
{
	rpt  *r, *next, *oldest = NULL, **tail = &A.rpts;
	size_t n = 0;

	for (r = A.rpts; r != NULL; r = next) {
		next = r->next;
		if (r->to.node != to.node || strcmp(r->key, key) != 0) {
			if (r->to.node == to.node) {
				n++;
				oldest = oldest != NULL ? oldest : r;
			}
			continue;
		}
		if (r->tag == tag && r->gen == gen
		    && r->to.creation == to.creation) {
			report_send(A.node, r); // already kept: again now
			return;
		}
		if (r->gen < gen || r->to.creation != to.creation) {
			report_unlink(r);
			arb__free(r);
			A.st.reports_stale++;
			continue;
		}
		n++;
		oldest = oldest != NULL ? oldest : r;
	}
	if (n >= REPORTS_MAX && oldest != NULL) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_report_dropped sup_node=%08x child=%s "
		    "generation=%u reason=\"more than %d reports waiting\"",
		    (unsigned) to.node, oldest->key, (unsigned) oldest->gen,
		    REPORTS_MAX);
		report_unlink(oldest);
		arb__free(oldest);
		A.st.reports_dropped++;
	}
	if ((r = arb__alloc(sizeof(*r))) == NULL) {
		A.st.reports_dropped++;
		arb__log(ARB_LOG_ERROR, NULL,
		    "event=agent_report_dropped child=%s generation=%u "
		    "reason=\"out of memory\"",
		    key, (unsigned) gen);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->to  = to;
	r->tag = tag;
	r->gen = gen;
	snprintf(r->key, sizeof(r->key), "%s", key);
	if (why != NULL) {
		r->has_why = true;
		r->why     = *why;
	}
	while (*tail != NULL) {
		tail = &(*tail)->next;
	}
	*tail = r;
	report_send(A.node, r);
}

// arb__agent_reports_flush sends again the reports for node_id (0: every node)
// not acknowledged within RESEND_MS (all: every one), and drops those for an
// incarnation that node no longer has.

void
arb__agent_reports_flush(uint32_t node_id, bool all)
{
	rpt    *r, *next;
	int64_t now = arb__now_ms();

	for (r = A.rpts; r != NULL; r = next) {
		char     name[64];
		uint32_t cr;

		next = r->next;
		if (node_id != 0 && r->to.node != node_id) {
			continue;
		}
		if ((cr = peer_creation(r->to.node, name, sizeof(name)))
		    == 0) {
			continue; // its node is not up: kept
		}
		if (cr != r->to.creation) {
			arb__log(ARB_LOG_INFO, NULL,
			    "event=agent_report_stale sup_node=%s child=%s "
			    "generation=%u reason=\"the supervisor's node "
			    "restarted\"",
			    name, r->key, (unsigned) r->gen);
			report_unlink(r);
			arb__free(r);
			A.st.reports_stale++;
			continue;
		}
		if (all || r->sent_ms == 0 || now - r->sent_ms >= RESEND_MS) {
			report_send(A.node, r);
		}
	}
}

// arb__agent_ack: the supervisor's node took a report: forget it.
void
arb__agent_ack(const arb_msg *m)
{
	const uint8_t *key;
	size_t         nk;
	uint64_t       gen, tag;
	rpt           *x;

	if (!arb__remote_get_triple(m, &key, &nk, &gen, &tag)) {
		return;
	}
	for (x = A.rpts; x != NULL; x = x->next) {
		if (x->to.node == m->from.node
		    && x->to.creation == m->from.creation && x->gen == gen
		    && x->tag == tag && strlen(x->key) == nk
		    && memcmp(x->key, key, nk) == 0) {
			report_unlink(x);
			arb__free(x);
			return;
		}
	}
}

static void
agent_report(rc *x, uint32_t tag, const arb_exit *why)
{
	report_add(x->sup_agent, x->key, x->gen, tag, why);
}

// agent_refuse answers a START that will not run (fence, bad spec).
static void
agent_refuse(arb_pid to, const char *key, uint32_t gen, const char *text)
{
	rc       x = { .sup_agent = to, .gen = gen };
	arb_exit why = { .kind = ARB_EXIT_ERROR, .code = ARB_ECHILD };

	snprintf(x.key, sizeof(x.key), "%s", key);
	snprintf(why.text, sizeof(why.text), "%s", text);
	agent_report(&x, TAG_FAIL, &why);
}

static void
agent_stop(rc *x, const char *cause)
{
	if (x->state != RC_RUNNING) {
		return;
	}
	x->state = RC_STOPPING;
	arb__log(ARB_LOG_INFO, x->lpath,
	    "event=agent_stop sup_node=%s child=%s generation=%u cause=%s",
	    x->sup_name, x->key, (unsigned) x->gen, cause);
	local_stop(x->lpath);
}

static void
agent_started(void *arg, int rv, const char *why)
{
	rc         *x = arg;
	arb__child *c;
	arb_exit    e = { .kind = ARB_EXIT_ERROR, .code = rv };

	if (rv != ARB_OK || A.node->tree.root == NULL
	    || (c = arb__sup_lookup(A.node->tree.root, x->lpath)) == NULL
	    || c->state != ARB__CS_RUNNING) {
		// Failed (or ignored, or already gone): nothing runs.
		snprintf(e.text, sizeof(e.text), "%s",
		    rv == ARB_EIGNORE ? "ignore"
		        : why != NULL ? why
		                      : "failed");
		arb__log(ARB_LOG_WARN, x->lpath,
		    "event=agent_start_failed sup_node=%s child=%s "
		    "generation=%u reason=\"%s\"",
		    x->sup_name, x->key, (unsigned) x->gen, e.text);
		agent_report(x, TAG_FAIL, &e);
		local_delete(x->lpath);
		rc_unlink(x);
		if (x->after != NULL) {
			x->after->state = RC_QUEUED;
		}
		rc_free(x);
		arb__agent_pump();
		return;
	}
	x->pid = c->pid;
	// A nested supervisor (a remote subtree) is no actor: the tree does
	// not register it (arb__stree_actor_up), so its monitor would fire
	// noproc at once.  Its pid goes into the registry unnamed here; the
	// tree takes it down at its end (arb__stree_actor_down, every
	// child's) with its real reason, e.g. give-up's shutdown
	// "reached_max_restart_intensity", which is the EXIT reported.
	if (c->child_sup != NULL
	    && arb__reg_up(A.node->reg, x->pid, "", NULL, NULL) != ARB_OK) {
		local_stop(x->lpath); // unwatched it must not run (below)
	}
	if (arb__reg_monitor(A.node->reg, arb__remote_self(), x->pid, &x->ref)
	    != ARB_OK) {
		// Unwatched it must not run: stop it (its exit is then
		// not reported; the supervisor's stop deadline counts it).
		local_stop(x->lpath);
	}
	x->state = RC_RUNNING;
	agent_report(x, TAG_READY, NULL);
	if (x->superseded) { // a newer START, a STOP or the orphan grace
		agent_stop(x, "superseded");
	}
	arb__agent_pump();
}

// arb__agent_pump starts the queued children whose turn it is, one add at a
// time (the root takes one operation at a time: ARB_EAGAIN retries).
void
arb__agent_pump(void)
{
	rc            *x;
	char           err[256];
	int            rv;
	struct timeval tv = { 0, AGENT_RETRY_MS * 1000 };

	for (x = A.rcs; x != NULL; x = x->next) {
		char name[64];

		if (x->state != RC_QUEUED) {
			continue;
		}
		if (peer_creation(x->sup_node, name, sizeof(name))
		    != x->creation) {
			// No way to answer yet (our link to its node is not
			// up), or that incarnation is gone (a newer START
			// will supersede it): wait.
			evtimer_add(A.retry_ev, &tv);
			continue;
		}
		x->state = RC_STARTING;
		err[0] = '\0';
		A.adding = x;
		rv = local_add(x, &x->spec, err, sizeof(err));
		if (rv == ARB_OK && A.adding != x) {
			// Its start ended within the add (a spawn that failed
			// at once): agent_started freed it and pumped again.
			return;
		}
		A.adding = NULL;
		if (rv == ARB_EAGAIN) {
			x->state = RC_QUEUED;
			evtimer_add(A.retry_ev, &tv);
			return;
		}
		if (rv != ARB_OK) {
			arb_exit e = { .kind = ARB_EXIT_ERROR, .code = rv };

			snprintf(e.text, sizeof(e.text), "%.119s",
			    err[0] != '\0' ? err : arb_err_name(rv));
			agent_report(x, TAG_FAIL, &e);
			rc_unlink(x);
			rc_free(x);
			arb__agent_pump();
			return;
		}
		arb__log(ARB_LOG_INFO, x->lpath,
		    "event=agent_start sup_node=%s child=%s generation=%u",
		    x->sup_name, x->key, (unsigned) x->gen);
		return; // the next add waits for this one (agent_started)
	}
}

static void
agent_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, AGENT_RETRY_MS * 1000 };

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	ARB_UNUSED(arg);
	if (dels_retry()) {
		evtimer_add(A.retry_ev, &tv);
	}
	arb__agent_pump();
}

static rc *
rc_find(uint32_t sup_node, const char *key)
{
	rc *x;

	for (x = A.rcs; x != NULL; x = x->next) {
		if (x->sup_node == sup_node && strcmp(x->key, key) == 0
		    && !x->superseded) {
			return x;
		}
	}
	return NULL;
}

// peer_creation is the incarnation the link to node_id has now (0: none).
static uint32_t
peer_creation(uint32_t node_id, char *name, size_t len)
{
	arb_peer_info info[ARB_NODE_PEERS_MAX];
	size_t        i, n = arb__peers_info(info, ARB_NODE_PEERS_MAX);

	for (i = 0; i < n; i++) {
		if (arb__node_id(info[i].name) == node_id) {
			snprintf(name, len, "%.63s", info[i].name);
			return info[i].state == ARB_PEER_UP
			    ? info[i].incarnation
			    : 0;
		}
	}
	return 0;
}

void
arb__remote_lname(
    const char *sup_name, const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	char        h[64 + 256 + 1];

	snprintf(h, sizeof(h), "%.63s/%.255s", sup_name, path);
	snprintf(buf, len, "rc-%08x-%.40s", (unsigned) arb__node_id(h),
	    base != NULL ? base + 1 : path);
}

void
arb__agent_start(const arb_msg *m)
{
	arb__mp_rd     r = { m->body, m->len };
	const uint8_t *key, *sn, *type, *arg, *tree = NULL;
	size_t         nk, ns, nt, na, ntree = 0;
	uint32_t       n;
	uint64_t       gen, iso;
	int64_t        shutdown_ms, watchdog_ms;
	char           k[256], t[128], sup_name[64];
	uint32_t       now;
	rc            *x, *old;
	arb_sup_spec  *sub = NULL;

	// Thread and process actors, and (with its subtree, the ninth
	// element) a supervisor; never an exec child.
	if (!arb__mp_get_array(&r, &n) || n < 8
	    || !arb__mp_get_str(&r, &key, &nk) || nk == 0 || nk >= sizeof(k)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)
	    || !arb__mp_get_str(&r, &sn, &ns)
	    || !arb__mp_get_uint(&r, ARB_SUPERVISOR, &iso) || iso == ARB_EXEC
	    || !arb__mp_get_str(&r, &type, &nt) || nt == 0 || nt >= sizeof(t)
	    || !arb__mp_get_bin(&r, &arg, &na)
	    || !arb__mp_get_int(&r, INT32_MIN, INT32_MAX, &shutdown_ms)
	    || !arb__mp_get_int(&r, 0, INT32_MAX, &watchdog_ms)
	    || (iso == ARB_SUPERVISOR
	        && (n < 9 || !arb__mp_get_bin(&r, &tree, &ntree)))) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=start",
		    (unsigned) m->from.node);
		return;
	}
	memcpy(k, key, nk);
	k[nk] = '\0';
	memcpy(t, type, nt);
	t[nt] = '\0';
	ARB_UNUSED(sn);
	ARB_UNUSED(ns);
	// The fence: the START must come from the incarnation of its node
	// that the link has now, and be newer than what runs for it here.
	// (The START may come before this node's own link to its node is
	// up, which is what answers: then it waits for it, arb__agent_pump.)
	snprintf(sup_name, sizeof(sup_name), "%08x", (unsigned) m->from.node);
	now = peer_creation(m->from.node, sup_name, sizeof(sup_name));
	if (now != 0 && m->from.creation != now) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_fenced child=%s generation=%u "
		    "reason=\"not the supervisor node's current incarnation\"",
		    k, (unsigned) gen);
		A.st.fenced++;
		agent_refuse(m->from, k, (uint32_t) gen,
		    "fenced: not the current incarnation of its node");
		return;
	}
	old = rc_find(m->from.node, k);
	if (old != NULL && old->creation == m->from.creation
	    && gen == old->gen) {
		// Sent again (its node came up, or our READY was lost): it
		// is under way, or running (READY again).
		if (old->state == RC_RUNNING) {
			agent_report(old, TAG_READY, NULL);
		}
		return;
	}
	if (old != NULL && old->creation == m->from.creation
	    && gen < old->gen) {
		arb__log(ARB_LOG_WARN, old->lpath,
		    "event=agent_fenced sup_node=%s child=%s generation=%u "
		    "running=%u reason=\"an older generation\"",
		    sup_name, k, (unsigned) gen, (unsigned) old->gen);
		A.st.fenced++;
		agent_refuse(m->from, k, (uint32_t) gen,
		    "fenced: an older generation than the one running");
		return;
	}
	if (iso == ARB_SUPERVISOR) {
		// A subtree: every child of it runs here, under the nested
		// supervisor, by the same rules as a remote child (no exec
		// child, no exe: arb__sup_spec_decode reads none), and it is
		// checked as a tree file's would be.
		char err[512];
		int  rv = arb__sup_spec_decode(
		     tree, ntree, &sub, err, sizeof(err));

		if (rv == ARB_OK
		    && (rv = arb__sup_spec_check(sub, k, err, sizeof(err)))
		        != ARB_OK) {
			err[strcspn(err, "\n")] = '\0';
		}
		if (rv != ARB_OK) {
			char text[ARB_EXIT_TEXT_MAX];

			arb__log(ARB_LOG_WARN, NULL,
			    "event=agent_bad_subtree sup_node=%s child=%s "
			    "generation=%u reason=\"%s\"",
			    sup_name, k, (unsigned) gen,
			    err[0] != '\0' ? err : arb_strerror(rv));
			snprintf(text, sizeof(text), "subtree refused: %.102s",
			    err[0] != '\0' ? err : arb_strerror(rv));
			arb__sup_spec_free(sub);
			agent_refuse(m->from, k, (uint32_t) gen, text);
			return;
		}
	}
	if ((x = arb__alloc(sizeof(*x))) == NULL) {
		arb__sup_spec_free(sub);
		agent_refuse(m->from, k, (uint32_t) gen, "out of memory");
		return;
	}
	x->sup_node  = m->from.node;
	x->creation  = m->from.creation;
	x->gen       = (uint32_t) gen;
	x->sup_agent = m->from;
	snprintf(x->key, sizeof(x->key), "%s", k);
	snprintf(x->sup_name, sizeof(x->sup_name), "%s", sup_name);
	arb__remote_lname(sup_name, k, x->lname, sizeof(x->lname));
	snprintf(x->lpath, sizeof(x->lpath), "%.24s/%.52s",
	    A.host != NULL ? A.host->path : "root", x->lname);
	{
		arb_child_spec s = { 0 };
		int            rv;

		s.name        = x->lname;
		s.isolation   = (arb_isolation) iso;
		s.type = sub != NULL ? NULL : t;
		s.arg = na > 0 && sub == NULL ? arg : NULL;
		s.arg_len = sub == NULL ? na : 0;
		s.restart     = ARB_TEMPORARY; // the supervisor decides
		s.shutdown_ms = (int) shutdown_ms;
		s.watchdog_ms = (int) watchdog_ms;
		s.sup = sub;
		rv = arb__child_spec_copy(&s, &x->spec);
		arb__sup_spec_free(sub);
		if (rv != ARB_OK) {
			arb__free(x);
			agent_refuse(m->from, k, (uint32_t) gen,
			    "out of memory");
			return;
		}
	}
	x->next = A.rcs;
	A.rcs   = x;
	if (old != NULL) {
		// Superseded: the old one ends first; then this one starts.
		x->state        = RC_STOPPING; // waits for old
		old->superseded = true;
		old->after      = x;
		if (old->state == RC_QUEUED) {
			rc_unlink(old);
			agent_refuse(old->sup_agent, old->key, old->gen,
			    "fenced: superseded before it started");
			rc_free(old);
			x->state = RC_QUEUED;
		} else {
			agent_stop(old, "superseded");
		}
	} else {
		x->state = RC_QUEUED;
	}
	arb__agent_pump();
}

void
arb__agent_stop_msg(const arb_msg *m)
{
	arb__mp_rd     r = { m->body, m->len };
	const uint8_t *key;
	size_t         nk;
	uint32_t       n;
	uint64_t       gen;
	char           k[256];
	rc            *x;

	if (!arb__mp_get_array(&r, &n) || n < 2
	    || !arb__mp_get_str(&r, &key, &nk) || nk >= sizeof(k)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)) {
		return;
	}
	memcpy(k, key, nk);
	k[nk] = '\0';
	for (x = A.rcs; x != NULL; x = x->next) {
		if (x->sup_node == m->from.node
		    && x->creation == m->from.creation && x->gen == gen
		    && strcmp(x->key, k) == 0) {
			break;
		}
	}
	if (x == NULL) {
		return;
	}
	if (x->state == RC_QUEUED) {
		arb_exit e = { .kind = ARB_EXIT_SHUTDOWN };

		agent_report(x, TAG_EXIT, &e);
		rc_unlink(x);
		rc_free(x);
	} else if (x->state == RC_STARTING) {
		x->superseded = true; // stopped once it is up
	} else {
		agent_stop(x, "requested");
	}
}

// A relayed start_child under way on this node (the agent's side): where
// its CHILD goes once the pool's new child is READY or failed.
typedef struct sc {
	arb_pid  to;       // the supervisor's node's agent (its incarnation)
	char     sup_name[64];
	char     key[256]; // the remote child's path there
	uint32_t gen;
	uint64_t ref;
} sc;

// child_send answers a START_CHILD: CHILD [path, gen, ref, code, pid,
// text].
static void
child_send(arb_pid to, const char *key, uint32_t gen, uint64_t ref, int code,
    arb_pid pid, const char *text)
{
	arb__buf b = { 0 };

	if (A.node == NULL || A.node->tree.stop_begun) {
		return; // the node stops: its links go too
	}
	if ((arb__mp_put_array(&b, 6) | arb__mp_put_str(&b, key, strlen(key))
	        | arb__mp_put_uint(&b, gen) | arb__mp_put_uint(&b, ref)
	        | arb__mp_put_int(&b, code)
	        | arb__mp_put_uint(&b, code == ARB_OK ? pid.id : 0)
	        | arb__mp_put_str(&b, text, strlen(text)))
	    == 0) {
		arb__remote_send(A.node, to, TAG_CHILD, &b);
	}
	arb__buf_fini(&b);
}

typedef struct pid_path {
	arb_pid pid;
	char    path[256];
} pid_path;

static void
pid_path_cb(const arb_child_info *in, void *arg)
{
	pid_path *w = arg;

	if (w->path[0] == '\0' && in->depth > 0 && in->pid.id == w->pid.id) {
		snprintf(w->path, sizeof(w->path), "%s", in->path);
	}
}

// agent_child_done: the pool's new child is READY (or failed): answered.
static void
agent_child_done(void *arg, int rv, arb_pid pid)
{
	sc         *q = arg;
	pid_path    w = { .pid = pid };
	const char *text = arb_strerror(rv);

	if (A.node != NULL && rv == ARB_OK && A.node->tree.root != NULL) {
		arb__sup_walk(A.node->tree.root, NULL, 0, pid_path_cb, &w);
		text = w.path;
	} else if (A.node != NULL && rv == ARB_ECHILD) {
		text = A.node->tree.start_fail;
	}
	if (A.node != NULL) {
		arb__log(rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, NULL,
		    "event=agent_start_child sup_node=%s child=%s "
		    "generation=%u ref=%llu result=%s text=\"%s\"",
		    q->sup_name, q->key, (unsigned) q->gen,
		    (unsigned long long) q->ref, arb_err_name(rv), text);
	}
	child_send(q->to, q->key, q->gen, q->ref, rv, pid, text);
	arb__free(q);
}

// arb__agent_start_child: START_CHILD [path, gen, inner, ref, arg] from a
// supervisor's node: a child for the pool at inner in the remote child
// path of generation gen, which must be the one running here for that
// node's incarnation (an older or newer one is refused: fenced).
void
arb__agent_start_child(const arb_msg *m)
{
	arb__mp_rd     r = { m->body, m->len };
	const uint8_t *key, *inner, *arg;
	size_t         nk, ni, na;
	uint32_t       n;
	uint64_t       gen, ref;
	char           k[256], lp[512], text[800];
	rc            *x;
	sc            *q;
	arb_pid        pid;
	int            rv;

	if (!arb__mp_get_array(&r, &n) || n < 5
	    || !arb__mp_get_str(&r, &key, &nk) || nk == 0 || nk >= sizeof(k)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)
	    || !arb__mp_get_str(&r, &inner, &ni) || ni >= 256
	    || memchr(inner, '\0', ni) != NULL
	    || !arb__mp_get_uint(&r, UINT64_MAX, &ref)
	    || !arb__mp_get_bin(&r, &arg, &na)) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=start_child",
		    (unsigned) m->from.node);
		return;
	}
	memcpy(k, key, nk);
	k[nk] = '\0';
	x = rc_find(m->from.node, k);
	if (x == NULL || x->creation != m->from.creation
	    || x->gen != (uint32_t) gen) {
		if (x == NULL) {
			snprintf(text, sizeof(text),
			    "%s runs on no generation here", k);
		} else {
			snprintf(text, sizeof(text),
			    "fenced: generation %u of %s is not the one "
			    "running here (%u%s)",
			    (unsigned) gen, k, (unsigned) x->gen,
			    x->creation != m->from.creation
			        ? ", started by another "
			          "incarnation of its node"
			        : "");
		}
		arb__log(ARB_LOG_WARN, x != NULL ? x->lpath : NULL,
		    "event=agent_fenced op=start_child child=%s generation=%u "
		    "reason=\"%s\"",
		    k, (unsigned) gen, text);
		A.st.fenced++;
		child_send(m->from, k, (uint32_t) gen, ref, ARB_ESTATE,
		    ARB_PID_NONE, text);
		return;
	}
	if (x->state != RC_RUNNING || x->superseded) {
		snprintf(text, sizeof(text), "%s is not running here (%s)", k,
		    x->superseded ? "being stopped" : "starting");
		child_send(m->from, k, (uint32_t) gen, ref, ARB_ESTATE,
		    ARB_PID_NONE, text);
		return;
	}
	snprintf(lp, sizeof(lp), "%s%s%.*s", x->lpath, ni > 0 ? "/" : "",
	    (int) ni, (const char *) inner);
	if ((q = arb__alloc(sizeof(*q))) == NULL) {
		child_send(m->from, k, (uint32_t) gen, ref, ARB_ENOMEM,
		    ARB_PID_NONE, "out of memory");
		return;
	}
	q->to  = m->from;
	q->gen = (uint32_t) gen;
	snprintf(q->sup_name, sizeof(q->sup_name), "%s", x->sup_name);
	q->ref = ref;
	snprintf(q->key, sizeof(q->key), "%s", k);
	rv = arb__stree_start_child(&A.node->tree, lp, na > 0 ? arg : NULL, na,
	    &pid, agent_child_done, q);
	if (rv != ARB_OK) {
		snprintf(text, sizeof(text), "%s: %s", lp,
		    rv == ARB_ENOENT ? "no such supervisor here"
		    : rv == ARB_ESTATE
		        ? "not a simple_one_for_one supervisor"
		    : rv == ARB_ECHILD ? A.node->tree.start_fail
		                       : arb_strerror(rv));
		arb__log(ARB_LOG_WARN, lp,
		    "event=agent_start_child child=%s generation=%u "
		    "result=%s text=\"%s\"",
		    k, (unsigned) gen, arb_err_name(rv), text);
		child_send(m->from, k, (uint32_t) gen, ref, rv, ARB_PID_NONE,
		    text);
		arb__free(q);
	}
}

// arb__agent_down: a child the agent runs ended (its monitor fired).
void
arb__agent_down(const arb_msg *m)
{
	rc      *x;
	arb_pid  who;
	arb_exit why;

	for (x = A.rcs; x != NULL && !(x->ref == m->ref && x->ref != 0);
	     x = x->next) { }
	if (x == NULL || arb__codec_decode_exit(m->body, m->len, &who, &why)
	        != ARB_OK) {
		return;
	}
	if (x->orphaned && why.kind == ARB_EXIT_SHUTDOWN) {
		// Stopped because its supervisor's node was unreachable, not
		// by its supervisor's choice: a transient child is restarted.
		A.st.orphans_stopped++;
		arb__remote_noconnection(
		    &why, x->sup_name, "unreachable: stopped as an orphan");
	} else if (x->orphaned) {
		A.st.orphans_stopped++;
	}
	arb__log(ARB_LOG_INFO, x->lpath,
	    "event=agent_exit sup_node=%s child=%s generation=%u reason=%s",
	    x->sup_name, x->key, (unsigned) x->gen,
	    arb_exit_kind_name(why.kind));
	agent_report(x, TAG_EXIT, &why);
	local_delete(x->lpath);
	rc_unlink(x);
	if (x->after != NULL) {
		x->after->state = RC_QUEUED;
	}
	rc_free(x);
	arb__agent_pump();
}

static void
agent_orphan_cb(evutil_socket_t fd, short what, void *arg)
{
	rc *x = arg;

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	arb__log(ARB_LOG_WARN, x->lpath,
	    "event=orphan_stop sup_node=%s child=%s generation=%u grace_ms=%d",
	    x->sup_name, x->key, (unsigned) x->gen, A.orphan_grace_ms);
	x->orphaned = true;
	if (x->state == RC_STARTING) {
		x->superseded = true;
	} else {
		agent_stop(x, "orphan");
	}
}

// arb__agent_claims_send sends a CLAIM for every child of node_id (0: any
// node) in its orphan grace, when the link to that node is up again with the
// incarnation that started it: the supervisor answers KEEP (the grace is
// cancelled: nothing restarts) or STOP.  Unanswered, the grace runs out
// as before.  Sent again every RESEND_MS while the grace runs.
void
arb__agent_claims_send(uint32_t node_id)
{
	rc *x;

	for (x = A.rcs; x != NULL; x = x->next) {
		char name[64];

		if ((node_id != 0 && x->sup_node != node_id) || x->superseded
		    || x->orphaned || x->state == RC_STOPPING
		    || x->orphan_ev == NULL
		    || !evtimer_pending(x->orphan_ev, NULL)
		    || peer_creation(x->sup_node, name, sizeof(name))
		        != x->creation) {
			continue;
		}
		arb__remote_send_triple(A.node, x->sup_agent, TAG_CLAIM,
		    x->key, strlen(x->key), x->gen, x->claim);
	}
}

// arb__agent_keep: the supervisor still wants an orphan it was asked about:
// its grace ends here.  Only for the grace the CLAIM named, while the
// link to that node is up with the same incarnation (a KEEP that comes
// after the link went down again is about an earlier grace).
void
arb__agent_keep(const arb_msg *m)
{
	const uint8_t *key;
	size_t         nk;
	uint64_t       gen, claim;
	rc            *x;
	char           name[64];

	if (!arb__remote_get_triple(m, &key, &nk, &gen, &claim)) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=keep",
		    (unsigned) m->from.node);
		return;
	}
	for (x = A.rcs; x != NULL; x = x->next) {
		if (x->sup_node == m->from.node
		    && x->creation == m->from.creation && x->gen == gen
		    && x->claim == claim && !x->superseded && !x->orphaned
		    && strlen(x->key) == nk && memcmp(x->key, key, nk) == 0) {
			break;
		}
	}
	if (x == NULL || x->orphan_ev == NULL
	    || !evtimer_pending(x->orphan_ev, NULL)
	    || peer_creation(x->sup_node, name, sizeof(name)) != x->creation) {
		return;
	}
	evtimer_del(x->orphan_ev);
	A.st.orphans_reclaimed++;
	arb__log(ARB_LOG_INFO, x->lpath,
	    "event=orphan_reclaimed sup_node=%s child=%s generation=%u",
	    x->sup_name, x->key, (unsigned) x->gen);
}

int
arb__remote_host(arb_node *node)
{
	arb_sup_spec   sup = { .strategy = ARB_ONE_FOR_ONE };
	arb_child_spec spec = {
		.name = HOST_NAME,
		.isolation = ARB_SUPERVISOR,
		.restart = ARB_PERMANENT,
		.sup = &sup,
	};
	int rv;

	if (A.node != node || node->npeers == 0) {
		return ARB_OK;
	}
	rv = arb__sup_pin_child(node->tree.root, &spec, &A.host);
	return rv == ARB_ESTATE ? ARB_OK : rv; // a simple_one_for_one root
}

int
arb__agent_open(arb_node *node, int orphan_grace_ms)
{
	A.node            = node;
	A.orphan_grace_ms = orphan_grace_ms > 0 ? orphan_grace_ms
	                                        : ARB__ORPHAN_GRACE_MS;
	if ((A.retry_ev = evtimer_new(node->base, agent_retry_cb, NULL))
	    == NULL) {
		return ARB_ENOMEM;
	}
	return ARB_OK;
}

void
arb__agent_close(void)
{
	rc *x;

	while ((x = A.rcs) != NULL) {
		A.rcs = x->next;
		rc_free(x);
	}
	while (A.rpts != NULL) {
		rpt *r = A.rpts;

		A.rpts = r->next;
		arb__free(r);
	}
	while (A.dels != NULL) {
		del *d = A.dels;

		A.dels = d->next;
		arb__free(d);
	}
	if (A.retry_ev != NULL) {
		event_free(A.retry_ev);
	}
	memset(&A, 0, sizeof(A));
}

void
arb__agent_peer_down(arb_node *node, uint32_t node_id)
{
	rc            *x;
	struct timeval tv;

	tv.tv_sec  = A.orphan_grace_ms / 1000;
	tv.tv_usec = (A.orphan_grace_ms % 1000) * 1000;
	for (x = A.rcs; x != NULL; x = x->next) {
		if (x->sup_node != node_id || x->superseded) {
			continue;
		}
		if (x->orphan_ev == NULL) {
			x->orphan_ev
			    = evtimer_new(node->base, agent_orphan_cb, x);
			if (x->orphan_ev == NULL) {
				arb__log(ARB_LOG_ERROR, x->lpath,
				    "event=orphan_stop cause=out_of_memory");
				agent_stop(x, "orphan");
				continue;
			}
		}
		if (!evtimer_pending(x->orphan_ev, NULL)) {
			arb__log(ARB_LOG_WARN, x->lpath,
			    "event=orphan sup_node=%s child=%s generation=%u "
			    "grace_ms=%d",
			    x->sup_name, x->key, (unsigned) x->gen,
			    A.orphan_grace_ms);
			x->claim++; // a KEEP for an earlier grace is old news
			evtimer_add(x->orphan_ev, &tv);
		}
	}
}

void
arb__agent_stats(arb_node_stats *st)
{
	rc  *x;
	rpt *r;

	for (x = A.rcs; x != NULL; x = x->next) {
		st->agent_children += x->state == RC_STARTING
		    || x->state == RC_RUNNING;
	}
	for (r = A.rpts; r != NULL; r = r->next) {
		st->agent_reports_pending++;
	}
	st->agent_orphans_stopped = A.st.orphans_stopped;
	st->agent_fenced          = A.st.fenced;
	st->agent_reports_resent  = A.st.reports_resent;
	st->agent_reports_stale   = A.st.reports_stale;
	st->agent_reports_dropped = A.st.reports_dropped;
	st->agent_orphans_reclaimed = A.st.orphans_reclaimed;
}

size_t
arb_node_agent_children(arb_node *node, arb_agent_child *out, size_t max)
{
	static const char *const states[] = {
		[RC_QUEUED] = "queued",
		[RC_STARTING] = "starting",
		[RC_RUNNING] = "running",
		[RC_STOPPING] = "stopping",
	};
	rc    *x;
	size_t n = 0;

	if (node == NULL || A.node != node) {
		return 0;
	}
	for (x = A.rcs; x != NULL; x = x->next, n++) {
		arb_agent_child *o = &out[n];

		if (n >= max) {
			continue;
		}
		memset(o, 0, sizeof(*o));
		snprintf(o->path, sizeof(o->path), "%s", x->lpath);
		snprintf(o->sup_node, sizeof(o->sup_node), "%s", x->sup_name);
		snprintf(o->child, sizeof(o->child), "%s", x->key);
		o->generation = x->gen;
		o->state      = states[x->state];
		o->orphan     = x->orphan_ev != NULL
		    && evtimer_pending(x->orphan_ev, NULL);
	}
	return n;
}
