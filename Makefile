# Thin wrapper over CMake. `make test` is what CI runs (.ci/run).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all build demo demo-prometheus test test-release test-asan test-tsan bench fuzz install clean format

all: build

build:
	@sh scripts/deps.sh build
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD)/release -j$(JOBS)

demo:
	@sh scripts/deps.sh demo
	@sh scripts/demo.sh

demo-prometheus:
	@sh scripts/deps.sh demo
	@DEMO_PROMETHEUS=1 sh scripts/demo.sh

# Three builds: release (every test), ASan+UBSan under clang (every test,
# plus bounded libFuzzer runs), TSan (the concurrency tests, label
# "threads"); then static musl and aarch64 (under qemu-user) builds.
# scripts/test.sh prints one closing line over all of them. The peers are
# all installed first, so a skipped test fails the run.
test:
	@sh scripts/deps.sh test
	@LUMEN_TEST_NO_SKIP=1 sh scripts/test.sh

# Every benchmark beside its anchors (prometheus-cpp, client_golang,
# client_python, spdlog compiled and header-only) in one run, then a summary
# against the best anchor. About 5 minutes on a quiet 2-core machine once
# built (292 s on 2026-11-27), the interleaved rounds of the hot rows
# included (about 15 s per program and round: LUMEN_BENCH_ROUNDS=0 skips
# them). Each program is stopped after
# LUMEN_BENCH_TIMEOUT seconds (bench/run.sh).
bench:
	@sh scripts/deps.sh bench
	cmake -S . -B $(BUILD)/bench -DCMAKE_BUILD_TYPE=Release -DLUMEN_BENCH=ON -DLUMEN_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)/bench -j$(JOBS)
	@sh bench/run.sh $(BUILD)/bench

install: build
	cmake --install $(BUILD)/release

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cc')
