// SPDX-License-Identifier: MIT
// paths.c -- the default control socket path (paths.h).  Compiled into
// the library's operator layer and into `arborctl`: one definition, so a
// node and its control tool can't disagree about where the socket is.
// No state.
// Thread: any.

#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
arb__control_default(const char *name, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int         n;

	if (xdg != NULL && xdg[0] == '/' && stat(xdg, &st) == 0
	    && S_ISDIR(st.st_mode)) {
		n = snprintf(buf, len, "%s/arbor/%s.sock", xdg, name);
	} else {
		n = snprintf(buf, len, "/tmp/arbor-%u/%s.sock",
		    (unsigned) geteuid(), name);
	}
	if (n < 0 || (size_t) n >= len || n >= ARB__SOCK_PATH_MAX) {
		return -1;
	}
	return 0;
}
