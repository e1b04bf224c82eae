#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tsan_supp.sh -- tests/tsan.supp (CI's ThreadSanitizer suppressions)
# leaves a race in our code on an nng callback thread reported: it runs
# tsan_race (tests/ci/tsan_race.c, a race between an aio callback and
# main on purpose) with the file and wants TSan's report and exit status
# 66.  A rule that matched any libnng frame ("race:libnng.so") hid such
# races.  ThreadSanitizer builds only.
# Usage: tsan_supp.sh TSAN_RACE_BIN SUPPRESSIONS_FILE
set -u
bin=${1:?usage: tsan_supp.sh TSAN_RACE_BIN SUPPRESSIONS_FILE}
supp=${2:?usage: tsan_supp.sh TSAN_RACE_BIN SUPPRESSIONS_FILE}
fail() { echo "ci.tsan_supp: FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin: not an executable"
[ -r "$supp" ] || fail "$supp: cannot read it"

out=$(TSAN_OPTIONS="suppressions=$supp:exitcode=66" "$bin" 2>&1)
rc=$?
printf '%s\n' "$out"
# The precondition: the callback's side of the race runs under libnng.
printf '%s\n' "$out" | grep -A1 '#0 cb_write ' | grep -q 'libnng\.so' \
	|| fail "no report with cb_write's stack over a libnng frame (rc $rc): $supp hides a race in a callback on nng's thread"
[ "$rc" = 66 ] || fail "exit $rc, want 66 (TSan reported a race)"
printf '%s\n' "$out" | grep -q '^SUMMARY: ThreadSanitizer: data race .*tsan_race\.c' \
	|| fail "the report's summary does not name tsan_race.c"
echo "ci.tsan_supp: ok: the race in an nng callback is reported with $supp"
