// SPDX-License-Identifier: MIT
// fuzz_msgs.c -- the message half of the store's fuzz target (called by
// fuzz_scan.c's LLVMFuzzerTestOneInput): any bytes as a message body.
// store_msg_valid must hold msgpack-c to allocations bounded by the
// body: a body it accepts never makes the unpacker run out of memory,
// and unpacks as exactly one value; every reader copes with any body.
// Thread: one.

#include "store_msgs.h"

#include <msgpack.h>
#include <stdlib.h>

void fuzz_msgs(const uint8_t *data, size_t size);

void
fuzz_msgs(const uint8_t *data, size_t size)
{
	store_run        runs[64];
	store_record     recs[64];
	char             gw[STORE_GATEWAY_MAX + 1], cause[32];
	uint64_t         id, a, b;
	int              code, retry;
	size_t           n, off = 0;
	msgpack_unpacked u;

	if (store_msg_valid(data, size)) {
		msgpack_unpack_return r;
		msgpack_unpacked_init(&u);
		r = msgpack_unpack_next(&u, (const char *) data, size, &off);
		// Too deep a nesting is msgpack-c's parse error; running out
		// of memory on a checked body would be a hole in the check.
		if (r == MSGPACK_UNPACK_NOMEM_ERROR
		    || (r == MSGPACK_UNPACK_SUCCESS && off != size)) {
			abort();
		}
		msgpack_unpacked_destroy(&u);
	}
	store_msg_appended_read(data, size, &id, runs, 64, &n);
	store_msg_refused_read(data, size, &id, &code, &retry, cause,
	    sizeof(cause));
	store_msg_subscribed_read(data, size, &id, gw, &a, &b);
	store_msg_records_read(data, size, &id, gw, recs, 64, &n);
	// The store's side: what the actor reads from any sender.
	{
		store_reading *r = NULL;
		uint64_t      *pos = NULL;
		size_t         bad;

		if (store_msg_append_read(data, size, &a, &id, &r, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (r[i].len > size) {
					abort();
				}
			}
		}
		free(r);
		if (store_msg_ack_read(data, size, &id, &pos, &n, &bad) == 0
		    && n + bad + 1 > size) {
			abort();
		}
		free(pos);
		store_msg_subscribe_read(data, size, &a, &b);
		store_msg_unsubscribe_read(data, size, &id);
	}
}
