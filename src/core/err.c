// SPDX-License-Identifier: MIT
// err.c -- error codes: names and texts generated from ARB_ERRNO_MAP.
//
// Thread: any.  The returned strings are static.

#include "arb_impl.h"

#include <errno.h>
#include <string.h>

const char *
arb_strerror(int err)
{
	static _Thread_local char sysbuf[128];

	if (err == 0) {
		return "no error";
	}
	// Negative values are no code at all (they would carry the flag).
	if (err > 0 && (err & ARB_ESYSERR) != 0) {
		int e = err & ~ARB_ESYSERR;
		// strerror_r (GNU) may return a static string or fill sysbuf.
		const char *s = strerror_r(e, sysbuf, sizeof(sysbuf));
		return s;
	}
	switch (err) {
#define ARB__XX(name, val, text)                                              \
	case ARB_##name:                                                      \
		return text;
		ARB_ERRNO_MAP(ARB__XX)
#undef ARB__XX
	default:
		return "unknown error";
	}
}

const char *
arb_err_name(int err)
{
	if (err == 0) {
		return "ARB_OK";
	}
	if (err > 0 && (err & ARB_ESYSERR) != 0) {
		return "ARB_ESYSERR";
	}
	switch (err) {
#define ARB__XX(name, val, text)                                              \
	case ARB_##name:                                                      \
		return "ARB_" #name;
		ARB_ERRNO_MAP(ARB__XX)
#undef ARB__XX
	default:
		return "ARB_E?";
	}
}

int
arb__err_from_errno(int e)
{
	switch (e) {
	case 0:
		return ARB_OK;
	case ENOMEM:
		return ARB_ENOMEM;
	case EINVAL:
		return ARB_EINVAL;
	case EAGAIN:
		return ARB_EAGAIN;
	case ENOENT:
	case ESRCH:
		return ARB_ENOENT;
	case ETIMEDOUT:
		return ARB_ETIMEDOUT;
	case EEXIST:
		return ARB_EEXIST;
	case EPERM:
	case EACCES:
		return ARB_EPERM;
	case EMSGSIZE:
		return ARB_EMSGSIZE;
	case ECANCELED:
		return ARB_ECANCELED;
	default:
		return ARB_ESYSERR | e;
	}
}

const char *
arb_version(void)
{
#define ARB__STR2(x) #x
#define ARB__STR(x)  ARB__STR2(x)
	return ARB__STR(ARB_VERSION_MAJOR) "." ARB__STR(
	    ARB_VERSION_MINOR) "." ARB__STR(ARB_VERSION_PATCH);
}
