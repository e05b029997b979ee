/*
 * tests/support/support.h: helpers shared by the tests: running a real peer
 * program (promtool, python3 parsers) on data, temporary files, a
 * failing allocator for out-of-memory loops.
 */
#ifndef LUMEN_TEST_SUPPORT_H
#define LUMEN_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lumen/lumen.h"

/*
 * Skips are reported, never passed off as passes: a test that calls
 * skip() (a peer program missing, an environment without IPv6) marks the
 * run, and the group's result becomes LT_SKIP_CODE when nothing failed, so
 * that ctest (SKIP_RETURN_CODE) lists the test as skipped. scripts/test.sh
 * counts the skips, and `make test` fails on any.
 */
#define LT_SKIP_CODE 77
void lt__note_skip(void);
int lt__group_result(int failed);
#undef skip
#define skip()                                                                                     \
    do {                                                                                           \
        lt__note_skip();                                                                           \
        _skip(__FILE__, __LINE__);                                                                 \
    } while (0)
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown)                           \
    lt__group_result(_cmocka_run_group_tests(#group_tests, group_tests,                            \
                                             sizeof(group_tests) / sizeof((group_tests)[0]),       \
                                             group_setup, group_teardown))

/*
 * Run `cmd` through /bin/sh with `in[0..inlen)` on its standard input.
 * Its standard output and error (merged) go to *out (malloc'd, NUL
 * terminated; free with free()) when out is not NULL. Returns the exit
 * status (0..255), or -1 when the command could not run or was killed.
 */
int lt_run(const char *cmd, const char *in, size_t inlen, char **out);

/* True when `prog` is found on PATH. */
int lt_have(const char *prog);

/* Python 3 that sees Debian's packages (python3-prometheus-client). */
const char *lt_python(void);

/* The source tree, for fixtures. */
const char *lt_source_dir(void);

/*
 * The failing allocator: after lt_failalloc_arm(n), allocation number n
 * (0-based, counted from arming) and all later ones fail until
 * lt_failalloc_disarm(). lt_failalloc_install() sets it as lumen's
 * allocator. lt_failalloc_live() is the number of blocks currently
 * allocated through it (to check that cleanup freed everything).
 */
void lt_failalloc_install(void);
void lt_failalloc_uninstall(void);
void lt_failalloc_arm(long n);
void lt_failalloc_disarm(void);
long lt_failalloc_live(void);
/* Whether any allocation failed since the last arm. */
int lt_failalloc_triggered(void);

/* Read a whole file into a malloc'd string; NULL on error. */
char *lt_read_file(const char *path, size_t *len);

/* A fresh temporary directory (malloc'd path). */
char *lt_tempdir(void);

/* Standard output onto a pipe whose reader is gone, with SIGPIPE at its
 * default action (a SIGPIPE that reaches the process kills it), until
 * lt_stdout_restore, which takes what this returns. */
typedef struct lt_closed_stdout {
    int saved;
    void (*old_pipe)(int);
} lt_closed_stdout;
lt_closed_stdout lt_stdout_to_closed_pipe(void);
/* Put standard output and SIGPIPE's action back; returns whether no
 * SIGPIPE was left pending. */
int lt_stdout_restore(lt_closed_stdout c);

#endif
