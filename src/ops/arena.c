// SPDX-License-Identifier: MIT
// arena.c -- memory for the tool: an arena per configuration, and the
// list of problems found in a file.
//
// A configuration is built once and released at once (after a run, or
// when a reload replaces it), so its strings and spec arrays come from an
// arena of zeroed blocks.  Out of memory ends the program with exit 70:
// a command-line tool has nothing better to do.  Thread: the caller's.

#include "doc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARENA_BLOCK 8192

// --- Memory -----------------------------------------------------------------

_Noreturn void
arb__oom(void)
{
	static const char msg[] = "arbor: out of memory\n";

	(void) write(STDERR_FILENO, msg, sizeof(msg) - 1);
	exit(ARB_EXIT_SOFTWARE);
}

void *
arb__xalloc(size_t n)
{
	void *p = calloc(1, n > 0 ? n : 1);

	if (p == NULL) {
		arb__oom();
	}
	return p;
}

char *
arb__xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char  *p = arb__xalloc(n);

	memcpy(p, s, n);
	return p;
}

typedef struct arena_blk {
	struct arena_blk *next;
	size_t            used;
	size_t            cap;
	max_align_t       data[];
} arena_blk;

struct arb__arena {
	arena_blk *head;
};

arb__arena *
arb__arena_open(void)
{
	return arb__xalloc(sizeof(arb__arena));
}

void
arb__arena_close(arb__arena *a)
{
	arena_blk *b;

	if (a == NULL) {
		return;
	}
	while ((b = a->head) != NULL) {
		a->head = b->next;
		free(b);
	}
	free(a);
}

void *
arb__arena_alloc(arb__arena *a, size_t n)
{
	const size_t al = sizeof(max_align_t);
	arena_blk   *b = a->head;
	void        *p;

	n = (n + al - 1) / al * al;
	if (n == 0) {
		n = al;
	}
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = arb__xalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	p = (char *) b->data + b->used;
	b->used += n;
	return p; // blocks come from calloc and are never reused: zeroed
}

char *
arb__arena_strdup(arb__arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char  *p = arb__arena_alloc(a, n);

	memcpy(p, s, n);
	return p;
}

char *
arb__arena_printf(arb__arena *a, const char *fmt, ...)
{
	va_list ap;
	int     n;
	char   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return arb__arena_strdup(a, "");
	}
	p = arb__arena_alloc(a, (size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

// --- Problems ---------------------------------------------------------------

void
arb__errs_add(arb__errs *errs, int line, int col, const char *text)
{
	if (errs->n == errs->cap) {
		size_t     cap = errs->cap ? errs->cap * 2 : 16;
		arb__err *v = realloc(errs->v, cap * sizeof(*v));
		if (v == NULL) {
			arb__oom();
		}
		errs->v = v;
		errs->cap = cap;
	}
	errs->v[errs->n].line = line;
	errs->v[errs->n].col = col;
	errs->v[errs->n].text = arb__xstrdup(text);
	errs->n++;
}

void
arb__errs_fini(arb__errs *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++) {
		free(errs->v[i].text);
	}
	free(errs->v);
	memset(errs, 0, sizeof(*errs));
}
