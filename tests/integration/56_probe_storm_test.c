// SPDX-License-Identifier: MIT
// 56_probe_storm_test.c -- every socket a running node listens on
// survives hostile peers (issue 7; nanomsg/nng#1518 made one
// connect-and-close deafen an nng SP ipc listener for good).
//
// `arbor run` with messages flowing both ways between a thread actor and
// a process actor (two tickers calling two echoes every 5 ms).  Then a
// storm of bad peers on each link listener (the node's node.link, each
// process actor's <mbid>.link) and on the control socket: connect and
// close, close with SO_LINGER 0, half a HELLO, a wrong magic, a wrong
// protocol version, an oversized length, a frame other than HELLO first,
// garbage, an HTTP GET, a HELLO of a stranger node, and nng's own
// second-listener check on the same path.  Afterwards every listener still
// answers a valid HELLO, a restarted process actor links to the node
// again and its calls are answered, the thread ticker's calls never
// failed, arborctl answers, and every bad peer was counted
// (arbor_node_links_refused_total on /metrics) and logged with its reason
// (event=link_refused reason="...").  A control client that sends
// requests and reads no reply is closed once 1 MiB of replies wait.

#include "arb_test.h"
#include "httpc.h"
#include "linkpeer.h"
#include "probe.h"
#include "tools.h"

#include "transport/link.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <nng/nng.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 10000
#define ROUNDS  4

static const arb_test_helper helpers[] = {
	{ "arbor", h_arbor },
	{ "arborctl", h_arborctl },
};

static char tmpdir[64];
static char sock[160];
static char run_dir[200];
static int  port;

static int
setup(void **state)
{
	(void) state;
	arb_test_mkdtemp(tmpdir, sizeof(tmpdir), "t56");
	snprintf(sock, sizeof(sock), "%s/ctl/t56.sock", tmpdir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	if (tmpdir[0] != '\0') {
		assert_int_equal(arb_test_rmtree(tmpdir), 0);
		tmpdir[0] = '\0';
	}
	return 0;
}

// --- bad peers ---------------------------------------------------------------

static int
peer_connect(const char *path)
{
	int fd = lp_connect(path);

	if (fd < 0) {
		fail_msg("connect %s: %s", path, strerror(errno));
	}
	return fd;
}

// peer_wait_eof waits until the listener closed the bad peer's
// connection: it has been dealt with.
static void
peer_wait_eof(int fd, const char *what)
{
	if (!lp_wait_eof(fd, WAIT_MS)) {
		fail_msg("the listener kept a bad peer open: %s", what);
	}
	close(fd);
}

static lp_node node; // the running node's identity (node_start)

static size_t
hello_bytes(uint8_t *buf, uint16_t role, uint32_t node_id, uint32_t creation)
{
	lp_node n = node;

	n.node_id = node_id;
	n.creation = creation;
	return lp_hello(buf, &n, role);
}

static void
send_all(int fd, const void *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t) len);
}

// storm sends every kind of bad peer once to path; returns how many of
// them the listener must count as refused.
static int
storm(const char *path, uint32_t round)
{
	uint8_t       buf[ARB__HELLO_MAX];
	size_t        n;
	int           fd, refused = 0;
	struct linger lg = { 1, 0 };

	// Connect and close at once (a health probe, nc -U).
	fd = peer_connect(path);
	close(fd);
	refused++;
	// Connect and close with SO_LINGER 0 (a reset where there is one).
	fd = peer_connect(path);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	refused++;
	// Half a HELLO, then gone.
	n = hello_bytes(buf, ARB__ROLE_PEER, 7, 7);
	fd = peer_connect(path);
	send_all(fd, buf, n / 2);
	close(fd);
	refused++;
	// A wrong magic.
	n = hello_bytes(buf, ARB__ROLE_PEER, 7, 7);
	memcpy(buf + ARB__FR_HDR, "XXXX", 4);
	fd = peer_connect(path);
	send_all(fd, buf, n);
	peer_wait_eof(fd, "wrong magic");
	refused++;
	// Another protocol version.
	n = hello_bytes(buf, ARB__ROLE_PEER, 7, 7);
	arb__put_be16(buf + ARB__FR_HDR + 4, 99);
	fd = peer_connect(path);
	send_all(fd, buf, n);
	peer_wait_eof(fd, "version 99");
	refused++;
	// An oversized length (refused before anything is allocated).
	arb__frame_hdr(buf, 0xFFFFFFF0u, ARB__FR_HELLO, 0);
	fd = peer_connect(path);
	send_all(fd, buf, ARB__FR_HDR);
	peer_wait_eof(fd, "oversized length");
	refused++;
	// A DATA frame where the HELLO is due.
	memset(buf, 0, ARB__FR_DATA_HDR);
	arb__frame_hdr(buf, ARB__FR_DATA_HDR, ARB__FR_DATA, 0);
	fd = peer_connect(path);
	send_all(fd, buf, ARB__FR_DATA_HDR);
	peer_wait_eof(fd, "DATA first");
	refused++;
	// Garbage.
	for (n = 0; n < 512; n++) {
		buf[n] = (uint8_t) (n * 131u + round * 7u + 3u);
	}
	fd = peer_connect(path);
	send_all(fd, buf, 512);
	peer_wait_eof(fd, "garbage");
	refused++;
	// An HTTP GET.
	fd = peer_connect(path);
	send_all(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	peer_wait_eof(fd, "HTTP GET");
	refused++;
	// A well-formed HELLO of a stranger (another node, or a peer on the
	// control socket).
	n = hello_bytes(buf, ARB__ROLE_PEER, 0x5eed0000u + round, 1);
	fd = peer_connect(path);
	send_all(fd, buf, n);
	peer_wait_eof(fd, "stranger");
	refused++;
	// nng's own check for a stale socket: a second listener on the same
	// path connects to it, finds it alive and gives up.
	{
		nng_stream_listener *l;
		char                 url[320];

		snprintf(url, sizeof(url), "ipc://%.300s", path);
		assert_int_equal(nng_stream_listener_alloc(&l, url), 0);
		assert_int_not_equal(nng_stream_listener_listen(l), 0);
		nng_stream_listener_free(l);
	}
	return refused;
}

// greet checks that path still takes a new peer: a valid HELLO (role,
// node id, creation) is answered with the listener's HELLO.
static void
greet(const char *path, uint16_t role, uint32_t node_id, uint32_t creation)
{
	uint8_t buf[ARB__HELLO_MAX], in[ARB__HELLO_MAX];
	size_t  n = hello_bytes(buf, role, node_id, creation);
	int     fd = peer_connect(path);
	long    len;

	send_all(fd, buf, n);
	len = lp_read_frame(fd, in, sizeof(in), WAIT_MS);
	if (len <= 0) {
		fail_msg("%s did not greet a valid peer", path);
	}
	assert_int_equal(in[4], ARB__FR_HELLO);
	assert_true((in[5] & ARB__HELLO_F_REPLY) != 0);
	close(fd);
}

// --- the node ----------------------------------------------------------------

static void
start_node(arb_test_proc *p)
{
	char        file[160], yaml[2048];
	const char *args[] = { "--", "run", file, NULL };
	int         tries;

	for (tries = 0; tries < 5; tries++) {
		port = arb_test_free_port();
		snprintf(yaml, sizeof(yaml),
		    "node:\n"
		    "  name: t56\n"
		    "  control: %s\n"
		    "  run_dir: %s\n"
		    "  http: \"127.0.0.1:%d\"\n"
		    "root:\n"
		    "  children:\n"
		    "    - {name: pe, type: echo, isolation: process}\n"
		    "    - {name: te, type: echo, isolation: thread}\n"
		    "    - {name: tp, type: ticker, isolation: thread,\n"
		    "       config: {target: root/pe, interval: 5ms, call: "
		    "true, timeout: 5s}}\n"
		    "    - {name: pp, type: ticker, isolation: process,\n"
		    "       config: {target: root/te, interval: 5ms, call: "
		    "true, timeout: 5s}}\n",
		    sock, run_dir, port);
		arb_test_write_file(tmpdir, "tree.yaml", yaml, file, sizeof(file));
		arb_test_spawn(p, "arbor", args);
		if (arb_test_try_expect(p, "event=http_listen", WAIT_MS)
		    != NULL) {
			arb_test_expect(p, "root event=tree_up", WAIT_MS);
			return;
		}
		arb_test_wait_exit(p, WAIT_MS);
		arb_test_proc_fini(p);
	}
	fail_msg("no free port after 5 tries");
}

static int
ctl(const char *a0, const char *a1)
{
	const char   *args[] = { "--", "--socket", sock, a0, a1, NULL };
	arb_test_proc c;
	int           code;

	arb_test_spawn(&c, "arborctl", args);
	code = arb_test_exit_code(arb_test_wait_exit(&c, WAIT_MS + 5000));
	if (code != 0) {
		print_error("arborctl %s: %s\n", a0, c.out);
	}
	arb_test_proc_fini(&c);
	return code;
}

static long
metric(const char *name)
{
	arb_test_http_resp r;
	char               host[64], needle[128];
	const char        *v;
	long               n;

	snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	arb_test_http(port, "GET", "/metrics", host, WAIT_MS, &r);
	assert_int_equal(r.status, 200);
	snprintf(needle, sizeof(needle), "\n%s ", name);
	v = strstr(r.body, needle);
	if (v == NULL) {
		fail_msg("%s not on /metrics", name);
	}
	n = strtol(v + strlen(needle), NULL, 10);
	free(r.body);
	return n;
}

// replies counts the reply lines of ticker path seen so far.
static int
replies(arb_test_proc *p, const char *path)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "ticker path=%s ", path);
	(void) arb_test_try_expect(p, "\n", 50); // read what is there
	return arb_test_count(p, needle);
}

// wait_more waits until ticker path has more than n replies logged.
static void
wait_more(arb_test_proc *p, const char *path, int n)
{
	char    needle[96];
	int64_t deadline = arb_test_now_ms() + WAIT_MS;

	snprintf(needle, sizeof(needle), "ticker path=%s ", path);
	while (arb_test_count(p, needle) <= n) {
		if (arb_test_now_ms() > deadline) {
			fail_msg("%s's calls stopped being answered", path);
		}
		(void) arb_test_try_expect(p, "event=reply", 100);
	}
}

static void
test_every_listener_survives_a_probe_storm(void **state)
{
	arb_test_proc  p;
	char           line[512], links[4][512], name[1024];
	int            nlinks = 0, i, refused = 0, before, tp0;
	uint32_t       node_id, creation;
	long           refused_metric0;
	DIR           *d;
	struct dirent *e;

	(void) state;
#if !defined(ARBOR_BIN) || !defined(ARBORCTL_BIN)
	skip();
#endif
	start_node(&p);
	arb_test_line(&p, "event=node_start", WAIT_MS, line, sizeof(line));
	assert_int_equal(lp_parse_start(&node, line), 0);
	node_id = node.node_id;
	creation = node.creation;
	// Both ways are flowing before the storm.
	wait_more(&p, "root/tp", 3);
	wait_more(&p, "root/pp", 3);
	refused_metric0 = metric("arbor_node_links_refused_total");
	// Every listener of the node: its own, the two process actors', and
	// the control socket.
	assert_non_null(d = opendir(run_dir));
	while ((e = readdir(d)) != NULL && nlinks < 3) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".link") == 0) {
			snprintf(links[nlinks++], sizeof(links[0]), "%.200s/%.60s",
			    run_dir, e->d_name);
		}
	}
	closedir(d);
	assert_int_equal(nlinks, 3); // node.link, pe's and pp's
	snprintf(links[nlinks++], sizeof(links[0]), "%s", sock);

	tp0 = replies(&p, "root/tp");
	for (i = 0; i < ROUNDS; i++) {
		int k;

		for (k = 0; k < nlinks; k++) {
			refused += storm(links[k], (uint32_t) i);
		}
	}
	// Every listener still takes a valid peer.
	for (i = 0; i < nlinks - 1; i++) {
		greet(links[i], ARB__ROLE_PEER, node_id, creation);
	}
	greet(sock, ARB__ROLE_CONTROL, 0, 0);
	// Messages kept flowing, and no call failed.
	wait_more(&p, "root/tp", tp0 + 5);
	assert_int_equal(arb_test_count(&p, "event=call_failed"), 0);
	// arborctl answers; a restarted process actor links to the node's
	// stormed listener again and is answered.
	assert_int_equal(ctl("status", NULL), 0);
	assert_int_equal(ctl("restart", "root/pp"), 0);
	arb_test_line(&p, "root/pp event=started", WAIT_MS, line, sizeof(line));
	before = replies(&p, "root/pp");
	wait_more(&p, "root/pp", before + 3);
	assert_int_equal(ctl("status", NULL), 0);
	// Each bad peer was counted (the second-listener checks may add
	// their own refusals), and logged with its reason.
	assert_true(metric("arbor_node_links_refused_total") - refused_metric0
	    >= refused);
	{
		const char *why[] = { "closed after 0 bytes, before a whole HELLO",
			"bad magic 0x58585858 in HELLO",
			"link protocol version 99 not supported",
			"frame of 4294967280 bytes over the limit",
			"frame type 2 before HELLO", "frame type 47 before HELLO", /* GET / */
			"HELLO not accepted here" };
		size_t      w;

		for (w = 0; w < sizeof(why) / sizeof(why[0]); w++) {
			for (i = 0; i < nlinks; i++) {
				snprintf(name, sizeof(name),
				    "listener=ipc://%.300s reason=\"%.300s", links[i],
				    why[w]);
				if (strstr(p.out, name) == NULL) {
					fail_msg("not logged: %s", name);
				}
			}
		}
	}
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 0);
	arb_test_proc_fini(&p);
}

// A control client that sends requests and reads no reply: the replies
// pile up in the node once the socket's buffers are full.  Past
// ARB__CTLSOCK_UNREAD bytes (1 MiB) the node closes that client, says
// why, and keeps answering everybody else.  The client here sends 3,000
// status requests (a few KB of answer each) and waits for the close, all
// within WAIT_MS.
static void
test_a_client_that_reads_no_reply_is_closed(void **state)
{
	static const uint8_t status[] = { 0x81, 0xa2, 'o', 'p', 0xa6, 's', 't',
		'a', 't', 'u', 's' }; // {"op": "status"}
	arb_test_proc        p;
	uint8_t              buf[ARB__HELLO_MAX], req[ARB__FR_HDR + 11];
	size_t               n, off;
	int                  fd, sent = 0;
	int64_t              deadline;
	bool                 closed = false;
	ssize_t              w;
	struct pollfd        pf;

	(void) state;
#if !defined(ARBOR_BIN) || !defined(ARBORCTL_BIN)
	skip();
#endif
	start_node(&p);
	n = hello_bytes(buf, ARB__ROLE_CONTROL, 0, 0);
	fd = peer_connect(sock);
	send_all(fd, buf, n);
	if (lp_read_frame(fd, buf, sizeof(buf), WAIT_MS) <= 0) {
		fail_msg("the control socket did not greet a control client");
	}
	arb__frame_hdr(req, sizeof(req), ARB__FR_CTL, 0);
	memcpy(req + ARB__FR_HDR, status, sizeof(status));
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	deadline = arb_test_now_ms() + WAIT_MS;
	while (!closed && sent < 3000 && arb_test_now_ms() < deadline) {
		for (off = 0; off < sizeof(req) && !closed;) {
			w = send(fd, req + off, sizeof(req) - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t) w;
			} else if (w < 0 && errno == EAGAIN) {
				pf.fd = fd;
				pf.events = POLLOUT;
				(void) poll(&pf, 1, 50);
				if (arb_test_now_ms() >= deadline) {
					break;
				}
			} else {
				closed = true; // EPIPE, ECONNRESET: closed by the node
			}
		}
		sent += off == sizeof(req);
	}
	// 3,000 answers of a few KB each are far more than 1 MiB: the node
	// closes the connection once it has answered enough of them (a slow
	// node, under a sanitizer, after the last request was sent).
	while (!closed && arb_test_now_ms() < deadline) {
		pf.fd = fd;
		pf.events = POLLRDHUP;
		pf.revents = 0;
		(void) poll(&pf, 1, 100);
		closed = (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
	}
	close(fd);
	if (!closed) {
		fail_msg("a client that read none of %d replies was kept open",
		    sent);
	}
	arb_test_expect(&p, "event=control_client_closed", WAIT_MS);
	assert_non_null(strstr(p.out, "bytes of replies unread, more than"));
	// Everybody else is answered.
	assert_int_equal(ctl("status", NULL), 0);
	kill(p.pid, SIGTERM);
	assert_int_equal(arb_test_exit_code(arb_test_wait_exit(&p, WAIT_MS)), 0);
	arb_test_proc_fini(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(
	    test_every_listener_survives_a_probe_storm, setup, teardown),
	cmocka_unit_test_setup_teardown(
	    test_a_client_that_reads_no_reply_is_closed, setup, teardown),
};

ARB_TEST_MAIN("integration.probe_storm", tests, helpers)
