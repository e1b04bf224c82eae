// SPDX-License-Identifier: MIT
// loader.c -- the bookkeeping of one tree file's load (loader.h), shared
// by config.c (the file, node settings, the spec checker's lines) and
// tree.c (supervisors and children): the sites (children by the path the
// spec checker uses), the fields already reported, paths relative to the
// file and the rule for child names.  Thread: the caller's.

#include "loader.h"

#include <stdlib.h>
#include <string.h>

size_t
arb__loader_site_add(
    loader *ld, const char *path, yaml_node_t *child, yaml_node_t *sup)
{
	site *v;

	if (ld->nsites == ld->capsites) {
		// Doubled: one more each time copied them all, every time
		// (10,000 children took 9 s under ASan, whose realloc copies).
		ld->capsites = ld->capsites ? 2 * ld->capsites : 64;
		if ((v = realloc(ld->sites, ld->capsites * sizeof(*v)))
		    == NULL) {
			arb__oom();
		}
		ld->sites = v;
	}
	ld->sites[ld->nsites] = (site) { path, child, sup, false };
	return ld->nsites++;
}

void
arb__loader_mark_seen(loader *ld, size_t si, const char *field)
{
	seen *v;

	if (ld->nseen == ld->capseen) {
		ld->capseen = ld->capseen ? 2 * ld->capseen : 64;
		if ((v = realloc(ld->seen, ld->capseen * sizeof(*v)))
		    == NULL) {
			arb__oom();
		}
		ld->seen = v;
	}
	ld->seen[ld->nseen++] = (seen) { si, field };
}

bool
arb__loader_was_seen(loader *ld, size_t si, const char *field)
{
	size_t i;

	for (i = 0; i < ld->nseen; i++) {
		if (ld->seen[i].site == si
		    && strcmp(ld->seen[i].field, field) == 0) {
			return true;
		}
	}
	return false;
}

// got returns ok, remembering a failed field of site si as reported.
bool
arb__loader_got(loader *ld, size_t si, const char *field, bool ok)
{
	if (!ok) {
		arb__loader_mark_seen(ld, si, field);
	}
	return ok;
}

const char *
arb__loader_resolve(loader *ld, const char *p)
{
	return p[0] == '/'
	    ? p
	    : arb__arena_printf(ld->d.arena, "%s/%s", ld->cfg->dir, p);
}

// name_ok mirrors the library's rule for child names, so labels (and
// thus paths) are the ones its checker prints.
bool
arb__loader_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= NAME_MAX_LEN
	    && strspn(s,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	           "0123456789_.-")
	    == n;
}
