#!/usr/bin/env bash
# bench-compare.sh - our engine against ns-3 on the same workload.
#
# usage: tools/bench-compare.sh [BUILD_DIR] [N]
#   BUILD_DIR  a CMake build directory holding tools/bench-engine and, when
#              ns-3 was found, tools/bench-engine-ns3 (default: build)
#   N          datagrams per run (default: 1000000)
#
# Runs bench-engine and bench-engine-ns3, each without captures and with
# --pcap into a fresh directory under BUILD_DIR, RUNS times each (3 by
# default; set RUNS in the environment to change it), and takes medians. It
# also times dd writing 1 GiB of zeros to the same filesystem, without fsync
# (the pcap writers do not fsync either), as the filesystem's buffered write
# rate. Then it prints a table: ours against ns-3 in packets/s without and
# with captures, our pcap bytes/s against dd's bytes/s, the ratios and the
# targets (>= 30x without captures, >= 10x with, pcap >= 0.5x dd).
#
# Without bench-engine-ns3 it says so and prints only our figures. Exit 0
# when every run worked (whether or not the targets are met), 1 when a run
# failed, 2 on bad arguments or a missing bench-engine.
#
# Needs only bash, coreutils and awk.

set -euo pipefail

usage() {
  echo "usage: $0 [BUILD_DIR] [N]" >&2
  exit 2
}

[[ ${1:-} == -h || ${1:-} == --help ]] && { echo "usage: $0 [BUILD_DIR] [N]"; exit 0; }
(($# <= 2)) || usage
BUILD_DIR=${1:-build}
N=${2:-1000000}
RUNS=${RUNS:-3}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "$0: N must be a positive integer, not '$N'" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "$0: RUNS must be a positive integer, not '$RUNS'" >&2; exit 2; }
[[ -d $BUILD_DIR ]] || { echo "$0: no build directory '$BUILD_DIR'" >&2; exit 2; }

OURS=$BUILD_DIR/tools/bench-engine
NS3=$BUILD_DIR/tools/bench-engine-ns3
[[ -x $OURS ]] || { echo "$0: $OURS not found; build it first (cmake --build $BUILD_DIR)" >&2; exit 2; }
HAVE_NS3=0
if [[ -x $NS3 ]]; then HAVE_NS3=1; fi

# Targets from the issue.
TARGET_NOCAP=30
TARGET_PCAP=10
TARGET_DD=0.5

# Scratch space on the build directory's filesystem, so that the captures and
# dd write to the same disk.
TMP=$(mktemp -d "$BUILD_DIR/bench-tmp.XXXXXX")
# shellcheck disable=SC2317  # called from the trap
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# value KEY FILE: the value of the first KEY=value line in FILE (empty if none).
value() {
  awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$2"
}

# median: the median of the numbers on stdin, one a line.
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit 1
          if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# div A B: A / B, or "n/a" when either is missing or B is 0.
div() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"
    else printf "%.6g\n", a / b }'
}

# verdict RATIO TARGET: "met" or "missed".
verdict() {
  awk -v r="$1" -v t="$2" 'BEGIN { if (r == "n/a") print "-"; else print ((r + 0 >= t + 0) ? "met" : "missed") }'
}

# run_one NAME BIN PCAP(0|1) RUN: runs BIN once, appends its figures to
# $TMP/NAME-PCAP.tsv as "packets_per_s pcap_bytes_per_s delivered sent".
FAILED=0
run_one() {
  local name=$1 bin=$2 pcap=$3 run=$4 out dir="" args=(--packets "$N")
  out=$TMP/$name-$pcap-$run.out
  if ((pcap)); then
    dir=$TMP/pcap-$name-$run
    mkdir "$dir"
    args+=(--pcap "$dir")
  fi
  # Start every run with no dirty pages left by the one before (writeback of
  # an earlier run's captures would otherwise slow this one down).
  sync
  if ! "$bin" "${args[@]}" >"$out" 2>"$out.err"; then
    echo "$0: $bin ${args[*]} failed:" >&2
    cat "$out.err" >&2
    FAILED=1
    if [[ -n $dir ]]; then rm -rf -- "$dir"; fi
    return 0
  fi
  # The captures are not kept: their size is in pcap_bytes.
  if [[ -n $dir ]]; then rm -rf -- "$dir"; fi
  local pps wall pbytes pbps sent delivered
  pps=$(value packets_per_s "$out")
  wall=$(value wall_s "$out")
  pbytes=$(value pcap_bytes "$out")
  sent=$(value packets_sent "$out")
  delivered=$(value packets_delivered "$out")
  pbps=$(div "${pbytes:-0}" "$wall")
  if [[ -z $pps ]]; then
    echo "$0: $bin printed no packets_per_s" >&2
    FAILED=1
    return 0
  fi
  if [[ -n $sent && -n $delivered && $sent != "$delivered" ]]; then
    echo "$0: warning: $name (pcap=$pcap, run $run) delivered $delivered of $sent datagrams" >&2
  fi
  if ((pcap)) && [[ ${pbytes:-0} == 0 ]]; then
    echo "$0: warning: $name wrote no pcap bytes with --pcap" >&2
  fi
  printf '%s %s %s %s\n' "$pps" "$pbps" "${delivered:-?}" "${sent:-?}" >>"$TMP/$name-$pcap.tsv"
}

# column FILE K: the median of column K of FILE.
column_median() {
  [[ -s $1 ]] || { echo n/a; return; }
  awk -v k="$2" '$k != "n/a" { print $k }' "$1" | median || echo n/a
}

# dd_rate: bytes/s of one buffered 1 GiB dd write into $TMP.
DD_BYTES=$((65536 * 16384))
dd_rate() {
  local t0 t1
  sync
  t0=$(date +%s%N)
  dd if=/dev/zero of="$TMP/dd.bin" bs=64k count=16384 status=none
  t1=$(date +%s%N)
  rm -f -- "$TMP/dd.bin"
  awk -v b="$DD_BYTES" -v ns=$((t1 - t0)) 'BEGIN { printf "%.6g\n", (ns > 0 ? b / (ns / 1e9) : 0) }'
}

echo "bench-compare: N=$N datagrams, $RUNS run(s) each, medians; build dir $BUILD_DIR"
if ((!HAVE_NS3)); then echo "bench-compare: $NS3 not found (ns-3 not installed, or VNETSIM_NS3_BENCH=OFF): our figures only"; fi

# Interleave the engines run by run so that drift in the machine's speed
# hits both alike.
for pcap in 0 1; do
  for ((run = 1; run <= RUNS; run++)); do
    echo "  run $run/$RUNS $( ((pcap)) && echo with || echo without ) captures ..." >&2
    run_one ours "$OURS" "$pcap" "$run"
    if ((HAVE_NS3)); then run_one ns3 "$NS3" "$pcap" "$run"; fi
  done
done
for ((run = 1; run <= RUNS; run++)); do
  dd_rate >>"$TMP/dd.tsv"
done

OURS_NOCAP=$(column_median "$TMP/ours-0.tsv" 1)
OURS_PCAP=$(column_median "$TMP/ours-1.tsv" 1)
OURS_PCAP_BPS=$(column_median "$TMP/ours-1.tsv" 2)
DD_BPS=$(median <"$TMP/dd.tsv")
if ((HAVE_NS3)); then
  NS3_NOCAP=$(column_median "$TMP/ns3-0.tsv" 1)
  NS3_PCAP=$(column_median "$TMP/ns3-1.tsv" 1)
  NS3_PCAP_BPS=$(column_median "$TMP/ns3-1.tsv" 2)
else
  NS3_NOCAP=n/a NS3_PCAP=n/a NS3_PCAP_BPS=n/a
fi
R_NOCAP=$(div "$OURS_NOCAP" "$NS3_NOCAP")
R_PCAP=$(div "$OURS_PCAP" "$NS3_PCAP")
R_DD=$(div "$OURS_PCAP_BPS" "$DD_BPS")

# row LABEL OURS OTHER RATIO TARGET
row() {
  awk -v l="$1" -v a="$2" -v b="$3" -v r="$4" -v t="$5" -v v="$6" 'BEGIN {
    fa = (a == "n/a") ? a : sprintf("%.0f", a)
    fb = (b == "n/a") ? b : sprintf("%.0f", b)
    fr = (r == "n/a") ? r : sprintf("%.2fx", r)
    printf "%-26s %15s %15s %9s %9s  %s\n", l, fa, fb, fr, ">= " t "x", v }'
}

echo
printf '%-26s %15s %15s %9s %9s  %s\n' "" "ours" "ns-3" "ratio" "target" ""
row "packets/s, no captures" "$OURS_NOCAP" "$NS3_NOCAP" "$R_NOCAP" "$TARGET_NOCAP" "$(verdict "$R_NOCAP" "$TARGET_NOCAP")"
row "packets/s, with pcap" "$OURS_PCAP" "$NS3_PCAP" "$R_PCAP" "$TARGET_PCAP" "$(verdict "$R_PCAP" "$TARGET_PCAP")"
printf '%-26s %15s %15s %9s %9s  %s\n' "" "ours" "dd, no fsync" "ratio" "target" ""
row "pcap bytes/s" "$OURS_PCAP_BPS" "$DD_BPS" "$R_DD" "$TARGET_DD" "$(verdict "$R_DD" "$TARGET_DD")"
if ((HAVE_NS3)); then
  echo
  echo "(ns-3 pcap bytes/s: $(awk -v v="$NS3_PCAP_BPS" 'BEGIN { print (v == "n/a") ? v : sprintf("%.0f", v) }'))"
fi
exit "$FAILED"
