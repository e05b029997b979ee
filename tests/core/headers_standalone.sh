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

# A header that includes another library's header (http_curl.h:
# <curl/curl.h>, http_mhd.h: <microhttpd.h>, sqlite.h: <sqlite3.h>) is
# compiled by the compilers that can find that header; one that cannot (a
# cross compiler: Debian installs <curl/curl.h> under the host's multiarch
# directory only) skips it and says so.
foreign() { # compiler language header -> 0 when its other libraries' headers are found
  for dep in $(sed -n 's/^#include <\([^>]*\)>.*/\1/p' "$inc/$3"); do
    case $dep in lumen/*|std*.h|string.h|limits.h|float.h|time.h|inttypes.h|sys/*) continue ;; esac
    printf '#include <%s>\n' "$dep" | "$1" -fsyntax-only -x "$2" - >/dev/null 2>&1 || {
      echo "skip: $3 with $(basename "$1") ($2): <$dep> not found"
      return 1
    }
  done
  return 0
}

check() { # compiler language std header
  case $4 in lumen/version.h) ;; *) foreign "$1" "$2" "$4" || return 0 ;; esac
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
