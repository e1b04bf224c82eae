// SPDX-License-Identifier: MIT
// framer.c -- cutting a serial byte stream into frames (framer.h).
//
// Each mode has one feed function.  Where a whole frame lies inside the
// bytes given, it is delivered straight from them (no copy); only a frame
// split across reads is assembled in f->buf, which never holds more than
// about max_frame bytes.  Thread: the caller's.

#include "framer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t
len_header(const serial_framer_cfg *c)
{
	return c->len_offset + c->len_size;
}

// len_body_max is the largest body a length frame may have: what is
// delivered (the body, or header and body) fits max_frame.
static size_t
len_body_max(const serial_framer_cfg *c)
{
	return c->keep_header ? c->max_frame - len_header(c) : c->max_frame;
}

const char *
serial_framer_cfg_check(const serial_framer_cfg *c)
{
	if (c->max_frame < 1 || c->max_frame > SERIAL_FRAME_MAX_CAP) {
		return "max_frame must be from 1 to 16777216 bytes";
	}
	switch (c->mode) {
	case SERIAL_FRAMING_LINE:
	case SERIAL_FRAMING_GAP:
		return NULL;
	case SERIAL_FRAMING_DELIM:
		if (c->delim_len < 1 || c->delim_len > SERIAL_DELIM_MAX) {
			return "the delimiter must have 1 to 16 bytes";
		}
		return NULL;
	case SERIAL_FRAMING_LENGTH:
		if (c->len_size != 1 && c->len_size != 2 && c->len_size != 4) {
			return "the length field has 1, 2 or 4 bytes";
		}
		if (c->len_offset > 64) {
			return "the length field's offset is at most 64 bytes";
		}
		if (c->len_adjust < -65536 || c->len_adjust > 65536) {
			return "adjust must be from -65536 to 65536";
		}
		if (c->keep_header && c->max_frame <= len_header(c)) {
			return "max_frame must exceed the header (offset and "
			       "length field) when the header is kept";
		}
		return NULL;
	case SERIAL_FRAMING_FIXED:
		if (c->fixed < 1 || c->fixed > c->max_frame) {
			return "the fixed size must be from 1 to max_frame "
			       "bytes";
		}
		return NULL;
	}
	return "unknown framing mode";
}

int
serial_framer_init(serial_framer *f, const serial_framer_cfg *cfg)
{
	size_t i, k;

	memset(f, 0, sizeof(*f));
	if (serial_framer_cfg_check(cfg) != NULL) {
		return EINVAL;
	}
	f->cfg = *cfg;
	switch (cfg->mode) {
	case SERIAL_FRAMING_LINE:
		f->cap = cfg->max_frame + 1; // a '\r' that will be removed
		break;
	case SERIAL_FRAMING_DELIM:
		// Multi-byte delimiters are matched byte by byte and the
		// bytes matched so far are held with the frame.
		f->cap = cfg->max_frame + cfg->delim_len;
		break;
	case SERIAL_FRAMING_LENGTH:
		f->cap = len_header(cfg) + len_body_max(cfg);
		break;
	case SERIAL_FRAMING_FIXED:
		f->cap = cfg->fixed;
		break;
	case SERIAL_FRAMING_GAP:
		f->cap = cfg->max_frame;
		break;
	}
	if ((f->buf = malloc(f->cap)) == NULL) {
		return ENOMEM;
	}
	// KMP failure function: fail[i] is the length of the longest proper
	// prefix of delim[0..i] that is also its suffix.
	k = 0;
	for (i = 1; i < cfg->delim_len; i++) {
		while (k > 0 && cfg->delim[i] != cfg->delim[k]) {
			k = f->fail[k - 1];
		}
		if (cfg->delim[i] == cfg->delim[k]) {
			k++;
		}
		f->fail[i] = k;
	}
	return 0;
}

void
serial_framer_fini(serial_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

bool
serial_framer_synced(const serial_framer *f)
{
	return f->synced;
}

bool
serial_framer_wants_gap(const serial_framer *f)
{
	if (!f->synced) {
		return true;
	}
	switch (f->cfg.mode) {
	case SERIAL_FRAMING_FIXED:
	case SERIAL_FRAMING_LENGTH:
	case SERIAL_FRAMING_GAP:
		return f->used > 0 || f->discard;
	default:
		return false;
	}
}

// unsynced_drop drops bytes before the first boundary.
static void
unsynced_drop(serial_framer *f, size_t n)
{
	f->dropped += n;
	f->st.dropped_bytes += n;
}

// sync_now makes the framer synced: what was dropped before is one
// partial frame.
static void
sync_now(serial_framer *f)
{
	if (f->dropped > 0 && !f->noted) {
		f->st.partial++;
	}
	f->dropped = 0;
	f->noted = false;
	f->synced = true;
	f->used = 0;
	f->need = 0;
	f->match = 0;
	f->discard = false;
}

static void
emit(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	f->st.frames++;
	fn(arg, p, n);
}

// --- line and single-byte delimiter ----------------------------------------

// hold takes bytes of a frame whose end has not come yet (line and
// single-byte delimiter modes, gap mode): kept, or dropped while unsynced
// or while an oversize frame is being dropped.
static void
hold(serial_framer *f, const uint8_t *p, size_t n)
{
	if (!f->synced) {
		unsynced_drop(f, n);
	} else if (f->discard) {
		f->st.dropped_bytes += n;
	} else if (n > f->cap - f->used) {
		f->st.dropped_bytes += f->used + n;
		f->used = 0;
		f->discard = true;
	} else {
		memcpy(f->buf + f->used, p, n);
		f->used += n;
	}
}

// delim1_end takes the last n bytes of a frame, its delimiter excluded.
static void
delim1_end(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	const uint8_t *frame = p;
	size_t         len = n;
	size_t         total; // the frame's bytes and its delimiter

	if (!f->synced) {
		if (n > 0 || f->dropped > 0) {
			unsynced_drop(f, n + 1);
		}
		sync_now(f);
		return;
	}
	if (f->discard) {
		f->st.dropped_bytes += n + 1;
		f->st.oversize++;
		f->discard = false;
		return;
	}
	if (f->used > 0) {
		if (n > f->cap - f->used) {
			f->st.dropped_bytes += f->used + n + 1;
			f->st.oversize++;
			f->used = 0;
			return;
		}
		memcpy(f->buf + f->used, p, n);
		frame = f->buf;
		len = f->used + n;
		f->used = 0;
	}
	total = len + 1;
	if (f->cfg.mode == SERIAL_FRAMING_LINE && len > 0
	    && frame[len - 1] == '\r') {
		len--;
	}
	if (len > f->cfg.max_frame) {
		f->st.dropped_bytes += total;
		f->st.oversize++;
	} else if (len == 0) {
		f->st.empty++;
	} else {
		emit(f, frame, len, fn, arg);
	}
}

static void
feed_delim1(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	uint8_t d
	    = f->cfg.mode == SERIAL_FRAMING_LINE ? '\n' : f->cfg.delim[0];
	const uint8_t *q;

	while (n > 0) {
		if ((q = memchr(p, d, n)) == NULL) {
			hold(f, p, n);
			return;
		}
		delim1_end(f, p, (size_t) (q - p), fn, arg);
		n -= (size_t) (q - p) + 1;
		p = q + 1;
	}
}

// --- multi-byte delimiter ---------------------------------------------------

// The frame and the delimiter bytes matched so far are held in buf; a
// mismatch turns matched bytes back into frame bytes simply by lowering
// f->match (Knuth-Morris-Pratt).  Invariant: used - match <= max_frame.
static void
feed_delimn(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	const uint8_t *d = f->cfg.delim;
	size_t         dl = f->cfg.delim_len;
	size_t         i, len;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		while (f->match > 0 && d[f->match] != c) {
			f->match = f->fail[f->match - 1];
		}
		if (d[f->match] == c) {
			f->match++;
		}
		if (!f->synced) {
			f->dropped++;
			f->st.dropped_bytes++;
			if (f->match == dl) {
				if (f->dropped == dl) {
					// Only the delimiter: nothing of a
					// frame was lost.
					f->st.dropped_bytes -= dl;
					f->dropped = 0;
				}
				sync_now(f);
			}
			continue;
		}
		if (f->discard) {
			f->st.dropped_bytes++;
			if (f->match == dl) {
				f->st.oversize++;
				f->discard = false;
				f->match = 0;
			}
			continue;
		}
		f->buf[f->used++] = c;
		if (f->match == dl) {
			len = f->used - dl;
			f->used = 0;
			f->match = 0;
			if (len == 0) {
				f->st.empty++;
			} else {
				emit(f, f->buf, len, fn, arg);
			}
		} else if (f->used - f->match > f->cfg.max_frame) {
			f->st.dropped_bytes += f->used;
			f->used = 0;
			f->discard = true;
		}
	}
}

// --- length-prefixed --------------------------------------------------------

static uint32_t
len_read(const serial_framer_cfg *c, const uint8_t *h)
{
	const uint8_t *b = h + c->len_offset;
	uint32_t       v = 0;
	unsigned       i;

	for (i = 0; i < c->len_size; i++) {
		unsigned k = c->len_big ? i : c->len_size - 1 - i;
		v = (v << 8) | b[k];
	}
	return v;
}

// len_need parses a complete header: the frame's whole size, or 0 when
// the length field is garbage or oversize (counted; the framer unsyncs).
static size_t
len_need(serial_framer *f, const uint8_t *h)
{
	long long body = (long long) len_read(&f->cfg, h) + f->cfg.len_adjust;
	size_t    hdr = len_header(&f->cfg);

	if (body < 0) {
		f->st.garbage++;
	} else if ((unsigned long long) body > len_body_max(&f->cfg)) {
		f->st.oversize++;
	} else {
		return hdr + (size_t) body;
	}
	// The rest of this frame, up to the next boundary, is dropped as
	// part of the same loss (noted: not counted again as partial).
	f->st.dropped_bytes += hdr;
	f->used = 0;
	f->need = 0;
	f->synced = false;
	f->dropped = 0;
	f->noted = true;
	return 0;
}

static void
len_emit(serial_framer *f, const uint8_t *frame, serial_frame_fn fn, void *arg)
{
	size_t hdr = len_header(&f->cfg);

	if (f->cfg.keep_header) {
		emit(f, frame, f->need, fn, arg);
	} else {
		emit(f, frame + hdr, f->need - hdr, fn, arg);
	}
}

static void
feed_length(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	size_t hdr = len_header(&f->cfg);
	size_t take;

	while (n > 0) {
		if (!f->synced) {
			unsynced_drop(f, n);
			return;
		}
		if (f->used == 0 && n >= hdr) {
			// Fast path: the header is here in one piece.
			if ((f->need = len_need(f, p)) == 0) {
				p += hdr;
				n -= hdr;
				continue;
			}
			if (n >= f->need) {
				len_emit(f, p, fn, arg);
				p += f->need;
				n -= f->need;
				f->need = 0;
				continue;
			}
		}
		if (f->need == 0) {
			take = hdr - f->used < n ? hdr - f->used : n;
			memcpy(f->buf + f->used, p, take);
			f->used += take;
			p += take;
			n -= take;
			if (f->used < hdr) {
				return;
			}
			if ((f->need = len_need(f, f->buf)) == 0) {
				continue;
			}
		}
		take = f->need - f->used < n ? f->need - f->used : n;
		memcpy(f->buf + f->used, p, take);
		f->used += take;
		p += take;
		n -= take;
		if (f->used == f->need) {
			len_emit(f, f->buf, fn, arg);
			f->used = 0;
			f->need = 0;
		}
	}
}

// --- fixed size -------------------------------------------------------------

static void
feed_fixed(serial_framer *f, const uint8_t *p, size_t n, serial_frame_fn fn,
    void *arg)
{
	size_t sz = f->cfg.fixed;
	size_t take;

	if (!f->synced) {
		unsynced_drop(f, n);
		return;
	}
	if (f->used > 0) {
		take = sz - f->used < n ? sz - f->used : n;
		memcpy(f->buf + f->used, p, take);
		f->used += take;
		p += take;
		n -= take;
		if (f->used < sz) {
			return;
		}
		emit(f, f->buf, sz, fn, arg);
		f->used = 0;
	}
	for (; n >= sz; p += sz, n -= sz) {
		emit(f, p, sz, fn, arg);
	}
	memcpy(f->buf, p, n);
	f->used = n;
}

// ----------------------------------------------------------------------------

void
serial_framer_feed(serial_framer *f, const uint8_t *p, size_t n,
    serial_frame_fn fn, void *arg)
{
	if (n == 0) {
		return;
	}
	switch (f->cfg.mode) {
	case SERIAL_FRAMING_LINE:
		feed_delim1(f, p, n, fn, arg);
		break;
	case SERIAL_FRAMING_DELIM:
		if (f->cfg.delim_len == 1) {
			feed_delim1(f, p, n, fn, arg);
		} else {
			feed_delimn(f, p, n, fn, arg);
		}
		break;
	case SERIAL_FRAMING_LENGTH:
		feed_length(f, p, n, fn, arg);
		break;
	case SERIAL_FRAMING_FIXED:
		feed_fixed(f, p, n, fn, arg);
		break;
	case SERIAL_FRAMING_GAP:
		hold(f, p, n); // the gap ends the frame: boundary()
		break;
	}
}

void
serial_framer_boundary(serial_framer *f, serial_frame_fn fn, void *arg)
{
	if (!f->synced) {
		sync_now(f);
		return;
	}
	if (f->discard) {
		f->st.oversize++;
	} else if (f->used > 0) {
		if (f->cfg.mode == SERIAL_FRAMING_GAP) {
			emit(f, f->buf, f->used, fn, arg);
		} else {
			f->st.partial++;
			f->st.dropped_bytes += f->used;
		}
	}
	sync_now(f);
}

void
serial_framer_reset(serial_framer *f)
{
	if (!f->synced) {
		if (f->dropped > 0 && !f->noted) {
			f->st.partial++;
		}
	} else if (f->discard) {
		f->st.oversize++;
	} else if (f->used > 0) {
		f->st.partial++;
		f->st.dropped_bytes += f->used;
	}
	f->synced = false;
	f->dropped = 0;
	f->noted = false;
	f->used = 0;
	f->need = 0;
	f->match = 0;
	f->discard = false;
}
