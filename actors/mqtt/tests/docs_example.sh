#!/bin/sh
# docs_example.sh ARBOR DOC -- the first YAML example of the mqtt section
# of docs/actors.md must pass `arbor check` (with its ${VAR} set).
set -eu
arbor=$1
doc=$2
f=$(mktemp)
trap 'rm -f "$f"' EXIT
awk '/^## mqtt /{m=1} m && /^```yaml$/{y=1; next} y && /^```$/{exit} y{print}' \
  "$doc" > "$f"
test -s "$f" || { echo "no yaml example in the mqtt section of $doc"; exit 1; }
UPLINK_PASSWORD=secret "$arbor" check "$f"
