#!/bin/sh
# Run every benchmark of a bench build and print the spec's lines
# ("<library> <workload> <value> <unit>"), then a summary: for each
# workload lumen's figure, the best anchor measured in the same run and
# the ratio between them.
# Usage: bench/run.sh BUILD_DIR [FILTER]
# FILTER (a substring of a program name) runs a subset. Each program gets
# LUMEN_BENCH_TIMEOUT seconds (default 900): a benchmark that hangs is
# reported and the run goes on.
set -u
dir=$1 filter=${2:-}
src=$(cd "$(dirname "$0")" && pwd)
limit=${LUMEN_BENCH_TIMEOUT:-900}
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM
start=$(date +%s)

run_one() { # name, command...
  name=$1
  shift
  echo "# $name"
  timeout "$limit" "$@"
  rc=$?
  [ $rc -eq 124 ] && echo "# $name stopped after ${limit} s"
  [ $rc -ne 0 ] && echo "# $name failed: $rc"
}

{
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
  echo "# <workload>_<N>threads: wall ns per op per thread (a trial's wall time / the ops each"
  echo "# of its N threads did); total throughput is N / that figure. Totals are checked exact."
  for prog in $(find "$dir/bench" -type f -name 'bench_*' -perm -u+x | sort); do
    case $(basename "$prog") in *"$filter"*) ;; *) continue ;; esac
    run_one "$(basename "$prog")" "$prog"
  done
  for py in "$src"/*/*.py; do
    [ -f "$py" ] || continue
    case $(basename "$py") in *"$filter"*) ;; *) continue ;; esac
    run_one "$(basename "$py")" /usr/bin/python3 "$py"
  done
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out"

# The summary. Lower is better, except for rates (units ending in "/s").
# Only figures in the same unit are compared; lines starting with '#' are
# comments, never figures.
echo
echo "# summary: lumen against the best anchor of this run (ratio > 1: lumen ahead)"
awk '
  /^#/ || NF != 4 || $3 !~ /^[0-9.eE+-]+$/ { next }
  {
    lib = $1; w = $2; v = $3 + 0; u = $4
    if (!(w in seen)) { seen[w] = 1; order[++n] = w }
    # The first lumen figure of a workload is that of its own program (bench/metrics
    # runs before bench/prefork, which repeats counter_inc, histogram_observe
    # and render_10k_series as its single-process baselines).
    if (lib == "lumen") { if (!(w in lv)) { lv[w] = v; lu[w] = u }; next }
    key = w SUBSEP u
    up = (u ~ /\/s$/)
    if (!(key in best) || (up ? v > best[key] : v < best[key])) { best[key] = v; who[key] = lib }
  }
  END {
    printf "%-34s %-22s %-38s %s\n", "workload", "lumen", "best anchor", "ratio"
    for (i = 1; i <= n; i++) {
      w = order[i]
      if (!(w in lv)) continue
      key = w SUBSEP lu[w]
      if (key in best) {
        up = (lu[w] ~ /\/s$/)
        r = up ? lv[w] / best[key] : (lv[w] > 0 ? best[key] / lv[w] : 0)
        printf "%-34s %-22s %-38s %.2fx\n", w, lv[w] " " lu[w], who[key] " " best[key], r
      } else
        printf "%-34s %-22s %-38s %s\n", w, lv[w] " " lu[w], "(no anchor)", "-"
    }
  }' "$out"
echo "# bench/run.sh took $(($(date +%s) - start)) s"
