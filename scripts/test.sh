#!/bin/sh
# Build and run the whole suite three ways and print one closing line:
#   release   gcc, every test
#   asan      clang, AddressSanitizer + UndefinedBehaviorSanitizer, every
#             test, and a bounded libFuzzer run per fuzz target
#   tsan      gcc, ThreadSanitizer, the tests labelled "threads"
# Environment: BUILD (default build), JOBS, LUMEN_TEST_ONLY (release, asan
# or tsan, to run one of them), LUMEN_TEST_NO_SKIP (set by `make test`, which
# installs every peer: a skipped test then fails the run).
set -u
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
only=${LUMEN_TEST_ONLY:-}
total_pass=0 total_fail=0 total_skip=0 status=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

run() { # name cc ctest-args cmake-args...
  name=$1 cc=$2 args=$3; shift 3
  [ -n "$only" ] && [ "$only" != "$name" ] && return 0
  dir=$BUILD/$name
  echo "=== $name build ==="
  if ! CC=$cc CXX=$(echo "$cc" | sed 's/clang$/clang++/; s/gcc$/g++/') \
       cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUMEN_HTTP=ON "$@" >"$dir.cmake.log" 2>&1 ||
     ! cmake --build "$dir" -j"$JOBS" >"$dir.build.log" 2>&1; then
    cat "$dir.cmake.log" "$dir.build.log" 2>/dev/null | tail -60
    echo "=== $name: build FAILED ==="
    status=1; total_fail=$((total_fail + 1))
    return 0
  fi
  echo "=== $name tests ==="
  (cd "$dir" && ctest --output-on-failure --timeout 600 $args) | tee "$dir.ctest.log"
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$dir.ctest.log" | tail -1)
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  count=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
  if [ -z "$line" ]; then
    echo "=== $name: no tests ran ==="; status=1; total_fail=$((total_fail + 1)); return 0
  fi
  # ctest counts a skipped test (SKIP_RETURN_CODE) among the passed ones and
  # lists it under "did not run" as "(Skipped)".
  skipped=$(grep -cE '^[[:space:]]+[0-9]+ - .+ \(Skipped\)$' "$dir.ctest.log")
  total_pass=$((total_pass + count - failed - skipped)); total_fail=$((total_fail + failed))
  total_skip=$((total_skip + skipped))
  [ "$failed" -eq 0 ] || status=1
}

mkdir -p "$BUILD"
run release gcc "" -DLUMEN_SANITIZE=
run asan clang "" -DLUMEN_SANITIZE=address -DLUMEN_FUZZ=ON
run tsan gcc "-L threads" -DLUMEN_SANITIZE=thread
echo
if [ "$total_skip" -gt 0 ] && [ -n "${LUMEN_TEST_NO_SKIP:-}" ]; then
  echo "skipped tests fail this run: every peer they need was installed by scripts/deps.sh"
  status=1
fi
echo "lumen: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
