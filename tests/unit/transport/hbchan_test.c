// SPDX-License-Identifier: MIT
// hbchan_test.c -- unit tests for the heartbeat channel of node links
// (tp_hb.c, tp_conn.c; docs/multinode.md, "Failure detection"), over
// real nng streams: TCP with a cookie, and raw ipc peers driven by the
// test.
//
// - A link whose DATA path is slower than the heartbeat budget allows,
//   kept full (a relay in the test forwards each connection at 150 KiB/s),
//   is never DOWN and its heartbeats' round trip stays small: they travel
//   on their own connection, not behind the DATA.
// - Strangers that claim to be a heartbeat channel are refused: without a
//   link of theirs, without AUTH, a second one for one link, DATA on one,
//   one naming a link that closed.
// - A link's heartbeat channel closes with its data stream, and a new data
//   stream is kept up only by its own channel.
// - A node's listener closes a data stream whose channel brings no
//   heartbeat for the budget the channel announced (its dialer's), or,
//   without a channel, for its own budget and the hello timeout.
// - A process that did not run its timers for three budgets (starved of
//   a CPU, or its machine paused) takes no live peer DOWN, on either
//   side: that time is not the peer's silence.
// - A node's newer data stream, once proven, closes its older ones and
//   their channels (a partition left them open); a stranger naming the
//   node closes nothing; a listener that is not a node's (its processes
//   each dial their own stream) closes none.

#include "arb_test.h"
#include "linkpeer.h"
#include "tpfix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HELLO_MS 300

// --- fixture: a TCP listener with a cookie, a link configuration ---------
typedef struct fix {
	char          dir[128];
	arb__cookie   ck;
	arb__tp_stats lst;
	arb__tp_stats kst;
	arb__link_cfg lcfg;
	arb__link_cfg kcfg;
	tpf_sink      s;
	tpf_watch     w;
	arb__lsn     *l;
	int           port;
	void         *lc; // a log capture to end at teardown
} fix;

static int
setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	arb_test_mkdtemp(f->dir, sizeof(f->dir), "hbchan");
	tpf_cookie(&f->ck);
	arb__link_cfg_defaults(&f->lcfg);
	arb__link_cfg_defaults(&f->kcfg);
	f->lcfg.stats = &f->lst;
	f->kcfg.stats = &f->kst;
	f->lcfg.hello_ms = HELLO_MS;
	f->lcfg.cookie = &f->ck;
	f->lcfg.one_per_node = true; // a node's listener (peer.c)
	f->kcfg.cookie = &f->ck;
	tpf_self(&f->lcfg, "acceptor", 1);
	tpf_self(&f->kcfg, "dialer", 1);
	tpf_node_link(&f->kcfg);
	ARB_PASS(arb__lsn_open(
	    &f->l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &f->lcfg));
	f->port = arb__lsn_port(f->l);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fix *f = *state;

	if (f->lc != NULL) {
		tpf_logcap_stop(f->lc); // the test failed while it ran
	}
	arb__lsn_close(f->l);
	assert_int_equal(arb_test_rmtree(f->dir), 0);
	free(f);
	return 0;
}

// --- a relay: each connection's dialer-to-acceptor bytes at `rate` -------
#define RELAY_MAX 16

typedef struct relay relay;

typedef struct pump {
	relay    *r;
	int       src;
	int       dst;
	int       rate; // bytes/s, 0: as fast as it comes
	pthread_t th;
} pump;

struct relay {
	int             lfd;
	int             port;
	int             to_port;
	int             rate;
	_Atomic int     stop;
	pthread_t       th;
	pthread_mutex_t mtx;
	int             fds[2 * RELAY_MAX];
	pump            pumps[2 * RELAY_MAX];
	int             npumps;
	int             nfds;
};

// pump_run copies src to dst.  A limited pump reads only as much as its
// rate allows so far (the pacing poll is the emulated link's speed, not a
// wait for an event); the kernel's buffers behind it fill and the writer
// is held back, as on a slow link.  Either end closing ends both ways.
static void *
pump_run(void *arg)
{
	pump   *p = arg;
	uint8_t buf[16384];
	int64_t t0 = arb_test_now_ms();
	int64_t sent = 0;

	while (!atomic_load(&p->r->stop)) {
		struct pollfd pfd = { .fd = p->src, .events = POLLIN };
		size_t        want = sizeof(buf);
		ssize_t       n, off;

		if (p->rate > 0) {
			int64_t allowed
			    = (arb_test_now_ms() - t0) * p->rate / 1000 + 4096
			    - sent;

			if (allowed < 1024) {
				poll(NULL, 0, 5);
				continue;
			}
			if ((size_t) allowed < want) {
				want = (size_t) allowed;
			}
		}
		if (poll(&pfd, 1, 50) != 1) {
			continue;
		}
		if ((n = read(p->src, buf, want)) <= 0) {
			break;
		}
		for (off = 0; off < n;) {
			ssize_t w
			    = write(p->dst, buf + off, (size_t) (n - off));

			if (w <= 0) {
				goto out;
			}
			off += w;
		}
		sent += n;
	}
out:
	shutdown(p->src, SHUT_RDWR);
	shutdown(p->dst, SHUT_RDWR);
	return NULL;
}

static void
relay_pump(relay *r, int src, int dst, int rate)
{
	pump *p = &r->pumps[r->npumps++];

	p->r = r;
	p->src = src;
	p->dst = dst;
	p->rate = rate;
	assert_int_equal(pthread_create(&p->th, NULL, pump_run, p), 0);
}

static void *
relay_run(void *arg)
{
	relay *r = arg;

	while (!atomic_load(&r->stop)) {
		struct pollfd      pfd = { .fd = r->lfd, .events = POLLIN };
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int                c, s;

		if (poll(&pfd, 1, 50) != 1
		    || (c = accept(r->lfd, NULL, NULL)) < 0) {
			continue;
		}
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t) r->to_port);
		pthread_mutex_lock(&r->mtx);
		if (s < 0 || r->npumps + 2 > 2 * RELAY_MAX
		    || connect(s, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
			pthread_mutex_unlock(&r->mtx);
			close(c);
			if (s >= 0) {
				close(s);
			}
			continue;
		}
		r->fds[r->nfds++] = c;
		r->fds[r->nfds++] = s;
		relay_pump(r, c, s, r->rate);
		relay_pump(r, s, c, 0);
		pthread_mutex_unlock(&r->mtx);
	}
	return NULL;
}

static void
relay_start(relay *r, int to_port, int rate)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t          len = sizeof(sa);

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mtx, NULL);
	r->to_port = to_port;
	r->rate = rate;
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->lfd, 8), 0);
	assert_int_equal(
	    getsockname(r->lfd, (struct sockaddr *) &sa, &len), 0);
	r->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, relay_run, r), 0);
}

static void
relay_stop(relay *r)
{
	int i;

	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	for (i = 0; i < r->nfds; i++) {
		shutdown(r->fds[i], SHUT_RDWR); // unblocks a pump's write
	}
	for (i = 0; i < r->npumps; i++) {
		pthread_join(r->pumps[i].th, NULL);
	}
	for (i = 0; i < r->nfds; i++) {
		close(r->fds[i]);
	}
	close(r->lfd);
	pthread_mutex_destroy(&r->mtx);
}

// ---------------------------------------------------------------------------
// A link's DATA path is slower than the heartbeat budget allows (150 KiB/s:
// the 1 MiB a link may have unacknowledged takes about 7 s to cross it,
// the budget is 500 ms x 4) and it is kept full for BULK_MS: no DOWN, and
// heartbeats answer in well under the budget.  With heartbeats on the data
// stream, each waited behind that megabyte: DOWN about 2 s into the bulk.
#define RATE    (150 * 1024)
#define BULK_MS 4000
#define CHUNK   16384

static void
test_saturated_slow_link_is_not_down(void **state)
{
	fix           *f = *state;
	relay          r;
	arb__link     *k;
	arb__link_info li;
	char           url[64];
	int64_t        t0, dl, budget, max_rtt = 0, heard0;
	uint64_t       put = 0, max_unacked = 0, eagain = 0;
	uint32_t       val = 0;

	relay_start(&r, f->port, RATE);
	k = tpf_dial(tpf_url(url, sizeof(url), r.port), &f->kcfg, &f->w);
	// UP, and the heartbeat channel answers.
	dl = arb_test_now_ms() + 5000;
	for (;;) {
		arb__link_get_info(k, &li);
		if (li.up && li.rtt_us >= 0) {
			break;
		}
		assert_true(arb_test_now_ms() < dl);
		poll(NULL, 0, 5);
	}
	assert_int_equal(atomic_load(&f->w.ups), 1);
	heard0 = li.last_hb_ms;
	budget = (int64_t) f->kcfg.hb_ms * f->kcfg.hb_miss;
	// Keep the link full for BULK_MS.
	t0 = arb_test_now_ms();
	while (arb_test_now_ms() - t0 < BULK_MS) {
		for (;;) {
			arb__chunk *ch = arb__chunk_alloc(CHUNK);
			int         rv;

			assert_non_null(ch);
			memset(ch->data, 0xab, CHUNK);
			arb__put_be32(ch->data, val);
			ch->len = CHUNK;
			ch->nenv = 1;
			ch->dst = 3;
			if ((rv = arb__link_put(k, ch, NULL)) != ARB_OK) {
				arb__chunk_free(ch);
				eagain++;
				break;
			}
			put++;
			val++;
		}
		arb__link_get_info(k, &li);
		if (li.rtt_us / 1000 > max_rtt) {
			max_rtt = li.rtt_us / 1000;
		}
		if (arb__link_unacked(k) > max_unacked) {
			max_unacked = arb__link_unacked(k);
		}
		if (atomic_load(&f->w.downs) != 0) {
			fail_msg("DOWN %lld ms into the bulk (heartbeat round "
			         "trips up to %lld ms, hb_timeouts %llu)",
			    (long long) (arb_test_now_ms() - t0),
			    (long long) max_rtt,
			    (unsigned long long) atomic_load(
			        &f->kst.hb_timeouts));
		}
		poll(NULL, 0, 10); // the producer's pace
	}
	arb__link_get_info(k, &li);
	print_message("bulk %d ms at %d KiB/s: put %llu x %d B, delivered "
	              "%llu B, unacked up to %llu frames, heartbeat round "
	              "trip up to %lld ms, downs %d\n",
	    BULK_MS, RATE / 1024, (unsigned long long) put, CHUNK,
	    (unsigned long long) atomic_load(&f->s.bytes),
	    (unsigned long long) max_unacked, (long long) max_rtt,
	    atomic_load(&f->w.downs));
	// The link was saturated: puts were refused, and what it had in
	// flight took longer than the budget to cross the relay.
	assert_true(eagain > 0);
	assert_true(max_unacked * CHUNK * 1000 / RATE > (uint64_t) budget);
	assert_true(atomic_load(&f->s.bytes)
	    < (uint64_t) RATE * (BULK_MS + 2000) / 1000);
	// ... and its peer was never DOWN, heartbeats kept coming, fast.
	assert_int_equal(atomic_load(&f->w.downs), 0);
	assert_int_equal(atomic_load(&f->kst.hb_timeouts), 0);
	assert_true(li.up);
	assert_true(li.last_hb_ms - heard0 >= BULK_MS / 2);
	assert_true(max_rtt < budget / 2);
	arb__link_rele(k); // what waited is counted as dead
	relay_stop(&r);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

// --- raw peers -------------------------------------------------------------
static void
raw_write(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t) n);
}

// raw_frame reads one whole frame into b (at most cap bytes) within ms:
// its length, or 0 when the peer closed first.
static size_t
raw_frame(int fd, uint8_t *b, size_t cap, int ms)
{
	long n = lp_read_frame(fd, b, cap, ms);

	if (n < 0) {
		fail_msg("no whole frame of at most %zu bytes within %d ms",
		    cap, ms);
	}
	return (size_t) n;
}

// raw_send_hello_b sends the HELLO of node "dialer" (role, token) with
// nonce, announcing budget_ms (`sender`; 0: none); raw_send_hello
// announces none.
static void
raw_send_hello_b(int fd, uint16_t role, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE], uint64_t budget_ms)
{
	arb__hello h = { .version = ARB__LINK_VERSION,
		.role = role,
		.max_frame = 1 << 20,
		.node_id = arb__node_id("dialer"),
		.creation = 1,
		.sender = budget_ms,
		.resume = token,
		.auth_len = ARB__AUTH_NONCE };
	uint8_t    b[ARB__HELLO_MAX];

	snprintf(h.name, sizeof(h.name), "dialer");
	memcpy(h.auth, nonce, ARB__AUTH_NONCE);
	raw_write(fd, b, arb__hello_encode(b, &h, false));
}

static void
raw_send_hello(int fd, uint16_t role, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE])
{
	raw_send_hello_b(fd, role, token, nonce, 0);
}

// raw_hello_b sends the HELLO of node "dialer" (role, token) with nonce,
// announcing budget_ms (raw_send_hello_b), and reads the acceptor's reply
// into *rep; raw_hello announces none.
static void
raw_hello_b(int fd, uint16_t role, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE], uint64_t budget_ms, arb__hello *rep)
{
	uint8_t b[ARB__HELLO_MAX];
	size_t  n;
	bool    reply;

	raw_send_hello_b(fd, role, token, nonce, budget_ms);
	n = raw_frame(fd, b, sizeof(b), 5000);
	assert_true(n > 0);
	ARB_PASS(arb__hello_decode(b, n, rep, &reply));
	assert_true(reply);
}

static void
raw_hello(int fd, uint16_t role, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE], arb__hello *rep)
{
	raw_hello_b(fd, role, token, nonce, 0, rep);
}

// raw_auth sends the dialer's proof for the acceptor's reply rep.
static void
raw_auth(const fix *f, int fd, const uint8_t nonce[ARB__AUTH_NONCE],
    const arb__hello *rep)
{
	uint8_t fr[ARB__FR_AUTH_LEN];

	arb__frame_hdr(fr, ARB__FR_AUTH_LEN, ARB__FR_AUTH, 0);
	arb__auth_proof(&f->ck, false, nonce, rep->auth, "dialer", rep->name,
	    fr + ARB__FR_HDR);
	raw_write(fd, fr, sizeof(fr));
}

// raw_peer opens a data stream of node "dialer" from src to port with
// nonce: its HELLO, the acceptor's reply into *rep, its AUTH.
static int
raw_peer(const fix *f, const char *src, int port,
    const uint8_t nonce[ARB__AUTH_NONCE], arb__hello *rep)
{
	int fd = lp_connect_from(src, port);

	assert_true(fd >= 0);
	raw_hello(fd, ARB__ROLE_PEER, 0, nonce, rep);
	raw_auth(f, fd, nonce, rep);
	return fd;
}

static void
raw_hb(int fd, uint64_t stamp)
{
	uint8_t fr[ARB__FR_HB_LEN];

	arb__frame_hdr(fr, ARB__FR_HB_LEN, ARB__FR_HB, 0);
	arb__put_be64(fr + ARB__FR_HDR, stamp);
	raw_write(fd, fr, sizeof(fr));
}

static uint64_t
refused(fix *f)
{
	return atomic_load(&f->lst.refused);
}

// raw_data sends a DATA frame of 4 bytes with sequence number seq.
static void
raw_data(int fd, uint64_t seq)
{
	uint8_t fr[ARB__FR_DATA_HDR + 4] = { 0 };

	arb__frame_hdr(fr, sizeof(fr), ARB__FR_DATA, 0);
	arb__put_be32(fr + 8, 3);
	arb__put_be32(fr + 12, 1);
	arb__put_be64(fr + 16, seq);
	raw_write(fd, fr, sizeof(fr));
}

// Strangers claiming to be a heartbeat channel are refused, each with its
// reason counted and logged, and the listener still takes a real link.
static void
test_hostile_heartbeat_channels_are_refused(void **state)
{
	fix           *f = *state;
	uint8_t        nonce[ARB__AUTH_NONCE], b[ARB__HELLO_MAX];
	arb__hello     rep, hrep;
	arb__link     *k;
	arb__link_info li;
	char           url[64];
	uint64_t       token, r0;
	int            d, h, h2;
	tpf_logcap    *lc;
	size_t         n;

	memset(nonce, 0x11, sizeof(nonce));
	lc = tpf_logcap_start();
	f->lc = lc; // (teardown ends it if the test fails)
	// A channel naming no link: refused at its HELLO (no reply).
	r0 = refused(f);
	assert_true((h = lp_connect_from("127.0.0.2", f->port)) >= 0);
	raw_send_hello(h, ARB__ROLE_HB, 0x1234, nonce);
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(refused(f) == r0 + 1, 5000);
	tpf_logcap_wait(lc, "heartbeat channel of node dialer (creation 1) "
	                "names no open link of that node\" source=127.0.0.2");

	// A data stream (of a peer that knows the cookie): the acceptor's
	// reply names it with a token.
	d = raw_peer(f, "127.0.0.3", f->port, nonce, &rep);
	token = rep.resume;
	assert_true(token != 0);
	// A channel naming another token than that stream's.
	assert_true((h = lp_connect_from("127.0.0.10", f->port)) >= 0);
	raw_send_hello(h, ARB__ROLE_HB, token ^ 1, nonce);
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(refused(f) == r0 + 2, 5000);
	tpf_logcap_wait(lc, "heartbeat channel of node dialer (creation 1) "
	                "names no open link of that node\" "
	                "source=127.0.0.10");
	r0++;
	// A channel naming it that sends a heartbeat instead of its AUTH.
	assert_true((h = lp_connect_from("127.0.0.4", f->port)) >= 0);
	raw_hello(h, ARB__ROLE_HB, token, nonce, &hrep);
	assert_int_equal(hrep.resume, 0); // a channel names nothing
	raw_hb(h, 1);
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(refused(f) == r0 + 2, 5000);
	tpf_logcap_wait(lc, "frame type 9 from node dialer before its AUTH\" "
	                "source=127.0.0.4");
	assert_true(atomic_load(&f->lst.auth_failed) >= 1);
	// A channel that never authenticates is closed at the deadline.
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 1, 5000); // the last one's gone
	assert_true((h = lp_connect_from("127.0.0.5", f->port)) >= 0);
	raw_hello(h, ARB__ROLE_HB, token, nonce, &hrep);
	assert_true(lp_wait_eof(h, HELLO_MS + 5000));
	close(h);
	ARB_WAIT_UNTIL(refused(f) == r0 + 3, 5000);
	tpf_logcap_wait(lc, "node dialer sent no AUTH within 300 ms of "
	                "connecting\" source=127.0.0.5");
	// One that authenticates, then a second one for the same link.
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 1, 5000);
	assert_true((h = lp_connect_from("127.0.0.6", f->port)) >= 0);
	raw_hello(h, ARB__ROLE_HB, token, nonce, &hrep);
	raw_auth(f, h, nonce, &hrep);
	raw_hb(h, 77);
	n = raw_frame(h, b, sizeof(b), 5000);
	assert_int_equal(n, ARB__FR_HB_LEN); // the echo
	assert_int_equal(b[4], ARB__FR_HB);
	assert_int_equal(b[5], ARB__HB_F_REPLY);
	assert_int_equal(arb__get_be64(b + ARB__FR_HDR), 77);
	assert_true((h2 = lp_connect_from("127.0.0.7", f->port)) >= 0);
	raw_send_hello(h2, ARB__ROLE_HB, token, nonce);
	assert_true(lp_wait_eof(h2, 5000));
	close(h2);
	ARB_WAIT_UNTIL(refused(f) == r0 + 4, 5000);
	tpf_logcap_wait(lc, "heartbeat channel of node dialer (creation 1) is "
	                "a second one for its link\" source=127.0.0.7");
	// DATA on the authenticated channel: a bad frame, closed.
	{
		uint8_t fr[ARB__FR_DATA_HDR + 4] = { 0 };

		arb__frame_hdr(fr, sizeof(fr), ARB__FR_DATA, 0);
		arb__put_be32(fr + 8, 3);
		arb__put_be32(fr + 12, 1);
		arb__put_be64(fr + 16, 1);
		raw_write(h, fr, sizeof(fr));
	}
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(atomic_load(&f->lst.bad_frames) == 1, 5000);
	tpf_logcap_wait(lc, "frame type 2 on the heartbeat channel of node "
	                "dialer (it carries heartbeats only)\" "
	                "source=127.0.0.6");
	assert_int_equal(atomic_load(&f->s.bytes), 0);
	// A channel closes with its data stream; a channel naming a stream
	// that closed is refused.
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 1, 5000);
	assert_true((h = lp_connect_from("127.0.0.9", f->port)) >= 0);
	raw_hello(h, ARB__ROLE_HB, token, nonce, &hrep);
	raw_auth(f, h, nonce, &hrep);
	raw_hb(h, 78);
	assert_int_equal(raw_frame(h, b, sizeof(b), 5000), ARB__FR_HB_LEN);
	close(d);
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
	assert_true((h = lp_connect_from("127.0.0.8", f->port)) >= 0);
	raw_send_hello(h, ARB__ROLE_HB, token, nonce);
	assert_true(lp_wait_eof(h, 5000));
	close(h);
	ARB_WAIT_UNTIL(refused(f) == r0 + 5, 5000);
	tpf_logcap_wait(lc, "heartbeat channel of node dialer (creation 1) "
	                "names no open link of that node\" source=127.0.0.8");
	f->lc = NULL;
	tpf_logcap_stop(lc);
	assert_int_equal(atomic_load(&f->lst.conns), 1); // channels: no link
	// The listener still takes a real link, with its channel.
	k = tpf_dial(tpf_url(url, sizeof(url), f->port), &f->kcfg, &f->w);
	ARB_WAIT_UNTIL(
	    (arb__link_get_info(k, &li), li.up && li.rtt_us >= 0), 5000);
	assert_int_equal(atomic_load(&f->lst.conns), 2);
	arb__link_rele(k);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

// raw_channel_budget opens a heartbeat channel to port for the data
// stream of token from src whose HELLO announces budget_ms (`sender`; 0:
// none), proves it, and reads the echo of its first heartbeat;
// raw_channel does so on the fixture's listener, announcing none.
static int
raw_channel_budget(const fix *f, int port, const char *src, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE], uint64_t budget_ms)
{
	uint8_t    b[ARB__HELLO_MAX];
	arb__hello hrep;
	int        h = lp_connect_from(src, port);

	assert_true(h >= 0);
	raw_hello_b(h, ARB__ROLE_HB, token, nonce, budget_ms, &hrep);
	raw_auth(f, h, nonce, &hrep);
	raw_hb(h, 1);
	assert_int_equal(raw_frame(h, b, sizeof(b), 5000), ARB__FR_HB_LEN);
	return h;
}

static int
raw_channel(const fix *f, const char *src, uint64_t token,
    const uint8_t nonce[ARB__AUTH_NONCE])
{
	return raw_channel_budget(f, f->port, src, token, nonce, 0);
}

// A partition: the node's data stream and channel stay open here (their
// FIN never came), and once it heals the node dials a new stream.  When
// that one proves itself, the acceptor closes the old stream and its
// channel, counted in `replaced`; what the old one delivered stays
// delivered.  A stranger naming the node, without the cookie, closes
// nothing.
static void
test_newer_stream_replaces_older(void **state)
{
	fix       *f = *state;
	uint8_t    nonce[ARB__AUTH_NONCE], b[ARB__HELLO_MAX];
	arb__hello rep;
	int        d1, h1, d2, h2, s;

	memset(nonce, 0x22, sizeof(nonce));
	// Before the partition: a stream, its channel, DATA delivered.
	d1 = raw_peer(f, "127.0.0.3", f->port, nonce, &rep);
	h1 = raw_channel(f, "127.0.0.3", rep.resume, nonce);
	raw_data(d1, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 4, 5000);
	assert_int_equal(arb__lsn_conns(f->l), 2);
	// A stranger naming that node, without its AUTH: both stay.
	assert_true((s = lp_connect_from("127.0.0.4", f->port)) >= 0);
	raw_hello(s, ARB__ROLE_PEER, 0, nonce, &rep);
	assert_true(lp_wait_eof(s, HELLO_MS + 5000));
	close(s);
	raw_hb(h1, 2);
	assert_int_equal(raw_frame(h1, b, sizeof(b), 5000), ARB__FR_HB_LEN);
	assert_int_equal(atomic_load(&f->lst.replaced), 0);
	// The partition heals: the node's new stream proves itself.
	d2 = raw_peer(f, "127.0.0.5", f->port, nonce, &rep);
	assert_true(lp_wait_eof(d1, 5000));
	assert_true(lp_wait_eof(h1, 5000));
	close(d1);
	close(h1);
	ARB_WAIT_UNTIL(atomic_load(&f->lst.replaced) == 1, 5000);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 1, 5000);
	assert_int_equal(atomic_load(&f->s.bytes), 4);
	// The new stream works: its own channel, its DATA.
	h2 = raw_channel(f, "127.0.0.5", rep.resume, nonce);
	raw_data(d2, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 8, 5000);
	assert_int_equal(atomic_load(&f->lst.replaced), 1);
	close(d2);
	close(h2);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

// Only proven streams replace, and are replaced by, one another.  A
// stream still in its handshake when the node's newer one proves itself
// stays open and is refused for its own failed proof (a stranger naming
// the node: counted as refused, not as replaced).  An older stream (its
// HELLO taken first) whose proof comes only after a newer one's is the
// stale one: it is closed, counted in `replaced`, and the newer stays.
static void
test_only_proven_streams_replace(void **state)
{
	fix       *f = *state;
	uint8_t    nonce[ARB__AUTH_NONCE], fr[ARB__FR_AUTH_LEN];
	arb__hello rs, r1, r2, r3;
	int        s, d1, d2, d3;
	uint64_t   ref0 = refused(f);

	memset(nonce, 0x22, sizeof(nonce));
	// A stranger naming the node, in its handshake.
	assert_true((s = lp_connect_from("127.0.0.6", f->port)) >= 0);
	raw_hello(s, ARB__ROLE_PEER, 0, nonce, &rs);
	// The node's stream proves itself and delivers: the stranger's
	// handshake is not closed for it.
	d1 = raw_peer(f, "127.0.0.7", f->port, nonce, &r1);
	raw_data(d1, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 4, 5000);
	assert_int_equal(atomic_load(&f->lst.replaced), 0);
	// The stranger's proof fails: refused for that.
	arb__frame_hdr(fr, ARB__FR_AUTH_LEN, ARB__FR_AUTH, 0);
	memset(fr + ARB__FR_HDR, 0x44, ARB__AUTH_MAC);
	raw_write(s, fr, sizeof(fr));
	assert_true(lp_wait_eof(s, 5000));
	close(s);
	ARB_WAIT_UNTIL(refused(f) == ref0 + 1, 5000);
	assert_int_equal(atomic_load(&f->lst.replaced), 0);
	// d2's HELLO is taken before d3's, but d3 proves itself first
	// (closing d1, the older proven one); d2's late proof is stale.
	assert_true((d2 = lp_connect_from("127.0.0.8", f->port)) >= 0);
	raw_hello(d2, ARB__ROLE_PEER, 0, nonce, &r2);
	d3 = raw_peer(f, "127.0.0.9", f->port, nonce, &r3);
	assert_true(lp_wait_eof(d1, 5000));
	close(d1);
	ARB_WAIT_UNTIL(atomic_load(&f->lst.replaced) == 1, 5000);
	raw_auth(f, d2, nonce, &r2);
	assert_true(lp_wait_eof(d2, 5000));
	close(d2);
	ARB_WAIT_UNTIL(atomic_load(&f->lst.replaced) == 2, 5000);
	// The newer stream stays and delivers.
	raw_data(d3, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 8, 5000);
	assert_int_equal(arb__lsn_conns(f->l), 1);
	assert_int_equal(refused(f), ref0 + 1);
	close(d3);
	ARB_WAIT_UNTIL(arb__lsn_conns(f->l) == 0, 5000);
}

// A listener that is not a node's (one_per_node false: the listener a
// node's processes dial, each its own stream with the node's name)
// closes no stream for a newer one.
static void
test_process_streams_are_not_replaced(void **state)
{
	fix          *f = *state;
	arb__link_cfg cfg = f->lcfg;
	uint8_t       nonce[ARB__AUTH_NONCE];
	arb__hello    rep;
	arb__lsn     *l;
	int           port, d1, d2;

	cfg.one_per_node = false;
	ARB_PASS(arb__lsn_open(
	    &l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &cfg));
	port = arb__lsn_port(l);
	memset(nonce, 0x33, sizeof(nonce));
	d1 = raw_peer(f, "127.0.0.3", port, nonce, &rep);
	d2 = raw_peer(f, "127.0.0.4", port, nonce, &rep);
	raw_data(d2, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 4, 5000);
	raw_data(d1, 1); // the older one still delivers
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 8, 5000);
	assert_int_equal(arb__lsn_conns(l), 2);
	assert_int_equal(atomic_load(&f->lst.replaced), 0);
	close(d1);
	close(d2);
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	arb__lsn_close(l);
}

// --- a raw acceptor over ipc (no cookie) -----------------------------------
static int
raw_listen(const fix *f, char path[100], char url[120])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd;

	snprintf(path, 100, "%.80s/h.link", f->dir);
	snprintf(url, 120, "ipc://%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int
raw_accept(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int           c;

	assert_int_equal(poll(&pfd, 1, ms), 1);
	c = accept(lfd, NULL, NULL);
	assert_true(c >= 0);
	return c;
}

// raw_answer reads a dialer's HELLO on c (into *h) and answers it as node
// "acceptor" whose reply carries token.
static void
raw_answer(int c, uint64_t token, arb__hello *h)
{
	arb__hello a = { .version = ARB__LINK_VERSION,
		.role = ARB__ROLE_PEER,
		.max_frame = 1 << 20,
		.node_id = arb__node_id("acceptor"),
		.creation = 1,
		.resume = token };
	uint8_t    b[ARB__HELLO_MAX];
	size_t     n = raw_frame(c, b, sizeof(b), 5000);
	bool       reply;

	assert_true(n > 0);
	ARB_PASS(arb__hello_decode(b, n, h, &reply));
	assert_false(reply);
	snprintf(a.name, sizeof(a.name), "acceptor");
	n = arb__hello_encode(b, &a, true);
	raw_write(c, b, n);
}

// raw_echo answers every heartbeat on c for ms; false if c closed.
static bool
raw_echo(int c, int ms)
{
	int64_t dl = arb_test_now_ms() + ms;
	uint8_t b[ARB__HELLO_MAX];

	while (arb_test_now_ms() < dl) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		size_t        n;

		if (poll(&pfd, 1, 10) != 1) {
			continue;
		}
		if ((n = raw_frame(c, b, sizeof(b), 1000)) == 0) {
			return false;
		}
		assert_int_equal(b[4], ARB__FR_HB);
		b[5] = ARB__HB_F_REPLY;
		raw_write(c, b, n);
	}
	return true;
}

// A link's heartbeat channel closes with its data stream; the next data
// stream's channel names the new stream's token, and that stream is kept
// up by its own channel only: unanswered, it is DOWN at its deadline.
static void
test_channel_belongs_to_its_stream(void **state)
{
	fix        *f = *state;
	arb__link  *k;
	arb__hello  h;
	char        path[100], url[120];
	int         lfd, d1, h1, d2, h2;
	int64_t     t0, el;

	lfd = raw_listen(f, path, url);
	f->kcfg.cookie = NULL; // a raw acceptor without a cookie
	f->kcfg.hb_ms = 100;
	f->kcfg.hb_miss = 5;
	k = tpf_dial(url, &f->kcfg, &f->w);
	d1 = raw_accept(lfd, 5000);
	raw_answer(d1, 0xaaaa, &h);
	assert_int_equal(h.role, ARB__ROLE_PEER);
	// Its channel names the stream's token, and its echoes keep the
	// link up past the budget.
	h1 = raw_accept(lfd, 5000);
	raw_answer(h1, 0, &h);
	assert_int_equal(h.role, ARB__ROLE_HB);
	assert_int_equal(h.resume, 0xaaaa);
	assert_true(raw_echo(h1, 1000));
	assert_int_equal(atomic_load(&f->w.ups), 1);
	assert_int_equal(atomic_load(&f->w.downs), 0);
	// The data stream dies: DOWN at once, and the link closes the
	// channel (which would go on answering).
	close(d1);
	ARB_WAIT_UNTIL(atomic_load(&f->w.downs) == 1, 5000);
	assert_false(raw_echo(h1, 5000));
	close(h1);
	// The next stream: its channel names the new token; unanswered,
	// the link is DOWN at its deadline (hb 100 ms x 5).
	d2 = raw_accept(lfd, 5000);
	raw_answer(d2, 0xbbbb, &h);
	t0 = arb_test_now_ms();
	h2 = raw_accept(lfd, 5000);
	{
		uint8_t b[ARB__HELLO_MAX];
		size_t  n = raw_frame(h2, b, sizeof(b), 5000);
		bool    reply;

		ARB_PASS(arb__hello_decode(b, n, &h, &reply));
	}
	assert_int_equal(h.role, ARB__ROLE_HB);
	assert_int_equal(h.resume, 0xbbbb);
	ARB_WAIT_UNTIL(atomic_load(&f->kst.hb_timeouts) == 1, 5000);
	el = arb_test_now_ms() - t0;
	assert_true(el >= 400);
	ARB_WAIT_UNTIL(atomic_load(&f->w.downs) == 2, 5000);
	assert_int_equal(atomic_load(&f->w.ups), 2);
	arb__link_rele(k);
	close(d2);
	close(h2);
	close(lfd);
	unlink(path);
}

// A node's listener detects a silent peer by itself (docs/multinode.md,
// "Failure detection"): a data stream whose heartbeat channel brings no
// heartbeat for the budget the channel announced is closed with its
// channel, counted in hb_timeouts and logged side=acceptor; while they
// come, gaps over the listener's own budget but within the announced one
// close nothing, and the close comes at that budget, not at the longer
// wait before the first heartbeat.  A proven stream that never opens its
// channel is closed after the listener's own budget plus the hello
// timeout.
static void
test_acceptor_detects_silence(void **state)
{
	fix          *f = *state;
	arb__link_cfg cfg = f->lcfg;
	uint8_t       nonce[ARB__AUTH_NONCE], b[ARB__HELLO_MAX];
	arb__hello    rep;
	arb__lsn     *l;
	tpf_logcap   *lc;
	int           port, d, h, i;
	int64_t       t0, el;

	cfg.hb_ms = 100; // own budget 300 ms
	cfg.hb_miss = 3;
	cfg.hello_ms = 4000; // until the first heartbeat: 4300 ms
	ARB_PASS(arb__lsn_open(
	    &l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &cfg));
	port = arb__lsn_port(l);
	memset(nonce, 0x44, sizeof(nonce));
	lc = tpf_logcap_start();
	f->lc = lc;
	// A stream and its channel announcing 1000 ms: heartbeats 450 ms
	// apart keep it.
	d = raw_peer(f, "127.0.0.3", port, nonce, &rep);
	h = raw_channel_budget(f, port, "127.0.0.3", rep.resume, nonce, 1000);
	for (i = 0; i < 3; i++) {
		poll(NULL, 0, 450); // the peer's heartbeat interval
		raw_hb(h, 2 + (uint64_t) i);
		assert_int_equal(
		    raw_frame(h, b, sizeof(b), 5000), ARB__FR_HB_LEN);
	}
	t0 = arb_test_now_ms();
	raw_data(d, 1);
	ARB_WAIT_UNTIL(atomic_load(&f->s.bytes) == 4, 5000);
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 0);
	assert_int_equal(arb__lsn_conns(l), 2);
	// Silence: both close at the announced budget, not before.
	assert_true(lp_wait_eof(d, 5000));
	el = arb_test_now_ms() - t0;
	assert_true(lp_wait_eof(h, 5000));
	close(d);
	close(h);
	assert_true(el >= 980);
	assert_true(el < 2000); // not the wait before the first heartbeat
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 1);
	tpf_logcap_wait(lc, "event=heartbeat_timeout");
	tpf_logcap_wait(lc, "side=acceptor");
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	// A proven stream without a channel: own budget + hello timeout.
	d = raw_peer(f, "127.0.0.4", port, nonce, &rep);
	t0 = arb_test_now_ms();
	assert_true(lp_wait_eof(d, 5000));
	el = arb_test_now_ms() - t0;
	close(d);
	assert_true(el >= 300 + 4000 - 20);
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 2);
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	f->lc = NULL;
	tpf_logcap_stop(lc);
	arb__lsn_close(l);
}

// A real link's heartbeat channel announces its own budget, and the
// listener times it by that one, not by its own much shorter budget: a
// link with heartbeats every 100 ms (budget 300 ms) into a listener whose
// own is 10 ms stays up, on both ends, for 20 heartbeats.
static void
test_acceptor_takes_the_announced_budget(void **state)
{
	fix           *f = *state;
	arb__link_cfg  cfg = f->lcfg;
	arb__link_info li;
	arb__lsn      *l;
	arb__link     *k;
	char           url[64];
	int64_t        last = 0;
	int            port, beats = 0;
	int64_t        dl;

	cfg.hb_ms = 10; // own budget 10 ms
	cfg.hb_miss = 1;
	ARB_PASS(arb__lsn_open(
	    &l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &cfg));
	port = arb__lsn_port(l);
	tpf_url(url, sizeof(url), port);
	f->kcfg.hb_ms = 100;
	f->kcfg.hb_miss = 3;
	k = tpf_dial(url, &f->kcfg, &f->w);
	dl = arb_test_now_ms() + 10000;
	while (beats < 20) {
		assert_true(arb_test_now_ms() < dl);
		arb__link_get_info(k, &li);
		if (li.last_hb_ms != last && li.last_hb_ms != 0) {
			last = li.last_hb_ms;
			beats++;
		}
		poll(NULL, 0, 5);
	}
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 0);
	assert_int_equal(atomic_load(&f->kst.hb_timeouts), 0);
	assert_int_equal(atomic_load(&f->w.ups), 1);
	assert_int_equal(atomic_load(&f->w.downs), 0);
	assert_int_equal(arb__lsn_conns(l), 2);
	arb__link_rele(k);
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	arb__lsn_close(l);
}

// wait_beats waits (at most 10 s) until k heard n more echoes than
// *last shows (arb__link_info.last_hb_ms changes).
static void
wait_beats(arb__link *k, int n, int64_t *last)
{
	arb__link_info li;
	int64_t        dl = arb_test_now_ms() + 10000;

	while (n > 0) {
		assert_true(arb_test_now_ms() < dl);
		arb__link_get_info(k, &li);
		if (li.last_hb_ms != *last && li.last_hb_ms != 0) {
			*last = li.last_hb_ms;
			n--;
		}
		poll(NULL, 0, 5);
	}
}

// A stall of this process (its timer thread held for 1 s, over three
// budgets of 300 ms: no heartbeat went, none was timed) is not the
// peer's silence: afterwards the link is still UP and hears echoes, the
// listener keeps its stream, nothing counts a timeout (docs/multinode.md,
// "A stall of this node").  Before, the link timed the stall as the
// peer's silence and went DOWN the moment it ran again (as did both
// nodes of multinode.20 and 78 on a loaded machine).
static void
test_stall_is_not_silence(void **state)
{
	fix          *f = *state;
	arb__link_cfg cfg = f->lcfg;
	arb__lsn     *l;
	arb__link    *k;
	tpf_stall     st;
	char          url[64];
	int64_t       last = 0;
	int           port;

	cfg.hb_ms = 100; // the listener's budget and grace too
	cfg.hb_miss = 3;
	ARB_PASS(arb__lsn_open(
	    &l, "tcp://127.0.0.1:0", 0, &tpf_sink_ops, &f->s, &cfg));
	port = arb__lsn_port(l);
	tpf_url(url, sizeof(url), port);
	f->kcfg.hb_ms = 100;
	f->kcfg.hb_miss = 3;
	k = tpf_dial(url, &f->kcfg, &f->w);
	wait_beats(k, 3, &last);
	tpf_stall_start(&st, 1000);
	ARB_WAIT_UNTIL(atomic_load(&st.done), 5000);
	wait_beats(k, 5, &last);
	assert_int_equal(atomic_load(&f->kst.hb_timeouts), 0);
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 0);
	assert_int_equal(atomic_load(&f->w.ups), 1);
	assert_int_equal(atomic_load(&f->w.downs), 0);
	assert_int_equal(arb__lsn_conns(l), 2);
	arb__link_rele(k);
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	arb__lsn_close(l);
}

// keeper: a node's listener whose owner keeps a silent stream (its own
// link to that node is up) while keep is set: tpf_sink_ops (s first, so
// they take a keeper as their tpf_sink) and keeper_silent.
typedef struct keeper {
	tpf_sink     s;
	_Atomic int  silents; // keeper_silent asked
	_Atomic bool keep;
} keeper;

static bool
keeper_silent(void *arg, arb__conn *c)
{
	keeper *k = arg;

	(void) c;
	atomic_fetch_add(&k->silents, 1);
	return !atomic_load(&k->keep);
}

// A silent stream the listener's owner keeps (its own link to that node
// is up and times the node itself) stays open, uncounted, and is asked
// about again a budget later; once the owner lets it go, it closes.
static void
test_acceptor_owner_keeps_silent_stream(void **state)
{
	fix          *f = *state;
	arb__link_cfg cfg = f->lcfg;
	uint8_t       nonce[ARB__AUTH_NONCE];
	arb__hello    rep;
	arb__lsn_ops  ops = tpf_sink_ops;
	keeper        kp = { .keep = true };
	arb__lsn     *l;
	int           port, d, h;

	cfg.hb_ms = 100; // own budget 300 ms
	cfg.hb_miss = 3;
	ops.silent = keeper_silent;
	ARB_PASS(
	    arb__lsn_open(&l, "tcp://127.0.0.1:0", 0, &ops, &kp, &cfg));
	port = arb__lsn_port(l);
	memset(nonce, 0x55, sizeof(nonce));
	d = raw_peer(f, "127.0.0.3", port, nonce, &rep);
	h = raw_channel_budget(f, port, "127.0.0.3", rep.resume, nonce, 200);
	// Silent: asked twice (a budget apart), kept both times.
	ARB_WAIT_UNTIL(atomic_load(&kp.silents) >= 2, 5000);
	raw_data(d, 1);
	ARB_WAIT_UNTIL(atomic_load(&kp.s.bytes) == 4, 5000);
	assert_int_equal(arb__lsn_conns(l), 2);
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 0);
	// Let go: closed at the next ask, counted.
	atomic_store(&kp.keep, false);
	assert_true(lp_wait_eof(d, 5000));
	assert_true(lp_wait_eof(h, 5000));
	close(d);
	close(h);
	assert_int_equal(atomic_load(&f->lst.hb_timeouts), 1);
	ARB_WAIT_UNTIL(arb__lsn_conns(l) == 0, 5000);
	arb__lsn_close(l);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_saturated_slow_link_is_not_down, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hostile_heartbeat_channels_are_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_channel_belongs_to_its_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_newer_stream_replaces_older, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_only_proven_streams_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_process_streams_are_not_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acceptor_detects_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acceptor_takes_the_announced_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_acceptor_owner_keeps_silent_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stall_is_not_silence, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return ARB_TEST_RUN("transport.hbchan", tests, argc, argv);
}
