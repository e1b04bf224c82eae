// SPDX-License-Identifier: MIT
// remote_driver.c -- the remote-child driver (arb__drv_remote): a
// supervisor's child that runs on another node (docs/supervision.md
// "Remote children").  It sends that node's agent START and STOP, and a
// run-time start_child of a pool there START_CHILD (docs/multinode.md
// "Remote pools"), and takes the agent's READY / FAIL / EXIT, CLAIM and
// CHILD (remote.c's dispatch hands them over).  It keeps the start_child
// calls that wait for their CHILD, and the generations counted lost with
// their node, to be stopped when the node is back.  The other end, what
// runs other nodes' children here, is the agent (remote_agent.c).
//
// Thread: node (everything here runs on the node loop).

#include "remote_int.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define LOST_MAX 1024 // generations counted lost, STOPs to send

// A generation of one of our remote children that the driver counted
// lost with its node (noconnection): a STOP for it goes to that node's
// agent when the node is back, so whatever still runs of it there ends
// (the agent may never have seen the node lost: links are one stream per
// direction) -- even when no newer START comes to supersede it (a
// temporary child, a supervisor that gave up).
struct lost {
	struct lost *next;
	uint32_t     node_id;
	uint32_t     gen;
	char         key[256];
};

// A run-time start relayed to the pool of a remote subtree (the driver's
// side, remote_start_child): the caller's fn waits here, by ref, for the
// agent's CHILD, the remote child's start_timeout or its node's loss.
typedef struct pend {
	struct pend    *next;
	uint64_t        ref;
	uint32_t        node_id;
	char            node_name[64];
	char            key[256]; // the remote child's path here ...
	uint32_t        gen;      // ... and generation
	arb__started_fn fn;
	void           *fnarg;
	struct event   *timer;
} pend;

static struct {
	arb_node    *node;
	struct lost *lost;     // generations counted lost
	pend        *pends;    // relayed starts unanswered
	uint64_t     next_ref;
	const char  *answer;   // arb__remote_answer
	struct {
		uint64_t lost_dropped;
	} st;
} D;

static arb_node *
node_of(const arb__child *c)
{
	return (arb_node *) ((char *) c->tree - offsetof(arb_node, tree));
}

// agent_of is the agent of node name: the reserved slot, any incarnation.
static arb_pid
agent_of(uint32_t node_id)
{
	arb_pid p = arb__pid_make(ARB__KIND_THREAD, ARB__AGENT_MBID, 0);

	p.node     = node_id;
	p.creation = 0;
	return p;
}

static int
start_send(arb__child *c, bool first)
{
	arb_node *node = node_of(c);
	arb__buf    b = { 0 }, sub = { 0 };
	bool        tree = c->spec.isolation == ARB_SUPERVISOR;
	const char *type = tree ? "supervisor" : c->spec.type;
	int       rv;

	// A nested supervisor travels whole: its subtree, in its wire form
	// (arb__sup_spec_encode), is the START's ninth element.
	if (tree && (rv = arb__sup_spec_encode(&sub, c->spec.sup)) != ARB_OK) {
		arb__buf_fini(&sub);
		return rv;
	}
	rv = arb__mp_put_array(&b, tree ? 9 : 8)
	    | arb__mp_put_str(&b, c->path, strlen(c->path))
	    | arb__mp_put_uint(&b, arb__pid_inc(c->pid))
	    | arb__mp_put_str(&b, node->name, strlen(node->name))
	    | arb__mp_put_uint(&b, (uint64_t) c->spec.isolation)
	    | arb__mp_put_str(&b, type, strlen(type))
	    | arb__mp_put_bin(&b, c->spec.arg, c->spec.arg_len)
	    | arb__mp_put_int(&b, c->spec.shutdown_ms)
	    | arb__mp_put_int(&b, c->spec.watchdog_ms);
	if (tree) {
		rv |= arb__mp_put_bin(&b, sub.data, sub.len);
	}
	arb__buf_fini(&sub);
	if (rv != 0) {
		arb__buf_fini(&b);
		return ARB_ENOMEM;
	}
	rv = arb__remote_send(
	    node, agent_of(arb__node_id(c->spec.node)), TAG_START, &b);
	arb__buf_fini(&b);
	// The node not reachable now (its link still coming up, or down):
	// the start waits for it, bounded by start_timeout; the node's UP
	// sends it again (arb__remote_peer_up).
	arb__log(first ? ARB_LOG_INFO : ARB_LOG_DEBUG, c->path,
	    "event=remote_start node=%s generation=%u sent=%s", c->spec.node,
	    (unsigned) arb__pid_inc(c->pid),
	    rv == ARB_OK ? "yes" : "no (waiting for the node)");
	return ARB_OK;
}

static int
remote_start(arb__child *c)
{
	return start_send(c, true);
}

// stop_to sends STOP [key, gen] to an agent.
static int
stop_to(arb_node *node, arb_pid to, const char *key, size_t nk, uint64_t gen)
{
	arb__buf b = { 0 };
	int      rv;

	rv = arb__mp_put_array(&b, 2) | arb__mp_put_str(&b, key, nk)
	    | arb__mp_put_uint(&b, gen);
	if (rv == 0) {
		rv = arb__remote_send(node, to, TAG_STOP, &b);
	}
	arb__buf_fini(&b);
	return rv;
}

static int
send_stop(arb__child *c)
{
	return stop_to(node_of(c), agent_of(arb__node_id(c->spec.node)),
	    c->path, strlen(c->path), arb__pid_inc(c->pid));
}

static void
remote_stop(arb__child *c)
{
	arb_exit why;

	if (send_stop(c) != ARB_OK) {
		// Nobody to ask: what ran there is an orphan its agent
		// stops after its grace.
		arb__remote_noconnection(&why, c->spec.node, "unreachable");
		arb__child_event(c, ARB__CE_EXIT, &why);
	}
}

// remote_kill cannot end the child at once: it asks the agent to stop it
// and counts it as killed now; a restart that follows supersedes it (the
// agent stops the old generation before it starts the new one).
static void
remote_kill(arb__child *c)
{
	arb_exit why = { .kind = ARB_EXIT_KILLED };

	if (c->state != ARB__CS_STARTING && c->state != ARB__CS_RUNNING
	    && c->state != ARB__CS_STOPPING) {
		return;
	}
	send_stop(c);
	snprintf(why.text, sizeof(why.text),
	    "stop deadline passed (the agent of %.60s stops it)",
	    c->spec.node);
	arb__child_event(c, ARB__CE_EXIT, &why);
}

static void
remote_close(arb__child *c)
{
	// The record goes (or its start failed): relayed starts to its
	// subtree are answered now.
	arb__drv_remote_pends_fail(0, c->path, ARB_ESHUTDOWN,
	    "ended: the remote subtree was stopped here");
	if (c->state == ARB__CS_STARTING || c->state == ARB__CS_RUNNING
	    || c->state == ARB__CS_STOPPING) {
		send_stop(c);
	}
}

static void
remote_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	ARB_UNUSED(hb);
	in->type = c->spec.type;
	in->node = c->spec.node;
	if (c->spec.isolation == ARB_SUPERVISOR && c->spec.sup != NULL) {
		// Its children run there: listed by that node, not here.
		in->type = "supervisor";
		in->strategy = c->spec.sup->strategy;
	}
}

// pend_answer delivers p's outcome to its caller and forgets it.
static void
pend_answer(pend *p, int rv, arb_pid pid, const char *text)
{
	pend **pp;

	for (pp = &D.pends; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->timer != NULL) {
		event_free(p->timer);
	}
	arb__log(rv == ARB_OK ? ARB_LOG_INFO : ARB_LOG_WARN, p->key,
	    "event=remote_start_child_answer node=%s generation=%u ref=%llu "
	    "result=%s text=\"%s\"",
	    p->node_name, (unsigned) p->gen, (unsigned long long) p->ref,
	    arb_err_name(rv), text);
	if (rv == ARB_ECHILD && D.node != NULL) {
		snprintf(D.node->tree.start_fail,
		    sizeof(D.node->tree.start_fail), "%s", text);
	}
	D.answer = text;
	p->fn(p->fnarg, rv, pid);
	D.answer = NULL;
	arb__free(p);
}

const char *
arb__remote_answer(void)
{
	return D.answer;
}

static void
pend_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	pend *p = arg;
	char  text[512];

	ARB_UNUSED(fd);
	ARB_UNUSED(what);
	snprintf(text, sizeof(text),
	    "no answer from node %.63s within the start_timeout of %.255s "
	    "(the child may have started there)",
	    p->node_name, p->key);
	pend_answer(p, ARB_ETIMEDOUT, ARB_PID_NONE, text);
}

// arb__drv_remote_pends_fail answers every relayed start waiting on node_id
// (0: any) and, with key, only those to that remote child: "node NAME what".
void
arb__drv_remote_pends_fail(
    uint32_t node_id, const char *key, int rv, const char *what)
{
	pend *p;
	char  text[200];

	for (p = D.pends; p != NULL;) {
		if ((node_id != 0 && p->node_id != node_id)
		    || (key != NULL && strcmp(p->key, key) != 0)) {
			p = p->next;
			continue;
		}
		snprintf(text, sizeof(text), "node %s %s", p->node_name, what);
		pend_answer(p, rv, ARB_PID_NONE, text);
		p = D.pends; // the answer may have changed the list
	}
}

// remote_start_child sends START_CHILD for the pool at inner in c's
// subtree (docs/multinode.md, "Remote pools"): the agent of c's node
// starts the child there and answers CHILD.
static int
remote_start_child(arb__child *c, const char *inner, const void *arg,
    size_t len, arb__started_fn fn, void *fnarg)
{
	arb_node      *node = node_of(c);
	arb__buf       b    = { 0 };
	pend          *p;
	int            ms, rv;
	struct timeval tv;

	const arb_sup_spec *sup = c->spec.sup;
	const char         *at  = inner;

	if (c->spec.isolation != ARB_SUPERVISOR || sup == NULL) {
		return ARB_ENOTSUP; // an actor that runs there
	}
	// The supervisor at inner, from the subtree's spec (what runs
	// there): a pool, or the start is refused here, at once.
	while (*at != '\0') {
		size_t k = strcspn(at, "/"), i;

		for (i = 0; i < sup->nchildren
		     && (strlen(sup->children[i].name) != k
		         || strncmp(sup->children[i].name, at, k) != 0);
		     i++) { }
		if (i == sup->nchildren
		    || sup->strategy == ARB_SIMPLE_ONE_FOR_ONE) {
			return ARB_ENOENT; // (a pool's template is no child)
		}
		if (sup->children[i].sup == NULL) {
			return ARB_ENOTSUP; // an actor in the subtree
		}
		sup = sup->children[i].sup;
		at += k + (at[k] == '/');
	}
	if (sup->strategy != ARB_SIMPLE_ONE_FOR_ONE) {
		return ARB_ENOTSUP; // its children are in the tree file
	}
	if (c->state != ARB__CS_RUNNING) {
		return ARB_ESTATE; // nothing runs there to ask
	}
	if ((p = arb__alloc(sizeof(*p))) == NULL) {
		return ARB_ENOMEM;
	}
	memset(p, 0, sizeof(*p));
	p->ref     = ++D.next_ref;
	p->node_id = arb__node_id(c->spec.node);
	p->gen     = arb__pid_inc(c->pid);
	p->fn      = fn;
	p->fnarg   = fnarg;
	snprintf(p->node_name, sizeof(p->node_name), "%s", c->spec.node);
	snprintf(p->key, sizeof(p->key), "%s", c->path);
	if ((p->timer = evtimer_new(node->base, pend_timeout_cb, p)) == NULL
	    || (arb__mp_put_array(&b, 5)
	           | arb__mp_put_str(&b, c->path, strlen(c->path))
	           | arb__mp_put_uint(&b, p->gen)
	           | arb__mp_put_str(&b, inner, strlen(inner))
	           | arb__mp_put_uint(&b, p->ref)
	           | arb__mp_put_bin(&b, arg, arg != NULL ? len : 0))
	        != 0) {
		if (p->timer != NULL) {
			event_free(p->timer);
		}
		arb__free(p);
		arb__buf_fini(&b);
		return ARB_ENOMEM;
	}
	// Not sent (the link is down this instant): the timeout or the
	// node's loss answers, as for a CHILD lost on the way.
	rv = arb__remote_send(node, agent_of(p->node_id), TAG_START_CHILD, &b);
	arb__buf_fini(&b);
	arb__log(ARB_LOG_INFO, c->path,
	    "event=remote_start_child node=%s generation=%u pool=\"%s\" "
	    "ref=%llu sent=%s",
	    p->node_name, (unsigned) p->gen, inner,
	    (unsigned long long) p->ref, rv == ARB_OK ? "yes" : "no");
	ms = arb__child_start_timeout_ms(&c->spec);
	tv.tv_sec  = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	p->next  = D.pends;
	D.pends  = p;
	return ARB_OK;
}

// arb__drv_remote_child: the agent's CHILD [path, gen, ref, code, pid, text],
// the answer to our START_CHILD ref.
void
arb__drv_remote_child(const arb_msg *m)
{
	arb__mp_rd     r = { m->body, m->len };
	const uint8_t *key, *txt;
	size_t         nk, nt;
	uint32_t       na;
	uint64_t       gen, ref, id;
	int64_t        code;
	pend          *p;
	arb_pid        pid = ARB_PID_NONE;
	char           text[ARB_EXIT_TEXT_MAX + 80];

	if (!arb__mp_get_array(&r, &na) || na < 6
	    || !arb__mp_get_str(&r, &key, &nk)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)
	    || !arb__mp_get_uint(&r, UINT64_MAX, &ref)
	    || !arb__mp_get_int(&r, INT32_MIN, INT32_MAX, &code)
	    || !arb__mp_get_uint(&r, UINT64_MAX, &id)
	    || !arb__mp_get_str(&r, &txt, &nt)) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=child",
		    (unsigned) m->from.node);
		return;
	}
	for (p = D.pends; p != NULL; p = p->next) {
		if (p->ref == ref && p->node_id == m->from.node
		    && p->gen == gen && strlen(p->key) == nk
		    && memcmp(p->key, key, nk) == 0) {
			break;
		}
	}
	if (p == NULL) {
		return; // answered already (timed out, node lost): old news
	}
	if (code == ARB_OK) {
		// Its pid is that node's: sends to it go there.
		pid.id       = id;
		pid.node     = m->from.node;
		pid.creation = m->from.creation;
		snprintf(text, sizeof(text), "%.*s@%s", (int) nt,
		    (const char *) txt, p->node_name);
	} else {
		snprintf(text, sizeof(text), "%.*s", (int) nt,
		    (const char *) txt);
	}
	pend_answer(p, code == ARB_OK && id == 0 ? ARB_EBADMSG : (int) code,
	    pid, text);
}

const arb__driver arb__drv_remote = {
	.name        = "remote",
	.pid_kind    = ARB__KIND_EXEC, // no mailbox here: sends are refused
	.timed_start = true,
	.start       = remote_start,
	.stop        = remote_stop,
	.kill        = remote_kill,
	.close       = remote_close,
	.info        = remote_info,
	.start_child = remote_start_child,
};

// arb__drv_remote_report handles an agent's READY / FAIL / EXIT for our child
// key of generation gen; reports of another generation are old news.
void
arb__drv_remote_report(arb_node *node, const arb_msg *m)
{
	arb__mp_rd     r = { m->body, m->len };
	const uint8_t *s;
	size_t         n;
	uint32_t       na;
	uint64_t       gen;
	char           key[256];
	arb__child    *c;
	arb_exit       why = { 0 };

	if (!arb__mp_get_array(&r, &na) || na < 2
	    || !arb__mp_get_str(&r, &s, &n) || n >= sizeof(key)
	    || !arb__mp_get_uint(&r, UINT32_MAX, &gen)
	    || (m->tag != TAG_READY
	        && (na < 5 || !arb__remote_get_exit(&r, &why)))) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=%08x",
		    (unsigned) m->from.node, (unsigned) m->tag);
		return;
	}
	memcpy(key, s, n);
	key[n] = '\0';
	// Taken (applied or old news): the agent may forget it.
	arb__remote_send_triple(node, m->from, TAG_ACK, key, n, gen, m->tag);
	// (The record of that generation: a child a reload replaces or
	// removes is out of its supervisor's children while its stop runs,
	// and that stop waits for this EXIT.)
	if (node->tree.root == NULL
	    || (c = arb__sup_lookup_inc(node->tree.root, key, (uint32_t) gen))
	        == NULL
	    || c->drv != &arb__drv_remote
	    || arb__node_id(c->spec.node) != m->from.node) {
		return; // a child or generation that is gone
	}
	if (m->tag == TAG_READY && c->state == ARB__CS_STARTING) {
		arb__child_event(c, ARB__CE_READY, NULL);
	} else if (m->tag == TAG_FAIL && c->state == ARB__CS_STARTING) {
		arb__child_event(c, ARB__CE_FAIL, &why);
	} else if (m->tag == TAG_EXIT
	    && (c->state == ARB__CS_RUNNING || c->state == ARB__CS_STOPPING)) {
		arb__child_event(c, ARB__CE_EXIT, &why);
	} else if (m->tag == TAG_EXIT && c->state == ARB__CS_STARTING) {
		arb__child_event(c, ARB__CE_FAIL, &why);
	}
}

// lost_add remembers key's generation gen on node_id as counted lost (one
// entry per child: a newer generation replaces an older one).  Beyond
// LOST_MAX the oldest is dropped, counted and logged (what ran of it is
// an orphan its agent stops after its grace, or a newer START
// supersedes).
static void
lost_add(uint32_t node_id, const char *key, uint32_t gen)
{
	struct lost *l, **pp, **oldest = NULL;
	size_t       n = 0;

	for (pp = &D.lost; (l = *pp) != NULL; pp = &l->next) {
		if (l->node_id == node_id && strcmp(l->key, key) == 0) {
			l->gen = gen > l->gen ? gen : l->gen;
			return;
		}
		oldest = oldest != NULL ? oldest : pp;
		n++;
	}
	if (n >= LOST_MAX && oldest != NULL) {
		l = *oldest;
		*oldest = l->next;
		arb__log(ARB_LOG_WARN, l->key,
		    "event=remote_lost_dropped generation=%u reason=\"more "
		    "than %d lost generations waiting for their node\"",
		    (unsigned) l->gen, LOST_MAX);
		arb__free(l);
		D.st.lost_dropped++;
		for (pp = &D.lost; *pp != NULL; pp = &(*pp)->next) { }
	}
	if ((l = arb__alloc(sizeof(*l))) == NULL) {
		D.st.lost_dropped++;
		return; // the orphan grace still ends it
	}
	memset(l, 0, sizeof(*l));
	l->node_id = node_id;
	l->gen = gen;
	snprintf(l->key, sizeof(l->key), "%s", key);
	*pp = l;
}

// arb__drv_remote_lost_flush sends a STOP for every generation counted lost on
// node_id, now that its link is up again.
void
arb__drv_remote_lost_flush(arb_node *node, uint32_t node_id)
{
	struct lost *l, **pp = &D.lost;

	while ((l = *pp) != NULL) {
		if (l->node_id != node_id) {
			pp = &l->next;
			continue;
		}
		if (stop_to(node, agent_of(node_id), l->key, strlen(l->key),
		        l->gen)
		    != ARB_OK) {
			pp = &l->next; // again at its next UP
			continue;
		}
		arb__log(ARB_LOG_INFO, l->key,
		    "event=remote_stop_lost generation=%u", (unsigned) l->gen);
		*pp = l->next;
		arb__free(l);
	}
}

static bool
lost_has(uint32_t node_id, const char *key, uint32_t gen)
{
	struct lost *l;

	for (l = D.lost; l != NULL; l = l->next) {
		if (l->node_id == node_id && l->gen >= gen
		    && strcmp(l->key, key) == 0) {
			return true;
		}
	}
	return false;
}

// arb__drv_remote_claim answers an agent's CLAIM of an orphan (our child key
// of generation gen, which it kept through its orphan grace while its link to
// us was down): KEEP when that generation is the one we have, starting or
// running (we never counted it lost); otherwise STOP it.
void
arb__drv_remote_claim(arb_node *node, const arb_msg *m)
{
	const uint8_t *s;
	size_t         n;
	uint64_t       gen, claim;
	char           key[256];
	arb__child    *c = NULL;
	bool           keep = false;

	if (!arb__remote_get_triple(m, &s, &n, &gen, &claim)
	    || n >= sizeof(key)) {
		arb__log(ARB_LOG_WARN, NULL,
		    "event=agent_bad_message from_node=%08x tag=claim",
		    (unsigned) m->from.node);
		return;
	}
	memcpy(key, s, n);
	key[n] = '\0';
	if (node->tree.root != NULL
	    && (c = arb__sup_lookup_inc(node->tree.root, key, (uint32_t) gen))
	        != NULL
	    && c->drv == &arb__drv_remote
	    && arb__node_id(c->spec.node) == m->from.node
	    && (c->state == ARB__CS_STARTING || c->state == ARB__CS_RUNNING)
	    && !lost_has(m->from.node, key, (uint32_t) gen)) {
		keep = true;
	}
	arb__log(ARB_LOG_INFO, key,
	    "event=remote_claim node=%s generation=%u answer=%s",
	    c != NULL && c->spec.node != NULL ? c->spec.node : "?",
	    (unsigned) gen, keep ? "keep" : "stop");
	if (keep) {
		arb__remote_send_triple(
		    node, m->from, TAG_KEEP, key, n, gen, claim);
	} else {
		stop_to(node, m->from, key, n, gen);
	}
}

// arb__drv_remote_lost: node_id is lost: every child of ours running there
// counts as exited with noconnection (one that was starting: a failed start).
void
arb__drv_remote_lost(arb_node *node, uint32_t node_id, const char *name)
{
	arb__child **v = NULL;
	size_t       n = 0, cap = 0, i;
	uint32_t     mbid;
	arb_exit     why;

	for (mbid = 1; mbid <= node->tree.next_mbid; mbid++) {
		arb__child *c = arb__idmap_get(&node->tree.slots, mbid + 1ull);

		if (c == NULL || c->drv != &arb__drv_remote
		    || arb__node_id(c->spec.node) != node_id
		    || (c->state != ARB__CS_STARTING
		        && c->state != ARB__CS_RUNNING
		        && c->state != ARB__CS_STOPPING)) {
			continue;
		}
		if (n == cap) {
			arb__child **nv = arb__realloc(
			    v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (nv == NULL) {
				break; // those found so far; others at their
				       // stop or start (the agent is gone)
			}
			v   = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n++] = c;
	}
	arb__remote_noconnection(&why, name, "lost");
	for (i = 0; i < n; i++) {
		// Events may restart or remove others: look each up again.
		arb__child *c
		    = arb__idmap_get(&node->tree.slots, v[i]->mbid + 1ull);

		if (c != v[i] || arb__node_id(c->spec.node) != node_id) {
			continue;
		}
		lost_add(node_id, c->path, arb__pid_inc(c->pid));
		if (c->state == ARB__CS_STARTING) {
			arb__child_event(c, ARB__CE_FAIL, &why);
		} else if (c->state == ARB__CS_RUNNING
		    || c->state == ARB__CS_STOPPING) {
			arb__child_event(c, ARB__CE_EXIT, &why);
		}
	}
	arb__free(v);
}

// arb__drv_remote_resend_starts sends the START of every remote child still
// starting (on node_id; 0: any) again: the agent drops one it already has, and
// answers READY again for one it runs (a START or READY lost with a link
// that broke is at most once, like any message).
void
arb__drv_remote_resend_starts(arb_node *node, uint32_t node_id)
{
	uint32_t mbid;

	for (mbid = 1; mbid <= node->tree.next_mbid; mbid++) {
		arb__child *c = arb__idmap_get(&node->tree.slots, mbid + 1ull);

		if (c != NULL && c->drv == &arb__drv_remote
		    && c->state == ARB__CS_STARTING
		    && (node_id == 0
		        || arb__node_id(c->spec.node) == node_id)) {
			start_send(c, false);
		}
	}
}

void
arb__drv_remote_open(arb_node *node)
{
	node->tree.remote = &arb__drv_remote;
	D.node            = node;
}

void
arb__drv_remote_close(void)
{
	while (D.pends != NULL) {
		pend *p = D.pends; // their records went (remote_close)

		D.pends = p->next;
		if (p->timer != NULL) {
			event_free(p->timer);
		}
		arb__free(p);
	}
	while (D.lost != NULL) {
		struct lost *l = D.lost;

		D.lost = l->next;
		arb__free(l);
	}
	memset(&D, 0, sizeof(D));
}

void
arb__drv_remote_stats(arb_node_stats *st)
{
	st->remote_lost_dropped = D.st.lost_dropped;
}
