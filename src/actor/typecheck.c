// SPDX-License-Identifier: MIT
// typecheck.c -- an actor's config read by its type's check hook, here or
// in a child process (typecheck.h).
//
// Checking a config means loading the type's module, and a module is
// never unloaded (the registry keeps its ops), nor could all of it be:
// OpenSSL 3's libcrypto and libssl are linked -z nodelete, so an MQTT
// actor's module left them mapped in a node that never runs one (1.7 MB
// of RSS, docs/performance.md).  So the tree loader checks the types it
// will not run in this process (process actors, children of other
// nodes) in one child of this program: "EXE --arb-check", fd 3 a stream
// socket, one request at a time, each answered before the next is sent:
//
//   request:  u32 type length, type, u32 config length, config (msgpack)
//   answer:   i32 rv, u32 length, why, u32 total, u32 n,
//             n x (u32 length, key, u32 length, text)
//
// in the machine's byte order (both ends are the same program).  EOF on
// fd 3 ends the child.  The node reaps with waitpid(-1): a check child it
// collects is ours, not an orphan (arb__tcheck_reaped).
// Thread: any; checks in children may run on several threads at once.

#include "typecheck.h"
#include "../core/spawnctl.h"

#include <arbor/actor.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TC_LISTED   100  // problems listed (arb_cfg records as many)
#define TC_TYPE_MAX 64   // a type name, with its NUL
#define TC_TEXT_MAX 4096 // a key or a text
#define TC_SLOTS    8    // check children alive at once

static bool            main_seen;
static pthread_mutex_t tc_mtx = PTHREAD_MUTEX_INITIALIZER;
static pid_t           tc_pids[TC_SLOTS];   // alive check children
static bool            tc_reaped[TC_SLOTS]; // ... a reaper collected

void
arb__tcheck_main_seen(void)
{
	main_seen = true;
}

void
arb__tcheck_fini(arb__tcheck *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		arb__free(t->keys[i]);
		arb__free(t->texts[i]);
	}
	arb__free(t->keys);
	arb__free(t->texts);
	t->keys = t->texts = NULL;
	t->n = 0;
}

// tc_list sets t's listed problem i (copied).  False when out of memory.
static bool
tc_list(arb__tcheck *t, const char *key, size_t klen, const char *text,
    size_t tlen)
{
	if (t->keys == NULL) {
		t->keys = arb__alloc(TC_LISTED * sizeof(char *));
		t->texts = arb__alloc(TC_LISTED * sizeof(char *));
		if (t->keys == NULL || t->texts == NULL) {
			return false;
		}
	}
	if (t->n == TC_LISTED) {
		return true; // only counted
	}
	t->keys[t->n] = arb__alloc(klen + 1);
	t->texts[t->n] = arb__alloc(tlen + 1);
	if (t->keys[t->n] == NULL || t->texts[t->n] == NULL) {
		arb__free(t->keys[t->n]);
		arb__free(t->texts[t->n]);
		return false;
	}
	memcpy(t->keys[t->n], key, klen);
	memcpy(t->texts[t->n], text, tlen);
	t->n++;
	return true;
}

void
arb__tcheck_here(arb__tcheck *t)
{
	const arb_actor_ops *ops;
	arb_cfg             *cfg;
	const char          *key, *text;
	size_t               i;

	t->n = 0;
	t->total = 0;
	t->why[0] = '\0';
	t->rv = arb_actor_type_load(t->type, &ops, t->why, sizeof(t->why));
	if (t->rv != ARB_OK || ops->check == NULL) {
		return;
	}
	if (arb_cfg_alloc(&cfg, t->cfg, t->cfg_len) != ARB_OK) {
		t->rv = ARB_ENOMEM;
		snprintf(t->why, sizeof(t->why), "out of memory");
		return;
	}
	ops->check(cfg);
	t->total = arb_cfg_errors(cfg);
	for (i = 0; arb_cfg_error(cfg, i, &key, &text) == ARB_OK; i++) {
		if (!tc_list(t, key, strlen(key), text, strlen(text))) {
			break;
		}
	}
	arb_cfg_free(cfg);
}

// --- The wire ---------------------------------------------------------------

// A growing buffer of one message.
typedef struct tc_buf {
	uint8_t *p;
	size_t   len, cap;
	bool     oom;
} tc_buf;

static void
tc_put(tc_buf *b, const void *p, size_t n)
{
	uint8_t *q;
	size_t   cap;

	if (b->oom || n == 0) {
		return;
	}
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n) {
			cap *= 2;
		}
		if ((q = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
tc_put32(tc_buf *b, uint32_t v)
{
	tc_put(b, &v, sizeof(v));
}

static void
tc_putstr(tc_buf *b, const void *p, size_t n)
{
	tc_put32(b, (uint32_t) n);
	tc_put(b, p, n);
}

static int
tc_write(int fd, const tc_buf *b)
{
	size_t  off = 0;
	ssize_t n;

	if (b->oom) {
		return ARB_ENOMEM;
	}
	while (off < b->len) {
		n = send(fd, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return ARB_ECLOSED;
		}
		off += (size_t) n;
	}
	return ARB_OK;
}

static int64_t
tc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// tc_read reads exactly n bytes before deadline (ms, CLOCK_MONOTONIC; -1:
// none).  ARB_ECLOSED at EOF (*eof when nothing was read), ARB_ETIMEDOUT.
static int
tc_read(int fd, void *p, size_t n, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t        off = 0;
	ssize_t       r;
	int64_t       left;

	while (off < n) {
		left = deadline < 0 ? -1 : deadline - tc_now_ms();
		if (deadline >= 0 && left <= 0) {
			return ARB_ETIMEDOUT;
		}
		if (poll(&pfd, 1, left < 0 ? -1 : (int) left) < 0) {
			if (errno == EINTR) {
				continue;
			}
			return ARB_ECLOSED;
		}
		if (pfd.revents == 0) {
			continue;
		}
		r = read(fd, (uint8_t *) p + off, n - off);
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (r <= 0) {
			return ARB_ECLOSED;
		}
		off += (size_t) r;
	}
	return ARB_OK;
}

// tc_readstr reads a u32 length (at most max) and that many bytes into a
// new NUL-terminated string *sp (arb__free).
static int
tc_readstr(int fd, size_t max, char **sp, size_t *lenp, int64_t deadline)
{
	uint32_t n;
	char    *s;
	int      rv;

	*sp = NULL;
	if ((rv = tc_read(fd, &n, sizeof(n), deadline)) != ARB_OK) {
		return rv;
	}
	if (n > max) {
		return ARB_EBADMSG;
	}
	if ((s = arb__alloc((size_t) n + 1)) == NULL) {
		return ARB_ENOMEM;
	}
	if ((rv = tc_read(fd, s, n, deadline)) != ARB_OK) {
		arb__free(s);
		return rv;
	}
	*sp = s;
	if (lenp != NULL) {
		*lenp = n;
	}
	return ARB_OK;
}

// --- The child --------------------------------------------------------------

void
arb__tcheck_serve(int fd)
{
	arb__tcheck t;
	tc_buf      b;
	char       *type, *cfg;
	size_t      len, i;

	for (;;) {
		memset(&t, 0, sizeof(t));
		memset(&b, 0, sizeof(b));
		if (tc_readstr(fd, TC_TYPE_MAX - 1, &type, NULL, -1)
		    != ARB_OK) {
			return; // EOF: done
		}
		if (tc_readstr(fd, ARB__ARG_MAX, &cfg, &len, -1) != ARB_OK) {
			arb__free(type);
			return;
		}
		t.type = type;
		t.cfg = len > 0 ? cfg : NULL;
		t.cfg_len = len;
		arb__tcheck_here(&t);
		tc_put32(&b, (uint32_t) t.rv);
		tc_putstr(&b, t.why, strlen(t.why));
		tc_put32(&b, (uint32_t) t.total);
		tc_put32(&b, (uint32_t) t.n);
		for (i = 0; i < t.n; i++) {
			tc_putstr(
			    &b, t.keys[i], strnlen(t.keys[i], TC_TEXT_MAX));
			tc_putstr(
			    &b, t.texts[i], strnlen(t.texts[i], TC_TEXT_MAX));
		}
		arb__tcheck_fini(&t);
		arb__free(type);
		arb__free(cfg);
		if (tc_write(fd, &b) != ARB_OK) {
			free(b.p);
			return;
		}
		free(b.p);
	}
}

// --- The parent -------------------------------------------------------------

static int
tc_slot_take(pid_t pid)
{
	int i;

	for (i = 0; i < TC_SLOTS; i++) {
		if (tc_pids[i] == 0) {
			tc_pids[i] = pid;
			tc_reaped[i] = false;
			return i;
		}
	}
	return -1;
}

bool
arb__tcheck_reaped(pid_t pid)
{
	bool ours = false;
	int  i;

	pthread_mutex_lock(&tc_mtx);
	for (i = 0; i < TC_SLOTS && pid > 0; i++) {
		if (tc_pids[i] == pid) {
			tc_reaped[i] = true;
			ours = true;
		}
	}
	pthread_mutex_unlock(&tc_mtx);
	return ours;
}

// tc_spawn starts "/proc/self/exe --arb-check" with sock on fd 3, in a
// slot (taken under the lock held across the spawn, so a reaper that
// collects it at once finds it).  Returns the slot or -1 (*errp).
static int
tc_spawn(int sock, pid_t *pidp, int *errp)
{
	static char flag[] = ARB__CHECK_ARGV_FLAG;
	static char exe[] = "/proc/self/exe";
	char       *argv[] = { exe, flag, NULL };
	int         e = 0, slot;

	pthread_mutex_lock(&tc_mtx);
	if ((slot = tc_slot_take(-1)) < 0) {
		e = EAGAIN; // as many checks at once as slots
	} else if ((e = arb__spawn_ctl(pidp, exe, argv, sock)) == 0) {
		tc_pids[slot] = *pidp;
	} else {
		tc_pids[slot] = 0;
		slot = -1;
	}
	pthread_mutex_unlock(&tc_mtx);
	*errp = e;
	return slot;
}

// tc_ask sends t's request and reads its answer into t.
static int
tc_ask(int fd, arb__tcheck *t, int64_t deadline)
{
	tc_buf   b;
	uint32_t v[2];
	int32_t  rv;
	char    *why = NULL, *key, *text;
	size_t   klen, tlen, i;
	int      e;

	memset(&b, 0, sizeof(b));
	tc_putstr(&b, t->type, strnlen(t->type, TC_TYPE_MAX - 1));
	tc_putstr(&b, t->cfg, t->cfg != NULL ? t->cfg_len : 0);
	e = tc_write(fd, &b);
	free(b.p);
	if (e != ARB_OK) {
		return e;
	}
	if ((e = tc_read(fd, &rv, sizeof(rv), deadline)) != ARB_OK
	    || (e = tc_readstr(fd, sizeof(t->why) - 1, &why, NULL, deadline))
	        != ARB_OK
	    || (e = tc_read(fd, v, sizeof(v), deadline)) != ARB_OK) {
		arb__free(why);
		return e;
	}
	t->rv = rv;
	snprintf(t->why, sizeof(t->why), "%s", why);
	arb__free(why);
	t->total = v[0];
	if (v[1] > TC_LISTED || v[1] > v[0]) {
		return ARB_EBADMSG;
	}
	for (i = 0; i < v[1]; i++) {
		if ((e = tc_readstr(fd, TC_TEXT_MAX, &key, &klen, deadline))
		    != ARB_OK) {
			return e;
		}
		if ((e = tc_readstr(fd, TC_TEXT_MAX, &text, &tlen, deadline))
		    != ARB_OK) {
			arb__free(key);
			return e;
		}
		if (!tc_list(t, key, klen, text, tlen)) {
			e = ARB_ENOMEM;
		}
		arb__free(key);
		arb__free(text);
		if (e != ARB_OK) {
			return e;
		}
	}
	return ARB_OK;
}

// tc_session asks one child process the checks of t from *ip on, until
// the last or the first that fails (no answer: the child died, hung or
// spoke nonsense), which it marks and passes (*ip past it).  Returns
// ARB_OK, or an error when no child could be started (nothing touched).
static int
tc_session(arb__tcheck *t, size_t n, size_t *ip, int timeout_ms)
{
	int    sv[2], slot, e = ARB_OK, st;
	pid_t  pid;
	size_t i = *ip;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		return arb__err_from_errno(errno);
	}
	if ((slot = tc_spawn(sv[1], &pid, &e)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return e == EAGAIN ? ARB_EAGAIN : arb__err_from_errno(e);
	}
	close(sv[1]);
	for (; i < n; i++) {
		t[i].rv = ARB_OK;
		t[i].why[0] = '\0';
		t[i].total = t[i].n = 0;
		if ((e = tc_ask(sv[0], &t[i], tc_now_ms() + timeout_ms))
		    != ARB_OK) {
			break;
		}
	}
	if (i < n) {
		arb__tcheck_fini(&t[i]);
		t[i].total = 0;
		t[i].rv = e == ARB_ETIMEDOUT ? ARB_ETIMEDOUT : ARB_ECLOSED;
		snprintf(t[i].why, sizeof(t[i].why),
		    e == ARB_ETIMEDOUT
		        ? "the check of type \"%s\" did not end within %d ms"
		        : "the check of type \"%s\" ended without an answer "
		          "(its process died: a crash in the type's module?)",
		    t[i].type, timeout_ms);
		kill(pid, SIGKILL); // hung, or speaking nonsense
		i++;
	}
	close(sv[0]); // EOF: the child ends
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) { }
	// Reaped by us, or by a reaper of the whole process (ECHILD): either
	// way it is gone.
	pthread_mutex_lock(&tc_mtx);
	tc_pids[slot] = 0;
	pthread_mutex_unlock(&tc_mtx);
	*ip = i;
	return ARB_OK;
}

int
arb__tcheck_away(arb__tcheck *t, size_t n, int timeout_ms)
{
	size_t i = 0, j;
	int    rv;

	if (!main_seen) {
		return ARB_ENOTSUP;
	}
	// A check that fails costs its child: the next ones get a new one.
	while (i < n) {
		if ((rv = tc_session(t, n, &i, timeout_ms)) == ARB_OK) {
			continue;
		}
		if (i == 0) {
			return rv; // nothing asked: the caller checks here
		}
		for (j = i; j < n; j++) {
			t[j].rv = rv;
			t[j].total = t[j].n = 0;
			snprintf(t[j].why, sizeof(t[j].why),
			    "no process to check type \"%s\" in: %s",
			    t[j].type, arb_strerror(rv));
		}
		break;
	}
	return ARB_OK;
}
