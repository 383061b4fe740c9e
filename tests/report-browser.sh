#!/bin/sh
# The teaching report in a real browser: headless Chromium opens the report of a shipped
# scenario from a file:// URL (no network: the report must need none), and
#   - the page logs nothing to its console (no script error, no failed load);
#   - its script ran (the flow counter is filled in);
#   - every flow of the trace has its row, and its sequence diagram (or, for an activity or
#     a Bastion session, links to its parts'), and every dropped flow a cross where it broke
#     (an aborted flow was not refused anywhere: the simulator gave up);
#   - a screenshot is saved (OUTDIR/report.png; docs/report.png is one of these).
# Exits 77 (ctest's SKIP) only when there is no chromium.
#
# usage: report-browser.sh VNETSIM SOURCE_DIR OUTDIR [SCENARIO]
set -eu

vnetsim=$1
src=$2
outdir=$3
scenario=${4:-$src/scenarios/services/studio-p2s.yaml}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "SKIP: chromium is not installed (tools/install-deps.sh installs it)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vnetsim-browser-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$outdir"

"$vnetsim" run "$scenario" --out "$tmp/run" --report "$tmp/run/report.html" >/dev/null

# A fresh profile each time, nothing that phones home.
chrome() {
    profile=$tmp/profile-$1
    shift
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@"
}

chrome dom --enable-logging=stderr --v=0 --dump-dom "file://$tmp/run/report.html" \
    >"$tmp/dom.html" 2>"$tmp/console.log" || {
    echo "FAIL: chromium could not load the report"
    cat "$tmp/console.log"
    exit 1
}
# Chromium logs every console message as "...:INFO:CONSOLE(line)] "message", source: ...".
if grep -E ':CONSOLE[(:]' "$tmp/console.log"; then
    echo "FAIL: the report logged to the browser console (above)"
    exit 1
fi

fail=0
expect() {
    if ! grep -qF -- "$1" "$tmp/dom.html"; then
        echo "FAIL: not in the DOM: $1"
        fail=1
    fi
}

# The verdicts, from the trace: flow name and verdict per line.
sed -n 's/^{"type":"verdict","flow":"\([^"]*\)","verdict":"\([a-z]*\)".*/\1 \2/p' \
    "$tmp/run/trace.jsonl" >"$tmp/verdicts"
n=$(wc -l <"$tmp/verdicts")
[ "$n" -gt 0 ] || { echo "FAIL: no verdict in the trace"; exit 1; }
expect "id=\"flow-count\">$n of $n flows<"
expect '<svg width="'   # the topology, as Graphviz drew it
while read -r flow verdict; do
    expect "data-flow=\"$flow\"><td><a href=\"#flow-"
    # The flow's section, from its heading to its end.
    awk -v head="data-flow=\"$flow\"><h3>" \
        'index($0, head) { on = 1 } on { print } on && /<\/section>/ { exit }' \
        "$tmp/dom.html" >"$tmp/section.html"
    if ! grep -qF "\"flow\":\"$flow\",\"frame\"" "$tmp/run/trace.jsonl"; then
        # No step of its own: its packets are its parts'.
        grep -qF 'class="parts"' "$tmp/section.html" ||
            { echo "FAIL: $flow has neither steps nor parts in the report"; fail=1; }
        continue
    fi
    grep -qF "role=\"img\" data-flow=\"$flow\">" "$tmp/section.html" ||
        { echo "FAIL: no sequence diagram for $flow"; fail=1; }
    if [ "$verdict" = dropped ]; then
        grep -qF '<g class="drop decisive"' "$tmp/section.html" ||
            { echo "FAIL: no cross where $flow broke"; fail=1; }
    fi
done <"$tmp/verdicts"
[ "$fail" -eq 0 ] || exit 1

chrome shot --window-size=1400,1000 --screenshot="$outdir/report.png" \
    "file://$tmp/run/report.html" >/dev/null 2>&1
[ -s "$outdir/report.png" ] || { echo "FAIL: no screenshot"; exit 1; }
echo "ok: $n flows in the DOM, no console message; screenshot $outdir/report.png"
