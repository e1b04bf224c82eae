// SPDX-License-Identifier: MIT
// links.c -- the node-link settings of a tree file (docs/config.md, "Node
// links"): node.listen, node.peers, node.cookie, node.insecure, node.tls
// and node.heartbeat, read into the arb_tree and checked as `arbor run`
// would meet them: URLs that parse, a listener this user may bind, peer
// names that are node names (none twice, none this node's own), peer
// URLs that are neither this node's listener nor another peer's, and
// authentication -- every plain tcp:// endpoint needs a cookie file that
// auth.c accepts (owner-only permissions), unless the file says
// `insecure: true`; every tls+tcp:// endpoint needs node.tls's
// certificate, key and CA files.  A setting that no link would use is an
// error, not ignored.  Thread: the caller's.

#include "loader.h"

#include "../transport/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const peer_keys[] = { "name", "url", NULL };
static const char *const tls_keys[] = { "cert", "key", "ca", NULL };
static const char *const heartbeat_keys[] = { "interval", "misses", NULL };

#define HB_MIN_MS     10
#define HB_MAX_MS     60000
#define HB_MISSES_MAX 100
#define PEERS_MAX     ARB_NODE_PEERS_MAX
#define PEM_HEAD      4096 // bytes of a PEM file read for its first line

// --- URLs -------------------------------------------------------------------

// host_ok is true for an IPv4 address, a [bracketed] IPv6 address or a
// host name (labels of A-Z a-z 0-9 -, at most 63 each, 253 in all).
static bool
host_ok(const char *h, size_t n)
{
	char   buf[256];
	size_t i, label = 0;
	bool   numeric = true;

	if (n == 0 || n >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] == '[') {
		struct in6_addr a6;
		if (n < 3 || buf[n - 1] != ']') {
			return false;
		}
		buf[n - 1] = '\0';
		return inet_pton(AF_INET6, buf + 1, &a6) == 1;
	}
	for (i = 0; i < n; i++) {
		numeric = numeric
		    && (buf[i] == '.' || (buf[i] >= '0' && buf[i] <= '9'));
	}
	if (numeric) {
		struct in_addr a4;
		return inet_pton(AF_INET, buf, &a4) == 1;
	}
	if (n > 253) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '.') {
			if (label == 0) {
				return false;
			}
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		    || (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63) {
				return false;
			}
		} else {
			return false;
		}
	}
	return label > 0;
}

// url_parse splits "tcp://HOST:PORT" or "tls+tcp://HOST:PORT" (HOST an
// IPv4 address, [IPv6] or a name; empty, meaning every address, only
// where any_host) into host, port and tls, or writes why it is not one.
static bool
url_parse(const char *url, bool any_host, char *host, size_t hostlen,
    int *portp, bool *tlsp, char *why, size_t whylen)
{
	const char *h, *colon, *p;
	long        port;
	char       *end;

	if (strncmp(url, "tcp://", 6) == 0) {
		*tlsp = false;
		h = url + 6;
	} else if (strncmp(url, "tls+tcp://", 10) == 0) {
		*tlsp = true;
		h = url + 10;
	} else {
		snprintf(why, whylen,
		    "\"%s\": expected tcp://HOST:PORT or tls+tcp://HOST:PORT",
		    url);
		return false;
	}
	if ((colon = strrchr(h, ':')) == NULL
	    || (h[0] == '[' && colon < strchr(h, ']'))) {
		snprintf(why, whylen, "\"%s\": no :PORT after the host", url);
		return false;
	}
	p = colon + 1;
	errno = 0;
	port = strtol(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 || port < 1
	    || port > 65535) {
		snprintf(why, whylen,
		    "\"%s\": the port must be a number from 1 to 65535", url);
		return false;
	}
	if (colon == h && !any_host) {
		snprintf(why, whylen, "\"%s\": no host (a peer's address)",
		    url);
		return false;
	}
	if (colon > h && !host_ok(h, (size_t) (colon - h))) {
		snprintf(why, whylen,
		    "\"%s\": \"%.*s\" is not an IPv4 address, [IPv6] address "
		    "or host name",
		    url, (int) (colon - h), h);
		return false;
	}
	if ((size_t) (colon - h) >= hostlen) {
		snprintf(why, whylen, "\"%s\": host too long", url);
		return false;
	}
	memcpy(host, h, (size_t) (colon - h));
	host[colon - h] = '\0';
	*portp = (int) port;
	return true;
}

// bind_problem writes why this user could not listen on host:port (an
// address the machine does not have, a port below 1024 without the
// capability), or returns false.  A port in use is no problem here: it
// may be this very node's (a question of the moment).  A host name is
// not resolved: DNS may not answer yet when the file is checked.
static bool
bind_problem(const char *host, int port, char *why, size_t whylen)
{
	struct addrinfo  hints, *ai = NULL;
	char             h[256], serv[8];
	const char      *node = host;
	int              fd, one = 1, e;
	bool             bad = false;
	size_t           n = strlen(host);

	if (n > 0 && host[0] == '[') {
		snprintf(h, sizeof(h), "%.*s", (int) (n - 2), host + 1);
		node = h;
	} else if (n == 0) {
		node = NULL; // every address
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(serv, sizeof(serv), "%d", port);
	if (getaddrinfo(node, serv, &hints, &ai) != 0 || ai == NULL) {
		return false; // a name: its resolution is the node's business
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		(void) setsockopt(
		    fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
		    && (e = errno) != EADDRINUSE) {
			snprintf(why, whylen, "cannot bind %s:%d: %s%s",
			    n > 0 ? host : "*", port, strerror(e),
			    e == EACCES ? " (a port below 1024 needs root or "
			                  "CAP_NET_BIND_SERVICE)"
			    : e == EADDRNOTAVAIL
			        ? " (not an address of this machine)"
			        : "");
			bad = true;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return bad;
}

// is_loopback is true for a host that always names this machine.
static bool
is_loopback(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0
	    || strcmp(h, "[::1]") == 0;
}

// same_host is true when hosts a and b name one address: the same text
// (names in any case), or "localhost" and the loopback address it
// resolves to, 127.0.0.1 or [::1] (RFC 6761: localhost is always this
// machine's loopback; /etc/hosts gives both).  Other names are not
// resolved here (see bind_problem).
static bool
same_host(const char *a, const char *b)
{
	if (strcasecmp(a, b) == 0) {
		return true;
	}
	if (strcasecmp(b, "localhost") == 0) {
		const char *t = a;
		a = b;
		b = t;
	}
	return strcasecmp(a, "localhost") == 0
	    && (strcmp(b, "127.0.0.1") == 0 || strcmp(b, "[::1]") == 0);
}

// same_endpoint is true when a peer at host:port would be the listener
// at lhost:lport of this very node: the same address (same_host) and port, or
// a loopback address and the port of a listener on every address.  (Node names
// do not tell: a peer dials by URL, and a node that dials itself is refused by
// its own listener for ever, its name not being a peer's.)
static bool
same_endpoint(const char *lhost, int lport, const char *host, int port)
{
	bool any = lhost[0] == '\0' || strcmp(lhost, "0.0.0.0") == 0
	    || strcmp(lhost, "[::]") == 0;

	return port == lport
	    && (same_host(host, lhost) || (any && is_loopback(host)));
}

// http_clash is true when node.http (an IPv4 loopback address, config.c)
// would bind the port of a listener at lhost:lport: the same port on the
// same address, or on every address.  `arbor run` would stop at once
// (its HTTP server's bind fails, exit 70); the check names both keys.
static bool
http_clash(const arb_tree *cfg, const char *lhost, int lport)
{
	if (cfg->http_port == 0 || cfg->http_host == NULL
	    || cfg->http_port != lport) {
		return false;
	}
	return lhost[0] == '\0' || strcmp(lhost, "0.0.0.0") == 0
	    || strcmp(lhost, "[::]") == 0 || strcmp(lhost, cfg->http_host) == 0
	    || (strcasecmp(lhost, "localhost") == 0
	        && strcmp(cfg->http_host, "127.0.0.1") == 0);
}

// --- Files ------------------------------------------------------------------

// pem_problem writes why path is no PEM file this node could read, or
// returns false.  A secret (a private key) must also be this user's and
// closed to group and others, as a cookie file must be.
static bool
pem_problem(const char *path, bool secret, char *why, size_t whylen)
{
	struct stat st;
	char        head[PEM_HEAD + 1];
	ssize_t     n;
	int         fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK))
	    < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return true;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		close(fd);
		return true;
	}
	if (secret && st.st_uid != geteuid()) {
		snprintf(why, whylen,
		    "%s: owned by uid %u, not by this node's uid %u", path,
		    (unsigned) st.st_uid, (unsigned) geteuid());
		close(fd);
		return true;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(why, whylen,
		    "%s: mode %03o lets others read the private key (chmod "
		    "600)",
		    path, (unsigned) (st.st_mode & 0777));
		close(fd);
		return true;
	}
	n = read(fd, head, PEM_HEAD);
	close(fd);
	if (n < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return true;
	}
	head[n] = '\0';
	if (strstr(head, "-----BEGIN ") == NULL) {
		snprintf(why, whylen,
		    "%s: not a PEM file (no \"-----BEGIN \" line)", path);
		return true;
	}
	return false;
}

// cookie_default writes the cookie file a node uses without node.cookie:
// $XDG_CONFIG_HOME/arbor/cookie when XDG_CONFIG_HOME is set (and
// absolute), else ~/.arbor.cookie.  Returns false when there is no home.
static bool
cookie_default(char *buf, size_t len)
{
	const char    *x = getenv("XDG_CONFIG_HOME");
	const char    *home = getenv("HOME");
	struct passwd *pw;

	if (x != NULL && x[0] == '/') {
		return (size_t) snprintf(buf, len, "%s/arbor/cookie", x) < len;
	}
	if ((home == NULL || home[0] != '/')
	    && (pw = getpwuid(geteuid())) != NULL) {
		home = pw->pw_dir;
	}
	return home != NULL && home[0] == '/'
	    && (size_t) snprintf(buf, len, "%s/.arbor.cookie", home) < len;
}

// --- The keys ---------------------------------------------------------------

// url_taken: the index of an earlier peer (of v[0..n)) whose URL names
// host:port, n when it is this node's own listener, else SIZE_MAX.
static size_t
url_taken(loader *ld, const arb_node_peer *v, size_t n, const char *host,
    int port)
{
	char   h[256], why[512];
	int    p;
	bool   tls;
	size_t j;

	if (ld->cfg->listen != NULL
	    && url_parse(ld->cfg->listen, true, h, sizeof(h), &p, &tls, why,
	        sizeof(why))
	    && same_endpoint(h, p, host, port)) {
		return n;
	}
	for (j = 0; j < n; j++) {
		if (v[j].url != NULL
		    && url_parse(v[j].url, false, h, sizeof(h), &p, &tls, why,
		        sizeof(why))
		    && p == port && same_host(h, host)) {
			return j;
		}
	}
	return SIZE_MAX;
}

static void
load_peers(loader *ld, yaml_node_t *seq)
{
	arb__doc      *d = &ld->d;
	arb_tree      *cfg = ld->cfg;
	arb_node_peer *v;
	yaml_node_t  **at;
	yaml_node_t   *it, *x;
	const char    *s, *prefix;
	char           host[256], why[512];
	size_t         i, j, n = arb__doc_len(seq);
	int            port;
	bool           tls;

	if (seq->type != YAML_SEQUENCE_NODE) {
		arb__doc_err(d, seq, "node.peers",
		    "expected a list of peers (- {name: gw2, url: "
		    "tcp://HOST:PORT}), got %s",
		    arb__doc_kind(seq));
		return;
	}
	if (n > PEERS_MAX) {
		arb__doc_err(d, arb__doc_item(d, seq, PEERS_MAX), "node.peers",
		    "more than %d peers", PEERS_MAX);
		n = PEERS_MAX;
	}
	v = arb__arena_alloc(d->arena, (n + 1) * sizeof(*v));
	at = arb__arena_alloc(d->arena, (n + 1) * sizeof(*at));
	for (i = 0; i < n; i++) {
		it = arb__doc_item(d, seq, i);
		prefix = arb__arena_printf(d->arena, "node.peers[%zu]", i);
		if (it->type != YAML_MAPPING_NODE) {
			arb__doc_err(d, it, prefix,
			    "each peer is a mapping {name: NODE, url: "
			    "tcp://HOST:PORT}, not %s",
			    arb__doc_kind(it));
			continue;
		}
		arb__doc_map_check(d, it, prefix, peer_keys);
		v[cfg->npeers].name = v[cfg->npeers].url = NULL;
		if ((x = arb__doc_get(d, it, "name", NULL)) == NULL) {
			arb__doc_err(d, it,
			    arb__arena_printf(d->arena, "%s.name", prefix),
			    "missing: the peer's node name (its node.name)");
		} else if (arb__doc_string(d, x,
		               arb__arena_printf(d->arena, "%s.name", prefix),
		               &s)) {
			if (!arb__loader_name_ok(s)) {
				arb__doc_err(d, x,
				    arb__arena_printf(
				        d->arena, "%s.name", prefix),
				    "\"%s\": 1 to 63 characters from A-Z a-z "
				    "0-9 _ . -",
				    s);
			} else if (strcmp(s, cfg->name) == 0) {
				arb__doc_err(d, x,
				    arb__arena_printf(
				        d->arena, "%s.name", prefix),
				    "\"%s\" is this node's own name "
				    "(node.name)",
				    s);
			} else {
				for (j = 0; j < cfg->npeers; j++) {
					if (v[j].name != NULL
					    && strcmp(v[j].name, s) == 0) {
						break;
					}
				}
				if (j < cfg->npeers) {
					arb__doc_err(d, x,
					    arb__arena_printf(
					        d->arena, "%s.name", prefix),
					    "duplicate peer \"%s\" (also at "
					    "line %d)",
					    s, arb__doc_line(at[j]));
				} else {
					v[cfg->npeers].name = s;
				}
			}
		}
		if ((x = arb__doc_get(d, it, "url", NULL)) == NULL) {
			arb__doc_err(d, it,
			    arb__arena_printf(d->arena, "%s.url", prefix),
			    "missing: where the peer listens (url: "
			    "tcp://HOST:PORT)");
		} else if (arb__doc_string(d, x,
		               arb__arena_printf(d->arena, "%s.url", prefix),
		               &s)) {
			if (!url_parse(s, false, host, sizeof(host), &port,
			        &tls, why, sizeof(why))) {
				arb__doc_err(d, x,
				    arb__arena_printf(
				        d->arena, "%s.url", prefix),
				    "%s", why);
			} else if ((j = url_taken(
			                ld, v, cfg->npeers, host, port))
			    == cfg->npeers) {
				arb__doc_err(d, x,
				    arb__arena_printf(
				        d->arena, "%s.url", prefix),
				    "\"%s\" is this node's own listener "
				    "(node.listen): a node does not dial "
				    "itself",
				    s);
			} else if (j != SIZE_MAX) {
				arb__doc_err(d, x,
				    arb__arena_printf(
				        d->arena, "%s.url", prefix),
				    "\"%s\": peer \"%s\" (line %d) listens "
				    "there already; one address is one node",
				    s, v[j].name != NULL ? v[j].name : "?",
				    arb__doc_line(at[j]));
			} else {
				v[cfg->npeers].url = s;
			}
		}
		at[cfg->npeers] = it;
		cfg->npeers++;
	}
	cfg->peers = v;
}

static void
load_tls(loader *ld, yaml_node_t *map)
{
	arb__doc    *d = &ld->d;
	yaml_node_t *x;
	const char  *s;
	static const char *const fields[] = { "node.tls.cert", "node.tls.key",
		"node.tls.ca" };
	const char **out[] = { &ld->cfg->tls_cert, &ld->cfg->tls_key,
		&ld->cfg->tls_ca };
	char         why[PATH_MAX + 128];
	size_t       i;

	if (!arb__doc_map_check(d, map, "node.tls", tls_keys)) {
		return;
	}
	for (i = 0; i < 3; i++) {
		if ((x = arb__doc_get(d, map, tls_keys[i], NULL)) == NULL) {
			arb__doc_err(d, map, fields[i],
			    "missing: node.tls needs cert, key and ca (PEM "
			    "files: this node's certificate, its private key, "
			    "and the CA that signs every node's)");
			continue;
		}
		if (!arb__doc_string(d, x, fields[i], &s)) {
			continue;
		}
		s = arb__loader_resolve(ld, s);
		if (pem_problem(s, i == 1, why, sizeof(why))) {
			arb__doc_err(d, x, fields[i], "%s", why);
			continue;
		}
		*out[i] = s;
	}
}

static void
load_heartbeat(loader *ld, yaml_node_t *map)
{
	arb__doc    *d = &ld->d;
	yaml_node_t *x;
	long long    n;

	if (!arb__doc_map_check(d, map, "node.heartbeat", heartbeat_keys)) {
		return;
	}
	if ((x = arb__doc_get(d, map, "interval", NULL)) != NULL) {
		arb__doc_duration(d, x, "node.heartbeat.interval", HB_MIN_MS,
		    HB_MAX_MS, NULL, &ld->cfg->heartbeat_ms);
	}
	if ((x = arb__doc_get(d, map, "misses", NULL)) != NULL
	    && arb__doc_int(
	        d, x, "node.heartbeat.misses", 1, HB_MISSES_MAX, &n)) {
		ld->cfg->heartbeat_misses = (int) n;
	}
}

// check_auth: every plain tcp:// endpoint needs the cookie (node.cookie,
// else the default file) as auth.c would load it, unless insecure; every
// tls+tcp:// one needs node.tls, whose files make a TLS configuration
// (and node.tls with no tls+tcp:// endpoint is an error).  plain / plain_at:
// the first plain endpoint's value node (NULL: none); tls_at likewise.
static void
check_auth(loader *ld, yaml_node_t *node, yaml_node_t *plain_at,
    yaml_node_t *tls_at)
{
	arb__doc    *d = &ld->d;
	arb_tree    *cfg = ld->cfg;
	yaml_node_t *ck_at = arb__doc_get(d, node, "cookie", NULL);
	yaml_node_t *ins_at = arb__doc_get(d, node, "insecure", NULL);
	yaml_node_t *tls_map = arb__doc_get(d, node, "tls", NULL);
	arb__cookie  ck;
	char         path[PATH_MAX], why[PATH_MAX + 256];

	if (cfg->insecure && ck_at != NULL) {
		arb__doc_err(d, ins_at, "node.insecure",
		    "insecure: true and a cookie (node.cookie, line %d): "
		    "links either prove the cookie or do not; remove one",
		    arb__doc_line(ck_at));
		return;
	}
	if (tls_at != NULL && (tls_map = arb__doc_get(d, node, "tls", NULL))
	    == NULL) {
		arb__doc_err(d, tls_at, "node.tls",
		    "missing: a tls+tcp:// endpoint needs node.tls {cert, "
		    "key, ca}");
	} else if (tls_at == NULL && tls_map != NULL) {
		arb__doc_err(d, tls_map, "node.tls",
		    "no tls+tcp:// listener or peer uses it");
	} else if (tls_at != NULL && cfg->tls_cert != NULL
	    && cfg->tls_key != NULL && cfg->tls_ca != NULL) {
		// As the node will load them: the key must match the
		// certificate, and nng must take all three.
		arb__tls_files f
		    = { cfg->tls_cert, cfg->tls_key, cfg->tls_ca };
		struct nng_tls_config *t;

		if (arb__tls_config(&t, &f, NULL, why, sizeof(why))
		    != ARB_OK) {
			arb__doc_err(d, tls_map, "node.tls", "%s", why);
		}
		arb__tls_free(t);
	}
	if (cfg->insecure) {
		return; // the user said so, in so many words
	}
	if (cfg->cookie != NULL) {
		if (arb__cookie_load(&ck, cfg->cookie, why, sizeof(why))
		    != ARB_OK) {
			arb__doc_err(d, ck_at, "node.cookie", "%s", why);
			cfg->cookie = NULL;
		}
		arb__cookie_clear(&ck);
		return;
	}
	if (plain_at == NULL) {
		return; // TLS only: its certificates authenticate
	}
	if (!cookie_default(path, sizeof(path))) {
		arb__doc_err(d, plain_at, "node.cookie",
		    "tcp:// links must authenticate, and there is no home "
		    "directory for the default cookie file: set node.cookie, "
		    "use tls+tcp:// with node.tls, or write node.insecure: "
		    "true");
		return;
	}
	if (arb__cookie_load(&ck, path, why, sizeof(why)) != ARB_OK) {
		arb__doc_err(d, plain_at, "node.cookie",
		    "tcp:// links must authenticate: the default %s (set "
		    "node.cookie, use tls+tcp:// with node.tls, or write "
		    "node.insecure: true)",
		    why);
	} else {
		cfg->cookie = arb__arena_strdup(d->arena, path);
	}
	arb__cookie_clear(&ck);
}

void
arb__loader_links(loader *ld, yaml_node_t *node)
{
	arb__doc    *d = &ld->d;
	arb_tree    *cfg = ld->cfg;
	yaml_node_t *x, *plain_at = NULL, *tls_at = NULL;
	yaml_node_t *key;
	const char  *s;
	char         host[256], why[512];
	size_t       i;
	int          port;
	bool         tls;
	static const char *const need_links[]
	    = { "cookie", "insecure", "tls", "heartbeat", "orphan_grace",
		  "watch_max", "max_unproven", NULL };

	if ((x = arb__doc_get(d, node, "listen", NULL)) != NULL
	    && arb__doc_string(d, x, "node.listen", &s)) {
		if (!url_parse(s, true, host, sizeof(host), &port, &tls, why,
		        sizeof(why))) {
			arb__doc_err(d, x, "node.listen", "%s", why);
		} else if (bind_problem(host, port, why, sizeof(why))) {
			arb__doc_err(d, x, "node.listen", "%s", why);
		} else if (http_clash(cfg, host, port)) {
			arb__doc_err(d, x, "node.listen",
			    "\"%s\": node.http (line %d) serves on %s:%d "
			    "already; give each its own port",
			    s,
			    arb__doc_line(arb__doc_get(d, node, "http", NULL)),
			    cfg->http_host, port);
		} else {
			cfg->listen = s;
			*(tls ? &tls_at : &plain_at) = x;
		}
	}
	if ((x = arb__doc_get(d, node, "peers", &key)) != NULL) {
		load_peers(ld, x);
		if (arb__doc_get(d, node, "listen", NULL) == NULL) {
			// A pair of nodes is one link of two streams, each
			// dialled by the node that sends on it: a peer could
			// never send here, nor answer a call
			// (docs/multinode.md, "Links between nodes").
			arb__doc_err(d, key, "node.peers",
			    "needs node.listen: each peer dials this node "
			    "back to send to it (its replies too), and a node "
			    "without a listener can never be reached");
		}
	}
	for (i = 0; i < cfg->npeers; i++) {
		if (cfg->peers[i].url == NULL) {
			continue;
		}
		tls = strncmp(cfg->peers[i].url, "tls+", 4) == 0;
		if (tls ? tls_at == NULL : plain_at == NULL) {
			yaml_node_t *it = arb__doc_item(d, x, i);
			*(tls ? &tls_at : &plain_at)
			    = arb__doc_get(d, it, "url", NULL);
		}
	}
	if ((x = arb__doc_get(d, node, "cookie", NULL)) != NULL
	    && arb__doc_string(d, x, "node.cookie", &s)) {
		cfg->cookie = arb__loader_resolve(ld, s);
	}
	if ((x = arb__doc_get(d, node, "insecure", NULL)) != NULL) {
		arb__doc_bool(d, x, "node.insecure", &cfg->insecure);
	}
	if ((x = arb__doc_get(d, node, "tls", NULL)) != NULL) {
		load_tls(ld, x);
	}
	if ((x = arb__doc_get(d, node, "heartbeat", NULL)) != NULL) {
		load_heartbeat(ld, x);
	}
	if ((x = arb__doc_get(d, node, "orphan_grace", NULL)) != NULL) {
		// Remote children (docs/supervision.md): how long a child
		// whose supervisor's node is lost runs on here.
		arb__doc_duration(d, x, "node.orphan_grace", 10, 86400000,
		    NULL, &cfg->orphan_grace_ms);
	}
	if ((x = arb__doc_get(d, node, "watch_max", NULL)) != NULL) {
		// Monitors and links across nodes (docs/multinode.md): the
		// watches one peer may hold here (arb_node_opts.watch_max).
		long long n;

		if (arb__doc_int(d, x, "node.watch_max", 1, 1000000, &n)) {
			cfg->watch_max = (int) n;
		}
	}
	if ((x = arb__doc_get(d, node, "max_unproven", NULL)) != NULL) {
		// The listener's bound on connections that have yet to
		// prove themselves (docs/multinode.md, "Bad input from
		// peers"; arb_node_opts.max_unproven).
		long long n;

		if (arb__doc_int(d, x, "node.max_unproven", 1, 65536, &n)) {
			cfg->max_unproven = (int) n;
		}
	}
	if (arb__doc_get(d, node, "listen", NULL) == NULL
	    && arb__doc_get(d, node, "peers", NULL) == NULL) {
		// Settings no link would use are a mistake, not a no-op.
		for (i = 0; need_links[i] != NULL; i++) {
			if (arb__doc_get(d, node, need_links[i], &key)
			    != NULL) {
				arb__doc_err(d, key,
				    arb__arena_printf(
				        d->arena, "node.%s", need_links[i]),
				    "no node links use it (node.listen or "
				    "node.peers)");
			}
		}
		return;
	}
	check_auth(ld, node, plain_at, tls_at);
}
