// SPDX-License-Identifier: MIT
// json.h -- JSON text to msgpack, for `arborctl send` (message bodies)
// and `arborctl status` (reading the node's tree document).  See json.c.

#ifndef ARBORCTL_JSON_H
#define ARBORCTL_JSON_H

#include <msgpack.h>
#include <stddef.h>

// json_to_msgpack converts one JSON value (RFC 8259, surrounded by
// optional white space) to msgpack, appended to out: objects become maps
// with string keys in their order, arrays arrays, strings UTF-8 strings
// (escapes decoded, \u surrogate pairs joined), integers that fit in 64
// bits integers (negative: int, else uint), other numbers float64, true,
// false and null themselves.  Nesting is limited to 64 levels.  With
// JSON_UTF8 in flags, a string (a key too) whose bytes are not UTF-8
// (RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF) is
// an error that names the offset of the first byte of the bad sequence;
// without it, such bytes are copied as they are.  Returns 0, or -1
// with "offset N: what is wrong" in err (always NUL-terminated when
// errlen > 0); out may then hold part of the value.  Thread: any.
#define JSON_UTF8 0x1
int json_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out,
    int flags, char *err, size_t errlen);

// utf8_invalid_at is the offset in s (n bytes) of the first byte of a
// sequence that is not UTF-8 (the rules of JSON_UTF8), or n when s is
// all UTF-8.  Thread: any.
size_t utf8_invalid_at(const char *s, size_t n);

#endif // ARBORCTL_JSON_H
