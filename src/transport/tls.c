// SPDX-License-Identifier: MIT
// tls.c -- the TLS of node links (docs/multinode.md, "TLS"): an
// nng_tls_config made from three PEM files -- this node's certificate,
// its private key and the CA that signs every node's -- for nng's
// tls+tcp:// streams, which run the handshake and the record layer
// (mbedTLS in Debian's libnng: no new library; its X.509 and key parsers
// check the files first, so that a problem is named before a handshake
// fails on it).  Both directions
// authenticate: a listener requires the dialer's certificate, signed by
// the CA; a dialer requires the listener's, signed by the CA and naming
// the node it dials (its CN or a DNS subjectAltName is that node's name),
// so a certificate stolen from one node cannot answer for another.
// Behind this one file.  Thread: any.

#include "link.h"

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PEM_MAX (1024 * 1024) // a PEM file larger than this is refused

// pem_read: the whole file, NUL-terminated (nng wants C strings), or NULL
// with why in err.
static char *
pem_read(const char *what, const char *path, char *err, size_t errlen)
{
	FILE  *f;
	char  *buf;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "tls %s %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = arb__alloc(PEM_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "tls %s %s: out of memory", what, path);
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	if (ferror(f) || n == 0 || n > PEM_MAX) {
		snprintf(err, errlen, "tls %s %s: %s", what, path,
		    ferror(f) ? "cannot be read"
		    : n == 0  ? "is empty"
		              : "is larger than 1 MiB");
		fclose(f);
		arb__free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
pem_free(char *pem)
{
	if (pem != NULL) {
		memset(pem, 0, strlen(pem)); // the key's bytes, at least
		arb__free(pem);
	}
}

// The validity of the certificates last loaded (this node's and its CA's
// first), in seconds since the epoch (UTC): arb__tls_validity names the
// one that is out of it now.  nng 1.5.2 gives neither side of a failed
// handshake mbedTLS's verify flags (NNG_ECRYPTO is all it says), so this
// is what a node can tell of an expiry: its own.
static _Atomic int64_t own_from, own_to, ca_from, ca_to;

// x509_secs: an X.509 time as seconds since the epoch (UTC).
static int64_t
x509_secs(const mbedtls_x509_time *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return (int64_t) timegm(&tm);
}

// validity_say writes, when now is outside [from, to], what of `what` is
// wrong into buf; false (buf untouched) when it is valid.
static bool
validity_say(const char *what, int64_t from, int64_t to, int64_t now,
    char *buf, size_t len)
{
	time_t    t;
	struct tm tm;
	char      when[32];

	if (from == 0 && to == 0) {
		return false; // none loaded
	}
	if (now >= from && now <= to) {
		return false;
	}
	t = (time_t) (now > to ? to : from);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len,
	    now > to ? "%s expired at %s"
	             : "%s is not valid before %s (is this machine's clock "
	               "right?)",
	    what, when);
	return true;
}

bool
arb__tls_validity(char *buf, size_t len)
{
	int64_t now = (int64_t) time(NULL);

	return validity_say("our certificate", atomic_load(&own_from),
	           atomic_load(&own_to), now, buf, len)
	    || validity_say("our CA's certificate", atomic_load(&ca_from),
	        atomic_load(&ca_to), now, buf, len);
}

// pem_check parses the files as nng's mbedTLS will, and checks that the
// key is the certificate's: false with a sentence naming the file.
static bool
pem_check(const arb__tls_files *files, const char *cert, const char *key,
    const char *ca, char *err, size_t errlen)
{
	mbedtls_x509_crt crt, cas;
	mbedtls_pk_context pk;
	bool ok = false;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&cas);
	mbedtls_pk_init(&pk);
	if (mbedtls_x509_crt_parse(&crt, (const unsigned char *) cert,
	        strlen(cert) + 1)
	    != 0) {
		snprintf(err, errlen, "tls cert %s: not a certificate (PEM)",
		    files->cert);
	} else if (mbedtls_pk_parse_key(&pk, (const unsigned char *) key,
	               strlen(key) + 1, NULL, 0)
	    != 0) {
		snprintf(err, errlen,
		    "tls key %s: not an unencrypted private key (PEM)",
		    files->key);
	} else if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
		snprintf(err, errlen,
		    "tls key %s is not the key of the certificate %s",
		    files->key, files->cert);
	} else if (mbedtls_x509_crt_parse(&cas, (const unsigned char *) ca,
	               strlen(ca) + 1)
	    != 0) {
		snprintf(err, errlen, "tls ca %s: not a certificate (PEM)",
		    files->ca);
	} else {
		ok = true;
		atomic_store(&own_from, x509_secs(&crt.valid_from));
		atomic_store(&own_to, x509_secs(&crt.valid_to));
		atomic_store(&ca_from, x509_secs(&cas.valid_from));
		atomic_store(&ca_to, x509_secs(&cas.valid_to));
	}
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&cas);
	mbedtls_x509_crt_free(&crt);
	return ok;
}

int
arb__tls_config(nng_tls_config **out, const arb__tls_files *files,
    const char *server_name, char *err, size_t errlen)
{
	nng_tls_config *cfg = NULL;
	char           *cert = NULL, *key = NULL, *ca = NULL;
	const char     *step = "";
	int             rv;

	*out = NULL;
	if ((cert = pem_read("cert", files->cert, err, errlen)) == NULL
	    || (key = pem_read("key", files->key, err, errlen)) == NULL
	    || (ca = pem_read("ca", files->ca, err, errlen)) == NULL) {
		rv = ARB_EINVAL;
		goto done;
	}
	if (!pem_check(files, cert, key, ca, err, errlen)) {
		rv = ARB_EINVAL;
		goto done;
	}
	if ((rv = nng_tls_config_alloc(&cfg,
	         server_name == NULL ? NNG_TLS_MODE_SERVER
	                             : NNG_TLS_MODE_CLIENT))
	    != 0) {
		snprintf(err, errlen, "tls: %s", nng_strerror(rv));
		rv = arb__err_from_nng(rv);
		goto done;
	}
	if ((rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3)) != 0
	    && (rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_2))
	        != 0) {
		step = "version";
	} else if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
		step = "cert and key";
	} else if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
		step = "ca";
	} else if ((rv = nng_tls_config_auth_mode(
	                cfg, NNG_TLS_AUTH_MODE_REQUIRED))
	    != 0) {
		step = "auth mode";
	} else if (server_name != NULL
	    && (rv = nng_tls_config_server_name(cfg, server_name)) != 0) {
		step = "server name";
	}
	if (rv != 0) {
		snprintf(err, errlen, "tls %s (%s, %s, %s): %s", step,
		    files->cert, files->key, files->ca, nng_strerror(rv));
		nng_tls_config_free(cfg);
		cfg = NULL;
		rv = ARB_EINVAL;
		goto done;
	}
	*out = cfg;
done:
	pem_free(cert);
	pem_free(key);
	pem_free(ca);
	return rv;
}

void
arb__tls_free(nng_tls_config *cfg)
{
	if (cfg != NULL) {
		nng_tls_config_free(cfg);
	}
}
