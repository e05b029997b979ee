/* bench/log/bench_common.h: timing shared by the lumen and spdlog log
 * benchmarks, so both measure the same way. */
#ifndef LUMEN_BENCH_LOG_COMMON_H
#define LUMEN_BENCH_LOG_COMMON_H
#include <stdint.h>
#include <time.h>

static inline int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define BENCH_LINES 1000000L
#define BENCH_DISABLED 20000000L
#define BENCH_REPEAT 5
#endif
