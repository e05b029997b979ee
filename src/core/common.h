/*
 * core/common.h: the macros every internal file uses. Included first by
 * every .c file of liblumen and liblumen-http.
 */
#ifndef LUMEN_CORE_COMMON_H
#define LUMEN_CORE_COMMON_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lumen/common.h"

#define LUMEN_LIKELY(x) __builtin_expect(!!(x), 1)
#define LUMEN_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Thread-local storage in the initial-exec model: one instruction to reach
 * it, where the default global-dynamic model of a shared library calls
 * __tls_get_addr on every access. glibc reserves static TLS room for a
 * library loaded later with dlopen, and lumen's thread-locals are small.
 */
#define LUMEN_TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * Internal functions that liblumen-http, a separate shared library, calls
 * in liblumen. They must be exported from liblumen.so, yet they are not
 * API: they keep the lumen__ prefix, are declared only under src/, and may
 * change in any release (liblumen-http is always built from the same
 * tree). Building the core into liblumen-http instead would give it its
 * own copy of the thread's correlation context, the diagnostics hook and
 * the default registry. test_core_exported_symbols checks that the
 * functions marked so are exactly those liblumen-http imports.
 */
#define LUMEN__SHARED __attribute__((visibility("default")))

/* On the declaration of an internal variable read by hot paths: the
 * compiler then reaches it directly instead of through the GOT. */
#define LUMEN__HIDDEN __attribute__((visibility("hidden")))

/* ThreadSanitizer builds: it cannot see rseq sections or membarrier, and
 * does not model standalone fences, so those paths use plain atomics. */
#if defined(__SANITIZE_THREAD__)
#define LUMEN__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LUMEN__TSAN 1
#endif
#endif

#define LUMEN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LUMEN_CACHELINE 64

#ifdef NDEBUG
#define LUMEN_ASSERT(x) ((void)0)
#else
#define LUMEN_ASSERT(x) assert(x)
#endif

#endif
