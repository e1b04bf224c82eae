// SPDX-License-Identifier: MIT
// record.h -- the store's on-disk formats: records and segment headers
// (docs/store.md, "On disk", is the reference; this is its code).
//
// Pure functions over byte buffers: no I/O, no allocation, no state.
// Integers are little-endian.  Thread: any.

#ifndef ARBOR_STORE_RECORD_H
#define ARBOR_STORE_RECORD_H

#include "crc32c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// --- Records ----------------------------------------------------------------
//   0  u32  crc32c of bytes 4 .. 24+len-1 (the rest of the header and
//           the payload)
//   4  u32  len (bits 0-23, payload bytes) | type (bits 24-31)
//   8  u32  stream
//  12  u48  seq (per stream, from 1)
//  18  u48  ts_ms (receive time, ms since the Unix epoch)
//  24  len  payload
// Type 2 (a batch) comes before the readings of an append that named its
// producer and id (exactly-once appends): stream 0, seq 1, and a 24-byte
// payload { u64 producer, u64 id, u32 total readings, u32 index of the
// first reading that follows }.  It is never delivered.
#define SLOG_REC_HDR     24u
#define SLOG_REC_LEN_MAX 0xFFFFFFu // the field's limit; the store's is lower
#define SLOG_REC_READING 1u
#define SLOG_REC_BATCH   2u
#define SLOG_BATCH_LEN   24u
#define SLOG_U48_MAX     ((UINT64_C(1) << 48) - 1)

// slog__rec_type_ok: a known type with a length it allows.
static inline bool
slog__rec_type_ok(uint32_t type, uint32_t len)
{
	return type == SLOG_REC_READING
	    || (type == SLOG_REC_BATCH && len == SLOG_BATCH_LEN);
}

// A batch record's payload.
typedef struct slog_batchrec {
	uint64_t producer;
	uint64_t id;
	uint32_t total;
	uint32_t index;
} slog_batchrec;

void slog__batchrec_put(uint8_t *payload, const slog_batchrec *b);
void slog__batchrec_get(const uint8_t *payload, slog_batchrec *b);

typedef struct slog_rec {
	uint32_t       type;
	uint32_t       len;
	uint32_t       stream;
	uint64_t       seq;
	int64_t        ts_ms;
	const uint8_t *data; // payload, inside the parsed buffer
} slog_rec;

typedef enum slog_parse {
	SLOG_PARSE_OK = 0, // a valid record (or header)
	SLOG_PARSE_SHORT,  // plausible so far; *sizep bytes are needed
	SLOG_PARSE_BAD,    // not a valid record (or header) here
} slog_parse;

// slog__rec_put writes a record of 24+len bytes at dst.  seq and ts_ms
// must fit in 48 bits (ts_ms is clamped to 0 .. 2^48-1).
void slog__rec_put(uint8_t *dst, uint32_t type, uint32_t stream,
    uint64_t seq, int64_t ts_ms, const void *data, uint32_t len);

// slog__rec_parse checks the record at p, of which avail bytes are
// present.  A header with an unknown type, a length over max_len or
// beyond limit (the bytes left in the segment, when known) is BAD at
// once, so a huge length is never allocated or read; a record whose CRC
// does not match is BAD.  SHORT asks for *sizep bytes.  OK fills *r
// (pointing into p) and sets *sizep to the record's size.
slog_parse slog__rec_parse(const uint8_t *p, size_t avail, uint32_t max_len,
    uint64_t limit, slog_rec *r, size_t *sizep);

// --- Segment headers --------------------------------------------------------
//   0    8  magic "ARBSTORE"
//   8  u16  format version (1)
//  10  u16  flags (0)
//  12  u32  hdr_len: 132 + 12 * nstreams
//  16  u64  segment number (also in the file name)
//  24  u64  created, ms since the Unix epoch
//  32  u32  max_record: no payload in this segment is longer
//  36  u32  nstreams
//  40   u8  gateway id length (1-63)
//  41   63  gateway id, zero padded
// 104   24  reserved, zero
// 128       nstreams x { u32 stream, u64 last seq before this segment },
//           ascending by stream
// hdr_len-4 u32 crc32c of bytes 0 .. hdr_len-5
#define SLOG_SEG_MAGIC       "ARBSTORE"
#define SLOG_SEG_VERSION     1u
#define SLOG_SEG_FIXED       128u
#define SLOG_SEG_HDR_MIN     132u
#define SLOG_SEG_STREAMS_MAX 65536u
#define SLOG_SEG_HDR_MAX     (SLOG_SEG_HDR_MIN + 12u * SLOG_SEG_STREAMS_MAX)
#define SLOG_GATEWAY_MAX     63u

typedef struct slog_seghdr {
	uint32_t       version;
	uint32_t       hdr_len;
	uint64_t       seg_no;
	int64_t        created_ms;
	uint32_t       max_record;
	uint32_t       nstreams;
	char           gateway[SLOG_GATEWAY_MAX + 1];
	const uint8_t *table; // nstreams entries, inside the parsed buffer
} slog_seghdr;

// slog__seghdr_size is the header's size for nstreams streams.
size_t slog__seghdr_size(uint32_t nstreams);

// slog__seghdr_put writes h (its hdr_len and version are computed) and
// the table (streams[i], seqs[i], ascending by stream) at dst, which
// has slog__seghdr_size(h->nstreams) bytes.
void slog__seghdr_put(uint8_t *dst, const slog_seghdr *h,
    const uint32_t *streams, const uint64_t *seqs);

// slog__seghdr_parse checks the header at p (avail bytes present):
// magic, version, lengths, gateway and CRC.  SHORT asks for *sizep
// bytes; OK fills *h (table points into p).
slog_parse slog__seghdr_parse(
    const uint8_t *p, size_t avail, slog_seghdr *h, size_t *sizep);

// slog__seghdr_entry reads entry i of a parsed header's table.
void slog__seghdr_entry(
    const slog_seghdr *h, uint32_t i, uint32_t *streamp, uint64_t *seqp);

// slog__gateway_valid: 1-63 bytes of [A-Za-z0-9._:-].
bool slog__gateway_valid(const char *g);

#endif // ARBOR_STORE_RECORD_H
