#!/usr/bin/env bash
# Replays every shipped scenario — pcaps, trace and the teaching report under
# out/<folder>/<file>/ (scenarios/dns/hosts-file.yaml -> out/dns/hosts-file/report.html) —
# then checks every flow against its expectation.
# Usage: tools/run-scenarios.sh [BUILD_DIR] (default build).
# Exit code: vnetsim check's (0 all expectations met, 1 a flow failed, 2 bad input).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
vnetsim=$build/tools/vnetsim
[ -x "$vnetsim" ] || { echo "run-scenarios: no $vnetsim (build first)" >&2; exit 2; }
find scenarios -name '*.yaml' -not -path '*/.*' -not -name '_*' | sort | while read -r f; do
  rel=${f#scenarios/}
  dir=out/${rel%.yaml}
  echo "== $f -> $dir/"
  mkdir -p "$(dirname "$dir")"
  "$vnetsim" run "$f" --out "$dir" --report "$dir/report.html"
done
echo "== check"
exec "$vnetsim" check scenarios
