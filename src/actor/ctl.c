// SPDX-License-Identifier: MIT
// ctl.c -- the control channel between a node and a process actor: its
// messages in msgpack (docs/wire.md, "Control channel") and the datagram
// I/O on the socketpair.
//
// A datagram is one msgpack array [version, op, fields...], the fields
// fixed by the op (and, for a service request, by the request's op).  The
// decoder takes nothing on trust: a process actor runs code the node
// does not control, so a control message is checked as strictly as a
// frame from a stranger, and one that fails is rejected whole.  The
// msgpack bytes themselves are written and read by codec.c (arb__mp_*).
// Thread: any (one fd, one thread).

#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

// --- encoding ------------------------------------------------------------
// Each writer returns non-zero once a put failed (ARB_ENOMEM, or
// ARB_EMSGSIZE for a string over 4 GiB): arb__ctl_encode rolls back.

static int
ctl_put_head(arb__buf *b, uint32_t n, arb__ctl_op op)
{
	return arb__mp_put_array(b, n) ||
	    arb__mp_put_uint(b, ARB__CTL_VERSION) ||
	    arb__mp_put_uint(b, (uint64_t) op);
}

static int
ctl_put_cstr(arb__buf *b, const char *s, size_t cap)
{
	return arb__mp_put_str(b, s, strnlen(s, cap - 1));
}

static int
ctl_put_exit(arb__buf *b, const arb_exit *e)
{
	return arb__mp_put_array(b, 3) ||
	    arb__mp_put_uint(b, (uint64_t) e->kind) ||
	    arb__mp_put_int(b, e->code) ||
	    ctl_put_cstr(b, e->text, sizeof(e->text));
}

static int
ctl_put_stats(arb__buf *b, const arb_stats *st)
{
	return arb__mp_put_array(b, 12) || arb__mp_put_uint(b, st->msgs_in) ||
	    arb__mp_put_uint(b, st->msgs_out) ||
	    arb__mp_put_uint(b, st->batches_in) ||
	    arb__mp_put_uint(b, st->batches_out) ||
	    arb__mp_put_uint(b, st->rejected) ||
	    arb__mp_put_uint(b, st->late_replies) ||
	    arb__mp_put_uint(b, st->dead_letters) ||
	    arb__mp_put_uint(b, st->send_eagain) ||
	    arb__mp_put_uint(b, st->stale) || arb__mp_put_uint(b, st->lost) ||
	    arb__mp_put_uint(b, st->published) ||
	    arb__mp_put_uint(b, st->unheard);
}

// ctl_req_fields is the number of fields a request of op carries after
// its op, or -1 for an op that does not exist.
static int
ctl_req_fields(arb__req_op op)
{
	switch (op) {
	case ARB__REQ_REGISTER:
	case ARB__REQ_WHEREIS:
	case ARB__REQ_MONITOR:
	case ARB__REQ_DEMONITOR:
	case ARB__REQ_LINK:
	case ARB__REQ_UNLINK:
	case ARB__REQ_TRAP_EXIT:
	case ARB__REQ_SUBSCRIBE:
	case ARB__REQ_UNSUBSCRIBE:
	case ARB__REQ_SUBSCRIBERS:
		return 1;
	case ARB__REQ_START_CHILD:
		return 2;
	}
	return -1;
}

// ctl_put_pid writes a pid: its id for one of this node, else the array
// [id, node, creation] (another node's, from arb_whereis("name@node") or
// for a monitor of it), as envelopes do (docs/wire.md).
static int
ctl_put_pid(arb__buf *b, arb_pid p)
{
	if (arb__pid_local(p)) {
		return arb__mp_put_uint(b, p.id);
	}
	return arb__mp_put_array(b, 3) || arb__mp_put_uint(b, p.id) ||
	    arb__mp_put_uint(b, p.node) || arb__mp_put_uint(b, p.creation);
}

static int
ctl_put_req(arb__buf *b, const arb__req *q)
{
	int n = ctl_req_fields(q->op);

	if (n < 0) {
		return ARB_EINVAL;
	}
	if (ctl_put_head(b, (uint32_t) (3 + n), ARB__CTL_REQ) ||
	    arb__mp_put_uint(b, (uint64_t) q->op)) {
		return ARB_ENOMEM;
	}
	switch (q->op) {
	case ARB__REQ_REGISTER:
	case ARB__REQ_WHEREIS:
		return ctl_put_cstr(b, q->name, sizeof(q->name));
	case ARB__REQ_SUBSCRIBE:
	case ARB__REQ_UNSUBSCRIBE:
	case ARB__REQ_SUBSCRIBERS:
		return ctl_put_cstr(b, q->name, ARB_TOPIC_MAX);
	case ARB__REQ_MONITOR:
	case ARB__REQ_LINK:
	case ARB__REQ_UNLINK:
		return ctl_put_pid(b, q->target);
	case ARB__REQ_DEMONITOR:
		return arb__mp_put_uint(b, q->ref);
	case ARB__REQ_TRAP_EXIT:
		return arb__mp_put_bool(b, q->flag);
	case ARB__REQ_START_CHILD:
		return ctl_put_cstr(b, q->name, sizeof(q->name)) ||
		    arb__mp_put_bin(b, q->arg, q->arg_len);
	}
	return ARB_EINVAL;
}

static int
ctl_put_init(arb__buf *b, const arb__ctl_init *in)
{
	return ctl_put_head(b, 13, ARB__CTL_INIT) ||
	    arb__mp_put_uint(b, in->pid.id) ||
	    ctl_put_cstr(b, in->path, sizeof(in->path)) ||
	    ctl_put_cstr(b, in->type, sizeof(in->type)) ||
	    arb__mp_put_uint(b, in->max_msg) ||
	    arb__mp_put_int(b, in->hb_ms) ||
	    arb__mp_put_int(b, in->log_level) ||
	    ctl_put_cstr(b, in->addr.run_dir, sizeof(in->addr.run_dir)) ||
	    ctl_put_cstr(b, in->addr.node, sizeof(in->addr.node)) ||
	    arb__mp_put_uint(b, in->addr.node_id) ||
	    arb__mp_put_uint(b, in->addr.creation) ||
	    arb__mp_put_bin(b, in->arg, in->arg_len);
}

int
arb__ctl_encode(arb__buf *out, const arb__ctl_msg *m)
{
	size_t saved = out->len;
	int    rv;

	switch (m->op) {
	case ARB__CTL_INIT:
		rv = ctl_put_init(out, &m->init);
		break;
	case ARB__CTL_STOP:
	case ARB__CTL_READY:
	case ARB__CTL_IGNORE:
		rv = ctl_put_head(out, 2, m->op);
		break;
	case ARB__CTL_KILLSIG:
	case ARB__CTL_FAIL:
	case ARB__CTL_EXIT:
		rv = ctl_put_head(out, 3, m->op)
		    || ctl_put_exit(out, &m->exit);
		break;
	case ARB__CTL_REP:
		if (m->req.nlist > ARB_TOPIC_SUBS_MAX) {
			return ARB_EINVAL;
		}
		rv = ctl_put_head(out, m->req.nlist > 0 ? 6 : 5, m->op) ||
		    arb__mp_put_int(out, m->req.rv) ||
		    ctl_put_pid(out, m->req.pid) ||
		    arb__mp_put_uint(out, m->req.ref) ||
		    (m->req.nlist > 0 &&
		        arb__mp_put_bin(out, m->req.list, m->req.nlist * 8));
		break;
	case ARB__CTL_HB:
		rv = ctl_put_head(out, m->metrics_len > 0 ? 4 : 3, m->op) ||
		    ctl_put_stats(out, &m->stats) ||
		    (m->metrics_len > 0 &&
		        arb__mp_put_bin(out, m->metrics, m->metrics_len));
		break;
	case ARB__CTL_REQ:
		rv = ctl_put_req(out, &m->req);
		break;
	default:
		return ARB_EINVAL;
	}
	if (rv == ARB_EINVAL) {
		out->len = saved;
		return rv;
	}
	if (rv != 0) {
		out->len = saved;
		return ARB_ENOMEM;
	}
	if (out->len - saved > ARB__CTL_MAX) {
		out->len = saved;
		return ARB_EMSGSIZE;
	}
	return ARB_OK;
}

// --- decoding ------------------------------------------------------------

// ctl_get_cstr reads a str of 1..cap-1 bytes (0..cap-1 with empty_ok) and
// no NUL into buf, NUL-terminated.
static bool
ctl_get_cstr(arb__mp_rd *r, char *buf, size_t cap, bool empty_ok)
{
	const uint8_t *s;
	size_t         n;

	if (!arb__mp_get_str(r, &s, &n) || n >= cap || (n == 0 && !empty_ok) ||
	    memchr(s, '\0', n) != NULL) {
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

static bool
ctl_get_exit(arb__mp_rd *r, arb_exit *e)
{
	uint32_t n;
	uint64_t kind;
	int64_t  code;

	// Update the kind bound when arb_exit_kind grows.
	if (!arb__mp_get_array(r, &n) || n != 3 ||
	    !arb__mp_get_uint(r, ARB_EXIT_NOPROC, &kind) ||
	    !arb__mp_get_int(r, INT_MIN, INT_MAX, &code) ||
	    !ctl_get_cstr(r, e->text, sizeof(e->text), true)) {
		return false;
	}
	e->kind = (arb_exit_kind) kind;
	e->code = (int) code;
	return true;
}

static bool
ctl_get_stats(arb__mp_rd *r, arb_stats *st)
{
	uint64_t *f[] = { &st->msgs_in, &st->msgs_out, &st->batches_in,
		&st->batches_out, &st->rejected, &st->late_replies,
		&st->dead_letters, &st->send_eagain, &st->stale, &st->lost,
		&st->published, &st->unheard };
	uint32_t  n;
	size_t    i;

	if (!arb__mp_get_array(r, &n) || n != ARB_ARRAY_SIZE(f)) {
		return false;
	}
	for (i = 0; i < ARB_ARRAY_SIZE(f); i++) {
		if (!arb__mp_get_uint(r, UINT64_MAX, f[i])) {
			return false;
		}
	}
	return true;
}

// ctl_get_pid reads a pid as ctl_put_pid writes it: an id of this node,
// or [id, node, creation] of another node (node not 0).
static bool
ctl_get_pid(arb__mp_rd *r, arb_pid *pid)
{
	uint64_t id, node, creation;
	uint32_t n;

	if (r->left > 0
	    && ((r->p[0] & 0xF0u) == 0x90u || r->p[0] == 0xDCu
	        || r->p[0] == 0xDDu)) {
		if (!arb__mp_get_array(r, &n) || n != 3
		    || !arb__mp_get_uint(r, UINT64_MAX, &id)
		    || !arb__mp_get_uint(r, UINT32_MAX, &node) || node == 0
		    || !arb__mp_get_uint(r, UINT32_MAX, &creation)) {
			return false;
		}
		pid->id = id;
		pid->node = (uint32_t) node;
		pid->creation = (uint32_t) creation;
		return true;
	}
	if (!arb__mp_get_uint(r, UINT64_MAX, &id)) {
		return false;
	}
	*pid = arb__pid_of(id);
	return true;
}

// ctl_get_req reads a request's op and its fields; nfields counts what
// the array holds after the message op.
static bool
ctl_get_req(arb__mp_rd *r, uint32_t nfields, arb__req *q)
{
	uint64_t       op;
	const uint8_t *arg;
	size_t         len;

	if (!arb__mp_get_uint(r, ARB__REQ_SUBSCRIBERS, &op) || op == 0 ||
	    (int) nfields != 1 + ctl_req_fields((arb__req_op) op)) {
		return false;
	}
	memset(q, 0, sizeof(*q));
	q->op = (arb__req_op) op;
	switch (q->op) {
	case ARB__REQ_REGISTER:
	case ARB__REQ_WHEREIS:
		return ctl_get_cstr(r, q->name, sizeof(q->name), false);
	case ARB__REQ_SUBSCRIBE:
	case ARB__REQ_UNSUBSCRIBE:
	case ARB__REQ_SUBSCRIBERS:
		return ctl_get_cstr(r, q->name, ARB_TOPIC_MAX, false);
	case ARB__REQ_MONITOR:
	case ARB__REQ_LINK:
	case ARB__REQ_UNLINK:
		return ctl_get_pid(r, &q->target);
	case ARB__REQ_DEMONITOR:
		return arb__mp_get_uint(r, UINT64_MAX, &q->ref);
	case ARB__REQ_TRAP_EXIT:
		return arb__mp_get_bool(r, &q->flag);
	case ARB__REQ_START_CHILD:
		if (!ctl_get_cstr(r, q->name, sizeof(q->name), false)
		    || !arb__mp_get_bin(r, &arg, &len)
		    || len > ARB__REQ_ARG_MAX) {
			return false;
		}
		q->arg     = len > 0 ? arg : NULL;
		q->arg_len = len;
		return true;
	}
	return false;
}

static bool
ctl_get_init(arb__mp_rd *r, arb__ctl_init *in)
{
	int64_t        hb, level;
	uint64_t       max_msg, node_id, creation;
	const uint8_t *arg;
	size_t         len;

	memset(in, 0, sizeof(*in));
	if (!ctl_get_pid(r, &in->pid) ||
	    arb__pid_kind(in->pid) != ARB__KIND_PROCESS ||
	    !ctl_get_cstr(r, in->path, sizeof(in->path), false) ||
	    !ctl_get_cstr(r, in->type, sizeof(in->type), false) ||
	    !arb__mp_get_uint(r, UINT32_MAX, &max_msg) || max_msg == 0 ||
	    !arb__mp_get_int(r, 1, ARB__HB_MS, &hb) ||
	    !arb__mp_get_int(r, ARB_LOG_ERROR, ARB_LOG_DEBUG, &level) ||
	    !ctl_get_cstr(r, in->addr.run_dir, sizeof(in->addr.run_dir),
	        false) ||
	    !ctl_get_cstr(r, in->addr.node, sizeof(in->addr.node), false) ||
	    !arb__mp_get_uint(r, UINT32_MAX, &node_id) || node_id == 0 ||
	    !arb__mp_get_uint(r, UINT32_MAX, &creation) || creation == 0 ||
	    !arb__mp_get_bin(r, &arg, &len)) {
		return false;
	}
	in->addr.node_id  = (uint32_t) node_id;
	in->addr.creation = (uint32_t) creation;
	in->max_msg      = (uint32_t) max_msg;
	in->hb_ms        = (int) hb;
	in->log_level    = (int) level;
	in->addr.in_node = false;
	in->arg          = len > 0 ? arg : NULL;
	in->arg_len      = len;
	return true;
}

// ctl_fields is how many fields follow the op of a message of op (a
// request: at least its own op), or -1 when op does not travel to dir.
static int
ctl_fields(uint64_t op, arb__ctl_dir dir)
{
	bool to_actor = dir == ARB__CTL_TO_ACTOR;

	switch (op) {
	case ARB__CTL_INIT:
		return to_actor ? 11 : -1;
	case ARB__CTL_STOP:
		return to_actor ? 0 : -1;
	case ARB__CTL_KILLSIG:
		return to_actor ? 1 : -1;
	case ARB__CTL_REP:
		return to_actor ? 3 : -1;
	case ARB__CTL_READY:
	case ARB__CTL_IGNORE:
		return to_actor ? -1 : 0;
	case ARB__CTL_FAIL:
	case ARB__CTL_EXIT:
	case ARB__CTL_HB:
		return to_actor ? -1 : 1;
	case ARB__CTL_REQ:
		return to_actor ? -1 : 1; // or more: checked by ctl_get_req
	}
	return -1;
}

// ctl_count_ok checks the array's size n against the fields op wants:
// a request has at least its own op (ctl_get_req checks the rest), a
// heartbeat may add its metrics.
static bool
ctl_count_ok(uint64_t op, uint32_t n, int want)
{
	if (op == ARB__CTL_REQ) {
		return n >= 3;
	}
	if (op == ARB__CTL_HB) {
		return n == 3 || n == 4;
	}
	if (op == ARB__CTL_REP) {
		return n == 5 || n == 6; // a list of subscribers may follow
	}
	return n == 2u + (unsigned) want;
}

int
arb__ctl_decode(
    arb__ctl_msg *m, const void *buf, size_t len, arb__ctl_dir dir)
{
	arb__mp_rd r = { buf, buf != NULL ? len : 0 };
	uint32_t   n;
	uint64_t   ver, op;
	int        want;
	int64_t    rv  = 0;
	const uint8_t *bin = NULL;
	bool       ok;

	if (!arb__mp_get_array(&r, &n) || n < 2
	    || !arb__mp_get_uint(&r, UINT64_MAX, &ver)
	    || ver != ARB__CTL_VERSION
	    || !arb__mp_get_uint(&r, UINT64_MAX, &op)
	    || (want = ctl_fields(op, dir)) < 0
	    || !ctl_count_ok(op, n, want)) {
		return ARB_EBADMSG;
	}
	switch ((arb__ctl_op) op) {
	case ARB__CTL_INIT:
		ok = ctl_get_init(&r, &m->init);
		break;
	case ARB__CTL_KILLSIG:
	case ARB__CTL_FAIL:
	case ARB__CTL_EXIT:
		ok = ctl_get_exit(&r, &m->exit);
		break;
	case ARB__CTL_REP:
		memset(&m->req, 0, sizeof(m->req));
		ok = arb__mp_get_int(&r, 0, INT_MAX, &rv) &&
		    ctl_get_pid(&r, &m->req.pid) &&
		    arb__mp_get_uint(&r, UINT64_MAX, &m->req.ref) &&
		    (n == 5 ||
		        (arb__mp_get_bin(&r, &bin, &m->req.nlist) &&
		            m->req.nlist > 0 && m->req.nlist % 8 == 0 &&
		            m->req.nlist / 8 <= ARB_TOPIC_SUBS_MAX));
		m->req.rv = (int) rv;
		// The list is borrowed from the datagram (arb__req).
		m->req.list  = n == 6 ? (uint8_t *) (uintptr_t) bin : NULL;
		m->req.nlist = n == 6 ? m->req.nlist / 8 : 0;
		break;
	case ARB__CTL_HB:
		m->metrics     = NULL;
		m->metrics_len = 0;
		ok = ctl_get_stats(&r, &m->stats) &&
		    (n == 3 || (arb__mp_get_bin(&r, &bin, &m->metrics_len) &&
		                   m->metrics_len > 0));
		m->metrics = m->metrics_len > 0 ? bin : NULL;
		break;
	case ARB__CTL_REQ:
		ok = ctl_get_req(&r, n - 2, &m->req);
		break;
	default: // STOP, READY, IGNORE: no fields
		ok = true;
		break;
	}
	if (!ok || r.left != 0) {
		return ARB_EBADMSG;
	}
	m->op = (arb__ctl_op) op;
	return ARB_OK;
}

// --- datagrams -----------------------------------------------------------

int
arb__ctl_send(int fd, const arb__ctl_msg *m)
{
	arb__buf b = { 0 };
	ssize_t  w;
	int      rv;

	if ((rv = arb__ctl_encode(&b, m)) != ARB_OK) {
		arb__buf_fini(&b);
		return rv;
	}
	do {
		w = send(fd, b.data, b.len, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	rv = w < 0 ? arb__err_from_errno(errno) : ARB_OK;
	arb__buf_fini(&b);
	return rv;
}

int
arb__ctl_send_op(int fd, arb__ctl_op op)
{
	arb__ctl_msg m;

	assert(op == ARB__CTL_STOP || op == ARB__CTL_READY ||
	    op == ARB__CTL_IGNORE);
	m.op = op;
	return arb__ctl_send(fd, &m);
}

ssize_t
arb__ctl_recv(int fd, void *buf, size_t len)
{
	ssize_t r;

	// MSG_TRUNC: the datagram's real length, so an oversized one is
	// known as such (and discarded) instead of read cut short.
	do {
		r = recv(fd, buf, len, MSG_DONTWAIT | MSG_TRUNC);
	} while (r < 0 && errno == EINTR);
	if (r > (ssize_t) len) {
		errno = EMSGSIZE;
		return -1;
	}
	return r;
}
