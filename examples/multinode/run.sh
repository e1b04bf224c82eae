#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh -- examples/multinode live on one machine (README.md here): two
# collector gateways forwarding to a central node, with no hardware.
#
# It starts, on loopback ports nobody uses and in a fresh temp dir:
#   - a mosquitto for upstream (persistent),
#   - collector-verify (subscribed upstream: duplicates, gaps, order),
#   - for gw1 and gw2 a pty sensor (collector-serial-sim),
#   - the nodes, each `arbor run` with its tree file: central.yaml (the
#     site's MQTT client) and gateway.yaml twice (gw1, gw2), linked over
#     TCP with one cookie,
# then prints one line per second: per gateway the readings stored and
# acknowledged upstream through central and its backlog (the store's own
# counters, one snapshot: stored - published = backlog while the store
# runs), and central's upstream connection.  Ctrl-C (or --seconds N)
# stops everything, prints the verifier's report and exits 0 when every
# node's stop was clean and the verifier found no gap or order violation
# (and, in a sanitizer build, no node's log holds a report: a log that
# does is printed whole before the temp dir goes).
#
#   examples/multinode/run.sh [--seconds N] [--rate R] [--build DIR]
# --rate: readings/s from each gateway's sensor (default 10).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../../build"
seconds=0
rate=10
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
for r in "$rate" "$seconds"; do
  case "$r" in
    ''|*[!0-9]*) echo "run.sh: '$r' is not a number (--rate, --seconds)" >&2; exit 64 ;;
  esac
done
# demo_find, demo_init, demo_stopping, nap, spawn, connect, take_port, start_broker,
# alive, stop_pid, exit_line, stop_all, http_get, wait_ready, demo_sanitized,
# wait_path:
. "$here/../collector/demo.sh"
demo_find "$build" collector-serial-sim collector-verify

work=$(mktemp -d "${TMPDIR:-/tmp}/multinode-XXXXXX")
brokers=()
sims=()
verify_pid=""
declare -A node_pid=() http=()
nodes=(central gw1 gw2)
status=0
stopping=0
demo_init

cleanup() {
  local rc p n
  demo_stopping || return 0
  echo "== stopping: sensors, gateways, central, verifier, broker"
  stop_all "${sims[@]}"
  for n in gw1 gw2 central; do
    [ -n "${node_pid[$n]:-}" ] || continue
    rc=0
    stop_pid "${node_pid[$n]}"
    wait "${node_pid[$n]}" || rc=$?
    exit_line "$n" "$rc"
    [ "$rc" = 0 ] || status=1
    ! demo_sanitized "$n" "$work/$n.log" || status=1
  done
  if [ -n "$verify_pid" ]; then
    rc=0
    stop_pid "$verify_pid"
    wait "$verify_pid" 2>/dev/null || rc=$?
    grep 'event=stream\|event=total' "$work/verify.out" || true
    [ "$rc" = 0 ] || status=1
  fi
  stop_all "${brokers[@]}"
  if [ "${MN_KEEP:-0}" = 1 ]; then
    echo "run.sh: kept $work (MN_KEEP=1)"
  else
    rm -rf "$work"
  fi
  echo "run.sh: stopped everything, exit $status"
  exit "$status"
}
trap cleanup INT TERM EXIT

start_broker upstream
echo "broker: upstream 127.0.0.1:$upstream_port"
spawn "$bin/collector-verify" --port "$upstream_port" \
  --client-id "verify-$$" --from-one >"$work/verify.out" 2>&1
verify_pid=$!

(umask 077 && head -c 32 /dev/urandom | base64 >"$work/cookie")
export MN_COOKIE="$work/cookie"
export MN_UPSTREAM_PORT="$upstream_port"
export MN_LOG_LEVEL="${MN_LOG_LEVEL:-warn}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
declare -A link=()
for n in "${nodes[@]}"; do
  take_port "link[$n]"
  take_port "http[$n]"
done
export MN_CENTRAL_ADDR="127.0.0.1:${link[central]}"
export MN_GW1_ADDR="127.0.0.1:${link[gw1]}"
export MN_GW2_ADDR="127.0.0.1:${link[gw2]}"

# start_node NAME TREE [VAR=VALUE...]: `arbor run TREE` for NAME, its log
# in the work dir and its control socket under $XDG_RUNTIME_DIR, the work
# dir's (several demos can run at once).  The node hears of this script's
# death as a SIGTERM: an orderly stop.
start_node() {
  local n=$1 tree=$2
  shift 2
  env "$@" \
    setsid setpriv --pdeathsig TERM "$arbor" run "$here/$tree" \
    2>"$work/$n.log" 9<&- &
  node_pid[$n]=$!
}

start_node central central.yaml MN_CENTRAL_HTTP="127.0.0.1:${http[central]}"
for n in gw1 gw2; do
  mkdir -p "$work/$n"
  spawn "$bin/collector-serial-sim" --dir "$work/$n/serial" --sensors 1 \
    --rate "$rate" --quiet >"$work/$n/serial-sim.out" 2>&1
  sims+=("$!")
  wait_path "$work/$n/serial/by-id/usb-arbor_sim_s1-if00" || true
  start_node "$n" gateway.yaml MN_GW="$n" \
    MN_GW_ADDR="127.0.0.1:${link[$n]}" MN_GW_HTTP="127.0.0.1:${http[$n]}" \
    MN_STORE="$work/$n/store" \
    MN_SERIAL="$work/$n/serial/by-id/usb-arbor_sim_s1-if00"
done

for n in "${nodes[@]}"; do
  if ! wait_ready "$n" "${http[$n]}" "${node_pid[$n]}" "$work/$n.log"; then
    status=1
    exit 1
  fi
done

cat <<EOF
nodes up: central (pid ${node_pid[central]}), gw1 (pid ${node_pid[gw1]}), gw2 (pid ${node_pid[gw2]}),
linked over tcp://127.0.0.1:${link[central]}, :${link[gw1]}, :${link[gw2]} with one cookie;
${rate} readings/s from each gateway's sensor:
  peers      XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR $arborctl --node central peers
  pages      http://127.0.0.1:${http[central]}/  http://127.0.0.1:${http[gw1]}/  http://127.0.0.1:${http[gw2]}/
  chaos      kill -9 central's pid: the gateways keep storing; this
             script starts central again 3 s later and their backlogs
             drain
Ctrl-C stops everything.
EOF

# metric NAME SERIES-SUBSTRING: a value from $body (/metrics), 0 if none.
metric() {
  local line
  while IFS= read -r line; do
    case "$line" in
      "$1"*"$2"*) line=${line##* }; echo "${line%%.*}"; return ;;
    esac
  done <<<"$body"
  echo 0
}

# A gateway's three numbers are its store's (appended, acknowledged by
# the uplink, backlog): one actor's, carried to the node in one heartbeat.
# The parser's collector_stored_total and the uplink's uplink_acked_total
# come in their own actors' heartbeats (each every 500 ms, out of phase),
# so a line made of those showed a gateway's published ahead of stored by
# up to a heartbeat's readings.
live_line() {
  local n out="" up=down
  for n in gw1 gw2; do
    if http_get "${http[$n]}" /metrics; then
      out+=$(printf '  %s stored %6d published %6d backlog %5d' "$n" \
        "$(metric store_appended_records_total '')" \
        "$(metric store_acked_records_total '')" \
        "$(metric store_backlog_records '')")
    else
      out+="  $n -"
    fi
  done
  if http_get "${http[central]}" /metrics \
     && [ "$(metric mqtt_connected root/upstream)" = 1 ]; then
    up=up
  fi
  printf '%(%T)T%s  upstream %s\n' -1 "$out" "$up"
}

# central_down: central ended on its own (a kill -9, a crash): the
# gateways keep storing; it is started again 3 s later, as systemd's
# Restart=on-failure would, and the gateways' backlogs drain.
central_down() {
  local rc=0
  wait "${node_pid[central]}" 2>/dev/null || rc=$?
  node_pid[central]=""
  # Its next incarnation's log replaces this one.
  ! demo_sanitized central "$work/central.log" || status=1
  echo "run.sh: central ended on its own (status $rc): the gateways keep storing; starting it again in 3 s"
  central_again=$((SECONDS + 3))
}

start=$SECONDS
central_again=""
while :; do
  nap 1
  if [ -n "$central_again" ] && [ "$SECONDS" -ge "$central_again" ]; then
    start_node central central.yaml MN_CENTRAL_HTTP="127.0.0.1:${http[central]}"
    central_again=""
    echo "run.sh: central started again (pid ${node_pid[central]})"
  fi
  for n in "${nodes[@]}"; do
    [ -n "${node_pid[$n]}" ] || continue
    if ! alive "${node_pid[$n]}"; then
      if [ "$n" = central ]; then
        central_down
        continue
      fi
      echo "run.sh: $n ended on its own; its log:" >&2
      tail -20 "$work/$n.log" >&2
      status=1
      exit 1
    fi
  done
  live_line || true
  if [ "$seconds" != 0 ] && [ $((SECONDS - start)) -ge "$seconds" ]; then
    exit 0
  fi
done
