// SPDX-License-Identifier: MIT
// render.h -- message bodies as text, for the log lines of the
// diagnostic actor types (echo, ticker).

#ifndef ARBOR_TOOL_RENDER_H
#define ARBOR_TOOL_RENDER_H

#include <stddef.h>

// diag_render writes a message body for a log line: "-" when empty, a
// quoted string for a msgpack string, else a compact rendering of the
// value (maps, arrays, numbers), truncated with "..." to fit.
void diag_render(const void *body, size_t len, char *out, size_t outlen);

#endif // ARBOR_TOOL_RENDER_H
