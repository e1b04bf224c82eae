// SPDX-License-Identifier: MIT
// crc32c.c -- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
//
// The CPU's crc32 instruction where there is one (x86-64 with SSE4.2,
// chosen at run time; AArch64 built with the CRC extension), else
// slicing-by-8 tables built once.  slog__crc32c(0, "123456789", 9) is
// 0xE3069283.  Thread: any.

#include "crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t       tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void
tab_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++) {
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
		}
		tab[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = tab[0][i];
		for (j = 1; j < 8; j++) {
			c         = tab[0][c & 0xff] ^ (c >> 8);
			tab[j][i] = c;
		}
	}
}

static uint32_t
crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	pthread_once(&tab_once, tab_init);
	while (n > 0 && ((uintptr_t) p & 7) != 0) {
		c = tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		n--;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= c; // little-endian hosts only (see crc32c.h)
		c = tab[7][w & 0xff] ^ tab[6][(w >> 8) & 0xff]
		    ^ tab[5][(w >> 16) & 0xff] ^ tab[4][(w >> 24) & 0xff]
		    ^ tab[3][(w >> 32) & 0xff] ^ tab[2][(w >> 40) & 0xff]
		    ^ tab[1][(w >> 48) & 0xff] ^ tab[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n-- > 0) {
		c = tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	}
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64;

	while (n > 0 && ((uintptr_t) p & 7) != 0) {
		c = __builtin_ia32_crc32qi(c, *p++);
		n--;
	}
	c64 = c;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		n -= 8;
	}
	c = (uint32_t) c64;
	while (n-- > 0) {
		c = __builtin_ia32_crc32qi(c, *p++);
	}
	return c;
}

static int
have_hw(void)
{
	static int have = -1; // benign race: every thread computes the same

	if (__atomic_load_n(&have, __ATOMIC_RELAXED) < 0) {
		__builtin_cpu_init();
		__atomic_store_n(&have,
		    __builtin_cpu_supports("sse4.2") ? 1 : 0,
		    __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&have, __ATOMIC_RELAXED);
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t
crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __crc32cd(c, w);
		p += 8;
		n -= 8;
	}
	while (n-- > 0) {
		c = __crc32cb(c, *p++);
	}
	return c;
}

static int
have_hw(void)
{
	return 1;
}
#else
static uint32_t
crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	return crc_sw(c, p, n);
}

static int
have_hw(void)
{
	return 0;
}
#endif

uint32_t
slog__crc32c(uint32_t crc, const void *p, size_t n)
{
	uint32_t c = ~crc;

	c = have_hw() ? crc_hw(c, p, n) : crc_sw(c, p, n);
	return ~c;
}

uint32_t
slog__crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	return ~crc_sw(~crc, p, n);
}
