#!/bin/sh
# SPDX-License-Identifier: MIT
# calls.sh SRCDIR OBJDIR -- what src/'s files call, read from the library's
# object files (nm): no call goes to a layer above the caller's (the order
# of tests/docs/rank.sh), and no files call each other in a circle
# beyond the ones listed in KNOWN below (to be taken apart; a new circle
# fails).  OBJDIR holds the objects of src/*/*.c as FILE.c.o, by path.
# Fails naming each upward call (with a symbol) and each new circle.

set -u

if [ $# -ne 2 ] || [ ! -d "$1/src" ] || [ ! -d "$2" ]; then
	echo "usage: $0 SRCDIR OBJDIR" >&2
	exit 2
fi
obj=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cd "$1/src" || exit 2
. "$here/rank.sh"

# Circles known when this check was written, each as its files, sorted,
# space-separated.
KNOWN="
"


tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
# One nm for the defined symbols and one for the used ones, over all the
# objects (named relative to OBJDIR: no blanks), and no subshell in the
# loops: a few processes per file and per call took seconds on a loaded
# machine.
objs=""
n=0
for f in $(find . -name '*.c' | sed 's|^\./||' | sort); do
	[ -f "$obj/$f.o" ] || continue
	n=$((n + 1))
	objs="$objs $f.o"
done
if [ "$n" -lt 20 ]; then
	echo "only $n objects of src/ found in $obj: is this the build?"
	exit 1
fi
# "OBJ:ADDR T SYM" and "OBJ: U SYM" -> "SYM FILE"
# shellcheck disable=SC2086 # the object names have no blanks
(cd "$obj" && nm -A -g --defined-only $objs) |
    awk 'NF == 3 { f = $1; sub(/\.o:.*$/, "", f); print $3, f }' \
    >"$tmp/def" || exit 2
# shellcheck disable=SC2086
(cd "$obj" && nm -A -u $objs) |
    awk '{ f = $1; sub(/\.o:.*$/, "", f); print $NF, f }' \
    >"$tmp/use" || exit 2
sort -u "$tmp/def" >"$tmp/def.s"
sort -u "$tmp/use" >"$tmp/use.s"
# caller callee symbol
join "$tmp/use.s" "$tmp/def.s" | awk '$2 != $3 { print $2, $3, $1 }' |
    sort >"$tmp/edges"

bad=0
while read -r a b sym; do
	rank "${a%%/*}"
	mine=$RANK
	rank "${b%%/*}"
	if [ "$RANK" -gt "$mine" ]; then
		echo "$a calls $sym of $b, a layer above its own"
		bad=1
	fi
done <"$tmp/edges"

# Circles: the strongly connected files, by repeated reachability (the
# graph is small): a file is in a circle with every file it reaches and
# that reaches it.
awk '{ print $1, $2 }' "$tmp/edges" | sort -u >"$tmp/pairs"
awk '
{ e[$1, $2] = 1; v[$1] = 1; v[$2] = 1 }
END {
	for (k in v) for (i in v) for (j in v)
		if ((i, k) in e && (k, j) in e) e[i, j] = 1
	for (i in v) {
		if (!((i, i) in e) || (i in done)) continue
		s = ""
		for (j in v) if ((i, j) in e && (j, i) in e) { s = s " " j; done[j] = 1 }
		print s
	}
}' "$tmp/pairs" | while read -r line; do
	echo "$line" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'
	echo
done >"$tmp/circles"
while read -r c; do
	[ -n "$c" ] || continue
	if ! echo "$KNOWN" | grep -qx "$c"; then
		echo "files call each other in a circle: $c"
		bad=1
	fi
done <"$tmp/circles"
exit $bad
