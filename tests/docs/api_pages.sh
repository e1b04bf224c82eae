#!/bin/sh
# SPDX-License-Identifier: MIT
# api_pages.sh SRCDIR -- every public function has exactly one man page.
#
# The public functions are those declared with ARB_DECL in
# include/arbor/*.h (a declaration may span lines; the name is the
# identifier right before the first '(').  A page is a level-3 heading
# "### arb_name()" in docs/api/*.md.  Fails when a public function has no
# page, when a heading names a function that is not public, or when a
# function has more than one heading.

set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 SRCDIR" >&2
	exit 2
fi
src=$1

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

set -- "$src"/include/arbor/*.h
if [ ! -f "$1" ]; then
	echo "api_pages: no headers in $src/include/arbor" >&2
	exit 1
fi
# Join each ARB_DECL declaration up to its first '(' and keep the last
# identifier before it (handles "ARB_DECL type *name(" and continuation
# lines).  "#define ARB_DECL" does not start with ARB_DECL and is skipped.
awk '
	function emit(s,    i) {
		i = index(s, "(")
		s = substr(s, 1, i - 1)
		sub(/[ \t*]+$/, "", s)
		if (match(s, /[A-Za-z_][A-Za-z0-9_]*$/)) {
			print substr(s, RSTART, RLENGTH)
		}
	}
	pending {
		decl = decl " " $0
		if (index(decl, "(") > 0) { emit(decl); pending = 0 }
		next
	}
	/^[ \t]*ARB_DECL[ \t]/ {
		decl = $0
		if (index(decl, "(") > 0) { emit(decl) } else { pending = 1 }
	}
' "$@" | sort -u >"$tmp/public"

set -- "$src"/docs/api/*.md
if [ ! -f "$1" ]; then
	echo "api_pages: no pages in $src/docs/api" >&2
	exit 1
fi
sed -n 's/^### \(arb_[A-Za-z0-9_]*\)()[ \t]*$/\1/p' "$@" | sort >"$tmp/all"
sort -u "$tmp/all" >"$tmp/pages"

if [ ! -s "$tmp/public" ]; then
	echo "api_pages: found no ARB_DECL function (extraction broken?)" >&2
	exit 1
fi

rc=0
comm -23 "$tmp/public" "$tmp/pages" >"$tmp/missing"
comm -13 "$tmp/public" "$tmp/pages" >"$tmp/extra"
uniq -d "$tmp/all" >"$tmp/dup"
if [ -s "$tmp/missing" ]; then
	echo "api_pages: public functions without a page (### name()):"
	sed 's/^/  /' "$tmp/missing"
	rc=1
fi
if [ -s "$tmp/extra" ]; then
	echo "api_pages: pages for functions that are not public (no ARB_DECL):"
	sed 's/^/  /' "$tmp/extra"
	rc=1
fi
if [ -s "$tmp/dup" ]; then
	echo "api_pages: functions with more than one page:"
	sed 's/^/  /' "$tmp/dup"
	rc=1
fi
if [ $rc -eq 0 ]; then
	echo "api_pages: $(wc -l <"$tmp/public" | tr -d ' ') public functions, each with one page"
fi
exit $rc
