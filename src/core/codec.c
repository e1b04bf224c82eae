// SPDX-License-Identifier: MIT
// codec.c -- envelope <-> msgpack wire format v2 (docs/wire.md).
//
// An envelope is the msgpack array [2, flags, from, to, tag, ref, body]
// with body a msgpack bin; a batch is envelopes concatenated.  A pid is
// one uint64 when it belongs to this node, else [id, node, creation].
// Encoding is on the hot message path, so the envelope header is written
// by hand in the smallest msgpack form of each integer (what msgpack-c
// itself emits); the rarer exit and error bodies go through msgpack-c's
// packer.  Decoding is hand-written, zero-copy and paranoid: every length
// is checked against the bytes left before anything is read, integers may
// come in any msgpack width (peers need not pack minimally) but must fit
// their field, and nothing outside [batch, batch+len) is ever read.  This
// is the only file of libarbor that includes <msgpack.h> besides
// arbor/pack.h.
// Thread: any (a decoder or buffer belongs to one thread at a time).

#include "arb_impl.h"

#include <limits.h>
#include <string.h>

#include <msgpack.h>

// Largest pid: [id (uint64), node (uint32), creation (uint32)].
#define CODEC_PID_MAX (1 + 9 + 5 + 5)

// Largest envelope header: fixarray, version, flags (uint32), from, to,
// tag (uint32), ref (uint64) and a bin32 header.
#define CODEC_HDR_MAX (1 + 1 + 5 + 2 * CODEC_PID_MAX + 5 + 9 + 5)

// Largest exit/error body besides its text: array, who (a pid), kind,
// code (int32) and a str32 header.
#define CODEC_BODY_HDR_MAX (1 + CODEC_PID_MAX + 5 + 5 + 5)

// A bounded reader over untrusted bytes.  Helpers return false (and leave
// the reader in an unspecified state) on malformed or truncated input.
typedef struct codec_rd {
	const uint8_t *p;
	size_t         left;
} codec_rd;

// --- encoding ------------------------------------------------------------

static inline uint8_t *
codec_put16(uint8_t *p, uint8_t code, uint16_t v)
{
	p[0] = code;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) v;
	return p + 3;
}

static inline uint8_t *
codec_put32(uint8_t *p, uint8_t code, uint32_t v)
{
	p[0] = code;
	p[1] = (uint8_t) (v >> 24);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 8);
	p[4] = (uint8_t) v;
	return p + 5;
}

// codec_put_uint writes v in its smallest msgpack unsigned form.
static inline uint8_t *
codec_put_uint(uint8_t *p, uint64_t v)
{
	if (v < 0x80) {
		*p = (uint8_t) v;
		return p + 1;
	}
	if (v <= 0xff) {
		p[0] = 0xcc;
		p[1] = (uint8_t) v;
		return p + 2;
	}
	if (v <= 0xffff) {
		return codec_put16(p, 0xcd, (uint16_t) v);
	}
	if (v <= 0xffffffff) {
		return codec_put32(p, 0xce, (uint32_t) v);
	}
	p[0] = 0xcf;
	p[1] = (uint8_t) (v >> 56);
	p[2] = (uint8_t) (v >> 48);
	p[3] = (uint8_t) (v >> 40);
	p[4] = (uint8_t) (v >> 32);
	p[5] = (uint8_t) (v >> 24);
	p[6] = (uint8_t) (v >> 16);
	p[7] = (uint8_t) (v >> 8);
	p[8] = (uint8_t) v;
	return p + 9;
}

// codec_put_pid writes a pid of this node as its id alone, any other as
// [id, node, creation]; with wide (an envelope for another node) this
// node's pids too, with this node's name hash and incarnation.
static inline uint8_t *
codec_put_pid(uint8_t *p, arb_pid pid, bool wide)
{
	bool local = arb__pid_local(pid);

	if (local && !wide) {
		return codec_put_uint(p, pid.id);
	}
	*p++ = 0x93; // fixarray of 3
	p    = codec_put_uint(p, pid.id);
	p    = codec_put_uint(p, local ? arb__local.node : pid.node);
	return codec_put_uint(p, local ? arb__local.creation : pid.creation);
}

size_t
arb__codec_size(const arb_msg *m)
{
	return CODEC_HDR_MAX + m->len;
}

size_t
arb__codec_put(uint8_t *start, const arb_msg *m)
{
	uint8_t *p   = start;
	size_t   len = m->len;

	p[0] = 0x97; // fixarray of 7
	p[1] = ARB__WIRE_VERSION;
	p    = codec_put_uint(p + 2, m->flags);
	// An envelope for another node names every pid with its node.
	p    = codec_put_pid(p, m->from, !arb__pid_local(m->to));
	p    = codec_put_pid(p, m->to, !arb__pid_local(m->to));
	p    = codec_put_uint(p, m->tag);
	p    = codec_put_uint(p, m->ref);
	if (len <= 0xff) {
		p[0] = 0xc4;
		p[1] = (uint8_t) len;
		p += 2;
	} else if (len <= 0xffff) {
		p = codec_put16(p, 0xc5, (uint16_t) len);
	} else {
		p = codec_put32(p, 0xc6, (uint32_t) len);
	}
	if (len > 0) {
		memcpy(p, m->body, len);
		p += len;
	}
	return (size_t) (p - start);
}

int
arb__codec_encode(arb__buf *out, const arb_msg *m)
{
	int rv;

	// arb_msg_alloc caps bodies at ARB_MSG_BODY_MAX; a bin32 length is
	// the wire's own hard limit.
	if ((uint64_t) m->len > UINT32_MAX) {
		return ARB_EMSGSIZE;
	}
	if ((rv = arb__buf_reserve(out, arb__codec_size(m))) != 0) {
		return rv; // out is unchanged
	}
	out->len += arb__codec_put(out->data + out->len, m);
	return ARB_OK;
}

// codec_write is msgpack-c's write callback: append to an arb__buf.
static int
codec_write(void *data, const char *buf, size_t len)
{
	return arb__buf_append(data, buf, len) == ARB_OK ? 0 : -1;
}

// codec_pack_pid packs a pid as codec_put_pid writes it (wide: always
// [id, node, creation], for a body that leaves this node).
static int
codec_pack_pid(msgpack_packer *pk, arb_pid pid, bool wide)
{
	if (!wide && arb__pid_local(pid)) {
		return msgpack_pack_uint64(pk, pid.id);
	}
	if (pid.node == 0) {
		pid.node = arb__local.node; // this node's, named
	}
	if (msgpack_pack_array(pk, 3) != 0 ||
	    msgpack_pack_uint64(pk, pid.id) != 0 ||
	    msgpack_pack_uint32(pk, pid.node) != 0) {
		return -1;
	}
	return msgpack_pack_uint32(pk, pid.creation);
}

static int codec_encode_exit(
    arb__buf *out, arb_pid who, const arb_exit *e, bool wide);

int
arb__codec_encode_exit(arb__buf *out, arb_pid who, const arb_exit *e)
{
	return codec_encode_exit(out, who, e, false);
}

int
arb__codec_encode_exit_wide(arb__buf *out, arb_pid who, const arb_exit *e)
{
	return codec_encode_exit(out, who, e, true);
}

static int
codec_encode_exit(arb__buf *out, arb_pid who, const arb_exit *e, bool wide)
{
	msgpack_packer pk;
	size_t         saved = out->len;
	size_t         tlen  = strnlen(e->text, sizeof(e->text));
	int            rv;

	// Reserve everything first so that the packer never allocates and
	// a failure leaves out exactly as it was.
	if ((rv = arb__buf_reserve(out, CODEC_BODY_HDR_MAX + tlen)) != 0) {
		return rv;
	}
	msgpack_packer_init(&pk, out, codec_write);
	if (msgpack_pack_array(&pk, 4) != 0 ||
	    codec_pack_pid(&pk, who, wide) != 0 ||
	    msgpack_pack_unsigned_int(&pk, (unsigned) e->kind) != 0 ||
	    msgpack_pack_int(&pk, e->code) != 0 ||
	    msgpack_pack_str_with_body(&pk, e->text, tlen) != 0) {
		out->len = saved;
		return ARB_ENOMEM;
	}
	return ARB_OK;
}

int
arb__codec_encode_error(arb__buf *out, int code, const char *text)
{
	msgpack_packer pk;
	size_t         saved = out->len;
	size_t         tlen;
	int            rv;

	if (text == NULL) {
		text = "";
	}
	tlen = strlen(text);
	if ((uint64_t) tlen > UINT32_MAX) {
		return ARB_EMSGSIZE;
	}
	if ((rv = arb__buf_reserve(out, CODEC_BODY_HDR_MAX + tlen)) != 0) {
		return rv;
	}
	msgpack_packer_init(&pk, out, codec_write);
	if (msgpack_pack_array(&pk, 2) != 0 ||
	    msgpack_pack_int(&pk, code) != 0 ||
	    msgpack_pack_str_with_body(&pk, text, tlen) != 0) {
		out->len = saved;
		return ARB_ENOMEM;
	}
	return ARB_OK;
}

// --- decoding ------------------------------------------------------------

static inline uint16_t
codec_get16(const uint8_t *p)
{
	return (uint16_t) (((unsigned) p[0] << 8) | p[1]);
}

static inline uint32_t
codec_get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
	    ((uint32_t) p[2] << 8) | p[3];
}

static inline uint64_t
codec_get64(const uint8_t *p)
{
	return ((uint64_t) codec_get32(p) << 32) | codec_get32(p + 4);
}

// codec_rd_int reads any msgpack integer.  *neg tells whether the value
// is negative; *raw is then its int64 two's complement bit pattern,
// otherwise the unsigned value itself.
static inline bool
codec_rd_int(codec_rd *r, uint64_t *raw, bool *neg)
{
	const uint8_t *p = r->p;
	size_t         need;
	int64_t        s;

	if (r->left < 1) {
		return false;
	}
	if (p[0] < 0x80) { // positive fixint
		*raw = p[0];
		*neg = false;
		r->p++;
		r->left--;
		return true;
	}
	if (p[0] >= 0xe0) { // negative fixint
		*raw = (uint64_t) (int64_t) (int8_t) p[0];
		*neg = true;
		r->p++;
		r->left--;
		return true;
	}
	switch (p[0]) {
	case 0xcc:
	case 0xd0:
		need = 2;
		break;
	case 0xcd:
	case 0xd1:
		need = 3;
		break;
	case 0xce:
	case 0xd2:
		need = 5;
		break;
	case 0xcf:
	case 0xd3:
		need = 9;
		break;
	default:
		return false; // not an integer
	}
	if (r->left < need) {
		return false;
	}
	switch (p[0]) {
	case 0xcc:
		*raw = p[1];
		*neg = false;
		break;
	case 0xcd:
		*raw = codec_get16(p + 1);
		*neg = false;
		break;
	case 0xce:
		*raw = codec_get32(p + 1);
		*neg = false;
		break;
	case 0xcf:
		*raw = codec_get64(p + 1);
		*neg = false;
		break;
	default:
		if (p[0] == 0xd0) {
			s = (int8_t) p[1];
		} else if (p[0] == 0xd1) {
			s = (int16_t) codec_get16(p + 1);
		} else if (p[0] == 0xd2) {
			s = (int32_t) codec_get32(p + 1);
		} else {
			s = (int64_t) codec_get64(p + 1);
		}
		*raw = (uint64_t) s;
		*neg = s < 0;
		break;
	}
	r->p += need;
	r->left -= need;
	return true;
}

// codec_rd_uint reads a non-negative integer no larger than max.
static inline bool
codec_rd_uint(codec_rd *r, uint64_t max, uint64_t *v)
{
	bool neg;

	if (!codec_rd_int(r, v, &neg)) {
		return false;
	}
	return !neg && *v <= max;
}

// codec_rd_cint reads an integer that fits a C int.
static bool
codec_rd_cint(codec_rd *r, int *v)
{
	uint64_t raw;
	bool     neg;
	int64_t  s;

	if (!codec_rd_int(r, &raw, &neg)) {
		return false;
	}
	if (!neg) {
		if (raw > INT_MAX) {
			return false;
		}
		*v = (int) raw;
		return true;
	}
	s = (int64_t) raw;
	if (s < INT_MIN) {
		return false;
	}
	*v = (int) s;
	return true;
}

// codec_rd_array reads an array header (fixarray, array16, array32).
static inline bool
codec_rd_array(codec_rd *r, uint32_t *n)
{
	const uint8_t *p = r->p;

	if (r->left < 1) {
		return false;
	}
	if ((p[0] & 0xf0) == 0x90) {
		*n = p[0] & 0x0f;
		r->p++;
		r->left--;
		return true;
	}
	if (p[0] == 0xdc && r->left >= 3) {
		*n = codec_get16(p + 1);
		r->p += 3;
		r->left -= 3;
		return true;
	}
	if (p[0] == 0xdd && r->left >= 5) {
		*n = codec_get32(p + 1);
		r->p += 5;
		r->left -= 5;
		return true;
	}
	return false;
}

// codec_rd_pid reads a pid: a uint64 (this node's) or [id, node,
// creation] with a non-zero node.
static inline bool
codec_rd_pid(codec_rd *r, arb_pid *pid)
{
	uint64_t id, node, creation;
	uint32_t n;

	if (r->left >= 1 && (r->p[0] & 0xf0) == 0x90) {
		if (!codec_rd_array(r, &n) || n != 3 ||
		    !codec_rd_uint(r, UINT64_MAX, &id) ||
		    !codec_rd_uint(r, UINT32_MAX, &node) || node == 0 ||
		    !codec_rd_uint(r, UINT32_MAX, &creation)) {
			return false;
		}
		pid->id       = id;
		pid->node     = (uint32_t) node;
		pid->creation = (uint32_t) creation;
		return true;
	}
	if (!codec_rd_uint(r, UINT64_MAX, &id)) {
		return false;
	}
	*pid = arb__pid_of(id);
	return true;
}

// codec_rd_payload reads the length that follows a str/bin type byte of
// `width` bytes, then checks that the payload is there and skips it.
static inline bool
codec_rd_payload(codec_rd *r, size_t width, const uint8_t **s, size_t *n)
{
	size_t len;

	if (r->left < 1 + width) {
		return false;
	}
	switch (width) {
	case 0: // fixstr
		len = r->p[0] & 0x1f;
		break;
	case 1:
		len = r->p[1];
		break;
	case 2:
		len = codec_get16(r->p + 1);
		break;
	default:
		len = codec_get32(r->p + 1);
		break;
	}
	r->p += 1 + width;
	r->left -= 1 + width;
	if (len > r->left) {
		return false; // truncated
	}
	*s = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return true;
}

// codec_rd_str reads a str (fixstr, str8, str16, str32).
static bool
codec_rd_str(codec_rd *r, const uint8_t **s, size_t *n)
{
	if (r->left < 1) {
		return false;
	}
	if ((r->p[0] & 0xe0) == 0xa0) {
		return codec_rd_payload(r, 0, s, n);
	}
	switch (r->p[0]) {
	case 0xd9:
		return codec_rd_payload(r, 1, s, n);
	case 0xda:
		return codec_rd_payload(r, 2, s, n);
	case 0xdb:
		return codec_rd_payload(r, 4, s, n);
	default:
		return false;
	}
}

// codec_rd_bin reads a bin (bin8, bin16, bin32) of at most max bytes.
// Returns ARB_OK, ARB_EBADMSG or ARB_EMSGSIZE.
static inline int
codec_rd_bin(codec_rd *r, size_t max, const uint8_t **s, size_t *n)
{
	size_t width;
	size_t len;

	if (r->left < 1) {
		return ARB_EBADMSG;
	}
	switch (r->p[0]) {
	case 0xc4:
		width = 1;
		break;
	case 0xc5:
		width = 2;
		break;
	case 0xc6:
		width = 4;
		break;
	default:
		return ARB_EBADMSG;
	}
	if (r->left < 1 + width) {
		return ARB_EBADMSG;
	}
	// The declared size alone decides EMSGSIZE, before truncation: a
	// peer announcing a huge body is misbehaving either way.
	len = width == 1 ? r->p[1]
	    : width == 2 ? codec_get16(r->p + 1)
	                 : codec_get32(r->p + 1);
	if (len > max) {
		return ARB_EMSGSIZE;
	}
	return codec_rd_payload(r, width, s, n) ? ARB_OK : ARB_EBADMSG;
}

void
arb__decoder_init(
    arb__decoder *d, const void *batch, size_t len, size_t max_body)
{
	d->p        = batch;
	d->left     = batch != NULL ? len : 0;
	d->max_body = max_body;
	d->failed   = false;
}

int
arb__codec_next(arb__decoder *d, arb_msg *view)
{
	codec_rd       r;
	uint32_t       n;
	uint64_t       ver, flags, tag, ref;
	arb_pid        from, to;
	const uint8_t *body;
	size_t         len;
	int            rv;

	if (d->failed || d->left == 0) {
		return ARB_ENOENT;
	}
	r.p    = d->p;
	r.left = d->left;
	if (!codec_rd_array(&r, &n) || n != 7 ||
	    !codec_rd_uint(&r, UINT64_MAX, &ver) ||
	    ver != ARB__WIRE_VERSION ||
	    !codec_rd_uint(&r, UINT32_MAX, &flags) ||
	    !codec_rd_pid(&r, &from) || !codec_rd_pid(&r, &to) ||
	    !codec_rd_uint(&r, UINT32_MAX, &tag) ||
	    !codec_rd_uint(&r, UINT64_MAX, &ref)) {
		rv = ARB_EBADMSG;
		goto fail;
	}
	if ((rv = codec_rd_bin(&r, d->max_body, &body, &len)) != ARB_OK) {
		goto fail;
	}
	d->p         = r.p;
	d->left      = r.left;
	view->from   = from;
	view->to     = to;
	view->tag    = (uint32_t) tag;
	view->flags  = (uint32_t) flags;
	view->ref    = ref;
	view->len    = len;
	view->body   = body;
	return ARB_OK;

fail:
	// A batch has no resync points: the rest of it is lost.
	d->failed = true;
	d->left   = 0;
	return rv;
}

// --- the short reader of arbor's own encoding ----------------------------

// codec_fast_uint reads an unsigned integer of at most max in the forms
// codec_put_uint writes (positive fixint, uint 8/16/32/64), before end.
static inline bool
codec_fast_uint(
    const uint8_t **pp, const uint8_t *end, uint64_t max, uint64_t *v)
{
	const uint8_t *p = *pp;
	size_t         left = (size_t) (end - p);
	uint64_t       x;

	if (left < 1) {
		return false;
	}
	if (p[0] < 0x80) {
		*v = p[0];
		*pp = p + 1;
		return true;
	}
	switch (p[0]) {
	case 0xcc:
		if (left < 2) {
			return false;
		}
		x = p[1];
		*pp = p + 2;
		break;
	case 0xcd:
		if (left < 3) {
			return false;
		}
		x = codec_get16(p + 1);
		*pp = p + 3;
		break;
	case 0xce:
		if (left < 5) {
			return false;
		}
		x = codec_get32(p + 1);
		*pp = p + 5;
		break;
	case 0xcf:
		if (left < 9) {
			return false;
		}
		x = codec_get64(p + 1);
		*pp = p + 9;
		break;
	default:
		return false;
	}
	*v = x;
	return x <= max;
}

// codec_fast_pid reads a pid as codec_put_pid writes it: [id, node (not
// 0), creation] as a fixarray, or a bare id (a pid of this node).
static inline bool
codec_fast_pid(const uint8_t **pp, const uint8_t *end, arb_pid *pid)
{
	uint64_t id, node, creation;

	if (*pp < end && **pp == 0x93) {
		(*pp)++;
		if (!codec_fast_uint(pp, end, UINT64_MAX, &id)
		    || !codec_fast_uint(pp, end, UINT32_MAX, &node)
		    || node == 0
		    || !codec_fast_uint(pp, end, UINT32_MAX, &creation)) {
			return false;
		}
		pid->id = id;
		pid->node = (uint32_t) node;
		pid->creation = (uint32_t) creation;
		return true;
	}
	if (!codec_fast_uint(pp, end, UINT64_MAX, &id)) {
		return false;
	}
	*pid = arb__pid_of(id);
	return true;
}

bool
arb__codec_peek(
    const uint8_t *p, size_t left, arb_pid *from, uint32_t *tag, size_t *len)
{
	const uint8_t *end = p + left;
	const uint8_t *q = p + 2;
	uint64_t       v;
	arb_pid        to;
	size_t         n, w;

	if (left < 2 || p[0] != 0x97 || p[1] != ARB__WIRE_VERSION
	    || !codec_fast_uint(&q, end, UINT32_MAX, &v)
	    || !codec_fast_pid(&q, end, from) || !codec_fast_pid(&q, end, &to)
	    || !codec_fast_uint(&q, end, UINT32_MAX, &v)) {
		return false;
	}
	*tag = (uint32_t) v;
	if (!codec_fast_uint(&q, end, UINT64_MAX, &v) || q >= end) {
		return false;
	}
	switch (q[0]) {
	case 0xc4:
		w = 1;
		break;
	case 0xc5:
		w = 2;
		break;
	case 0xc6:
		w = 4;
		break;
	default:
		return false;
	}
	if ((size_t) (end - q) < 1 + w) {
		return false;
	}
	n = w == 1 ? q[1] : w == 2 ? codec_get16(q + 1) : codec_get32(q + 1);
	q += 1 + w;
	if ((size_t) (end - q) < n) {
		return false;
	}
	*len = (size_t) (q + n - p);
	return true;
}

int
arb__codec_decode_exit(const void *body, size_t len, arb_pid *who, arb_exit *e)
{
	codec_rd       r = { body, body != NULL ? len : 0 };
	arb_exit       x;
	uint32_t       n;
	uint64_t       kind;
	arb_pid        id;
	const uint8_t *s;
	size_t         slen;

	memset(&x, 0, sizeof(x));
	// Update the kind bound when arb_exit_kind grows.
	if (!codec_rd_array(&r, &n) || n != 4 || !codec_rd_pid(&r, &id) ||
	    !codec_rd_uint(&r, ARB_EXIT_NOPROC, &kind) ||
	    !codec_rd_cint(&r, &x.code) || !codec_rd_str(&r, &s, &slen) ||
	    r.left != 0) {
		return ARB_EBADMSG;
	}
	x.kind = (arb_exit_kind) kind;
	if (slen > sizeof(x.text) - 1) {
		slen = sizeof(x.text) - 1;
	}
	memcpy(x.text, s, slen);
	x.text[slen] = '\0';
	if (who != NULL) {
		*who = id;
	}
	*e = x;
	return ARB_OK;
}

int
arb__codec_error_reply(const arb_msg *req, int code, const char *text,
    uint32_t flags, arb__buf *b, arb_msg *ans)
{
	int rv;

	if ((req->flags & ARB__F_REQUEST) == 0) {
		return ARB_EINVAL;
	}
	if ((rv = arb__codec_encode_error(b, code, text)) != ARB_OK) {
		return rv;
	}
	memset(ans, 0, sizeof(*ans));
	ans->to = req->from;
	ans->tag = req->tag;
	ans->ref = req->ref;
	ans->flags = ARB__F_REPLY | ARB__F_ERROR | flags;
	ans->body = b->data;
	ans->len = b->len;
	return ARB_OK;
}

bool
arb__codec_noproc(
    const arb_msg *req, int code, const char *text, arb__buf *b, arb_msg *ans)
{
	return arb__codec_error_reply(req, code, text, ARB__F_NOPROC, b, ans)
	    == ARB_OK;
}

int
arb__codec_decode_error(const void *body, size_t len, int *code,
    char *text, size_t textlen)
{
	codec_rd       r = { body, body != NULL ? len : 0 };
	uint32_t       n;
	int            c;
	const uint8_t *s;
	size_t         slen;

	if (!codec_rd_array(&r, &n) || n != 2 || !codec_rd_cint(&r, &c) ||
	    !codec_rd_str(&r, &s, &slen) || r.left != 0) {
		return ARB_EBADMSG;
	}
	if (code != NULL) {
		*code = c;
	}
	if (text != NULL && textlen > 0) {
		if (slen > textlen - 1) {
			slen = textlen - 1;
		}
		memcpy(text, s, slen);
		text[slen] = '\0';
	}
	return ARB_OK;
}

// --- bounded readers for other formats (arb__mp_get_*) -------------------
// The control channel (src/actor/ctl.c) reads its datagrams with these:
// the envelope decoder's own readers, so there is one reader of msgpack
// on untrusted input to get right.  (Writers are in mpval.c.)

// MP_GET runs a codec_rd_* reader on an arb__mp_rd.
#define MP_GET(r, call)                                                      \
	do {                                                                 \
		codec_rd cr = { (r)->p, (r)->left };                         \
		bool     ok = (call);                                        \
		(r)->p      = cr.p;                                          \
		(r)->left   = cr.left;                                       \
		return ok;                                                   \
	} while (0)

bool
arb__mp_get_array(arb__mp_rd *r, uint32_t *n)
{
	MP_GET(r, codec_rd_array(&cr, n));
}

bool
arb__mp_get_uint(arb__mp_rd *r, uint64_t max, uint64_t *v)
{
	MP_GET(r, codec_rd_uint(&cr, max, v));
}

bool
arb__mp_get_int(arb__mp_rd *r, int64_t min, int64_t max, int64_t *v)
{
	uint64_t raw;
	bool     neg;
	int64_t  s;

	{
		codec_rd cr = { r->p, r->left };
		bool     ok = codec_rd_int(&cr, &raw, &neg);

		r->p    = cr.p;
		r->left = cr.left;
		if (!ok) {
			return false;
		}
	}
	if (!neg && raw > (uint64_t) INT64_MAX) {
		return false;
	}
	s = (int64_t) raw;
	if (s < min || s > max) {
		return false;
	}
	*v = s;
	return true;
}

bool
arb__mp_get_bool(arb__mp_rd *r, bool *v)
{
	if (r->left < 1 || (r->p[0] != 0xc2 && r->p[0] != 0xc3)) {
		return false;
	}
	*v = r->p[0] == 0xc3;
	r->p++;
	r->left--;
	return true;
}

bool
arb__mp_get_str(arb__mp_rd *r, const uint8_t **s, size_t *n)
{
	MP_GET(r, codec_rd_str(&cr, s, n));
}

bool
arb__mp_get_bin(arb__mp_rd *r, const uint8_t **s, size_t *n)
{
	MP_GET(r, codec_rd_bin(&cr, SIZE_MAX, s, n) == ARB_OK);
}
