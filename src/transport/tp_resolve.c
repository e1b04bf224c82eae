// SPDX-License-Identifier: MIT
// tp_resolve.c -- why a link's host does not resolve: the resolver's own
// reason (getaddrinfo's), which nng 1.5.2 folds into NNG_EADDRINVAL
// (no such name) or NNG_EAGAIN (no answer).  For a listener
// (arb__host_why, at start) and for a node link's failed dials
// (arb__resolve, tp_link.c), whose lookups run on a thread of their own:
// a resolver that does not answer holds getaddrinfo for seconds, and a
// dial's callback runs on nng's threads under the link's mutex.  Also
// whether a dial that timed out waited for the resolver (nng resolves
// within the dial's timeout: arb__resolve_timed) or for the connect.
// Thread: any.

#include "tp_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

// A lookup's answer serves this long; the next failed dial after it
// asks again (one lookup at most per link at a time).
#define RESOLVE_KEEP_MS 30000

struct arb__resolve {
	pthread_mutex_t mtx;
	int             refs;   // the link's, and a running lookup's
	bool            busy;   // a lookup runs, asked at ask_ms
	int             ask_rv; // the dial's error it follows
	int64_t         ask_ms;
	bool            answered; // the last lookup's answer: gai
	int             ans_rv;   // the dial's error that lookup followed
	int64_t         ans_ms;   // when it was asked
	int64_t         ans_took; // how long it took (ms)
	bool            numeric;  // the host is an address: no lookup
	int             gai;      // 0: the host resolved
	int             family;
	char            host[256];
	char            port[8];
};

// resolve_hints: as nng 1.5.2 asks for a dial (posix_resolv_gai.c), so
// that our answer is the one its dial had; passive for a listener.
static void
resolve_hints(struct addrinfo *h, int family, bool passive)
{
	memset(h, 0, sizeof(*h));
	h->ai_family = family;
	h->ai_socktype = SOCK_STREAM;
	h->ai_flags
	    = AI_ADDRCONFIG | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
}

// resolve_parse takes url's host, port and address family: false for a
// URL that is not tcp://, tls+tcp:// (or their 4 / 6 forms) with a host
// and a port.  (An address is a host too: it resolves at once.)
static bool
resolve_parse(const char *url, char *host, size_t hlen, char *port,
    size_t plen, int *family)
{
	nng_url    *u = NULL;
	const char *sch;
	size_t      n;
	bool        ok = false;

	if (nng_url_parse(&u, url) != 0) {
		return false;
	}
	sch = u->u_scheme;
	if (strncmp(sch, "tls+", 4) == 0) {
		sch += 4;
	}
	n = strlen(sch);
	if (strncmp(sch, "tcp", 3) == 0 && n <= 4 && u->u_hostname != NULL
	    && u->u_hostname[0] != '\0' && strcmp(u->u_hostname, "*") != 0
	    && strlen(u->u_hostname) < hlen && u->u_port != NULL
	    && strlen(u->u_port) < plen) {
		*family = sch[3] == '4' ? AF_INET
		    : sch[3] == '6'     ? AF_INET6
		                        : AF_UNSPEC;
		snprintf(host, hlen, "%s", u->u_hostname);
		snprintf(port, plen, "%s", u->u_port);
		ok = sch[3] == '\0' || sch[3] == '4' || sch[3] == '6';
	}
	nng_url_free(u);
	return ok;
}

static void
resolve_say(char *buf, size_t len, const char *host, int gai)
{
	snprintf(buf, len, "host %s could not be resolved (%s)", host,
	    gai_strerror(gai));
}

bool
arb__host_why(const char *url, bool passive, char *buf, size_t len)
{
	struct addrinfo h, *ai = NULL;
	char            host[256], port[8];
	int             family, gai;

	if (!resolve_parse(
	        url, host, sizeof(host), port, sizeof(port), &family)) {
		return false;
	}
	resolve_hints(&h, family, passive);
	if ((gai = getaddrinfo(host, port, &h, &ai)) != 0) {
		resolve_say(buf, len, host, gai);
		return true;
	}
	freeaddrinfo(ai);
	return false;
}

int
arb__resolve_alloc(arb__resolve **rp, const char *url)
{
	arb__resolve *r;

	if ((r = arb__alloc(sizeof(*r))) == NULL) {
		return ARB_ENOMEM;
	}
	if (!resolve_parse(url, r->host, sizeof(r->host), r->port,
	        sizeof(r->port), &r->family)) {
		arb__free(r);
		return ARB_EINVAL;
	}
	{
		uint8_t a[16];

		r->numeric = inet_pton(AF_INET, r->host, a) == 1
		    || inet_pton(AF_INET6, r->host, a) == 1;
	}
	pthread_mutex_init(&r->mtx, NULL);
	r->refs = 1;
	*rp = r;
	return ARB_OK;
}

// resolve_rele drops one reference; the last frees r.  Under r->mtx;
// releases it.
static void
resolve_rele(arb__resolve *r)
{
	bool last = --r->refs == 0;

	pthread_mutex_unlock(&r->mtx);
	if (last) {
		pthread_mutex_destroy(&r->mtx);
		arb__free(r);
	}
}

void
arb__resolve_free(arb__resolve *r)
{
	if (r != NULL) {
		pthread_mutex_lock(&r->mtx);
		resolve_rele(r); // a lookup under way frees it when it ends
	}
}

static void *
resolve_main(void *arg)
{
	arb__resolve   *r = arg;
	struct addrinfo h, *ai = NULL;
	int             gai;

	resolve_hints(&h, r->family, false); // host, port: set once
	if ((gai = getaddrinfo(r->host, r->port, &h, &ai)) == 0) {
		freeaddrinfo(ai);
	}
	pthread_mutex_lock(&r->mtx);
	r->gai = gai;
	r->ans_rv = r->ask_rv;
	r->ans_ms = r->ask_ms;
	r->ans_took = arb__now_ms() - r->ask_ms;
	r->answered = true;
	r->busy = false;
	resolve_rele(r);
	return NULL;
}

// resolve_start runs a lookup on a thread of its own (detached, signals
// blocked: they are the node's).  Under r->mtx.
static void
resolve_start(arb__resolve *r, int rv, int64_t now)
{
	pthread_attr_t a;
	pthread_t      t;
	sigset_t       all, old;

	r->busy = true;
	r->refs++;
	r->ask_rv = rv;
	r->ask_ms = now;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024); // the resolver's needs
	if (pthread_create(&t, &a, resolve_main, r) != 0) {
		r->busy = false; // the next failed dial tries again
		r->refs--;
	}
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

bool
arb__resolve_why(arb__resolve *r, int rv, char *buf, size_t len)
{
	int64_t now = arb__now_ms();
	bool    said = false;

	pthread_mutex_lock(&r->mtx);
	if (r->answered && r->ans_rv == rv && r->gai != 0) {
		resolve_say(buf, len, r->host, r->gai);
		said = true;
	}
	if (!r->busy
	    && (!r->answered || r->ans_rv != rv
	        || now - r->ans_ms >= RESOLVE_KEEP_MS)) {
		resolve_start(r, rv, now);
	}
	pthread_mutex_unlock(&r->mtx);
	return said;
}

arb__timed
arb__resolve_timed(arb__resolve *r, int64_t limit_ms, char *buf, size_t len)
{
	int64_t    now = arb__now_ms();
	arb__timed t = ARB__TIMED_UNKNOWN;

	if (r->numeric) {
		return ARB__TIMED_CONNECT; // (set once, at alloc)
	}
	pthread_mutex_lock(&r->mtx);
	if (r->busy && r->ask_rv == NNG_ETIMEDOUT
	    && now - r->ask_ms >= limit_ms) {
		snprintf(buf, len,
		    "host %s: the resolver has not answered in %lld ms, and "
		    "a dial waits %lld ms in all (a DNS server that does "
		    "not answer?)",
		    r->host, (long long) (now - r->ask_ms),
		    (long long) limit_ms);
		t = ARB__TIMED_RESOLVER;
	} else if (r->answered && r->ans_rv == NNG_ETIMEDOUT) {
		if (r->ans_took >= limit_ms) {
			snprintf(buf, len,
			    "host %s: the resolver took %lld ms to answer "
			    "(%s), and a dial waits %lld ms in all (a slow "
			    "DNS server?)",
			    r->host, (long long) r->ans_took,
			    r->gai != 0 ? gai_strerror(r->gai) : "resolved",
			    (long long) limit_ms);
			t = ARB__TIMED_RESOLVER;
		} else if (r->gai != 0) {
			resolve_say(buf, len, r->host, r->gai);
			t = ARB__TIMED_UNRESOLVED;
		} else {
			t = ARB__TIMED_CONNECT;
		}
	}
	if (!r->busy
	    && (!r->answered || r->ans_rv != NNG_ETIMEDOUT
	        || now - r->ans_ms >= RESOLVE_KEEP_MS)) {
		resolve_start(r, NNG_ETIMEDOUT, now);
	}
	pthread_mutex_unlock(&r->mtx);
	return t;
}
