/*
 * lumen/log.h: structured logging. Events (a constant message plus typed
 * fields) at levels, written as one line each to stdout by default: JSON
 * lines when stdout is not a terminal, readable coloured text when it is,
 * or logfmt. Every line carries the current trace_id/span_id (set by the
 * tracing layer) and request id, so one request's lines can be found
 * together.
 *
 * The model: loggers are named in a hierarchy ("app.db" is a child of
 * "app", "" is the root); a logger without its own level or handlers
 * inherits them from its nearest ancestor. A logger hands each record to
 * its handlers; each handler has a minimum level, a formatter (JSON,
 * logfmt, text, with a field-name preset) and a sink (stdout, stderr, an
 * fd, a file, a callback), and runs synchronously or through a bounded
 * queue and a writer thread.
 *
 * Speed and safety: a call below the level costs a load and a branch and
 * evaluates none of its arguments (the LUMEN_LOG_* macros test the level
 * first). Messages and field values are data, never formats: every string
 * is escaped for the output syntax, invalid UTF-8 becomes U+FFFD, and
 * values longer than the handler's limit (1 MiB by default) are cut with a
 * marker, so no input can break or forge a line. Nor can a field forge the
 * record's own keys: a field (bound or given to the call) whose key, as the
 * format writes it, is one of the handler's preset's own keys (for the
 * lumen preset ts, level, logger, msg, trace_id, span_id, trace_flags,
 * request_id, file, line, func, suppressed) is written as "fields.<key>",
 * in every format and preset. Lines are never split or interleaved: each
 * write(2) carries whole lines.
 */
#ifndef LUMEN_LOG_H
#define LUMEN_LOG_H

#include "lumen/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Levels, numbered as OpenTelemetry SeverityNumber (the first number of
 * each range), so that a level is also its severity number.
 */
typedef enum lumen_log_level {
    LUMEN_LOG_INHERIT = 0, /**< for lumen_logger_set_level: use the parent's level */
    LUMEN_LOG_TRACE = 1,
    LUMEN_LOG_DEBUG = 5,
    LUMEN_LOG_INFO = 9,
    LUMEN_LOG_WARN = 13,
    LUMEN_LOG_ERROR = 17,
    LUMEN_LOG_FATAL = 21,
    LUMEN_LOG_OFF = 100 /**< as a level threshold: nothing passes */
} lumen_log_level;

/** A logger. Named loggers live as long as the process; child loggers
 * made by lumen_logger_with() are freed with lumen_logger_free(). */
typedef struct lumen_logger lumen_logger;
/** A handler: level + formatter + sink. Owned by the library. */
typedef struct lumen_log_handler lumen_log_handler;

/* ---- fields ---------------------------------------------------------------- */

/** The type of a field's value. */
typedef enum lumen_field_type {
    LUMEN_FIELD_STR = 1,   /**< UTF-8 text (invalid bytes become U+FFFD) */
    LUMEN_FIELD_INT = 2,   /**< int64_t */
    LUMEN_FIELD_UINT = 3,  /**< uint64_t */
    LUMEN_FIELD_FLOAT = 4, /**< double; NaN and infinities are written as strings in JSON */
    LUMEN_FIELD_BOOL = 5,
    LUMEN_FIELD_BYTES = 6, /**< raw bytes, written as lowercase hex */
    LUMEN_FIELD_STATUS = 7 /**< a lumen status code, written as its symbolic name */
} lumen_field_type;

/**
 * A key and a typed value. Keys and string/byte values are borrowed for the
 * duration of the call that receives the field (lumen_logger_with copies
 * them). Build fields with the constructors below rather than by hand.
 */
typedef struct lumen_field {
    const char *key;
    int type;   /**< a lumen_field_type */
    size_t len; /**< STR and BYTES: length in bytes */
    union {
        const char *s;
        const void *p;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
    } v;
} lumen_field;

/** A string field; a NULL value is written as an empty string. */
static inline lumen_field lumen_field_str(const char *key, const char *value)
{
    lumen_field f;
    size_t n = 0;
    if (value != NULL)
        while (value[n] != '\0')
            n++;
    f.key = key;
    f.type = LUMEN_FIELD_STR;
    f.len = n;
    f.v.s = value != NULL ? value : "";
    return f;
}
/** A string field of `len` bytes (may contain NUL bytes, escaped on output). */
static inline lumen_field lumen_field_strn(const char *key, const char *value, size_t len)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_STR;
    f.len = value != NULL ? len : 0;
    f.v.s = value != NULL ? value : "";
    return f;
}
/** A signed integer field. */
static inline lumen_field lumen_field_int(const char *key, int64_t value)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_INT;
    f.len = 0;
    f.v.i = value;
    return f;
}
/** An unsigned integer field. */
static inline lumen_field lumen_field_uint(const char *key, uint64_t value)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_UINT;
    f.len = 0;
    f.v.u = value;
    return f;
}
/** A floating-point field (shortest text that reads back exactly). */
static inline lumen_field lumen_field_float(const char *key, double value)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_FLOAT;
    f.len = 0;
    f.v.d = value;
    return f;
}
/** A boolean field. */
static inline lumen_field lumen_field_bool(const char *key, bool value)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_BOOL;
    f.len = 0;
    f.v.b = value;
    return f;
}
/** A bytes field, written as lowercase hex. */
static inline lumen_field lumen_field_bytes(const char *key, const void *data, size_t len)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_BYTES;
    f.len = data != NULL ? len : 0;
    f.v.p = data != NULL ? data : "";
    return f;
}
/** A lumen status code, written as its name ("LUMEN_EINVAL"). */
static inline lumen_field lumen_field_status(const char *key, int status)
{
    lumen_field f;
    f.key = key;
    f.type = LUMEN_FIELD_STATUS;
    f.len = 0;
    f.v.i = status;
    return f;
}

/** Short constructors for the macros: LUMEN_STR("path", p), LUMEN_INT("status", 200). */
#define LUMEN_STR(k, v) lumen_field_str((k), (v))
#define LUMEN_STRN(k, v, n) lumen_field_strn((k), (v), (n))
#define LUMEN_INT(k, v) lumen_field_int((k), (int64_t)(v))
#define LUMEN_UINT(k, v) lumen_field_uint((k), (uint64_t)(v))
#define LUMEN_FLOAT(k, v) lumen_field_float((k), (double)(v))
#define LUMEN_BOOL(k, v) lumen_field_bool((k), (v) != 0)
#define LUMEN_BYTES(k, p, n) lumen_field_bytes((k), (p), (n))
#define LUMEN_STATUS(k, v) lumen_field_status((k), (v))

/* ---- loggers ------------------------------------------------------------- */

/**
 * The logger named `name` ("app.db"; NULL or "" is the root), created on
 * first use. The same name always gives the same logger; it lives as long
 * as the process. Names are data: any bytes, escaped on output, at most
 * LUMEN_LOG_NAME_MAX bytes. Never NULL: when the name is too long or
 * memory runs out the root logger is returned and the problem reported
 * through the diagnostics hook (lumen_set_diag_hook). Thread-safe.
 */
LUMEN_API lumen_logger *lumen_logger_get(const char *name) LUMEN__RETURNS_NONNULL;

/**
 * A child of `parent` that adds `fields` (copied) to every record it logs,
 * for request-scoped data. It has the parent's name, level and handlers
 * (following later changes). Free it with lumen_logger_free() once no
 * thread uses it. Returns LUMEN_OK, LUMEN_EINVAL (NULL parent/out, or
 * fields NULL with n > 0; *out is then NULL) or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_logger_with(lumen_logger **out, lumen_logger *parent, const lumen_field *fields,
                                size_t n);

/**
 * Free a child logger made by lumen_logger_with(). NULL and named loggers
 * are no-ops. Not thread-safe: no thread may still log through it.
 */
LUMEN_API void lumen_logger_free(lumen_logger *child);

/**
 * Set the logger's own level; LUMEN_LOG_INHERIT follows the nearest
 * ancestor with a level (the root defaults to INFO, or LUMEN_LOG_LEVEL).
 * Descendants that inherit follow at once. Returns LUMEN_OK or
 * LUMEN_EINVAL (NULL logger, unknown level, a child logger: those follow
 * their parent). Thread-safe.
 */
LUMEN_API int lumen_logger_set_level(lumen_logger *lg, lumen_log_level level);

/** The logger's effective level (after inheritance). Thread-safe. */
LUMEN_API lumen_log_level lumen_logger_level(const lumen_logger *lg);

/** The logger's name, borrowed for the logger's life ("" for the root).
 * Thread-safe. */
LUMEN_API const char *lumen_logger_name(const lumen_logger *lg);

/**
 * Levels for many loggers from a spec such as "info,app.db=debug": an
 * entry without '=' sets the root, "name=level" sets that logger.
 * Level names are case-insensitive (trace debug info warn warning error
 * fatal off). The whole spec is checked before anything changes.
 * Returns LUMEN_OK, LUMEN_EINVAL (NULL) or LUMEN_ECONFIG. Thread-safe.
 */
LUMEN_API int lumen_log_set_levels(const char *spec);

/** The lowercase name of a level ("info"), "unknown" otherwise. Thread-safe. */
LUMEN_API const char *lumen_log_level_name(lumen_log_level level);

/**
 * Parse a level name (case-insensitive, "warning" accepted) into *out.
 * Returns LUMEN_OK or LUMEN_EINVAL. Thread-safe.
 */
LUMEN_API int lumen_log_level_parse(lumen_log_level *out, const char *name);

/* ---- handlers ------------------------------------------------------------ */

/** Output syntax of a handler. */
typedef enum lumen_log_format {
    LUMEN_LOG_FORMAT_AUTO = 0, /**< text on a terminal, JSON otherwise (or LUMEN_LOG_FORMAT) */
    LUMEN_LOG_FORMAT_JSON = 1, /**< one JSON object per line */
    LUMEN_LOG_FORMAT_LOGFMT = 2,
    LUMEN_LOG_FORMAT_TEXT = 3 /**< readable: time, level, logger, message, key=value */
} lumen_log_format;

/** Names of the record's own fields. A user field keyed like one of them
 * is written as "fields.<key>" (see the top of this file). */
typedef enum lumen_log_preset {
    /** ts, level, logger, msg, trace_id, span_id, trace_flags, request_id, src */
    LUMEN_LOG_PRESET_LUMEN = 0,
    /** OpenTelemetry flat names: timestamp, severity_text, severity_number,
     * scope, body, trace_id, span_id, trace_flags, request_id, code.* */
    LUMEN_LOG_PRESET_OTEL = 1,
    /** Elastic Common Schema: @timestamp, log.level, message, ecs.version,
     * log.logger, trace.id, span.id, http.request.id, log.origin.* */
    LUMEN_LOG_PRESET_ECS = 2
} lumen_log_preset;

/** Where a handler writes. */
typedef enum lumen_log_sink {
    LUMEN_LOG_SINK_STDOUT = 0,
    LUMEN_LOG_SINK_STDERR = 1,
    LUMEN_LOG_SINK_FD = 2,       /**< opts.fd, not closed by lumen */
    LUMEN_LOG_SINK_FILE = 3,     /**< opts.path, appended to, reopened by lumen_log_reopen() */
    LUMEN_LOG_SINK_CALLBACK = 4, /**< opts.callback, one call per line */
    /** syslog(3), one call per line (without its newline) at the priority
     * of its level; the program may call openlog() itself. Not batched. */
    LUMEN_LOG_SINK_SYSLOG = 5
} lumen_log_sink;

/** What an asynchronous handler does when its queue is full. */
typedef enum lumen_log_overflow {
    LUMEN_LOG_OVERFLOW_DROP = 0, /**< drop the line and count it (lumen_log_dropped) */
    LUMEN_LOG_OVERFLOW_BLOCK = 1 /**< wait for room, at most block_timeout_ms, then drop */
} lumen_log_overflow;

/**
 * Receives each formatted line (with its final '\n') of a callback sink.
 * `line` is borrowed for the call. Called from the logging thread (or the
 * writer thread in async mode), possibly from several threads at once; it
 * must not log through lumen.
 */
typedef void (*lumen_log_line_fn)(lumen_log_level level, const char *line, size_t len, void *ud);

/** Flags for lumen_log_handler_options.flags. */
enum {
    LUMEN_LOG_SOURCE = 1u << 0,     /**< add the source location (file:line, function) */
    LUMEN_LOG_COLOR = 1u << 1,      /**< text format: colours even when not a terminal */
    LUMEN_LOG_NO_COLOR = 1u << 2,   /**< text format: never colours */
    LUMEN_LOG_UNBUFFERED = 1u << 3, /**< sync mode: one write(2) per line, no batching */
    LUMEN_LOG_ASYNC = 1u << 4       /**< queue lines to a writer thread */
};

/**
 * Options of a handler (a versioned struct, docs/api.md). Start from
 * LUMEN_LOG_HANDLER_OPTIONS_INIT; every field left zero takes its default.
 * Strings are copied.
 */
typedef struct lumen_log_handler_options {
    /** LUMEN_LOG_HANDLER_OPTIONS_VERSION */
    unsigned int version;
    /** Minimum level of this handler (INHERIT: every level). */
    lumen_log_level level;
    lumen_log_format format;
    lumen_log_preset preset;
    lumen_log_sink sink;
    /** LUMEN_LOG_SINK_FD: the descriptor (read with that sink only). */
    int fd;
    /** LUMEN_LOG_SINK_FILE */
    const char *path;
    /** LUMEN_LOG_SINK_CALLBACK */
    lumen_log_line_fn callback;
    void *callback_ud;
    /** LUMEN_LOG_* flags */
    uint32_t flags;
    /** Sync: a batched line waits at most this long; 0:
     * LUMEN_LOG_DEFAULT_FLUSH_INTERVAL_MS. */
    uint32_t flush_interval_ms;
    /** Longer strings are cut with a marker; 0: LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES. */
    size_t max_value_bytes;
    /** Async: what to do when the queue is full. */
    lumen_log_overflow overflow;
    /** Async: queue capacity in bytes; 0: LUMEN_LOG_DEFAULT_QUEUE_BYTES. */
    size_t queue_bytes;
    /** Async BLOCK: the longest wait for room; 0:
     * LUMEN_LOG_DEFAULT_BLOCK_TIMEOUT_MS; LUMEN_WAIT_FOREVER: no limit. */
    uint32_t block_timeout_ms;
} lumen_log_handler_options;

#define LUMEN_LOG_HANDLER_OPTIONS_VERSION 1
#define LUMEN_LOG_HANDLER_OPTIONS_INIT                                                             \
    LUMEN__VERSIONED_INIT(lumen_log_handler_options, LUMEN_LOG_HANDLER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION (0 or newer than this library). Thread-safe. */
LUMEN_API int lumen_log_handler_options_init(lumen_log_handler_options *opts, unsigned int version);

/**
 * Create a handler into *out. NULL opts: JSON/text to stdout as
 * LUMEN_LOG_FORMAT says. Handlers are owned by the library and live as
 * long as the process. Returns LUMEN_OK, LUMEN_EINVAL (bad opts),
 * LUMEN_EVERSION, LUMEN_ESYS (the file cannot be opened; errno says why)
 * or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_log_handler_new(lumen_log_handler **out, const lumen_log_handler_options *opts);

/**
 * Make `handlers` the logger's own handlers (replacing any it had); n == 0
 * makes it inherit its parent's again. The root starts with one handler to
 * stdout. A record goes to every handler whose level it reaches. Returns
 * LUMEN_OK, LUMEN_EINVAL (NULL, a NULL handler, a child logger) or
 * LUMEN_ENOMEM. Thread-safe; a record being
 * logged at that moment goes to the old or the new set.
 */
LUMEN_API int lumen_logger_set_handlers(lumen_logger *lg, lumen_log_handler *const *handlers,
                                        size_t n);

/* ---- logging ------------------------------------------------------------- */

/**
 * Add `h` to the handlers the logger has now (its own, or those it
 * inherits, which become its own), unless it has it already: how the OTLP
 * handler joins the stdout one. Returns LUMEN_OK, LUMEN_EINVAL (NULL, a
 * child logger) or LUMEN_ENOMEM. Thread-safe; a record being logged at
 * that moment goes to the old or the new set.
 */
LUMEN_API int lumen_logger_add_handler(lumen_logger *lg, lumen_log_handler *h);

/** A call site (static storage, filled by the macros). */
typedef struct lumen_log_src {
    const char *file;
    int line;
    const char *func;
} lumen_log_src;

/**
 * Log a record: `msg` is a constant message (escaped, never a format),
 * fields[0..n) its data, `src` the call site or NULL, `suppressed` how many
 * earlier records a rate limit dropped at this site (0: none; otherwise
 * written as a "suppressed" field). Checks the level itself. NULL logger is
 * a no-op. Thread-safe. Prefer the LUMEN_LOG_* macros, which skip building
 * arguments below the level.
 */
LUMEN_API void lumen_log_write(lumen_logger *lg, lumen_log_level level, const lumen_log_src *src,
                               const char *msg, const lumen_field *fields, size_t n,
                               uint64_t suppressed);

/* Not API, but ABI frozen for the life of the soname: every lumen_logger
 * starts with this word, the lowest level any of its handlers takes. The
 * log macros read it inline with a relaxed load; it is the only part of a
 * logger's layout a caller's compiled code knows. */
typedef struct lumen__log_gate {
    int min_level;
} lumen__log_gate;

#if defined(__GNUC__)
#define LUMEN__LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define LUMEN__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LUMEN__LOAD_RELAXED(p) (*(volatile const int *)(p))
#define LUMEN__UNLIKELY(x) (x)
#endif

/* Not API: the gate a NULL logger reads, always closed. One copy per
 * translation unit, inside a function so that a unit that never logs has
 * no unused variable. */
static inline const lumen__log_gate *lumen__log_gate_off(void)
{
    static const lumen__log_gate off = {LUMEN_LOG_OFF};
    return &off;
}

/* Not API: the level test of the macros: a load and a branch. A NULL
 * logger reads the closed gate instead of its own, chosen with a
 * conditional move rather than a second branch (a loop of disabled calls
 * measured as fast as with no NULL test at all), and the choice folds
 * away when the logger comes straight from lumen_logger_get, declared
 * never to return NULL. */
static inline bool lumen__log_enabled(const lumen_logger *lg, int lvl)
{
    const lumen__log_gate *g =
        lg != NULL ? (const lumen__log_gate *)(const void *)lg : lumen__log_gate_off();
    return lvl >= LUMEN__LOAD_RELAXED(&g->min_level);
}

/** True when a record at `lvl` on `lg` would be written by some handler;
 * false for a NULL logger. Each argument is evaluated once. Thread-safe. */
#define LUMEN_LOG_ENABLED(lg, lvl) lumen__log_enabled((lg), (int)(lvl))

/* Not API: splitting "msg, field..." without a zero-argument "..." (which
 * ISO C before C23 and C++ before C++20 reject under -pedantic). The
 * message is the first argument; at most 31 fields follow. */
#define LUMEN__CAT(a, b) LUMEN__CAT_(a, b)
#define LUMEN__CAT_(a, b) a##b
#define LUMEN__FIRST(...) LUMEN__FIRST_(__VA_ARGS__, unused)
#define LUMEN__FIRST_(a, ...) a
#define LUMEN__MANY(...)                                                                           \
    LUMEN__MANY_(__VA_ARGS__, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, \
                 M, M, M, M, M, M, M, M, O, unused)
#define LUMEN__MANY_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,   \
                     a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, x, \
                     ...)                                                                          \
    x
/* ", field..." after the message, or nothing. */
#define LUMEN__REST(...) LUMEN__CAT(LUMEN__REST_, LUMEN__MANY(__VA_ARGS__))(__VA_ARGS__)
#define LUMEN__REST_O(msg)
#define LUMEN__REST_M(msg, ...) , __VA_ARGS__

/**
 * Log at `lvl` with a constant message and typed fields (at most
 * LUMEN_LOG_MAX_FIELDS):
 *   LUMEN_LOG(lg, LUMEN_LOG_INFO, "request served", LUMEN_STR("path", p), LUMEN_INT("status",
 * 200)); Below the level no argument after `lvl` is evaluated. A NULL `lg` is a no-op, as for
 * lumen_log_write. Works in C99 and C++. Thread-safe.
 */
#define LUMEN_LOG(lg, lvl, ...) LUMEN__LOG_SUPP(lg, lvl, 0, __VA_ARGS__)

#define LUMEN__LOG_SUPP(lg, lvl, supp, ...)                                                        \
    do {                                                                                           \
        lumen_logger *lumen__lg = (lg);                                                            \
        if (LUMEN__UNLIKELY(LUMEN_LOG_ENABLED(lumen__lg, lvl))) {                                  \
            static const lumen_log_src lumen__src = {__FILE__, __LINE__, __func__};                \
            const lumen_field lumen__f[] = {{0, 0, 0, {0}} LUMEN__REST(__VA_ARGS__)};              \
            lumen_log_write(lumen__lg, (lvl), &lumen__src, LUMEN__FIRST(__VA_ARGS__),              \
                            lumen__f + 1, sizeof lumen__f / sizeof lumen__f[0] - 1, (supp));       \
        }                                                                                          \
    } while (0)

#define LUMEN_LOG_TRACE(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_TRACE, __VA_ARGS__)
#define LUMEN_LOG_DEBUG(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_DEBUG, __VA_ARGS__)
#define LUMEN_LOG_INFO(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_INFO, __VA_ARGS__)
#define LUMEN_LOG_WARN(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_WARN, __VA_ARGS__)
#define LUMEN_LOG_ERROR(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_ERROR, __VA_ARGS__)
/** Fatal: logs, then flushes every handler (lumen_log_flush with
 * LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS). It does not abort: the program
 * decides what happens next. */
#define LUMEN_LOG_FATAL(lg, ...) LUMEN_LOG(lg, LUMEN_LOG_FATAL, __VA_ARGS__)

/* ---- rate limiting at the call site -------------------------------------- */

/** Per-call-site state of the rate-limiting macros: opaque storage,
 * static and zeroed (a frozen value type, docs/api.md). */
typedef struct lumen_log_limit {
    uint64_t opaque_[4];
} lumen_log_limit;

/** Kinds for lumen_log_limit_check. */
typedef enum lumen_log_limit_kind {
    LUMEN_LOG_LIMIT_EVERY_N = 1,
    LUMEN_LOG_LIMIT_FIRST_N = 2,
    LUMEN_LOG_LIMIT_EVERY_MS = 3
} lumen_log_limit_kind;

/**
 * Decide whether this call of a rate-limited site is emitted: EVERY_N
 * emits calls 1, N+1, 2N+1...; FIRST_N the first N; EVERY_MS at most one
 * per `arg` milliseconds. When it returns true, *out_suppressed (may be
 * NULL) receives the number of calls dropped since the last emitted one.
 * Lock-free; counts may be off by a few under contention. Thread-safe.
 */
LUMEN_API bool lumen_log_limit_check(uint64_t *out_suppressed, lumen_log_limit *lim,
                                     lumen_log_limit_kind kind, uint64_t arg);

#define LUMEN__LOG_LIMITED(lg, lvl, kind, arg, ...)                                                \
    do {                                                                                           \
        lumen_logger *lumen__llg = (lg);                                                           \
        if (LUMEN__UNLIKELY(LUMEN_LOG_ENABLED(lumen__llg, lvl))) {                                 \
            static lumen_log_limit lumen__lim;                                                     \
            uint64_t lumen__supp = 0;                                                              \
            if (lumen_log_limit_check(&lumen__supp, &lumen__lim, (kind), (uint64_t)(arg)))         \
                LUMEN__LOG_SUPP(lumen__llg, lvl, lumen__supp, __VA_ARGS__);                        \
        }                                                                                          \
    } while (0)

/** Log the 1st, (n+1)th, (2n+1)th... call of this site: (lg, lvl, n, msg, field...). */
#define LUMEN_LOG_EVERY_N(lg, lvl, n, ...)                                                         \
    LUMEN__LOG_LIMITED(lg, lvl, LUMEN_LOG_LIMIT_EVERY_N, (n), __VA_ARGS__)
/** Log the first n calls of this site. */
#define LUMEN_LOG_FIRST_N(lg, lvl, n, ...)                                                         \
    LUMEN__LOG_LIMITED(lg, lvl, LUMEN_LOG_LIMIT_FIRST_N, (n), __VA_ARGS__)
/** Log at most once every `ms` milliseconds from this site. */
#define LUMEN_LOG_EVERY_MS(lg, lvl, ms, ...)                                                       \
    LUMEN__LOG_LIMITED(lg, lvl, LUMEN_LOG_LIMIT_EVERY_MS, (ms), __VA_ARGS__)

/* ---- correlation ---------------------------------------------------------- */

/**
 * Set the calling thread's request id (copied), stamped on every line the
 * thread logs until cleared; NULL clears it. Returns LUMEN_OK or
 * LUMEN_ETOOBIG (longer than LUMEN_LOG_REQUEST_ID_MAX bytes; the id is
 * then cleared). Thread-safe: it affects only the calling thread.
 */
LUMEN_API int lumen_log_set_request_id(const char *id);

/** Clear the calling thread's request id. Thread-safe: it affects only the
 * calling thread. */
LUMEN_API void lumen_log_clear_request_id(void);

/* ---- records for exporters (OTLP logs) ------------------------------------ */

/** A log record as a batch handler keeps it for its exporter: a copy of
 * everything the record carried, valid for the export call that hands it
 * over. Read it with the lumen_log_record_get_* functions (or encode it
 * with lumen_otlp_encode_logs). */
typedef struct lumen_log_record lumen_log_record;

/* Readers of a record handed to an exporter. Borrowed pointers live as
 * long as the export call. A record is never changed: all are thread-safe. */
/** The record's level (a named level, also its severity number).
 * Thread-safe. */
LUMEN_API lumen_log_level lumen_log_record_get_level(const lumen_log_record *r);
/** When it was logged, nanoseconds since the Unix epoch. Thread-safe. */
LUMEN_API int64_t lumen_log_record_get_time_ns(const lumen_log_record *r);
/** The name of the logger it was logged through ("" for the root).
 * Thread-safe. */
LUMEN_API const char *lumen_log_record_get_logger(const lumen_log_record *r);
/** The message (valid UTF-8, NUL-terminated; *out_len, which may be NULL,
 * gets its length). Thread-safe. */
LUMEN_API const char *lumen_log_record_get_message(size_t *out_len, const lumen_log_record *r);
/** Its fields: the logger's bound fields, then the call's, then lumen's
 * own (request_id, suppressed, and code.* with LUMEN_LOG_SOURCE). String values are valid UTF-8.
 * Thread-safe. */
LUMEN_API size_t lumen_log_record_get_field_count(const lumen_log_record *r);
/** Field i into *out (borrowed strings); false when i is out of range.
 * Thread-safe. */
LUMEN_API bool lumen_log_record_get_field(lumen_field *out, const lumen_log_record *r, size_t i);
/** The trace and span ids and W3C trace flags current when the record was
 * logged; false (and zeros) when no span was current. Output pointers may
 * be NULL. Thread-safe. */
LUMEN_API bool lumen_log_record_get_trace(uint8_t out_trace_id[16], uint8_t out_span_id[8],
                                          uint8_t *out_flags, const lumen_log_record *r);

/** An exporter of log records, owned by the batch handler given it. */
typedef struct lumen_log_exporter lumen_log_exporter;

/**
 * Callbacks of a log exporter (a versioned table, docs/api.md: start from
 * LUMEN_LOG_EXPORTER_OPS_INIT). The batch handler's worker thread calls
 * them, one at a time; records are borrowed for the call. `export_records`
 * returns LUMEN_OK or a negative status by `deadline_ns`
 * (lumen_monotonic_ns clock; 0: none); a failure drops the batch, counted
 * as reason="export_failure". They must not log to a logger that reaches
 * this handler (the record would feed the queue being drained) nor call
 * lumen_log_flush or lumen_log_shutdown (they would wait for this very
 * thread until their budget ran out). `shutdown` (called once, when the
 * handler shuts down, from the thread calling lumen_log_shutdown, while
 * an export may be running: it must make that export return) and
 * `destroy` (called by lumen_log_exporter_free; a handler keeps its
 * exporter for the life of the process) may be NULL.
 */
typedef struct lumen_log_exporter_ops {
    unsigned int version; /**< LUMEN_LOG_EXPORTER_OPS_VERSION */
    int (*export_records)(void *ud, const lumen_log_record *const *records, size_t n,
                          int64_t deadline_ns);
    int (*shutdown)(void *ud, int64_t deadline_ns);
    void (*destroy)(void *ud);
} lumen_log_exporter_ops;

#define LUMEN_LOG_EXPORTER_OPS_VERSION 1
#define LUMEN_LOG_EXPORTER_OPS_INIT                                                                \
    LUMEN__VERSIONED_INIT(lumen_log_exporter_ops, LUMEN_LOG_EXPORTER_OPS_VERSION)

/** Zero *ops and set its version. Returns LUMEN_OK, LUMEN_EINVAL (ops
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_log_exporter_ops_init(lumen_log_exporter_ops *ops, unsigned int version);

/**
 * Wrap the program's callbacks (`ops` copied; `ud` handed to them) as an
 * exporter into *out, freed by the batch handler that takes it or by
 * lumen_log_exporter_free. Returns LUMEN_OK, LUMEN_EINVAL (no
 * export_records), LUMEN_EVERSION or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_log_exporter_new(lumen_log_exporter **out, const lumen_log_exporter_ops *ops,
                                     void *ud);

/** The `ud` of an exporter made by lumen_log_exporter_new with
 * `export_records` as its export function, into *out. Returns LUMEN_OK or
 * LUMEN_EINVAL (another kind of exporter; *out is then NULL). Thread-safe. */
LUMEN_API int lumen_log_exporter_user_data(void **out, const lumen_log_exporter *exp,
                                           int (*export_records)(void *,
                                                                 const lumen_log_record *const *,
                                                                 size_t, int64_t));

/** Free an exporter no handler took (shutdown, then destroy). NULL is a
 * no-op. Not thread-safe: nothing may use it. */
LUMEN_API void lumen_log_exporter_free(lumen_log_exporter *exp);

/** Batch handler options (a versioned struct, docs/api.md). Zero fields
 * take OTEL_BLRP_* or the defaults. */
typedef struct lumen_log_batch_options {
    unsigned int version; /**< LUMEN_LOG_BATCH_OPTIONS_VERSION */
    /** Minimum level of the handler (INHERIT: every level). */
    lumen_log_level level;
    /** OTEL_BLRP_MAX_QUEUE_SIZE, LUMEN_LOG_BATCH_DEFAULT_MAX_QUEUE_SIZE */
    uint32_t max_queue_size;
    /** OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
     * LUMEN_LOG_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE (capped at the queue) */
    uint32_t max_export_batch_size;
    /** OTEL_BLRP_SCHEDULE_DELAY, LUMEN_LOG_BATCH_DEFAULT_SCHEDULE_DELAY_MS */
    uint32_t schedule_delay_ms;
    /** OTEL_BLRP_EXPORT_TIMEOUT, LUMEN_DEFAULT_EXPORT_TIMEOUT_MS */
    uint32_t export_timeout_ms;
    /** LUMEN_LOG_SOURCE: records carry their call site as the code.filepath,
     * code.lineno and code.function attributes (other flags are ignored). */
    uint32_t flags;
} lumen_log_batch_options;

#define LUMEN_LOG_BATCH_OPTIONS_VERSION 1
#define LUMEN_LOG_BATCH_OPTIONS_INIT                                                               \
    LUMEN__VERSIONED_INIT(lumen_log_batch_options, LUMEN_LOG_BATCH_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_log_batch_options_init(lumen_log_batch_options *opts, unsigned int version);

/**
 * A handler that copies each record it takes into a bounded lock-free
 * queue and exports them in batches from its own thread through `exp`
 * (which it takes, even on error). Logging never blocks on it: a full
 * queue, a record that cannot be copied, a failed export and the records
 * still queued when lumen_log_shutdown's budget runs out are dropped and
 * counted (lumen_log_batch_get_stats, lumen_log_records_dropped_total
 * {reason}). lumen_log_flush exports what is queued within its budget.
 * Give it to loggers with lumen_logger_set_handlers beside the stdout
 * handler. Owned by the library, like every handler. Returns LUMEN_OK,
 * LUMEN_EINVAL, LUMEN_EVERSION, LUMEN_ENOMEM or LUMEN_ESYS (no thread).
 * Thread-safe.
 */
LUMEN_API int lumen_log_batch_handler_new(lumen_log_handler **out, lumen_log_exporter *exp,
                                          const lumen_log_batch_options *opts);

/** What a batch handler has done (a versioned struct that lumen fills).
 * Every record it took is counted once: received == exported + failed +
 * dropped_queue_full + dropped_shutdown + queued + in_flight, up to the
 * records being enqueued at the moment of the snapshot. */
typedef struct lumen_log_batch_stats {
    unsigned int version;        /**< LUMEN_LOG_BATCH_STATS_VERSION */
    uint64_t received;           /**< records handed to the handler */
    uint64_t exported;           /**< records in successful exports */
    uint64_t failed;             /**< records in failed exports (reason="export_failure") */
    uint64_t dropped_queue_full; /**< full queue, or no memory for the copy */
    uint64_t dropped_shutdown;   /**< after shutdown, or still queued when it gave up */
    uint64_t queued;             /**< waiting in the queue now */
    uint64_t in_flight;          /**< taken by the export under way */
} lumen_log_batch_stats;

#define LUMEN_LOG_BATCH_STATS_VERSION 1
#define LUMEN_LOG_BATCH_STATS_INIT                                                                 \
    LUMEN__VERSIONED_INIT(lumen_log_batch_stats, LUMEN_LOG_BATCH_STATS_VERSION)

/** Zero *stats and set its version. Returns LUMEN_OK, LUMEN_EINVAL (stats
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_log_batch_stats_init(lumen_log_batch_stats *stats, unsigned int version);

/** Fill *out (the fields of its version) for a handler made by
 * lumen_log_batch_handler_new. Returns LUMEN_OK, LUMEN_EINVAL (NULL, or
 * another kind of handler) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_log_batch_get_stats(lumen_log_batch_stats *out, lumen_log_handler *h);

/* ---- flushing, files, shutdown -------------------------------------------- */

/**
 * Write out every buffered line of every thread and wait until the
 * asynchronous queues are empty, at most `timeout_ms` (0:
 * LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS; LUMEN_WAIT_FOREVER: no limit).
 * Returns LUMEN_OK, or LUMEN_ETIMEDOUT when lines were still queued then
 * (they stay queued). Thread-safe.
 */
LUMEN_API int lumen_log_flush(uint32_t timeout_ms);

/**
 * Reopen every file sink (after logrotate moved the file), and look again
 * at what each descriptor sink's fd is (call it after redirecting stdout
 * with dup2, so that a pipe there is written with SIGPIPE blocked).
 * Returns LUMEN_OK or LUMEN_ESYS if a file could not be reopened (it keeps
 * its old fd). Thread-safe.
 */
LUMEN_API int lumen_log_reopen(void);

/**
 * Install a SIGHUP handler that makes lumen reopen its file sinks (the
 * handler only sets a flag; the reopen happens on the next write or flush
 * tick). Returns LUMEN_OK or LUMEN_ESYS. Not thread-safe with other
 * sigaction calls for SIGHUP.
 */
LUMEN_API int lumen_log_install_sighup(void);

/**
 * Flush, drain the asynchronous queues for at most `timeout_ms` (0:
 * LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS; LUMEN_WAIT_FOREVER: no limit; lines
 * still queued then are dropped and counted), and stop the writer and
 * flusher threads. Logging after shutdown still works, synchronously and
 * unbatched. Returns LUMEN_OK or LUMEN_ETIMEDOUT. Thread-safe.
 */
LUMEN_API int lumen_log_shutdown(uint32_t timeout_ms);

/** Lines dropped since the start (queue full, sink errors). Thread-safe. */
LUMEN_API uint64_t lumen_log_dropped(void);

/* ---- signal and crash handlers -------------------------------------------- */

/**
 * Write one JSON line {"ts","level","logger":"raw","msg"} to `fd` (negative:
 * standard output) using only write(2): no lock, no allocation, no stdio.
 * `msg` is escaped; messages are cut at LUMEN_LOG_RAW_MAX bytes. Thread-safe
 * and async-signal-safe: it calls only clock_gettime, write, pthread_sigmask,
 * sigpending and sigtimedwait (the last three keep a closed pipe's SIGPIPE
 * from killing the process, also when the caller runs with SIGPIPE blocked,
 * as in a handler whose sa_mask blocks every signal).
 */
LUMEN_API void lumen_log_raw(int fd, lumen_log_level level, const char *msg);

/**
 * Best effort from a crash handler: write out the lines batched by every
 * thread whose buffer is not busy at that moment (try-locks only, no
 * allocation). Thread-safe, and async-signal-safe as far as write(2) and
 * try-locks go.
 */
LUMEN_API void lumen_log_flush_from_signal(void);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_LOG_H */
