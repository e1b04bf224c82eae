// SPDX-License-Identifier: MIT
// mqtt_dns.c -- the broker's name, resolved with libevent's evdns so the
// actor's loop never waits on a nameserver (a blocking getaddrinfo can
// stall a loop for the resolver's whole timeout, ~20 s with retries).
//
// evdns_getaddrinfo answers from /etc/hosts or the nameservers; its
// callback may run inside the call (hosts, literals) or later, and a
// cancelled query still calls back later (EVUTIL_EAI_CANCEL, from a
// deferred callback).  So this file delivers every outcome through its
// own event (never inside mqtt_dns_resolve), and keeps itself alive until
// evdns has called back: a cancelled query is "busy" until then, and the
// actor waits for idle before it exits (a deferred callback left behind
// would run on a loop that a thread actor's next incarnation reuses).
// Thread: loop.

#include "mqtt_dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct mqtt_dns {
	struct event_base                *base;
	struct evdns_base                *evdns; // made at the first query
	struct evdns_getaddrinfo_request *req;
	struct event                     *ev_done;
	char                              nameserver[64];
	bool                              busy; // evdns holds a query
	bool        cancelled;                  // ...whose cb must not run
	mqtt_dns_cb cb;
	void       *arg;
	void (*idle)(void *arg);
	void *idle_arg;
	// The outcome, delivered by ev_done.
	char   err[96];
	char   addrs[MQTT_DNS_MAX_ADDRS][MQTT_ADDR_MAX];
	size_t n;
	bool   pending; // ev_done will deliver an outcome to cb
};

bool
mqtt_addr_numeric(const char *host)
{
	struct in6_addr a6;
	struct in_addr  a4;

	return host != NULL
	    && (inet_pton(AF_INET, host, &a4) == 1
	        || inet_pton(AF_INET6, host, &a6) == 1);
}

static void
dns_on_done(evutil_socket_t fd, short what, void *arg)
{
	mqtt_dns   *d = arg;
	mqtt_dns_cb cb;

	(void) fd;
	(void) what;
	if (d->pending) {
		d->pending = false;
		cb = d->cb;
		cb(d->arg, d->err[0] ? d->err : NULL, d->addrs, d->n);
	}
}

static void
dns_on_idle(mqtt_dns *d)
{
	void (*idle)(void *) = d->idle;

	if (idle != NULL) {
		d->idle = NULL;
		idle(d->idle_arg);
	}
}

static void
dns_add(mqtt_dns *d, const struct sockaddr *sa)
{
	const void *src;

	if (d->n >= MQTT_DNS_MAX_ADDRS) {
		return;
	}
	src = sa->sa_family == AF_INET
	    ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
	    : (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
	if (inet_ntop(sa->sa_family, src, d->addrs[d->n], MQTT_ADDR_MAX)) {
		d->n++;
	}
}

static void
dns_on_answer(int result, struct evutil_addrinfo *res, void *arg)
{
	mqtt_dns               *d = arg;
	struct evutil_addrinfo *ai;
	int                     fam;

	d->req = NULL;
	d->busy = false;
	if (d->cancelled || result == EVUTIL_EAI_CANCEL) {
		if (res != NULL) {
			evutil_freeaddrinfo(res);
		}
		d->cancelled = false;
		dns_on_idle(d);
		return;
	}
	d->n = 0;
	d->err[0] = '\0';
	if (result != 0) {
		snprintf(
		    d->err, sizeof(d->err), "%s", evutil_gai_strerror(result));
	} else {
		// IPv4 first: a gateway's broker is reachable over IPv4 far
		// more often than over IPv6.
		for (fam = AF_INET; fam != 0;
		     fam = fam == AF_INET ? AF_INET6 : 0) {
			for (ai = res; ai != NULL; ai = ai->ai_next) {
				if (ai->ai_family == fam) {
					dns_add(d, ai->ai_addr);
				}
			}
		}
		if (d->n == 0) {
			snprintf(d->err, sizeof(d->err), "no address");
		}
	}
	if (res != NULL) {
		evutil_freeaddrinfo(res);
	}
	d->pending = true;
	event_active(d->ev_done, EV_TIMEOUT, 1);
}

int
mqtt_dns_open(mqtt_dns **dp, struct event_base *base, const char *nameserver,
    char *err, size_t errlen)
{
	mqtt_dns *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->base = base;
	if (nameserver != NULL) {
		if (strlen(nameserver) >= sizeof(d->nameserver)) {
			snprintf(err, errlen, "resolver: too long");
			free(d);
			return -1;
		}
		snprintf(
		    d->nameserver, sizeof(d->nameserver), "%s", nameserver);
	}
	if ((d->ev_done = event_new(base, -1, 0, dns_on_done, d)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(d);
		return -1;
	}
	*dp = d;
	return 0;
}

void
mqtt_dns_close(mqtt_dns *d)
{
	if (d == NULL) {
		return;
	}
	if (d->evdns != NULL) {
		// With fail_requests 0 evdns frees its requests without
		// calling back; a getaddrinfo query still under way would leak
		// (the actor waits for idle, so none is).
		evdns_base_free(d->evdns, 0);
	}
	event_free(d->ev_done);
	free(d);
}

static int
dns_start_evdns(mqtt_dns *d)
{
	int flags = EVDNS_BASE_DISABLE_WHEN_INACTIVE;

	if (d->nameserver[0] == '\0') {
		flags |= EVDNS_BASE_INITIALIZE_NAMESERVERS;
	}
	if ((d->evdns = evdns_base_new(d->base, flags)) == NULL) {
		return -1;
	}
	if (d->nameserver[0] != '\0') {
		if (evdns_base_nameserver_ip_add(d->evdns, d->nameserver)
		    != 0) {
			return -1;
		}
		evdns_base_load_hosts(d->evdns, NULL);
	}
	return 0;
}

int
mqtt_dns_resolve(mqtt_dns *d, const char *host, mqtt_dns_cb cb, void *arg)
{
	struct evutil_addrinfo            hints;
	struct evdns_getaddrinfo_request *req;

	if (d->busy || d->pending) {
		return -1;
	}
	d->cb = cb;
	d->arg = arg;
	d->n = 0;
	d->err[0] = '\0';
	if (mqtt_addr_numeric(host)) {
		snprintf(d->addrs[0], MQTT_ADDR_MAX, "%s", host);
		d->n = 1;
		d->pending = true;
		event_active(d->ev_done, EV_TIMEOUT, 1);
		return 0;
	}
	if (d->evdns == NULL && dns_start_evdns(d) != 0) {
		if (d->evdns != NULL) {
			evdns_base_free(d->evdns, 0);
			d->evdns = NULL;
		}
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	d->busy = true;
	d->cancelled = false;
	req = evdns_getaddrinfo(
	    d->evdns, host, NULL, &hints, dns_on_answer, d);
	// NULL: answered inside the call (busy is false again) or failed at
	// once (still busy: dns_on_answer did not run).
	if (req == NULL && d->busy) {
		d->busy = false;
		return -1;
	}
	if (d->busy) {
		d->req = req;
	}
	return 0;
}

void
mqtt_dns_cancel(mqtt_dns *d, void (*idle)(void *arg), void *arg)
{
	d->pending = false;
	d->idle = idle;
	d->idle_arg = arg;
	if (!d->busy) {
		dns_on_idle(d);
		return;
	}
	if (!d->cancelled) {
		d->cancelled = true;
		evdns_getaddrinfo_cancel(d->req);
	}
}

bool
mqtt_dns_busy(const mqtt_dns *d)
{
	return d != NULL && d->busy;
}
