// SPDX-License-Identifier: MIT
// store_msgs.h -- the messages of the store actor (actors/store): tags,
// body layouts, and helpers that build and read the bodies.
//
// Every body is one msgpack value; the layouts below are the contract
// (docs/store.md, "Messages", says the same with examples), so a peer may
// build them with any msgpack library.  The helpers (store_msgs.c, in
// the static library arbor_store_msgs, which links msgpackc) are a
// convenience.  Integers are msgpack integers of any width; `data` is a
// msgpack bin (a str is accepted too).
//
// Producers (any actor):
//   STORE_APPEND    [id, [stream, ts_ms|nil, data], ...]  (1+ readings)
//                   [[producer, id], [stream, ts_ms|nil, data], ...]
//       id: the producer's number for this message (echoed back).  With
//       [producer, id] (producer: a non-zero number the producer picked
//       at random when it started) the append is exactly-once: sent
//       again (the producer was not answered, the store restarted), it
//       is answered with the same numbers and stored once.
//       stream: 0 .. 2^32-1.  ts_ms: receive time in ms since the Unix
//       epoch, nil = the store's clock.  data: the reading's bytes.
//       All readings of a message are stored together: all are
//       acknowledged, or none is.  Send it as a plain message, or as a
//       request with arb_call (the answer is then the reply).
//   -> STORE_APPENDED [id, [stream, first_seq, count], ...]
//       after the fdatasync covering every reading returned: the runs of
//       sequence numbers, in reading order (consecutive readings of one
//       stream form one run).  (gateway, stream, seq) is the reading's
//       identity downstream.
//   -> STORE_REFUSED  [id, code, retry_ms, cause]
//       nothing was stored.  code ARB_EAGAIN: back-pressure, retry after
//       retry_ms (cause "quota", "disk_full", "pending", "disk_error",
//       "commit_failed", "stopping"); ARB_EMSGSIZE / ARB_EINVAL /
//       ARB_EBADMSG: the message itself is wrong ("too_large",
//       "bad_reading", "bad_message"), do not resend it as it is.
//
// The consumer (one at a time; the uplink):
//   STORE_SUBSCRIBE   [window, batch]  (request or plain message)
//       window: records in flight at most (1 .. the store's window);
//       batch: records per STORE_RECORDS at most (1 .. 4096).  A new
//       subscription replaces the previous one (of any actor) and starts
//       again at the first unacknowledged record.  The store monitors
//       the subscriber.
//   -> STORE_SUBSCRIBED [session, gateway, backlog_records, backlog_bytes]
//   -> STORE_RECORDS  [session, gateway, [pos, stream, seq, ts_ms, data], ...]
//       durable records in log order (so per-stream order), pushed while
//       fewer than `window` are in flight.  All records of a message have
//       the message's gateway id.
//   STORE_ACK         [session, pos, ...]
//       the records at these positions are delivered (e.g. PUBACK of
//       their QoS 1 publish): they may be deleted.  Acks of another
//       session, or of positions not in flight, are ignored (counted).
//   STORE_UNSUBSCRIBE [session]
//       stop pushing; what is in flight will come again to the next
//       subscriber.
//
// Anyone:
//   STORE_STATUS      []  (request)
//   -> STORE_STATUS_REPLY {"backlog_records": n, "backlog_bytes": n,
//       "oldest_age_ms": n, "appended_records": n, "acked_records": n,
//       "full": bool, "consumer": bool}

#ifndef ARBOR_STORE_MSGS_H
#define ARBOR_STORE_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_TAG_APPEND        0x00010001u
#define STORE_TAG_APPENDED      0x00010002u
#define STORE_TAG_REFUSED       0x00010003u
#define STORE_TAG_SUBSCRIBE     0x00010010u
#define STORE_TAG_SUBSCRIBED    0x00010011u
#define STORE_TAG_RECORDS       0x00010012u
#define STORE_TAG_ACK           0x00010013u
#define STORE_TAG_UNSUBSCRIBE   0x00010014u
#define STORE_TAG_STATUS        0x00010020u
#define STORE_TAG_STATUS_REPLY  0x00010021u

#define STORE_GATEWAY_MAX 63 // bytes of a gateway id

typedef struct store_reading {
	uint32_t    stream;
	int64_t     ts_ms; // < 0: the store's clock
	const void *data;
	size_t      len;
} store_reading;

typedef struct store_run {
	uint32_t stream;
	uint32_t count;
	uint64_t first_seq;
} store_run;

typedef struct store_record {
	uint64_t    pos; // the ack key
	uint32_t    stream;
	uint64_t    seq;
	int64_t     ts_ms;
	const void *data; // points into the message body
	size_t      len;
} store_record;

// A body built by the helpers below: data is malloc'd, released with
// store_body_free.
typedef struct store_body {
	void  *data;
	size_t len;
} store_body;

void store_body_free(store_body *b);

// --- building bodies: 0, or ENOMEM ----------------------------------------
int store_msg_append(store_body *b, uint64_t id, const store_reading *r,
    size_t n);
// store_msg_append_once is store_msg_append for an exactly-once append.
int store_msg_append_once(store_body *b, uint64_t producer, uint64_t id,
    const store_reading *r, size_t n);
int store_msg_subscribe(store_body *b, uint32_t window, uint32_t batch);
int store_msg_ack(store_body *b, uint64_t session, const uint64_t *pos,
    size_t n);
int store_msg_unsubscribe(store_body *b, uint64_t session);

// --- reading bodies: 0, or EBADMSG for a body of another layout -----------

// store_msg_valid is true when body holds exactly one msgpack value in
// which no container claims more items, and no string, bin or ext more
// bytes, than the body has left, and containers nest at most 16 deep.
// msgpack-c's unpacker allocates what a count claims (a 5-byte body can
// claim 2^32 items); after this check its allocations are bounded by the
// body's size.  The readers below and the store actor check every body
// with it first.  Allocates nothing.
bool store_msg_valid(const void *body, size_t len);

// store_msg_appended_read reads STORE_APPENDED: *idp, and up to max runs
// into runs (*nrunsp: how many the body holds; more than max is an
// error).
int store_msg_appended_read(const void *body, size_t len, uint64_t *idp,
    store_run *runs, size_t max, size_t *nrunsp);

// store_msg_refused_read reads STORE_REFUSED; cause is NUL-terminated
// (cut to causelen).
int store_msg_refused_read(const void *body, size_t len, uint64_t *idp,
    int *codep, int *retry_msp, char *cause, size_t causelen);

// store_msg_subscribed_read reads STORE_SUBSCRIBED.
int store_msg_subscribed_read(const void *body, size_t len,
    uint64_t *sessionp, char gateway[STORE_GATEWAY_MAX + 1],
    uint64_t *backlog_recordsp, uint64_t *backlog_bytesp);

// store_msg_records_read reads STORE_RECORDS: up to max records into
// recs (their data points into body), *np how many (more than max is an
// error).
int store_msg_records_read(const void *body, size_t len, uint64_t *sessionp,
    char gateway[STORE_GATEWAY_MAX + 1], store_record *recs, size_t max,
    size_t *np);

// --- the store's side (store_actor.c) ---------------------------------------

// store_msg_append_read reads STORE_APPEND: *producerp (0 for a plain
// append), *idp (set as soon as it is readable, for the refusal), and
// the readings into *rp (malloc'd, the caller frees it; data points into
// body), *np of them.  Returns 0, EBADMSG (not an append), EINVAL (a
// reading is wrong), ENOMEM.
int store_msg_append_read(const void *body, size_t len, uint64_t *producerp,
    uint64_t *idp, store_reading **rp, size_t *np);

// store_msg_subscribe_read reads STORE_SUBSCRIBE: an empty body, [],
// [window] or [window, batch]; what is absent is left alone.
int store_msg_subscribe_read(
    const void *body, size_t len, uint64_t *windowp, uint64_t *batchp);

// store_msg_ack_read reads STORE_ACK: *sessionp and the positions into
// *posp (malloc'd, the caller frees it), *np of them.  An item that is
// not a position is counted in *badp and left out.
int store_msg_ack_read(const void *body, size_t len, uint64_t *sessionp,
    uint64_t **posp, size_t *np, size_t *badp);

// store_msg_unsubscribe_read reads STORE_UNSUBSCRIBE.
int store_msg_unsubscribe_read(
    const void *body, size_t len, uint64_t *sessionp);

int store_msg_appended(
    store_body *b, uint64_t id, const store_run *runs, size_t n);
int store_msg_refused(store_body *b, uint64_t id, int code, int retry_ms,
    const char *cause);
int store_msg_subscribed(store_body *b, uint64_t session,
    const char *gateway, uint64_t backlog_records, uint64_t backlog_bytes);

typedef struct store_status {
	uint64_t backlog_records;
	uint64_t backlog_bytes;
	int64_t  oldest_age_ms;
	uint64_t appended_records;
	uint64_t acked_records;
	bool     full;
	bool     consumer;
} store_status;

int store_msg_status_reply(store_body *b, const store_status *st);

// A STORE_RECORDS body built record by record (the count comes first in
// msgpack, so the records wait in a second buffer).
typedef struct store_recs store_recs;

int  store_recs_new(store_recs **wp);
void store_recs_free(store_recs *w); // NULL is a harmless no-op
void store_recs_reset(store_recs *w);
int  store_recs_add(store_recs *w, uint64_t pos, uint32_t stream,
     uint64_t seq, int64_t ts_ms, const void *data, size_t len);
// store_recs_finish makes the body of the records added since the reset;
// *datap is valid until the next reset.
int store_recs_finish(store_recs *w, uint64_t session, const char *gateway,
    const void **datap, size_t *lenp);

#endif // ARBOR_STORE_MSGS_H
