#!/bin/sh
# SPDX-License-Identifier: MIT
# abi_version.sh CMAKE BUILD VERSION -- the library's version and soname
# follow docs/api/README.md, "ABI and versions":
#   1. while the major version is 0 the soname carries the minor
#      (libarbor.so.0.2), from 1.0 the major alone, and the arbor program
#      needs that soname;
#   2. the header's ARB_VERSION_* (arb_version(), `arbor --version`) are
#      the project's VERSION;
#   3. the CMake package of a 0.x version is not taken for another minor
#      (find_package(arbor 0.1) does not accept 0.2).
# Reads the build tree only; leaves nothing behind.
set -u
if [ $# -ne 3 ]; then
	echo "usage: $0 CMAKE BUILD VERSION" >&2
	exit 2
fi
cmake=$1
build=$2
version=$3
fail() {
	echo "abi_version: $*" >&2
	exit 1
}
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then
	soname=libarbor.so.$major.$minor
	other=$major.$((minor + 1)).0
	[ "$minor" -gt 0 ] && other=$major.$((minor - 1)).0
else
	soname=libarbor.so.$major
	other=$((major + 1)).0.0
fi

got=$(readelf -d "$build/lib/libarbor.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "libarbor's soname is '$got', not $soname"
readelf -d "$build/src/tools/arbor/arbor" | grep -q "NEEDED.*\[$soname\]" ||
	fail "the arbor program does not need $soname"

got=$("$build/src/tools/arbor/arbor" --version) || fail "arbor --version failed"
[ "$got" = "arbor $version" ] ||
	fail "arbor --version says '$got', the project is $version (include/arbor/arbor.h's ARB_VERSION_*)"

# find_package's check: the version file as find_package runs it.
vf=$build/src/arbor-config-version.cmake
[ -f "$vf" ] || fail "no $vf"
ask() {
	"$cmake" -DVF="$vf" -DPACKAGE_FIND_VERSION="$1" \
		-P "$(dirname "$0")/abi_find.cmake" 2>&1
}
[ "$(ask "$version")" = yes ] || fail "the package does not accept its own version $version"
[ "$(ask "$other")" = no ] || fail "the package $version is taken for $other"
echo "abi_version: $soname, arbor $version, the package refuses $other"
