/*
 * lumen/metrics.h: counters, gauges, histograms, summaries and info metrics
 * in the Prometheus/OpenMetrics model, their registries, custom collectors
 * and the two text expositions.
 *
 * The model: a registry holds families; a family has a name, a type, help,
 * an optional unit, fixed label names and constant labels; each distinct set
 * of label values is one child (series). A child is handed out as a stable
 * handle: keep it, and an update costs a plain add to a cell of the CPU it
 * runs on: no lock, no allocation, no atomic read-modify-write.
 *
 * Handles never dangle. Registries, families and series are named by
 * handles that carry a generation, not by pointers. Once a series is
 * removed or cleared, or its family unregistered, or its registry freed,
 * an update through its handle does nothing but count itself in
 * lumen_metrics_updates_lost_total{reason="stale_handle"} (in the default
 * registry); a lookup or render through a family or registry handle that
 * died returns LUMEN_ENOENT. This holds in every interleaving with other
 * threads, however late the handle is used. (On 32-bit targets a handle
 * keeps 10 bits of generation: one used after its slot was reused 1024
 * times may reach the new series.)
 */
#ifndef LUMEN_METRICS_H
#define LUMEN_METRICS_H

#include "lumen/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lumen_registry lumen_registry;
typedef struct lumen_family lumen_family;
typedef struct lumen_counter lumen_counter;
typedef struct lumen_gauge lumen_gauge;
typedef struct lumen_histogram lumen_histogram;
typedef struct lumen_summary lumen_summary;
typedef struct lumen_collector lumen_collector;
typedef struct lumen_collect_sink lumen_collect_sink;

/** The type of a metric family. */
typedef enum lumen_metric_type {
    LUMEN_METRIC_COUNTER = 1,
    LUMEN_METRIC_GAUGE = 2,
    LUMEN_METRIC_HISTOGRAM = 3,
    LUMEN_METRIC_SUMMARY = 4,
    LUMEN_METRIC_INFO = 5,
    LUMEN_METRIC_UNTYPED = 6 /**< "untyped" in text 0.0.4, "unknown" in OpenMetrics */
} lumen_metric_type;

/** A label: name and value, both borrowed by the call that takes them. */
typedef struct lumen_label {
    const char *name;
    const char *value;
} lumen_label;

/** Flags for lumen_metric_opts.flags. */
enum {
    /** Attach the current sampled span's trace_id and span_id as an exemplar
     * to increments and observations made while that span is current. */
    LUMEN_METRIC_EXEMPLARS_FROM_TRACE = 1u << 0,
    /** Do not expose the `_created` sample in OpenMetrics. */
    LUMEN_METRIC_NO_CREATED = 1u << 1
};

/**
 * Options for creating a family. Zero every field with LUMEN_METRIC_OPTS_INIT
 * and set those you need; fields will only ever be appended. Strings and
 * arrays are copied.
 */
typedef struct lumen_metric_opts {
    const char *help; /**< HELP text; NULL means "" */
    const char *unit; /**< OpenMetrics UNIT; must be a suffix of the name; NULL for none */
    const char *const *label_names; /**< label names, fixed for the family's life */
    size_t label_count;
    const lumen_label *const_labels; /**< labels with fixed values added to every series */
    size_t const_label_count;
    size_t series_limit;   /**< 0: LUMEN_DEFAULT_SERIES_LIMIT */
    unsigned flags;        /**< LUMEN_METRIC_* flags */
    const double *buckets; /**< histograms: upper bounds, strictly increasing, +Inf implied; NULL:
                              default buckets */
    size_t bucket_count;
    const double
        *quantiles; /**< summaries: quantiles in [0,1] to estimate; NULL: count and sum only */
    size_t quantile_count;
    double max_age_seconds; /**< summaries: sliding window length; 0: 600 */
    unsigned age_buckets;   /**< summaries: window subdivisions; 0: 5 */
} lumen_metric_opts;

#define LUMEN_METRIC_OPTS_INIT                                                                     \
    {                                                                                              \
        0                                                                                          \
    }

/* ---- registries ---------------------------------------------------------- */

/**
 * The process-wide default registry, created on first use. Never NULL unless
 * memory is exhausted on first use. It is never freed. Thread-safe.
 */
LUMEN_API lumen_registry *lumen_registry_default(void);

/**
 * Create an empty registry into *out, owned by the caller (free it with
 * lumen_registry_free). Returns LUMEN_OK, LUMEN_EINVAL or LUMEN_ENOMEM.
 * Thread-safe.
 */
LUMEN_API int lumen_registry_new(lumen_registry **out);

/**
 * Free a registry, its families, their children and its collectors. Every
 * handle obtained from it dies: updates through them are dropped and
 * counted, lookups and renders return LUMEN_ENOENT (see the top of this
 * file). A render in progress finishes first. NULL, the default registry
 * and a registry already freed are no-ops. Thread-safe.
 */
LUMEN_API void lumen_registry_free(lumen_registry *reg);

/**
 * Remove the family `name` (a counter's with or without `_total`) from the
 * registry and free it with its children; a render in progress finishes
 * with it first. Its handle and its series' handles die (see the top of
 * this file). `reg` NULL is the default registry. Returns LUMEN_OK,
 * LUMEN_EINVAL or LUMEN_ENOENT (no such family, or a dead registry
 * handle). Thread-safe.
 */
LUMEN_API int lumen_registry_unregister(lumen_registry *reg, const char *name);

/* ---- families -------------------------------------------------------------- */

/**
 * Create and register a family. `reg` NULL means the default registry;
 * `opts` NULL means no labels, no help and defaults for the rest. The family
 * is owned by the registry; *out is borrowed until it is unregistered.
 * A counter's name may be given with or without its `_total` suffix (the
 * family is named without it, as OpenMetrics does); at most 64 label names
 * and constant labels together; at most 1000 histogram bounds (a trailing
 * +Inf is accepted and ignored). Families of type INFO and UNTYPED are
 * made with lumen_info_new and by collectors, not here.
 *
 * Errors: LUMEN_EINVAL (NULL name or out, bad type, inconsistent opts),
 * LUMEN_EBADNAME, LUMEN_EBADLABEL, LUMEN_ERESERVED ("__" prefixes, "le" on a
 * histogram, "quantile" on a summary), LUMEN_EEXIST (a family already
 * produces one of this family's sample names), LUMEN_ERANGE (buckets not
 * strictly increasing or NaN, quantile outside [0,1]), LUMEN_ENOENT (a dead
 * registry handle), LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_family_new(lumen_family **out, lumen_registry *reg, lumen_metric_type type,
                               const char *name, const lumen_metric_opts *opts);

/** The family's name, borrowed until the family is unregistered; NULL for
 * a dead handle. Thread-safe. */
LUMEN_API const char *lumen_family_name(const lumen_family *fam);

/** The family's type; 0 for a dead handle. Thread-safe. */
LUMEN_API lumen_metric_type lumen_family_type(const lumen_family *fam);

/**
 * Get or create the counter child for `values` (`n` must equal the family's
 * label count; values are copied, any bytes allowed: invalid UTF-8 is
 * stored as U+FFFD, so values that differ only there are one series).
 * The handle in *out
 * stays usable until the child is removed or the family unregistered;
 * after that it is dead, not dangling (see the top of this file).
 * When the family already holds its series limit, a new label set gets the
 * family's overflow series (all label values "__overflow__"), LUMEN_OK is
 * returned and the overflow is counted (lumen_family_overflows).
 * Errors: LUMEN_EINVAL, LUMEN_ENOENT (the family handle is dead),
 * LUMEN_ETYPE (not a counter family), LUMEN_ELABELCOUNT, LUMEN_ENOMEM. A
 * lookup of an existing child takes no lock and allocates nothing, and may
 * run while other threads remove, clear or unregister. Thread-safe.
 */
LUMEN_API int lumen_family_counter(lumen_family *fam, const char *const *values, size_t n,
                                   lumen_counter **out);
/** As lumen_family_counter, for gauge families. */
LUMEN_API int lumen_family_gauge(lumen_family *fam, const char *const *values, size_t n,
                                 lumen_gauge **out);
/** As lumen_family_counter, for histogram families. */
LUMEN_API int lumen_family_histogram(lumen_family *fam, const char *const *values, size_t n,
                                     lumen_histogram **out);
/** As lumen_family_counter, for summary families. */
LUMEN_API int lumen_family_summary(lumen_family *fam, const char *const *values, size_t n,
                                   lumen_summary **out);

/**
 * Remove the child for `values`. Its handle dies at once: updates through
 * it are dropped and counted (see the top of this file). Its memory is
 * reclaimed once no lookup or render can still be reading it. Returns
 * LUMEN_OK, LUMEN_EINVAL, LUMEN_ELABELCOUNT, LUMEN_ENOENT (no such child,
 * or a dead family handle) or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_family_remove(lumen_family *fam, const char *const *values, size_t n);

/** Remove every child; their handles die as with lumen_family_remove.
 * When memory is exhausted nothing is removed and the diagnostics hook is
 * told. A dead family handle is a no-op. Thread-safe. */
LUMEN_API void lumen_family_clear(lumen_family *fam);

/**
 * Change the series limit (0: the default). Existing series are kept even
 * if there are more of them than the new limit. Thread-safe.
 */
LUMEN_API void lumen_family_set_series_limit(lumen_family *fam, size_t limit);

/** How many label sets were sent to the overflow series (0 for a dead
 * handle). Thread-safe. */
LUMEN_API uint64_t lumen_family_overflows(const lumen_family *fam);

/* ---- unlabelled shortcuts ------------------------------------------------ */

/**
 * Create a family without labels and return its only child. `reg` NULL is
 * the default registry. Errors as lumen_family_new. Thread-safe.
 */
LUMEN_API int lumen_counter_new(lumen_counter **out, lumen_registry *reg, const char *name,
                                const char *help);
/** As lumen_counter_new, for a gauge. */
LUMEN_API int lumen_gauge_new(lumen_gauge **out, lumen_registry *reg, const char *name,
                              const char *help);
/** As lumen_counter_new, for a histogram; `buckets` NULL means the default
 * buckets (0.005 ... 10, as the other Prometheus clients). */
LUMEN_API int lumen_histogram_new(lumen_histogram **out, lumen_registry *reg, const char *name,
                                  const char *help, const double *buckets, size_t bucket_count);
/** As lumen_counter_new, for a summary with count and sum only. */
LUMEN_API int lumen_summary_new(lumen_summary **out, lumen_registry *reg, const char *name,
                                const char *help);

/**
 * Register an info metric: `name` (without the `_info` suffix, which the
 * exposition adds) with one series of value 1 carrying `labels`.
 * Errors as lumen_family_new. Thread-safe.
 */
LUMEN_API int lumen_info_new(lumen_registry *reg, const char *name, const char *help,
                             const lumen_label *labels, size_t n);

/**
 * Register a gauge whose value is `fn(ud)`, called at every scrape from the
 * scraping thread. `fn` must be thread-safe and quick.
 * Errors as lumen_family_new. Thread-safe.
 */
LUMEN_API int lumen_gauge_func_new(lumen_registry *reg, const char *name, const char *help,
                                   double (*fn)(void *ud), void *ud);

/* ---- counters ------------------------------------------------------------ */

/** Add 1. NULL is a no-op. Lock-free, allocation-free. Thread-safe. */
LUMEN_API void lumen_counter_inc(lumen_counter *c);

/** Add `v` (>= 0). A negative or NaN `v` is not applied: it is counted and
 * reported once through the diagnostics hook. Thread-safe. */
LUMEN_API void lumen_counter_add(lumen_counter *c, double v);

/**
 * Add `v` and record an exemplar (labels such as trace_id, the value, and
 * the current time). Exemplar labels whose names and values together exceed
 * 128 UTF-8 characters are dropped (the add still happens). Thread-safe.
 */
LUMEN_API void lumen_counter_add_exemplar(lumen_counter *c, double v, const lumen_label *labels,
                                          size_t n);

/** The counter's current total, summed over the CPUs' cells; 0 for a dead
 * handle. Thread-safe. */
LUMEN_API double lumen_counter_value(const lumen_counter *c);

/* ---- gauges -------------------------------------------------------------- */

/** Set to `v`. Thread-safe. */
LUMEN_API void lumen_gauge_set(lumen_gauge *g, double v);
/** Add 1. Thread-safe. */
LUMEN_API void lumen_gauge_inc(lumen_gauge *g);
/** Subtract 1. Thread-safe. */
LUMEN_API void lumen_gauge_dec(lumen_gauge *g);
/** Add `v` (may be negative). Thread-safe. */
LUMEN_API void lumen_gauge_add(lumen_gauge *g, double v);
/** Subtract `v`. Thread-safe. */
LUMEN_API void lumen_gauge_sub(lumen_gauge *g, double v);
/** Set to the current Unix time in seconds. Thread-safe. */
LUMEN_API void lumen_gauge_set_to_current_time(lumen_gauge *g);
/** The gauge's current value; 0 for a dead handle. Thread-safe. */
LUMEN_API double lumen_gauge_value(const lumen_gauge *g);

/* ---- histograms ---------------------------------------------------------- */

/** Record one observation. NaN is counted in no bucket and reported once.
 * Lock-free, allocation-free. Thread-safe. */
LUMEN_API void lumen_histogram_observe(lumen_histogram *h, double v);

/** Record an observation with an exemplar for its bucket (see
 * lumen_counter_add_exemplar for the size rule). Thread-safe. */
LUMEN_API void lumen_histogram_observe_exemplar(lumen_histogram *h, double v,
                                                const lumen_label *labels, size_t n);

/**
 * Fill `out[0..count)` with start, start+width, ... Returns LUMEN_OK, or
 * LUMEN_EINVAL when count is 0 or width <= 0. Thread-safe.
 */
LUMEN_API int lumen_buckets_linear(double *out, double start, double width, size_t count);

/**
 * Fill `out[0..count)` with start, start*factor, ... Returns LUMEN_OK, or
 * LUMEN_EINVAL when count is 0, start <= 0 or factor <= 1. Thread-safe.
 */
LUMEN_API int lumen_buckets_exponential(double *out, double start, double factor, size_t count);

/**
 * The default buckets (.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10):
 * returns a static array and stores its length in *count. Thread-safe.
 */
LUMEN_API const double *lumen_buckets_default(size_t *count);

/* ---- summaries ----------------------------------------------------------- */

/** Record one observation (NaN is refused and counted). Summaries take a
 * per-series lock: use a histogram where the cost matters. Quantiles are
 * estimated over the sliding window from a bounded random sample of each
 * sub-window (exact while a sub-window holds at most 256 observations).
 * Thread-safe. */
LUMEN_API void lumen_summary_observe(lumen_summary *s, double v);

/* ---- custom collectors --------------------------------------------------- */

/**
 * A collector is called at every scrape, from the scraping thread, and
 * writes families and samples through the sink. It returns LUMEN_OK or an
 * error, which is reported through the diagnostics hook; what it wrote
 * before failing is still exposed only if it is well formed.
 */
typedef int (*lumen_collect_fn)(lumen_collect_sink *sink, void *ud);

/**
 * Register a collector. *out (may be NULL) receives a handle for
 * lumen_registry_remove_collector. `reg` NULL is the default registry.
 * Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_ENOENT (a dead registry handle) or
 * LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_registry_add_collector(lumen_registry *reg, lumen_collect_fn fn, void *ud,
                                           lumen_collector **out);

/** Unregister and free a collector. Returns LUMEN_OK or LUMEN_ENOENT. Thread-safe. */
LUMEN_API int lumen_registry_remove_collector(lumen_registry *reg, lumen_collector *col);

/**
 * Register the process collector (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds, ... read from /proc at
 * scrape time; see docs/metrics.md#process-metrics) in `reg`. The default registry
 * has it already unless LUMEN_PROCESS_METRICS=false; call this for a
 * registry of your own, once per registry. *out (may be NULL) receives its
 * handle for lumen_registry_remove_collector. Returns LUMEN_OK,
 * LUMEN_EINVAL (reg NULL) or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_process_collector_add(lumen_registry *reg, lumen_collector **out);

/**
 * Inside a collector: begin a family. Its name is validated like any
 * family's; a name already exposed in this scrape is refused with
 * LUMEN_EEXIST. `help` and `unit` may be NULL.
 */
LUMEN_API int lumen_collect_family(lumen_collect_sink *sink, lumen_metric_type type,
                                   const char *name, const char *help, const char *unit);

/**
 * Inside a collector: one sample of the current family. `suffix` is "" for
 * a gauge, counter or untyped value (counters get `_total` added by the
 * exposition), or "_bucket", "_sum", "_count" for histograms and summaries,
 * "_created" for counters, histograms and summaries (OpenMetrics only);
 * the collector writes `le` on buckets and `quantile` on summary samples.
 * Labels are validated and escaped. Returns LUMEN_OK, LUMEN_ESTATE (no
 * family begun, or the last one was refused), LUMEN_EINVAL (a suffix the
 * type does not have), LUMEN_EBADLABEL or LUMEN_ENOMEM.
 */
LUMEN_API int lumen_collect_sample(lumen_collect_sink *sink, const char *suffix,
                                   const lumen_label *labels, size_t n, double value);

/* ---- exposition ---------------------------------------------------------- */

/** Exposition formats. */
typedef enum lumen_format {
    LUMEN_FORMAT_PROMETHEUS = 0, /**< text format 0.0.4 */
    LUMEN_FORMAT_OPENMETRICS = 1 /**< OpenMetrics 1.0.0 text */
} lumen_format;

/**
 * Receives rendered output in pieces; returns 0 to go on or nonzero to stop
 * the render (which then returns LUMEN_EIO).
 */
typedef int (*lumen_write_fn)(void *ud, const char *data, size_t len);

/**
 * Render the registry (`reg` NULL: the default registry) in `format`,
 * handing the bytes to `write` in chunks. Families come in name order,
 * children in label order: the same state renders to the same bytes.
 * Rendering reads the counters without stopping the threads that update
 * them and never holds a lock that an update takes.
 * Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_ENOENT (a dead registry handle),
 * LUMEN_ENOMEM or LUMEN_EIO. Thread-safe.
 */
LUMEN_API int lumen_registry_render(lumen_registry *reg, lumen_format format, lumen_write_fn write,
                                    void *ud);

/**
 * Render into a new NUL-terminated string in *out (free with lumen_free),
 * its length without the NUL in *len (may be NULL). Thread-safe.
 */
LUMEN_API int lumen_registry_render_string(lumen_registry *reg, lumen_format format, char **out,
                                           size_t *len);

/**
 * Render several registries (at most 64; NULL entries mean the default
 * registry) as one exposition (one `# EOF` in OpenMetrics). A family name
 * that appears in two of them is rendered from the first only.
 * Returns as lumen_registry_render. Thread-safe.
 */
LUMEN_API int lumen_registries_render(lumen_registry *const *regs, size_t n, lumen_format format,
                                      lumen_write_fn write, void *ud);

/**
 * Pick the format for an HTTP Accept header (NULL or empty: text 0.0.4):
 * OpenMetrics when the header accepts application/openmetrics-text with a
 * nonzero q, text 0.0.4 otherwise. Stores the response Content-Type in
 * *content_type when that is not NULL. Thread-safe.
 */
LUMEN_API lumen_format lumen_format_negotiate(const char *accept, const char **content_type);

/** The Content-Type of a format, a static string. Thread-safe. */
LUMEN_API const char *lumen_format_content_type(lumen_format format);

/* ---- validation ---------------------------------------------------------- */

/** LUMEN_OK if `name` is a valid metric name, else LUMEN_EBADNAME or
 * LUMEN_ERESERVED. Thread-safe. */
LUMEN_API int lumen_metric_name_check(const char *name);

/** LUMEN_OK if `name` is a valid label name, else LUMEN_EBADLABEL or
 * LUMEN_ERESERVED. Thread-safe. */
LUMEN_API int lumen_label_name_check(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_METRICS_H */
