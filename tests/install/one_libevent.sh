#!/bin/sh
# one_libevent.sh BUILD -- no arbor binary links the whole libevent
# (libevent-2.1.so: core and extra again, in one file) beside
# libevent_core: that mapped libevent twice in every arbor process, 250-330
# KB of RSS each (CMakeLists.txt, docs/performance.md "Footprint").  Checks
# the arbor program, libarbor and every actor module of the build tree.
set -eu
build=$1
n=0
bad=0
for f in "$build/src/tools/arbor/arbor" "$build/lib/libarbor.so" \
  "$build"/lib/arbor/actors/*.so; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  if readelf -d "$f" | grep -q 'NEEDED.*\[libevent-'; then
    echo "$f: links the whole libevent (libevent-2.1.so) beside libevent_core" >&2
    bad=1
  fi
done
if [ "$n" -lt 2 ]; then
  echo "one_libevent: no arbor binaries under $build" >&2
  exit 1
fi
if [ "$bad" = 0 ]; then
  echo "one_libevent: $n binaries, none links libevent-2.1.so"
fi
exit "$bad"
