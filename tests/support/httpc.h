// SPDX-License-Identifier: MIT
// httpc.h -- a minimal HTTP/1.0 client over a plain socket, and a free
// loopback port, for the tests of a node's HTTP endpoint (66_http,
// 69_embed).  Every wait is bounded.  Thread: the test's.

#ifndef ARB_TEST_HTTPC_H
#define ARB_TEST_HTTPC_H

#include <stddef.h>

typedef struct arb_test_http_resp {
	int    status;
	char   head[4096]; // status line and headers
	char  *body;       // NUL-terminated; free() it
	size_t len;
} arb_test_http_resp;

// arb_test_free_port asks the kernel for a free loopback port (another
// process may take it before the caller binds it: retry then).
int arb_test_free_port(void);

// arb_test_http performs one request to 127.0.0.1:port (HTTP/1.0: the
// server closes after the answer) with the Host header host, within
// timeout_ms, and fills r.  A failure fails the test.
void arb_test_http(int port, const char *method, const char *path,
    const char *host, int timeout_ms, arb_test_http_resp *r);

#endif // ARB_TEST_HTTPC_H
