#!/usr/bin/env bash
# The service unit passes `systemd-analyze verify` cleanly and rates 2.0 or better in
# `systemd-analyze security --offline=true` (issue 4). The unit is checked as installed, with
# ExecStart pointed at the freshly built binary so verify can see an executable.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/sbin/chargerecond|$build/daemon/chargerecond|" "$src/systemd/chargerecon.service" > "$tmp/chargerecon.service"

out=$(cd "$tmp" && systemd-analyze verify "$tmp/chargerecon.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "systemd-analyze verify is not clean:"; echo "$out"; exit 1; fi

report=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=20 "$tmp/chargerecon.service" 2>&1) || {
  echo "$report" | tail -20; echo "exposure above 2.0"; exit 1; }
level=$(echo "$report" | sed -n 's/.*Overall exposure level for chargerecon.service: \([0-9.]*\).*/\1/p')
echo "exposure level: $level"
awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 2.0) }'
