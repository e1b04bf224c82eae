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
#include <stdio.h>
#include <string.h>

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
