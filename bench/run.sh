#!/bin/sh
# Run every benchmark of a bench build and print the spec's lines
# ("<library> <workload> <value> <unit>"). Usage: bench/run.sh BUILD_DIR [FILTER]
# FILTER (a substring of a program name) runs a subset.
set -u
dir=$1 filter=${2:-}
src=$(cd "$(dirname "$0")" && pwd)
find "$dir/bench" -type f -name 'bench_*' -perm -u+x | sort | while read -r prog; do
  case $(basename "$prog") in *"$filter"*) ;; *) continue ;; esac
  echo "# $(basename "$prog")"
  "$prog" || echo "# $(basename "$prog") failed: $?"
done
for py in "$src"/*/*.py; do
  [ -f "$py" ] || continue
  case $(basename "$py") in *"$filter"*) ;; *) continue ;; esac
  echo "# $(basename "$py")"
  /usr/bin/python3 "$py" || echo "# $(basename "$py") failed: $?"
done
