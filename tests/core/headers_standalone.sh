#!/bin/sh
# Compile every public header alone (twice, to check its include guard) as
# C99 and C11 and as C++11, C++14, C++17 and C++20, with -Wall -Wextra
# -Wpedantic -Werror, under the build's compilers ($CC, $CXX) and under gcc
# and clang (g++, clang++) when they are installed. The macros are expanded
# by test_core_macros_c/_cxx.
# Usage: headers_standalone.sh INCLUDE_DIR GENERATED_INCLUDE_DIR
set -u
inc=$1 gen=$2
fail=0 n=0 runs=0

# The compilers to use: each found one once (by its resolved path).
pick() {
  seen=""
  for c in "$@"; do
    [ -n "$c" ] || continue
    p=$(command -v "$c" 2>/dev/null) || continue
    r=$(readlink -f "$p")
    case " $seen " in *" $r "*) continue ;; esac
    seen="$seen $r"
    echo "$p"
  done
}
ccs=$(pick "${CC:-}" gcc clang)
cxxs=$(pick "${CXX:-}" g++ clang++)
[ -n "$ccs" ] || { echo "no C compiler found"; exit 1; }

check() { # compiler language std header
  runs=$((runs + 1))
  if ! printf '#include "%s"\n#include "%s"\nint lumen_header_check;\n' "$4" "$4" |
       "$1" -std="$3" -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -I"$gen" \
         -x "$2" - 2> "$tmp/err"; then
    echo "FAIL: $4 as $3 ($(basename "$1"))"
    sed 's/^/    /' "$tmp/err"
    fail=1
  fi
}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for h in "$inc"/lumen/*.h "$gen"/lumen/version.h; do
  name=lumen/$(basename "$h")
  n=$((n + 1))
  for cc in $ccs; do
    for std in c99 c11; do check "$cc" c "$std" "$name"; done
  done
  for cxx in $cxxs; do
    for std in c++11 c++14 c++17 c++20; do check "$cxx" c++ "$std" "$name"; done
  done
done
echo "checked $n headers in $runs compilations: C99, C11 with" $(for c in $ccs; do basename "$c"; done)
if [ -n "$cxxs" ]; then
  echo "  C++11, C++14, C++17, C++20 with" $(for c in $cxxs; do basename "$c"; done)
else
  echo "no C++ compiler found: the headers were not compiled as C++"
  [ "$fail" -eq 0 ] && exit 77
fi
exit $fail
