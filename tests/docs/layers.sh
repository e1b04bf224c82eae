#!/bin/sh
# SPDX-License-Identifier: MIT
# layers.sh SRCDIR -- the layers of src/ call only downwards
# (docs/design.md, "Files and the rules they keep").
#
# A file may include headers of its own folder and of the layers below
# its own, never of one above: a call upwards needs a declaration, so it
# would show here.  The order is rank.sh's, bottom up: core, transport,
# registry, actor, supervisor, node, ops, tools (and shim, a program too).
# Fails naming every include that breaks it.

set -u

if [ $# -ne 1 ] || [ ! -d "$1/src" ]; then
	echo "usage: $0 SRCDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
cd "$1/src" || exit 2
. "$here/rank.sh"

bad=0
checked=0
files=$(find . -name '*.[ch]' | sort)
for f in $files; do
	layer=${f#./}
	layer=${layer%%/*}
	rank "$layer"
	if [ "$RANK" -lt 0 ]; then
		echo "$f: in no layer (add its folder to tests/docs/rank.sh" \
		    "and docs/design.md)"
		bad=1
	fi
done
# "FILE DEP" for each '#include "../DEP/..."' or "../../DEP/...": a header
# of folder DEP.  One grep and one sed for the whole tree, and no
# subshell in the loops: a few processes per file took seconds on a
# loaded machine (more than the ctest bound).
# shellcheck disable=SC2086 # the file names have no blanks
incs=$(grep -H '^#include "\.\./' $files |
    sed -n 's|^\([^:]*\):#include "\(\.\./\)\{1,2\}\([a-z_]*\)/.*|\1 \3|p')
while read -r f dep; do
	[ -n "$f" ] || continue
	layer=${f#./}
	layer=${layer%%/*}
	rank "$layer"
	mine=$RANK
	[ "$mine" -ge 0 ] || continue
	rank "$dep"
	checked=$((checked + 1))
	if [ "$RANK" -lt 0 ] || [ "$RANK" -ge "$mine" ]; then
		echo "$f: includes a header of $dep, which is not below" \
		    "$layer"
		bad=1
	fi
done <<EOF
$incs
EOF
if [ "$checked" -eq 0 ]; then
	echo "no include across folders found: is this the source tree?"
	exit 1
fi
exit $bad
