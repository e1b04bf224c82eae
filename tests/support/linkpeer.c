// SPDX-License-Identifier: MIT
// linkpeer.c -- a raw peer of arbor's link protocol (see linkpeer.h).

#include "linkpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t
lp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
lp_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

void
lp_be64(uint8_t *p, uint64_t v)
{
	lp_be32(p, (uint32_t) (v >> 32));
	lp_be32(p + 4, (uint32_t) v);
}

uint32_t
lp_get32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | p[3];
}

uint64_t
lp_get64(const uint8_t *p)
{
	return ((uint64_t) lp_get32(p) << 32) | lp_get32(p + 4);
}

static const char *
lp_field(const char *line, const char *key, char *out, size_t n)
{
	const char *s = strstr(line, key);
	size_t      k;

	if (s == NULL) {
		return NULL;
	}
	s += strlen(key);
	k = strcspn(s, " \n");
	if (k >= n) {
		return NULL;
	}
	memcpy(out, s, k);
	out[k] = '\0';
	return out;
}

int
lp_parse_start(lp_node *n, const char *line)
{
	char v[64];

	memset(n, 0, sizeof(*n));
	if (lp_field(line, " node=", n->name, sizeof(n->name)) == NULL
	    || lp_field(line, " run_dir=", n->run_dir, sizeof(n->run_dir))
	        == NULL
	    || lp_field(line, " node_id=", v, sizeof(v)) == NULL) {
		return -1;
	}
	n->node_id = (uint32_t) strtoul(v, NULL, 10);
	if (lp_field(line, " creation=", v, sizeof(v)) == NULL) {
		return -1;
	}
	n->creation = (uint32_t) strtoul(v, NULL, 10);
	return 0;
}

int
lp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
lp_connect_from(const char *src, int port)
{
	struct sockaddr_in la = { .sin_family = AF_INET };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char        *step;
	int                fd, e;

	if (inet_pton(AF_INET, src, &la.sin_addr) != 1 || port <= 0
	    || port > 65535) {
		fprintf(stderr, "lp_connect_from: bad address %s or port %d\n",
		    src, port);
		return -1;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t) port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		step = "socket";
	} else if (bind(fd, (struct sockaddr *) &la, sizeof(la)) != 0) {
		step = "bind";
	} else if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		step = "connect";
	} else {
		return fd;
	}
	e = errno;
	if (fd >= 0) {
		close(fd);
	}
	fprintf(stderr, "lp_connect_from %s to 127.0.0.1:%d: %s: %s\n", src,
	    port, step, strerror(e));
	return -1;
}

bool
lp_write(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

// docs/wire.md, "HELLO": header (length, type 1, flags, zero), magic,
// version, role, max_frame, node id, creation, sender, resume, name,
// authentication (none).
size_t
lp_hello(uint8_t *b, const lp_node *n, uint16_t role)
{
	size_t nl = strlen(n->name), k = 0;

	k += 4;     // length, below
	b[k++] = 1; // HELLO
	b[k++] = 0;
	b[k++] = 0;
	b[k++] = 0;
	memcpy(b + k, "ARBL", 4);
	k += 4;
	b[k++] = 0;
	b[k++] = 4; // protocol version 4
	b[k++] = (uint8_t) (role >> 8);
	b[k++] = (uint8_t) role;
	lp_be32(b + k, 1u << 20); // max_frame
	k += 4;
	lp_be32(b + k, n->node_id);
	k += 4;
	lp_be32(b + k, n->creation);
	k += 4;
	lp_be64(b + k, 0x8000000000000000ull); // a made-up process pid
	k += 8;
	lp_be64(b + k, 0); // resume
	k += 8;
	b[k++] = (uint8_t) nl;
	memcpy(b + k, n->name, nl);
	k += nl;
	b[k++] = 0; // no authentication
	b[k++] = 0;
	lp_be32(b, (uint32_t) k);
	return k;
}

void
lp_data_hdr(uint8_t *b, uint32_t dst, uint32_t nenv, uint64_t seq,
    uint64_t env0, size_t len)
{
	lp_be32(b, (uint32_t) (LP_DATA_HDR + len));
	b[4] = 2; // DATA
	b[5] = 0;
	b[6] = 0;
	b[7] = 0;
	lp_be32(b + 8, dst);
	lp_be32(b + 12, nenv);
	lp_be64(b + 16, seq);
	lp_be64(b + 24, env0);
}

bool
lp_send_data(int fd, uint32_t dst, uint32_t nenv, uint64_t seq, uint64_t env0,
    const void *p, size_t len)
{
	uint8_t h[LP_DATA_HDR];

	lp_data_hdr(h, dst, nenv, seq, env0, len);
	return lp_write(fd, h, sizeof(h))
	    && (len == 0 || lp_write(fd, p, len));
}

// lp_read_n reads exactly n bytes before the deadline.
static int
lp_read_n(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t       left = deadline - lp_now_ms();
		ssize_t       r;

		if (left <= 0 || poll(&pfd, 1, (int) left) != 1) {
			return -1;
		}
		if ((r = read(fd, p, n)) == 0) {
			return 0;
		}
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			return errno == ECONNRESET ? 0 : -1;
		}
		p += r;
		n -= (size_t) r;
	}
	return 1;
}

long
lp_read_frame(int fd, uint8_t *buf, size_t len, int ms)
{
	int64_t  dl = lp_now_ms() + ms;
	uint32_t fl;
	int      r;

	if (len < 8) {
		return -1;
	}
	if ((r = lp_read_n(fd, buf, 8, dl)) <= 0) {
		return r == 0 ? 0 : -1;
	}
	fl = lp_get32(buf);
	if (fl < 8 || fl > len) {
		return -1;
	}
	if ((r = lp_read_n(fd, buf + 8, fl - 8, dl)) <= 0) {
		return r == 0 ? 0 : -1;
	}
	return (long) fl;
}

bool
lp_wait_eof(int fd, int ms)
{
	int64_t dl = lp_now_ms() + ms;
	uint8_t b[4096];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t       left = dl - lp_now_ms();
		ssize_t       r;

		if (left <= 0 || poll(&pfd, 1, (int) left) != 1) {
			return false;
		}
		r = read(fd, b, sizeof(b));
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			return true;
		}
		if (r < 0 && errno != EINTR) {
			return false;
		}
	}
}
