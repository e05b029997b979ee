/* bench/log/bench_common.h: timing and the stdout pipe shared by the lumen
 * and spdlog log benchmarks, so both measure the same way. */
#ifndef LUMEN_BENCH_LOG_COMMON_H
#define LUMEN_BENCH_LOG_COMMON_H
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Many short rounds, alternating between the libraries; min and median of each: on a
 * shared machine a round of a million lines (the old size) often overlapped
 * another job's burst for one library and not the other, and the ratio
 * moved between 1.9x and 3.8x from run to run. */
#define BENCH_LINES 100000L
#define BENCH_PIPE_LINES 40000L /* a write into a pipe costs ~5x one to /dev/null */
#define BENCH_DISABLED 2000000L
#define BENCH_REPEAT 40

/* log_json_line_pipe: make stdout (fd 1) a pipe read by `cat > /dev/null`,
 * as when a program's output goes to a log collector. Returns cat's pid and
 * keeps the real stdout in *saved; bench_unpipe_stdout restores it and
 * waits for cat to drain the pipe and exit. */
static inline pid_t bench_pipe_stdout(int *saved)
{
    int p[2];
    fflush(stdout);
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        execlp("sh", "sh", "-c", "cat > /dev/null", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return -1;
    }
    *saved = dup(1);
    dup2(p[1], 1);
    close(p[1]);
    return pid;
}

static inline void bench_unpipe_stdout(int saved, pid_t pid)
{
    int st;
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    waitpid(pid, &st, 0);
}
#endif
