#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh -- what the demos' scripts share (examples/collector/run.sh,
# examples/multinode/run.sh), sourced by bash: demo_find, then, once
# `work` (a fresh temp dir) and `brokers=()` are set, demo_init.

# demo_find BUILD PROG...: build (absolute), bin (its examples/collector),
# arbor, arborctl, mosquitto; exit 69 naming the first of them, or of the
# PROGs in bin, that is missing.
demo_find() {
  local f
  build=$(cd "$1" && pwd)
  shift
  bin="$build/examples/collector"
  arbor="$build/src/tools/arbor/arbor"
  arborctl="$build/src/tools/arborctl/arborctl"
  mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  for f in "$arbor" "$arborctl" "${@/#/$bin/}" "$mosquitto"; do
    if [ ! -x "$f" ]; then
      echo "run.sh: $f is missing: build first (README.md: cmake --build build --target collector)" >&2
      exit 69
    fi
  done
}

# demo_init: fd 9, a fifo never written, so that `nap` sleeps without a
# child process (a Ctrl-C then finds the script itself).
demo_init() {
  mkfifo "$work/.tick"
  exec 9<>"$work/.tick"
}

nap() { read -rt "$1" <&9 || true; }

# spawn PROG ARGS...: in the background, in a session of its own, and
# killed should this script die; $! is its pid.
spawn() { setsid setpriv --pdeathsig KILL "$@" 9<&- & }

# connect PORT: fd 3 to 127.0.0.1:PORT, or false.
connect() { { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; }

# free_port: a loopback port nobody listens on now (refused), below the
# kernel's range of ephemeral ports (where an outgoing connection's own
# end could hold it by the time a node binds it) and not handed out by
# take_port before.
demo_taken=" "
free_port() {
  local p i low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 11024 ] || low=32768
  for ((i = 0; i < 200; i++)); do
    p=$(( 10000 + RANDOM % (low - 10000) ))
    case "$demo_taken" in *" $p "*) continue ;; esac
    if ! connect "$p"; then
      echo "$p"
      return 0
    fi
    exec 3<&-
  done
  echo "run.sh: no free port" >&2
  return 1
}

# take_port VAR: VAR (a name, an array element too) := a free_port that
# no later take_port of this script hands out again.
take_port() {
  local demo_port_
  demo_port_=$(free_port) || return 1
  demo_taken+="$demo_port_ "
  printf -v "$1" '%s' "$demo_port_"
}

# start_broker NAME: a mosquitto on a free loopback port, persistent,
# with no limit on what it queues for a subscriber that is away.
start_broker() {
  local name=$1 port dir i j pid
  dir="$work/$name"
  mkdir -p "$dir"
  for ((i = 0; i < 5; i++)); do
    take_port port
    printf '%s\n' "listener $port 127.0.0.1" "allow_anonymous true" \
      "persistence true" "persistence_location $dir/" \
      "max_queued_messages 0" "max_inflight_messages 100" \
      "log_dest file $dir/mosquitto.log" >"$dir/mosquitto.conf"
    # Started as root, mosquitto would become user mosquitto, who may
    # not write here.
    [ "$EUID" = 0 ] && echo "user root" >>"$dir/mosquitto.conf"
    spawn "$mosquitto" -c "$dir/mosquitto.conf" >"$dir/mosquitto.out" 2>&1
    pid=$!
    for ((j = 0; j < 100; j++)); do
      if connect "$port"; then
        exec 3<&-
        brokers+=("$pid")
        eval "${name}_port=$port"
        return 0
      fi
      alive "$pid" || break
      nap 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "run.sh: mosquitto ($name) did not start: $dir/mosquitto.log" >&2
  return 1
}

# alive PID: the process runs (an exited child not yet reaped is a
# zombie: kill -0 would still find it).
alive() {
  local st
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}

# stop_pid PID: SIGTERM, then SIGKILL after 15 s; the caller reaps it.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || return 0
    nap 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# exit_line NAME CODE: how the node NAME ended, "NAME exited CODE (what
# CODE means)": docs/supervision.md, "Node exit codes"; above 128, the
# signal that killed it.
exit_line() {
  local what sig
  case "$2" in
    0) what="a clean stop, requested or the root's auto_shutdown: every child reaped" ;;
    64) what="a usage error: a bad command line" ;;
    66) what="ThreadSanitizer reported a problem: a TSan build's exit status" ;;
    70) what="the root supervisor gave up, at its restart intensity, or the tree did not start, or it shut down after a significant child failed" ;;
    71) what="an unclean stop: a thread actor was abandoned, or a process below the node could not be killed" ;;
    78) what="an invalid tree file or configuration: nothing was started" ;;
    *)
      if [ "$2" -gt 128 ] 2>/dev/null && sig=$(kill -l "$2" 2>/dev/null); then
        what="killed by SIG$sig"
        [ "$sig" != KILL ] || what+=": a kill -9, or run.sh's own when it had not stopped 15 s after its SIGTERM"
      else
        what="not one of arbor run's exit codes"
      fi ;;
  esac
  echo "$1 exited $2 ($what)"
}

# demo_stopping: true once, for the trap that stops everything, in the
# script's own shell (a signal that found a subshell, $(...), runs the
# trap there too: that subshell just exits); false after.  Ignores
# further Ctrl-Cs.
demo_stopping() {
  [ "$BASHPID" = "$$" ] || exit 130
  [ "$stopping" = 1 ] && return 1
  stopping=1
  trap '' INT TERM
  echo
}

# stop_all PID...: stop each (stop_pid), then reap each.
stop_all() {
  local p
  for p in "$@"; do stop_pid "$p"; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

# http_get PORT PATH: GET PATH from 127.0.0.1:PORT; its 200 answer's body
# in $body.  (No command substitution: a Ctrl-C must find this script in
# its own shell, not in a subshell.)
http_get() {
  local line
  body=""
  connect "$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
  IFS= read -r line <&3 || { exec 3<&-; return 1; }
  case "$line" in
    *" 200 "*) ;;
    *) exec 3<&-; return 1 ;;
  esac
  while IFS= read -r line <&3 && [ "${line%$'\r'}" != "" ]; do :; done
  IFS= read -r -d '' body <&3 || true
  exec 3<&-
}

# wait_ready WHAT PORT PID LOG: until the node PID answers 200 on
# /readyz at PORT (its whole tree reported READY); false, with the end of
# its LOG on standard error, when it ended or took over 10 s.
wait_ready() {
  local i
  for ((i = 0; i < 200; i++)); do
    http_get "$2" /readyz && return 0
    alive "$3" || break
    nap 0.05
  done
  echo "run.sh: $1 did not come up; its log:" >&2
  tail -20 "$4" >&2
  return 1
}

# demo_sanitized WHAT LOG: when LOG (a program's standard error) holds a
# sanitizer's report (a ThreadSanitizer, AddressSanitizer or UBSan build:
# TSan's exit status 66 says there is one), print LOG whole on standard
# error, before the work dir with it goes, and return true; the report's
# process actors write to their node's log too.  Silent and false
# otherwise: a normal build never writes such a line.
demo_sanitized() {
  grep -Eqs 'WARNING: ThreadSanitizer|ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer|: runtime error: ' "$2" || return 1
  echo "run.sh: $1's log holds a sanitizer report; the whole log ($2):" >&2
  cat "$2" >&2
  echo "run.sh: (end of $1's log)" >&2
}

# wait_path PATH: until PATH exists (a simulator's symbolic link; 5 s).
wait_path() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ -L "$1" ] && return 0
    nap 0.05
  done
  return 1
}
