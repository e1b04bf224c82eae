// SPDX-License-Identifier: MIT
// crc32c.h -- CRC-32C (crc32c.c), under the on-disk formats (record.h
// includes it).  Thread: any.

#ifndef ARBOR_STORE_CRC32C_H
#define ARBOR_STORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store's CRC code assumes a little-endian host"
#endif

// slog__crc32c extends crc (0 to start) over n bytes at p.
uint32_t slog__crc32c(uint32_t crc, const void *p, size_t n);
// slog__crc32c_sw is the table version (tests compare the two).
uint32_t slog__crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif // ARBOR_STORE_CRC32C_H
