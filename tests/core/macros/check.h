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

#include <fcntl.h>
#include <unistd.h>

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

/*
 * A versioned struct T (docs/api.md): its _INIT, as a static (so that C
 * needs a constant expression) and as an automatic, has `version` VERSION
 * and every other byte zero (a static's padding is zero in C, and C++'s
 * value-initialisation zeroes it); INIT_FN(&x, VERSION) gives the same
 * bytes whatever x held; INIT_FN refuses NULL (LUMEN_EINVAL) and a version
 * of 0 or newer than the library (LUMEN_EVERSION).
 */
#define CHECK_VERSIONED(T, INIT, VERSION, INIT_FN)                                                 \
    do {                                                                                           \
        static const T macros_static_ = INIT;                                                      \
        T macros_auto_ = INIT;                                                                     \
        T macros_zero_, macros_fn_;                                                                \
        memset(&macros_zero_, 0, sizeof macros_zero_);                                             \
        macros_zero_.version = (VERSION);                                                          \
        CHECK((VERSION) >= 1 && macros_static_.version == (VERSION));                              \
        CHECK(macros_auto_.version == (VERSION));                                                  \
        CHECK(memcmp(&macros_static_, &macros_zero_, sizeof(T)) == 0);                             \
        memset(&macros_fn_, 0xa5, sizeof macros_fn_);                                              \
        CHECK(INIT_FN(&macros_fn_, (VERSION)) == LUMEN_OK);                                        \
        CHECK(memcmp(&macros_fn_, &macros_zero_, sizeof(T)) == 0);                                 \
        CHECK(INIT_FN(NULL, (VERSION)) == LUMEN_EINVAL);                                           \
        CHECK(INIT_FN(&macros_fn_, 0) == LUMEN_EVERSION);                                          \
        CHECK(INIT_FN(&macros_fn_, (VERSION) + 1) == LUMEN_EVERSION);                              \
    } while (0)

#endif
