// SPDX-License-Identifier: MIT
// segments.c -- the segments: their file names ("%016llx.seg") and the
// owner's table of them (s->segs, ascending by number).
//
// Thread: owner (the names: any thread).

#include "slog_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- file names -----------------------------------------------------------

void
slog__seg_name(char *buf, size_t len, uint64_t no)
{
	snprintf(buf, len, "%016" PRIx64 ".seg", no);
}

bool
slog__seg_parse_name(const char *name, uint64_t *nop)
{
	uint64_t v = 0;
	int      i;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0) {
		return false;
	}
	for (i = 0; i < 16; i++) {
		char c = name[i];
		v <<= 4;
		if (c >= '0' && c <= '9') {
			v |= (uint64_t) (c - '0');
		} else if (c >= 'a' && c <= 'f') {
			v |= (uint64_t) (c - 'a' + 10);
		} else {
			return false;
		}
	}
	*nop = v;
	return v != 0 && v < (UINT64_C(1) << 32);
}

// --- the table ------------------------------------------------------------

slog_seg *
slog__seg_find(slog *s, uint64_t no)
{
	size_t lo = 0, hi = s->nsegs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->segs[mid].no < no) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < s->nsegs && s->segs[lo].no == no ? &s->segs[lo] : NULL;
}

int
slog__seg_push(slog *s, const slog_seg *seg)
{
	if (s->nsegs == s->capsegs) {
		size_t    cap = s->capsegs ? s->capsegs * 2 : 16;
		slog_seg *n   = realloc(s->segs, cap * sizeof(*n));
		if (n == NULL) {
			return ARB_ENOMEM;
		}
		s->segs    = n;
		s->capsegs = cap;
	}
	s->segs[s->nsegs++] = *seg;
	return ARB_OK;
}

void
slog__seg_remove(slog *s, size_t i)
{
	if (s->segs[i].rf != NULL) {
		s->vfs->close(s->segs[i].rf);
	}
	if (s->rseg == s->segs[i].no) {
		s->rlen = 0;
	}
	memmove(&s->segs[i], &s->segs[i + 1],
	    (s->nsegs - i - 1) * sizeof(s->segs[0]));
	s->nsegs--;
}
