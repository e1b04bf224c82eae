// SPDX-License-Identifier: MIT
// mp.h -- building serial configs as msgpack in the serial tests (a YAML
// `config:` mapping reaches the actor as one msgpack map).

#ifndef ARBOR_SERIAL_TEST_MP_H
#define ARBOR_SERIAL_TEST_MP_H

#include <msgpack.h>
#include <string.h>

typedef struct mp {
	msgpack_sbuffer sb;
	msgpack_packer  pk;
} mp;

// mp_begin starts a value in m (free it with msgpack_sbuffer_destroy).
static inline msgpack_packer *
mp_begin(mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
	return &m->pk;
}

static inline void
mp_str(msgpack_packer *pk, const char *v)
{
	msgpack_pack_str_with_body(pk, v, strlen(v));
}

// mp_kstr and mp_kint pack one key and its value.
static inline void
mp_kstr(msgpack_packer *pk, const char *k, const char *v)
{
	mp_str(pk, k);
	mp_str(pk, v);
}

static inline void
mp_kint(msgpack_packer *pk, const char *k, long long v)
{
	mp_str(pk, k);
	msgpack_pack_long_long(pk, v);
}

#endif // ARBOR_SERIAL_TEST_MP_H
