#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# retried.sh -- .ci/ctest names the tests that failed their first attempt
# and passed on the retry (--repeat until-pass:2), and keeps ctest's exit
# status.  A throw-away ctest project in a temp dir: "flaky" fails its
# first run only, "steady" passes, "broken" always fails, "skipped"
# exits 77.  Usage: retried.sh PROJECT_SOURCE_DIR
set -u
src=${1:?usage: retried.sh PROJECT_SOURCE_DIR}
dir=$(mktemp -d /tmp/arb-ci-retried.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "ci.retried: FAIL: $*" >&2; echo "--- output:" >&2; cat "$dir/out" >&2; exit 1; }

mkdir "$dir/p"
cat >"$dir/p/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.21)
project(retried NONE)
enable_testing()
add_test(NAME flaky COMMAND sh -c "if [ -e '$dir/ran' ]; then exit 0; fi; : >'$dir/ran'; echo first attempt fails; exit 1")
add_test(NAME steady COMMAND true)
add_test(NAME skipped COMMAND sh -c "exit 77")
set_tests_properties(skipped PROPERTIES SKIP_RETURN_CODE 77)
EOT
cmake -S "$dir/p" -B "$dir/b" >/dev/null || fail "cmake"

# All pass in the end: exit 0, flaky named, the others not.
"$src/.ci/ctest" "$dir/b" -j2 --repeat until-pass:2 >"$dir/out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "exit $rc with every test passing in the end"
grep -qx '== retried: 1 test(s) failed their first attempt and passed on the retry (flaky: counted, not silent):' "$dir/out" \
    || fail "no count of the retried tests"
grep -qx '  flaky' "$dir/out" || fail "flaky not named"
grep -Eq '^  (steady|skipped)$' "$dir/out" && fail "a test that did not fail named as retried"

# A second run: nothing retried, said so.
"$src/.ci/ctest" "$dir/b" -j2 --repeat until-pass:2 >"$dir/out" 2>&1 || fail "second run failed"
grep -qx '== retried: no test failed its first attempt and passed on the retry' "$dir/out" \
    || fail "no line saying that nothing was retried"

# A test failing both attempts: ctest's failure status kept, not listed as retried.
echo 'add_test(NAME broken COMMAND false)' >>"$dir/p/CMakeLists.txt"
rm -f "$dir/ran"
cmake -S "$dir/p" -B "$dir/b" >/dev/null || fail "cmake (2)"
"$src/.ci/ctest" "$dir/b" -j2 --repeat until-pass:2 >"$dir/out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "exit 0 with a test failing twice"
grep -qx '  flaky' "$dir/out" || fail "flaky not named when another test fails"
grep -qx '  broken' "$dir/out" && fail "a test failing twice named as retried"
echo "ci.retried: ok"
