// SPDX-License-Identifier: MIT
// mqtt_dns.h -- resolving the broker's host name without blocking the
// loop: libevent's evdns (/etc/hosts, then the nameservers of
// /etc/resolv.conf or a configured one).  The only file of the mqtt
// actor that includes <event2/dns.h>.  Thread: loop.

#ifndef MQTT_DNS_H
#define MQTT_DNS_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

typedef struct mqtt_dns mqtt_dns;

#define MQTT_DNS_MAX_ADDRS 8
#define MQTT_ADDR_MAX      46 // INET6_ADDRSTRLEN

// mqtt_dns_cb delivers the outcome of one query: err is NULL and n >= 1
// numeric addresses (IPv4 first, then IPv6), or err says why in words
// ("no such host", "timed out").
typedef void (*mqtt_dns_cb)(
    void *arg, const char *err, char addrs[][MQTT_ADDR_MAX], size_t n);

// mqtt_dns_open prepares a resolver on base.  nameserver is NULL (use
// /etc/resolv.conf) or "IP[:PORT]".  Files are read at the first query.
// Returns 0, or -1 with the reason in err.
int mqtt_dns_open(mqtt_dns **dp, struct event_base *base,
    const char *nameserver, char *err, size_t errlen);

// mqtt_dns_close frees the resolver.  A query still inside evdns then is
// abandoned without its callback (use mqtt_dns_cancel and wait for idle
// first: evdns delivers cancellations from the loop).  NULL is a
// harmless no-op.
void mqtt_dns_close(mqtt_dns *d);

// mqtt_dns_resolve starts one query for host; cb runs later on the loop
// (never inside this call), exactly once unless mqtt_dns_cancel comes
// first.  An address literal is answered without evdns.  One query at a
// time: returns -1 when one is under way, or when evdns cannot start.
int mqtt_dns_resolve(mqtt_dns *d, const char *host, mqtt_dns_cb cb, void *arg);

// mqtt_dns_cancel abandons the query under way (its cb will not run).
// idle (may be NULL) runs once evdns has let go of it: later on the loop,
// or at once when nothing was under way.
void mqtt_dns_cancel(mqtt_dns *d, void (*idle)(void *arg), void *arg);

// mqtt_dns_busy is true while evdns holds a query (or its cancellation).
bool mqtt_dns_busy(const mqtt_dns *d);

// mqtt_addr_numeric is true when host is an IPv4 or IPv6 literal.
// Thread: any.
bool mqtt_addr_numeric(const char *host);

#endif // MQTT_DNS_H
