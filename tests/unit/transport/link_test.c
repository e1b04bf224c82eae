// SPDX-License-Identifier: MIT
// link_test.c -- unit tests for tp_lsn.c, tp_conn.c and tp_link.c:
// listeners, accepted connections and dialled links over real nng ipc
// streams.
//
// Peers that misbehave are plain AF_UNIX sockets driven by the test
// (connect-and-close, a reset, half a HELLO, garbage, an HTTP request, a
// peer that never speaks, a second listener on the same path, a length
// prefix over the maximum, a sequence gap, and thousands of peers that
// finish the HELLO and die at once): after each, the listener still
// accepts and delivers, and what was refused is counted.  The other side
// is tested too: a link whose peer dies counts what it had not had
// acknowledged, redials with backoff and delivers what waited, and a link
// whose destination is gone for good drops and counts.

#include "arb_test.h"

#include "transport/link.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifdef SLOW_BUILD
#define CHURN_N 1000
#else
#define CHURN_N 3000
#endif

// --- a receiving side that records what it got ---------------------------
typedef struct sink {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	uint64_t        frames;
	uint64_t        envs;
	uint64_t        bytes;
	uint32_t        last_dst;
	uint32_t        next_val; // chunks carry a counter: order check
	uint64_t        disorder;
	uint32_t        pause_dst; // data() answers "over the mark" for it
	int             hellos;
	int             gone;
	bool            refuse;
	arb__conn      *ctl_conn;
} sink;

static int
sink_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	sink *s = arg;

	(void) c;
	(void) h;
	pthread_mutex_lock(&s->mtx);
	s->hellos++;
	pthread_mutex_unlock(&s->mtx);
	return s->refuse ? ARB_EPERM : ARB_OK;
}

static bool
sink_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	sink    *s = arg;
	uint32_t v = 0;
	bool     pause;

	(void) c;
	if (ch->len >= 4) {
		v = arb__get_be32(ch->data);
	}
	pthread_mutex_lock(&s->mtx);
	if (v != s->next_val) {
		s->disorder++;
	}
	s->next_val = v + 1;
	s->frames++;
	s->envs += ch->nenv;
	s->bytes += ch->len;
	s->last_dst = ch->dst;
	pause = s->pause_dst != 0 && ch->dst == s->pause_dst;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	arb__chunk_free(ch);
	return pause;
}

// sink_full answers the link's question after it recorded a PAUSE, as
// a mailbox does: is mbid still over the mark?
static bool
sink_full(void *arg, uint32_t mbid)
{
	sink *s = arg;
	bool  full;

	pthread_mutex_lock(&s->mtx);
	full = s->pause_dst != 0 && s->pause_dst == mbid;
	pthread_mutex_unlock(&s->mtx);
	return full;
}

static void
sink_ctl(void *arg, arb__conn *c, const uint8_t *p, size_t len)
{
	(void) arg;
	// Echo every request, doubled in size (a reply may exceed what the
	// request was).
	uint8_t *b = malloc(2 * len);
	assert_non_null(b);
	memcpy(b, p, len);
	memcpy(b + len, p, len);
	ARB_PASS(arb__conn_send_ctl(c, b, 2 * len));
	free(b);
}

static void
sink_gone(void *arg, arb__conn *c)
{
	sink *s = arg;

	(void) c;
	pthread_mutex_lock(&s->mtx);
	s->gone++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
}

static const arb__lsn_ops sink_ops = {
	.hello = sink_hello,
	.data = sink_data,
	.full = sink_full,
	.ctl = sink_ctl,
	.gone = sink_gone,
};

static void
sink_init(sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
}

static void
sink_fini(sink *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
}

// sink_wait waits until at least n frames arrived (true) or ms pass.
static bool
sink_wait(sink *s, uint64_t n, int ms)
{
	struct timespec dl;
	bool            ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long) (ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mtx);
	while (s->frames < n
	    && pthread_cond_timedwait(&s->cv, &s->mtx, &dl) == 0) { }
	ok = s->frames >= n;
	pthread_mutex_unlock(&s->mtx);
	return ok;
}

// --- fixture ---------------------------------------------------------------
typedef struct fix {
	char          dir[128];
	char          path[200];
	char          url[220];
	arb__tp_stats lst; // listener side
	arb__tp_stats kst; // link side
	arb__link_cfg lcfg;
	arb__link_cfg kcfg;
	sink          s;
	arb__lsn     *l;
} fix;

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	arb_test_mkdtemp(f->dir, sizeof(f->dir), "link");
	snprintf(f->path, sizeof(f->path), "%s/a.link", f->dir);
	snprintf(f->url, sizeof(f->url), "ipc://%s", f->path);
	arb__link_cfg_defaults(&f->lcfg);
	arb__link_cfg_defaults(&f->kcfg);
	f->lcfg.stats = &f->lst;
	f->kcfg.stats = &f->kst;
	f->lcfg.hello_ms = 300;
	f->lcfg.max_frame = 256 * 1024;
	snprintf(f->lcfg.self.name, sizeof(f->lcfg.self.name), "acceptor");
	f->lcfg.self.node_id = arb__node_id("acceptor");
	f->lcfg.self.max_frame = (uint32_t) f->lcfg.max_frame;
	snprintf(f->kcfg.self.name, sizeof(f->kcfg.self.name), "dialer");
	f->kcfg.self.node_id = arb__node_id("dialer");
	f->kcfg.self.max_frame = (uint32_t) f->kcfg.max_frame;
	sink_init(&f->s);
	ARB_PASS(
	    arb__lsn_open(&f->l, f->url, 0600, &sink_ops, &f->s, &f->lcfg));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	arb__lsn_close(f->l);
	sink_fini(&f->s);
	assert_int_equal(arb_test_rmtree(f->dir), 0);
	free(f);
	return 0;
}

static arb__chunk *
mkchunk(uint32_t dst, uint32_t val, size_t len, arb__origin *o)
{
	arb__chunk *ch = arb__chunk_alloc(len < 4 ? 4 : len);

	assert_non_null(ch);
	memset(ch->data, 0xab, ch->cap);
	arb__put_be32(ch->data, val);
	ch->len = len < 4 ? 4 : len;
	ch->nenv = 1;
	ch->dst = dst;
	if (o != NULL) {
		arb__origin_ref(o);
		ch->origin = o;
	}
	return ch;
}

// put_all puts chunks val0.. until n are taken (EAGAIN waits a little).
static void
put_all(arb__link *k, uint32_t dst, uint32_t val0, int n, size_t len,
    arb__origin *o)
{
	int64_t dl = arb_test_now_ms() + 10000;
	int     i;

	for (i = 0; i < n; i++) {
		arb__chunk *ch = mkchunk(dst, val0 + (uint32_t) i, len, o);
		int         rv;

		while ((rv = arb__link_put(k, ch, NULL)) == ARB_EAGAIN) {
			assert_true(arb_test_now_ms() < dl);
			poll(NULL, 0, 1);
		}
		ARB_PASS(rv);
	}
}

// --- raw peers ----------------------------------------------------------
static int
raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		fail_msg("connect %s: %s", path, strerror(errno));
	}
	return fd;
}

static void
raw_write(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t) n);
}

// raw_listen makes a raw acceptor: an AF_UNIX listener at DIR/name
// (path, for the unlink) whose ipc:// URL goes into url.  Returns its fd.
static int
raw_listen(const fix *f, const char *name, char path[100], char url[120])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd;

	snprintf(path, 100, "%.80s/%s", f->dir, name);
	snprintf(url, 120, "ipc://%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

// raw_hello writes a HELLO per docs/wire.md (role 1, or 2 for control).
static size_t
raw_hello(uint8_t *b, uint16_t role, bool reply)
{
	arb__hello h = { .version = ARB__LINK_VERSION,
		.role = role,
		.max_frame = 1 << 20,
		.node_id = 7,
		.creation = 1,
		.sender = 99 };

	snprintf(h.name, sizeof(h.name), "raw");
	return arb__hello_encode(b, &h, reply);
}

static size_t
raw_data_env(
    uint8_t *b, uint32_t dst, uint64_t seq, uint64_t env0, uint32_t val)
{
	arb__frame_hdr(b, ARB__FR_DATA_HDR + 4, ARB__FR_DATA, 0);
	arb__put_be32(b + 8, dst);
	arb__put_be32(b + 12, 1);
	arb__put_be64(b + 16, seq);
	arb__put_be64(b + 24, env0);
	arb__put_be32(b + 32, val);
	return ARB__FR_DATA_HDR + 4;
}

// raw_greet accepts the link's connection on raw listener fd and greets
// it (a HELLO reply).  Returns the connection's fd.
static int
raw_greet(int fd)
{
	uint8_t b[ARB__HELLO_MAX];
	size_t  n;
	int     c = accept(fd, NULL, NULL);

	assert_true(c >= 0);
	n = raw_hello(b, 1, true);
	raw_write(c, b, n);
	return c;
}

// raw_data writes a DATA frame of one envelope, as a sender that sent
// one per frame before it.
static size_t
raw_data(uint8_t *b, uint32_t dst, uint64_t seq, uint32_t val)
{
	return raw_data_env(b, dst, seq, seq - 1, val);
}

// raw_read_eof reads until the acceptor closes (true) or ms pass.
static bool
raw_read_eof(int fd, int ms)
{
	int64_t dl = arb_test_now_ms() + ms;
	uint8_t b[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t       left = dl - arb_test_now_ms();
		ssize_t       n;

		if (left <= 0 || poll(&pfd, 1, (int) left) != 1) {
			return false;
		}
		n = read(fd, b, sizeof(b));
		if (n <= 0) {
			return true;
		}
	}
}

// deliver_one proves the listener still works: a fresh link delivers.
static void
deliver_one(fix *f, uint32_t val)
{
	arb__link *k;
	uint64_t   before;

	pthread_mutex_lock(&f->s.mtx);
	before = f->s.frames;
	f->s.next_val = val;
	pthread_mutex_unlock(&f->s.mtx);
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	put_all(k, 5, val, 1, 8, NULL);
	if (!sink_wait(&f->s, before + 1, 5000)) {
		fail_msg("listener deaf after a probe (frames %llu)",
		    (unsigned long long) before);
	}
	arb__link_rele(k);
}

// ---------------------------------------------------------------------------
static void
test_frames_delivered_in_order_and_acked(void **state)
{
	fix         *f = *state;
	arb__link   *k;
	arb__origin *o = arb__origin_new();
	int          n = 2000;

	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	// Small and large frames (read in place above 16 KiB).
	put_all(k, 9, 0, n / 2, 40, o);
	put_all(k, 9, (uint32_t) n / 2, n / 2, 100 * 1024, o);
	assert_true(sink_wait(&f->s, (uint64_t) n, 10000));
	assert_int_equal(f->s.disorder, 0);
	assert_int_equal(f->s.envs, n);
	assert_int_equal(f->s.last_dst, 9);
	// Every frame is written and acknowledged (at most ack_delay_ms
	// later).
	ARB_WAIT_UNTIL(arb__link_idle(k) && arb__link_unacked(k) == 0, 5000);
	assert_true(arb__link_up(k));
	arb__link_rele(k);
	assert_int_equal(atomic_load(&f->kst.lost), 0);
	assert_int_equal(atomic_load(&f->kst.dead), 0);
	assert_int_equal(atomic_load(&o->lost), 0);
	assert_int_equal(atomic_load(&f->lst.gaps), 0);
	assert_int_equal(atomic_load(&f->lst.conns), 1);
	arb__origin_rele(o);
}

static void
test_probes_never_deafen_the_listener(void **state)
{
	fix          *f = *state;
	uint8_t       b[2048];
	size_t        n;
	int           fd, probes = 0;
	uint64_t      refused;
	uint32_t      val = 1000;
	struct linger lg = { 1, 0 };

	// connect-and-close
	close(raw_connect(f->path));
	probes++;
	deliver_one(f, val++);
	// connect-and-reset (RST instead of FIN)
	fd = raw_connect(f->path);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	probes++;
	deliver_one(f, val++);
	// half a HELLO, then close
	fd = raw_connect(f->path);
	n = raw_hello(b, 1, false);
	raw_write(fd, b, n / 2);
	close(fd);
	probes++;
	deliver_one(f, val++);
	// garbage: the listener closes the connection itself
	fd = raw_connect(f->path);
	memset(b, 0xc1, 64);
	raw_write(fd, b, 64);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	probes++;
	deliver_one(f, val++);
	// an HTTP GET
	fd = raw_connect(f->path);
	raw_write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	probes++;
	deliver_one(f, val++);
	// a peer that never speaks: closed at the HELLO deadline
	fd = raw_connect(f->path);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	probes++;
	deliver_one(f, val++);
	// a second listener on the same path (nng probes the live socket
	// to see whether it is stale, and must then refuse)
	{
		arb__lsn *l2;
		sink      s2;

		sink_init(&s2);
		ARB_FAIL(
		    arb__lsn_open(&l2, f->url, 0600, &sink_ops, &s2, &f->lcfg),
		    ARB_EEXIST);
		sink_fini(&s2);
	}
	probes++;
	deliver_one(f, val++);
	// a HELLO the acceptor refuses, and a HELLO of the wrong kind
	fd = raw_connect(f->path);
	n = raw_hello(b, 1, true); // a reply is not a dialer's HELLO
	raw_write(fd, b, n);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	probes++;
	deliver_one(f, val++);
	// Every probe was refused and counted (the second listener's stale
	// check is one connect-and-close).
	refused = atomic_load(&f->lst.refused);
	if (refused < (uint64_t) probes - 1) {
		fail_msg("refused %llu of %d probes",
		    (unsigned long long) refused, probes);
	}
	assert_int_equal(atomic_load(&f->lst.conns), probes);
}

static void
test_oversized_prefix_closes_only_that_connection(void **state)
{
	fix       *f = *state;
	arb__link *k;
	uint8_t    b[ARB__HELLO_MAX + 64];
	size_t     n;
	int        fd;

	// A good link first, kept open across the bad peer.
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	put_all(k, 3, 0, 10, 16, NULL);
	assert_true(sink_wait(&f->s, 10, 5000));
	fd = raw_connect(f->path);
	n = raw_hello(b, 1, false);
	// A DATA header claiming 4 GiB: refused on the prefix alone.
	arb__frame_hdr(b + n, 0xfffffff0u, ARB__FR_DATA, 0);
	raw_write(fd, b, n + ARB__FR_HDR);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	assert_int_equal(atomic_load(&f->lst.bad_frames), 1);
	// One just over the listener's maximum.
	fd = raw_connect(f->path);
	n = raw_hello(b, 1, false);
	arb__frame_hdr(
	    b + n, (uint32_t) f->lcfg.max_frame + 1, ARB__FR_DATA, 0);
	raw_write(fd, b, n + ARB__FR_HDR);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	assert_int_equal(atomic_load(&f->lst.bad_frames), 2);
	// The good link never noticed.
	put_all(k, 3, 10, 10, 16, NULL);
	assert_true(sink_wait(&f->s, 20, 5000));
	assert_int_equal(f->s.disorder, 0);
	assert_int_equal(atomic_load(&f->kst.links_lost), 0);
	arb__link_rele(k);
}

static void
test_sequence_gap_detected_and_counted(void **state)
{
	fix    *f = *state;
	uint8_t b[512];
	size_t  n;
	int     fd;

	fd = raw_connect(f->path);
	n = raw_hello(b, 1, false);
	n += raw_data(b + n, 4, 1, 0);
	n += raw_data(b + n, 4, 2, 1);
	// 3 and 4 are missing, with 7 envelopes between them: the sender
	// had sent 2 + 7 before frame 5.
	n += raw_data_env(b + n, 4, 5, 9, 2);
	n += raw_data_env(b + n, 4, 6, 10, 3);
	raw_write(fd, b, n);
	assert_true(sink_wait(&f->s, 4, 5000));
	assert_int_equal(atomic_load(&f->lst.gaps), 2);
	// Their envelopes are dead letters (what the node's dead_letters
	// shows), beside the link's own count.
	assert_int_equal(atomic_load(&f->lst.gap_envs), 7);
	assert_int_equal(atomic_load(&f->lst.dead), 7);
	assert_int_equal(f->s.disorder, 0); // what came, came in order
	close(fd);
}

// A gap the link could not have lost, or a sequence that goes back, is a
// protocol error: the peer's numbers are not believed (nothing is counted
// dead on their word), its frame is not delivered, the connection is
// closed and counted in bad_frames.  Each case sends frame 1 (one
// envelope, in order), then the bad frame, over a real stream.
static void
test_impossible_gap_is_a_protocol_error(void **state)
{
	static const struct {
		uint64_t seq, env0;
	} bad[] = {
		{ 3, UINT64_C(1) << 62 },     // 1 frame missing, 2^62 envelopes
		{ UINT64_C(1) << 40, (UINT64_C(1) << 40) - 1 }, // past the window
		{ 2 + ARB__LINK_GAP_MAX + 1, 1 + ARB__LINK_GAP_MAX + 1 }, // just past
		{ 4, 2 },                     // 2 frames missing, 1 envelope
		{ 1, 1 },                     // frame 1 again
		{ 2, 5 },                     // no gap, but 5 envelopes before
		{ 2, 0 },                     // the count goes back
	};
	fix    *f = *state;
	uint8_t b[512];
	size_t  n, i;
	int     fd;

	for (i = 0; i < ARB_ARRAY_SIZE(bad); i++) {
		fd = raw_connect(f->path);
		n = raw_hello(b, 1, false);
		n += raw_data(b + n, 4, 1, (uint32_t) (100 + i));
		n += raw_data_env(b + n, 4, bad[i].seq, bad[i].env0,
		    (uint32_t) (200 + i));
		raw_write(fd, b, n);
		if (!raw_read_eof(fd, 5000)) {
			fail_msg("case %zu: the connection stayed open", i);
		}
		close(fd);
		assert_true(sink_wait(&f->s, i + 1, 5000));
		assert_int_equal(atomic_load(&f->lst.bad_frames), i + 1);
	}
	assert_int_equal(f->s.frames, ARB_ARRAY_SIZE(bad)); // frame 1 each
	assert_int_equal(atomic_load(&f->lst.gaps), 0);
	assert_int_equal(atomic_load(&f->lst.gap_envs), 0);
	assert_int_equal(atomic_load(&f->lst.dead), 0);
	// The largest possible gap is still a gap: counted and delivered.
	fd = raw_connect(f->path);
	n = raw_hello(b, 1, false);
	n += raw_data(b + n, 4, 1, 300);
	n += raw_data_env(b + n, 4, 2 + ARB__LINK_GAP_MAX, 1 + ARB__LINK_GAP_MAX,
	    301);
	raw_write(fd, b, n);
	assert_true(sink_wait(&f->s, ARB_ARRAY_SIZE(bad) + 2, 5000));
	assert_int_equal(atomic_load(&f->lst.gaps), ARB__LINK_GAP_MAX);
	assert_int_equal(atomic_load(&f->lst.gap_envs), ARB__LINK_GAP_MAX);
	assert_int_equal(atomic_load(&f->lst.bad_frames), ARB_ARRAY_SIZE(bad));
	close(fd);
}

static void
test_churn_peers_that_greet_and_die(void **state)
{
	fix    *f = *state;
	uint8_t b[512];
	size_t  n;
	int     i;

	// nng#1653's shape, aimed at arbor's own code: peers that finish
	// the HELLO (some after a DATA frame) and vanish at once.
	for (i = 0; i < CHURN_N; i++) {
		int fd = raw_connect(f->path);

		n = raw_hello(b, 1, false);
		if (i % 3 == 0) {
			n += raw_data(b + n, 4, 1, 0);
		}
		raw_write(fd, b, n);
		if (i % 2 == 0) {
			struct linger lg = { 1, 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 20000);
	deliver_one(f, 0);
}

// A dialling side whose peer accepts, greets and dies at once, over and
// over: the link counts, redials and never crashes.
static atomic_int gd_accepted;
static atomic_int gd_stop;

static void *
greet_and_die(void *arg)
{
	fix               *f = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                lfd;
	char               path[100];

	snprintf(path, sizeof(path), "%.80s/b.link", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || listen(lfd, 64) != 0) {
		close(lfd);
		return NULL;
	}
	while (!atomic_load(&gd_stop)) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		uint8_t       b[ARB__HELLO_MAX];
		size_t        n;
		int           c;

		if (poll(&pfd, 1, 50) != 1
		    || (c = accept(lfd, NULL, NULL)) < 0) {
			continue;
		}
		n = raw_hello(b, 1, true);
		if (write(c, b, n) < 0) {
			// the dialer may be gone already
		}
		close(c);
		atomic_fetch_add(&gd_accepted, 1);
	}
	close(lfd);
	unlink(path);
	return NULL;
}

static void
test_unproven_connections_hold_small_buffers(void **state)
{
	fix       *f = *state;
	int        fds[16];
	uint8_t    b[ARB__HELLO_MAX];
	size_t     n, i;
	arb__link *k;

	// Strangers that connect and hold until the HELLO deadline (from the
	// outside: thousands of them on a node's TCP port) get a read buffer
	// of one HELLO each, not the 64 KiB of a peer that said its HELLO.
	arb__lsn_close(f->l);
	f->lcfg.hello_ms = 20000; // they stay while we look
	ARB_PASS(
	    arb__lsn_open(&f->l, f->url, 0600, &sink_ops, &f->s, &f->lcfg));
	n = raw_hello(b, 1, false);
	for (i = 0; i < ARB_ARRAY_SIZE(fds); i++) {
		fds[i] = raw_connect(f->path);
		if (i % 2 == 1) {
			raw_write(fds[i], b, n / 2); // half a HELLO
		}
	}
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == ARB_ARRAY_SIZE(fds), 5000);
	if (arb__lsn_stage_bytes(f->l) > ARB_ARRAY_SIZE(fds) * ARB__HELLO_MAX) {
		fail_msg("%zu connections before their HELLO hold %zu bytes",
		    ARB_ARRAY_SIZE(fds), arb__lsn_stage_bytes(f->l));
	}
	// A peer that said its HELLO gets the full buffer: frames under the
	// in-place size, several per read, and larger ones go through.
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	put_all(k, 3, 0, 40, 12000, NULL);
	put_all(k, 3, 40, 4, 100000, NULL);
	put_all(k, 3, 44, 40, 3000, NULL);
	assert_true(sink_wait(&f->s, 84, 10000));
	assert_int_equal(f->s.disorder, 0);
	assert_true(arb__lsn_stage_bytes(f->l)
	    >= ARB_ARRAY_SIZE(fds) * ARB__HELLO_MAX + 64 * 1024);
	arb__link_rele(k);
	for (i = 0; i < ARB_ARRAY_SIZE(fds); i++) {
		close(fds[i]);
	}
	// Every byte is given back with its connection.
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 10000);
	ARB_WAIT_UNTIL(arb__lsn_stage_bytes(f->l) == 0, 5000);
}

static void
test_link_survives_peers_that_greet_and_die(void **state)
{
	fix       *f = *state;
	pthread_t  t;
	arb__link *k;
	char       url[256];
	int64_t    dl = arb_test_now_ms() + 8000;
	uint64_t   taken = 0;

	snprintf(url, sizeof(url), "ipc://%s/b.link", f->dir);
	f->kcfg.backoff_min_ms = 1;
	f->kcfg.backoff_max_ms = 2;
	atomic_store(&gd_accepted, 0);
	atomic_store(&gd_stop, 0);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	pthread_create(&t, NULL, greet_and_die, f);
	while (atomic_load(&gd_accepted) < CHURN_N / 10
	    && arb_test_now_ms() < dl) {
		arb__chunk *ch = mkchunk(1, 0, 64, NULL);
		if (arb__link_put(k, ch, NULL) != ARB_OK) {
			arb__chunk_free(ch);
			poll(NULL, 0, 1);
		} else {
			taken++;
		}
	}
	atomic_store(&gd_stop, 1);
	pthread_join(t, NULL);
	assert_true(atomic_load(&gd_accepted) >= CHURN_N / 10);
	arb__link_rele(k); // closes: what waited is counted as dead
	assert_true(atomic_load(&f->kst.links_lost) > 0);
	// The peer never acknowledged anything: every envelope taken was
	// written and possibly lost, or never left and is dead.  None is
	// unaccounted for.
	assert_int_equal(
	    atomic_load(&f->kst.lost) + atomic_load(&f->kst.dead), taken);
}

static void
test_peer_death_counts_unacked_then_redials(void **state)
{
	fix               *f = *state;
	arb__link         *k;
	arb__origin       *o = arb__origin_new();
	uint64_t           lost;
	int                fd, c, i;
	char               path[100], url[120];

	// A raw acceptor that greets, reads and never acknowledges.
	fd = raw_listen(f, "c.link", path, url);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	put_all(k, 2, 0, 10, 100, o);
	c = raw_greet(fd);
	ARB_WAIT_UNTIL(arb__link_unacked(k) == 10, 5000);
	// The peer dies: the 10 unacknowledged envelopes are possibly lost.
	close(c);
	close(fd);
	unlink(path);
	ARB_WAIT_UNTIL(atomic_load(&f->kst.lost) == 10, 5000);
	assert_int_equal(atomic_load(&o->lost), 10);
	assert_int_equal(atomic_load(&f->kst.links_lost), 1);
	// What is put meanwhile waits; the peer's successor (a real
	// listener on the same path) gets it.
	put_all(k, 2, 0, 5, 100, o);
	{
		arb__lsn *l2;
		sink      s2;

		sink_init(&s2);
		ARB_PASS(
		    arb__lsn_open(&l2, url, 0600, &sink_ops, &s2, &f->lcfg));
		assert_true(sink_wait(&s2, 5, 5000));
		ARB_WAIT_UNTIL(
		    arb__link_idle(k) && arb__link_unacked(k) == 0, 5000);
		arb__link_rele(k);
		arb__lsn_close(l2);
		assert_int_equal(s2.disorder, 0);
		sink_fini(&s2);
	}
	lost = atomic_load(&f->kst.lost);
	assert_int_equal(lost, 10); // nothing more
	for (i = 0; i < 1; i++) {
		assert_int_equal(atomic_load(&o->dead), 0);
	}
	arb__origin_rele(o);
}

// A silent peer is DOWN hb_ms * hb_miss after its last answer, not up to
// hb_ms later: checked only at each heartbeat, the silence was seen at
// the first heartbeat after the deadline (here 4 s instead of 2 s; with
// the defaults 2.5 s instead of 2.0 s after the last echo).
static void
test_silent_peer_is_down_at_its_deadline(void **state)
{
	fix               *f = *state;
	arb__link         *k;
	int                fd, c;
	char               path[100], url[120];
	int64_t            t0, el;

	// A raw acceptor that greets and never echoes a heartbeat.
	fd = raw_listen(f, "h.link", path, url);
	f->kcfg.hb_ms = 2000;
	f->kcfg.hb_miss = 1;
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	arb__link_start(k); // dials and starts the heartbeat timer
	t0 = arb_test_now_ms();
	c = raw_greet(fd);
	ARB_WAIT_UNTIL(atomic_load(&f->kst.hb_timeouts) == 1, 10000);
	el = arb_test_now_ms() - t0;
	print_message("DOWN %lld ms after the greeting (hb 2000 ms x 1)\n",
	    (long long) el);
	assert_true(el >= 2000);
	if (el >= 3000) {
		fail_msg("DOWN %lld ms after the greeting, not 2000 ms",
		    (long long) el);
	}
	close(c);
	close(fd);
	unlink(path);
	arb__link_rele(k);
}

// raw_drain reads what fd holds now (non-blocking) and returns how many
// bytes it read.
static size_t
raw_drain(int fd)
{
	uint8_t b[65536];
	size_t  got = 0;
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
		got += (size_t) n;
	}
	return got;
}

// A link writes at most ARB__LINK_INFLIGHT_MAX bytes of DATA that its
// peer has not acknowledged, however fast the peer reads: a heartbeat is
// never behind more than that (the kernel's socket buffers would hold
// several MiB), and an ACK opens the window again.
static void
test_unacknowledged_bytes_are_bounded(void **state)
{
	fix               *f = *state;
	arb__link         *k;
	int                fd, c, stable = 0, put = 0;
	char               path[100], url[120];
	uint8_t            b[ARB__HELLO_MAX], ack[ARB__FR_ACK_LEN];
	size_t             hlen, got = 0, prev = 0;
	const size_t       len = 16384, flen = ARB__FR_DATA_HDR + 16384;
	const int          total = 256; // 4 MiB
	int64_t            dl;

	// A raw acceptor that greets, reads everything at once and does not
	// acknowledge (until told below).
	fd = raw_listen(f, "w.link", path, url);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	put_all(k, 2, 0, 1, len, NULL);
	put = 1;
	c = raw_greet(fd);
	hlen = arb__hello_encode(b, &f->kcfg.self, false);
	// Put as much as the link takes and read all it writes, until what
	// arrived stops growing for 200 ms.
	dl = arb_test_now_ms() + 10000;
	while (stable < 20) {
		assert_true(arb_test_now_ms() < dl);
		while (put < total) {
			arb__chunk *ch = mkchunk(2, (uint32_t) put, len, NULL);

			if (arb__link_put(k, ch, NULL) != ARB_OK) {
				arb__chunk_free(ch);
				break;
			}
			put++;
		}
		got += raw_drain(c);
		stable = got == prev && got > hlen ? stable + 1 : 0;
		prev = got;
		poll(NULL, 0, 10);
	}
	assert_true(put > (int) (ARB__LINK_INFLIGHT_MAX / flen) + 1);
	assert_false(arb__link_idle(k)); // the rest waits for an ACK
	assert_true(got - hlen >= ARB__LINK_INFLIGHT_MAX / 2);
	assert_true(got - hlen <= ARB__LINK_INFLIGHT_MAX + flen);
	// An ACK of what arrived opens the window: more comes.
	arb__frame_hdr(ack, ARB__FR_ACK_LEN, ARB__FR_ACK, 0);
	arb__put_be64(ack + ARB__FR_HDR, (uint64_t) ((got - hlen) / flen));
	raw_write(c, ack, sizeof(ack));
	prev = got;
	dl = arb_test_now_ms() + 10000;
	while (got <= prev) {
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 5);
		got += raw_drain(c);
	}
	close(c);
	close(fd);
	unlink(path);
	arb__link_rele(k); // closes: what waited is counted
}

// A send still in progress when the peer dies never left: its frames go
// to whoever listens next, in order; only what was written and not
// acknowledged is possibly lost.  (Counting the whole flight as lost
// dropped a message sent right after its receiver's DOWN: the link to
// the dead process had not noticed the death yet.)
static void
test_unwritten_flight_goes_to_the_successor(void **state)
{
	fix               *f = *state;
	arb__link         *k;
	arb__origin       *o = arb__origin_new();
	int                fd, c, inq = -1, prev = -2, stable = 0;
	char               path[100], url[120];
	uint8_t            b[ARB__HELLO_MAX];
	size_t             flen = ARB__FR_DATA_HDR + 16384, hlen;
	uint64_t           written;
	int64_t            dl;
	const int          total = 40;
	arb__lsn          *l2;
	sink               s2;

	// A raw acceptor that greets and never reads: the link fills the
	// socket and its next send waits for room.
	fd = raw_listen(f, "d.link", path, url);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	put_all(k, 2, 0, total, 16384, o);
	c = raw_greet(fd);
	hlen = arb__hello_encode(b, &f->kcfg.self, false);
	// Wait until what the peer holds stops growing: the writer waits.
	dl = arb_test_now_ms() + 10000;
	while (stable < 5) {
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 10);
		assert_int_equal(ioctl(c, FIONREAD, &inq), 0);
		stable = inq == prev && inq > (int) hlen ? stable + 1 : 0;
		prev = inq;
	}
	assert_false(arb__link_idle(k)); // frames wait behind the full socket
	written = ((uint64_t) inq - hlen + flen - 1) / flen;
	assert_true(written > 0 && written < (uint64_t) total);
	// The peer dies without reading: what it held is possibly lost;
	// the rest never left and reaches its successor.  Its listener goes
	// first: the link redials within 0-2 ms of the death, and a listener
	// still there (a test thread descheduled between the two closes,
	// under load) took that second connection into its backlog, whose
	// end counted a second lost link.
	close(fd);
	unlink(path);
	close(c);
	ARB_WAIT_UNTIL(atomic_load(&f->kst.links_lost) == 1, 20000);
	sink_init(&s2);
	s2.next_val = (uint32_t) written;
	ARB_PASS(arb__lsn_open(&l2, url, 0600, &sink_ops, &s2, &f->lcfg));
	assert_true(sink_wait(&s2, (uint64_t) total - written, 20000));
	ARB_WAIT_UNTIL(arb__link_idle(k) && arb__link_unacked(k) == 0, 20000);
	arb__link_rele(k);
	arb__lsn_close(l2);
	assert_int_equal(s2.frames, (uint64_t) total - written);
	assert_int_equal(s2.disorder, 0);
	sink_fini(&s2);
	assert_int_equal(atomic_load(&f->kst.lost), written);
	assert_int_equal(atomic_load(&o->lost), written);
	assert_int_equal(atomic_load(&o->dead), 0);
	arb__origin_rele(o);
}

// raw_read_n reads n bytes of fd into b (NULL: drops them) within ms.
static void
raw_read_n(int fd, uint8_t *b, size_t n, int ms)
{
	int64_t dl = arb_test_now_ms() + ms;
	uint8_t junk[16384];
	size_t  got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		size_t        want = n - got;
		ssize_t       r;

		assert_true(arb_test_now_ms() < dl);
		if (poll(&pfd, 1, 10) != 1) {
			continue;
		}
		if (b == NULL && want > sizeof(junk)) {
			want = sizeof(junk);
		}
		r = read(fd, b != NULL ? b + got : junk, want);
		assert_true(r > 0);
		got += (size_t) r;
	}
}

// An ACK can overtake the end of the send that wrote its frame: the peer
// read the frame and acknowledged it before nng's send callback ran here
// (its own thread).  It counts all the same.  A raw acceptor greets, reads
// the link's HELLO and the header of a 1 MiB DATA frame (seq 1), whose
// send then waits for room in the socket, acknowledges it and pauses
// mailbox 9 (the test sees the pause: the ACK before it was taken), and
// only then reads the rest: the frame is settled when its send ends,
// nothing stays unacknowledged.  Before, the ACK found no frame 1 yet
// and was lost: a merge waited for that frame for good
// (unit.transport.duplex test_both_dial_keep_one, 1 run in 10), and a
// closing link counted it lost.
static void
test_ack_before_its_send_ends(void **state)
{
	fix         *f = *state;
	arb__link   *k;
	arb__origin *o = arb__origin_new();
	arb__chunk  *ch;
	uint8_t      b[ARB__HELLO_MAX];
	size_t       hlen, len = 1u << 20, extra = 0;
	int64_t      dl;
	int          fd, c;
	char         path[100], url[120];

	fd = raw_listen(f, "e.link", path, url);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, NULL, NULL));
	put_all(k, 2, 0, 1, len, o);
	c = raw_greet(fd);
	hlen = arb__hello_encode(b, &f->kcfg.self, false);
	raw_read_n(c, NULL, hlen, 5000);
	raw_read_n(c, b, ARB__FR_DATA_HDR, 5000);
	assert_int_equal(b[4], ARB__FR_DATA);
	assert_int_equal(arb__get_be64(b + 16), 1);
	arb__frame_hdr(b, ARB__FR_ACK_LEN, ARB__FR_ACK, 0);
	arb__put_be64(b + ARB__FR_HDR, 1);
	arb__frame_hdr(
	    b + ARB__FR_ACK_LEN, ARB__FR_MBID_LEN, ARB__FR_PAUSE, 0);
	arb__put_be32(b + ARB__FR_ACK_LEN + ARB__FR_HDR, 9);
	raw_write(c, b, ARB__FR_ACK_LEN + ARB__FR_MBID_LEN);
	dl = arb_test_now_ms() + 5000;
	for (;;) {
		ch = mkchunk(9, 0, 4, NULL);
		if (arb__link_put(k, ch, NULL) == ARB_EAGAIN) {
			arb__chunk_free(ch);
			break; // paused: the ACK was taken
		}
		// (Taken before the pause: it follows frame 1, never
		// acknowledged.)
		extra++;
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 1);
	}
	assert_false(arb__link_idle(k)); // frame 1's send still waits
	// (Were the ACK lost, frame 1 would stay unacknowledged, and its
	// megabyte would keep the window shut: nothing behind it written.)
	raw_read_n(c, NULL, len + extra * (ARB__FR_DATA_HDR + 4), 10000);
	ARB_WAIT_UNTIL(arb__link_idle(k), 5000);
	assert_int_equal(arb__link_unacked(k), extra);
	arb__link_rele(k);
	close(c);
	close(fd);
	unlink(path);
	assert_int_equal(atomic_load(&f->kst.lost), extra);
	assert_int_equal(atomic_load(&o->lost), 0); // frame 1: delivered
	arb__origin_rele(o);
}

// Set by the test's thread, read by gone_fn on nng's thread (the link's
// dial callback asks it before each redial): atomic.
static atomic_bool gone_flag;

static bool
gone_fn(void *arg)
{
	(void) arg;
	return atomic_load(&gone_flag);
}

static void
test_gone_destination_drops_and_counts(void **state)
{
	fix         *f = *state;
	arb__link   *k;
	arb__origin *o = arb__origin_new();
	char         url[256];
	arb__chunk  *ch;

	snprintf(url, sizeof(url), "ipc://%s/nobody.link", f->dir);
	atomic_store(&gone_flag, false);
	ARB_PASS(arb__link_open(&k, url, &f->kcfg, gone_fn, NULL));
	put_all(k, 1, 0, 3, 10, o);
	// Nobody listens: it redials while the destination may come back.
	ARB_WAIT_UNTIL(atomic_load(&f->kst.dials) >= 3, 5000);
	assert_int_equal(atomic_load(&o->dead), 0);
	atomic_store(&gone_flag, true);
	ARB_WAIT_UNTIL(atomic_load(&o->dead) == 3, 5000);
	assert_int_equal(atomic_load(&f->kst.dead), 0); // the sender's share
	ch = mkchunk(1, 0, 10, NULL);
	ARB_FAIL(arb__link_put(k, ch, NULL), ARB_ENOENT);
	arb__chunk_free(ch);
	arb__link_rele(k);
	arb__origin_rele(o);
}

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(*(int *) arg)++;
}

static void
test_pause_and_resume_per_mailbox(void **state)
{
	fix               *f = *state;
	arb__link         *k;
	struct event_base *base;
	struct event      *ev;
	arb__chunk        *ch;
	int                rv, fired = 0;
	int64_t            dl;

	evthread_use_pthreads();
	base = event_base_new();
	ev = event_new(base, -1, 0, count_cb, &fired);
	assert_non_null(ev);
	pthread_mutex_lock(&f->s.mtx);
	f->s.pause_dst = 7;
	pthread_mutex_unlock(&f->s.mtx);
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	put_all(k, 7, 0, 1, 16, NULL);
	assert_true(sink_wait(&f->s, 1, 5000));
	// Once the PAUSE for 7 arrives, 7 is refused while 8 still flows.
	dl = arb_test_now_ms() + 5000;
	for (;;) {
		ch = mkchunk(7, 1, 16, NULL);
		if ((rv = arb__link_put(k, ch, ev)) != ARB_OK) {
			break;
		}
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 1);
	}
	ARB_FAIL(rv, ARB_EAGAIN);
	pthread_mutex_lock(&f->s.mtx);
	f->s.pause_dst = 0;
	f->s.next_val = 0;
	pthread_mutex_unlock(&f->s.mtx);
	put_all(k, 8, 0, 1, 16, NULL);
	// RESUME wakes the waiter, and 7 flows again.
	arb__lsn_resume(f->l, 7);
	dl = arb_test_now_ms() + 5000;
	while (fired == 0) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 1);
	}
	// A frame for 7 delivered before the flip may pause it once more
	// (that PAUSE recorded after the RESUME); the sink, asked as a
	// mailbox is, says 7 is not full, and the link resumes it again.
	dl = arb_test_now_ms() + 5000;
	while ((rv = arb__link_put(k, ch, NULL)) == ARB_EAGAIN) {
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 1);
	}
	ARB_PASS(rv);
	arb__link_unwait(k, ev);
	arb__link_rele(k);
	event_free(ev);
	event_base_free(base);
}

static void
test_control_frames_round_trip(void **state)
{
	fix     *f = *state;
	uint8_t  b[ARB__HELLO_MAX], hdr[ARB__FR_HDR];
	uint8_t *req, *rep;
	size_t   n, reqlen = 100 * 1024, got = 0, want;
	int      fd;

	req = malloc(reqlen);
	assert_non_null(req);
	memset(req, 'q', reqlen);
	fd = raw_connect(f->path);
	n = raw_hello(b, 2, false);
	raw_write(fd, b, n);
	arb__frame_hdr(hdr, (uint32_t) (ARB__FR_HDR + reqlen), ARB__FR_CTL, 0);
	raw_write(fd, hdr, sizeof(hdr));
	raw_write(fd, req, reqlen);
	// The HELLO reply, then a CTL reply of twice the size.
	want = 0;
	rep = malloc(4 * reqlen);
	assert_non_null(rep);
	while (want == 0 || got < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t       r;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		r = read(fd, rep + got, 4 * reqlen - got);
		assert_true(r > 0);
		got += (size_t) r;
		if (want == 0 && got >= ARB__FR_HDR) {
			uint32_t hl = arb__get_be32(rep);
			if (got >= hl + ARB__FR_HDR) {
				want = hl + arb__get_be32(rep + hl);
			}
		}
	}
	n = arb__get_be32(rep);
	assert_int_equal(rep[4], ARB__FR_HELLO);
	assert_int_equal(rep[n + 4], ARB__FR_CTL);
	assert_int_equal(arb__get_be32(rep + n), ARB__FR_HDR + 2 * reqlen);
	assert_int_equal(rep[n + ARB__FR_HDR + 2 * reqlen - 1], 'q');
	// A DATA frame on a control connection is refused.
	n = raw_data(b, 1, 1, 0);
	raw_write(fd, b, n);
	assert_true(raw_read_eof(fd, 5000));
	close(fd);
	free(req);
	free(rep);
}

// A process about to exit asks its peer for an ACK at once (SYNC)
// instead of waiting out the peer's delay: here 10 s.
static void
test_sync_gets_an_ack_at_once(void **state)
{
	fix         *f = *state;
	arb__link   *k;
	arb__origin *o = arb__origin_new();
	int64_t      t0;
	int          r, n;

	arb__lsn_close(f->l);
	f->lcfg.ack_delay_ms = 10000;
	ARB_PASS(arb__lsn_open(&f->l, f->url, 0600, &sink_ops, &f->s, &f->lcfg));
	ARB_PASS(arb__link_open(&k, f->url, &f->kcfg, NULL, NULL));
	// Connected and greeted first (the HELLO reply may carry an ACK) ...
	put_all(k, 4, 0, 1, 32, o);
	assert_true(sink_wait(&f->s, 1, 5000));
	ARB_WAIT_UNTIL(arb__link_idle(k) && arb__link_up(k), 5000);
	// ... then fewer frames than an immediate ACK needs.  The acceptor
	// acknowledges what it has delivered whenever one of its sends
	// completes, so the completion of its HELLO reply's send, when that
	// callback runs late (a loaded machine), may acknowledge them at
	// once (failed so once: unacked < 3): three more are put until three
	// wait for their ACK (at most 5 rounds).
	for (r = 0, n = 1;; r++) {
		put_all(k, 4, (uint32_t) n, 3, 32, o);
		n += 3;
		assert_true(sink_wait(&f->s, n, 5000));
		ARB_WAIT_UNTIL(arb__link_idle(k), 5000);
		if (arb__link_unacked(k) >= 3) {
			break;
		}
		assert_true(r < 5);
	}
	t0 = arb_test_now_ms();
	assert_true(arb__link_wait_idle(k, t0 + 5000, true));
	assert_true(arb_test_now_ms() - t0 < 2000);
	assert_int_equal(arb__link_unacked(k), 0);
	assert_int_equal(atomic_load(&o->pending), -n); // settled (never added)
	arb__link_rele(k);
	arb__origin_rele(o);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_frames_delivered_in_order_and_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_probes_never_deafen_the_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_oversized_prefix_closes_only_that_connection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_sequence_gap_detected_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_impossible_gap_is_a_protocol_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_churn_peers_that_greet_and_die, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unproven_connections_hold_small_buffers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_link_survives_peers_that_greet_and_die, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_death_counts_unacked_then_redials, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unwritten_flight_goes_to_the_successor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unacknowledged_bytes_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_silent_peer_is_down_at_its_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_gone_destination_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pause_and_resume_per_mailbox, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_control_frames_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sync_gets_an_ack_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ack_before_its_send_ends, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return ARB_TEST_RUN("transport.link", tests, argc, argv);
}
