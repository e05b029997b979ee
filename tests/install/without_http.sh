#!/bin/sh
# liblumen alone (LUMEN_HTTP=OFF): the summary says why liblumen-http is not
# built, no lumen/http*.h header and no lumen-http.pc is installed, and the
# CMake package gives lumen::lumen but fails find_package(lumen COMPONENTS
# http) with the reason. The package accepts the same minor version only
# while the major version is 0 (SameMinorVersion).
# Usage: without_http.sh SOURCE_DIR THIS_DIR CC MAJOR MINOR
set -eu
src=$1 here=$2 cc=$3 major=$4 minor=$5
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake -S "$src" -B "$tmp/build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_INSTALL_PREFIX="$tmp/prefix" \
  -DLUMEN_HTTP=OFF -DLUMEN_TESTS=OFF -DLUMEN_EXAMPLES=OFF > "$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "configure with LUMEN_HTTP=OFF"; }
grep -E '^-- +liblumen-http +' "$tmp/configure.log" || true
grep -qE '^-- +liblumen-http +NOT built: LUMEN_HTTP=OFF' "$tmp/configure.log" ||
  fail "the configure summary does not say why liblumen-http is not built"
cmake --build "$tmp/build" -j2 > "$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log"; fail build; }
cmake --install "$tmp/build" > /dev/null

inc=$tmp/prefix/include/lumen
[ -e "$inc/lumen.h" ] && [ -e "$inc/common.h" ] && [ -e "$inc/version.h" ] ||
  fail "liblumen's headers are not installed"
if ls "$inc" | grep -q '^http'; then
  fail "installed without liblumen-http, yet: $(ls "$inc" | grep '^http' | tr '\n' ' ')"
fi
if find "$tmp/prefix" -name 'lumen-http.pc' -o -name 'liblumen-http*' | grep -q .; then
  fail "liblumen-http's library or .pc file is installed"
fi
echo "installed headers: $(ls "$inc" | tr '\n' ' ')"

probe() { # name version components...: configure a project doing find_package(lumen ...)
  name=$1 ver=$2; shift 2
  mkdir -p "$tmp/$name"
  cat > "$tmp/$name/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(probe C)
find_package(lumen $ver REQUIRED $*)
add_executable(consumer $here/consumer/consumer.c)
target_link_libraries(consumer PRIVATE lumen::lumen)
CMAKE
  cmake -S "$tmp/$name" -B "$tmp/$name/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    -DCMAKE_C_COMPILER="$cc" > "$tmp/$name.log" 2>&1
}
probe plain "" || { cat "$tmp/plain.log"; fail "find_package(lumen) without components"; }
cmake --build "$tmp/plain/b" > /dev/null || fail "the consumer does not build"
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/plain/b/consumer" ||
  fail "the consumer does not run"
if probe http "" COMPONENTS http; then fail "find_package(lumen COMPONENTS http) succeeded"; fi
tr '\n' ' ' < "$tmp/http.log" | grep -q "no liblumen-http: it was not built *(LUMEN_HTTP=OFF)" ||
  { cat "$tmp/http.log"; fail "COMPONENTS http failed without saying why"; }
grep -A4 "CMake Error" "$tmp/http.log" | head -8
if probe nosuch "" COMPONENTS nosuch; then fail "an unknown component was accepted"; fi

# Version compatibility: MAJOR.MINOR is accepted; while MAJOR is 0, the
# next minor and the previous one are not.
probe same "$major.$minor" || { cat "$tmp/same.log"; fail "find_package(lumen $major.$minor)"; }
if [ "$major" -eq 0 ]; then
  if probe next "$major.$((minor + 1))"; then fail "0.x: lumen $major.$((minor + 1)) accepted"; fi
  if [ "$minor" -gt 0 ]; then
    if probe prev "$major.$((minor - 1))"; then fail "0.x: lumen $major.$((minor - 1)) accepted"; fi
    grep -q "not compatible\|not found\|version" "$tmp/prev.log" || { cat "$tmp/prev.log"; fail "prev"; }
  fi
fi
echo "liblumen alone: no http headers installed, COMPONENTS http refused with the reason, version $major.$minor only"
