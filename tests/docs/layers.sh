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
for f in $(find . -name '*.[ch]' | sort); do
	layer=$(echo "$f" | cut -d/ -f2)
	mine=$(rank "$layer")
	if [ "$mine" -lt 0 ]; then
		echo "$f: in no layer (add its folder to tests/docs/rank.sh" \
		    "and docs/design.md)"
		bad=1
		continue
	fi
	# "../X/..." or "../../X/...": a header of folder X.
	for dep in $(sed -n 's|^#include "\(\.\./\)\{1,2\}\([a-z_]*\)/.*|\2|p' "$f"); do
		theirs=$(rank "$dep")
		checked=$((checked + 1))
		if [ "$theirs" -lt 0 ] || [ "$theirs" -ge "$mine" ]; then
			echo "$f: includes a header of $dep, which is not below" \
			    "$layer"
			bad=1
		fi
	done
done
if [ "$checked" -eq 0 ]; then
	echo "no include across folders found: is this the source tree?"
	exit 1
fi
exit $bad
