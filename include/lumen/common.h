/*
 * lumen/common.h: what every part of lumen shares: the export macro, status
 * codes, the versioned-struct mechanics, the allocator hook, the
 * diagnostics hook, the clocks and the version. docs/api.md describes the
 * conventions every public header follows.
 */
#ifndef LUMEN_COMMON_H
#define LUMEN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lumen/limits.h"
#include "lumen/version.h"

#if defined(LUMEN_STATIC)
#define LUMEN_API
#elif defined(_WIN32)
#if defined(LUMEN_BUILDING)
#define LUMEN_API __declspec(dllexport)
#else
#define LUMEN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define LUMEN_API __attribute__((visibility("default")))
#else
#define LUMEN_API
#endif

#if defined(__GNUC__)
#define LUMEN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LUMEN_PRINTF(f, a)
#endif

/** Marks a declaration that a later release removes; `msg` says what
 * replaces it. Define LUMEN_NO_DEPRECATION_WARNINGS to silence it. */
#if defined(__GNUC__) && !defined(LUMEN_NO_DEPRECATION_WARNINGS)
#define LUMEN_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define LUMEN_DEPRECATED(msg)
#endif

/* Not API: on a function that never returns NULL, so that a caller's NULL
 * test of its result folds away (the log macros rely on it). */
#if defined(__GNUC__)
#define LUMEN__RETURNS_NONNULL __attribute__((returns_nonnull))
#else
#define LUMEN__RETURNS_NONNULL
#endif

/** A `timeout_ms` argument meaning "no limit". */
#define LUMEN_WAIT_FOREVER UINT32_MAX

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Versioned structs (docs/api.md): options the program passes in, stats
 * and results lumen fills in, and tables of callbacks all start with
 * `unsigned int version`. Each struct lumen_x comes with LUMEN_X_VERSION
 * (the version these headers describe), LUMEN_X_INIT (a value with that
 * version and every other field zero) and lumen_x_init() for bindings
 * that cannot use macros. lumen reads or writes only the fields of the
 * caller's version, so a program built against older headers keeps
 * working with a newer library.
 *
 * Not API: LUMEN__VERSIONED_INIT(T, V), the expansion of every _INIT
 * macro. In C it is a designated initializer (usable for a static); in C++
 * a value-initialised T with its version set, which needs neither
 * designated initializers nor a full field list.
 */
#ifdef __cplusplus
extern "C++" {
template <typename T> inline T lumen__versioned_init(unsigned int version)
{
    T t = T();
    t.version = version;
    return t;
}
}
#define LUMEN__VERSIONED_INIT(T, V) lumen__versioned_init<T>(V)
#else
#define LUMEN__VERSIONED_INIT(T, V)                                                                \
    {                                                                                              \
        .version = (V)                                                                             \
    }
#endif

/**
 * Status codes. Functions that can fail return LUMEN_OK (0) or one of these
 * negative values. The list is append-only: a value, once published, keeps its
 * number forever.
 */
typedef enum lumen_status {
    LUMEN_OK = 0,
    LUMEN_ENOMEM = -1,    /**< an allocation failed */
    LUMEN_EINVAL = -2,    /**< an argument is invalid (NULL, out of range) */
    LUMEN_EEXIST = -3,    /**< the name is already registered */
    LUMEN_ENOENT = -4,    /**< no such object */
    LUMEN_EBADNAME = -5,  /**< metric name does not match [a-zA-Z_:][a-zA-Z0-9_:]* */
    LUMEN_EBADLABEL = -6, /**< label name does not match [a-zA-Z_][a-zA-Z0-9_]* */
    LUMEN_ERESERVED =
        -7, /**< a reserved name: the "__" prefix, "le" on histograms, "quantile" on summaries */
    LUMEN_ELABELCOUNT = -8, /**< wrong number of label values */
    LUMEN_ELIMIT = -9,      /**< a configured limit was reached */
    LUMEN_ETYPE = -10,      /**< the object is of another type */
    LUMEN_ERANGE = -11, /**< a value is out of range (a negative counter add, unsorted buckets) */
    LUMEN_EIO = -12,    /**< an I/O error */
    LUMEN_ETIMEDOUT = -13,    /**< a deadline passed */
    LUMEN_ECONNREFUSED = -14, /**< the peer refused the connection */
    LUMEN_EHTTP = -15,        /**< the peer answered with a non-2xx status */
    LUMEN_EPARSE = -16,       /**< malformed input */
    LUMEN_EBUSY = -17,        /**< the object is in use */
    LUMEN_ESTATE = -18,       /**< the call is not valid in the object's current state */
    LUMEN_EFULL = -19,        /**< a bounded queue or buffer is full */
    LUMEN_ESYS = -20,         /**< a system call failed (see errno) */
    LUMEN_ENOTSUP = -21,      /**< not supported in this build */
    LUMEN_ECONNECT = -22,     /**< the connection could not be established (DNS, unreachable) */
    LUMEN_EAUTH = -23,        /**< authentication failed */
    LUMEN_ETLS = -24,         /**< a TLS error */
    LUMEN_ECONFIG = -25,      /**< invalid configuration (environment or options) */
    LUMEN_ETOOBIG = -26,      /**< the input or output exceeds a size limit */
    LUMEN_ESHUTDOWN = -27,    /**< the object has been shut down */
    LUMEN_EVERSION = -28      /**< a struct's version is 0 or newer than this library */
} lumen_status;

/**
 * A static, human-readable description of a status code ("unknown status"
 * for a value not in lumen_status). Never NULL. Thread-safe.
 */
LUMEN_API const char *lumen_strerror(int status);

/**
 * The symbolic name of a status code ("LUMEN_EINVAL"), or "LUMEN_UNKNOWN".
 * Never NULL. Thread-safe.
 */
LUMEN_API const char *lumen_status_name(int status);

/** The runtime library version as "MAJOR.MINOR.PATCH". Thread-safe. */
LUMEN_API const char *lumen_version(void);

/** The runtime library version as LUMEN_VERSION_NUMBER computes it. Thread-safe. */
LUMEN_API int lumen_version_number(void);

/**
 * An allocator (a versioned table: start from LUMEN_ALLOCATOR_INIT).
 * realloc and free receive the old size where lumen knows it (0
 * otherwise) so that pool allocators can use it. The functions may be
 * called from any thread, at once.
 */
typedef struct lumen_allocator {
    unsigned int version; /**< LUMEN_ALLOCATOR_VERSION */
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} lumen_allocator;

#define LUMEN_ALLOCATOR_VERSION 1
#define LUMEN_ALLOCATOR_INIT LUMEN__VERSIONED_INIT(lumen_allocator, LUMEN_ALLOCATOR_VERSION)

/** Zero *a and set its version. Returns LUMEN_OK, LUMEN_EINVAL (a NULL) or
 * LUMEN_EVERSION (0 or newer than this library). Thread-safe. */
LUMEN_API int lumen_allocator_init(lumen_allocator *a, unsigned int version);

/**
 * Route every allocation lumen makes through `a` (copied); NULL restores
 * libc's malloc, realloc and free. Call it before creating any lumen object,
 * or not at all: memory must be freed by the allocator that allocated it.
 * Returns LUMEN_OK, LUMEN_EINVAL if a function is missing, or
 * LUMEN_EVERSION. Not thread-safe: nothing else of lumen may run
 * meanwhile.
 */
LUMEN_API int lumen_set_allocator(const lumen_allocator *a);

/** Free memory that a lumen function returned to the caller (a rendered
 * string, for example). NULL is a no-op. Thread-safe. */
LUMEN_API void lumen_free(void *ptr);

/** Severity of an internal diagnostic message. */
typedef enum lumen_diag_level {
    LUMEN_DIAG_DEBUG = 0,
    LUMEN_DIAG_INFO = 1,
    LUMEN_DIAG_WARN = 2,
    LUMEN_DIAG_ERROR = 3
} lumen_diag_level;

/**
 * Receives lumen's own diagnostics (a dropped span, a refused negative counter
 * add, a failed export). `msg` is borrowed for the duration of the call. The
 * hook may be called from any thread, including lumen's background threads,
 * several at once, and must not call back into lumen.
 */
typedef void (*lumen_diag_fn)(lumen_diag_level level, const char *msg, void *ud);

/**
 * Install the diagnostics hook: every message at or above `min_level` goes
 * to `fn` (messages below it are discarded before they are formatted), and
 * nothing goes to standard error. A hook that ignores its messages
 * silences lumen entirely.
 *
 * Without a hook (`fn` NULL, the default) lumen writes to standard error,
 * one line each prefixed "lumen: ", only what an operator must hear: each
 * invalid setting (an OTEL_* or LUMEN_* variable), once per value, with the
 * value and the default used; and spans lost at shutdown or exit. The rest
 * stays silent and is counted in the self-metrics. OTEL_LOG_LEVEL changes
 * that default as in the OpenTelemetry SDKs: "none" silences it; "error",
 * "warn", "info" or "debug" writes every message at that level and above.
 *
 * Each call site reports at most 10 messages in a burst, then 5 a second;
 * the next message of a throttled site says how many of its own were
 * suppressed, and one noisy site never silences another. Thread-safe.
 */
LUMEN_API void lumen_set_diag_hook(lumen_diag_level min_level, lumen_diag_fn fn, void *ud);

/** Wall-clock time in nanoseconds since the Unix epoch, the clock of every
 * `*_ns` instant that is data (span times, log times). Thread-safe. */
LUMEN_API int64_t lumen_now_ns(void);

/**
 * Nanoseconds on CLOCK_MONOTONIC, a clock that a step of the wall clock
 * does not move. Every timeout and deadline in lumen is on this clock,
 * including the `deadline_ns` that exporters receive. Thread-safe.
 */
LUMEN_API int64_t lumen_monotonic_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_COMMON_H */
