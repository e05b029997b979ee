/*
 * tests/prefork/prefork_test.h: what the pre-forked family tests share:
 * rendering and reading samples, children that run a function and report
 * by exit status, and pipes to step children in a known order.
 */
#ifndef LUMEN_TESTS_PREFORK_TEST_H
#define LUMEN_TESTS_PREFORK_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/support.h"
#include "lumen/prefork.h"

/* Render the registry (0.0.4 text); the caller frees with lumen_free. */
static inline char *pt_render_as(lumen_registry *reg, lumen_format format)
{
    char *s[1] = {NULL};
    int rc = lumen_registry_render_string(s, NULL, reg, format);
    if (rc != LUMEN_OK)
        fail_msg("render: %s", lumen_strerror(rc));
    return s[0];
}

/* lumen_prefork_reclaim, checked: the number of slots reclaimed. */
static inline int pt_reclaim(lumen_prefork *pf)
{
    size_t n = 0;
    int rc = lumen_prefork_reclaim(&n, pf);
    if (rc != LUMEN_OK)
        fail_msg("reclaim: %s", lumen_strerror(rc));
    return (int)n;
}

static inline char *pt_render(lumen_registry *reg)
{
    return pt_render_as(reg, LUMEN_FORMAT_PROMETHEUS);
}

/* The value of the sample whose line starts with `key` (name and labels
 * exactly as rendered) and a space; NAN when there is no such line. */
static inline double pt_value(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = strstr(text, key); p != NULL; p = strstr(p + 1, key))
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return 0.0 / 0.0;
}

/* How many sample lines start with `prefix`. */
static inline int pt_count(const char *text, const char *prefix)
{
    int k = 0;
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)) != NULL; p += n)
        if (p == text || p[-1] == '\n')
            k++;
    return k;
}

#define assert_value(text, key, want)                                                              \
    do {                                                                                           \
        double got_ = pt_value((text), (key));                                                     \
        if (!(got_ == (double)(want))) {                                                           \
            print_error("%s\n", (text));                                                           \
            fail_msg("%s: got %.17g, want %.17g", (key), got_, (double)(want));                    \
        }                                                                                          \
    } while (0)

/* Run fn(arg) in a child of fork(); it exits with fn's result (0: ok).
 * _exit, so that the child runs no exit handler of the test. */
static inline pid_t pt_spawn(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(arg));
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    return pid;
}

/* Wait for a child; its exit status (-1: killed by a signal). */
static inline int pt_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define assert_child_ok(pid) assert_int_equal(pt_wait(pid), 0)

/* A one-way step: the writer posts, the reader waits (with a deadline). */
typedef struct pt_gate {
    int fd[2];
} pt_gate;

static inline void pt_gate_init(pt_gate *g)
{
    if (pipe(g->fd) != 0)
        fail_msg("pipe: %s", strerror(errno));
    /* Several processes may wait on one gate: whoever loses the byte must
     * wait again, not block in read(). */
    fcntl(g->fd[0], F_SETFL, O_NONBLOCK);
}

static inline void pt_post(pt_gate *g)
{
    ssize_t r = write(g->fd[1], "x", 1);
    (void)r;
}

static inline int64_t pt_now_ms(void);

/* 1 when a post was taken within timeout_ms, 0 otherwise. */
static inline int pt_await(pt_gate *g, int timeout_ms)
{
    int64_t end = pt_now_ms() + timeout_ms;
    for (;;) {
        char c;
        if (read(g->fd[0], &c, 1) == 1)
            return 1;
        int64_t left = end - pt_now_ms();
        if (left <= 0)
            return 0;
        fd_set r;
        FD_ZERO(&r);
        FD_SET(g->fd[0], &r);
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
        select(g->fd[0] + 1, &r, NULL, NULL, &tv);
    }
}

static inline void pt_gate_close(pt_gate *g)
{
    close(g->fd[0]);
    close(g->fd[1]);
}

static inline int64_t pt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until a child has exited (but do not reap it: it stays a zombie,
 * which the family must see as exited). */
static inline void pt_wait_zombie(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
}

#endif
