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
# liblumen-http, shared, through the CMake package.
if [ -x "$tmp/cmake-build/consumer_http" ]; then
  LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/cmake-build/consumer_http" >> "$tmp/out1"
  grep -q '^lumen-http port [1-9]' "$tmp/out1"
fi
# 2. pkg-config.
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH="$libdir"
"$cc" $flags -o "$tmp/consumer2" "$here/consumer/consumer.c" $(pkg-config --cflags --libs lumen)
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/consumer2" > "$tmp/out2"
grep -q '^lumen ' "$tmp/out2"
if pkg-config --exists lumen-http; then
  "$cc" $flags -o "$tmp/consumer3" "$here/consumer/consumer_http.c" $(pkg-config --cflags --libs lumen-http)
  LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/consumer3" > "$tmp/out3"
  grep -q '^lumen-http port [1-9]' "$tmp/out3"
  cat "$tmp/out3"
fi
cat "$tmp/out1"
echo "installed package works through find_package and pkg-config"
