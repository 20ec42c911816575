#!/usr/bin/env bash
# chargerecon-chaos and chargerecon-bench stopped by SIGTERM (a service manager, `kill`) take
# their children with them: the simulators and the daemon they started must not keep running,
# holding ports and CPU, after the tool is gone. (Ctrl-C in a terminal reaches the whole
# process group anyway; a signal to the tool's pid alone does not.)
set -euo pipefail
src=$1 build=$2

tmp=$(mktemp -d)
tool_pid=
cleanup() {
  [ -n "$tool_pid" ] && kill -KILL "$tool_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The pids whose parent is $1, from /proc (no procps needed).
children_of() {
  local parent=$1 status ppid
  for status in /proc/[0-9]*/status; do
    ppid=$(awk '/^PPid:/ { print $2 }' "$status" 2>/dev/null) || continue
    [ "$ppid" = "$parent" ] && basename "$(dirname "$status")"
  done
  return 0
}

# Whether pid $1 still runs (an exited child nobody reaped yet counts as gone).
running() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

check_tool() {  # name, command...
  local name=$1
  shift
  # Their work directories (kept when they are stopped) go in ours.
  env TMPDIR="$tmp" "$@" >"$tmp/$name.out" 2>&1 &
  tool_pid=$!
  local kids=() i
  # Both simulators up (the daemon may come and go): at least two children.
  for ((i = 0; i < 300; i++)); do
    mapfile -t kids < <(children_of "$tool_pid")
    ((${#kids[@]} >= 2)) && break
    sleep 0.1
  done
  if ((${#kids[@]} < 2)); then
    echo "$name: fewer than two children after 30 s"
    cat "$tmp/$name.out"
    return 1
  fi
  kill -TERM "$tool_pid"
  local status=0
  wait "$tool_pid" || status=$?
  tool_pid=
  if [ "$status" != 143 ]; then
    echo "$name: exit status $status after SIGTERM, expected 143 (killed by SIGTERM)"
    cat "$tmp/$name.out"
    return 1
  fi
  local left=()
  for ((i = 0; i < 100; i++)); do
    left=()
    for pid in "${kids[@]}"; do running "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && break
    sleep 0.1
  done
  if ((${#left[@]} > 0)); then
    for pid in "${left[@]}"; do
      echo "$name: child $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) still runs 10 s after the tool ended"
      kill -KILL "$pid" 2>/dev/null || true
    done
    return 1
  fi
  echo "$name: SIGTERM stopped it and its ${#kids[@]} children"
}

check_tool chaos "$build/tools/chaos/chargerecon-chaos" --build "$build" --charges 100000 --kills 100000 --seed 3 \
  --report "$tmp/chaos.json"
check_tool bench "$build/tools/bench/chargerecon-bench" --build "$build" --charges 1000000 --latency 20 \
  --concurrency 1 --baseline-charges 100 --out "$tmp/bench.json"
