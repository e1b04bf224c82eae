// SPDX-License-Identifier: MIT
// record.c -- encoding and checking records and segment headers
// (record.h).  Every check happens before anything is trusted: a length
// is compared with its limits before a byte past the header is read.
// Thread: any.

#include "record.h"

#include <string.h>

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static void
put48(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 6; i++) {
		p[i] = (uint8_t) (v >> (8 * i));
	}
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t) v);
	put32(p + 4, (uint32_t) (v >> 32));
}

static uint32_t
get16(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
	    | (uint32_t) p[3] << 24;
}

static uint64_t
get48(const uint8_t *p)
{
	uint64_t v = 0;
	int      i;

	for (i = 5; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t) get32(p) | (uint64_t) get32(p + 4) << 32;
}

void
slog__rec_put(uint8_t *dst, uint32_t type, uint32_t stream, uint64_t seq,
    int64_t ts_ms, const void *data, uint32_t len)
{
	uint64_t ts = ts_ms < 0 ? 0
	    : (uint64_t) ts_ms > SLOG_U48_MAX ? SLOG_U48_MAX
	                                      : (uint64_t) ts_ms;

	put32(dst + 4, (len & SLOG_REC_LEN_MAX) | type << 24);
	put32(dst + 8, stream);
	put48(dst + 12, seq & SLOG_U48_MAX);
	put48(dst + 18, ts);
	if (len > 0) {
		memcpy(dst + SLOG_REC_HDR, data, len);
	}
	put32(dst, slog__crc32c(0, dst + 4, SLOG_REC_HDR - 4 + len));
}

slog_parse
slog__rec_parse(const uint8_t *p, size_t avail, uint32_t max_len,
    uint64_t limit, slog_rec *r, size_t *sizep)
{
	uint32_t lt, len, type;
	size_t   size;

	if (avail < SLOG_REC_HDR) {
		if (limit < SLOG_REC_HDR) {
			return SLOG_PARSE_BAD; // no room for a header at all
		}
		*sizep = SLOG_REC_HDR;
		return SLOG_PARSE_SHORT;
	}
	lt   = get32(p + 4);
	len  = lt & SLOG_REC_LEN_MAX;
	type = lt >> 24;
	size = SLOG_REC_HDR + (size_t) len;
	if (!slog__rec_type_ok(type, len)
	    || (type == SLOG_REC_READING && len > max_len) || size > limit) {
		return SLOG_PARSE_BAD;
	}
	if (avail < size) {
		*sizep = size;
		return SLOG_PARSE_SHORT;
	}
	if (get32(p) != slog__crc32c(0, p + 4, size - 4)) {
		return SLOG_PARSE_BAD;
	}
	if (get48(p + 12) == 0) {
		return SLOG_PARSE_BAD; // seqs start at 1: never written
	}
	r->type   = type;
	r->len    = len;
	r->stream = get32(p + 8);
	r->seq    = get48(p + 12);
	r->ts_ms  = (int64_t) get48(p + 18);
	r->data   = p + SLOG_REC_HDR;
	*sizep    = size;
	return SLOG_PARSE_OK;
}

void
slog__batchrec_put(uint8_t *p, const slog_batchrec *b)
{
	put64(p, b->producer);
	put64(p + 8, b->id);
	put32(p + 16, b->total);
	put32(p + 20, b->index);
}

void
slog__batchrec_get(const uint8_t *p, slog_batchrec *b)
{
	b->producer = get64(p);
	b->id       = get64(p + 8);
	b->total    = get32(p + 16);
	b->index    = get32(p + 20);
}

size_t
slog__seghdr_size(uint32_t nstreams)
{
	return SLOG_SEG_HDR_MIN + 12u * (size_t) nstreams;
}

void
slog__seghdr_put(uint8_t *dst, const slog_seghdr *h, const uint32_t *streams,
    const uint64_t *seqs)
{
	size_t   size = slog__seghdr_size(h->nstreams);
	size_t   glen = strlen(h->gateway);
	uint32_t i;

	memset(dst, 0, SLOG_SEG_FIXED);
	memcpy(dst, SLOG_SEG_MAGIC, 8);
	put16(dst + 8, SLOG_SEG_VERSION);
	put16(dst + 10, 0);
	put32(dst + 12, (uint32_t) size);
	put64(dst + 16, h->seg_no);
	put64(dst + 24, (uint64_t) h->created_ms);
	put32(dst + 32, h->max_record);
	put32(dst + 36, h->nstreams);
	if (glen > SLOG_GATEWAY_MAX) {
		glen = SLOG_GATEWAY_MAX;
	}
	dst[40] = (uint8_t) glen;
	memcpy(dst + 41, h->gateway, glen);
	for (i = 0; i < h->nstreams; i++) {
		put32(dst + SLOG_SEG_FIXED + 12u * i, streams[i]);
		put64(dst + SLOG_SEG_FIXED + 12u * i + 4, seqs[i]);
	}
	put32(dst + size - 4, slog__crc32c(0, dst, size - 4));
}

bool
slog__gateway_valid(const char *g)
{
	size_t i, n = strlen(g);

	if (n == 0 || n > SLOG_GATEWAY_MAX) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = g[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '.' || c == '_'
		        || c == ':' || c == '-')) {
			return false;
		}
	}
	return true;
}

slog_parse
slog__seghdr_parse(
    const uint8_t *p, size_t avail, slog_seghdr *h, size_t *sizep)
{
	uint32_t hdr_len, nstreams, glen, i, prev = 0;

	if (avail < SLOG_SEG_FIXED) {
		*sizep = SLOG_SEG_FIXED;
		return SLOG_PARSE_SHORT;
	}
	if (memcmp(p, SLOG_SEG_MAGIC, 8) != 0
	    || get16(p + 8) != SLOG_SEG_VERSION || get16(p + 10) != 0) {
		return SLOG_PARSE_BAD;
	}
	hdr_len  = get32(p + 12);
	nstreams = get32(p + 36);
	glen     = p[40];
	if (nstreams > SLOG_SEG_STREAMS_MAX
	    || hdr_len != slog__seghdr_size(nstreams) || glen == 0
	    || glen > SLOG_GATEWAY_MAX) {
		return SLOG_PARSE_BAD;
	}
	if (avail < hdr_len) {
		*sizep = hdr_len;
		return SLOG_PARSE_SHORT;
	}
	if (get32(p + hdr_len - 4) != slog__crc32c(0, p, hdr_len - 4)) {
		return SLOG_PARSE_BAD;
	}
	memset(h, 0, sizeof(*h));
	memcpy(h->gateway, p + 41, glen);
	if (strlen(h->gateway) != glen || !slog__gateway_valid(h->gateway)) {
		return SLOG_PARSE_BAD;
	}
	for (i = 0; i < nstreams; i++) {
		uint32_t s = get32(p + SLOG_SEG_FIXED + 12u * i);
		if (i > 0 && s <= prev) {
			// The table is strictly ascending.
			return SLOG_PARSE_BAD;
		}
		prev = s;
	}
	h->version    = SLOG_SEG_VERSION;
	h->hdr_len    = hdr_len;
	h->seg_no     = get64(p + 16);
	h->created_ms = (int64_t) get64(p + 24);
	h->max_record = get32(p + 32);
	h->nstreams   = nstreams;
	h->table      = p + SLOG_SEG_FIXED;
	if (h->max_record > SLOG_REC_LEN_MAX) {
		return SLOG_PARSE_BAD;
	}
	*sizep = hdr_len;
	return SLOG_PARSE_OK;
}

void
slog__seghdr_entry(
    const slog_seghdr *h, uint32_t i, uint32_t *streamp, uint64_t *seqp)
{
	*streamp = get32(h->table + 12u * i);
	*seqp    = get64(h->table + 12u * i + 4);
}
