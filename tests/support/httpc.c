// SPDX-License-Identifier: MIT
// httpc.c -- the minimal HTTP client of the tests (httpc.h).

#include "arb_test.h"
#include "httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
arb_test_free_port(void)
{
	struct sockaddr_in sin = { 0 };
	socklen_t          len = sizeof(sin);
	int                fd, p;

	assert_true(
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
	p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

void
arb_test_http(int port, const char *method, const char *path, const char *host,
    int timeout_ms, arb_test_http_resp *r)
{
	struct sockaddr_in sin = { 0 };
	char               req[512], *buf = NULL, *sep;
	size_t             len = 0, cap = 0;
	int64_t            deadline = arb_test_now_ms() + timeout_ms;
	int                fd, n;

	memset(r, 0, sizeof(*r));
	assert_true(
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
		fail_msg("connect 127.0.0.1:%d: %s", port, strerror(errno));
	}
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\n\r\n",
	    method, path, host);
	assert_int_equal(write(fd, req, (size_t) n), n);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t       left = deadline - arb_test_now_ms();

		if (left <= 0) {
			fail_msg(
			    "%s %s: no complete answer in time", method, path);
		}
		if (poll(&pfd, 1, (int) left) <= 0) {
			continue;
		}
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			assert_non_null(buf = realloc(buf, cap));
		}
		n = (int) read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		assert_true(n >= 0);
		if (n == 0) {
			break;
		}
		len += (size_t) n;
	}
	close(fd);
	assert_non_null(buf);
	buf[len] = '\0';
	assert_non_null(sep = strstr(buf, "\r\n\r\n"));
	snprintf(r->head, sizeof(r->head), "%.*s", (int) (sep - buf), buf);
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
	r->len = len - (size_t) (sep + 4 - buf);
	memmove(buf, sep + 4, r->len + 1);
	r->body = buf;
}
