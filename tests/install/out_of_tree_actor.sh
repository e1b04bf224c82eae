#!/bin/sh
# SPDX-License-Identifier: MIT
# out_of_tree_actor.sh CMAKE BUILDDIR SRCDIR -- the installed package is
# enough to build an actor type out of tree and run it:
#   1. cmake --install BUILDDIR into a fresh prefix;
#   2. build examples/plugin against it (find_package(arbor) brings
#      arbor_add_actor) in a fresh build dir;
#   3. the INSTALLED arbor checks and runs a tree with that module
#      (plugins:) and the project's echo type, found by name in the
#      installed <libdir>/arbor/actors with no configuration, with no
#      LD_LIBRARY_PATH: the installed layout must stand on its own;
#   4. when the build has the collector, the installed arbor checks
#      examples/collector's tree: its modules were installed with arbor's.
# Leaves nothing behind (trap), every wait bounded.
set -u
if [ $# -ne 3 ]; then
	echo "usage: $0 CMAKE BUILDDIR SRCDIR" >&2
	exit 2
fi
cmake=$1
build=$2
src=$3
tmp=$(mktemp -d /tmp/arbor-install.XXXXXX) || exit 2
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
fail() {
	echo "out_of_tree_actor: $*" >&2
	exit 1
}
unset LD_LIBRARY_PATH ARBOR_ACTOR_PATH ARBOR_PLUGINS
export XDG_RUNTIME_DIR="$tmp"

"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "cmake --install failed"; }
"$cmake" -S "$src/examples/plugin" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
	>"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configure against the package failed"; }
"$cmake" --build "$tmp/b" >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log"; fail "build against the package failed"; }
[ -f "$tmp/b/greeter.so" ] || fail "no greeter.so (arbor_add_actor names the module after the type)"
nm -D --defined-only "$tmp/b/greeter.so" | awk '$2=="T"{print $3}' >"$tmp/syms"
[ "$(cat "$tmp/syms")" = arbor_plugin_init ] ||
	fail "greeter.so exports more than arbor_plugin_init: $(cat "$tmp/syms")"

arbor="$tmp/prefix/bin/arbor"
cat >"$tmp/tree.yaml" <<YAML
node: {name: oot}
plugins: [$tmp/b/greeter.so]
root:
  children:
    - {name: g, type: greeter, isolation: process, config: {greeting: salut}}
    - {name: e, type: echo}
    - name: t
      type: ticker
      config: {target: root/g, interval: 20ms, call: true, log: true}
YAML
"$arbor" check "$tmp/tree.yaml" >"$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log"; fail "installed arbor check refused the tree"; }
# The collector's modules are installed with arbor's (examples/collector/
# README.md, "Under systemd"): the installed arbor knows its types.
if [ -f "$build/lib/arbor/actors/collector_parse.so" ]; then
	# (its store's directory here: the default, /var/lib/collector/
	# store, is checked as the store would make it, root's to make.)
	COLLECTOR_STORE="$tmp/store" \
		"$arbor" check "$src/examples/collector/collector.yaml" \
		>"$tmp/collector.log" 2>&1 ||
		{ cat "$tmp/collector.log"; fail "the installed arbor does not know the collector's types"; }
fi

"$arbor" run "$tmp/tree.yaml" >"$tmp/run.log" 2>&1 &
pid=$!
i=0
while ! grep -q 'body="salut, pid' "$tmp/run.log"; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/run.log"
		fail "the installed arbor did not run the greeter and the ticker within 20 s"
	fi
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || { cat "$tmp/run.log"; fail "arbor run exited $rc after SIGTERM"; }
grep -q 'info root/g event=init' "$tmp/run.log" || fail "no init line of the greeter"
echo "out_of_tree_actor: built against the package, checked and run by the installed arbor"
