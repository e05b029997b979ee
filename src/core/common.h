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
 * The few internals that hold process-wide state liblumen-http must share
 * with liblumen: the allocator hook (core/alloc.h), the diagnostics hook
 * with its per-site budgets and the "report each invalid setting once" set
 * (core/diag.h). liblumen exports them at the version node
 * LUMEN_INTERNAL_1 of src/liblumen.map, and nothing but liblumen-http may
 * use them; each declaration says why it is shared. Changing the set or a
 * signature renames the node LUMEN_INTERNAL_2, so that a liblumen-http
 * built against other internals fails to load instead of running with
 * them. Everything else liblumen-http needs from core/ is stateless, and
 * liblumen-http.so has its own hidden copy of it (CMakeLists.txt,
 * lumen_http_core): a copy of these would split the state in two.
 */
#define LUMEN__INTERNAL __attribute__((visibility("default")))

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
