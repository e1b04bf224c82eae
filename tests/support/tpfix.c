// SPDX-License-Identifier: MIT
// tpfix.c -- the pieces the transport's unit tests share (tpfix.h).

#include "tpfix.h"

#include "arb_test.h"
#include "transport/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
sink_hello(void *arg, arb__conn *c, const arb__hello *h)
{
	tpf_sink *s = arg;

	(void) c;
	(void) h;
	atomic_fetch_add(&s->hellos, 1);
	return ARB_OK;
}

static bool
sink_data(void *arg, arb__conn *c, arb__chunk *ch)
{
	tpf_sink *s = arg;

	(void) c;
	atomic_fetch_add(&s->bytes, ch->len);
	arb__chunk_free(ch);
	return false;
}

const arb__lsn_ops tpf_sink_ops = {
	.hello = sink_hello,
	.data = sink_data,
};

bool
tpf_watch_fn(void *arg, arb__link_ev ev, const arb__hello *peer)
{
	tpf_watch *w = arg;

	(void) peer;
	atomic_fetch_add(ev == ARB__LINK_EV_UP ? &w->ups : &w->downs, 1);
	return true;
}

void
tpf_self(arb__link_cfg *c, const char *name, uint32_t creation)
{
	snprintf(c->self.name, sizeof(c->self.name), "%s", name);
	c->self.node_id = arb__node_id(name);
	c->self.creation = creation;
	c->self.max_frame = (uint32_t) c->max_frame;
}

void
tpf_node_link(arb__link_cfg *c)
{
	c->hb_ms = ARB__HB_MS_DEFAULT;
	c->hb_miss = ARB__HB_MISS_DEFAULT;
	c->keep_up = true;
	c->backoff_min_ms = 50;
	c->backoff_max_ms = 500;
}

arb__link *
tpf_dial(const char *url, const arb__link_cfg *c, tpf_watch *w)
{
	arb__link *k;

	ARB_PASS(arb__link_open(&k, url, c, NULL, NULL));
	arb__link_watch(k, tpf_watch_fn, w);
	arb__link_start(k);
	return k;
}

void
tpf_cookie(arb__cookie *ck)
{
	memset(ck->key, 0x5a, 32);
	ck->len = 32;
}

char *
tpf_url(char *buf, size_t len, int port)
{
	snprintf(buf, len, "tcp://127.0.0.1:%d", port);
	return buf;
}

static void
stall_cb(void *arg)
{
	tpf_stall *st = arg;

	while (arb_test_now_ms() < st->until) {
		poll(NULL, 0, 5);
	}
	atomic_store(&st->done, 1);
}

void
tpf_stall_start(tpf_stall *st, int ms)
{
	memset(st, 0, sizeof(*st));
	ARB_PASS(arb__ttimer_init(&st->t, stall_cb, st));
	st->until = arb_test_now_ms() + ms;
	arb__ttimer_arm(&st->t, 0);
}

// tpf_logcap: the log (stderr, one write(2) per line) is read by a thread
// through a pipe while a test looks for lines in it, and still reaches
// stderr (a failing test's messages too).
struct tpf_logcap {
	pthread_mutex_t mtx;
	char            buf[32768];
	size_t          len;
	int             saved; // the real stderr
	int             rfd;
	_Atomic int     stop;
	pthread_t       th;
};

static void *
tpf_logcap_run(void *arg)
{
	tpf_logcap *lc = arg;
	char        b[4096];
	ssize_t     n;

	for (;;) {
		struct pollfd pfd = { .fd = lc->rfd, .events = POLLIN };
		size_t        room;

		// Told to stop, it still drains what is there (a failing
		// test's message).
		if (poll(&pfd, 1, 20) != 1) {
			if (atomic_load(&lc->stop)) {
				break;
			}
			continue;
		}
		if ((n = read(lc->rfd, b, sizeof(b))) <= 0) {
			break;
		}

		if (write(lc->saved, b, (size_t) n) < 0) {
			// stderr gone: keep reading
		}
		pthread_mutex_lock(&lc->mtx);
		room = sizeof(lc->buf) - 1 - lc->len;
		if ((size_t) n < room) {
			room = (size_t) n;
		}
		memcpy(lc->buf + lc->len, b, room);
		lc->len += room;
		lc->buf[lc->len] = '\0';
		pthread_mutex_unlock(&lc->mtx);
	}
	return NULL;
}

tpf_logcap *
tpf_logcap_start(void)
{
	tpf_logcap *lc = calloc(1, sizeof(*lc));
	int         p[2];

	assert_non_null(lc);
	pthread_mutex_init(&lc->mtx, NULL);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	lc->rfd = p[0];
	lc->saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	assert_true(lc->saved >= 0);
	assert_int_equal(dup2(p[1], 2), 2);
	close(p[1]);
	assert_int_equal(
	    pthread_create(&lc->th, NULL, tpf_logcap_run, lc), 0);
	return lc;
}

void
tpf_logcap_stop(tpf_logcap *lc)
{
	// (the log keeps its own descriptor of the pipe until its next
	// line: the reader is told to stop instead of waiting for EOF)
	assert_int_equal(dup2(lc->saved, 2), 2);
	atomic_store(&lc->stop, 1);
	pthread_join(lc->th, NULL);
	close(lc->rfd);
	close(lc->saved);
	pthread_mutex_destroy(&lc->mtx);
	free(lc);
}

void
tpf_logcap_wait(tpf_logcap *lc, const char *needle)
{
	int64_t dl = arb_test_now_ms() + 5000;
	bool    found;

	for (;;) {
		pthread_mutex_lock(&lc->mtx);
		found = strstr(lc->buf, needle) != NULL;
		pthread_mutex_unlock(&lc->mtx);
		if (found) {
			return;
		}
		if (arb_test_now_ms() > dl) {
			fail_msg("no log line with \"%s\"", needle);
		}
		poll(NULL, 0, 5);
	}
}

int
tpf_logcap_count(tpf_logcap *lc, const char *needle)
{
	const char *p;
	int         n = 0;

	pthread_mutex_lock(&lc->mtx);
	for (p = lc->buf; (p = strstr(p, needle)) != NULL; p++) {
		n++;
	}
	pthread_mutex_unlock(&lc->mtx);
	return n;
}
