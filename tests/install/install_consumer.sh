#!/bin/sh
# Usage: install_consumer.sh BUILD_DIR THIS_DIR CC [FLAGS]
set -eu
build=$1 here=$2 cc=$3 flags=${4:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
# 1. CMake package: lumen::lumen.
cmake -S "$here/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/cmake-build/consumer" > "$tmp/out1"
grep -q '^lumen ' "$tmp/out1"
# 2. pkg-config.
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH="$libdir"
"$cc" $flags -o "$tmp/consumer2" "$here/consumer/consumer.c" $(pkg-config --cflags --libs lumen)
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/consumer2" > "$tmp/out2"
grep -q '^lumen ' "$tmp/out2"
cat "$tmp/out1"
echo "installed package works through find_package and pkg-config"
