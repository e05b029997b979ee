/*
 * lumen/trace.h: distributed tracing. Spans with attributes, events, links
 * and status; a current span per thread; W3C Trace Context, W3C Baggage and
 * B3 propagation through header callbacks; samplers; simple and batching
 * processors; the exporter interface with in-memory and console exporters.
 * The OTLP encoders are in lumen/otlp.h; the OTLP/HTTP transport lives in
 * liblumen-http (lumen/http_otlp.h).
 *
 * Quick start:
 *
 *     lumen_tracer_provider *tp;
 *     lumen_tracer_provider_new(&tp, NULL);          // reads OTEL_* variables
 *     lumen_span_exporter *exp;
 *     lumen_console_exporter_new(&exp, NULL);
 *     lumen_span_processor *bp;
 *     lumen_batch_processor_new(&bp, exp, NULL);     // takes exp
 *     lumen_tracer_provider_add_processor(tp, bp);   // takes bp
 *     lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "my.lib", "1.0");
 *
 *     lumen_span *s = lumen_span_start(tr, "GET /items", NULL);
 *     lumen_span_enter(s);                           // current on this thread
 *     lumen_span_set_int(s, "http.status_code", 200);
 *     lumen_span_leave(s);
 *     lumen_span_end(s);
 *
 *     lumen_tracer_provider_shutdown(tp, 0);         // 0: its shutdown timeout
 *     lumen_tracer_provider_free(tp);
 */
#ifndef LUMEN_TRACE_H
#define LUMEN_TRACE_H

#include <stdbool.h>

#include "lumen/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- span context -------------------------------------------------------- */

/** W3C trace-flags bit 0: the caller may have recorded the trace. */
#define LUMEN_TRACE_FLAG_SAMPLED 0x01
/** W3C Trace Context Level 2 trace-flags bit 1: at least the rightmost 7
 * bytes of the trace id are random. lumen sets it on the traces it starts
 * (its ids are drawn from a random generator) and keeps a parent's. */
#define LUMEN_TRACE_FLAG_RANDOM 0x02

/**
 * The part of a span that crosses process boundaries: trace id, span id,
 * trace flags, whether it came from another process, and the W3C
 * tracestate list. Opaque: made with lumen_span_context_new and filled by
 * extraction, by lumen_span_get_context or by the setters below, which
 * check what they store as an incoming header is checked. Reuse one per
 * thread or per connection: copying and filling never allocate. A context
 * is valid when neither id is all zero.
 */
typedef struct lumen_span_context lumen_span_context;

/** A new, invalid (all-zero) context into *out, freed with
 * lumen_span_context_free. Returns LUMEN_OK, LUMEN_EINVAL (out NULL) or
 * LUMEN_ENOMEM. Thread-safe. */
LUMEN_API int lumen_span_context_new(lumen_span_context **out);

/** Free a context. NULL is a no-op. Safe on distinct objects. */
LUMEN_API void lumen_span_context_free(lumen_span_context *sc);

/** Copy `src` into `dst` (no allocation). Returns LUMEN_OK or LUMEN_EINVAL
 * (either NULL). Safe on distinct objects. */
LUMEN_API int lumen_span_context_copy(lumen_span_context *dst, const lumen_span_context *src);

/** Set the ids, the trace flags and whether the context is remote (came
 * from another process); clears the tracestate. Zero ids make an invalid
 * context. Returns LUMEN_OK or LUMEN_EINVAL (a NULL argument). Safe on
 * distinct objects. */
LUMEN_API int lumen_span_context_set(lumen_span_context *sc, const uint8_t trace_id[16],
                                     const uint8_t span_id[8], uint8_t trace_flags, bool is_remote);

/** Set the W3C tracestate list (`len` bytes of `list`; NULL or 0 clears
 * it), checked as an incoming tracestate header is: an invalid list
 * (LUMEN_EPARSE) leaves the tracestate empty; one longer than
 * LUMEN_TRACESTATE_MAX is cut by whole members. Returns LUMEN_OK,
 * LUMEN_EPARSE or LUMEN_EINVAL (sc NULL). Safe on distinct objects. */
LUMEN_API int lumen_span_context_set_trace_state(lumen_span_context *sc, const char *list,
                                                 size_t len);

/** Copy the trace id and span id out (either output may be NULL; a NULL
 * context gives zeros). Safe on distinct objects. */
LUMEN_API void lumen_span_context_ids(uint8_t out_trace_id[16], uint8_t out_span_id[8],
                                      const lumen_span_context *sc);

/** The trace flags (LUMEN_TRACE_FLAG_*; 0 for NULL). Safe on distinct
 * objects. */
LUMEN_API uint8_t lumen_span_context_flags(const lumen_span_context *sc);

/** Whether the context came from another process (extracted from a
 * carrier, or set so); false for NULL. Safe on distinct objects. */
LUMEN_API bool lumen_span_context_is_remote(const lumen_span_context *sc);

/** The tracestate list, NUL-terminated and borrowed until `sc` changes
 * ("" for none or NULL), its length in *out_len (may be NULL). Safe on
 * distinct objects. */
LUMEN_API const char *lumen_span_context_trace_state(size_t *out_len, const lumen_span_context *sc);

/** True when neither id of `sc` is all zero. NULL is invalid. Safe on
 * distinct objects. */
LUMEN_API bool lumen_span_context_is_valid(const lumen_span_context *sc);

/* ---- attributes ---------------------------------------------------------- */

/** Type of an attribute value. */
typedef enum lumen_attr_type {
    LUMEN_ATTR_STRING = 1,
    LUMEN_ATTR_BOOL = 2,
    LUMEN_ATTR_INT = 3,
    LUMEN_ATTR_DOUBLE = 4,
    LUMEN_ATTR_STRING_ARRAY = 5,
    LUMEN_ATTR_BOOL_ARRAY = 6,
    LUMEN_ATTR_INT_ARRAY = 7,
    LUMEN_ATTR_DOUBLE_ARRAY = 8
} lumen_attr_type;

/**
 * One attribute, for the calls that take several at once (events, links,
 * lumen_span_set_attrs). Strings and arrays are borrowed for the call and
 * copied. Build them with the constructors or LUMEN_ATTR_* macros below
 * (a frozen value type, docs/api.md).
 */
typedef struct lumen_attr {
    const char *key;
    lumen_attr_type type;
    size_t len; /**< arrays: element count; strings: byte length or (size_t)-1 for strlen */
    union {
        const char *s;
        bool b;
        int64_t i;
        double d;
        const char *const *sa;
        const bool *ba;
        const int64_t *ia;
        const double *da;
    } v;
} lumen_attr;

/** A string attribute (the string's length is taken when it is copied). */
static inline lumen_attr lumen_attr_str(const char *key, const char *value)
{
    lumen_attr a;
    a.key = key;
    a.type = LUMEN_ATTR_STRING;
    a.len = (size_t)-1;
    a.v.s = value;
    return a;
}
/** A string attribute of `len` bytes. */
static inline lumen_attr lumen_attr_strn(const char *key, const char *value, size_t len)
{
    lumen_attr a;
    a.key = key;
    a.type = LUMEN_ATTR_STRING;
    a.len = len;
    a.v.s = value;
    return a;
}
/** An integer attribute. */
static inline lumen_attr lumen_attr_int(const char *key, int64_t value)
{
    lumen_attr a;
    a.key = key;
    a.type = LUMEN_ATTR_INT;
    a.len = 0;
    a.v.i = value;
    return a;
}
/** A floating-point attribute. */
static inline lumen_attr lumen_attr_double(const char *key, double value)
{
    lumen_attr a;
    a.key = key;
    a.type = LUMEN_ATTR_DOUBLE;
    a.len = 0;
    a.v.d = value;
    return a;
}
/** A boolean attribute. */
static inline lumen_attr lumen_attr_bool(const char *key, bool value)
{
    lumen_attr a;
    a.key = key;
    a.type = LUMEN_ATTR_BOOL;
    a.len = 0;
    a.v.b = value;
    return a;
}

/** Initializers for arrays of attributes, usable in static tables in C:
 *   lumen_attr a[] = {LUMEN_ATTR_STR("k", "v"), LUMEN_ATTR_INT("n", 1)}; */
#define LUMEN_ATTR_STR(k, val)                                                                     \
    {                                                                                              \
        (k), LUMEN_ATTR_STRING, (size_t)-1,                                                        \
        {                                                                                          \
            (val)                                                                                  \
        }                                                                                          \
    }
#ifdef __cplusplus
#define LUMEN_ATTR_INT(k, val) lumen_attr_int((k), (val))
#define LUMEN_ATTR_DOUBLE(k, val) lumen_attr_double((k), (val))
#define LUMEN_ATTR_BOOL(k, val) lumen_attr_bool((k), (val))
#else
#define LUMEN_ATTR_INT(k, val)                                                                     \
    {                                                                                              \
        (k), LUMEN_ATTR_INT, 0,                                                                    \
        {                                                                                          \
            .i = (val)                                                                             \
        }                                                                                          \
    }
#define LUMEN_ATTR_DOUBLE(k, val)                                                                  \
    {                                                                                              \
        (k), LUMEN_ATTR_DOUBLE, 0,                                                                 \
        {                                                                                          \
            .d = (val)                                                                             \
        }                                                                                          \
    }
#define LUMEN_ATTR_BOOL(k, val)                                                                    \
    {                                                                                              \
        (k), LUMEN_ATTR_BOOL, 0,                                                                   \
        {                                                                                          \
            .b = (val)                                                                             \
        }                                                                                          \
    }
#endif

/* ---- samplers ------------------------------------------------------------ */

/** A sampling decision (OpenTelemetry SamplingResult). */
typedef enum lumen_sampling_decision {
    LUMEN_SAMPLING_DROP = 0,             /**< not recorded, sampled flag clear */
    LUMEN_SAMPLING_RECORD_ONLY = 1,      /**< recorded for processors, not exported */
    LUMEN_SAMPLING_RECORD_AND_SAMPLE = 2 /**< recorded and exported */
} lumen_sampling_decision;

/** The built-in samplers, named as OTEL_TRACES_SAMPLER names them. */
typedef enum lumen_sampler_kind {
    LUMEN_SAMPLER_DEFAULT = 0, /**< OTEL_TRACES_SAMPLER, else parentbased_always_on */
    LUMEN_SAMPLER_ALWAYS_ON,
    LUMEN_SAMPLER_ALWAYS_OFF,
    LUMEN_SAMPLER_TRACEIDRATIO,
    LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON,
    LUMEN_SAMPLER_PARENTBASED_ALWAYS_OFF,
    LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO,
    LUMEN_SAMPLER_CUSTOM /**< calls lumen_sampler.fn */
} lumen_sampler_kind;

/** Span kind, with the OTLP numbers. */
typedef enum lumen_span_kind {
    LUMEN_SPAN_INTERNAL = 1,
    LUMEN_SPAN_SERVER = 2,
    LUMEN_SPAN_CLIENT = 3,
    LUMEN_SPAN_PRODUCER = 4,
    LUMEN_SPAN_CONSUMER = 5
} lumen_span_kind;

/**
 * A custom sampler. `parent` is NULL for a root span, else the parent's
 * context, borrowed for the call. Called on the thread starting the span,
 * possibly from several threads at once: it must be fast and thread-safe,
 * and must not call into lumen's tracing.
 */
typedef lumen_sampling_decision (*lumen_sample_fn)(const lumen_span_context *parent,
                                                   const uint8_t trace_id[16], const char *name,
                                                   lumen_span_kind kind, void *ud);

/** Sampler configuration (a frozen value type, docs/api.md). traceidratio
 * samples a trace when the big-endian value of the trace id's last 8
 * bytes, shifted right by one, is below ratio * 2^63, as the OpenTelemetry
 * Go SDK does, so that both keep the same traces. */
typedef struct lumen_sampler {
    lumen_sampler_kind kind;
    double ratio;       /**< for the traceidratio kinds, in [0, 1]; those must set it */
    lumen_sample_fn fn; /**< for LUMEN_SAMPLER_CUSTOM */
    void *ud;
} lumen_sampler;

/* ---- exporters ----------------------------------------------------------- */

typedef struct lumen_span lumen_span;
typedef struct lumen_span_exporter lumen_span_exporter;

/**
 * Export ended, sampled spans, borrowed for the call (read them with the
 * lumen_span_get_* accessors or encode them with lumen_otlp_encode_spans).
 * Returns LUMEN_OK or a negative status by `deadline_ns` (lumen_monotonic_ns
 * clock; 0: none). See lumen_span_exporter_ops.
 */
typedef int (*lumen_span_export_fn)(void *ud, const lumen_span *const *spans, size_t n,
                                    int64_t deadline_ns);

/**
 * Callbacks of an exporter implemented by the program (a versioned table,
 * docs/api.md: start from LUMEN_SPAN_EXPORTER_OPS_INIT). They are called by
 * the processor that owns the exporter, one at a time, on its thread (the
 * ending thread for the simple processor, the worker for the batch
 * processor); each returns LUMEN_OK or a negative status by `deadline_ns`
 * and must not call the processor or provider that owns the exporter. The
 * processor counts a failed export in lumen_trace_export_failures_total by
 * its status: LUMEN_ETIMEDOUT as reason="timeout", LUMEN_EHTTP as "http",
 * LUMEN_ECONNREFUSED, LUMEN_ECONNECT and LUMEN_ETLS as "connect", any other
 * as "other" (a positive value is taken as LUMEN_EINVAL and reported once);
 * a failure after the processor's shutdown cut the exporter off (its
 * deadline passed) counts as "timeout". `force_flush`, `shutdown` and
 * `destroy` may be NULL.
 */
typedef struct lumen_span_exporter_ops {
    unsigned int version; /**< LUMEN_SPAN_EXPORTER_OPS_VERSION */
    lumen_span_export_fn export_spans;
    int (*force_flush)(void *ud, int64_t deadline_ns);
    int (*shutdown)(void *ud, int64_t deadline_ns);
    void (*destroy)(void *ud);
} lumen_span_exporter_ops;

#define LUMEN_SPAN_EXPORTER_OPS_VERSION 1
#define LUMEN_SPAN_EXPORTER_OPS_INIT                                                               \
    LUMEN__VERSIONED_INIT(lumen_span_exporter_ops, LUMEN_SPAN_EXPORTER_OPS_VERSION)

/** Zero *ops and set its version. Returns LUMEN_OK, LUMEN_EINVAL (ops
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_span_exporter_ops_init(lumen_span_exporter_ops *ops, unsigned int version);

/**
 * Wrap the program's callbacks (`ops` copied; `ud` handed to them) as an
 * exporter into *out, freed by the processor that takes it or by
 * lumen_span_exporter_free. Returns LUMEN_OK, LUMEN_EINVAL (no
 * export_spans), LUMEN_EVERSION or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_span_exporter_new(lumen_span_exporter **out, const lumen_span_exporter_ops *ops,
                                      void *ud);

/**
 * The `ud` that `exp` was made with, into *out, when `exp` was made by
 * lumen_span_exporter_new with `export_spans` as its export function (so
 * that the code that made an exporter can recognise it and reach its own
 * state). Returns LUMEN_OK, LUMEN_EINVAL (NULL out or exp) or LUMEN_ETYPE
 * (another kind of exporter; *out is then NULL). Thread-safe.
 */
LUMEN_API int lumen_span_exporter_user_data(void **out, const lumen_span_exporter *exp,
                                            lumen_span_export_fn export_spans);

/** Free an exporter no processor took (shuts it down and calls
 * ops.destroy). NULL is a no-op. Not thread-safe: no other call may use
 * `exp` meanwhile. */
LUMEN_API void lumen_span_exporter_free(lumen_span_exporter *exp);

/** Console exporter options (a versioned struct, docs/api.md). */
typedef struct lumen_console_exporter_options {
    unsigned int version; /**< LUMEN_CONSOLE_EXPORTER_OPTIONS_VERSION */
    /** The descriptor to write to (not closed by lumen); 0: standard
     * output (to write to descriptor 0, dup it first). */
    int fd;
} lumen_console_exporter_options;

#define LUMEN_CONSOLE_EXPORTER_OPTIONS_VERSION 1
#define LUMEN_CONSOLE_EXPORTER_OPTIONS_INIT                                                        \
    LUMEN__VERSIONED_INIT(lumen_console_exporter_options, LUMEN_CONSOLE_EXPORTER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_console_exporter_options_init(lumen_console_exporter_options *opts,
                                                  unsigned int version);

/**
 * An exporter that writes one JSON object per span per line: the members
 * of the OTLP/JSON Span object, plus "scope" ({"name", "version"}) and
 * "resource" (an object of the resource's attributes). NULL options:
 * standard output. Returns LUMEN_OK, LUMEN_EINVAL (out NULL, a negative
 * fd), LUMEN_EVERSION or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_console_exporter_new(lumen_span_exporter **out,
                                         const lumen_console_exporter_options *opts);

/**
 * An exporter that keeps every span in memory, for tests. The spans stay
 * readable until lumen_memory_exporter_reset or the exporter is freed.
 * Returns LUMEN_OK, LUMEN_EINVAL or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_memory_exporter_new(lumen_span_exporter **out);
/** Number of spans held. Thread-safe. */
LUMEN_API size_t lumen_memory_exporter_count(lumen_span_exporter *exp);
/** The i-th span held (export order), borrowed until reset; NULL when out of
 * range or `exp` is not a memory exporter. Thread-safe. */
LUMEN_API const lumen_span *lumen_memory_exporter_get(lumen_span_exporter *exp, size_t i);
/** Drop every span held; spans returned by _get become invalid.
 * Thread-safe. */
LUMEN_API void lumen_memory_exporter_reset(lumen_span_exporter *exp);

/* ---- processors ---------------------------------------------------------- */

typedef struct lumen_span_processor lumen_span_processor;

/** Simple processor options (a versioned struct, docs/api.md). */
typedef struct lumen_simple_processor_options {
    unsigned int version; /**< LUMEN_SIMPLE_PROCESSOR_OPTIONS_VERSION */
    /** The budget of one export; 0: LUMEN_DEFAULT_EXPORT_TIMEOUT_MS. */
    uint32_t export_timeout_ms;
} lumen_simple_processor_options;

#define LUMEN_SIMPLE_PROCESSOR_OPTIONS_VERSION 1
#define LUMEN_SIMPLE_PROCESSOR_OPTIONS_INIT                                                        \
    LUMEN__VERSIONED_INIT(lumen_simple_processor_options, LUMEN_SIMPLE_PROCESSOR_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_simple_processor_options_init(lumen_simple_processor_options *opts,
                                                  unsigned int version);

/**
 * A processor that exports each span as it ends, on the ending thread,
 * one export at a time, each within the export timeout. It takes
 * ownership of `exp` (even on error). NULL options: defaults. Returns
 * LUMEN_OK, LUMEN_EINVAL, LUMEN_EVERSION or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_simple_processor_new(lumen_span_processor **out, lumen_span_exporter *exp,
                                         const lumen_simple_processor_options *opts);

/** Batch processor options (a versioned struct, docs/api.md). Zero fields
 * take OTEL_BSP_* or the defaults. */
typedef struct lumen_batch_processor_options {
    unsigned int version; /**< LUMEN_BATCH_PROCESSOR_OPTIONS_VERSION */
    /** OTEL_BSP_MAX_QUEUE_SIZE, LUMEN_BATCH_DEFAULT_MAX_QUEUE_SIZE */
    uint32_t max_queue_size;
    /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE, LUMEN_BATCH_DEFAULT_MAX_EXPORT_BATCH_SIZE
     * (capped at the queue size) */
    uint32_t max_export_batch_size;
    /** OTEL_BSP_SCHEDULE_DELAY, LUMEN_BATCH_DEFAULT_SCHEDULE_DELAY_MS */
    uint32_t schedule_delay_ms;
    /** OTEL_BSP_EXPORT_TIMEOUT, LUMEN_DEFAULT_EXPORT_TIMEOUT_MS */
    uint32_t export_timeout_ms;
} lumen_batch_processor_options;

#define LUMEN_BATCH_PROCESSOR_OPTIONS_VERSION 1
#define LUMEN_BATCH_PROCESSOR_OPTIONS_INIT                                                         \
    LUMEN__VERSIONED_INIT(lumen_batch_processor_options, LUMEN_BATCH_PROCESSOR_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_batch_processor_options_init(lumen_batch_processor_options *opts,
                                                 unsigned int version);

/**
 * A processor that queues ended spans in a bounded lock-free queue and
 * exports them in batches from its own thread. Ending a span never blocks:
 * when the queue is full the span is dropped and counted. Each export is
 * bounded by the export timeout, and so is each force-flush or shutdown
 * as a whole: the batches it drains share one export timeout, and those
 * left when it runs out fail (reason="timeout") without an export. A
 * program that ends with exit() (or returns from main) without shutting
 * the provider down still gets its queued spans exported: an atexit
 * handler force-flushes every live batch processor, each within its export
 * timeout. A flush or shutdown that loses spans says so once (see
 * lumen_set_diag_hook). Takes ownership of `exp` (even on error). NULL
 * options: defaults. Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_EVERSION,
 * LUMEN_ENOMEM or LUMEN_ESYS (no thread). Thread-safe.
 */
LUMEN_API int lumen_batch_processor_new(lumen_span_processor **out, lumen_span_exporter *exp,
                                        const lumen_batch_processor_options *opts);

/** What a processor has done with the sampled spans handed to it (a
 * versioned struct that lumen fills, docs/api.md). Every span is counted
 * in exactly one place, so every snapshot satisfies
 * ended == exported + dropped + failed + queued + in_flight, while spans
 * are being ended and exported too. */
typedef struct lumen_span_processor_stats {
    unsigned int version; /**< LUMEN_SPAN_PROCESSOR_STATS_VERSION */
    uint64_t ended;       /**< sampled spans handed to the processor */
    uint64_t exported;    /**< spans in successful exports */
    uint64_t dropped;     /**< spans dropped because the queue was full or shut down */
    uint64_t failed;      /**< spans in failed exports */
    uint64_t queued;      /**< spans waiting in the queue now */
    uint64_t in_flight;   /**< spans taken from the queue by the export under way */
} lumen_span_processor_stats;

#define LUMEN_SPAN_PROCESSOR_STATS_VERSION 1
#define LUMEN_SPAN_PROCESSOR_STATS_INIT                                                            \
    LUMEN__VERSIONED_INIT(lumen_span_processor_stats, LUMEN_SPAN_PROCESSOR_STATS_VERSION)

/** Zero *stats and set its version. Returns LUMEN_OK, LUMEN_EINVAL (stats
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_span_processor_stats_init(lumen_span_processor_stats *stats,
                                              unsigned int version);

/** Fill *out (started from LUMEN_SPAN_PROCESSOR_STATS_INIT: only the
 * fields of its version are written). Returns LUMEN_OK, LUMEN_EINVAL or
 * LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_span_processor_get_stats(lumen_span_processor_stats *out,
                                             lumen_span_processor *p);

/**
 * Export everything ended before the call, then flush the exporter, giving
 * up after `timeout_ms` (0: the processor's export timeout;
 * LUMEN_WAIT_FOREVER: no limit). Returns LUMEN_OK, LUMEN_ETIMEDOUT,
 * LUMEN_EIO (an export failed) or LUMEN_ESHUTDOWN. Thread-safe.
 */
LUMEN_API int lumen_span_processor_force_flush(lumen_span_processor *p, uint32_t timeout_ms);

/** Free a processor no provider took (shuts it down first, within
 * LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS). NULL is a no-op. Not thread-safe: no
 * other call may use `p` meanwhile. */
LUMEN_API void lumen_span_processor_free(lumen_span_processor *p);

/* ---- provider and tracers ------------------------------------------------ */

typedef struct lumen_tracer_provider lumen_tracer_provider;
typedef struct lumen_tracer lumen_tracer;

/** Tracer provider options (a versioned struct, docs/api.md). Zero or NULL
 * fields take the environment (unless ignore_env) or the OpenTelemetry
 * defaults. */
typedef struct lumen_tracer_provider_options {
    unsigned int version; /**< LUMEN_TRACER_PROVIDER_OPTIONS_VERSION */
    /** Do not read OTEL_* variables. */
    bool ignore_env;
    /** Beats OTEL_SERVICE_NAME. */
    const char *service_name;
    /** "k=v,k2=v2", percent-encoded as OTEL_RESOURCE_ATTRIBUTES. */
    const char *resource_attributes;
    /** Kind LUMEN_SAMPLER_DEFAULT: OTEL_TRACES_SAMPLER(_ARG). */
    lumen_sampler sampler;
    /** OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, LUMEN_SPAN_DEFAULT_ATTRIBUTE_COUNT_LIMIT */
    uint32_t attribute_count_limit;
    /** OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, unlimited */
    uint32_t attribute_value_length_limit;
    /** OTEL_SPAN_EVENT_COUNT_LIMIT, LUMEN_SPAN_DEFAULT_EVENT_COUNT_LIMIT */
    uint32_t event_count_limit;
    /** OTEL_SPAN_LINK_COUNT_LIMIT, LUMEN_SPAN_DEFAULT_LINK_COUNT_LIMIT */
    uint32_t link_count_limit;
    /** OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_EVENT_LIMIT */
    uint32_t attribute_per_event_limit;
    /** OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_LINK_LIMIT */
    uint32_t attribute_per_link_limit;
    /** The budget of lumen_tracer_provider_free, and of _shutdown and
     * _force_flush given 0; 0: LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS. */
    uint32_t shutdown_timeout_ms;
} lumen_tracer_provider_options;

#define LUMEN_TRACER_PROVIDER_OPTIONS_VERSION 1
#define LUMEN_TRACER_PROVIDER_OPTIONS_INIT                                                         \
    LUMEN__VERSIONED_INIT(lumen_tracer_provider_options, LUMEN_TRACER_PROVIDER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_tracer_provider_options_init(lumen_tracer_provider_options *opts,
                                                 unsigned int version);

/**
 * Create a provider into *out. Its resource has service.name (options,
 * then OTEL_SERVICE_NAME, then service.name of OTEL_RESOURCE_ATTRIBUTES,
 * then "unknown_service:<program>"), the resource attributes and
 * telemetry.sdk.*. With OTEL_SDK_DISABLED=true its tracers do nothing.
 * Invalid environment values are reported through the diagnostics hook
 * and ignored. Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_EVERSION or
 * LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_tracer_provider_new(lumen_tracer_provider **out,
                                        const lumen_tracer_provider_options *opts);

/**
 * Add a processor (the provider takes ownership, even on error). Spans
 * started after the call reach it. Up to LUMEN_TRACER_PROVIDER_MAX_PROCESSORS.
 * Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_ELIMIT or LUMEN_ESHUTDOWN.
 * Not thread-safe with span starts: add processors before tracing.
 */
LUMEN_API int lumen_tracer_provider_add_processor(lumen_tracer_provider *tp,
                                                  lumen_span_processor *p);

/**
 * The tracer for an instrumentation scope (name, version may be NULL),
 * created on first use and owned by the provider. Never NULL: on error or
 * after shutdown, a tracer whose spans do nothing. Thread-safe.
 */
LUMEN_API lumen_tracer *lumen_tracer_provider_get_tracer(lumen_tracer_provider *tp,
                                                         const char *name, const char *version);

/** Force-flush every processor within `timeout_ms` (0: the provider's
 * shutdown_timeout_ms; LUMEN_WAIT_FOREVER: no limit). Returns LUMEN_OK or
 * the first error. Thread-safe. */
LUMEN_API int lumen_tracer_provider_force_flush(lumen_tracer_provider *tp, uint32_t timeout_ms);

/**
 * Flush and shut down every processor within `timeout_ms` (0: the
 * provider's shutdown_timeout_ms; LUMEN_WAIT_FOREVER: no limit). After it
 * spans are not recorded. The second call returns LUMEN_ESHUTDOWN. Returns
 * LUMEN_OK, LUMEN_ETIMEDOUT or LUMEN_EIO. Thread-safe.
 */
LUMEN_API int lumen_tracer_provider_shutdown(lumen_tracer_provider *tp, uint32_t timeout_ms);

/** Shut down (within the provider's shutdown_timeout_ms) if not done, then
 * free the provider, its tracers and processors. NULL is a no-op. Not
 * thread-safe: no span of it may be in use, during or after. */
LUMEN_API void lumen_tracer_provider_free(lumen_tracer_provider *tp);

/** Install `tp` (borrowed; may be NULL) as the process-wide provider that
 * lumen_tracer_get uses. Thread-safe. */
LUMEN_API void lumen_tracer_provider_set_global(lumen_tracer_provider *tp);

/** A tracer of the global provider (a tracer that does nothing when none is
 * set). Thread-safe. */
LUMEN_API lumen_tracer *lumen_tracer_get(const char *name, const char *version);

/* ---- spans --------------------------------------------------------------- */

/** Options for lumen_span_start (a versioned struct, docs/api.md). */
typedef struct lumen_span_options {
    unsigned int version;                     /**< LUMEN_SPAN_OPTIONS_VERSION */
    lumen_span_kind kind;                     /**< 0 means LUMEN_SPAN_INTERNAL */
    const lumen_span *parent;                 /**< explicit parent span (asynchronous code) */
    const lumen_span_context *parent_context; /**< or a parent extracted from a carrier */
    bool root;                                /**< ignore the thread's current span */
    int64_t start_ns;                         /**< 0: now */
    const lumen_attr *attrs;                  /**< initial attributes */
    size_t attr_count;
} lumen_span_options;

#define LUMEN_SPAN_OPTIONS_VERSION 1
#define LUMEN_SPAN_OPTIONS_INIT                                                                    \
    LUMEN__VERSIONED_INIT(lumen_span_options, LUMEN_SPAN_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_span_options_init(lumen_span_options *opts, unsigned int version);

/**
 * Start a span. Its parent is opts->parent, else opts->parent_context, else
 * (unless opts->root) the span current on this thread; none makes a root
 * span with a new trace id. NULL opts: an internal span under the current
 * span. Never NULL and never fails: an unsampled span records nothing and
 * allocates nothing but still carries its context for propagation; options
 * of an unknown version give a span that does nothing (reported once). The
 * name is copied. Thread-safe. The span must be ended exactly once.
 */
LUMEN_API lumen_span *lumen_span_start(lumen_tracer *t, const char *name,
                                       const lumen_span_options *opts);

/** End the span now (or at `end_ns`, lumen_now_ns clock) and hand it to the
 * processors; the handle is invalid afterwards. If the span is current on
 * the calling thread it is left first. NULL is a no-op. Safe on distinct
 * objects. */
LUMEN_API void lumen_span_end(lumen_span *s);
LUMEN_API void lumen_span_end_at(lumen_span *s, int64_t end_ns);

/** Whether the span records (its setters do something). NULL: false. Safe
 * on distinct objects. */
LUMEN_API bool lumen_span_is_recording(const lumen_span *s);

/**
 * Setters. Keys and values are copied; a key already set is overwritten.
 * Over the attribute count limit the attribute is dropped and counted;
 * strings longer than the value length limit are cut at a UTF-8 boundary.
 * No-ops on non-recording or ended spans and NULL. Safe on distinct
 * objects (one thread at a time per span).
 */
LUMEN_API void lumen_span_set_str(lumen_span *s, const char *key, const char *value);
LUMEN_API void lumen_span_set_strn(lumen_span *s, const char *key, const char *value, size_t len);
LUMEN_API void lumen_span_set_int(lumen_span *s, const char *key, int64_t value);
LUMEN_API void lumen_span_set_double(lumen_span *s, const char *key, double value);
LUMEN_API void lumen_span_set_bool(lumen_span *s, const char *key, bool value);
/** Set several attributes, arrays included. Safe on distinct objects. */
LUMEN_API void lumen_span_set_attrs(lumen_span *s, const lumen_attr *attrs, size_t n);

/** Add an event (time 0: now) with attributes (copied). Over the event limit
 * it is dropped and counted. Safe on distinct objects. */
LUMEN_API void lumen_span_add_event(lumen_span *s, const char *name, int64_t time_ns,
                                    const lumen_attr *attrs, size_t n);

/** Add a link to another span context (copied, with attributes). Invalid
 * contexts are ignored; over the link limit it is dropped and counted.
 * Safe on distinct objects. */
LUMEN_API void lumen_span_add_link(lumen_span *s, const lumen_span_context *ctx,
                                   const lumen_attr *attrs, size_t n);

/** Span status codes, with the OTLP numbers. */
typedef enum lumen_span_status {
    LUMEN_SPAN_STATUS_UNSET = 0,
    LUMEN_SPAN_STATUS_OK = 1,
    LUMEN_SPAN_STATUS_ERROR = 2
} lumen_span_status;

/** Set the status. OK is final; the description is kept only for ERROR;
 * UNSET is ignored. Safe on distinct objects. */
LUMEN_API void lumen_span_set_status(lumen_span *s, lumen_span_status code,
                                     const char *description);

/**
 * Record an error on the span as the OpenTelemetry semantic conventions
 * say: an `exception` event with `exception.type` and `exception.message`
 * (each skipped when NULL or empty), the `error.type` attribute (`type`,
 * or "_OTHER" when it is NULL or empty), and the ERROR status with the
 * message as its description. `type` is a low-cardinality name of the
 * error class ("ECONNREFUSED", "timeout", "SIGSEGV"); the message may say
 * more. Strings are copied. No-op on NULL, non-recording or ended spans.
 * Safe on distinct objects.
 */
LUMEN_API void lumen_span_record_error(lumen_span *s, const char *type, const char *message);

/** Rename the span. Safe on distinct objects. */
LUMEN_API void lumen_span_update_name(lumen_span *s, const char *name);

/** Copy the span's context into *out, a context made by
 * lumen_span_context_new (an invalid context for a NULL span; nothing for
 * a NULL out). Safe on distinct objects. */
LUMEN_API void lumen_span_get_context(lumen_span_context *out, const lumen_span *s);

/* ---- the current span ---------------------------------------------------- */

/**
 * Make `s` the current span of the calling thread: spans started without a
 * parent become its children, and log lines and exemplars carry its ids.
 * Enter and leave nest, on the same thread, in LIFO order; a span is
 * current on at most one thread at a time. NULL is a no-op. Thread-safe:
 * it acts on the calling thread.
 */
LUMEN_API void lumen_span_enter(lumen_span *s);
/** Restore what was current before the matching lumen_span_enter.
 * Thread-safe: it acts on the calling thread. */
LUMEN_API void lumen_span_leave(lumen_span *s);
/** The calling thread's current span (borrowed) or NULL. Thread-safe. */
LUMEN_API lumen_span *lumen_span_current(void);

/* ---- reading ended spans (exporters) -------------------------------------- */

/** Readers of an ended span, for exporters. Borrowed pointers live as long
 * as the span. Thread-safe: an ended span does not change, and several
 * processors may read one at once. */
LUMEN_API const char *lumen_span_get_name(const lumen_span *s);
LUMEN_API lumen_span_kind lumen_span_get_kind(const lumen_span *s);
/** Parent span id into out[8]; false (out zeroed) for a root span.
 * Thread-safe. */
LUMEN_API bool lumen_span_get_parent_id(uint8_t out[8], const lumen_span *s);
/** Start and end times (lumen_now_ns clock). Thread-safe. */
LUMEN_API int64_t lumen_span_get_start_ns(const lumen_span *s);
LUMEN_API int64_t lumen_span_get_end_ns(const lumen_span *s);
/** The status, and its description into *out_description (may be NULL;
 * borrowed). Thread-safe. */
LUMEN_API lumen_span_status lumen_span_get_status(const char **out_description,
                                                  const lumen_span *s);
/** Number of attributes kept, and the i-th as a lumen_attr (borrowed).
 * Thread-safe. */
LUMEN_API size_t lumen_span_get_attr_count(const lumen_span *s);
LUMEN_API bool lumen_span_get_attr(lumen_attr *out, const lumen_span *s, size_t i);
/** Find an attribute by key. Thread-safe. */
LUMEN_API bool lumen_span_find_attr(lumen_attr *out, const lumen_span *s, const char *key);
/** Events kept, links kept, and what the limits dropped (each output may
 * be NULL). Thread-safe. */
LUMEN_API size_t lumen_span_get_event_count(const lumen_span *s);
LUMEN_API const char *lumen_span_get_event_name(const lumen_span *s, size_t i);
LUMEN_API size_t lumen_span_get_link_count(const lumen_span *s);
LUMEN_API void lumen_span_get_dropped(uint32_t *out_attrs, uint32_t *out_events,
                                      uint32_t *out_links, const lumen_span *s);

/* ---- propagation --------------------------------------------------------- */

/*
 * The tracecontext propagator follows W3C Trace Context Level 2, which
 * keeps Level 1's behaviour wherever the two agree:
 * - traceparent: version 00 exactly as Level 1 reads it; a later version,
 *   of any length, is read by its version-00 fields and sent on as 00. The
 *   sampled (0x01) and random (0x02) flags are propagated; other bits are
 *   sent as zero. New traces carry the random flag.
 * - tracestate: Level 2 keys (a lowercase letter or digit, then up to 255
 *   of a-z 0-9 _ - * / @), so every Level 1 key is accepted too. A list
 *   with an invalid member or more than 32 members is discarded whole (as
 *   in Level 1); a duplicated key keeps its first member (Level 1's test
 *   suite discarded the list). Kept and sent up to LUMEN_TRACESTATE_MAX
 *   characters, cut by whole members.
 * The baggage propagator follows W3C Baggage: all members are kept while
 * the header stays within LUMEN_BAGGAGE_MAX_MEMBERS (180) members and
 * LUMEN_BAGGAGE_MAX_BYTES (8192) bytes (the spec's floor is 64 members and
 * 8192 bytes); members past that are dropped.
 */

/** Receives one header line's value from a carrier's `get`, borrowed for
 * the call. */
typedef void (*lumen_carrier_emit_fn)(const char *value, size_t len, void *ctx);

/**
 * Header callbacks (a versioned table, docs/api.md: start from
 * LUMEN_CARRIER_INIT). `get` hands the value of every header line named
 * `name` (case-insensitive) to `emit(value, len, emit_ctx)`, once per line
 * in order. `set` stores a header. Both are called on the thread that
 * called extract or inject, during that call, and must not call into
 * lumen's propagation.
 */
typedef struct lumen_carrier {
    unsigned int version; /**< LUMEN_CARRIER_VERSION */
    void (*get)(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *emit_ctx);
    void (*set)(void *carrier, const char *name, const char *value);
    void *carrier;
} lumen_carrier;

#define LUMEN_CARRIER_VERSION 1
#define LUMEN_CARRIER_INIT LUMEN__VERSIONED_INIT(lumen_carrier, LUMEN_CARRIER_VERSION)

/** Zero *c and set its version. Returns LUMEN_OK, LUMEN_EINVAL (c NULL) or
 * LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_carrier_init(lumen_carrier *c, unsigned int version);

/** Propagator bits, as OTEL_PROPAGATORS names them (uint32_t values). */
enum {
    LUMEN_PROPAGATE_TRACECONTEXT = 1u << 0, /**< traceparent + tracestate */
    LUMEN_PROPAGATE_BAGGAGE = 1u << 1,      /**< baggage */
    LUMEN_PROPAGATE_B3 = 1u << 2,           /**< b3 single header */
    LUMEN_PROPAGATE_B3MULTI = 1u << 3,      /**< X-B3-* headers */
    LUMEN_PROPAGATE_DEFAULT = 1u << 30      /**< OTEL_PROPAGATORS, else tracecontext,baggage */
};

/** The propagators OTEL_PROPAGATORS selects (tracecontext|baggage when unset;
 * unknown names reported and ignored; "none" gives 0). Thread-safe. */
LUMEN_API uint32_t lumen_propagators_from_env(void);

typedef struct lumen_baggage lumen_baggage;

/**
 * Extract a remote parent from a carrier into *out (a context made by
 * lumen_span_context_new) with the propagators `which` (LUMEN_PROPAGATE_*
 * bits), in the order tracecontext, b3, b3multi; the first valid one wins.
 * *out is made invalid when none is valid. With a non-NULL `baggage`,
 * baggage entries are added to it. Returns LUMEN_OK when a valid context
 * was found, LUMEN_ENOENT when none, LUMEN_EINVAL on NULL arguments,
 * LUMEN_EVERSION (the carrier's). Thread-safe.
 */
LUMEN_API int lumen_propagation_extract(lumen_span_context *out, lumen_baggage *baggage,
                                        uint32_t which, const lumen_carrier *c);

/**
 * Inject `sc` (and `baggage`, may be NULL) into the carrier `c` with the
 * propagators `which`. An invalid context injects nothing for the trace
 * propagators. Returns LUMEN_OK, LUMEN_EINVAL or LUMEN_EVERSION.
 * Thread-safe.
 */
LUMEN_API int lumen_propagation_inject(const lumen_carrier *c, uint32_t which,
                                       const lumen_span_context *sc, const lumen_baggage *baggage);

/**
 * Parse one traceparent value and the tracestate header lines (may be
 * NULL/0) into *out, with every W3C rule (future versions included).
 * Returns LUMEN_OK, LUMEN_EINVAL (out NULL), or LUMEN_EPARSE when the
 * traceparent is invalid (then *out is made invalid). An invalid
 * tracestate leaves the tracestate empty. Thread-safe.
 */
LUMEN_API int lumen_traceparent_parse(lumen_span_context *out, const char *traceparent, size_t len,
                                      const char *const *tracestate, const size_t *tracestate_len,
                                      size_t tracestate_lines);

/** Write the version-00 traceparent of `sc` into out (55 characters and a
 * NUL). Returns LUMEN_OK or LUMEN_EINVAL (invalid context). Thread-safe. */
LUMEN_API int lumen_traceparent_format(char out[LUMEN_TRACEPARENT_SIZE],
                                       const lumen_span_context *sc);

/** A new empty baggage (*out freed with lumen_baggage_free). Returns
 * LUMEN_OK or LUMEN_ENOMEM. Thread-safe. */
LUMEN_API int lumen_baggage_new(lumen_baggage **out);
/** Free a baggage. NULL is a no-op. Safe on distinct objects. */
LUMEN_API void lumen_baggage_free(lumen_baggage *b);
/**
 * Set (replace) an entry. `value` is the decoded value (invalid UTF-8 is
 * kept as U+FFFD; it is percent-encoded when sent). `metadata` is NULL or
 * the properties in header syntax, `k1=v1;k2`: each property key must be
 * an HTTP token, and bytes of a property value that the grammar does not
 * allow there (space, `,`, `;`, `"`, `\`, controls, non-ASCII) are
 * percent-encoded, so that no property can add a member or a header line.
 * Returns LUMEN_OK, LUMEN_EINVAL (key not a token, or a property key not
 * a token), LUMEN_ELIMIT (the header would pass LUMEN_BAGGAGE_MAX_MEMBERS
 * entries or LUMEN_BAGGAGE_MAX_BYTES bytes) or LUMEN_ENOMEM. Safe on
 * distinct objects.
 */
LUMEN_API int lumen_baggage_set(lumen_baggage *b, const char *key, const char *value,
                                const char *metadata);
/** The decoded value of `key` (borrowed until the entry changes) or NULL.
 * Safe on distinct objects. */
LUMEN_API const char *lumen_baggage_get(const lumen_baggage *b, const char *key);
/** Number of entries. Safe on distinct objects. */
LUMEN_API size_t lumen_baggage_count(const lumen_baggage *b);
/**
 * Parse one baggage header line into `b` (entries added or replaced). Keys,
 * values and properties are checked against the W3C grammar; a member
 * with any invalid part is skipped. Values are percent-decoded, and
 * decoded bytes that are not UTF-8 become U+FFFD. Members that would take
 * the entries past LUMEN_BAGGAGE_MAX_MEMBERS members or a
 * LUMEN_BAGGAGE_MAX_BYTES header are dropped; the others are kept. Returns
 * LUMEN_OK, LUMEN_EPARSE when a member was invalid, LUMEN_ELIMIT when a
 * member was dropped for the limits (and none was invalid), LUMEN_EINVAL
 * or LUMEN_ENOMEM. Safe on distinct objects.
 */
LUMEN_API int lumen_baggage_parse(lumen_baggage *b, const char *header, size_t len);
/** Format `b` as a header value, at most LUMEN_BAGGAGE_MAX_BYTES bytes,
 * into *out (freed with lumen_free). Returns LUMEN_OK, LUMEN_EINVAL or
 * LUMEN_ENOMEM. Safe on distinct objects. */
LUMEN_API int lumen_baggage_format(char **out, const lumen_baggage *b);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_TRACE_H */
