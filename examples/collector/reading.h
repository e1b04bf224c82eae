// SPDX-License-Identifier: MIT
// reading.h -- the collector's reading: the line sensors send, the rules
// that validate it, and what the store keeps of it.
//
// A sensor line (serial frame or MQTT payload) is
//
//     NAME=NUMBER [SEP NAME=NUMBER]... [SEP *HH]
//
// SEP is one or more spaces, tabs or commas; leading and trailing blanks
// (and a '\r') are ignored.  NAME is [A-Za-z_][A-Za-z0-9_]* (at most 32
// bytes, each at most once); NUMBER is a JSON number (-?(0|[1-9][0-9]*)
// (.[0-9]+)?([eE][+-]?[0-9]+)?, at most 32 bytes, finite).  *HH is an
// optional NMEA-style checksum: two hex digits, the XOR of every byte
// before the '*'.  Example: "n=42 t=21.50 h=48.1 *3C".
//
// The parse/validate actor (parse.c) turns a line into a reading:
// stream (the serial port's stream name, or the MQTT topic), receive
// time, and the values as a JSON object text ({"n":42,"t":21.50}: the
// sensor's own digits, never reformatted).  The store keeps
// [1, stream, values_json] (msgpack) as the record's data, under the
// stream id reading_stream_id(stream).  Thread: any (no shared state).

#ifndef COLLECTOR_READING_H
#define COLLECTOR_READING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READING_NAME_MAX   32  // bytes of a value's name
#define READING_NUMBER_MAX 32  // bytes of a number
#define READING_VALUES_MAX 64  // values per reading, at most
#define READING_LINE_MAX   4096
#define READING_STREAM_MAX 200 // bytes of a stream name

// The JSON of a line of n bytes takes at most this much: each field
// NAME=NUMBER plus its separator becomes "NAME":NUMBER, (2 bytes more).
#define READING_JSON_CAP(n) ((n) + 2 * READING_VALUES_MAX + 3)

// Why a line was rejected: the label of collector_rejected_total.
typedef enum reading_err {
	READING_OK = 0,
	READING_EMPTY,         // nothing but blanks
	READING_TOO_LONG,      // over max_line
	READING_BAD_FIELD,     // not NAME=..., or a bad name
	READING_BAD_NUMBER,    // not a JSON number, or too long
	READING_DUPLICATE,     // a name twice
	READING_TOO_MANY,      // over max_values
	READING_BAD_CHECKSUM,  // *HH present and wrong (or not hex)
	READING_NO_CHECKSUM,   // checksum: required, and none
	READING_OUT_OF_RANGE,  // a value outside its limits
	READING_MISSING,       // a required value absent
	READING_BAD_MESSAGE,   // the message around the line was malformed
	READING_BAD_STREAM,    // the stream name is empty or too long
	READING_ERR_COUNT,
} reading_err;

// reading_err_name is the word for e ("bad_checksum"...).
const char *reading_err_name(reading_err e);

typedef enum reading_checksum {
	READING_CHECKSUM_OPTIONAL = 0, // checked when present (default)
	READING_CHECKSUM_REQUIRED,     // a line without one is rejected
	READING_CHECKSUM_IGNORE,       // never checked (*HH still removed)
} reading_checksum;

// A limit on one named value: lo <= value <= hi.
typedef struct reading_limit {
	char   name[READING_NAME_MAX + 1];
	double lo, hi;
} reading_limit;

typedef struct reading_rules {
	size_t               max_line;   // bytes (default 512)
	size_t               max_values; // (default 16)
	reading_checksum     checksum;
	const reading_limit *limits;
	size_t               nlimits;
	const char *const   *required; // names that must be present
	size_t               nrequired;
} reading_rules;

// reading_rules_default fills r with the defaults (no limits, nothing
// required).
void reading_rules_default(reading_rules *r);

// reading_parse validates line (len bytes, any bytes) against rules and
// writes the values as a JSON object text into json (cap bytes, NUL
// terminated; READING_JSON_CAP(len) always suffices), *jlen its length.
// Returns READING_OK or why the line is rejected (json is then
// unspecified).  *bad_name (may be NULL) points into line at the value
// that failed a limit or a number, for the log, with *bad_len bytes.
reading_err reading_parse(const void *line, size_t len,
    const reading_rules *rules, char *json, size_t cap, size_t *jlen,
    const char **bad_name, size_t *bad_len);

// reading_checksum_of is the XOR of n bytes (what *HH carries).
uint8_t reading_checksum_of(const void *p, size_t n);

// reading_stream_id is the store's stream number of a stream name:
// FNV-1a (32 bits) of its bytes.  Two names with the same id share one
// sequence of numbers (every (gateway, id, seq) is still unique).
uint32_t reading_stream_id(const void *name, size_t n);

// reading_json_str writes s (n bytes) as a JSON string, quotes included,
// into out (cap bytes) and returns the length written, or 0 when it did
// not fit.  Control bytes, '"' and '\\' are escaped; other bytes are
// copied (a stream name is the sensor's or the topic's own UTF-8).
size_t reading_json_str(char *out, size_t cap, const char *s, size_t n);

#endif // COLLECTOR_READING_H
