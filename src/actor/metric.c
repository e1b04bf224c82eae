// SPDX-License-Identifier: MIT
// metric.c -- an actor's own metrics: counters, gauges and histograms it
// declares and updates on its loop (arb_metric_* in actor.h).
//
// They live in the actor's context; the host ships them to the node with
// the heartbeat (a thread actor copies the encoding under its lock, a
// process actor sends it over the control channel), only when something
// changed.  The encoding is one msgpack array of series (docs/design.md,
// "Metrics"); the node decodes it when a tool asks (node/metrics.c).
// Bounded: ARB_METRIC_MAX series per actor, names, labels and help cut to
// fixed sizes, so one actor's encoding stays far below a control message.
// Thread: loop.

#include "actor_int.h"

#include <stdio.h>
#include <string.h>

struct arb_metric {
	struct arb__metrics *set;
	arb_metric_type      type;
	char                 name[ARB_METRIC_NAME_MAX + 1];
	char                 lkey[ARB_METRIC_NAME_MAX + 1]; // "" when none
	char                 lval[ARB_METRIC_VALUE_MAX + 1];
	char                 help[ARB_METRIC_HELP_MAX + 1];
	uint64_t             counter;
	double               gauge;
	double               sum;   // histogram
	uint64_t             count; // histogram
	size_t               nbounds;
	double               bounds[ARB_METRIC_BUCKETS_MAX];
	uint64_t             buckets[ARB_METRIC_BUCKETS_MAX + 1]; // +Inf last
};

struct arb__metrics {
	arb_metric *m[ARB_METRIC_MAX];
	size_t      n;
	bool        dirty;
};

static const double default_bounds[]
    = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };

static bool
name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
	    || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

// name_ok checks n bytes of s against [a-zA-Z_(:)][a-zA-Z0-9_(:)]*.
static bool
name_ok(const char *s, size_t n, bool colon)
{
	size_t i;

	if (n == 0 || n > ARB_METRIC_NAME_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (!name_char(s[i], i == 0, colon)) {
			return false;
		}
	}
	return true;
}

// metric_new validates and declares one series (not yet a histogram's
// bounds).
static int
metric_new(arb_ctx *ctx, arb_metric_type type, const char *name,
    const char *label, const char *help, arb_metric **mp)
{
	struct arb__metrics *ms;
	arb_metric          *m;
	const char          *eq = NULL;
	size_t               klen = 0, i;

	if (ctx == NULL || mp == NULL || name == NULL
	    || !name_ok(name, strlen(name), true)
	    || strncmp(name, "arbor_", 6) == 0) {
		return ARB_EINVAL;
	}
	if (label != NULL) {
		if ((eq = strchr(label, '=')) == NULL) {
			return ARB_EINVAL;
		}
		klen = (size_t) (eq - label);
		if (!name_ok(label, klen, false)
		    || strlen(eq + 1) > ARB_METRIC_VALUE_MAX
		    || (klen == 4 && memcmp(label, "path", 4) == 0)
		    || (klen == 2 && memcmp(label, "le", 2) == 0)
		    || (klen >= 2 && memcmp(label, "__", 2) == 0)) {
			return ARB_EINVAL;
		}
	}
	if ((ms = ctx->metrics) == NULL) {
		if ((ms = arb__alloc(sizeof(*ms))) == NULL) {
			return ARB_ENOMEM;
		}
		ctx->metrics = ms;
	}
	for (i = 0; i < ms->n; i++) {
		arb_metric *o = ms->m[i];
		if (strcmp(o->name, name) != 0) {
			continue;
		}
		if (o->type != type) {
			return ARB_EINVAL; // one family, one type
		}
		if (strlen(o->lkey) == klen
		    && (klen == 0
		        || (memcmp(o->lkey, label, klen) == 0
		            && strcmp(o->lval, eq + 1) == 0))) {
			return ARB_EEXIST;
		}
	}
	if (ms->n == ARB_METRIC_MAX) {
		return ARB_ENOSPC;
	}
	if ((m = arb__alloc(sizeof(*m))) == NULL) {
		return ARB_ENOMEM;
	}
	m->set = ms;
	m->type = type;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (label != NULL) {
		memcpy(m->lkey, label, klen);
		snprintf(m->lval, sizeof(m->lval), "%s", eq + 1);
	}
	snprintf(m->help, sizeof(m->help), "%s", help != NULL ? help : "");
	for (i = 0; m->help[i] != '\0'; i++) {
		if (m->help[i] == '\n' || m->help[i] == '\r') {
			m->help[i] = ' '; // HELP is one line
		}
	}
	ms->m[ms->n++] = m;
	ms->dirty = true;
	*mp = m;
	return ARB_OK;
}

int
arb_metric_counter(arb_ctx *ctx, const char *name, const char *label,
    const char *help, arb_metric **mp)
{
	return metric_new(ctx, ARB_METRIC_COUNTER, name, label, help, mp);
}

int
arb_metric_gauge(arb_ctx *ctx, const char *name, const char *label,
    const char *help, arb_metric **mp)
{
	return metric_new(ctx, ARB_METRIC_GAUGE, name, label, help, mp);
}

int
arb_metric_histogram(arb_ctx *ctx, const char *name, const char *label,
    const char *help, const double *bounds, size_t nbounds, arb_metric **mp)
{
	arb_metric *m;
	size_t      i;
	int         rv;

	if (bounds == NULL || nbounds == 0) {
		bounds = default_bounds;
		nbounds = ARB_ARRAY_SIZE(default_bounds);
	}
	if (nbounds > ARB_METRIC_BUCKETS_MAX) {
		return ARB_EINVAL;
	}
	for (i = 0; i < nbounds; i++) {
		if (bounds[i] != bounds[i]
		    || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
			return ARB_EINVAL; // NaN, or not increasing
		}
	}
	rv = metric_new(ctx, ARB_METRIC_HISTOGRAM, name, label, help, &m);
	if (rv != ARB_OK) {
		return rv;
	}
	memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
	m->nbounds = nbounds;
	*mp = m;
	return ARB_OK;
}

void
arb_metric_add(arb_metric *m, uint64_t n)
{
	if (m == NULL) {
		return;
	}
	if (m->type == ARB_METRIC_COUNTER) {
		m->counter += n;
	} else if (m->type == ARB_METRIC_GAUGE) {
		m->gauge += (double) n;
	} else {
		return;
	}
	m->set->dirty = true;
}

void
arb_metric_set(arb_metric *m, double v)
{
	if (m == NULL || m->type != ARB_METRIC_GAUGE) {
		return;
	}
	m->gauge = v;
	m->set->dirty = true;
}

void
arb_metric_observe(arb_metric *m, double v)
{
	size_t i;

	if (m == NULL || m->type != ARB_METRIC_HISTOGRAM) {
		return;
	}
	for (i = 0; i < m->nbounds && !(v <= m->bounds[i]); i++) { }
	m->buckets[i]++;
	m->count++;
	m->sum += v;
	m->set->dirty = true;
}

bool
arb__metrics_dirty(const struct arb__metrics *ms)
{
	return ms != NULL && ms->dirty;
}

// metric_encode writes one series:
//   [type, name, label key | nil, label value | nil, help, value,
//    count, [bounds...], [cumulative bucket counts..., +Inf]]
// value is the counter (uint), the gauge (float64) or the histogram's sum
// (float64); count, bounds and buckets are 0 / empty but for histograms.
static int
metric_encode(const arb_metric *m, arb__buf *b)
{
	uint64_t cum = 0;
	size_t   i;
	int      rv = 0;

	rv |= arb__mp_put_array(b, 9);
	rv |= arb__mp_put_uint(b, (uint64_t) m->type);
	rv |= arb__mp_put_str(b, m->name, strlen(m->name));
	if (m->lkey[0] != '\0') {
		rv |= arb__mp_put_str(b, m->lkey, strlen(m->lkey));
		rv |= arb__mp_put_str(b, m->lval, strlen(m->lval));
	} else {
		rv |= arb__mp_put_nil(b);
		rv |= arb__mp_put_nil(b);
	}
	rv |= arb__mp_put_str(b, m->help, strlen(m->help));
	switch (m->type) {
	case ARB_METRIC_COUNTER:
		rv |= arb__mp_put_uint(b, m->counter);
		break;
	case ARB_METRIC_GAUGE:
		rv |= arb__mp_put_double(b, m->gauge);
		break;
	default:
		rv |= arb__mp_put_double(b, m->sum);
		break;
	}
	rv |= arb__mp_put_uint(b, m->count);
	rv |= arb__mp_put_array(b, (uint32_t) m->nbounds);
	for (i = 0; i < m->nbounds; i++) {
		rv |= arb__mp_put_double(b, m->bounds[i]);
	}
	if (m->type == ARB_METRIC_HISTOGRAM) {
		rv |= arb__mp_put_array(b, (uint32_t) m->nbounds + 1);
		for (i = 0; i <= m->nbounds; i++) {
			cum += m->buckets[i];
			rv |= arb__mp_put_uint(b, cum);
		}
	} else {
		rv |= arb__mp_put_array(b, 0);
	}
	return rv != 0 ? ARB_ENOMEM : ARB_OK;
}

int
arb__metrics_encode(struct arb__metrics *ms, arb__buf *out)
{
	size_t i, n = ms != NULL ? ms->n : 0;
	int    rv;

	arb__buf_reset(out);
	if ((rv = arb__mp_put_array(out, (uint32_t) n)) != ARB_OK) {
		return rv;
	}
	for (i = 0; i < n; i++) {
		if ((rv = metric_encode(ms->m[i], out)) != ARB_OK) {
			return rv;
		}
	}
	if (ms != NULL) {
		ms->dirty = false;
	}
	return ARB_OK;
}

void
arb__metrics_free(struct arb__metrics *ms)
{
	size_t i;

	if (ms == NULL) {
		return;
	}
	for (i = 0; i < ms->n; i++) {
		arb__free(ms->m[i]);
	}
	arb__free(ms);
}
