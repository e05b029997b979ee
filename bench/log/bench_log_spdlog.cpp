/*
 * bench/log/bench_log_spdlog.cpp: the log workloads for lumen and its
 * anchor, spdlog 1.10, in one process, alternating rounds so that a noisy
 * shared machine hits both alike; BENCH_REPEAT rounds (the first ones warm
 * both up), each library's minimum printed as its figure, then the rounds
 * ("# trials ...", read by bench/run.sh) and their median.
 *
 * Built twice (bench/log/CMakeLists.txt): bench_log_spdlog_header_only
 * with BENCH_SPDLOG_HEADER_ONLY, spdlog's default header-only mode
 * (SPDLOG_HEADER_ONLY: every call inlined, fmt from Debian's libfmt-dev),
 * printing "spdlog_header_only ..." and lumen's lines; and bench_log_spdlog
 * against Debian's compiled libspdlog.so, printing "spdlog ..." with
 * lumen's figures of that run as comments (one set of lumen lines per run).
 *
 * The same line for both: timestamp (UTC, microseconds), level, logger
 * name, message "request served", path="/api/items", status=200,
 * duration_s=0.0123. spdlog builds it with its pattern formatter and fmt
 * and escapes nothing; lumen escapes every string.
 *   log_json_line           to /dev/null through each library's file
 *                           writer (spdlog's basic_file_sink buffers in
 *                           stdio; lumen writes each line)
 *   log_json_line_2threads  the same from two threads into one logger
 *   log_disabled_level      a debug call while the level is info
 *   log_json_line_pipe      to stdout, made a pipe read by `cat > /dev/null`,
 *                           through each library's stdout writer as it
 *                           comes: spdlog's stdout_sink writes (fflush)
 *                           every line; lumen batches each thread's lines
 *                           into writes of up to 4 KiB, flushed within
 *                           100 ms. spdlog's basic_file_sink on
 *                           /dev/stdout, which leaves the batching to
 *                           stdio, is printed beside it as a comment.
 */
#ifdef BENCH_SPDLOG_HEADER_ONLY
#define SPDLOG_HEADER_ONLY
#define SP "spdlog_header_only"
#define LU "lumen"
#else
#define SP "spdlog"
#define LU "# lumen (beside compiled spdlog)"
#endif

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "lumen/log.h"

extern "C" {
#include "bench_common.h"
}

static std::shared_ptr<spdlog::logger> sp;
static lumen_logger *lg;
static volatile double duration = 0.0123;

static const char *const pattern =
    "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",\"logger\":\"%n\",\"msg\":\"%v";

static void sp_lines(long n)
{
    for (long i = 0; i < n; i++)
        sp->info("request served\",\"path\":\"{}\",\"status\":{},\"duration_s\":{}}}", "/api/items",
                 200, (double)duration);
}

static void lumen_lines(long n)
{
    for (long i = 0; i < n; i++)
        LUMEN_LOG_INFO(lg, "request served", LUMEN_STR("path", "/api/items"),
                       LUMEN_INT("status", 200), LUMEN_FLOAT("duration_s", duration));
}

static double run(void (*fn)(long), int threads, bool lumen, long lines = BENCH_LINES)
{
    std::thread t[2];
    int64_t t0 = bench_now();
    for (int i = 0; i < threads; i++)
        t[i] = std::thread(fn, lines);
    for (int i = 0; i < threads; i++)
        t[i].join();
    if (lumen)
        lumen_log_flush(0);
    else
        sp->flush();
    return (double)(bench_now() - t0) / lines;
}

static double sp_disabled()
{
    int64_t t0 = bench_now();
    for (long i = 0; i < BENCH_DISABLED; i++)
        sp->debug("request served\",\"path\":\"{}\",\"status\":{},\"duration_s\":{}}}",
                  "/api/items", 200, (double)duration);
    return (double)(bench_now() - t0) / BENCH_DISABLED;
}

static double lumen_disabled()
{
    int64_t t0 = bench_now();
    for (long i = 0; i < BENCH_DISABLED; i++)
        LUMEN_LOG_DEBUG(lg, "request served", LUMEN_STR("path", "/api/items"),
                        LUMEN_INT("status", 200), LUMEN_FLOAT("duration_s", duration));
    return (double)(bench_now() - t0) / BENCH_DISABLED;
}

typedef std::vector<double> rounds;

/* The minimum of the rounds in the spec's form, the rounds themselves and
 * their median; lib starting with '#' (lumen beside compiled spdlog) makes
 * every line a comment. */
static void report(const char *lib, const char *name, const char *unit, int prec, rounds v)
{
    if (v.empty())
        return;
    std::sort(v.begin(), v.end());
    double lo = v[0], mid = v[v.size() / 2];
    std::printf("%s %s %.*f %s\n", lib, name, prec, lo, unit);
    if (lib[0] != '#') {
        std::printf("# trials %s %s %s", lib, name, unit);
        for (double x : v)
            std::printf(" %.4g", x);
        std::printf("\n");
    }
    std::printf("# %s %s: min %.*f, median %.*f %s of %zu rounds\n", lib[0] == '#' ? lib + 2 : lib,
                name, prec, lo, prec, mid, unit, v.size());
}

static lumen_log_handler *lumen_handler(lumen_log_sink sink, int fd, unsigned flags)
{
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = sink;
    o.fd = fd;
    o.format = LUMEN_LOG_FORMAT_JSON;
    o.flags = flags;
    if (flags & LUMEN_LOG_ASYNC) {
        o.overflow = LUMEN_LOG_OVERFLOW_BLOCK; /* nothing dropped */
        o.block_timeout_ms = LUMEN_WAIT_FOREVER;
    }
    lumen_log_handler *h;
    if (lumen_log_handler_new(&h, &o) != LUMEN_OK) {
        std::fprintf(stderr, "bench: lumen_log_handler_new failed\n");
        std::exit(1);
    }
    return h;
}

/* log_json_line_pipe, both libraries, alternating rounds. */
static void pipe_workload(rounds &lp, rounds &spp, rounds &spb)
{
    int saved;
    pid_t cat = bench_pipe_stdout(&saved);
    if (cat < 0) {
        std::printf("# log_json_line_pipe: cannot start cat\n");
        return;
    }
    auto file_logger = sp;
    sp = spdlog::stdout_logger_mt("bench_pipe");
    sp->set_pattern(pattern, spdlog::pattern_time_type::utc);
    sp->set_level(spdlog::level::info);
    lumen_log_handler *h = lumen_handler(LUMEN_LOG_SINK_STDOUT, -1, 0);
    lumen_logger_set_handlers(lg, &h, 1);
    auto stdout_logger = sp;
    auto buffered = spdlog::basic_logger_mt("bench_pipe_buffered", "/dev/stdout");
    buffered->set_pattern(pattern, spdlog::pattern_time_type::utc);
    buffered->set_level(spdlog::level::info);
    for (int r = 0; r < BENCH_REPEAT; r++) {
        lp.push_back(run(lumen_lines, 1, true, BENCH_PIPE_LINES));
        sp = stdout_logger;
        spp.push_back(run(sp_lines, 1, false, BENCH_PIPE_LINES));
        sp = buffered;
        spb.push_back(run(sp_lines, 1, false, BENCH_PIPE_LINES));
    }
    /* cat sees the end of its input only once every descriptor of the
     * pipe is closed, the one basic_file_sink opened included. */
    spdlog::drop("bench_pipe_buffered");
    buffered.reset();
    sp.reset();
    stdout_logger.reset();
    spdlog::drop("bench_pipe");
    bench_unpipe_stdout(saved, cat);
    sp = file_logger;
}

int main()
{
    sp = spdlog::basic_logger_mt("bench", "/dev/null");
    sp->set_pattern(pattern, spdlog::pattern_time_type::utc);
    sp->set_level(spdlog::level::info);

    int fd = open("/dev/null", O_WRONLY | O_APPEND);
    if (fd < 0)
        return 1;
    lumen_log_handler *h = lumen_handler(LUMEN_LOG_SINK_FD, fd, 0);
    lg = lumen_logger_get("bench");
    lumen_logger_set_handlers(lg, &h, 1);
    lumen_logger_set_level(lg, LUMEN_LOG_INFO);

    rounds l1, l2, ld, s1, s2, sd;
    for (int r = 0; r < BENCH_REPEAT; r++) {
        l1.push_back(run(lumen_lines, 1, true));
        s1.push_back(run(sp_lines, 1, false));
        l2.push_back(run(lumen_lines, 2, true));
        s2.push_back(run(sp_lines, 2, false));
        ld.push_back(lumen_disabled());
        sd.push_back(sp_disabled());
    }
    rounds lp, spp, spb;
    pipe_workload(lp, spp, spb);

    report(LU, "log_json_line", "ns/line", 1, l1);
    report(SP, "log_json_line", "ns/line", 1, s1);
    report(LU, "log_json_line_2threads", "ns/line", 1, l2);
    report(SP, "log_json_line_2threads", "ns/line", 1, s2);
    report(LU, "log_disabled_level", "ns/call", 2, ld);
    report(SP, "log_disabled_level", "ns/call", 2, sd);
    if (!lp.empty()) {
        report(LU, "log_json_line_pipe", "ns/line", 1, lp);
        report(SP, "log_json_line_pipe", "ns/line", 1, spp);
        std::printf("# " SP " log_json_line_pipe through basic_file_sink(\"/dev/stdout\"), "
                    "stdio-buffered: %.1f ns/line (min of %zu rounds)\n",
                    *std::min_element(spb.begin(), spb.end()), spb.size());
    }
#ifdef BENCH_SPDLOG_HEADER_ONLY
    /* Not a spec workload: the same line through an async handler (BLOCK,
     * so nothing is dropped), for the documentation. */
    lumen_log_handler *ah = lumen_handler(LUMEN_LOG_SINK_FD, fd, LUMEN_LOG_ASYNC);
    lumen_logger_set_handlers(lg, &ah, 1);
    double la = 1e30;
    for (int r = 0; r < BENCH_REPEAT; r++)
        la = std::min(la, run(lumen_lines, 1, true));
    std::printf("# lumen async (block policy) log_json_line %.1f ns/line (min)\n", la);
#endif
    auto lo = [](const rounds &v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); };
    std::printf("# lumen/" SP " (min/min): json_line %.2fx faster, 2threads %.2fx faster, "
                "disabled %.2fx, pipe %.2fx\n",
                lo(s1) / lo(l1), lo(s2) / lo(l2), lo(sd) / lo(ld),
                lo(lp) > 0 ? lo(spp) / lo(lp) : 0);
    if (lumen_log_dropped() != 0)
        std::printf("# lumen dropped %llu lines\n", (unsigned long long)lumen_log_dropped());
    return 0;
}
