// SPDX-License-Identifier: MIT
// registry.c -- names, monitors and links of a node's actors.
//
// Live actors are entries in an id map keyed by their mailbox (one
// incarnation at a time per mailbox; the entry holds which); names,
// monitors and links are short lists, walked when an actor goes down.
// Nothing here touches the OS, a clock or a loop: what the registry says
// leaves through the io its owner gave it, and exit signals through the
// ops of each entry (registry.h).  Thread: one (the node thread).

#include "registry.h"

#include <stdio.h>
#include <string.h>

typedef struct reg_name {
	char             name[256];
	arb_pid          pid;
	bool             path; // a child's path: names the slot
	struct reg_name *next;
} reg_name;

typedef struct reg_mon {
	uint64_t        ref;
	arb_pid         watcher;
	arb_pid         target;
	struct reg_mon *next;
} reg_mon;

typedef struct reg_link {
	arb_pid          a;
	arb_pid          b;
	struct reg_link *next;
} reg_link;

// A topic and its subscribers (exact pids, each once).
typedef struct reg_topic {
	char              name[ARB_TOPIC_MAX];
	arb_pid          *pids;
	size_t            n;
	size_t            cap;
	struct reg_topic *next;
} reg_topic;

typedef struct reg_entry {
	arb_pid             pid;
	char                path[256];
	bool                trap_exit;
	const arb__reg_ops *ops;
	void               *arg;
	uint64_t            watch; // another node's actor: its watch's id
} reg_entry;

struct arb__reg {
	arb__reg_io io;
	void       *io_arg;
	arb__idmap  entries;     // reg_key(pid) -> reg_entry
	arb__idmap  early_traps; // pid.id -> reg (trap_exit asked during init)
	reg_name   *names;
	reg_mon    *mons;
	reg_link   *links;
	reg_topic  *topics;
	uint64_t    topics_gen;
	uint64_t    next_mref;
	bool        notified; // since the last flush
};

// reg_key is an entry's key: its mailbox (never 0 in the map); for an
// actor of another node the whole pid.
static uint64_t
reg_key(arb_pid pid)
{
	uint64_t w[3] = { pid.node, pid.creation, pid.id };
	uint64_t h = 14695981039346656037ull;
	size_t   i, j;

	// A name address of another node is keyed by the name's hash and
	// the low 30 bits of its node (bits 63 and 62 set): all of a node's
	// names share one mailbox id.
	if (!arb__pid_local(pid) && arb__pid_is_name(pid)) {
		return (3ull << 62)
		    | ((uint64_t) (pid.node & 0x3FFFFFFFu) << 32)
		    | arb__pid_inc(pid);
	}
	if (arb__pid_local(pid)) {
		return arb__pid_mbid(pid) + 1ull;
	}
	// Another node's actor: by node, creation and id (FNV-1a, bit 63
	// set, bit 62 clear), so its slot address and each incarnation
	// monitored have entries of their own -- we cannot tell which one
	// runs there, its node does (keyed by mailbox, a monitor of one
	// incarnation took the place of another's entry, whose monitors
	// then never fired).  A slot address's entry is its own, not the
	// incarnation's; only that node's DOWN for a watch of the slot,
	// naming the incarnation it watched, takes it down
	// (arb__reg_slot_down).
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 8; j++) {
			h ^= (w[i] >> (8 * j)) & 0xFFu;
			h *= 1099511628211ull;
		}
	}
	return (1ull << 63) | (h & ((1ull << 62) - 1));
}

// reg_entry_of finds pid's entry: this very incarnation, or for a slot
// address (arb_pid_is_slot) whichever incarnation holds the slot (for
// another node's actor: the slot address's own entry, see reg_key).
static reg_entry *
reg_entry_of(const arb__reg *reg, arb_pid pid)
{
	reg_entry *e = arb__idmap_get(&reg->entries, reg_key(pid));

	if (e == NULL) {
		return NULL;
	}
	if (arb_pid_is_slot(pid)) {
		return arb_pid_same_actor(e->pid, pid) ? e : NULL;
	}
	return arb_pid_eq(e->pid, pid) ? e : NULL;
}

static void
reg_notify(arb__reg *reg, arb_pid to, uint32_t tag, uint64_t ref,
    arb_pid who, const arb_exit *why)
{
	reg->io.notify(reg->io_arg, to, tag, ref, who, why);
	reg->notified = true;
}

static void
reg_flush(arb__reg *reg)
{
	if (reg->notified) {
		reg->notified = false;
		reg->io.flush(reg->io_arg);
	}
}

int
arb__reg_open(arb__reg **regp, const arb__reg_io *io, void *io_arg)
{
	arb__reg *reg;

	if ((reg = arb__alloc(sizeof(*reg))) == NULL) {
		return ARB_ENOMEM;
	}
	reg->io     = *io;
	reg->io_arg = io_arg;
	*regp       = reg;
	return ARB_OK;
}

static void
reg_entry_free(uint64_t key, void *val, void *arg)
{
	ARB_UNUSED(key);
	ARB_UNUSED(arg);
	arb__free(val);
}

void
arb__reg_close(arb__reg *reg)
{
	if (reg == NULL) {
		return;
	}
	while (reg->names != NULL) {
		reg_name *n = reg->names;
		reg->names  = n->next;
		arb__free(n);
	}
	while (reg->mons != NULL) {
		reg_mon *m = reg->mons;
		reg->mons  = m->next;
		arb__free(m);
	}
	while (reg->links != NULL) {
		reg_link *l = reg->links;
		reg->links  = l->next;
		arb__free(l);
	}
	while (reg->topics != NULL) {
		reg_topic *t = reg->topics;
		reg->topics  = t->next;
		arb__free(t->pids);
		arb__free(t);
	}
	arb__idmap_each(&reg->entries, reg_entry_free, NULL);
	arb__idmap_fini(&reg->entries);
	arb__idmap_fini(&reg->early_traps);
	arb__free(reg);
}

// What reg_topics_drop drops of the subscriptions of pid's mailbox.
typedef enum reg_drop {
	DROP_EXACT,  // pid's own (it went down)
	DROP_OTHERS, // the other incarnations' (pid came up)
	DROP_ALL,    // all of them (the mailbox was released)
} reg_drop;

static void reg_topics_drop(arb__reg *reg, arb_pid pid, reg_drop how);

// --- names -----------------------------------------------------------------

static reg_name *
reg_name_find(const arb__reg *reg, const char *name)
{
	reg_name *n;

	for (n = reg->names; n != NULL; n = n->next) {
		if (strcmp(n->name, name) == 0) {
			return n;
		}
	}
	return NULL;
}

static int
reg_name_set(arb__reg *reg, const char *name, arb_pid pid, bool path)
{
	reg_name *n = reg_name_find(reg, name);

	if (n != NULL) {
		n->pid  = pid; // a restarted child takes its path back
		n->path = path;
		return ARB_OK;
	}
	if ((n = arb__alloc(sizeof(*n))) == NULL) {
		return ARB_ENOMEM;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->pid     = pid;
	n->path    = path;
	n->next    = reg->names;
	reg->names = n;
	return ARB_OK;
}

int
arb__reg_register(arb__reg *reg, const char *name, arb_pid pid)
{
	reg_name *n = reg_name_find(reg, name);

	if (n != NULL && !arb_pid_eq(n->pid, pid) &&
	    arb__reg_alive(reg, n->pid)) {
		return ARB_EEXIST;
	}
	return reg_name_set(reg, name, pid, false);
}

int
arb__reg_whereis(const arb__reg *reg, const char *name, arb_pid *pidp)
{
	reg_name *n = reg_name_find(reg, name);

	if (n == NULL) {
		return ARB_ENOENT;
	}
	// A child's path names its slot: whichever incarnation holds it
	// when a message arrives (SPEC 19).  A registered name names the
	// one actor that registered it.
	*pidp = n->path ? arb_pid_slot(n->pid) : n->pid;
	return ARB_OK;
}

int
arb__reg_whereis_hash(const arb__reg *reg, uint32_t hash, arb_pid *pidp)
{
	const reg_name *n, *found = NULL;

	for (n = reg->names; n != NULL; n = n->next) {
		if (arb__name_hash(n->name) == hash) {
			if (found != NULL) {
				return ARB_EEXIST; // two names, one hash
			}
			found = n;
		}
	}
	if (found == NULL) {
		return ARB_ENOENT;
	}
	*pidp = found->path ? arb_pid_slot(found->pid) : found->pid;
	return ARB_OK;
}

void
arb__reg_release(arb__reg *reg, const char *name, arb_pid pid)
{
	reg_name **np, *n;

	for (np = &reg->names; (n = *np) != NULL; np = &n->next) {
		if (strcmp(n->name, name) == 0) {
			if (arb__pid_mbid(n->pid) == arb__pid_mbid(pid)) {
				*np = n->next;
				arb__free(n);
			}
			break;
		}
	}
	reg_topics_drop(reg, pid, DROP_ALL);
}

// --- entries ---------------------------------------------------------------

bool
arb__reg_alive(const arb__reg *reg, arb_pid pid)
{
	return reg_entry_of(reg, pid) != NULL;
}

arb_pid
arb__reg_current(const arb__reg *reg, arb_pid pid)
{
	reg_entry *e;

	if (!arb_pid_is_slot(pid) || (e = reg_entry_of(reg, pid)) == NULL) {
		return pid;
	}
	return e->pid;
}

int
arb__reg_up(arb__reg *reg, arb_pid pid, const char *path,
    const arb__reg_ops *ops, void *arg)
{
	reg_entry *e, *old;

	if ((e = arb__alloc(sizeof(*e))) == NULL) {
		return ARB_ENOMEM;
	}
	e->pid = pid;
	e->ops = ops;
	e->arg = arg;
	snprintf(e->path, sizeof(e->path), "%s", path);
	old = arb__idmap_get(&reg->entries, reg_key(pid));
	if (arb__idmap_set(&reg->entries, reg_key(pid), e) != 0 ||
	    (path[0] != '\0' && reg_name_set(reg, path, pid, true) != 0)) {
		if (old != NULL) {
			arb__idmap_set(&reg->entries, reg_key(pid), old);
		} else {
			arb__idmap_del(&reg->entries, reg_key(pid));
		}
		arb__free(e);
		return ARB_ENOMEM;
	}
	arb__free(old); // an incarnation that never went down: forgotten
	e->trap_exit = arb__idmap_del(&reg->early_traps, pid.id) != NULL;
	reg_topics_drop(reg, pid, DROP_OTHERS);
	return ARB_OK;
}

// reg_down_entry fires what follows from e's end and frees e, which is
// already out of the map; the DOWN and EXIT messages name `named` (e's
// pid, or the incarnation another node watched for e's slot address).
static void
reg_down_entry(arb__reg *reg, reg_entry *e, arb_pid named, const arb_exit *why)
{
	reg_name **np, *n;
	reg_mon  **mp, *m;
	reg_link **lp, *l;
	arb_pid    pid = e->pid;

	reg_topics_drop(reg, pid, DROP_EXACT);
	// Names other than the actor's path die with it.
	for (np = &reg->names; (n = *np) != NULL;) {
		if (arb_pid_eq(n->pid, pid) && strcmp(n->name, e->path) != 0) {
			*np = n->next;
			arb__free(n);
		} else {
			np = &n->next;
		}
	}
	for (mp = &reg->mons; (m = *mp) != NULL;) {
		if (arb_pid_eq(m->target, pid)) {
			reg_notify(
			    reg, m->watcher, ARB_TAG_DOWN, m->ref, named, why);
			*mp = m->next;
			arb__free(m);
		} else if (arb_pid_eq(m->watcher, pid)) {
			*mp = m->next;
			arb__free(m);
		} else {
			mp = &m->next;
		}
	}
	for (lp = &reg->links; (l = *lp) != NULL;) {
		reg_entry *o;
		arb_pid    other;

		if (arb_pid_eq(l->a, pid)) {
			other = l->b;
		} else if (arb_pid_eq(l->b, pid)) {
			other = l->a;
		} else {
			lp = &l->next;
			continue;
		}
		*lp = l->next;
		arb__free(l);
		if ((o = reg_entry_of(reg, other)) == NULL) {
			continue;
		}
		if (o->trap_exit) {
			reg_notify(reg, other, ARB_TAG_EXIT, 0, named, why);
		} else if (arb_exit_abnormal(why) && o->ops != NULL &&
		    o->ops->exit_signal != NULL) {
			// Exit signal: the linked actor dies too.
			o->ops->exit_signal(o->arg, why);
		}
	}
	arb__free(e);
}

void
arb__reg_down(arb__reg *reg, arb_pid pid, const arb_exit *why)
{
	reg_entry *e = reg_entry_of(reg, pid);

	// pid's own entry only: the end of one incarnation of another
	// node's actor says nothing of its slot address's entry (that
	// node answers a watch of the slot with arb__reg_slot_down's
	// DOWN), nor of another incarnation's.
	if (e == NULL) {
		return; // none, or gone already (demonitored): a late DOWN
	}
	arb__idmap_del(&reg->entries, reg_key(e->pid));
	reg_down_entry(reg, e, pid, why);
	reg_flush(reg);
}

// reg_answer takes e (NULL: none) down for another node's answer to the
// watch `watch`, naming `named`: only when the answer names the watch the
// entry was asked with (or names none: a node that does not echo it).
static arb__reg_answer
reg_answer(arb__reg *reg, reg_entry *e, arb_pid named, uint64_t watch,
    const arb_exit *why)
{
	if (e == NULL) {
		return ARB__REG_ANSWER_NONE; // the monitors went: a late DOWN
	}
	if (watch != 0 && watch != e->watch) {
		// The answer to an earlier watch of the same pid (demonitored,
		// then monitored again before it arrived): not this entry's.
		return ARB__REG_ANSWER_STALE;
	}
	arb__idmap_del(&reg->entries, reg_key(e->pid));
	reg_down_entry(reg, e, named, why);
	reg_flush(reg);
	return ARB__REG_ANSWER_DOWN;
}

arb__reg_answer
arb__reg_watch_down(
    arb__reg *reg, arb_pid pid, uint64_t watch, const arb_exit *why)
{
	// pid's own entry only (as arb__reg_down).
	return reg_answer(reg, reg_entry_of(reg, pid), pid, watch, why);
}

arb__reg_answer
arb__reg_slot_down(
    arb__reg *reg, arb_pid pid, uint64_t watch, const arb_exit *why)
{
	arb_pid    slot = arb_pid_slot(pid);
	reg_entry *e;

	if (arb__pid_local(pid) || arb__pid_is_name(pid)
	    || arb_pid_is_slot(pid)) {
		return ARB__REG_ANSWER_NONE; // not an incarnation of another
		                             // node's actor
	}
	// The slot address as asked: of pid's node incarnation, or of
	// whichever incarnation of that node runs (creation 0).
	if ((e = reg_entry_of(reg, slot)) == NULL) {
		slot.creation = 0;
		e = reg_entry_of(reg, slot);
	}
	if (e != NULL && !arb_pid_is_slot(e->pid)) {
		e = NULL;
	}
	return reg_answer(reg, e, pid, watch, why);
}

uint64_t
arb__reg_watch_id(arb__reg *reg, arb_pid pid)
{
	reg_entry *e = reg_entry_of(reg, pid);

	if (e == NULL || arb__pid_local(e->pid)) {
		return 0;
	}
	if (e->watch == 0) {
		// Made for a link (no monitor named it): a ref of its own.
		e->watch = ++reg->next_mref;
	}
	return e->watch;
}

typedef struct reg_lost_walk {
	const void *arg;
	arb_pid    *pids; // the entries to take down
	size_t      n;
} reg_lost_walk;

static void
reg_lost_cb(uint64_t key, void *val, void *arg)
{
	reg_lost_walk *w = arg;
	reg_entry     *e = val;

	ARB_UNUSED(key);
	if (e->arg == w->arg) {
		w->pids[w->n++] = e->pid;
	}
}

size_t
arb__reg_lost(arb__reg *reg, const void *arg, const arb_exit *why)
{
	reg_lost_walk w = { .arg = arg };
	size_t        i;

	// Collect first: the map must not change while it is walked.
	w.pids = arb__alloc(sizeof(*w.pids) * (reg->entries.count + 1));
	if (w.pids == NULL) {
		arb__panic("out of memory taking a lost peer's actors down");
	}
	arb__idmap_each(&reg->entries, reg_lost_cb, &w);
	for (i = 0; i < w.n; i++) {
		reg_entry *e = reg_entry_of(reg, w.pids[i]);

		arb__idmap_del(&reg->entries, reg_key(w.pids[i]));
		reg_down_entry(reg, e, e->pid, why);
	}
	arb__free(w.pids);
	reg_flush(reg);
	return w.n;
}

typedef struct reg_actors_walk {
	void (*fn)(void *arg, arb_pid pid);
	void  *arg;
	size_t n;
} reg_actors_walk;

static void
reg_actors_cb(uint64_t key, void *val, void *arg)
{
	reg_actors_walk *w = arg;
	reg_entry       *e = val;
	unsigned         kind = arb__pid_kind(e->pid);

	ARB_UNUSED(key);
	if (arb__pid_local(e->pid)
	    && (kind == ARB__KIND_THREAD || kind == ARB__KIND_PROCESS)) {
		w->fn(w->arg, e->pid);
		w->n++;
	}
}

size_t
arb__reg_actors(
    const arb__reg *reg, void (*fn)(void *arg, arb_pid pid), void *arg)
{
	reg_actors_walk w = { .fn = fn, .arg = arg };

	arb__idmap_each(&reg->entries, reg_actors_cb, &w);
	return w.n;
}

// --- monitors, links, trap_exit ------------------------------------------

int
arb__reg_monitor(
    arb__reg *reg, arb_pid watcher, arb_pid target, uint64_t *refp)
{
	reg_mon   *m;
	reg_entry *te;

	*refp = ++reg->next_mref;
	if (!arb__reg_alive(reg, target)) {
		arb_exit e = { .kind = ARB_EXIT_NOPROC };

		reg_notify(reg, watcher, ARB_TAG_DOWN, *refp, target, &e);
		reg_flush(reg);
		return ARB_OK;
	}
	if ((m = arb__alloc(sizeof(*m))) == NULL) {
		return ARB_ENOMEM;
	}
	// The first monitor of another node's actor names the watch its
	// entry asks for (arb__reg_watch_id).
	if ((te = reg_entry_of(reg, target)) != NULL
	    && !arb__pid_local(te->pid) && te->watch == 0) {
		te->watch = *refp;
	}
	m->ref     = *refp;
	m->watcher = watcher;
	m->target  = target;
	m->next    = reg->mons;
	reg->mons  = m;
	return ARB_OK;
}

arb_pid
arb__reg_demonitor(arb__reg *reg, arb_pid watcher, uint64_t ref)
{
	reg_mon **mp, *m;
	arb_pid   target;

	for (mp = &reg->mons; (m = *mp) != NULL; mp = &m->next) {
		if (m->ref == ref && arb_pid_eq(m->watcher, watcher)) {
			target = m->target;
			*mp    = m->next;
			arb__free(m);
			return target;
		}
	}
	return ARB_PID_NONE;
}

bool
arb__reg_forget_unbound(arb__reg *reg, arb_pid pid)
{
	reg_entry *e = reg_entry_of(reg, pid);
	reg_mon   *m;
	reg_link  *l;

	if (e == NULL) {
		return false;
	}
	for (m = reg->mons; m != NULL; m = m->next) {
		if (arb_pid_eq(m->target, e->pid)
		    || arb_pid_eq(m->watcher, e->pid)) {
			return false;
		}
	}
	for (l = reg->links; l != NULL; l = l->next) {
		if (arb_pid_eq(l->a, e->pid) || arb_pid_eq(l->b, e->pid)) {
			return false;
		}
	}
	arb__idmap_del(&reg->entries, reg_key(e->pid));
	arb__free(e);
	return true;
}

int
arb__reg_link(arb__reg *reg, arb_pid self, arb_pid target)
{
	reg_link *l;

	if (!arb__reg_alive(reg, target)) {
		// Linking to a dead actor: an immediate exit signal (noproc),
		// as in Erlang.
		arb_exit   e  = { .kind = ARB_EXIT_NOPROC };
		reg_entry *me = reg_entry_of(reg, self);

		if (me == NULL || !me->trap_exit) {
			return ARB_ENOENT;
		}
		reg_notify(reg, self, ARB_TAG_EXIT, 0, target, &e);
		reg_flush(reg);
		return ARB_OK;
	}
	// One link per pair, whoever made it (OTP: linking again is a
	// no-op, and the exit is signalled once).
	for (l = reg->links; l != NULL; l = l->next) {
		if ((arb_pid_eq(l->a, self) && arb_pid_eq(l->b, target)) ||
		    (arb_pid_eq(l->b, self) && arb_pid_eq(l->a, target))) {
			return ARB_OK;
		}
	}
	if ((l = arb__alloc(sizeof(*l))) == NULL) {
		return ARB_ENOMEM;
	}
	l->a       = self;
	l->b       = target;
	l->next    = reg->links;
	reg->links = l;
	return ARB_OK;
}

void
arb__reg_unlink(arb__reg *reg, arb_pid a, arb_pid b)
{
	reg_link **lp, *l;

	for (lp = &reg->links; (l = *lp) != NULL;) {
		if ((arb_pid_eq(l->a, a) && arb_pid_eq(l->b, b)) ||
		    (arb_pid_eq(l->b, a) && arb_pid_eq(l->a, b))) {
			*lp = l->next;
			arb__free(l);
		} else {
			lp = &l->next;
		}
	}
}

int
arb__reg_trap_exit(arb__reg *reg, arb_pid pid, bool on)
{
	reg_entry *e = reg_entry_of(reg, pid);

	if (e != NULL) {
		e->trap_exit = on;
		return ARB_OK;
	}
	// Asked during init, before the actor is up.
	if (on) {
		return arb__idmap_set(&reg->early_traps, pid.id, reg);
	}
	arb__idmap_del(&reg->early_traps, pid.id);
	return ARB_OK;
}

// --- topics ----------------------------------------------------------------

static reg_topic *
reg_topic_find(const arb__reg *reg, const char *topic)
{
	reg_topic *t;

	for (t = reg->topics; t != NULL; t = t->next) {
		if (strcmp(t->name, topic) == 0) {
			return t;
		}
	}
	return NULL;
}

static void
reg_topics_changed(arb__reg *reg)
{
	reg->topics_gen++;
	if (reg->io.topics != NULL) {
		reg->io.topics(reg->io_arg, reg->topics_gen);
	}
}

// reg_topic_unlink frees t, which has no subscriber left.
static void
reg_topic_unlink(arb__reg *reg, reg_topic *t)
{
	reg_topic **tp;

	for (tp = &reg->topics; *tp != t; tp = &(*tp)->next) { }
	*tp = t->next;
	arb__free(t->pids);
	arb__free(t);
}

static void
reg_topics_drop(arb__reg *reg, arb_pid pid, reg_drop how)
{
	reg_topic *t, *next;
	size_t     i;
	bool       changed = false;

	for (t = reg->topics; t != NULL; t = next) {
		next = t->next;
		for (i = 0; i < t->n;) {
			arb_pid s = t->pids[i];
			// The same slot: its mailbox id, on the same node (an
			// entry for another node's actor never touches this
			// node's subscribers).
			bool same = arb__pid_mbid(s) == arb__pid_mbid(pid)
			    && arb__pid_local(s) == arb__pid_local(pid)
			    && (arb__pid_local(s) || s.node == pid.node);
			bool eq = arb_pid_eq(s, pid);

			if (same &&
			    (how == DROP_ALL || (how == DROP_EXACT && eq) ||
			        (how == DROP_OTHERS && !eq))) {
				t->pids[i] = t->pids[--t->n];
				changed    = true;
			} else {
				i++;
			}
		}
		if (t->n == 0) {
			reg_topic_unlink(reg, t);
		}
	}
	if (changed) {
		reg_topics_changed(reg);
	}
}

int
arb__reg_subscribe(arb__reg *reg, const char *topic, arb_pid pid)
{
	reg_topic *t = reg_topic_find(reg, topic);
	size_t     i;

	if (t != NULL) {
		for (i = 0; i < t->n; i++) {
			if (arb_pid_eq(t->pids[i], pid)) {
				return ARB_OK;
			}
		}
	} else {
		if ((t = arb__alloc(sizeof(*t))) == NULL) {
			return ARB_ENOMEM;
		}
		snprintf(t->name, sizeof(t->name), "%s", topic);
		t->next     = reg->topics;
		reg->topics = t;
	}
	if (t->n == ARB_TOPIC_SUBS_MAX) {
		return ARB_ENOSPC;
	}
	if (t->n == t->cap) {
		size_t   cap = t->cap > 0 ? t->cap * 2 : 4;
		arb_pid *p   = arb__realloc(t->pids, cap * sizeof(*p));

		if (p == NULL) {
			if (t->n == 0) {
				reg_topic_unlink(reg, t);
			}
			return ARB_ENOMEM;
		}
		t->pids = p;
		t->cap  = cap;
	}
	t->pids[t->n++] = pid;
	reg_topics_changed(reg);
	return ARB_OK;
}

void
arb__reg_unsubscribe(arb__reg *reg, const char *topic, arb_pid pid)
{
	reg_topic *t = reg_topic_find(reg, topic);
	size_t     i;

	for (i = 0; t != NULL && i < t->n; i++) {
		if (arb_pid_eq(t->pids[i], pid)) {
			t->pids[i] = t->pids[--t->n];
			if (t->n == 0) {
				reg_topic_unlink(reg, t);
			}
			reg_topics_changed(reg);
			return;
		}
	}
}

size_t
arb__reg_subscribers(
    const arb__reg *reg, const char *topic, arb_pid *pids, size_t max)
{
	reg_topic *t = reg_topic_find(reg, topic);
	size_t     i;

	if (t == NULL) {
		return 0;
	}
	for (i = 0; i < t->n && i < max; i++) {
		pids[i] = t->pids[i];
	}
	return t->n;
}

uint64_t
arb__reg_topics_gen(const arb__reg *reg)
{
	return reg->topics_gen;
}
