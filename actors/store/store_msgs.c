// SPDX-License-Identifier: MIT
// store_msgs.c -- building and reading the store's message bodies
// (store_msgs.h) with msgpack-c.  Readers check every type and length
// before using a value and refuse trailing bytes.  Thread: any.

#include "store_msgs.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

void
store_body_free(store_body *b)
{
	if (b != NULL) {
		free(b->data);
		b->data = NULL;
		b->len  = 0;
	}
}

// --- building -------------------------------------------------------------

typedef struct bld {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	int             err;
} bld;

static void
bld_init(bld *w)
{
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
	w->err = 0;
}

static int
bld_end(bld *w, store_body *b)
{
	if (w->err != 0) {
		msgpack_sbuffer_destroy(&w->sb);
		return ENOMEM;
	}
	b->len  = w->sb.size;
	b->data = msgpack_sbuffer_release(&w->sb);
	return 0;
}

#define PK(w, call)                 \
	do {                        \
		if ((call) != 0) {  \
			(w)->err = 1; \
		}                   \
	} while (0)

static int
append_body(store_body *b, uint64_t producer, uint64_t id,
    const store_reading *r, size_t n)
{
	bld    w;
	size_t i;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, n + 1));
	if (producer != 0) {
		PK(&w, msgpack_pack_array(&w.pk, 2));
		PK(&w, msgpack_pack_uint64(&w.pk, producer));
	}
	PK(&w, msgpack_pack_uint64(&w.pk, id));
	for (i = 0; i < n; i++) {
		PK(&w, msgpack_pack_array(&w.pk, 3));
		PK(&w, msgpack_pack_uint32(&w.pk, r[i].stream));
		if (r[i].ts_ms < 0) {
			PK(&w, msgpack_pack_nil(&w.pk));
		} else {
			PK(&w, msgpack_pack_int64(&w.pk, r[i].ts_ms));
		}
		PK(&w, msgpack_pack_bin_with_body(&w.pk, r[i].data, r[i].len));
	}
	return bld_end(&w, b);
}

int
store_msg_append(store_body *b, uint64_t id, const store_reading *r, size_t n)
{
	return append_body(b, 0, id, r, n);
}

int
store_msg_append_once(store_body *b, uint64_t producer, uint64_t id,
    const store_reading *r, size_t n)
{
	if (producer == 0) {
		return EINVAL;
	}
	return append_body(b, producer, id, r, n);
}

int
store_msg_subscribe(store_body *b, uint32_t window, uint32_t batch)
{
	bld w;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, 2));
	PK(&w, msgpack_pack_uint32(&w.pk, window));
	PK(&w, msgpack_pack_uint32(&w.pk, batch));
	return bld_end(&w, b);
}

int
store_msg_ack(store_body *b, uint64_t session, const uint64_t *pos, size_t n)
{
	bld    w;
	size_t i;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, n + 1));
	PK(&w, msgpack_pack_uint64(&w.pk, session));
	for (i = 0; i < n; i++) {
		PK(&w, msgpack_pack_uint64(&w.pk, pos[i]));
	}
	return bld_end(&w, b);
}

int
store_msg_unsubscribe(store_body *b, uint64_t session)
{
	bld w;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, 1));
	PK(&w, msgpack_pack_uint64(&w.pk, session));
	return bld_end(&w, b);
}

// --- reading ----------------------------------------------------------------

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int      i;

	for (i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

// store_msg_valid walks the value with a stack of the items each open
// container has left.  Every item needs at least one byte, so the items
// claimed by all open containers together may not exceed the bytes
// left; containers nest at most STORE_MSG_DEPTH_MAX deep (msgpack-c's own
// limit is 32 and it reports a deeper value as out of memory).
#define STORE_MSG_DEPTH_MAX 16

bool
store_msg_valid(const void *body, size_t len)
{
	const uint8_t *p = body;
	size_t         off = 0;
	uint64_t       left[STORE_MSG_DEPTH_MAX + 1];
	uint64_t       need = 1; // items claimed, still to read
	int            depth = 0;

	if (body == NULL || len == 0) {
		return false;
	}
	left[0] = 1;
	while (depth >= 0) {
		uint8_t  b;
		uint64_t items = 0, skip = 0; // children, payload bytes
		int      lw = 0;              // width of a length field

		if (left[depth] == 0) {
			depth--;
			continue;
		}
		if (off >= len) {
			return false;
		}
		b = p[off++];
		left[depth]--;
		need--;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2
		    || b == 0xc3) {
			continue; // fixint, nil, bool
		} else if (b >= 0x80 && b <= 0x8f) {
			items = 2u * (b & 0x0fu);
		} else if (b >= 0x90 && b <= 0x9f) {
			items = b & 0x0fu;
		} else if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1fu;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: lw = 1; break; // bin8 str8
			case 0xc5: case 0xda: lw = 2; break; // bin16 str16
			case 0xc6: case 0xdb: lw = 4; break; // bin32 str32
			case 0xc7: lw = 1; skip = 1; break;  // ext8 (+type)
			case 0xc8: lw = 2; skip = 1; break;  // ext16
			case 0xc9: lw = 4; skip = 1; break;  // ext32
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: case 0xd4: skip = 2; break;
			case 0xd5: skip = 3; break;
			case 0xca: case 0xce: case 0xd2: skip = 4; break;
			case 0xd6: skip = 5; break;
			case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xde: lw = 2; break; // array16 map16
			case 0xdd: case 0xdf: lw = 4; break; // array32 map32
			default: return false;               // 0xc1
			}
			if (lw > 0) {
				uint64_t n;
				if (len - off < (size_t) lw) {
					return false;
				}
				n = be(p + off, lw);
				off += (size_t) lw;
				if (b == 0xdc || b == 0xdd) {
					items = n;
				} else if (b == 0xde || b == 0xdf) {
					items = 2 * n;
				} else {
					skip += n;
				}
			}
		}
		if (skip > len - off) {
			return false;
		}
		off += (size_t) skip;
		if (items > 0) {
			if (depth == STORE_MSG_DEPTH_MAX) {
				return false; // nested too deep
			}
			need += items;
			if (need > len - off) {
				// More items claimed than bytes left.
				return false;
			}
			left[++depth] = items;
		}
	}
	return off == len;
}

static bool
rd_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		return false;
	}
	*v = o->via.u64;
	return true;
}

static bool
rd_i64(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	    && o->via.u64 <= (uint64_t) INT64_MAX) {
		*v = (int64_t) o->via.u64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return true;
	}
	return false;
}

static bool
rd_str(const msgpack_object *o, char *out, size_t cap)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap) {
		return false;
	}
	if (o->via.str.size == 0) { // msgpack-c gives it no pointer
		out[0] = '\0';
		return true;
	}
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		return false;
	}
	memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
	return true;
}

// rd_open unpacks body: one array of at least min items, nothing after.
static int
rd_open(msgpack_unpacked *u, const void *body, size_t len, uint32_t min,
    const msgpack_object_array **ap)
{
	size_t off = 0;

	msgpack_unpacked_init(u);
	if (!store_msg_valid(body, len)
	    || msgpack_unpack_next(u, body, len, &off)
	        != MSGPACK_UNPACK_SUCCESS
	    || off != len || u->data.type != MSGPACK_OBJECT_ARRAY
	    || u->data.via.array.size < min) {
		msgpack_unpacked_destroy(u);
		return EBADMSG;
	}
	*ap = &u->data.via.array;
	return 0;
}

int
store_msg_appended_read(const void *body, size_t len, uint64_t *idp,
    store_run *runs, size_t max, size_t *nrunsp)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	uint32_t                    i;
	int                         rv;

	if ((rv = rd_open(&u, body, len, 1, &a)) != 0) {
		return rv;
	}
	rv = EBADMSG;
	if (!rd_u64(&a->ptr[0], idp) || a->size - 1 > max) {
		goto out;
	}
	for (i = 1; i < a->size; i++) {
		const msgpack_object *r = &a->ptr[i];
		uint64_t              st, first, count;
		if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 3
		    || !rd_u64(&r->via.array.ptr[0], &st) || st > UINT32_MAX
		    || !rd_u64(&r->via.array.ptr[1], &first)
		    || !rd_u64(&r->via.array.ptr[2], &count)
		    || count > UINT32_MAX) {
			goto out;
		}
		runs[i - 1] = (store_run) { (uint32_t) st, (uint32_t) count,
			first };
	}
	*nrunsp = a->size - 1;
	rv      = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_refused_read(const void *body, size_t len, uint64_t *idp,
    int *codep, int *retry_msp, char *cause, size_t causelen)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	int64_t                     code, retry;
	int                         rv;

	if ((rv = rd_open(&u, body, len, 4, &a)) != 0) {
		return rv;
	}
	rv = EBADMSG;
	if (a->size == 4 && rd_u64(&a->ptr[0], idp)
	    && rd_i64(&a->ptr[1], &code) && code >= 0 && code <= INT32_MAX
	    && rd_i64(&a->ptr[2], &retry) && retry >= 0 && retry <= INT32_MAX
	    && a->ptr[3].type == MSGPACK_OBJECT_STR && causelen > 0) {
		size_t n = a->ptr[3].via.str.size < causelen - 1
		    ? a->ptr[3].via.str.size
		    : causelen - 1;
		if (n > 0) { // an empty string has no pointer
			memcpy(cause, a->ptr[3].via.str.ptr, n);
		}
		cause[n]   = '\0';
		*codep     = (int) code;
		*retry_msp = (int) retry;
		rv         = 0;
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_subscribed_read(const void *body, size_t len, uint64_t *sessionp,
    char gateway[STORE_GATEWAY_MAX + 1], uint64_t *backlog_recordsp,
    uint64_t *backlog_bytesp)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	int                         rv;

	if ((rv = rd_open(&u, body, len, 4, &a)) != 0) {
		return rv;
	}
	rv = a->size == 4 && rd_u64(&a->ptr[0], sessionp)
	        && rd_str(&a->ptr[1], gateway, STORE_GATEWAY_MAX + 1)
	        && rd_u64(&a->ptr[2], backlog_recordsp)
	        && rd_u64(&a->ptr[3], backlog_bytesp)
	    ? 0
	    : EBADMSG;
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_records_read(const void *body, size_t len, uint64_t *sessionp,
    char gateway[STORE_GATEWAY_MAX + 1], store_record *recs, size_t max,
    size_t *np)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	uint32_t                    i;
	int                         rv;

	if ((rv = rd_open(&u, body, len, 2, &a)) != 0) {
		return rv;
	}
	rv = EBADMSG;
	if (!rd_u64(&a->ptr[0], sessionp)
	    || !rd_str(&a->ptr[1], gateway, STORE_GATEWAY_MAX + 1)
	    || a->size - 2 > max) {
		goto out;
	}
	for (i = 2; i < a->size; i++) {
		const msgpack_object *r = &a->ptr[i];
		const msgpack_object *d;
		store_record         *o = &recs[i - 2];
		uint64_t              st;
		if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 5
		    || !rd_u64(&r->via.array.ptr[0], &o->pos)
		    || !rd_u64(&r->via.array.ptr[1], &st) || st > UINT32_MAX
		    || !rd_u64(&r->via.array.ptr[2], &o->seq)
		    || !rd_i64(&r->via.array.ptr[3], &o->ts_ms)) {
			goto out;
		}
		d = &r->via.array.ptr[4];
		if (d->type == MSGPACK_OBJECT_BIN) {
			o->data = d->via.bin.ptr;
			o->len  = d->via.bin.size;
		} else if (d->type == MSGPACK_OBJECT_STR) {
			o->data = d->via.str.ptr;
			o->len  = d->via.str.size;
		} else {
			goto out;
		}
		o->stream = (uint32_t) st;
	}
	*np = a->size - 2;
	rv  = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rv;
}

// --- the store's side -------------------------------------------------------

static bool
rd_bytes(const msgpack_object *o, const void **p, size_t *n)
{
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*n = o->via.bin.size;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*n = o->via.str.size;
		return true;
	}
	return false;
}

int
store_msg_append_read(const void *body, size_t len, uint64_t *producerp,
    uint64_t *idp, store_reading **rp, size_t *np)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	const msgpack_object       *first;
	store_reading              *r = NULL;
	size_t                      n, i;
	int                         rv;

	*producerp = 0;
	*rp        = NULL;
	*np        = 0;
	if ((rv = rd_open(&u, body, len, 2, &a)) != 0) {
		return rv;
	}
	rv    = EBADMSG;
	first = &a->ptr[0];
	if (first->type == MSGPACK_OBJECT_ARRAY
	    && first->via.array.size == 2) {
		if (!rd_u64(&first->via.array.ptr[0], producerp)
		    || *producerp == 0
		    || !rd_u64(&first->via.array.ptr[1], idp)) {
			goto out;
		}
	} else if (!rd_u64(first, idp)) {
		goto out;
	}
	n  = a->size - 1;
	rv = ENOMEM;
	if ((r = malloc(n * sizeof(*r))) == NULL) {
		goto out;
	}
	rv = EINVAL;
	for (i = 0; i < n; i++) {
		const msgpack_object *o = &a->ptr[i + 1];
		const msgpack_object *f;
		uint64_t              stream;

		if (o->type != MSGPACK_OBJECT_ARRAY
		    || o->via.array.size != 3) {
			goto out;
		}
		f = o->via.array.ptr;
		if (!rd_u64(&f[0], &stream) || stream > UINT32_MAX) {
			goto out;
		}
		r[i].stream = (uint32_t) stream;
		if (f[1].type == MSGPACK_OBJECT_NIL) {
			r[i].ts_ms = -1;
		} else if (f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER
		    && f[1].via.u64 < ((uint64_t) 1 << 48)) {
			r[i].ts_ms = (int64_t) f[1].via.u64;
		} else {
			goto out;
		}
		if (!rd_bytes(&f[2], &r[i].data, &r[i].len)) {
			goto out;
		}
	}
	*rp = r;
	*np = n;
	r   = NULL;
	rv  = 0;
out:
	free(r);
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_subscribe_read(
    const void *body, size_t len, uint64_t *windowp, uint64_t *batchp)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	int                         rv;

	if (len == 0) {
		return 0; // the defaults
	}
	if ((rv = rd_open(&u, body, len, 0, &a)) != 0) {
		return rv;
	}
	rv = (a->size < 1 || rd_u64(&a->ptr[0], windowp))
	        && (a->size < 2 || rd_u64(&a->ptr[1], batchp))
	    ? 0
	    : EBADMSG;
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_ack_read(const void *body, size_t len, uint64_t *sessionp,
    uint64_t **posp, size_t *np, size_t *badp)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	uint64_t                   *pos;
	uint32_t                    i;
	int                         rv;

	*posp = NULL;
	*np   = 0;
	*badp = 0;
	if ((rv = rd_open(&u, body, len, 1, &a)) != 0) {
		return rv;
	}
	if (!rd_u64(&a->ptr[0], sessionp)) {
		msgpack_unpacked_destroy(&u);
		return EBADMSG;
	}
	if ((pos = malloc((a->size > 1 ? a->size - 1 : 1) * sizeof(*pos)))
	    == NULL) {
		msgpack_unpacked_destroy(&u);
		return ENOMEM;
	}
	for (i = 1; i < a->size; i++) {
		if (rd_u64(&a->ptr[i], &pos[*np])) {
			(*np)++;
		} else {
			(*badp)++;
		}
	}
	*posp = pos;
	msgpack_unpacked_destroy(&u);
	return 0;
}

int
store_msg_unsubscribe_read(const void *body, size_t len, uint64_t *sessionp)
{
	msgpack_unpacked            u;
	const msgpack_object_array *a;
	int                         rv;

	if ((rv = rd_open(&u, body, len, 1, &a)) != 0) {
		return rv;
	}
	rv = rd_u64(&a->ptr[0], sessionp) ? 0 : EBADMSG;
	msgpack_unpacked_destroy(&u);
	return rv;
}

int
store_msg_appended(store_body *b, uint64_t id, const store_run *runs, size_t n)
{
	bld    w;
	size_t i;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, n + 1));
	PK(&w, msgpack_pack_uint64(&w.pk, id));
	for (i = 0; i < n; i++) {
		PK(&w, msgpack_pack_array(&w.pk, 3));
		PK(&w, msgpack_pack_uint32(&w.pk, runs[i].stream));
		PK(&w, msgpack_pack_uint64(&w.pk, runs[i].first_seq));
		PK(&w, msgpack_pack_uint32(&w.pk, runs[i].count));
	}
	return bld_end(&w, b);
}

int
store_msg_refused(store_body *b, uint64_t id, int code, int retry_ms,
    const char *cause)
{
	bld w;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, 4));
	PK(&w, msgpack_pack_uint64(&w.pk, id));
	PK(&w, msgpack_pack_int(&w.pk, code));
	PK(&w, msgpack_pack_int(&w.pk, retry_ms));
	PK(&w, msgpack_pack_str_with_body(&w.pk, cause, strlen(cause)));
	return bld_end(&w, b);
}

int
store_msg_subscribed(store_body *b, uint64_t session, const char *gateway,
    uint64_t backlog_records, uint64_t backlog_bytes)
{
	bld w;

	bld_init(&w);
	PK(&w, msgpack_pack_array(&w.pk, 4));
	PK(&w, msgpack_pack_uint64(&w.pk, session));
	PK(&w, msgpack_pack_str_with_body(&w.pk, gateway, strlen(gateway)));
	PK(&w, msgpack_pack_uint64(&w.pk, backlog_records));
	PK(&w, msgpack_pack_uint64(&w.pk, backlog_bytes));
	return bld_end(&w, b);
}

static void
pk_key(bld *w, const char *k)
{
	PK(w, msgpack_pack_str_with_body(&w->pk, k, strlen(k)));
}

static void
pk_bool(bld *w, bool v)
{
	PK(w, v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

int
store_msg_status_reply(store_body *b, const store_status *st)
{
	bld w;

	bld_init(&w);
	PK(&w, msgpack_pack_map(&w.pk, 7));
	pk_key(&w, "backlog_records");
	PK(&w, msgpack_pack_uint64(&w.pk, st->backlog_records));
	pk_key(&w, "backlog_bytes");
	PK(&w, msgpack_pack_uint64(&w.pk, st->backlog_bytes));
	pk_key(&w, "oldest_age_ms");
	PK(&w, msgpack_pack_int64(&w.pk, st->oldest_age_ms));
	pk_key(&w, "appended_records");
	PK(&w, msgpack_pack_uint64(&w.pk, st->appended_records));
	pk_key(&w, "acked_records");
	PK(&w, msgpack_pack_uint64(&w.pk, st->acked_records));
	pk_key(&w, "full");
	pk_bool(&w, st->full);
	pk_key(&w, "consumer");
	pk_bool(&w, st->consumer);
	return bld_end(&w, b);
}

struct store_recs {
	msgpack_sbuffer recs; // the records, packed
	msgpack_packer  rpk;
	msgpack_sbuffer out;  // the body
	size_t          n;
	int             err;
};

int
store_recs_new(store_recs **wp)
{
	store_recs *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		return ENOMEM;
	}
	msgpack_sbuffer_init(&w->recs);
	msgpack_sbuffer_init(&w->out);
	msgpack_packer_init(&w->rpk, &w->recs, msgpack_sbuffer_write);
	*wp = w;
	return 0;
}

void
store_recs_free(store_recs *w)
{
	if (w != NULL) {
		msgpack_sbuffer_destroy(&w->recs);
		msgpack_sbuffer_destroy(&w->out);
		free(w);
	}
}

void
store_recs_reset(store_recs *w)
{
	msgpack_sbuffer_clear(&w->recs);
	msgpack_sbuffer_clear(&w->out);
	w->n   = 0;
	w->err = 0;
}

int
store_recs_add(store_recs *w, uint64_t pos, uint32_t stream, uint64_t seq,
    int64_t ts_ms, const void *data, size_t len)
{
	msgpack_packer *pk = &w->rpk;

	if (msgpack_pack_array(pk, 5) != 0 || msgpack_pack_uint64(pk, pos) != 0
	    || msgpack_pack_uint32(pk, stream) != 0
	    || msgpack_pack_uint64(pk, seq) != 0
	    || msgpack_pack_int64(pk, ts_ms) != 0
	    || msgpack_pack_bin_with_body(pk, data, len) != 0) {
		w->err = ENOMEM;
		return ENOMEM;
	}
	w->n++;
	return 0;
}

int
store_recs_finish(store_recs *w, uint64_t session, const char *gateway,
    const void **datap, size_t *lenp)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, &w->out, msgpack_sbuffer_write);
	if (w->err != 0 || msgpack_pack_array(&pk, w->n + 2) != 0
	    || msgpack_pack_uint64(&pk, session) != 0
	    || msgpack_pack_str_with_body(&pk, gateway, strlen(gateway)) != 0
	    || msgpack_sbuffer_write(&w->out, w->recs.data, w->recs.size)
	        != 0) {
		return ENOMEM;
	}
	*datap = w->out.data;
	*lenp  = w->out.size;
	return 0;
}
