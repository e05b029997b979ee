/* tests/trace/collector.h: start and stop tests/trace/fake_collector.py. */
#ifndef LUMEN_TESTS_TRACE_COLLECTOR_H
#define LUMEN_TESTS_TRACE_COLLECTOR_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct collector {
    pid_t pid;
    int port;
    char log[512];
    char url[128];
} collector;

static inline void collector_start_tls(collector *c, const char *script, const char *cert,
                                       const char *key);

static inline void collector_start(collector *c, const char *script)
{
    collector_start_tls(c, script, NULL, NULL);
}

/* With cert and key (PEM paths), the collector speaks https. */
static inline void collector_start_tls(collector *c, const char *script, const char *cert,
                                       const char *key)
{
    char *dir = lt_tempdir();
    snprintf(c->log, sizeof c->log, "%s/requests.log", dir);
    free(dir);
    char py[512];
    snprintf(py, sizeof py, "%s/tests/trace/fake_collector.py", lt_source_dir());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    c->pid = fork();
    if (c->pid == 0) {
        /* A test that fails an assertion never reaches collector_stop: the
         * collector must not outlive it (holding ctest's output pipe). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (cert != NULL)
            execl(lt_python(), "python3", py, c->log, script ? script : "", cert, key,
                  (char *)NULL);
        else
            execl(lt_python(), "python3", py, c->log, script ? script : "", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = {0};
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = read(fds[0], buf + n, 1);
        if (r <= 0 || buf[n] == '\n')
            break;
        n++;
    }
    close(fds[0]);
    c->port = atoi(buf);
    assert_true(c->port > 0);
    snprintf(c->url, sizeof c->url, "%s://127.0.0.1:%d/v1/traces", cert ? "https" : "http",
             c->port);
}

static inline void collector_stop(collector *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
}

/* The request log (malloc'd, "" when none). */
static inline char *collector_log(collector *c)
{
    size_t len;
    char *s = lt_read_file(c->log, &len);
    return s ? s : strdup("");
}

static inline int collector_requests(collector *c)
{
    char *s = collector_log(c);
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

static inline int count_substr(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
        n++;
    return n;
}

#endif
