/*
 * tests/log/log_test.h: helpers shared by the log tests: a handler that
 * writes into a temporary file, and running a Python check (json module)
 * on what was written.
 */
#ifndef LUMEN_LOG_TEST_H
#define LUMEN_LOG_TEST_H

#include "support/support.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct lt_cap {
    char path[512];
    int fd;
    lumen_log_handler *h;
    lumen_logger *lg;
} lt_cap;

/* A logger `name` at level TRACE whose only handler writes to a new file. */
static inline lumen_logger *lt_cap_open(lt_cap *c, const char *name, lumen_log_format fmt,
                                        lumen_log_preset preset, unsigned flags)
{
    char *dir = lt_tempdir();
    assert_non_null(dir);
    snprintf(c->path, sizeof c->path, "%s/log.txt", dir);
    free(dir);
    c->fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    assert_true(c->fd >= 0);
    lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    o.sink = LUMEN_LOG_SINK_FD;
    o.fd = c->fd;
    o.format = fmt;
    o.preset = preset;
    o.flags = flags;
    assert_int_equal(lumen_log_handler_new(&c->h, &o), LUMEN_OK);
    c->lg = lumen_logger_get(name);
    assert_int_equal(lumen_logger_set_level(c->lg, LUMEN_LOG_TRACE), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(c->lg, &c->h, 1), LUMEN_OK);
    return c->lg;
}

/* Everything written so far (after a flush); free() it. */
static inline char *lt_cap_read(lt_cap *c, size_t *len)
{
    lumen_log_flush(0);
    char *s = lt_read_file(c->path, len);
    assert_non_null(s);
    return s;
}

/* Run a Python 3 script with `in` on stdin; fail the test, showing its
 * output, unless it exits 0. The script starts after a prelude that
 * decodes stdin strictly as UTF-8 into `lines` (no final newline missing)
 * and `recs` (json.loads of each line) when parse_json is set. */
static inline void lt_py_check(const char *script, const char *in, size_t n, int parse_json)
{
    char *dir = lt_tempdir();
    char path[600];
    snprintf(path, sizeof path, "%s/check.py", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("import sys, json\n"
          "data = sys.stdin.buffer.read()\n"
          "assert data == b'' or data.endswith(b'\\n'), 'output does not end with a newline'\n"
          "text = data.decode('utf-8')\n"
          "lines = text.split('\\n')[:-1]\n",
          f);
    if (parse_json)
        fputs("recs = []\n"
              "for i, l in enumerate(lines):\n"
              "    try:\n"
              "        recs.append(json.loads(l))\n"
              "    except Exception as e:\n"
              "        sys.exit('line %d is not JSON: %s: %r' % (i, e, l[:300]))\n",
              f);
    fputs(script, f);
    fclose(f);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s %s", lt_python(), path);
    char *out = NULL;
    int rc = lt_run(cmd, in, n, &out);
    if (rc != 0)
        fprintf(stderr, "python check failed (%d):\n%s\n", rc, out ? out : "");
    free(out);
    assert_int_equal(rc, 0);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* True when a thread of process `pid` (0: this one) sleeps in a pipe
 * write: Linux names the kernel function it waits in, in
 * /proc/PID/task/TID/wchan ("pipe_write", "anon_pipe_write"). For tests
 * that must know a writer is blocked, without sleeping on it. */
static inline int lt_blocked_in_pipe_write(pid_t pid)
{
    char dir[64];
    if (pid == 0)
        snprintf(dir, sizeof dir, "/proc/self/task");
    else
        snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *e;
    while (d != NULL && !found && (e = readdir(d)) != NULL) {
        char path[400], buf[64] = {0};
        snprintf(path, sizeof path, "%s/%s/wchan", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        found = n > 0 && strstr(buf, "pipe_write") != NULL;
    }
    if (d != NULL)
        closedir(d);
    return found;
}

/* Poll `cond(pid)` every millisecond for at most `ms`; its last value. */
static inline int lt_poll(int (*cond)(pid_t), pid_t pid, int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (cond(pid))
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
            return cond(pid);
        usleep(1000);
    }
}

#endif
