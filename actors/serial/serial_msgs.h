// SPDX-License-Identifier: MIT
// serial_msgs.h -- the messages of the serial actor type (public).
//
// Tags are in the serial range 0x00020000-0x0002FFFF.  Bodies are msgpack,
// like every arbor body; docs/actors.md ("serial") has the same tables.
//
// ARB_SERIAL_TAG_FRAME (serial -> its `to:` destination), one per frame:
//
//     [1, stream, session, seq, ts, device, data]   (a msgpack array of 7)
//
//   #  field    msgpack        meaning
//   0  version  uint           1; a consumer rejects any other
//   1  stream   str            the port's `stream:` setting (default: the
//                              actor's path, e.g. "root/sensors/s1")
//   2  session  uint 64        changes at every start of the actor: its
//                              start time in microseconds since the epoch
//   3  seq      uint 64        1, 2, 3 ... per session: every frame the
//                              framer completed takes the next number, so a
//                              gap means frames lost after framing (a full
//                              destination queue, no destination); frames
//                              dropped by the framer (partial, oversize,
//                              garbage) never get one
//   4  ts       uint 64        receive time, ns since the epoch
//                              (CLOCK_REALTIME), taken when the read(2)
//                              that completed the frame returned
//   5  device   str or nil     polling mode: the name of the request this
//                              frame answers; nil otherwise
//   6  data     bin            the frame's bytes (without its delimiter or,
//                              unless configured, its length header)
//
// (stream, session, seq) identifies a frame; seq alone restarts at 1 when
// the actor restarts.
//
// ARB_SERIAL_TAG_STATS (anyone -> serial, as a request with arb_call):
// the reply (same tag) is a msgpack map from counter name (str) to value
// (uint): the names of docs/actors.md ("serial", "Metrics").  A plain
// (non-request) message with this tag is ignored.
//
// Thread: any (the functions below touch no shared state).

#ifndef ARBOR_SERIAL_MSGS_H
#define ARBOR_SERIAL_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARB_SERIAL_TAG_FRAME 0x00020001u
#define ARB_SERIAL_TAG_STATS 0x00020002u

#define ARB_SERIAL_FRAME_VERSION 1

// A decoded ARB_SERIAL_TAG_FRAME body.  Strings are not NUL-terminated
// and point into the decoded body (borrowed: valid while it is).
typedef struct arb_serial_frame {
	const char    *stream;
	size_t         stream_len;
	uint64_t       session;
	uint64_t       seq;
	uint64_t       ts_ns;
	const char    *device; // NULL when nil
	size_t         device_len;
	const uint8_t *data;
	size_t         len;
} arb_serial_frame;

// arb_serial_frame_encode writes the body of f into out (cap bytes) and
// returns its length, or 0 when cap is too small.  At most
// ARB_SERIAL_FRAME_OVERHEAD + stream_len + device_len + len bytes.
#define ARB_SERIAL_FRAME_OVERHEAD 48
size_t arb_serial_frame_encode(
    void *out, size_t cap, const arb_serial_frame *f);

// arb_serial_frame_decode parses body (len bytes) into *f, pointing into
// body.  Returns 0, or EINVAL for anything that is not a version 1 frame
// body (wrong shape, types or version; trailing bytes).  Never reads
// outside body.
int arb_serial_frame_decode(const void *body, size_t len, arb_serial_frame *f);

#endif // ARBOR_SERIAL_MSGS_H
