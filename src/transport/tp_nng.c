// SPDX-License-Identifier: MIT
// tp_nng.c -- what both sides of a link share from nng (link.h): the
// translation of nng's errors (the one place NNG_E* is translated),
// starting nng's threads, and the link configuration's defaults.
//
// Threads: any; nothing here keeps state.

#include "tp_int.h"

#include <string.h>

int
arb__err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return ARB_OK;
	case NNG_ENOMEM:
		return ARB_ENOMEM;
	case NNG_EAGAIN:
		return ARB_EAGAIN;
	case NNG_ETIMEDOUT:
		return ARB_ETIMEDOUT;
	case NNG_ECLOSED:
		return ARB_ECLOSED;
	case NNG_ECANCELED:
		return ARB_ECANCELED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return ARB_EINVAL;
	case NNG_EMSGSIZE:
		return ARB_EMSGSIZE;
	case NNG_ENOENT:
	case NNG_ECONNREFUSED:
		return ARB_ENOENT;
	case NNG_EPERM:
		return ARB_EPERM;
	case NNG_EADDRINUSE:
		return ARB_EEXIST;
	case NNG_ENOTSUP:
		return ARB_ENOTSUP;
	default:
		if (rv & NNG_ESYSERR) {
			return ARB_ESYSERR | (rv & ~NNG_ESYSERR);
		}
		return ARB_EINVAL;
	}
}

void
arb__stream_warm(void)
{
	nng_aio *aio;

	// nng starts its threads with its first aio.
	if (nng_aio_alloc(&aio, NULL, NULL) == 0) {
		nng_aio_free(aio);
	}
}

void
arb__link_cfg_defaults(arb__link_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->self.version = ARB__LINK_VERSION;
	cfg->self.role = ARB__ROLE_PEER;
	cfg->max_frame = ARB__FR_DATA_HDR + 2u * 1024u * 1024u;
	cfg->hello_ms = 5000;
	cfg->ack_delay_ms = 5;
	// A peer process restarts in about a millisecond: the first redial
	// comes within 2 ms, then full-jitter doubling up to 100 ms.
	cfg->backoff_min_ms = 2;
	cfg->backoff_max_ms = 100;
}
