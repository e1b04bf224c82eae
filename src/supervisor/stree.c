// SPDX-License-Identifier: MIT
// stree.c -- the supervision tree as one object: what every supervisor
// and driver of a node shares.
//
// It hands out mailbox ids and pids (and tells the transport's slot table
// which incarnation holds a slot), keeps the registry in step with the
// children's lives (an entry reaches its actor through the child's
// driver), adds up the counters of ended incarnations and holds the
// scratch of walks.  It is the bottom of the
// supervisor layer: it calls nothing above it, and reaches drivers only
// through the children's tables.  Thread: node.

#include "sup_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
arb__stree_init(arb__stree *tree, struct event_base *base)
{
	tree->base          = base;
	tree->standby_pidfd = -1;
	tree->standby_ctl   = -1;
}

void
arb__stree_fini(arb__stree *tree)
{
	if (tree->abandoned == 0) {
		// Abandoned threads may still post to the inbox: keep it (the
		// process is about to exit anyway).
		arb__inbox_close(tree->inbox);
		tree->inbox = NULL;
	}
	arb__idmap_fini(&tree->by_ospid);
	arb__idmap_fini(&tree->slots);
	arb__cg_close(tree); // what is left in the exec children's cgroups
	free(tree->foreign);
	tree->foreign  = NULL;
	tree->nforeign = 0;
	arb__mview_free(tree->mview);
	tree->mview = NULL;
}

uint32_t
arb__stree_new_mbid(arb__stree *tree)
{
	return ++tree->next_mbid;
}

arb_pid
arb__stree_new_pid(arb__stree *tree, unsigned kind, uint32_t mbid)
{
	// The slot table says which incarnation holds the slot (exact pids
	// of earlier ones give ARB_ENOENT); arb__stree_actor_down clears it.
	arb__slot_run(mbid, ++tree->next_inc);
	return arb__pid_make(kind, mbid, tree->next_inc);
}

// stree_exit_signal delivers a linked actor's exit signal to child c
// (registry entry ops).
static void
stree_exit_signal(void *arg, const arb_exit *why)
{
	arb__child *c = arg;

	if (c->drv->exit_signal != NULL) {
		c->drv->exit_signal(c, why);
	}
}

static const arb__reg_ops child_reg_ops = {
	.exit_signal = stree_exit_signal,
};

void
arb__stree_actor_up(arb__stree *tree, arb__child *c)
{
	if (c->drv->pid_kind == ARB__KIND_NODE) {
		return; // a nested supervisor is no actor
	}
	if (arb__reg_up(tree->reg, c->pid, c->path, &child_reg_ops, c) != 0) {
		arb__panic("out of memory registering %s", c->path);
	}
}

void
arb__stree_actor_down(arb__stree *tree, arb__child *c, const arb_exit *why)
{
	arb__slot_run(c->mbid, 0); // no incarnation holds the slot now
	arb__reg_down(tree->reg, c->pid, why);
}

void
arb__stree_count_ended(arb__stree *tree, const arb_stats *st)
{
	arb_stats *e = &tree->ended;

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
	e->published += st->published;
	e->unheard += st->unheard;
}

void
arb__stree_changed(arb__stree *tree)
{
	if (tree->hooks.changed != NULL) {
		tree->hooks.changed(tree->hook_arg);
	}
}

// --- Tracked operations -----------------------------------------------------
int
arb__stree_track_begin(arb__stree *tree)
{
	if (tree->tracking || tree->track_fn != NULL) {
		return ARB_EAGAIN;
	}
	tree->tracking     = true;
	tree->track_jobs   = 0;
	tree->track_rv     = ARB_OK;
	tree->track_why[0] = '\0';
	return ARB_OK;
}

static void
track_done(arb__stree *tree)
{
	arb__track_fn fn = tree->track_fn;

	if (tree->tracking || tree->track_jobs > 0 || fn == NULL) {
		return;
	}
	tree->track_fn = NULL;
	if (!tree->stop_begun) {
		fn(tree->track_arg, tree->track_rv, tree->track_why);
	}
}

void
arb__stree_track_end(arb__stree *tree, arb__track_fn fn, void *arg)
{
	tree->tracking  = false;
	tree->track_fn  = fn;
	tree->track_arg = arg;
	track_done(tree);
}

void
arb__stree_track_job_ended(arb__stree *tree)
{
	if (tree->track_jobs > 0) {
		tree->track_jobs--;
	}
	track_done(tree);
}

void
arb__stree_note_fail(arb__stree *tree, const char *path, const arb_exit *why)
{
	char reason[200];

	arb_exit_format(why, reason, sizeof(reason));
	snprintf(tree->start_fail, sizeof(tree->start_fail), "%s: %s", path,
	    reason);
}

void
arb__stree_track_fail(arb__stree *tree, const char *path, const arb_exit *why)
{
	if (tree->track_rv != ARB_OK) {
		return; // the first failure is the one reported
	}
	arb__stree_note_fail(tree, path, why);
	tree->track_rv = ARB_ECHILD;
	snprintf(tree->track_why, sizeof(tree->track_why), "%s",
	    tree->start_fail);
}

arb__mview *
arb__stree_mview(arb__stree *tree)
{
	if (tree->mview == NULL) {
		tree->mview = arb__alloc(sizeof(*tree->mview));
	}
	return tree->mview;
}
