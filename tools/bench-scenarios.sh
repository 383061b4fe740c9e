#!/usr/bin/env bash
# bench-scenarios.sh [BUILD_DIR] — time and peak memory of `vnetsim check` and `vnetsim run`
# on generated hub-and-spoke scenarios (tools/gen-hub-spoke.sh): 100 and 1,000 spokes,
# 10k and 100k flows, plus `check` over the shipped scenarios. Prints one line per case:
#   case=check spokes=1000 flows=100000 wall_s=7.31 peak_rss_kb=587700 result="100000 passed, 0 failed"
# Targets (issue 6): 1,000 spokes x 100 flows < 30 s and < 1 GiB; cost linear in flows;
# all shipped scenarios checked in < 1 s. Needs GNU time (/usr/bin/time, Debian `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
vnetsim=$build/tools/vnetsim
[ -x "$vnetsim" ] || { echo "bench-scenarios: no $vnetsim" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-scenarios: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # name, then the command
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || true
  read -r wall rss < "$work/time"
  printf '%s wall_s=%s peak_rss_kb=%s result="%s"\n' "$name" "$wall" "$rss" "$(tail -1 "$work/out")"
}

measure "case=check-shipped" "$vnetsim" check scenarios
for spokes in 100 1000; do
  for total in 10000 100000; do
    per=$(( total / spokes ))
    tools/gen-hub-spoke.sh "$spokes" "$per" > "$work/s.yaml"
    measure "case=check spokes=$spokes flows=$total" "$vnetsim" check "$work/s.yaml"
    rm -rf "$work/run"
    measure "case=run spokes=$spokes flows=$total" "$vnetsim" run "$work/s.yaml" --out "$work/run"
    rm -rf "$work/run"
  done
done
