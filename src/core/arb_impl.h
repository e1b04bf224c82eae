// SPDX-License-Identifier: MIT
// arb_impl.h -- private umbrella header: every src/ file includes it first.
//
// Symbols named arb__ are private to libarbor; nothing here is installed.
// It declares the small core modules (alloc, log, clock, buf, msg, codec)
// that every other part uses.

#ifndef ARB_IMPL_H
#define ARB_IMPL_H

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include "arb_clock.h" // arb__now_ms/_us, arb__wall_ms/_ns

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ARB_UNUSED(x)     ((void) (x))

// arb__panic prints the message and aborts: broken contracts only.
_Noreturn void arb__panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

// --- alloc.c: every heap allocation goes through here (OOM fault tests) --
void *arb__alloc(size_t n);   // zeroed; NULL on failure
void *arb__realloc(void *p, size_t n);
void  arb__free(void *p);     // NULL is a harmless no-op
char *arb__strdup(const char *s); // NULL in, NULL out
// arb__alloc_fail_after makes the n-th next allocation fail (0 = off).
// For fault-injection tests only.  Thread: any.
void arb__alloc_fail_after(long n);
// arb__heap_trim gives the heap's free pages back to the system
// (malloc_trim) when at least ARB__HEAP_TRIM_MS passed since the process's
// last trim, and returns true if it trimmed.  Called from every actor's
// heartbeat (actor.c), between batches: whichever actor of the process
// comes first after the period trims for all of them.  Without glibc's
// allocator (another libc, a sanitizer's) it does nothing and returns
// false.  Thread: any.
#define ARB__HEAP_TRIM_MS 30000
bool arb__heap_trim(int64_t now_ms);

// ARB__ARG_MAX is the largest argument (arb_child_spec.arg, the config of
// a tree file) of a process actor, and of a run-time start: it travels in
// one control message (actor/ctl.h: ARB__CTL_MAX, with room for the rest
// of the message).  The spec checker refuses a larger one.
#define ARB__ARG_MAX (60 * 1024)

// --- sanitizer.c: ThreadSanitizer reports of process actors ---------------
// ARB__TSAN is 1 in a ThreadSanitizer build (-DARB_SANITIZER=thread), 0
// otherwise.  TSan prints a race report when it finds the race and, as
// its process ends (exit or _exit), turns an exit status of 0 into its
// exitcode, ARB__TSAN_EXITCODE (TSAN_OPTIONS' default).
#if defined(__SANITIZE_THREAD__)
#define ARB__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ARB__TSAN 1
#endif
#endif
#ifndef ARB__TSAN
#define ARB__TSAN 0
#endif
#define ARB__TSAN_EXITCODE 66
// arb__san_child_ended: the node reaped ospid, the process actor at path,
// with wait status status.  In a TSan build, when that is an exit with
// ARB__TSAN_EXITCODE (TSan reported in the actor: its report is on its
// stderr), it logs event=sanitizer_report at error level, and this
// process's exit status 0, when it comes, becomes ARB__TSAN_EXITCODE: a
// race in a process actor fails the node's process as one in the node
// does.  Returns true then.  Does nothing (false) in other builds.
// Thread: node.
bool arb__san_child_ended(const char *path, int ospid, int status);

// --- err.c -----------------------------------------------------------------
int arb__err_from_errno(int e);

// --- clock.c (the clocks are arb_clock.h's) -------------------------------
uint64_t arb__random(void); // thread-safe, non-cryptographic

// --- log.c: one line per event, to stderr (journald-friendly) ----------
// Lines look like:
//   2025-01-06T05:13:00.123Z arbor[1234]: warn root/w1 event=exit reason=...
// (log.c says when the time is left out and a priority comes first).
void arb__log_set_level(int level);
// arb__log_level_parse reads a level given as a name (error, warn, info,
// debug) or a number 1-4: the level, or 0 when text is neither.
int arb__log_level_parse(const char *text);
int  arb__log_level(void);
// arb__log_set_time decides the start of lines again: ARB_LOG_TIME_ON or
// _OFF force timestamps; _AUTO reads $ARB_LOG_TIME, else stamps unless
// stderr is the journal.  The first line decides by itself with _AUTO.
void arb__log_set_time(int mode);
void arb__log(int level, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// arb__logv writes "[TIME ]arbor[PID]: LEVEL PATH event=EVENT <fmt...>" (no
// event= when event is NULL; PATH "-" when path is NULL).  Levels outside
// ARB_LOG_ERROR..ARB_LOG_DEBUG are dropped.  Behind arb_log.
void arb__logv(int level, const char *path, const char *event,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
// Lines are written to stderr by a writer thread from a bounded buffer:
// logging never waits for the reader of stderr; lines that find the
// buffer full are dropped and counted, and a "event=log_dropped count=N"
// line says so once there is room.  arb__log_flush waits at most
// timeout_ms for every line logged so far to be written; true when they
// were.  At exit it is called with ARB__LOG_EXIT_MS.
#define ARB__LOG_EXIT_MS 1000
bool arb__log_flush(int timeout_ms);
// arb__log_dropped is the count of this process's dropped lines.
uint64_t arb__log_dropped(void);

// --- escape.c: outside text made safe for one log line -----------------
// arb__escape copies in[0..n) to out, NUL-terminated and at most len bytes
// with the NUL, writing the bytes below 0x20 but TAB, DEL (0x7f), and
// each byte of a sequence that is not UTF-8 (arb__utf8_len) as \xNN;
// every other byte is copied as it is, so out is UTF-8.  Where out is
// full it cuts, never inside an escape or a UTF-8 sequence.  Returns how
// many bytes of in were copied (n when all fit); with len 0 it writes
// nothing and returns 0.  A NUL byte in in is escaped too.  This
// function can't fail.  Thread: any.
size_t arb__escape(const char *in, size_t n, char *out, size_t len);
// arb__utf8_len is the length of the UTF-8 sequence at s (n bytes there):
// 1 for ASCII, 2 to 4 for a sequence RFC 3629 allows, 0 when s starts
// none (a continuation byte, 0xc0, 0xc1, 0xf5-0xff, a sequence cut
// short by n or by a byte that continues nothing, an overlong form, a
// surrogate, anything above U+10FFFF; and n == 0).  Thread: any.
size_t arb__utf8_len(const char *s, size_t n);
// arb__utf8_cut is where to end s, UTF-8 text cut at n bytes, so that
// it does not end inside a sequence: n, or the start of the last
// sequence when that sequence needs more bytes than are left.  Thread:
// any.
size_t arb__utf8_cut(const char *s, size_t n);

// --- buf.c: growable byte buffer --------------------------------------------
typedef struct arb__buf {
	uint8_t *data;
	size_t   len;
	size_t   cap;
} arb__buf;

int  arb__buf_reserve(arb__buf *b, size_t extra); // ARB_ENOMEM
int  arb__buf_append(arb__buf *b, const void *p, size_t n);
void arb__buf_reset(arb__buf *b); // len = 0, keeps memory
void arb__buf_fini(arb__buf *b);  // safe on zeroed memory

// --- msg.c --------------------------------------------------------------
#define ARB__F_REQUEST 0x1u // sender waits for a reply (ref is the key)
#define ARB__F_REPLY   0x2u // answer to a request with the same ref
#define ARB__F_ERROR   0x4u // reply carries [code, text] (arb_reply_error)
// A reply with ARB__F_ERROR that says the request was not delivered, its
// code why: ARB_ENOENT, it reached no actor (a name nobody holds, an
// incarnation that has ended; the caller's result is ARB_ENOENT with
// reason noproc, as a local call to it is refused), or ARB_EAGAIN, the
// node's relay had no room for it towards its node (the caller's result
// is ARB_EAGAIN, as a local call's when its backlog is full).
#define ARB__F_NOPROC  0x8u
// The node's notice to each of its actors that a peer node is down
// (node.c, node_peer_cb): from the node's pid, ref the time of the DOWN
// (arb__now_us), body an exit reason whose who is the lost node's pid
// [id, node, creation] and whose reason is noconnection.  The actor
// runtime ends the calls and gathers waiting on that node (actor.c,
// ctx_peer_lost); it never reaches an actor's handler (docs/wire.md).
#define ARB__TAG_PEER_LOST 0xFFFF0003u

struct arb_msg {
	arb_pid  from;
	arb_pid  to;
	uint32_t tag;
	uint32_t flags;
	uint64_t ref;
	size_t   len;
	const uint8_t *body; // heap messages: points just after the struct;
	                     // views: into a received batch (borrowed)
};

// --- codec.c: envelope <-> msgpack wire format (docs/wire.md) ------------
// Wire format v2: one envelope is the msgpack array
//   [2, flags, from, to, tag, ref, body]
// with version the positive fixint 2, flags/tag unsigned ints, ref an
// unsigned 64-bit int, from/to pids (an unsigned 64-bit id for a pid of
// this node, else [id, node, creation]) and body a msgpack bin (its bytes
// are themselves a msgpack value, or empty).  A batch is envelopes
// concatenated; one link frame (or mailbox chunk) carries one batch.
#define ARB__WIRE_VERSION 2

// arb__codec_encode appends one envelope to out.  Returns ARB_OK or
// ARB_ENOMEM (out is then unchanged).  Thread: any.
int arb__codec_encode(arb__buf *out, const arb_msg *m);
// arb__codec_size bounds the bytes of m's envelope; arb__codec_put writes
// it at p (at least arb__codec_size bytes) and returns its length.  The
// body must fit a bin32 (arb_msg_alloc's limit is far below).
size_t arb__codec_size(const arb_msg *m);
size_t arb__codec_put(uint8_t *p, const arb_msg *m);

typedef struct arb__decoder {
	const uint8_t *p;
	size_t         left;
	size_t         max_body; // larger bodies give ARB_EMSGSIZE
	bool           failed;   // set after the first error
} arb__decoder;

void arb__decoder_init(
    arb__decoder *d, const void *batch, size_t len, size_t max_body);
// arb__codec_next decodes the next envelope into *view, whose body points
// into the batch (no copy).  Returns ARB_OK, ARB_ENOENT at the clean end
// of the batch, ARB_EBADMSG for malformed/truncated/unknown-version data
// or ARB_EMSGSIZE for an oversized body.  After an error the rest of the
// batch is unreadable (a batch has no resync points) and every further
// call returns ARB_ENOENT.  Never reads outside [batch, batch+len).
int arb__codec_next(arb__decoder *d, arb_msg *view);
// arb__codec_peek reads the from, tag and length of the envelope at p
// (left bytes from there) when it has the shape arb__codec_put writes:
// 0x97, the version as a fixint, every integer in an unsigned form
// (positive fixint, uint 8/16/32/64; the encoder writes the smallest),
// a pid as a bare id or the fixarray [id, node, creation], the body a
// bin.  false: any other shape -- valid msgpack arb__codec_next takes
// (signed integer forms, array 16/32), or no envelope at all
// (arb__codec_next tells which).  Where it reads an envelope it reads what arb__codec_next
// would (a msgpack value has one length), in less than half its time,
// and with no body limit.  For a pass over a batch that needs only the
// sender of each envelope (transport/forged.c).  Never reads outside
// [p, p+left).  Thread: any.
bool arb__codec_peek(
    const uint8_t *p, size_t left, arb_pid *from, uint32_t *tag, size_t *len);

// Exit reasons as a message body: [who(u64), kind, code, text(str)].
int arb__codec_encode_exit(arb__buf *out, arb_pid who, const arb_exit *e);
// arb__codec_encode_exit_wide writes who as [id, node, creation] even
// when it is this node's: a body read by another node.
int arb__codec_encode_exit_wide(
    arb__buf *out, arb_pid who, const arb_exit *e);
int arb__codec_decode_exit(
    const void *body, size_t len, arb_pid *who, arb_exit *e);
// Error replies as a body: [code, text(str)].
int arb__codec_encode_error(arb__buf *out, int code, const char *text);
int arb__codec_decode_error(const void *body, size_t len, int *code,
    char *text, size_t textlen);
// arb__codec_error_reply makes *ans the error reply to the request req:
// to req's sender, with its tag and ref, flags ARB__F_REPLY |
// ARB__F_ERROR | flags and the body [code, text] in *b (the caller sets
// ans->from if it must and frees *b with arb__buf_fini).  ARB_EINVAL when
// req is no request (nothing to answer), else arb__codec_encode_error's
// result (ARB_ENOMEM).
int arb__codec_error_reply(const arb_msg *req, int code, const char *text,
    uint32_t flags, arb__buf *b, arb_msg *ans);
// arb__codec_noproc makes *ans the answer to the request req that was not
// delivered: arb__codec_error_reply with ARB__F_NOPROC (code ARB_ENOENT:
// it reached no actor; ARB_EAGAIN: no room for it).  false when req is
// no request (nothing to answer) or no memory.
bool arb__codec_noproc(
    const arb_msg *req, int code, const char *text, arb__buf *b, arb_msg *ans);

// --- codec.c: bounded zero-copy readers for formats built on msgpack ----
// (the control channel, src/actor/ctl.c), over the envelope decoder's
// own readers.  Each get returns false on malformed, truncated or
// out-of-range input (the reader is then unusable) and never reads
// outside [p, p+left).  Strings and bins are views into the input.
typedef struct arb__mp_rd {
	const uint8_t *p;
	size_t         left;
} arb__mp_rd;

bool arb__mp_get_array(arb__mp_rd *r, uint32_t *n);
bool arb__mp_get_uint(arb__mp_rd *r, uint64_t max, uint64_t *v);
bool arb__mp_get_int(arb__mp_rd *r, int64_t min, int64_t max, int64_t *v);
bool arb__mp_get_bool(arb__mp_rd *r, bool *v);
bool arb__mp_get_str(arb__mp_rd *r, const uint8_t **s, size_t *n);
bool arb__mp_get_bin(arb__mp_rd *r, const uint8_t **s, size_t *n);

// --- mpval.c: a bounded msgpack value tree (configs, metrics) ----------
typedef enum arb__vtype {
	ARB__V_NIL = 0,
	ARB__V_BOOL,
	ARB__V_UINT,  // any integer >= 0
	ARB__V_INT,   // a negative integer
	ARB__V_FLOAT, // float32 or float64
	ARB__V_STR,
	ARB__V_BIN,
	ARB__V_ARRAY,
	ARB__V_MAP,
	ARB__V_EXT, // kept as raw bytes only
} arb__vtype;

#define ARB__VAL_DEPTH 64 // deepest nesting accepted

typedef struct arb__val {
	arb__vtype type;
	uint32_t   n; // str/bin: bytes; array: items; map: pairs
	union {
		bool             b;
		uint64_t         u;
		int64_t          i;
		double           f;
		const char      *s; // str, bin: a copy (NUL-terminated)
		struct arb__val *v; // array: n items; map: 2n, key then value
	} via;
	const uint8_t *raw; // this value's bytes in the decoded buffer
	size_t         rawlen;
} arb__val;

// arb__val_decode decodes exactly one msgpack value filling buf[0..len)
// into a tree that is ONE allocation (release it with arb__free); raw
// pointers point into buf, everything else is copied.  Returns ARB_OK,
// ARB_EBADMSG (malformed, truncated, trailing bytes, deeper than
// ARB__VAL_DEPTH, empty) or ARB_ENOMEM.  Thread: any.
int arb__val_decode(const void *buf, size_t len, arb__val **rootp);
// arb__val_get returns the value of string key in map, or NULL.
const arb__val *arb__val_get(const arb__val *map, const char *key);

// Writers of msgpack values (smallest forms).  ARB_OK or ARB_ENOMEM.
int arb__mp_put_nil(arb__buf *b);
int arb__mp_put_uint(arb__buf *b, uint64_t v);
int arb__mp_put_double(arb__buf *b, double v);
int arb__mp_put_str(arb__buf *b, const char *s, size_t n);
int arb__mp_put_array(arb__buf *b, uint32_t n);
int arb__mp_put_int(arb__buf *b, int64_t v);
int arb__mp_put_bool(arb__buf *b, bool v);
int arb__mp_put_map(arb__buf *b, uint32_t n); // n pairs follow
int arb__mp_put_bin(arb__buf *b, const void *p, size_t n);

// --- units.c: durations and sizes in config text ------------------------
// arb__parse_dur_ms parses digits (milliseconds) or a number with one unit
// ms, s, m, h ("250ms", "1.5s").  arb__parse_size parses digits (bytes) or
// a number with one unit B, kB, MB, GB, TB, KiB, MiB, GiB, TiB.  Both
// return ARB_OK, or ARB_EINVAL when s is not one or does not fit.
int arb__parse_dur_ms(const char *s, int64_t *msp);
int arb__parse_size(const char *s, uint64_t *bytesp);
// arb__url_bound is a listener's URL as bound: url with its port 0
// ("tcp://127.0.0.1:0", "tls+tcp://[::1]:0") replaced by port, the port
// the listener got, in buf; url itself when its port is not 0 (or it has
// none: ipc://), port is not 1..65535, or buf is too small.  Thread: any.
const char *arb__url_bound(
    const char *url, int port, char *buf, size_t len);

// --- idmap.c: uint64 -> pointer open-addressing hash (keys != 0) --------
typedef struct arb__idmap {
	uint64_t *keys;
	void    **vals;
	size_t    cap; // power of two, or 0
	size_t    count;
} arb__idmap;

void  arb__idmap_fini(arb__idmap *m); // safe on zeroed memory
void *arb__idmap_get(const arb__idmap *m, uint64_t key);
int   arb__idmap_set(arb__idmap *m, uint64_t key, void *val); // ENOMEM
void *arb__idmap_del(arb__idmap *m, uint64_t key); // returns old value
// arb__idmap_each calls fn for every entry; fn must not modify the map.
void arb__idmap_each(
    const arb__idmap *m, void (*fn)(uint64_t key, void *val, void *arg),
    void *arg);

// --- pid layout ------------------------------------------------------------
// pid.id = (kind << 62) | (mbid << 32) | incarnation.  The mailbox id
// (mbid) names a child slot and is stable across restarts; the
// incarnation changes at every start, so a pid is never reused.
// Incarnation 0 names the slot itself: whichever incarnation holds it
// (what arb_whereis of a child path returns).  pid.node and pid.creation
// name the node and its incarnation; 0 stands for this node.
//
// arb__local is this process's node identity, set once (arb_node_open,
// arb_actor_main) before any pid is made, read everywhere after.
typedef struct arb__nodeid {
	uint32_t node;     // arb__node_id(name)
	uint32_t creation; // random per node start, never 0
} arb__nodeid;
extern arb__nodeid arb__local;
void               arb__local_set(uint32_t node, uint32_t creation);
#define ARB__KIND_NODE    0u
#define ARB__KIND_THREAD  1u
#define ARB__KIND_PROCESS 2u
#define ARB__KIND_EXEC    3u

static inline arb_pid
arb__pid_of(uint64_t id)
{
	arb_pid p;
	p.id       = id;
	p.node     = arb__local.node;
	p.creation = arb__local.creation;
	return p;
}
static inline arb_pid
arb__pid_make(unsigned kind, uint32_t mbid, uint32_t inc)
{
	return arb__pid_of(((uint64_t) kind << 62) |
	    ((uint64_t) (mbid & 0x3FFFFFFFu) << 32) | inc);
}
// arb__pid_local is true for a pid of this node (node 0 included, and
// this node's name with creation 0: whichever incarnation runs).
static inline bool
arb__pid_local(arb_pid p)
{
	return p.node == 0 ||
	    (p.node == arb__local.node &&
	        (p.creation == arb__local.creation || p.creation == 0));
}
static inline uint32_t
arb__pid_inc(arb_pid p)
{
	return (uint32_t) p.id;
}
static inline unsigned
arb__pid_kind(arb_pid p)
{
	return (unsigned) (p.id >> 62);
}
static inline uint32_t
arb__pid_mbid(arb_pid p)
{
	return (uint32_t) ((p.id >> 32) & 0x3FFFFFFFu);
}
// arb__name_hash hashes a name (a node's, or an actor's for a name
// address) to 32 bits: FNV-1a, never 0.  This function can't fail.
static inline uint32_t
arb__name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; name != NULL && *name != '\0'; name++) {
		h ^= (uint8_t) *name;
		h *= 16777619u;
	}
	return h != 0 ? h : 1;
}
// A name address (arb_whereis of "name@node", docs/multinode.md): the
// pid {kind node, mailbox ARB__MBID_NAMES, hash of the name} of that node
// with creation 0.  Batches for it go to the node's names mailbox, where
// the node resolves the name when they arrive (whichever actor holds it
// then) and hands each envelope on.
#define ARB__MBID_NAMES 0x3FFFFFFFu
// The node's relay mailbox: a process actor's batches for other nodes go
// there, on its link to the node, and the node sends each envelope on
// over its own link to that node (docs/multinode.md).  Peers may not use
// it.
#define ARB__MBID_RELAY 0x3FFFFFFEu
// The node's service mailbox: monitors and links across nodes (WATCH,
// DOWN, LINK, UNLINK from peers' nodes, src/node/watch.c).
#define ARB__MBID_SVC 0x3FFFFFFDu
// The node's noproc mailbox: a peer's batch for a mailbox of this node
// that has no actor slot (a removed child, a supervisor's or exec child's
// id, one never used), or one no incarnation will read (closed), or for a
// process actor whose process is not there, and what a closed or removed
// slot's mailbox held, are handed there instead of dropped, so the node
// answers their requests noproc (src/node/names.c).
#define ARB__MBID_NOPROC 0x3FFFFFFCu
// The node's unsent mailbox: a peer's batch for one of this node's process
// actors that the node's link to its process did not take (full, or
// paused by its mailbox's high mark) goes there, so the node answers its
// requests ARB_EAGAIN (src/node/names.c).
#define ARB__MBID_UNSENT 0x3FFFFFFBu
static inline arb_pid
arb__pid_name(uint32_t node, uint32_t hash)
{
	arb_pid p;
	p.id = ((uint64_t) ARB__KIND_NODE << 62)
	    | ((uint64_t) ARB__MBID_NAMES << 32) | hash;
	p.node = node;
	p.creation = 0;
	return p;
}
static inline bool
arb__pid_is_name(arb_pid p)
{
	return arb__pid_kind(p) == ARB__KIND_NODE
	    && arb__pid_mbid(p) == ARB__MBID_NAMES;
}

#endif // ARB_IMPL_H
