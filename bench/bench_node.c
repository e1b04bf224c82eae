// SPDX-License-Identifier: MIT
// bench_node.c -- arbor-bench between two nodes (issue 12, "Bench"): two
// OS processes, this case's and a peer it spawns (this program again,
// --case node_peer), over TCP.  Cases:
//
//   node_raw_tcp     the floors: 64 B messages one nng_stream_send each
//                    (every send waited for, as raw PUSH sends them), then
//                    nng PAIR sends, then PAIR ping-pong (median, p99)
//   node_stream_tcp  a thread actor of node "a" streams 64 B messages to
//                    a thread actor of node "b" (node links, cookie)
//   node_call_tcp    sequential arb_call from node a to an echo on b
//
// Throughput cases also print messages per second of CPU (per core): the
// user+system time of both processes from /proc/PID/stat over the
// measured span.  By default both ends are on 127.0.0.1 (loopback);
// bench/multinode_stream.sh runs this case in one network namespace and
// the peer in another (ARB_BENCH_NODE_HOSTS "HOST_A HOST_B",
// ARB_BENCH_NODE_PORTS "PORT_A PORT_B", ARB_BENCH_PEER_NETNS NS: the
// peer is spawned as `ip netns exec NS ...`).  ARB_BENCH_NODE_N: how
// many messages the throughput cases send (default 2,000,000 for the
// nodes, a tenth of it for the one-write-per-message floors);
// ARB_BENCH_NODE_CALLS: how many calls and ping-pongs the latency cases
// make (default and at most 5,000; fewer over a link with netem delay).

#include "bench.h"
#include "bench_node.h"

#include <arbor/actor.h>
#include <arbor/arbor.h>

#include <event2/event.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define NB_CALL_N 5000
enum { NB_DATA = 1, NB_T0, NB_DONE, NB_PING };

static long      nb_n = 2000000;
static int       nb_calls = NB_CALL_N; // ARB_BENCH_NODE_CALLS
static arb_node *nb_node;
static char      nb_url[2][128]; // [0] node a (this case), [1] node b
static char      nb_cookie[300];

// --- helpers ---------------------------------------------------------------

// nb_cpu_s: user + system CPU seconds of process pid so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks); -1 if unreadable.
static double
nb_cpu_s(pid_t pid)
{
	char          path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t       n;
	int           fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return -1;
	}
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL
	    || sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	           &st)
	        != 2) {
		return -1;
	}
	return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

// nb_node_hash is a node's id in pids: the FNV-1a hash of its name, as
// docs/multinode.md defines it (arb_whereis does not take "name@node"
// yet, so the bench builds the peer's slot address itself).
static uint32_t
nb_node_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++) {
		h ^= (uint8_t) *name;
		h *= 16777619u;
	}
	return h != 0 ? h : 1;
}

// nb_free_port: a TCP port the kernel has free on host now.
static int
nb_free_port(const char *host)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t          len = sizeof(a);
	int                fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	inet_pton(AF_INET, host, &a.sin_addr);
	if (bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0
	    && getsockname(fd, (struct sockaddr *) &a, &len) == 0) {
		port = ntohs(a.sin_port);
	}
	close(fd);
	return port;
}

// nb_urls fills nb_url from the environment (or loopback and free ports).
static int
nb_urls(void)
{
	char        ha[64] = "127.0.0.1", hb[64] = "127.0.0.1";
	int         pa = 0, pb = 0;
	const char *e;

	if ((e = getenv("ARB_BENCH_NODE_HOSTS")) != NULL
	    && sscanf(e, "%63s %63s", ha, hb) != 2) {
		fprintf(stderr, "ARB_BENCH_NODE_HOSTS: want \"HOST_A HOST_B\"\n");
		return -1;
	}
	if ((e = getenv("ARB_BENCH_NODE_PORTS")) != NULL
	    && sscanf(e, "%d %d", &pa, &pb) != 2) {
		fprintf(stderr, "ARB_BENCH_NODE_PORTS: want \"PORT_A PORT_B\"\n");
		return -1;
	}
	if (pa == 0) {
		pa = nb_free_port(ha);
	}
	while (pb == 0 || pb == pa) {
		pb = nb_free_port(hb);
	}
	if (pa <= 0 || pb <= 0) {
		fprintf(stderr, "no free port\n");
		return -1;
	}
	snprintf(nb_url[0], sizeof(nb_url[0]), "tcp://%s:%d", ha, pa);
	snprintf(nb_url[1], sizeof(nb_url[1]), "tcp://%s:%d", hb, pb);
	return 0;
}

typedef struct nb_peer {
	pid_t pid;
	FILE *out; // the peer's stdout
} nb_peer;

// nb_spawn starts the peer (this program, --case node_peer) in MODE,
// listening on nb_url[1]; its stdout is a pipe read through p->out.
static int
nb_spawn(nb_peer *p, const char *mode)
{
	posix_spawn_file_actions_t fa;
	char                       self[4096];
	const char                *ns = getenv("ARB_BENCH_PEER_NETNS");
	char                      *argv[8];
	int                        fds[2], rv, i = 0;
	ssize_t                    n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || pipe2(fds, O_CLOEXEC) != 0) {
		return -1;
	}
	self[n] = '\0';
	if (ns != NULL && *ns != '\0') {
		argv[i++] = (char *) "ip";
		argv[i++] = (char *) "netns";
		argv[i++] = (char *) "exec";
		argv[i++] = (char *) ns;
	}
	argv[i++] = self;
	argv[i++] = (char *) "--case";
	argv[i++] = (char *) "node_peer";
	argv[i] = NULL;
	setenv("ARB_BENCH_PEER_MODE", mode, 1);
	setenv("ARB_BENCH_PEER_URL", nb_url[1], 1);
	setenv("ARB_BENCH_PEER_OTHER", nb_url[0], 1);
	setenv("ARB_BENCH_PEER_COOKIE", nb_cookie, 1);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	rv = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rv != 0) {
		close(fds[0]);
		fprintf(stderr, "spawn %s: %s\n", argv[0], strerror(rv));
		return -1;
	}
	p->out = fdopen(fds[0], "r");
	return 0;
}

// nb_line reads the peer's next line ("WORD VALUE"): VALUE, or -1.
static long long
nb_line(nb_peer *p, const char *word)
{
	char      line[256], w[64];
	long long v = -1;

	if (fgets(line, sizeof(line), p->out) == NULL
	    || sscanf(line, "%63s %lld", w, &v) != 2 || strcmp(w, word) != 0) {
		fprintf(stderr, "peer: expected \"%s N\"\n", word);
		return -1;
	}
	return v;
}

// nb_reap ends the peer: SIGTERM when term, then a bounded wait (10 s)
// and SIGKILL.
static void
nb_reap(nb_peer *p, bool term)
{
	int64_t end = now_ns() + 10 * (int64_t) 1000000000;
	int     st;

	if (p->pid <= 0) {
		return;
	}
	if (term) {
		kill(p->pid, SIGTERM);
	}
	while (waitpid(p->pid, &st, WNOHANG) == 0) {
		if (now_ns() > end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			break;
		}
		poll(NULL, 0, 5);
	}
	p->pid = 0;
	if (p->out != NULL) {
		fclose(p->out);
		p->out = NULL;
	}
}

static int
nb_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

// nb_latency prints NAME_median and NAME_p99 of lat[n], the first tenth
// left out (warm-up).
static void
nb_latency(const char *name, int64_t *lat, int n)
{
	char r[96];
	int  w = n / 10;

	qsort(lat + w, (size_t) (n - w), sizeof(int64_t), nb_cmp_i64);
	snprintf(r, sizeof(r), "%s_median", name);
	result(r, lat[w + (n - w) / 2] / 1e3, "us");
	snprintf(r, sizeof(r), "%s_p99", name);
	result(r, lat[w + (n - w) * 99 / 100] / 1e3, "us");
}

// nb_rate prints NAME (msgs/s), NAME_per_core (msgs per CPU second of
// both processes) and NAME_cpu (cores busy on average).
static void
nb_rate(const char *name, long msgs, double secs, double cpu)
{
	char r[96];

	result(name, msgs / secs, "msgs/s");
	snprintf(r, sizeof(r), "%s_per_core", name);
	result(r, cpu > 0 ? msgs / cpu : 0, "msgs/s");
	snprintf(r, sizeof(r), "%s_cpu", name);
	result(r, cpu / secs, "cores");
}

// --- raw nng floors --------------------------------------------------------

static int
nb_stream_io(nng_stream *st, nng_aio *aio, bool send, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		nng_iov iov = { .iov_buf = p, .iov_len = len };

		nng_aio_set_iov(aio, 1, &iov);
		if (send) {
			nng_stream_send(st, aio);
		} else {
			nng_stream_recv(st, aio);
		}
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0) {
			return nng_aio_result(aio);
		}
		p += nng_aio_count(aio);
		len -= nng_aio_count(aio);
	}
	return 0;
}

// The peer's side of the stream floor: read n * 64 bytes, answer 1 byte.
static int
nb_peer_raw_stream(long n)
{
	nng_stream_listener *l;
	nng_stream          *st;
	nng_aio             *aio;
	static uint8_t       buf[256 * 1024];
	long                 got = 0;
	uint8_t              one = 1;

	if (nng_stream_listener_alloc(&l, getenv("ARB_BENCH_PEER_URL")) != 0
	    || nng_stream_listener_listen(l) != 0
	    || nng_aio_alloc(&aio, NULL, NULL) != 0) {
		return 1;
	}
	printf("ready 1\n");
	fflush(stdout);
	nng_stream_listener_accept(l, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0) {
		return 1;
	}
	st = nng_aio_get_output(aio, 0);
	while (got < n * 64) {
		nng_iov iov = { .iov_buf = buf, .iov_len = sizeof(buf) };

		nng_aio_set_iov(aio, 1, &iov);
		nng_stream_recv(st, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0) {
			return 1;
		}
		got += (long) nng_aio_count(aio);
	}
	nb_stream_io(st, aio, true, &one, 1);
	nb_stream_io(st, aio, false, buf, 1); // until the case closes
	nng_stream_free(st);
	nng_aio_free(aio);
	nng_stream_listener_free(l);
	return 0;
}

// The peer's side of PAIR: take n messages, answer one, then echo
// nb_calls.
static int
nb_peer_raw_pair(long n)
{
	nng_socket s;
	nng_msg   *m;
	long       i;

	if (nng_pair1_open(&s) != 0
	    || nng_listen(s, getenv("ARB_BENCH_PEER_URL"), NULL, 0) != 0) {
		return 1;
	}
	printf("ready 1\n");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		if (nng_recvmsg(s, &m, 0) != 0) {
			return 1;
		}
		nng_msg_free(m);
	}
	nng_send(s, "d", 1, 0);
	for (i = 0; i < nb_calls; i++) {
		if (nng_recvmsg(s, &m, 0) != 0 || nng_sendmsg(s, m, 0) != 0) {
			return 1;
		}
	}
	nng_close(s);
	return 0;
}

static void
case_raw_tcp(void)
{
	nb_peer            p = { 0 };
	nng_stream_dialer *d;
	nng_stream        *st;
	nng_aio           *aio;
	nng_socket         s;
	nng_msg           *m;
	static int64_t     lat[NB_CALL_N];
	uint8_t            body[64] = { 0 };
	long               n = nb_n / 10, i;
	int64_t            t0;
	double             c0;

	// One nng_stream_send per 64 B message, each waited for.
	if (nb_spawn(&p, "raw_stream") != 0 || nb_line(&p, "ready") < 0) {
		nb_reap(&p, true);
		return;
	}
	nng_aio_alloc(&aio, NULL, NULL);
	nng_stream_dialer_alloc(&d, nb_url[1]);
	nng_stream_dialer_dial(d, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0) {
		fprintf(stderr, "dial %s failed\n", nb_url[1]);
		nb_reap(&p, true);
		return;
	}
	st = nng_aio_get_output(aio, 0);
	c0 = nb_cpu_s(getpid()) + nb_cpu_s(p.pid);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (nb_stream_io(st, aio, true, body, sizeof(body)) != 0) {
			break;
		}
	}
	nb_stream_io(st, aio, false, body, 1);
	nb_rate("raw_nng_stream_tcp", n, (now_ns() - t0) / 1e9,
	    nb_cpu_s(getpid()) + nb_cpu_s(p.pid) - c0);
	nng_stream_free(st);
	nng_stream_dialer_free(d);
	nng_aio_free(aio);
	nb_reap(&p, false);

	// nng PAIR: sends of 64 B, then ping-pong.
	n = nb_n;
	if (nb_spawn(&p, "raw_pair") != 0 || nb_line(&p, "ready") < 0
	    || nng_pair1_open(&s) != 0) {
		nb_reap(&p, true);
		return;
	}
	if (nng_dial(s, nb_url[1], NULL, 0) != 0) {
		fprintf(stderr, "dial %s failed\n", nb_url[1]);
		nb_reap(&p, true);
		return;
	}
	c0 = nb_cpu_s(getpid()) + nb_cpu_s(p.pid);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		nng_send(s, body, sizeof(body), 0);
	}
	if (nng_recvmsg(s, &m, 0) == 0) {
		nng_msg_free(m);
	}
	nb_rate("raw_nng_pair_tcp", n, (now_ns() - t0) / 1e9,
	    nb_cpu_s(getpid()) + nb_cpu_s(p.pid) - c0);
	for (i = 0; i < nb_calls; i++) {
		t0 = now_ns();
		nng_msg_alloc(&m, 64);
		nng_sendmsg(s, m, 0);
		nng_recvmsg(s, &m, 0);
		nng_msg_free(m);
		lat[i] = now_ns() - t0;
	}
	nb_latency("raw_nng_pair_rtt_tcp", lat, nb_calls);
	nng_close(s);
	nb_reap(&p, false);
}

// --- actors ----------------------------------------------------------------

// nb_peer_up: node b is up as seen from this node.
static bool
nb_peer_up(void)
{
	arb_peer_info pi;

	return arb_node_peers(nb_node, &pi, 1) == 1 && pi.state == ARB_PEER_UP;
}

// nsource (node a): once b is up, pumps nb_n 64 B messages to b's sink,
// 1,024 a turn; b's sink answers NB_DONE with the time it took.
typedef struct nsource {
	arb_ctx      *ctx;
	struct event *pump, *backoff, *tick;
	arb_pid       sink;
	pid_t         peer;
	long          sent, full;
	double        cpu0;
	uint8_t       body[64];
} nsource;

static void
nsource_pump(evutil_socket_t fd, short what, void *arg)
{
	nsource *s = arg;
	int      i;

	(void) fd;
	(void) what;
	for (i = 0; i < 1024 && s->sent < nb_n; i++) {
		memcpy(s->body, &s->sent, sizeof(s->sent));
		if (arb_send_copy(s->ctx, s->sink, NB_DATA, s->body,
		        sizeof(s->body)) != ARB_OK) {
			struct timeval tv = { 0, 200 };

			s->full++;
			evtimer_add(s->backoff, &tv);
			return;
		}
		s->sent++;
	}
	if (s->sent < nb_n) {
		event_active(s->pump, 0, 0);
	}
}

static void
nsource_tick(evutil_socket_t fd, short what, void *arg)
{
	nsource       *s = arg;
	int64_t        t0 = now_ns();
	struct timeval tv = { 0, 10000 };

	(void) fd;
	(void) what;
	if (!nb_peer_up()
	    || arb_send_copy(s->ctx, s->sink, NB_T0, &t0, sizeof(t0))
	        != ARB_OK) {
		evtimer_add(s->tick, &tv);
		return;
	}
	s->cpu0 = nb_cpu_s(getpid()) + nb_cpu_s(s->peer);
	event_active(s->pump, 0, 0);
}

static int
nsource_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	nsource           *s = calloc(1, sizeof(*s));
	char               a[64];
	unsigned long long slot;
	int                pid;

	snprintf(a, sizeof(a), "%.*s", (int) len, (const char *) arg);
	if (s == NULL || sscanf(a, "%llu %d", &slot, &pid) != 2) {
		free(s);
		return ARB_EINVAL;
	}
	s->ctx = ctx;
	s->sink.id = slot;
	s->sink.node = nb_node_hash("b");
	s->peer = (pid_t) pid;
	s->pump = event_new(arb_base(ctx), -1, 0, nsource_pump, s);
	s->backoff = evtimer_new(arb_base(ctx), nsource_pump, s);
	s->tick = evtimer_new(arb_base(ctx), nsource_tick, s);
	event_priority_set(s->pump,
	    event_base_get_npriorities(arb_base(ctx)) - 1);
	event_active(s->tick, 0, 0);
	*statep = s;
	return ARB_OK;
}

static void
nsource_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	nsource *s = state;
	int64_t  d[2]; // ns from T0 to the last message, order violations
	arb_exit e = { .kind = ARB_EXIT_NORMAL };

	if (arb_msg_tag(m) != NB_DONE || arb_msg_len(m) != sizeof(d)) {
		return;
	}
	memcpy(d, arb_msg_body(m), sizeof(d));
	nb_rate("node_stream_tcp", nb_n, d[0] / 1e9,
	    nb_cpu_s(getpid()) + nb_cpu_s(s->peer) - s->cpu0);
	result("node_stream_tcp_full_backlog", (double) s->full, "times");
	if (d[1] != 0) {
		fprintf(stderr, "order violated %lld times\n", (long long) d[1]);
	}
	arb_actor_exit(ctx, &e);
}

static void
nsource_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	nsource *s = state;

	(void) ctx;
	(void) why;
	event_free(s->pump);
	event_free(s->backoff);
	event_free(s->tick);
	free(s);
}

// nsink (node b): counts NB_DATA in order; at nb_n answers NB_DONE
// (again every 10 ms while b's own link to a cannot take it yet).
typedef struct nsink {
	arb_ctx      *ctx;
	struct event *retry;
	int64_t       t0;
	long          got, bad_order;
	arb_pid       from;
	int64_t       done[2]; // ns from NB_T0 to the last, order violations
	int           tries;
} nsink;

static void
nsink_done(evutil_socket_t fd, short what, void *arg)
{
	nsink         *k = arg;
	struct timeval tv = { 0, 10000 };

	(void) fd;
	(void) what;
	if (arb_send_copy(k->ctx, k->from, NB_DONE, k->done, sizeof(k->done))
	        != ARB_OK
	    && ++k->tries < 1000) {
		evtimer_add(k->retry, &tv);
	}
}

static int
nsink_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	nsink *k = calloc(1, sizeof(*k));

	(void) arg;
	(void) len;
	if (k == NULL) {
		return ARB_ENOMEM;
	}
	k->ctx = ctx;
	k->retry = evtimer_new(arb_base(ctx), nsink_done, k);
	*statep = k;
	printf("sink %llu\n",
	    (unsigned long long) arb_pid_slot(arb_self(ctx)).id);
	fflush(stdout);
	return ARB_OK;
}

static void
nsink_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	nsink *k = state;

	(void) ctx;
	(void) why;
	event_free(k->retry);
	free(k);
}

static void
nsink_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	nsink *k = state;
	long   seq;

	(void) ctx;
	if (arb_msg_tag(m) == NB_T0 && arb_msg_len(m) == sizeof(k->t0)) {
		memcpy(&k->t0, arb_msg_body(m), sizeof(k->t0));
		k->from = arb_msg_from(m);
		return;
	}
	if (arb_msg_tag(m) != NB_DATA || arb_msg_len(m) < sizeof(seq)) {
		return;
	}
	memcpy(&seq, arb_msg_body(m), sizeof(seq));
	k->bad_order += seq != k->got;
	if (++k->got == nb_n) {
		k->done[0] = now_ns() - k->t0;
		k->done[1] = k->bad_order;
		nsink_done(-1, 0, k);
	}
}

// necho (node b): answers every request with its body.
static int
necho_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	(void) arg;
	(void) len;
	*statep = NULL;
	printf("echo %llu\n",
	    (unsigned long long) arb_pid_slot(arb_self(ctx)).id);
	fflush(stdout);
	return ARB_OK;
}

static void
necho_handle(arb_ctx *ctx, void *state, const arb_msg *m)
{
	(void) state;
	if (arb_msg_is_request(m)) {
		arb_reply(ctx, m, NB_PING, arb_msg_body(m), arb_msg_len(m));
	}
}

// ncaller (node a): once b is up and a first call was answered, nb_calls
// sequential calls to b's echo.
typedef struct ncaller {
	arb_ctx      *ctx;
	struct event *tick;
	arb_pid       echo;
	int           i, failed;
	bool          warm; // a first call was answered (b's link to a is up)
	int64_t       t0;
	int64_t       lat[NB_CALL_N];
} ncaller;

static void ncaller_next(arb_ctx *ctx, ncaller *c);

static void
ncaller_cb(arb_ctx *ctx, void *arg, const arb_result *r)
{
	ncaller       *c = arg;
	struct timeval tv = { 0, 10000 };

	if (!c->warm) {
		if (r->status != ARB_OK) {
			evtimer_add(c->tick, &tv);
			return;
		}
		c->warm = true;
	} else {
		c->failed += r->status != ARB_OK;
		c->lat[c->i++] = now_ns() - c->t0;
	}
	ncaller_next(ctx, c);
}

static void
ncaller_next(arb_ctx *ctx, ncaller *c)
{
	uint8_t  body[64] = { 0 };
	arb_exit e = { .kind = ARB_EXIT_NORMAL };

	if (c->i == nb_calls) {
		nb_latency("node_call_tcp", c->lat, nb_calls);
		result("node_call_tcp_failed", c->failed, "calls");
		arb_actor_exit(ctx, &e);
		return;
	}
	c->t0 = now_ns();
	if (arb_call(ctx, c->echo, NB_PING, body, sizeof(body),
	        c->warm ? 5000 : 200, ncaller_cb, c)
	    != ARB_OK) {
		if (!c->warm) {
			struct timeval tv = { 0, 10000 };

			evtimer_add(c->tick, &tv);
			return;
		}
		c->failed++;
		c->lat[c->i++] = 0;
		ncaller_next(ctx, c);
	}
}

static void
ncaller_tick(evutil_socket_t fd, short what, void *arg)
{
	ncaller       *c = arg;
	struct timeval tv = { 0, 10000 };

	(void) fd;
	(void) what;
	if (!nb_peer_up()) {
		evtimer_add(c->tick, &tv);
		return;
	}
	ncaller_next(c->ctx, c);
}

static int
ncaller_init(arb_ctx *ctx, void **statep, const void *arg, size_t len)
{
	ncaller           *c = calloc(1, sizeof(*c));
	char               a[64];
	unsigned long long slot;

	snprintf(a, sizeof(a), "%.*s", (int) len, (const char *) arg);
	if (c == NULL || sscanf(a, "%llu", &slot) != 1) {
		free(c);
		return ARB_EINVAL;
	}
	c->echo.id = slot;
	c->echo.node = nb_node_hash("b");
	c->ctx = ctx;
	c->tick = evtimer_new(arb_base(ctx), ncaller_tick, c);
	*statep = c;
	event_active(c->tick, 0, 0);
	return ARB_OK;
}

static void
ncaller_terminate(arb_ctx *ctx, void *state, const arb_exit *why)
{
	ncaller *c = state;

	(void) ctx;
	(void) why;
	event_free(c->tick);
	free(c);
}

static const arb_actor_ops nsource_ops = { .type = "nb_source",
	.init = nsource_init, .handle = nsource_handle,
	.terminate = nsource_terminate };
static const arb_actor_ops nsink_ops = { .type = "nb_sink",
	.init = nsink_init, .handle = nsink_handle,
	.terminate = nsink_terminate };
static const arb_actor_ops necho_ops = { .type = "nb_echo",
	.init = necho_init, .handle = necho_handle };
static const arb_actor_ops ncaller_ops = { .type = "nb_caller",
	.init = ncaller_init, .terminate = ncaller_terminate };

// --- nodes -----------------------------------------------------------------

// nb_run opens node NAME (listening on nb_url[self], its peer the other)
// and runs the children.
static int
nb_run(int self, arb_child_spec *c, size_t nc)
{
	arb_node_peer peer = { .name = self == 0 ? "b" : "a",
		.url = nb_url[1 - self] };
	arb_node_opts o = { .name = self == 0 ? "a" : "b",
		.log_level = getenv("ARB_BENCH_NODE_LOG") != NULL
		    ? atoi(getenv("ARB_BENCH_NODE_LOG")) : ARB_LOG_ERROR,
		.listen = nb_url[self],
		.peers = &peer, .npeers = 1, .cookie_file = nb_cookie };
	arb_sup_spec  sp = { .children = c, .nchildren = nc,
		 .auto_shutdown = self == 0 ? ARB_AUTO_SHUTDOWN_ANY_SIGNIFICANT
		                            : ARB_AUTO_SHUTDOWN_NEVER };
	int           code = 0, rv;

	if ((rv = arb_node_open(&nb_node, &o)) != 0) {
		fprintf(stderr, "node %s: %s\n", o.name, arb_strerror(rv));
		return 1;
	}
	rv = arb_node_run(nb_node, &sp, &code);
	arb_node_close(nb_node);
	nb_node = NULL;
	return rv != 0 ? 1 : code;
}

static int
nb_peer_main(void)
{
	const char    *mode = getenv("ARB_BENCH_PEER_MODE");
	arb_child_spec c[] = {
		{ .name = "sink", .isolation = ARB_THREAD, .type = "nb_sink" },
		{ .name = "echo", .isolation = ARB_THREAD, .type = "nb_echo" },
	};

	if (mode == NULL || getenv("ARB_BENCH_PEER_URL") == NULL
	    || getenv("ARB_BENCH_PEER_OTHER") == NULL
	    || getenv("ARB_BENCH_PEER_COOKIE") == NULL) {
		fprintf(stderr, "node_peer: run by the node_* cases only\n");
		return 64;
	}
	if (strcmp(mode, "raw_stream") == 0) {
		return nb_peer_raw_stream(nb_n / 10);
	}
	if (strcmp(mode, "raw_pair") == 0) {
		return nb_peer_raw_pair(nb_n);
	}
	snprintf(nb_url[1], sizeof(nb_url[1]), "%s",
	    getenv("ARB_BENCH_PEER_URL"));
	snprintf(nb_url[0], sizeof(nb_url[0]), "%s",
	    getenv("ARB_BENCH_PEER_OTHER"));
	snprintf(nb_cookie, sizeof(nb_cookie), "%s",
	    getenv("ARB_BENCH_PEER_COOKIE"));
	return nb_run(1, c, 2); // until SIGTERM
}

// nb_cookie_make writes a fresh cookie file (0600) in a new directory.
static int
nb_cookie_make(char *dir, size_t len)
{
	FILE *f;

	snprintf(dir, len, "/tmp/arbor-bench-node-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(nb_cookie, sizeof(nb_cookie), "%s/cookie", dir);
	if ((f = fopen(nb_cookie, "w")) == NULL) {
		return -1;
	}
	fprintf(f, "bench-cookie-%d-%lld\n", (int) getpid(),
	    (long long) now_ns());
	fclose(f);
	return chmod(nb_cookie, 0600);
}

static int
case_nodes(bool stream)
{
	nb_peer           p = { 0 };
	char              dir[64], arg[64];
	long long         sink, echo;
	int               code;
	arb_child_spec    c = { .isolation = ARB_THREAD,
		   .restart = ARB_TEMPORARY, .significant = true };

	if (nb_cookie_make(dir, sizeof(dir)) != 0 || nb_spawn(&p, "node") != 0) {
		return 1;
	}
	if ((sink = nb_line(&p, "sink")) < 0 || (echo = nb_line(&p, "echo")) < 0) {
		nb_reap(&p, true);
		return 1;
	}
	if (stream) {
		snprintf(arg, sizeof(arg), "%lld %d", sink, (int) p.pid);
		c.name = "source";
		c.type = "nb_source";
	} else {
		snprintf(arg, sizeof(arg), "%lld", echo);
		c.name = "caller";
		c.type = "nb_caller";
	}
	c.arg = arg;
	c.arg_len = strlen(arg);
	code = nb_run(0, &c, 1);
	nb_reap(&p, true);
	unlink(nb_cookie);
	rmdir(dir);
	return code;
}

void
bench_node_register(void)
{
	const char *e = getenv("ARB_BENCH_NODE_N");

	if (e != NULL && atol(e) >= 10) {
		nb_n = atol(e);
	}
	e = getenv("ARB_BENCH_NODE_CALLS");
	if (e != NULL && atoi(e) >= 10 && atoi(e) <= NB_CALL_N) {
		nb_calls = atoi(e);
	}
	arb_actor_type_register(&nsource_ops);
	arb_actor_type_register(&nsink_ops);
	arb_actor_type_register(&necho_ops);
	arb_actor_type_register(&ncaller_ops);
}

int
bench_node_case(const char *name)
{
	if (strcmp(name, "node_peer") == 0) {
		return nb_peer_main();
	}
	if (strncmp(name, "node_", 5) != 0) {
		return -1;
	}
	if (nb_urls() != 0) {
		return 1;
	}
	if (strcmp(name, "node_raw_tcp") == 0) {
		case_raw_tcp();
		return 0;
	}
	if (strcmp(name, "node_stream_tcp") == 0) {
		return case_nodes(true);
	}
	if (strcmp(name, "node_call_tcp") == 0) {
		return case_nodes(false);
	}
	return -1;
}
