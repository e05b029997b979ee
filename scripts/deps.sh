#!/bin/sh
# Install the Debian packages that lumen's build, tests, demo and
# benchmarks need, when they are missing. Usage: deps.sh [build|test|demo|bench]
# Runs apt-get only if something is missing; needs root for that.
set -eu
what=${1:-test}
pkgs="cmake pkg-config make gcc g++ libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev
      libcrypt-dev"
# libsqlite3-dev: the demo, the benchmarks, and liblumen-sqlite (built when
# it is found) with its test.
case $what in
  build) ;;
  demo) pkgs="$pkgs libsqlite3-dev python3 prometheus" ;;
  test) pkgs="$pkgs clang libclang-rt-14-dev prometheus prometheus-pushgateway python3
              python3-prometheus-client protobuf-compiler libsqlite3-dev wrk curl
              nodejs npm chromium binutils openssl
              musl-tools gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
              qemu-user libcmocka-dev:arm64 abigail-tools clang-format
              golang-github-prometheus-client-model-dev libprotobuf-dev" ;;
  bench) pkgs="$pkgs prometheus-cpp-dev libspdlog-dev libfmt-dev python3-prometheus-client wrk
               libsqlite3-dev golang-go golang-github-prometheus-client-golang-dev" ;;
  *) echo "usage: $0 [build|test|demo|bench]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# A node/npm from outside Debian (nvm, nodesource) also serves.
case " $missing " in *" nodejs "*|*" npm "*)
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
  fi ;;
esac
if [ -n "$(echo $missing)" ]; then
  echo "installing:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # The aarch64 tests link Debian's arm64 cmocka: a multiarch package.
  case "$missing" in *:arm64*)
    dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64 ;;
  esac
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# The browser test drives Debian's Chromium with playwright-core from npm
# (pinned in tests/browser/package-lock.json; it never downloads a browser).
# test_trace_otlp decodes OTLP with the OpenTelemetry JS definitions, and
# test_instrument_cross_process runs the OpenTelemetry JS SDK as a client
# (pinned in tests/trace/js/package-lock.json; probed by its newest package,
# so an older install is redone). Installed here, never during ctest.
if [ "$what" = test ]; then
  top=$(cd "$(dirname "$0")/.." && pwd)
  for d in tests/browser:playwright-core tests/trace/js:@opentelemetry/exporter-trace-otlp-proto; do
    dir=${d%%:*} pkg=${d#*:}
    if [ ! -d "$top/$dir/node_modules/$pkg" ]; then
      echo "installing $dir npm packages"
      (cd "$top/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
