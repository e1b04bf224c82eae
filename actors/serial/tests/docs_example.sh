#!/bin/sh
# docs_example.sh ARBOR DOC -- every YAML example of the serial section of
# docs/actors.md must pass `arbor check`.
set -eu
arbor=$1
doc=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v dir="$dir" '
  /^## / { s = ($0 ~ /^## serial /) }
  s && /^```yaml$/ { y = 1; n++; next }
  y && /^```$/ { y = 0; next }
  y { print > (dir "/example" n ".yaml") }
' "$doc"
set -- "$dir"/example*.yaml
test -e "$1" || { echo "no yaml example in the serial section of $doc"; exit 1; }
test $# -ge 2 || { echo "expected two yaml examples in the serial section"; exit 1; }
"$arbor" check "$@"
