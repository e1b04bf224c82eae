#!/usr/bin/env bash
# exit_line_test.sh -- demo.sh's exit_line, the line both demos' run.sh
# print for each node they stopped: "NAME exited CODE (what it means)".
# Each code of docs/supervision.md's "Node exit codes" table, TSan's 66
# and a death by signal are named for what they mean, only 0 is a clean
# stop, and anything else says it is none of arbor run's codes.  The
# demos' tests look for "NAME exited 0 " (examples.collector_demo,
# multinode.80_gateways).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../demo.sh"
fails=0
bad() { echo "FAILED: $*"; fails=$((fails + 1)); }

# check CODE TEXT: exit_line's line for CODE names TEXT.
check() {
  local line
  line=$(exit_line gw1 "$1")
  case "$line" in
    "gw1 exited $1 ("*"$2"*")") echo "ok: $line" ;;
    *) bad "exit_line gw1 $1 said \"$line\", not \"$2\"" ;;
  esac
}
check 0 "a clean stop"
check 64 "a usage error"
check 66 "ThreadSanitizer reported a problem"
check 70 "the root supervisor gave up"
check 71 "an unclean stop"
check 78 "nothing was started"
check 137 "killed by SIGKILL"
check 143 "killed by SIGTERM"
check 139 "killed by SIGSEGV"
check 1 "not one of arbor run's exit codes"
check 255 "not one of arbor run's exit codes"
case "$(exit_line gw1 0)" in
  "gw1 exited 0 "*) ;;
  *) bad "the line for 0 is not \"gw1 exited 0 ...\"" ;;
esac
for c in 1 64 66 70 71 78 137 143; do
  case "$(exit_line gw1 "$c")" in
    *"a clean stop"*) bad "exit_line gw1 $c calls it a clean stop" ;;
  esac
done
# Every code the docs' table lists has its own meaning here.
doc="$here/../../../docs/supervision.md"
codes=$(sed -n '/^## Node exit codes/,/^## /s/^| \([0-9][0-9]*\) |.*/\1/p' "$doc")
[ -n "$codes" ] || bad "no exit codes found in $doc"
for c in $codes; do
  case "$(exit_line gw1 "$c")" in
    *"not one of arbor run's exit codes"*) bad "exit_line does not know $c ($doc)" ;;
  esac
done
[ "$fails" = 0 ] || exit 1
echo "exit_line: every code named ($(echo $codes) from the docs)"
