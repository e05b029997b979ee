/*
 * bench/log/bench_log_spdlog.cpp: the anchor for the log workloads. spdlog
 * 1.10 writes the same JSON line through its pattern formatter (UTC time
 * with microseconds, level, logger name, then the message built by fmt
 * with the three fields) to /dev/null with a thread-safe file sink. spdlog
 * escapes nothing: the values are trusted as they are.
 */
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>

extern "C" {
#include "bench_common.h"
}

static std::shared_ptr<spdlog::logger> lg;
static volatile double duration = 0.0123;

static void lines(long n)
{
    for (long i = 0; i < n; i++)
        lg->info("request served\",\"path\":\"{}\",\"status\":{},\"duration_s\":{}}}",
                 "/api/items", 200, (double)duration);
}

static double run_threads(int threads)
{
    std::thread t[2];
    int64_t t0 = bench_now();
    for (int i = 0; i < threads; i++)
        t[i] = std::thread(lines, BENCH_LINES);
    for (int i = 0; i < threads; i++)
        t[i].join();
    lg->flush();
    return (double)(bench_now() - t0) / BENCH_LINES;
}

int main()
{
    lg = spdlog::basic_logger_mt("bench", "/dev/null");
    lg->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",\"logger\":\"%n\",\"msg\":\"%v",
                    spdlog::pattern_time_type::utc);
    lg->set_level(spdlog::level::info);
    double best1 = 1e30, best2 = 1e30, bestd = 1e30;
    for (int r = 0; r < BENCH_REPEAT; r++) {
        double v = run_threads(1);
        best1 = v < best1 ? v : best1;
        v = run_threads(2);
        best2 = v < best2 ? v : best2;
        int64_t t0 = bench_now();
        for (long i = 0; i < BENCH_DISABLED; i++)
            lg->debug("request served\",\"path\":\"{}\",\"status\":{},\"duration_s\":{}}}",
                      "/api/items", 200, (double)duration);
        v = (double)(bench_now() - t0) / BENCH_DISABLED;
        bestd = v < bestd ? v : bestd;
    }
    std::printf("spdlog log_json_line %.1f ns/line\n", best1);
    std::printf("spdlog log_json_line_2threads %.1f ns/line\n", best2);
    std::printf("spdlog log_disabled_level %.2f ns/call\n", bestd);
    return 0;
}
