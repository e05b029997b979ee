#!/bin/sh
# make demo: build the microposts demo, start microposts-store and
# microposts-api on free loopback ports, run microposts-load for
# DEMO_SECONDS (default 30; until Ctrl-C when run in a terminal without
# DEMO_SECONDS), then print what the three signals saw.
# DEMO_PROMETHEUS=1 (make demo-prometheus) also runs Debian's Prometheus
# server scraping both services and prints a PromQL answer.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}/demo
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
echo "building the demo (in $BUILD)..."
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUMEN_TESTS=OFF -DLUMEN_HTTP=ON >"$BUILD.log" 2>&1 ||
  { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j"$JOBS" --target microposts-store microposts-api microposts-load >>"$BUILD.log" 2>&1 ||
  { tail -40 "$BUILD.log"; exit 1; }
bin=$BUILD/examples/microposts
work=$(mktemp -d /tmp/microposts-demo.XXXXXX)
# The services run in sessions of their own (setsid), so that Ctrl-C in the
# terminal stops the load generator, not the services the report then reads.
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_file() { # file seconds
  i=0
  while [ ! -s "$1" ]; do
    i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && { echo "timed out waiting for $1" >&2; return 1; }
    sleep 0.1
  done
}
field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; }

setsid "$bin/microposts-store" --data "$work" --ready-file "$work/store.ready" \
  --fail-rate "${DEMO_FAIL_RATE:-0.05}" --slow-rate "${DEMO_SLOW_RATE:-0.03}" \
  >"$work/store.log" 2>&1 &
pids="$pids $!"
wait_file "$work/store.ready" 10
store=$(field "$work/store.ready" api); store_admin=$(field "$work/store.ready" admin)

LUMEN_CONSOLE_PEERS="http://127.0.0.1:$store_admin" \
  setsid "$bin/microposts-api" --store "http://127.0.0.1:$store" --ready-file "$work/api.ready" \
  >"$work/api.log" 2>&1 &
pids="$pids $!"
wait_file "$work/api.ready" 10
api=$(field "$work/api.ready" api); api_admin=$(field "$work/api.ready" admin)

prom_port=""
if [ "${DEMO_PROMETHEUS:-}" = 1 ]; then
  prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$work/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: microposts
    static_configs:
      - targets: ['127.0.0.1:$api_admin']
        labels: {service: microposts-api}
      - targets: ['127.0.0.1:$store_admin']
        labels: {service: microposts-store}
YML
  setsid prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
  pids="$pids $!"
fi

cat <<MSG

microposts is running:
  API                 http://127.0.0.1:$api/api/posts/1
  console (API)       http://127.0.0.1:$api_admin/         metrics charts
                      http://127.0.0.1:$api_admin/traces   traces across both services
                      http://127.0.0.1:$api_admin/logs     log lines, linked to traces
  console (store)     http://127.0.0.1:$store_admin/
  /metrics            http://127.0.0.1:$api_admin/metrics  http://127.0.0.1:$store_admin/metrics
MSG
[ -n "$prom_port" ] && echo "  Prometheus          http://127.0.0.1:$prom_port/graph"
echo "  logs                $work/api.log $work/store.log"

seconds=${DEMO_SECONDS:-}
if [ -z "$seconds" ]; then
  if [ -t 0 ] && [ -t 1 ]; then seconds=0; else seconds=30; fi
fi
if [ "$seconds" = 0 ]; then
  echo; echo "load running until Ctrl-C..."
  trap ':' INT
else
  echo; echo "load running for $seconds s..."
fi
"$bin/microposts-load" --api "http://127.0.0.1:$api" --seconds "$seconds" \
  --rate "${DEMO_RATE:-60}" >"$work/load.out" || true
trap 'exit 130' INT

python3 scripts/demo_report.py --api-admin "http://127.0.0.1:$api_admin" \
  --store-admin "http://127.0.0.1:$store_admin" --load "$work/load.out" \
  ${prom_port:+--prometheus "http://127.0.0.1:$prom_port"}
