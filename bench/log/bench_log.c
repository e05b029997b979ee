/*
 * bench/log/bench_log.c: lumen's log workloads (bench-spec.md): a JSON line
 * with timestamp, level, logger, message "request served" and fields
 * path, status, duration_s, written through the real write path to
 * /dev/null; the same from two threads into one logger; a debug call while
 * the level is info; the JSON line to stdout made a pipe read by
 * `cat > /dev/null`. Best of BENCH_REPEAT runs. Built only where spdlog is
 * missing: bench_log_spdlog measures the same beside spdlog.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "bench_common.h"
#include "lumen/log.h"

static lumen_logger *lg;
static volatile double duration = 0.0123;

static void *lines(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        LUMEN_LOG_INFO(lg, "request served", LUMEN_STR("path", "/api/items"),
                       LUMEN_INT("status", 200), LUMEN_FLOAT("duration_s", duration));
    return NULL;
}

static double run_threads(int threads, long n)
{
    pthread_t t[2];
    int64_t t0 = bench_now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, lines, (void *)(intptr_t)n);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    lumen_log_flush(0);
    return (double)(bench_now() - t0) / n;
}

int main(void)
{
    int fd = open("/dev/null", O_WRONLY | O_APPEND);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = fd;
    o.format = LUMEN_LOG_FORMAT_JSON;
    lumen_log_handler *h;
    if (fd < 0 || lumen_log_handler_new(&h, &o) != LUMEN_OK)
        return 1;
    lg = lumen_logger_get("bench");
    lumen_logger_set_handlers(lg, &h, 1);
    lumen_logger_set_level(lg, LUMEN_LOG_INFO);

    double best1 = 1e30, best2 = 1e30, bestd = 1e30;
    for (int r = 0; r < BENCH_REPEAT; r++) {
        double v = run_threads(1, BENCH_LINES);
        best1 = v < best1 ? v : best1;
        v = run_threads(2, BENCH_LINES);
        best2 = v < best2 ? v : best2;
        int64_t t0 = bench_now();
        for (long i = 0; i < BENCH_DISABLED; i++)
            LUMEN_LOG_DEBUG(lg, "request served", LUMEN_STR("path", "/api/items"),
                            LUMEN_INT("status", 200), LUMEN_FLOAT("duration_s", duration));
        v = (double)(bench_now() - t0) / BENCH_DISABLED;
        bestd = v < bestd ? v : bestd;
    }
    double bestp = 1e30;
    int saved;
    pid_t cat = bench_pipe_stdout(&saved);
    if (cat > 0) {
        lumen_log_handler_options po = o;
        po.sink = LUMEN_LOG_SINK_STDOUT;
        lumen_log_handler *ph;
        if (lumen_log_handler_new(&ph, &po) == LUMEN_OK) {
            lumen_logger_set_handlers(lg, &ph, 1);
            for (int r = 0; r < BENCH_REPEAT; r++) {
                double v = run_threads(1, BENCH_PIPE_LINES);
                bestp = v < bestp ? v : bestp;
            }
        }
        bench_unpipe_stdout(saved, cat);
    }
    printf("lumen log_json_line %.1f ns/line\n", best1);
    printf("lumen log_json_line_2threads %.1f ns/line\n", best2);
    printf("lumen log_disabled_level %.2f ns/call\n", bestd);
    if (bestp < 1e30)
        printf("lumen log_json_line_pipe %.1f ns/line\n", bestp);
    if (lumen_log_dropped() != 0)
        printf("# lumen dropped %llu lines\n", (unsigned long long)lumen_log_dropped());
    return 0;
}
