// SPDX-License-Identifier: MIT
// framer.h -- cutting a serial byte stream into frames: line, delimiter,
// length-prefixed, fixed size and gap (silence-delimited).
//
// Pure: no OS, no clock, no allocation after serial_framer_init.  The
// caller (the serial actor) feeds what read(2) returned, in any split, and
// tells the framer when the line has been quiet for the configured gap
// (serial_framer_boundary); the framer calls back once per complete frame
// and counts everything it drops.
//
// Synchronisation.  After serial_framer_init and serial_framer_reset (the
// port was opened or reopened) the framer is *unsynced*: it cannot know
// whether the first byte it sees starts a frame.  Bytes are dropped until
// a boundary is known: a delimiter (line and delimiter modes) or a quiet
// gap (every mode); what was dropped counts as one partial frame.  The
// partial first frame is therefore never delivered.
//
// Limits.  No frame longer than max_frame bytes is ever delivered or
// buffered: an oversize frame is dropped up to its end (the delimiter in
// line and delimiter modes; in length mode the framer unsyncs and waits for
// the next quiet gap, since a length field that large is more likely noise
// than a frame) and counted once.  A length field that gives a negative
// body (adjust) is garbage: counted, and the framer unsyncs.
// Thread: the caller's (no shared state).

#ifndef ARBOR_SERIAL_FRAMER_H
#define ARBOR_SERIAL_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_DELIM_MAX     16
#define SERIAL_FRAME_MAX_CAP (16u * 1024u * 1024u) // largest max_frame

typedef enum serial_framing {
	SERIAL_FRAMING_LINE = 0, // "\n"; a '\r' before it is removed too
	SERIAL_FRAMING_DELIM,    // any 1..16 byte delimiter, removed
	SERIAL_FRAMING_LENGTH,   // [offset bytes][length field][body]
	SERIAL_FRAMING_FIXED,    // every frame is `fixed` bytes
	SERIAL_FRAMING_GAP,      // a frame ends where the line goes quiet
} serial_framing;

typedef struct serial_framer_cfg {
	serial_framing mode;
	size_t         max_frame; // bytes delivered at most (1..CAP)
	// SERIAL_FRAMING_DELIM
	uint8_t delim[SERIAL_DELIM_MAX];
	size_t  delim_len;
	// SERIAL_FRAMING_LENGTH: the length field's value plus adjust is the
	// number of body bytes after the field; header bytes (offset bytes
	// and the field) are delivered only with keep_header.
	unsigned len_size;   // 1, 2 or 4
	bool     len_big;    // big endian (network order)
	size_t   len_offset; // bytes before the length field (0..64)
	long     len_adjust; // -65536..65536
	bool     keep_header;
	// SERIAL_FRAMING_FIXED
	size_t fixed;
} serial_framer_cfg;

// What the framer counted.  frames counts delivered frames; the others
// count dropped frames by cause (and dropped_bytes every byte dropped).
typedef struct serial_framer_stats {
	uint64_t frames;
	uint64_t empty;    // empty frames skipped (line, delimiter: a
	                   // delimiter right after another); not a loss
	uint64_t partial;  // incomplete: before the first boundary after
	                   // open, cut by a reset or a boundary
	uint64_t oversize; // longer than max_frame
	uint64_t garbage;  // a length field that cannot be
	uint64_t dropped_bytes;
} serial_framer_stats;

// serial_frame_fn receives each complete frame; the bytes are borrowed
// (valid until it returns).  It must not call back into the framer.
typedef void (*serial_frame_fn)(void *arg, const uint8_t *p, size_t n);

typedef struct serial_framer {
	serial_framer_cfg   cfg;
	serial_framer_stats st;
	uint8_t            *buf; // the frame being assembled
	size_t              cap;
	size_t              used;
	bool                synced;
	bool                discard; // dropping an oversize frame
	size_t              dropped; // bytes dropped while unsynced
	bool                noted;   // ... already counted (a bad length)
	size_t              match;   // delimiter bytes matched (KMP state)
	size_t              need;    // length mode: whole frame's size, or 0
	size_t              fail[SERIAL_DELIM_MAX]; // KMP failure function
} serial_framer;

// serial_framer_cfg_check returns NULL when cfg is usable, else a short
// English sentence saying what is wrong (a static string).  Thread: any.
const char *serial_framer_cfg_check(const serial_framer_cfg *cfg);

// serial_framer_init sets f up for cfg (copied) and allocates its frame
// buffer (about max_frame bytes): 0, or ENOMEM, or EINVAL when
// serial_framer_cfg_check rejects cfg.  The framer starts unsynced.
int serial_framer_init(serial_framer *f, const serial_framer_cfg *cfg);

// serial_framer_fini frees the buffer.  Safe on a zeroed framer.
void serial_framer_fini(serial_framer *f);

// serial_framer_feed consumes n bytes and calls fn for each frame they
// complete, in order.  This function can't fail.
void serial_framer_feed(serial_framer *f, const uint8_t *p, size_t n,
    serial_frame_fn fn, void *arg);

// serial_framer_boundary says the line has just been quiet for the gap:
// the next byte starts a frame.  In gap mode the bytes held form a frame
// (delivered through fn); in every other mode they are an incomplete frame
// and are dropped (counted as partial).  The framer is synced afterwards.
void serial_framer_boundary(serial_framer *f, serial_frame_fn fn, void *arg);

// serial_framer_reset forgets the stream (the port was closed or
// reopened): an incomplete frame held is dropped and counted (partial, or
// oversize while one was being dropped) and the framer is unsynced.
void serial_framer_reset(serial_framer *f);

// serial_framer_synced is true once a boundary is known.
bool serial_framer_synced(const serial_framer *f);

// serial_framer_wants_gap is true when a quiet gap would mean something:
// the framer is unsynced, or (fixed, length and gap modes) it holds part
// of a frame.  The actor arms its gap timer only then, so a synced line
// or delimiter stream costs no timer at all.  In line and delimiter modes
// a frame that stops half-way waits for its delimiter however long it
// takes.
bool serial_framer_wants_gap(const serial_framer *f);

#endif // ARBOR_SERIAL_FRAMER_H
