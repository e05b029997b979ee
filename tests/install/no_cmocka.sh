#!/bin/sh
# The README's build on a machine without cmocka: pkg-config sees every
# package of this machine but cmocka. The configure must say that the tests
# are off because cmocka is missing, the build and install must succeed and
# a program must build against the installed package (install_consumer.sh);
# asking for the tests then (-DLUMEN_TESTS=ON) must fail, naming the package
# to install.
# Usage: no_cmocka.sh SOURCE_DIR THIS_DIR CC
set -eu
src=$1 here=$2 cc=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A pkg-config search path with links to every .pc file but cmocka's; the
# first directory of the default path that has a name wins, as there.
mkdir "$tmp/pc"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
  [ -d "$d" ] || continue
  for f in "$d"/*.pc; do
    n=$(basename "$f")
    [ -e "$f" ] && [ "$n" != cmocka.pc ] && [ ! -e "$tmp/pc/$n" ] && ln -s "$f" "$tmp/pc/$n"
  done
done
unset PKG_CONFIG_PATH
export PKG_CONFIG_LIBDIR="$tmp/pc"
pkg-config --exists cmocka && fail "cmocka is still visible to pkg-config"
ls "$tmp/pc" | grep -q . || fail "no .pc file found on this machine"

# README: cmake -S . -B build && cmake --build build -j && cmake --install build
cmake -S "$src" -B "$tmp/build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_INSTALL_PREFIX="$tmp/prefix" \
  > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configure without cmocka"; }
grep -E '^-- +tests +' "$tmp/configure.log" || true
grep -qE '^-- +tests +OFF \(cmocka not found' "$tmp/configure.log" ||
  fail "the configure summary does not say that the tests are off because cmocka is missing"
cmake --build "$tmp/build" -j2 > "$tmp/build.log" 2>&1 ||
  { tail -40 "$tmp/build.log"; fail "build without cmocka"; }
[ ! -e "$tmp/build/tests" ] || fail "a tests directory was configured without cmocka"
cmake --install "$tmp/build" > "$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "install without cmocka"; }
sh "$here/install_consumer.sh" "$tmp/build" "$here" "$cc" ||
  fail "a program does not build against the package installed without cmocka"

# Tests asked for without cmocka: a configure error naming libcmocka-dev.
if cmake -S "$src" -B "$tmp/build-tests" -DCMAKE_C_COMPILER="$cc" -DLUMEN_TESTS=ON \
     > "$tmp/configure-tests.log" 2>&1; then
  fail "-DLUMEN_TESTS=ON configured without cmocka"
fi
grep -q "libcmocka-dev" "$tmp/configure-tests.log" || {
  cat "$tmp/configure-tests.log"; fail "-DLUMEN_TESTS=ON failed without naming libcmocka-dev"; }
grep -A3 "CMake Error" "$tmp/configure-tests.log"
echo "built, installed and used without cmocka; LUMEN_TESTS=ON refused with the package named"
