// SPDX-License-Identifier: MIT
// cmdfifo.c -- see cmdfifo.h.

#include "cmdfifo.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct arb_test_cmdfifo {
	int              fd;
	struct event    *ev;
	arb_test_line_fn fn;
	void            *arg;
	char             path[512];
	char             buf[1024];
	size_t           len;
};

static void
cmdfifo_readable(evutil_socket_t fd, short what, void *arg)
{
	arb_test_cmdfifo *f = arg;
	ssize_t           n;
	char             *nl;

	(void) what;
	n = read(fd, f->buf + f->len, sizeof(f->buf) - 1 - f->len);
	if (n <= 0) {
		return;
	}
	f->len += (size_t) n;
	f->buf[f->len] = '\0';
	while ((nl = strchr(f->buf, '\n')) != NULL) {
		*nl = '\0';
		f->fn(f->arg, f->buf);
		f->len -= (size_t) (nl + 1 - f->buf);
		memmove(f->buf, nl + 1, f->len + 1);
	}
	if (f->len == sizeof(f->buf) - 1) {
		f->len = 0; // a line that long is garbage
	}
}

int
arb_test_cmdfifo_open(arb_test_cmdfifo **fp, struct event_base *base,
    const char *path, arb_test_line_fn fn, void *arg)
{
	arb_test_cmdfifo *f;
	int               err;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		return ENOMEM;
	}
	f->fn  = fn;
	f->arg = arg;
	snprintf(f->path, sizeof(f->path), "%s", path);
	if (mkfifo(f->path, 0600) != 0 && errno != EEXIST) {
		err = errno;
		free(f);
		return err;
	}
	if ((f->fd = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		err = errno;
		free(f);
		return err;
	}
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, cmdfifo_readable, f);
	if (f->ev == NULL || event_add(f->ev, NULL) != 0) {
		if (f->ev != NULL) {
			event_free(f->ev);
		}
		close(f->fd);
		free(f);
		return ENOMEM;
	}
	*fp = f;
	return 0;
}

void
arb_test_cmdfifo_close(arb_test_cmdfifo *f)
{
	if (f == NULL) {
		return;
	}
	event_free(f->ev);
	close(f->fd);
	unlink(f->path);
	free(f);
}
