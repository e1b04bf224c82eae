// SPDX-License-Identifier: MIT
// mpr.h -- a bounded msgpack reader for the collector's actors: a cursor
// over one message body that reads values in place, allocates nothing,
// never reads outside the body and refuses lengths and counts that the
// bytes left cannot hold (a 5-byte body claiming 2^32 items is an error,
// not an allocation).  Writing stays with msgpack-c's packer.
//
// Every reader returns 0 and advances, or -1 and leaves the cursor in
// the failed state (every later call fails too), so a caller may read a
// whole layout and test once.  Thread: the caller's (no shared state).

#ifndef COLLECTOR_MPR_H
#define COLLECTOR_MPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mpr {
	const uint8_t *p;
	const uint8_t *end;
	bool           bad;
} mpr;

// The kinds mpr_peek tells apart.
typedef enum mpr_kind {
	MPR_NONE = 0, // end of body, or a byte no value starts with
	MPR_NIL,
	MPR_BOOL,
	MPR_UINT,
	MPR_NINT, // a negative integer
	MPR_FLOAT,
	MPR_STR,
	MPR_BIN,
	MPR_ARRAY,
	MPR_MAP,
	MPR_EXT,
} mpr_kind;

void mpr_init(mpr *r, const void *body, size_t len);

// mpr_peek is the kind of the next value (MPR_NONE when there is none).
mpr_kind mpr_peek(const mpr *r);

// mpr_done is true when the whole body was read without an error.
bool mpr_done(const mpr *r);

int mpr_array(mpr *r, uint32_t *n); // the header; then n values
int mpr_map(mpr *r, uint32_t *n);   // the header; then n key/value pairs
int mpr_uint(mpr *r, uint64_t *v);  // a non-negative integer
int mpr_int(mpr *r, int64_t *v);    // any integer that fits in int64
int mpr_bool(mpr *r, bool *v);
int mpr_nil(mpr *r);
int mpr_number(mpr *r, double *v); // a float, or an integer

// mpr_is is true when the n bytes at p are the string s (a map key read
// with mpr_bytes).
bool mpr_is(const void *p, size_t n, const char *s);

// mpr_bytes reads a str or a bin: *p points into the body.
int mpr_bytes(mpr *r, const void **p, size_t *n);

// mpr_skip skips one value of any kind (nesting at most 16 deep).
int mpr_skip(mpr *r);

// A field of a peer's map body (MQTT_STATUS, MQTT_PUBACK, the store's
// STORE_STATUS_REPLY): its key, what it holds -- MPR_UINT (uint64_t),
// MPR_NINT (any integer, int64_t) or MPR_BOOL (bool) -- and where it goes.
typedef struct mpr_field {
	const char *name;
	mpr_kind    kind;
	void       *to;
	bool        seen; // set by mpr_fields
} mpr_field;

// mpr_fields reads a map body into the fields it names (other keys are
// skipped, a field absent keeps its value).  Returns 0, or -1 when the
// body is not one well-formed map or a field holds another kind.
int mpr_fields(const void *body, size_t len, mpr_field *f, size_t nf);

#endif // COLLECTOR_MPR_H
