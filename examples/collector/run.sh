#!/usr/bin/env bash
# run.sh -- the collector, live, with no hardware (README.md's first
# command runs it after the build).
#
# It starts, on loopback ports nobody uses and in a fresh temp dir:
#   - a mosquitto for the sensors and one for upstream (persistent),
#   - collector-serial-sim (two pty sensors behind by-id-like links),
#   - collector-mqtt-sim (two MQTT sensors, a malformed payload now
#     and then),
#   - collector-verify (subscribed upstream: duplicates, gaps, order),
#   - the gateway: arbor run collector.yaml,
# then prints one line per second (readings in, rejected, stored,
# published upstream, the store's backlog, the upstream connection,
# restarts).  Ctrl-C (or --seconds N) stops everything in order, prints
# the verifier's report and exits 0 when the gateway's stop was clean
# (and, in a sanitizer build, its log holds no report: else it prints
# that log whole).
#
#   examples/collector/run.sh [--seconds N] [--rate R] [--mqtt-rate R]
#                             [--build DIR]
# --rate: readings/s from each sensor (default 10); --mqtt-rate: from
# each MQTT sensor, if not --rate (0: no MQTT sensor runs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../../build"
seconds=0
rate=10
mqtt_rate=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --mqtt-rate) mqtt_rate=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
for r in "$rate" "${mqtt_rate:-0}" "$seconds"; do
  case "$r" in
    ''|*[!0-9]*) echo "run.sh: '$r' is not a number (--rate, --mqtt-rate, --seconds)" >&2; exit 64 ;;
  esac
done
mqtt_rate=${mqtt_rate:-$rate}
# demo_find, demo_init, demo_stopping, nap, spawn, connect, take_port, start_broker,
# alive, stop_pid, exit_line, stop_all, http_get, wait_ready, demo_sanitized,
# wait_path:
. "$here/demo.sh"
demo_find "$build" collector-serial-sim collector-mqtt-sim collector-verify

# Every child runs in a session of its own (setsid): a Ctrl-C in the
# terminal reaches this script alone, which then stops them in order.
# setpriv --pdeathsig: should this script be killed, they end too.
work=$(mktemp -d "${TMPDIR:-/tmp}/collector-XXXXXX")
gateway_pid=""
verify_pid=""
brokers=()
sims=()
status=0
stopping=0
http_port=0
demo_init

cleanup() {
  local rc=0 p
  demo_stopping || return 0
  echo "== stopping: simulators, gateway, verifier, brokers"
  stop_all "${sims[@]}"
  if [ -n "$gateway_pid" ]; then
    stop_pid "$gateway_pid"
    wait "$gateway_pid" || rc=$?
    exit_line gateway "$rc"
    [ "$rc" = 0 ] || status=1
    ! demo_sanitized gateway "$work/gateway.log" || status=1
  fi
  if [ -n "$verify_pid" ]; then
    stop_pid "$verify_pid"
    wait "$verify_pid" 2>/dev/null || true
    grep 'event=stream\|event=total' "$work/verify.out" || true
  fi
  stop_all "${brokers[@]}"
  exec 9<&-
  if [ "$status" != 0 ]; then
    echo "logs kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup INT TERM EXIT

start_broker sensors
start_broker upstream
echo "brokers: sensors 127.0.0.1:$sensors_port, upstream 127.0.0.1:$upstream_port"

spawn "$bin/collector-verify" --port "$upstream_port" \
  --client-id "verify-$$" --from-one --dump "$work/verify.dump" \
  >"$work/verify.out" 2>&1
verify_pid=$!

spawn "$bin/collector-serial-sim" --dir "$work/serial" --sensors 2 \
  --rate "$rate" --commands "$work/serial.cmd" --quiet \
  >"$work/serial-sim.out" 2>&1
sims+=("$!")
wait_path "$work/serial/by-id/usb-arbor_sim_s2-if00" || true

take_port http_port
name="collector-demo-$$"
gw=${HOSTNAME:-host}
export COLLECTOR_NAME="$name"
export COLLECTOR_HTTP="127.0.0.1:$http_port"
export COLLECTOR_STORE="$work/store"
export COLLECTOR_GATEWAY="demo-${gw//[^A-Za-z0-9._-]/_}"
export COLLECTOR_UPSTREAM_PORT="$upstream_port"
export COLLECTOR_SENSORS_PORT="$sensors_port"
export COLLECTOR_SERIAL1="$work/serial/by-id/usb-arbor_sim_s1-if00"
export COLLECTOR_SERIAL2="$work/serial/by-id/usb-arbor_sim_s2-if00"
export COLLECTOR_LOG_LEVEL="${COLLECTOR_LOG_LEVEL:-warn}"
# Two malloc arenas per process, as the systemd unit has (its comment).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# The gateway hears of this script's death as a SIGTERM: an orderly stop.
# COLLECTOR_TREE: another tree file (bench/collector_footprint.sh's
# variants); collector.yaml by default.
setsid setpriv --pdeathsig TERM "$arbor" run "${COLLECTOR_TREE:-$here/collector.yaml}" \
  2>"$work/gateway.log" 9<&- &
gateway_pid=$!

if ! wait_ready "the gateway" "$http_port" "$gateway_pid" "$work/gateway.log"; then
  status=1
  exit 1
fi

if [ "$mqtt_rate" -gt 0 ]; then
  spawn "$bin/collector-mqtt-sim" --port "$sensors_port" --sensors 2 \
    --rate "$mqtt_rate" --garbage-every 50 --quiet >"$work/mqtt-sim.out" 2>&1
  sims+=("$!")
fi

cat <<EOF
gateway $name is up (pid $gateway_pid), ${rate} readings/s from each of
2 serial and ${mqtt_rate} from each of 2 MQTT sensors:
  page       http://127.0.0.1:$http_port/  (and /metrics, /api/tree)
  tree       $arborctl --node $name status
  misbehave  echo 'garbage 1' > $work/serial.cmd   (or: unplug 1,
             plug 1, replug 2 500, silence 1 2000)
  chaos      kill -9 a process actor's PID from that status (the
             store, a serial reader, an MQTT client): it is restarted
Ctrl-C stops everything.
EOF

# The live line: sums of the series shown, from /metrics.  Counters
# start at 0 again when their actor restarts: what grew is added.
# stored, published and backlog are the store's own (appended, acknowledged
# by the uplink, backlog): one actor's, carried to the node in one
# heartbeat, so stored - published = backlog on every line while the
# store runs.  The parser's collector_stored_total and the uplink's
# uplink_acked_total come in their own actors' heartbeats (each every
# 500 ms, out of phase): a line made of those could show published ahead
# of stored.  After the store is killed the sums can be off by what it
# counted after its last heartbeat, and published counts the readings it
# delivers again (their acknowledgement not yet on disk: at-least-once).
declare -A prev total
metric_line() {
  local line name value key up=down
  declare -A now=()
  http_get "$http_port" /metrics || return 1
  while IFS= read -r line; do
    case "$line" in
      '#'*|'') continue ;;
    esac
    name=${line%%[\{ ]*}
    value=${line##* }
    value=${value%%.*}
    case "$name" in
      collector_readings_total|collector_rejected_total| \
      store_appended_records_total|store_acked_records_total| \
      arbor_actor_restarts_total)
        key=${line% *}
        if [ -n "${prev[$key]+x}" ] && [ "$value" -ge "${prev[$key]}" ]; then
          total[$name]=$(( ${total[$name]:-0} + value - ${prev[$key]} ))
        else
          total[$name]=$(( ${total[$name]:-0} + value ))
        fi
        prev[$key]=$value ;;
      store_backlog_records|store_oldest_unacked_age_seconds)
        now[$name]=$value ;;
      mqtt_connected)
        case "$line" in *root/uplink/mqtt*) now[up]=$value ;; esac ;;
    esac
  done <<<"$body"
  [ "${now[up]:-0}" = 1 ] && up=up
  printf '%(%T)T  in %6d  rejected %4d  stored %6d  published %6d  backlog %5d (oldest %ss)  upstream %-4s  restarts %d\n' \
    -1 "${total[collector_readings_total]:-0}" \
    "${total[collector_rejected_total]:-0}" \
    "${total[store_appended_records_total]:-0}" \
    "${total[store_acked_records_total]:-0}" \
    "${now[store_backlog_records]:-0}" \
    "${now[store_oldest_unacked_age_seconds]:-0}" \
    "$up" \
    "${total[arbor_actor_restarts_total]:-0}"
}

t=0
while :; do
  nap 1
  t=$(( t + 1 ))
  if ! alive "$gateway_pid"; then
    echo "run.sh: the gateway ended; its last log lines:" >&2
    tail -20 "$work/gateway.log" >&2
    status=1
    break
  fi
  metric_line || true
  if [ "$seconds" != 0 ] && [ "$t" -ge "$seconds" ]; then
    break
  fi
done
cleanup
