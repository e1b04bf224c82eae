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
	if (help != NULL && strlen(help) >= sizeof(m->help)) {
		// Cut between characters, not inside one.
		m->help[arb__utf8_cut(m->help, sizeof(m->help) - 1)] = '\0';
	}
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

// name_valid checks a declared name on the node side: what metric_new
// accepts (label names when label is true).
static bool
name_valid(const arb__val *v, bool label)
{
	if (v->type != ARB__V_STR || !name_ok(v->via.s, v->n, !label)
	    || strlen(v->via.s) != v->n) {
		return false;
	}
	if (label) {
		return strcmp(v->via.s, "path") != 0
		    && strcmp(v->via.s, "le") != 0
		    && strncmp(v->via.s, "__", 2) != 0;
	}
	return strncmp(v->via.s, "arbor_", 6) != 0;
}

// text_valid: a string of at most max bytes, no NUL, on one line.
static bool
text_valid(const arb__val *v, size_t max)
{
	return v->type == ARB__V_STR && v->n <= max && strlen(v->via.s) == v->n
	    && strpbrk(v->via.s, "\r\n") == NULL;
}

static bool
num_valid(const arb__val *v, double *out)
{
	if (v->type == ARB__V_FLOAT) {
		*out = v->via.f;
	} else if (v->type == ARB__V_UINT) {
		*out = (double) v->via.u;
	} else if (v->type == ARB__V_INT) {
		*out = (double) v->via.i;
	} else {
		return false;
	}
	return true;
}

// series_decode checks one series (the layout of metric_encode) and
// fills info, bounds and buckets.
static bool
series_decode(
    const arb__val *s, arb_metric_info *in, double *bounds, uint64_t *buckets)
{
	const arb__val *f, *b, *k;
	uint64_t        prev = 0;
	uint32_t        i;

	if (s->type != ARB__V_ARRAY || s->n != 9) {
		return false;
	}
	f = s->via.v;
	if (f[0].type != ARB__V_UINT || f[0].via.u < ARB_METRIC_COUNTER
	    || f[0].via.u > ARB_METRIC_HISTOGRAM || !name_valid(&f[1], false)
	    || !text_valid(&f[4], ARB_METRIC_HELP_MAX)) {
		return false;
	}
	memset(in, 0, sizeof(*in));
	in->type = (arb_metric_type) f[0].via.u;
	in->name = f[1].via.s;
	in->help = f[4].via.s;
	if (f[2].type != ARB__V_NIL || f[3].type != ARB__V_NIL) {
		if (!name_valid(&f[2], true)
		    || !text_valid(&f[3], ARB_METRIC_VALUE_MAX)) {
			return false;
		}
		in->label_key = f[2].via.s;
		in->label_value = f[3].via.s;
	}
	if (!num_valid(&f[5], &in->value) || f[6].type != ARB__V_UINT
	    || f[7].type != ARB__V_ARRAY || f[8].type != ARB__V_ARRAY) {
		return false;
	}
	if (in->type != ARB_METRIC_HISTOGRAM) {
		return f[7].n == 0 && f[8].n == 0;
	}
	in->count = f[6].via.u;
	b = f[7].via.v;
	k = f[8].via.v;
	if (f[7].n > ARB_METRIC_BUCKETS_MAX || f[8].n != f[7].n + 1) {
		return false;
	}
	for (i = 0; i < f[7].n; i++) {
		if (!num_valid(&b[i], &bounds[i])
		    || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
			return false;
		}
	}
	for (i = 0; i < f[8].n; i++) {
		// Cumulative: never decreasing, the last one is the count.
		if (k[i].type != ARB__V_UINT || k[i].via.u < prev) {
			return false;
		}
		buckets[i] = prev = k[i].via.u;
	}
	if (prev != in->count) {
		return false;
	}
	in->nbounds = f[7].n;
	in->bounds = bounds;
	in->buckets = buckets;
	return true;
}

void
arb__mview_copy(arb__mview *v, const void *blob, size_t len)
{
	arb__buf_reset(&v->copy);
	if (len > 0 && arb__buf_append(&v->copy, blob, len) != ARB_OK) {
		arb__buf_reset(&v->copy);
	}
}

size_t
arb__mview_decode(arb__mview *v, const void *blob, size_t len)
{
	size_t   n = 0;
	uint32_t i;

	if (blob == NULL) {
		blob = v->copy.data;
		len = v->copy.len;
	}
	arb__free(v->tree);
	v->tree = NULL;
	if (len == 0 || arb__val_decode(blob, len, &v->tree) != ARB_OK
	    || v->tree->type != ARB__V_ARRAY) {
		return 0;
	}
	for (i = 0; i < v->tree->n && n < ARB_METRIC_MAX; i++) {
		if (series_decode(&v->tree->via.v[i], &v->info[n],
		        v->bounds[n], v->buckets[n])) {
			n++;
		}
	}
	return n;
}

void
arb__mview_free(arb__mview *v)
{
	if (v == NULL) {
		return;
	}
	arb__free(v->tree);
	arb__buf_fini(&v->copy);
	arb__free(v);
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
