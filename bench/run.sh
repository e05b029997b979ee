#!/bin/sh
# Run every benchmark of a bench build and print the spec's lines
# ("<library> <workload> <value> <unit>"), then a summary: for each
# workload lumen's figure, the best anchor measured in the same run and
# the ratio between them.
# Usage: bench/run.sh BUILD_DIR [FILTER]
# FILTER (a substring of a program name) runs a subset. Each program gets
# LUMEN_BENCH_TIMEOUT seconds (default 900): a benchmark that hangs is
# reported and the run goes on.
#
# Trials: the metrics programs (lumen, prometheus-cpp, client_golang,
# client_python) time each update workload by 30 short trials after a
# warm-up; their line carries the minimum and a "# trials <library>
# <workload> <unit> <v>..." line every trial. Before the full runs, the
# rows that matter most (the single-thread ones and counter_inc_2threads)
# are run LUMEN_BENCH_ROUNDS more times (default 3), alternating
# lumen, prometheus-cpp, client_golang, lumen, ... so that the machine's
# slow and fast phases fall on every library; the summary pools the trials
# of every run of a workload and compares the minimum with the minimum and
# the median with the median.
set -u
dir=$1 filter=${2:-}
src=$(cd "$(dirname "$0")" && pwd)
limit=${LUMEN_BENCH_TIMEOUT:-900}
rounds=${LUMEN_BENCH_ROUNDS:-3}
hot="counter_inc histogram_observe labeled_inc counter_inc_1threads histogram_observe_1threads"
hot="$hot labeled_inc_1threads counter_inc_2threads"
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
  echo "# A line with '# trials' after it: its figure is the fastest of those trials (after a warm-up)."
  progs=
  for p in bench_metrics_lumen bench_metrics_prometheus_cpp bench_metrics_golang; do
    [ -x "$dir/bench/metrics/$p" ] || continue
    case $p in *"$filter"*) progs="$progs $dir/bench/metrics/$p" ;; esac
  done
  r=1
  while [ -n "$progs" ] && [ "$r" -le "$rounds" ]; do
    for prog in $progs; do
      # shellcheck disable=SC2086 # $hot is a list of workload names
      run_one "$(basename "$prog") (interleaved round $r of $rounds)" "$prog" $hot
    done
    r=$((r + 1))
  done
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
# comments, never figures, except "# trials" lines, whose values are pooled
# per library, workload and unit: min and median of every trial of every
# run. A workload without trials (renders, memory, logs, spans) shows the
# figure its program printed (its own statistic: see the program's
# comments) in the min column and "-" as median.
echo
echo "# summary: lumen against the best anchor of this run (ratio > 1: lumen ahead)"
echo "# min = fastest trial (the floor the code reaches on this machine), median beside it;"
echo "# ratio min/min and median/median, each against the anchor best at that statistic"
awk '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j] < a[j - 1]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return a[int(n / 2) + 1]
  }
  # stat(lib, w, u): sets smin and smed ("" when the program printed no trials)
  function stat(lib, w, u,   key, i, n, m, a) {
    key = lib SUBSEP w SUBSEP u
    if (!(key in tn)) { smin = fig[key]; smed = ""; return }
    n = tn[key]; m = tv[key, 1]
    for (i = 1; i <= n; i++) { a[i] = tv[key, i]; if (a[i] < m) m = a[i] }
    smin = m; smed = median(a, n)
  }
  function show(v, m) { return m == "" ? v " / -" : sprintf("%.4g / %.4g", v, m) }
  /^# trials / && NF >= 6 {
    key = $3 SUBSEP $4 SUBSEP $5
    for (i = 6; i <= NF; i++) tv[key, ++tn[key]] = $i + 0
    next
  }
  /^#/ || NF != 4 || $3 !~ /^[0-9.eE+-]+$/ { next }
  {
    lib = $1; w = $2; v = $3 + 0; u = $4
    if (!(w in seen)) { seen[w] = 1; order[++n] = w }
    key = lib SUBSEP w SUBSEP u
    # The first figure of a library and workload counts (for lumen, that of
    # its own program: bench/metrics runs before bench/prefork, which repeats
    # counter_inc, histogram_observe and render_10k_series as its
    # single-process baselines); a workload with trials uses those instead.
    if (!(key in fig)) { fig[key] = v; if (lib != "lumen") anchors[w, u] = anchors[w, u] " " lib }
    if (lib == "lumen" && !(w in lu)) lu[w] = u
  }
  END {
    printf "%-34s %-26s %-42s %-9s %s\n", "workload", "lumen min / median",
      "best anchor min / median", "ratio min", "median"
    for (i = 1; i <= n; i++) {
      w = order[i]
      if (!(w in lu)) continue
      u = lu[w]; up = (u ~ /\/s$/)
      stat("lumen", w, u); lmin = smin; lmed = smed
      k = split(anchors[w, u], al, " ")
      bmin = ""; bmed = ""; who = ""; whomed = ""
      for (j = 1; j <= k; j++) {
        stat(al[j], w, u)
        if (bmin == "" || (up ? smin > bmin : smin < bmin)) { bmin = smin; bminmed = smed; who = al[j] }
        if (smed != "" && (bmed == "" || smed < bmed)) { bmed = smed; whomed = al[j] }
      }
      if (who == "") {
        printf "%-34s %-26s %-42s %-9s %s\n", w, show(lmin, lmed) " " u, "(no anchor)", "-", "-"
        continue
      }
      r = up ? lmin / bmin : (lmin > 0 ? bmin / lmin : 0)
      rm = (lmed != "" && bmed != "" && lmed > 0) ? sprintf("%.2fx", bmed / lmed) : "-"
      if (rm != "-" && whomed != who) rm = rm " (" whomed ")"
      printf "%-34s %-26s %-42s %-9s %s\n", w, show(lmin, lmed) " " u, who " " show(bmin, bminmed),
        sprintf("%.2fx", r), rm
    }
  }' "$out"
echo "# bench/run.sh took $(($(date +%s) - start)) s"
