#!/usr/bin/env bash
# collector_e2e.sh [BUILD] [RATE] [SECONDS] -- the collector end to end
# (docs/performance.md, "The collector"), beside its floors from the same
# run.  Not run by ctest; BUILD needs -DARB_BUILD_BENCH=ON.
#
#  1. end to end: examples/collector/run.sh (two loopback mosquittos, 2
#     pty + 2 MQTT sensor simulators at RATE readings/s each, the
#     gateway, the verifier) for SECONDS after a 5 s warm-up: readings
#     accepted by the parser, made durable by the store (acknowledged:
#     fdatasync'd, group commit every 10 ms) and acknowledged upstream
#     (PUBACK at the uplink) per second, and the node's CPU (every process
#     of it, from /proc) per reading published;
#  2. the uplink alone: the simulators are stopped (SIGSTOP) and the
#     backlog left in the store drains to the upstream broker: records/s;
#  3. the MQTT-only floor: collector-mqtt-floor publishes COUNT readings of
#     the uplink's JSON, QoS 1, 256 in flight (the uplink's window), to
#     the same upstream broker, which forwards them to the same verifier
#     (a gateway of its own: the verifier checks them too);
#  4. the store-only floor: arbor-bench --case store_actor_append (a
#     producer actor appending 64-byte readings through the store actor,
#     64 per message, acknowledged after fdatasync) on the same disk.
# Everything it starts is stopped at the end (run.sh's Ctrl-C path).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rate=${2:-6000}
secs=${3:-20}
# MQTT_RATE: readings/s from each of the 2 MQTT sensors (default RATE;
# 0: serial in only, the path the issue's goal names).
mqtt_rate=${MQTT_RATE:-$rate}
count=${COUNT:-200000}
build=$(cd "$build" && pwd)
floor_bin="$build/bench/collector-mqtt-floor"
bench_bin="$build/bench/arbor-bench"
for f in "$floor_bin" "$bench_bin"; do
  [ -x "$f" ] || { echo "$f is missing: build with -DARB_BUILD_BENCH=ON" >&2; exit 69; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/collector-e2e-XXXXXX")
pid=""
sims=()
finish() {
  local p
  for p in "${sims[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  collector_stop
  rm -rf "$tmp"
}
trap finish EXIT
. "$here/collector_lib.sh"

# cpu_ticks PID: user + system clock ticks of PID and its descendants.
cpu_ticks() {
  local p t=0 v
  for p in $(tree "$1"); do
    v=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
# counts: "IN STORED PUBLISHED BACKLOG" of run.sh's last live line.
counts() {
  tail -1 "$tmp/out" | awk '{for (i = 1; i < NF; i++) {
      if ($i == "in") a = $(i+1); if ($i == "stored") b = $(i+1);
      if ($i == "published") c = $(i+1); if ($i == "backlog") d = $(i+1) }
    print a + 0, b + 0, c + 0, d + 0}'
}
now() { date +%s.%N; }
# batching: records per STORE_RECORDS and acks per STORE_ACK at the
# uplink so far (its counters on /metrics).
batching() {
  curl -s "http://127.0.0.1:$http_port/metrics" | awk '
    /^uplink_published_total/ {p = $NF} /^uplink_acked_total/ {a = $NF}
    /^uplink_store_records_messages_total/ {rm = $NF}
    /^uplink_store_ack_messages_total/ {am = $NF}
    END {printf "uplink: %d records in %d STORE_RECORDS (%.1f each), %d acks in %d STORE_ACK (%.1f each)\n",
      p, rm, rm ? p / rm : 0, a, am, am ? a / am : 0}'
}

export TMPDIR=$tmp
collector_start "$build" "$rate" --mqtt-rate "$mqtt_rate"
http_port=$(sed -n 's|.*page *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/out")
up_port=$(sed -n 's/.*upstream 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/out")
sens_port=$(sed -n 's/.*sensors 127.0.0.1:\([0-9]*\),.*/\1/p' "$tmp/out")
for p in $(pgrep -f "collector-serial-sim --dir $tmp/" || true) \
         $(pgrep -f "collector-mqtt-sim --port $sens_port " || true); do
  sims+=("$p")
done
[ "${#sims[@]}" -ge 1 ] || { echo "simulators not found" >&2; exit 1; }
hz=$(getconf CLK_TCK)

echo "== 1. end to end: 2 serial x $rate + 2 MQTT x $mqtt_rate readings/s offered, ${secs}s after 5s"
sleep 5
read -r i0 s0 p0 b0 < <(counts)
c0=$(cpu_ticks "$gw")
t0=$(now)
sleep "$secs"
read -r i1 s1 p1 b1 < <(counts)
c1=$(cpu_ticks "$gw")
t1=$(now)
awk -v i0="$i0" -v i1="$i1" -v s0="$s0" -v s1="$s1" -v p0="$p0" -v p1="$p1" \
    -v b0="$b0" -v b1="$b1" -v c0="$c0" -v c1="$c1" -v hz="$hz" \
    -v t0="$t0" -v t1="$t1" -v off="$((2 * rate + 2 * mqtt_rate))" 'BEGIN {
  d = t1 - t0
  printf "offered %d/s  in %.0f/s  stored %.0f/s  published %.0f/s  backlog %d -> %d\n",
    off, (i1 - i0) / d, (s1 - s0) / d, (p1 - p0) / d, b0, b1
  # (each reading stored is also published, now or later: the CPU per
  # reading stored holds when the uplink keeps pace)
  printf "node CPU %.2f cores, %.1f us per reading stored\n",
    (c1 - c0) / hz / d, (s1 > s0) ? (c1 - c0) / hz * 1e6 / (s1 - s0) : 0
  printf "E2E stored_per_s=%.0f published_per_s=%.0f\n", (s1 - s0) / d, (p1 - p0) / d
}'
batching

echo "== 2. the uplink alone: simulators stopped, the backlog drains"
for p in "${sims[@]}"; do kill -STOP "$p"; done
sleep 1.5 # what the readers and the parser held reaches the store
read -r _ _ pa ba < <(counts)
if [ -n "${PERF:-}" ]; then
  # PERF=FILE: a perf profile of the node's processes while it drains.
  perf record -q -g -o "$PERF" -p "$(tree "$gw" | paste -sd,)" -- sleep 5 \
    >/dev/null 2>&1 &
fi
ca=$(cpu_ticks "$gw")
ta=$(now)
for ((i = 0; i < 600; i++)); do
  read -r _ _ pb bb < <(counts)
  [ "$bb" -le 300 ] && break
  sleep 0.1
done
tb=$(now)
cb=$(cpu_ticks "$gw")
awk -v pa="$pa" -v pb="$pb" -v ba="$ba" -v bb="$bb" -v ta="$ta" -v tb="$tb" \
    -v ca="$ca" -v cb="$cb" -v hz="$hz" 'BEGIN {
  d = tb - ta
  printf "backlog %d -> %d in %.1fs: %.0f records/s acknowledged upstream, %.1f us node CPU each\n",
    ba, bb, d, (pb - pa) / d, (pb > pa) ? (cb - ca) / hz * 1e6 / (pb - pa) : 0
  printf "UPLINK drain_per_s=%.0f\n", (pb - pa) / d
}'
batching

echo "== 3. MQTT-only floor: $count QoS 1 publishes of the uplink's payload, same broker"
"$floor_bin" --port "$up_port" --count "$count" --window 256 --streams 4 \
  --gateway "floor-$$" | tee "$tmp/floor"

echo "== 4. store-only floor: arbor-bench --case store_actor_append (500,000 readings)"
mkdir -p "$tmp/bench"
ARB_BENCH_DIR=$tmp/bench ARB_BENCH_STORE_ACTOR_N=500000 \
  "$bench_bin" --case store_actor_append | sed -n 's/^R //p'

for p in "${sims[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
sims=()
collector_stop
echo "== the verifier (the floor's gateway included):"
grep 'event=total' "$tmp/out" || true
