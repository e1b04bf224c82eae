#!/usr/bin/env bash
# collector_footprint.sh [BUILD] [RATE] [SECONDS] -- the collector's
# memory (docs/performance.md, "The collector"): runs
# examples/collector/run.sh (two loopback mosquittos, the simulators, the
# gateway) at RATE readings/s from each of its 4 sensors, and after
# SECONDS (steady state) reads Rss and Pss (smaps_rollup) of every process
# of the node: the arbor program and its process actors.  The floor, from
# the same run: a bare dynamically linked C program (sleep) and the
# upstream mosquitto.  Also the arbor program's size, stripped.
# OUTAGE=S in the environment then stops the upstream broker for S
# seconds while readings keep arriving, and prints the node's summed RSS
# and PSS and the store's backlog every 30 s (the backlog is on disk: the
# memory should stay flat).  COLLECTOR_TREE=FILE runs another tree file
# instead of collector.yaml (run.sh): the variants of docs/performance.md
# ("What it would take").  Not run by ctest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rate=${2:-100}
secs=${3:-30}
build=$(cd "$build" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/collector-footprint-XXXXXX")
pid=""
floor=""
finish() {
  if [ -n "$floor" ]; then kill "$floor" 2>/dev/null || true; fi
  collector_stop
  rm -rf "$tmp"
}
trap finish EXIT
. "$here/collector_lib.sh"

# mem PID: "RSS_KB PSS_KB"
mem() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' \
    "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}

export TMPDIR=$tmp
collector_start "$build" "$rate"
sleep 1000 &
floor=$!
sleep "$secs"
tail -1 "$tmp/out"
echo "readings/s per sensor: $rate (4 sensors), after ${secs}s:"
# The actors' paths by OS pid, from arborctl status.
declare -A path=()
ctl=$(sed -n 's/^  tree *//p' "$tmp/out")
names() {
  local a ospid
  path=()
  while read -r a _ _ _ ospid _; do
    case "$ospid" in [0-9]*) path[$ospid]=$a ;; esac
  done < <($ctl 2>/dev/null | awk '$3 == "process" {print $1, $2, $3, $4, $5}')
}
# table: every process of the node, its RSS, PSS and anonymous memory
# (heap, thread arenas, stacks: what malloc holds) in KB; sets tr, tp.
table() {
  local p r s a h o name
  names
  printf '%-50s %8s %8s %8s %8s %8s\n' process rss_kb pss_kb anon_kb \
    heap_kb unnamed_kb
  tr=0
  tp=0
  for p in $(tree "$gw"); do
    read -r r s < <(mem "$p")
    a=$(awk '/^Anonymous:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    # [heap] (the main arena) and unnamed mappings (thread arenas,
    # stacks, mmapped blocks): their RSS.
    read -r h o < <(awk '/^[0-9a-f]+-[0-9a-f]+ / {n = $6} /^Rss:/ {
        if (n == "[heap]") h += $2; else if (n == "") o += $2 }
      END {print h + 0, o + 0}' "/proc/$p/smaps" 2>/dev/null || echo "0 0")
    name=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true)
    case "$name" in
      *" run "*) name="arbor (node; threads parse, forward)" ;;
      *) name="process actor: ${path[$p]:-(none: the standby process)}" ;;
    esac
    printf '%-50s %8d %8d %8d %8d %8d\n' "${name:0:50}" "$r" "$s" "${a:-0}" \
      "$h" "$o"
    tr=$((tr + r))
    tp=$((tp + s))
  done
  printf '%-50s %8d %8d\n' "TOTAL (the node)" "$tr" "$tp"
}
table
read -r r s < <(mem "$floor")
printf '%-50s %8d %8d\n' "floor: sleep (bare C program)" "$r" "$s"
mq=$(pgrep -f "$tmp/.*/upstream/mosquitto.conf" | head -1 || true)
if [ -n "$mq" ]; then
  read -r r s < <(mem "$mq")
  printf '%-50s %8d %8d\n' "floor: mosquitto (upstream)" "$r" "$s"
fi
strip -o "$tmp/arbor.stripped" "$build/src/tools/arbor/arbor"
printf 'arbor program: %d bytes, %d stripped\n' \
  "$(stat -c %s "$build/src/tools/arbor/arbor")" \
  "$(stat -c %s "$tmp/arbor.stripped")"
# node_mem: "RSS_KB PSS_KB" summed over the node's processes.
node_mem() {
  local p r s tr=0 tp=0
  for p in $(tree "$gw"); do
    read -r r s < <(mem "$p")
    tr=$((tr + r))
    tp=$((tp + s))
  done
  echo "$tr $tp"
}
if [ "${OUTAGE:-0}" -gt 0 ] && [ -n "${mq:-}" ]; then
  port=$(sed -n 's/.*upstream 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/out")
  kill "$mq"
  echo "upstream broker stopped for ${OUTAGE}s; every 30 s:"
  printf '%8s %10s %10s %s\n' t_s rss_kb pss_kb "live line"
  for ((t = 0; t <= OUTAGE; t += 30)); do
    read -r r s < <(node_mem)
    printf '%8d %10d %10d %s\n' "$t" "$r" "$s" "$(tail -1 "$tmp/out" | cut -c1-110)"
    [ "$t" -lt "$OUTAGE" ] && sleep 30
  done
  echo "at the end of the outage:"
  table
fi
# What the collector loads of arbor's own code, stripped.
total=0
for f in "$build/lib/libarbor.so.0" "$build"/lib/arbor/actors/{store,mqtt,serial,collector_parse,collector_uplink}.so; do
  strip -o "$tmp/s" "$(readlink -f "$f")"
  n=$(stat -c %s "$tmp/s")
  total=$((total + n))
  printf '  %-28s %8d bytes stripped\n' "$(basename "$f")" "$n"
done
printf '  %-28s %8d bytes stripped (with the arbor program)\n' total \
  "$((total + $(stat -c %s "$tmp/arbor.stripped")))"
