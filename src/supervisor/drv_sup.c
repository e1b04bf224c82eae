// SPDX-License-Identifier: MIT
// drv_sup.c -- the child driver of nested supervisors (driver.h): a
// supervisor is a child of its parent like any other.
//
// Its start opens a new supervisor object on the same loop and starts it
// (its READY or FAIL comes when its own children are up, or not); its
// stop is an orderly shutdown, its kill a brutal one.  The object stays
// with the child record until the next start or the record's end.
// Thread: node.

#include "sup_rt.h"

static int
sup_drv_start(arb__child *c)
{
	int rv;

	if (c->child_sup != NULL) {
		arb__sup_free(c->child_sup);
		c->child_sup = NULL;
	}
	rv = arb__sup_open(&c->child_sup, c->tree, c, c->spec.sup, c->path);
	if (rv == 0) {
		arb__sup_start(c->child_sup);
	}
	return rv;
}

static void
sup_drv_stop(arb__child *c)
{
	if (c->child_sup != NULL) {
		arb__sup_stop(c->child_sup);
	}
}

static void
sup_drv_kill(arb__child *c)
{
	if (c->child_sup != NULL) {
		arb__sup_brutal(c->child_sup);
	}
}

static void
sup_drv_close(arb__child *c)
{
	ARB_UNUSED(c); // the nested supervisor goes with the record
}

static void
sup_drv_info(const arb__child *c, arb_child_info *in, int64_t *hb)
{
	ARB_UNUSED(hb);
	in->type     = "supervisor";
	in->strategy = c->spec.sup->strategy;
}

// sup_drv_fini frees the nested supervisor with its child record.
static void
sup_drv_fini(arb__child *c)
{
	if (c->child_sup != NULL) {
		arb__sup_free(c->child_sup);
		c->child_sup = NULL;
	}
}

const arb__driver arb__drv_sup = {
	.name     = "supervisor",
	.pid_kind = ARB__KIND_NODE,
	.start    = sup_drv_start, // no start_timeout of its own
	.stop     = sup_drv_stop,
	.kill     = sup_drv_kill,
	.close    = sup_drv_close,
	.info     = sup_drv_info,
	.fini     = sup_drv_fini,
};
