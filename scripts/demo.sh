#!/bin/sh
# The demo: until the demo system lands, build and run the metrics example.
set -eu
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUMEN_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec build/demo/examples/metrics_basic
