/*
 * macros/check.h: the little harness of test_core_macros (C and C++). A
 * failed CHECK prints where and what, and the program exits 1 at the end.
 */
#ifndef LUMEN_MACROS_CHECK_H
#define LUMEN_MACROS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int macros_checks, macros_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        macros_checks++;                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            macros_failures++;                                                                     \
        }                                                                                          \
    } while (0)

/* A status call that must return LUMEN_OK; prints the status otherwise. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int macros_rc_ = (call);                                                                   \
        macros_checks++;                                                                           \
        if (macros_rc_ != LUMEN_OK) {                                                              \
            fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #call,                  \
                    lumen_status_name(macros_rc_));                                                \
            macros_failures++;                                                                     \
        }                                                                                          \
    } while (0)

#endif
