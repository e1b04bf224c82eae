// SPDX-License-Identifier: MIT
// config.c -- reading a serial actor's settings (config.h).
// Thread: the caller's.

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DAY_MS (24LL * 3600 * 1000)

static const char *const top_keys[] = { "path", "to", "stream", "baud",
	"data_bits", "parity", "stop_bits", "flow", "exclusive", "framing",
	"max_frame", "gap", "reopen", "stall", "poll", NULL };

// read_bytes reads a byte string: a string (its bytes), or a list of
// integers 0..255 (any byte, NUL included).  Returns the length, or 0
// when absent or wrong (a problem is recorded when wrong, or when
// present and empty).
static size_t
read_bytes(arb_cfg *c, const char *key, uint8_t *out, size_t cap)
{
	const char *s;
	arb_cfg    *l;
	size_t      n, i;
	int64_t     v;

	switch (arb_cfg_type_of(c, key)) {
	case ARB_CFG_ABSENT:
		return 0;
	case ARB_CFG_STR:
		if (arb_cfg_str(c, key, cap, &s) != ARB_OK) {
			return 0;
		}
		if ((n = strlen(s)) == 0) {
			arb_cfg_err(c, key, "must not be empty");
		}
		memcpy(out, s, n);
		return n;
	case ARB_CFG_LIST:
		l = arb_cfg_list(c, key, &n);
		if (n == 0 || n > cap) {
			arb_cfg_err(c, key, "must have 1 to %zu bytes", cap);
			return 0;
		}
		for (i = 0; i < n; i++) {
			if (arb_cfg_int(arb_cfg_item(l, i), NULL, 0, 255, &v)
			    != ARB_OK) {
				return 0;
			}
			out[i] = (uint8_t) v;
		}
		return n;
	default:
		arb_cfg_err(c, key,
		    "expected a string or a list of byte values (0-255)");
		return 0;
	}
}

static void
read_line(arb_cfg *c, serial_line_cfg *l)
{
	static const char *const parities[]
	    = { "none", "even", "odd", "mark", "space", NULL };
	static const char *const flows[]
	    = { "none", "rtscts", "xonxoff", NULL };
	int64_t v;
	int     e;

	l->baud = 9600;
	l->data_bits = 8;
	l->parity = SERIAL_PARITY_NONE;
	l->stop_bits = 1;
	l->flow = SERIAL_FLOW_NONE;
	l->exclusive = true;
	if (arb_cfg_int(c, "baud", 1, 4000000, &v) == ARB_OK) {
		if (serial_baud_ok((unsigned) v)) {
			l->baud = (unsigned) v;
		} else {
			arb_cfg_err(c, "baud",
			    "%lld is not a standard rate (1200, 2400, 4800, "
			    "9600, 19200, 38400, 57600, 115200, 230400, ..., "
			    "4000000)",
			    (long long) v);
		}
	}
	if (arb_cfg_int(c, "data_bits", 5, 8, &v) == ARB_OK) {
		l->data_bits = (int) v;
	}
	if (arb_cfg_enum(c, "parity", parities, &e) == ARB_OK) {
		l->parity = (serial_parity) e;
	}
	if (arb_cfg_int(c, "stop_bits", 1, 2, &v) == ARB_OK) {
		l->stop_bits = (int) v;
	}
	if (arb_cfg_enum(c, "flow", flows, &e) == ARB_OK) {
		l->flow = (serial_flow) e;
	}
	arb_cfg_bool(c, "exclusive", &l->exclusive);
}

static void
read_framing(arb_cfg *c, serial_framer_cfg *f)
{
	static const char *const modes[]
	    = { "line", "delimiter", "length", "fixed", "gap", NULL };
	static const char *const keys[] = { "mode", "delimiter", "field",
		"endian", "offset", "adjust", "keep_header", "size", NULL };
	static const char *const endians[] = { "big", "little", NULL };
	arb_cfg                 *s;
	int                      e;
	int64_t                  v;

	f->mode = SERIAL_FRAMING_LINE;
	if (arb_cfg_type_of(c, "framing") == ARB_CFG_STR) {
		// The short form: "framing: gap" (modes without settings).
		if (arb_cfg_enum(c, "framing", modes, &e) == ARB_OK) {
			f->mode = (serial_framing) e;
			if (f->mode != SERIAL_FRAMING_LINE
			    && f->mode != SERIAL_FRAMING_GAP) {
				arb_cfg_err(c, "framing",
				    "%s framing needs settings: write it as "
				    "a mapping, e.g. {mode: %s, ...}",
				    modes[e], modes[e]);
			}
		}
		return;
	}
	s = arb_cfg_sub(c, "framing");
	arb_cfg_keys(s, keys);
	if (arb_cfg_enum(s, "mode", modes, &e) == ARB_OK) {
		f->mode = (serial_framing) e;
	} else if (arb_cfg_has(c, "framing") && !arb_cfg_has(s, "mode")) {
		arb_cfg_err(s, "mode",
		    "required (line, delimiter, length, "
		    "fixed or gap)");
	}
	switch (f->mode) {
	case SERIAL_FRAMING_DELIM:
		f->delim_len
		    = read_bytes(s, "delimiter", f->delim, SERIAL_DELIM_MAX);
		if (!arb_cfg_has(s, "delimiter")) {
			arb_cfg_err(s, "delimiter",
			    "required for delimiter framing (a string, or a "
			    "list of byte values: [0x7e])");
		}
		break;
	case SERIAL_FRAMING_LENGTH:
		f->len_size = 1;
		f->len_big = true;
		if (arb_cfg_int(s, "field", 1, 4, &v) == ARB_OK) {
			if (v == 3) {
				arb_cfg_err(s, "field",
				    "the length field has 1, 2 or 4 bytes");
			}
			f->len_size = (unsigned) v;
		}
		if (arb_cfg_enum(s, "endian", endians, &e) == ARB_OK) {
			f->len_big = e == 0;
		}
		if (arb_cfg_int(s, "offset", 0, 64, &v) == ARB_OK) {
			f->len_offset = (size_t) v;
		}
		if (arb_cfg_int(s, "adjust", -65536, 65536, &v) == ARB_OK) {
			f->len_adjust = (long) v;
		}
		arb_cfg_bool(s, "keep_header", &f->keep_header);
		break;
	case SERIAL_FRAMING_FIXED:
		if (arb_cfg_int(s, "size", 1, SERIAL_FRAME_MAX_CAP, &v)
		    == ARB_OK) {
			f->fixed = (size_t) v;
		} else if (!arb_cfg_has(s, "size")) {
			arb_cfg_err(s, "size",
			    "required for fixed framing (bytes per frame)");
		}
		break;
	default:
		break;
	}
	// Settings of another mode are a mistake worth naming.
	if (f->mode != SERIAL_FRAMING_DELIM && arb_cfg_has(s, "delimiter")) {
		arb_cfg_err(s, "delimiter", "only for mode: delimiter");
	}
	if (f->mode != SERIAL_FRAMING_FIXED && arb_cfg_has(s, "size")) {
		arb_cfg_err(s, "size", "only for mode: fixed");
	}
	if (f->mode != SERIAL_FRAMING_LENGTH) {
		static const char *const lk[] = { "field", "endian", "offset",
			"adjust", "keep_header", NULL };
		for (e = 0; lk[e] != NULL; e++) {
			if (arb_cfg_has(s, lk[e])) {
				arb_cfg_err(s, lk[e], "only for mode: length");
			}
		}
	}
	if (f->mode == SERIAL_FRAMING_FIXED && f->fixed > f->max_frame) {
		arb_cfg_err(
		    s, "size", "exceeds max_frame (%zu)", f->max_frame);
	}
	if (f->mode == SERIAL_FRAMING_LENGTH && f->keep_header
	    && f->max_frame <= f->len_offset + f->len_size) {
		arb_cfg_err(s, "keep_header",
		    "max_frame (%zu) must exceed the header (offset and "
		    "length "
		    "field: %zu bytes) when the header is kept",
		    f->max_frame, f->len_offset + f->len_size);
	}
}

static void
read_reopen(arb_cfg *c, serial_cfg *sc)
{
	static const char *const keys[] = { "min", "max", NULL };
	arb_cfg                 *s = arb_cfg_sub(c, "reopen");

	sc->reopen_min_ms = 100;
	sc->reopen_max_ms = 5000;
	arb_cfg_keys(s, keys);
	arb_cfg_dur(s, "min", 1, DAY_MS, &sc->reopen_min_ms);
	arb_cfg_dur(s, "max", 1, DAY_MS, &sc->reopen_max_ms);
	if (sc->reopen_max_ms < sc->reopen_min_ms) {
		arb_cfg_err(s, "max", "must not be below min");
	}
}

static void
read_stall(arb_cfg *c, serial_cfg *sc)
{
	static const char *const keys[] = { "timeout", "max", NULL };
	static const char *const off[] = { "off", NULL };
	arb_cfg                 *s;
	int                      e;

	sc->stall_ms = 0;
	sc->stall_max = 0;
	if (arb_cfg_type_of(c, "stall") == ARB_CFG_STR) {
		arb_cfg_enum(c, "stall", off, &e); // only "off"
		return;
	}
	s = arb_cfg_sub(c, "stall");
	arb_cfg_keys(s, keys);
	arb_cfg_dur(s, "timeout", 1, DAY_MS, &sc->stall_ms);
	arb_cfg_int(s, "max", 0, 1000000, &sc->stall_max);
	if (arb_cfg_has(c, "stall") && !arb_cfg_has(s, "timeout")) {
		arb_cfg_err(s, "timeout",
		    "required (no frame for this long is a stall)");
	}
}

static void
read_poll(arb_cfg *c, serial_cfg *sc)
{
	static const char *const keys[]
	    = { "timeout", "turnaround", "requests", NULL };
	static const char *const rkeys[] = { "name", "send", "every", NULL };
	arb_cfg                 *s, *l, *r;
	size_t                   n, i, j;
	const char              *name;

	sc->poll_timeout_ms = 1000;
	sc->poll_turnaround_ms = 0;
	sc->nreqs = 0;
	if (!arb_cfg_has(c, "poll")) {
		return;
	}
	s = arb_cfg_sub(c, "poll");
	arb_cfg_keys(s, keys);
	arb_cfg_dur(s, "timeout", 1, DAY_MS, &sc->poll_timeout_ms);
	arb_cfg_dur(s, "turnaround", 0, DAY_MS, &sc->poll_turnaround_ms);
	l = arb_cfg_list(s, "requests", &n);
	if (n == 0) {
		arb_cfg_err(
		    s, "requests", "required: a list of {name, send, every}");
		return;
	}
	if (n > SERIAL_REQS_MAX) {
		arb_cfg_err(s, "requests", "at most %d requests per port",
		    SERIAL_REQS_MAX);
		n = SERIAL_REQS_MAX;
	}
	for (i = 0; i < n; i++) {
		serial_req_cfg *q = &sc->reqs[sc->nreqs];
		r = arb_cfg_item(l, i);
		memset(q, 0, sizeof(*q));
		q->every_ms = 1000;
		arb_cfg_keys(r, rkeys);
		if (arb_cfg_str(r, "name", SERIAL_NAME_MAX, &name) == ARB_OK) {
			snprintf(q->name, sizeof(q->name), "%s", name);
			for (j = 0; j < sc->nreqs; j++) {
				if (strcmp(sc->reqs[j].name, q->name) == 0) {
					arb_cfg_err(r, "name",
					    "duplicate name \"%s\"", name);
				}
			}
		} else if (!arb_cfg_has(r, "name")) {
			arb_cfg_err(r, "name",
			    "required (the device's name "
			    "in its frames)");
		}
		q->len = read_bytes(r, "send", q->data, sizeof(q->data));
		if (!arb_cfg_has(r, "send")) {
			arb_cfg_err(r, "send",
			    "required: the request's bytes (a string, or a "
			    "list of byte values)");
		}
		arb_cfg_dur(r, "every", 1, DAY_MS, &q->every_ms);
		sc->nreqs++;
	}
}

void
serial_cfg_read(arb_cfg *c, serial_cfg *sc)
{
	const char *s;
	uint64_t    size;

	memset(sc, 0, sizeof(*sc));
	arb_cfg_keys(c, top_keys);
	if (arb_cfg_str(c, "path", sizeof(sc->path) - 1, &s) == ARB_OK) {
		if (s[0] == '\0') {
			arb_cfg_err(c, "path", "must not be empty");
		}
		snprintf(sc->path, sizeof(sc->path), "%s", s);
	} else if (!arb_cfg_has(c, "path")) {
		arb_cfg_err(c, "path",
		    "required: the device (e.g. /dev/serial/by-id/...)");
	}
	if (arb_cfg_str(c, "to", SERIAL_NAME_MAX, &s) == ARB_OK) {
		if (s[0] == '\0') {
			arb_cfg_err(c, "to", "must not be empty");
		}
		snprintf(sc->to, sizeof(sc->to), "%s", s);
	} else if (!arb_cfg_has(c, "to")) {
		arb_cfg_err(c, "to",
		    "required: where frames go (a child path such as "
		    "root/parser, or a registered name)");
	}
	if (arb_cfg_str(c, "stream", SERIAL_NAME_MAX, &s) == ARB_OK) {
		snprintf(sc->stream, sizeof(sc->stream), "%s", s);
	}
	read_line(c, &sc->line);
	sc->framer.max_frame = 4096;
	if (arb_cfg_size(c, "max_frame", 1, SERIAL_FRAME_MAX_CAP, &size)
	    == ARB_OK) {
		sc->framer.max_frame = (size_t) size;
	}
	read_framing(c, &sc->framer);
	sc->gap_ms = 50;
	arb_cfg_dur(c, "gap", 1, 60000, &sc->gap_ms);
	read_reopen(c, sc);
	read_stall(c, sc);
	read_poll(c, sc);
}

void
serial_cfg_check(arb_cfg *cfg)
{
	serial_cfg *c = malloc(sizeof(*c)); // ~10 KiB: not on the stack
	struct stat st;

	if (c == NULL) {
		arb_cfg_err(cfg, NULL, "out of memory");
		return;
	}
	serial_cfg_read(cfg, c);
	// A device may be plugged later (init waits for it), but a regular
	// file or a directory at the path never becomes one: init would
	// retry it for ever, warning once.  Looked at, never opened (an
	// open may toggle a real port's DTR).
	if (c->path[0] != '\0' && stat(c->path, &st) == 0
	    && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		arb_cfg_err(cfg, "path",
		    "%s is a %s, not a serial device (a character device "
		    "such as /dev/ttyUSB0 or a /dev/serial/by-id/ link)",
		    c->path, S_ISDIR(st.st_mode) ? "directory" : "regular file");
	}
	free(c);
}
