#!/usr/bin/env bash
# The short chaos run (issue 5): chargerecond killed with SIGKILL 50 times at seeded moments
# (startup, listing, billing, acknowledging) and restarted, against crm-sim and billing-fake
# with every fault on; then faults off, a final --once drain, and the audit of both simulators'
# states and the ledger (sim-audit's rules, drained, no charge dead). Fails on any discrepancy,
# a daemon that exits on its own, a drain that does not finish, or fewer kills than asked.
#
# No timing is asserted: kill moments follow progress the simulators counted (or a delay after
# the spawn, for startup kills), and a moment that does not come is replaced by a kill after a
# generous wait, so a slow (sanitizer) build shifts the kills but checks the same things.
set -euo pipefail
src=$1 build=$2

chaos=$build/tools/chaos/chargerecon-chaos
if [ ! -x "$chaos" ]; then
  echo "$chaos is missing: build the chargerecon-chaos target"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
"$chaos" --build "$build" --charges 600 --kills 50 --seed 5 --report "$tmp/chaos.json" || status=$?
if [ "$status" != 0 ]; then
  echo "the chaos run failed (exit $status): see the discrepancies above and the kept work directory"
  exit 1
fi
python3 - "$tmp/chaos.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
problems = []
if r["kills_survived"] < 50:
    problems.append(f"only {r['kills_survived']} kills survived, 50 asked")
if r["discrepancy_count"] != 0 or not r["passed"]:
    problems.append(f"{r['discrepancy_count']} discrepancies")
if r["drain_exit"] != 0:
    problems.append(f"the drain exited {r['drain_exit']}")
# The run must have been hostile: faults of both simulators injected, charges billed and held.
if sum(r["faults_injected"]["crm_sim"].values()) == 0 or sum(r["faults_injected"]["billing_fake"].values()) == 0:
    problems.append("no fault was injected on one side")
if r["billing"]["billed"] == 0 or r["ledger_by_state"]["held"] == 0:
    problems.append("nothing billed or nothing held: the run proved nothing")
print(f"chaos: {r['kills_survived']} kills survived, {r['charges']} charges, "
      f"{r['restarts']} restarts, wall {r['wall_s']:.1f} s, discrepancies {r['discrepancy_count']}")
if problems:
    sys.exit("; ".join(problems))
PY
