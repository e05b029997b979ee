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

/** Flags for lumen_family_options.flags. */
enum {
    /** Attach the current sampled span's trace_id and span_id as an exemplar
     * to increments and observations made while that span is current. */
    LUMEN_FAMILY_EXEMPLARS_FROM_TRACE = 1u << 0,
    /** Do not expose the `_created` sample in OpenMetrics. */
    LUMEN_FAMILY_NO_CREATED = 1u << 1
};

/**
 * What a histogram family keeps (lumen_family_options.histogram_kind; see
 * docs/metrics.md, "Native histograms").
 */
typedef enum lumen_histogram_kind {
    /** Classic buckets only: the bounds of `buckets` (or the defaults). */
    LUMEN_HISTOGRAM_CLASSIC = 0,
    /** Native (base-2 exponential) buckets only, served to scrapers that
     * ask for the protobuf exposition; the text formats show the +Inf
     * bucket, _sum and _count. `buckets` must be NULL. */
    LUMEN_HISTOGRAM_NATIVE = 1,
    /** Both: native buckets and the classic ones of `buckets` (or the
     * defaults), side by side in the protobuf exposition. */
    LUMEN_HISTOGRAM_BOTH = 2
} lumen_histogram_kind;

/** Native histograms: the default bucket limit per sign. */
#define LUMEN_NATIVE_DEFAULT_MAX_BUCKETS 160
/** Native histograms: the largest native_max_buckets. */
#define LUMEN_NATIVE_MAX_BUCKETS 500

/**
 * Options for creating a family (a versioned struct, docs/api.md). Start
 * from LUMEN_FAMILY_OPTIONS_INIT and set the fields you need; every field
 * left zero takes its default. Strings and arrays are copied.
 */
typedef struct lumen_family_options {
    /** LUMEN_FAMILY_OPTIONS_VERSION */
    unsigned int version;
    /** HELP text; NULL means "" */
    const char *help;
    /** OpenMetrics UNIT; must be a suffix of the name; NULL for none */
    const char *unit;
    /** Label names, fixed for the family's life. */
    const char *const *label_names;
    size_t label_count;
    /** Labels with fixed values added to every series. */
    const lumen_label *const_labels;
    size_t const_label_count;
    /** 0: LUMEN_DEFAULT_SERIES_LIMIT */
    size_t series_limit;
    /** LUMEN_FAMILY_* flags */
    uint32_t flags;
    /** Histograms: upper bounds, strictly increasing, +Inf implied; NULL:
     * the default buckets. */
    const double *buckets;
    size_t bucket_count;
    /** Summaries: quantiles in [0,1] to estimate; NULL: count and sum only. */
    const double *quantiles;
    size_t quantile_count;
    /** Summaries: the sliding window; 0: LUMEN_SUMMARY_DEFAULT_MAX_AGE_MS. */
    uint32_t max_age_ms;
    /** Summaries: sub-windows, at most 60; 0: LUMEN_SUMMARY_DEFAULT_AGE_BUCKETS. */
    uint32_t age_buckets;
    /* ---- version 2 ---- */
    /** Histograms: classic (the default), native, or both. */
    lumen_histogram_kind histogram_kind;
    /** Native histograms: the largest ratio, > 1, between a bucket's upper
     * and lower boundary at the start, as client_golang's bucket factor:
     * the scale is the lowest s in -4..8 with 2^(2^-s) <= this factor
     * (1.1 gives 3), or 8. 0: scale 8 (a ratio of 1.0027). */
    double native_bucket_factor;
    /** Native histograms: buckets per sign before the scale is halved to
     * fit, at most LUMEN_NATIVE_MAX_BUCKETS; 0:
     * LUMEN_NATIVE_DEFAULT_MAX_BUCKETS. */
    uint32_t native_max_buckets;
    /** Native histograms: observations with |v| <= this, >= 0, count in
     * the zero bucket; 0: only zeros do. */
    double native_zero_threshold;
} lumen_family_options;

#define LUMEN_FAMILY_OPTIONS_VERSION 2
#define LUMEN_FAMILY_OPTIONS_INIT                                                                  \
    LUMEN__VERSIONED_INIT(lumen_family_options, LUMEN_FAMILY_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION (0 or newer than this library). Thread-safe. */
LUMEN_API int lumen_family_options_init(lumen_family_options *opts, unsigned int version);

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
 * family is named without it, as OpenMetrics does); names are at most
 * LUMEN_METRIC_NAME_MAX bytes; at most LUMEN_METRIC_MAX_LABELS label names
 * and constant labels together; at most LUMEN_HISTOGRAM_MAX_BUCKETS
 * histogram bounds (a trailing +Inf is accepted and ignored). Families of
 * type INFO and UNTYPED are made with lumen_info_new and by collectors,
 * not here.
 *
 * Errors: LUMEN_EINVAL (NULL name or out, bad type, inconsistent opts),
 * LUMEN_EVERSION (opts not started from LUMEN_FAMILY_OPTIONS_INIT),
 * LUMEN_EBADNAME, LUMEN_ETOOBIG (a name longer than LUMEN_METRIC_NAME_MAX),
 * LUMEN_EBADLABEL, LUMEN_ERESERVED ("__" prefixes, "le" on a histogram,
 * "quantile" on a summary), LUMEN_EEXIST (a family, or a collector's
 * declared family, already produces one of this family's sample names; see
 * lumen_family_lookup), LUMEN_ERANGE (buckets not strictly increasing or
 * NaN, quantile outside [0,1], more than 60 age buckets, a native bucket
 * factor not above 1, more than LUMEN_NATIVE_MAX_BUCKETS native buckets,
 * a negative or NaN zero threshold), LUMEN_EINVAL also for an unknown
 * histogram_kind or buckets given to a native-only one, LUMEN_ENOTSUP
 * (native buckets in a pre-forked family's registry), LUMEN_ENOENT (a
 * dead registry handle), LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_family_new(lumen_family **out, lumen_registry *reg, lumen_metric_type type,
                               const char *name, const lumen_family_options *opts);

/**
 * The registered family named `name` (a counter's with or without `_total`,
 * an info metric's with or without `_info`), for a program that got
 * LUMEN_EEXIST from lumen_family_new and wants the family already there.
 * *out is borrowed as lumen_family_new's is; check its type with
 * lumen_family_type. `reg` NULL is the default registry. Returns LUMEN_OK,
 * LUMEN_EINVAL (out or name NULL) or LUMEN_ENOENT (no such family, or a
 * dead registry handle; *out is then NULL). Thread-safe.
 */
LUMEN_API int lumen_family_lookup(lumen_family **out, lumen_registry *reg, const char *name);

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
LUMEN_API int lumen_family_counter(lumen_counter **out, lumen_family *fam,
                                   const char *const *values, size_t n);
/** As lumen_family_counter, for gauge families. Thread-safe. */
LUMEN_API int lumen_family_gauge(lumen_gauge **out, lumen_family *fam, const char *const *values,
                                 size_t n);
/** As lumen_family_counter, for histogram families. Thread-safe. */
LUMEN_API int lumen_family_histogram(lumen_histogram **out, lumen_family *fam,
                                     const char *const *values, size_t n);
/** As lumen_family_counter, for summary families. Thread-safe. */
LUMEN_API int lumen_family_summary(lumen_summary **out, lumen_family *fam,
                                   const char *const *values, size_t n);

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
/** As lumen_counter_new, for a gauge. Thread-safe. */
LUMEN_API int lumen_gauge_new(lumen_gauge **out, lumen_registry *reg, const char *name,
                              const char *help);
/** As lumen_counter_new, for a histogram; `buckets` NULL means the default
 * buckets (0.005 ... 10, as the other Prometheus clients). Thread-safe. */
LUMEN_API int lumen_histogram_new(lumen_histogram **out, lumen_registry *reg, const char *name,
                                  const char *help, const double *buckets, size_t bucket_count);
/** As lumen_counter_new, for a summary with count and sum only. Thread-safe. */
LUMEN_API int lumen_summary_new(lumen_summary **out, lumen_registry *reg, const char *name,
                                const char *help);

/**
 * Register an info metric: `name` (without the `_info` suffix, which the
 * exposition adds) with one series of value 1 carrying `labels`. *out
 * (may be NULL) receives the family, borrowed as lumen_family_new's is.
 * Errors as lumen_family_new. Thread-safe.
 */
LUMEN_API int lumen_info_new(lumen_family **out, lumen_registry *reg, const char *name,
                             const char *help, const lumen_label *labels, size_t n);

/** The value of a function gauge, called at every scrape from the scraping
 * thread, possibly from several scrapes at once: it must be thread-safe
 * and quick, and must not call into lumen's metrics. */
typedef double (*lumen_gauge_fn)(void *ud);

/**
 * Register a gauge whose value is `fn(ud)` at every scrape. *out (may be
 * NULL) receives the family, borrowed as lumen_family_new's is. Errors as
 * lumen_family_new. Thread-safe.
 */
LUMEN_API int lumen_gauge_func_new(lumen_family **out, lumen_registry *reg, const char *name,
                                   const char *help, lumen_gauge_fn fn, void *ud);

/* ---- counters ------------------------------------------------------------ */

/** Add 1. NULL is a no-op. Lock-free, allocation-free. Thread-safe. */
LUMEN_API void lumen_counter_inc(lumen_counter *c);

/** Add `v` (>= 0). A negative or NaN `v` is not applied: it is counted and
 * reported once through the diagnostics hook. Thread-safe. */
LUMEN_API void lumen_counter_add(lumen_counter *c, double v);

/**
 * Add `v` and record an exemplar (labels such as trace_id, the value, and
 * the current time). Exemplar labels whose names and values together exceed
 * LUMEN_EXEMPLAR_MAX_RUNES UTF-8 characters are dropped (the add still
 * happens). Thread-safe.
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
 * returns a static array and stores its length in *out_count (may be
 * NULL). Thread-safe.
 */
LUMEN_API const double *lumen_buckets_default(size_t *out_count);

/* ---- summaries ----------------------------------------------------------- */

/** Record one observation (NaN is refused and counted; so is a negative
 * value when the memory for the negative range cannot be had). Summaries
 * take a per-series lock: use a histogram where the cost matters.
 *
 * Quantiles are estimated over the sliding window with a stated relative
 * error. Each sub-window counts its values in base-2 exponential buckets
 * (LUMEN_SUMMARY_BUCKETS per sign; zero, +Inf and -Inf counted apart), at
 * a scale s that starts at 8 and is lowered only when the values no longer
 * fit; the window is read at the coarsest scale of its sub-windows (lower
 * still if together they do not fit). For each configured q the summary
 * reports a value within
 *
 *     |estimate - x| <= |x| * (2^(2^-s) - 1) / (2^(2^-s) + 1)
 *
 * of x, the observation of rank ceil(q * n) among the window's n (rank 1
 * at q = 0): s = 8: 0.1354 %, 7: 0.2708 %, 6: 0.5416 %, 5: 1.083 %, 4: 2.166 %.
 * Values of one sign spanning a factor of 2^23.98 or less (7.2 orders of
 * magnitude) keep s >= 6. Zero and infinities are exact; values below
 * 2^-1022 (subnormal) may be off by 2^-1074 more. The sum of +Inf and -Inf
 * is NaN, as in every client. Memory per series with quantiles:
 * age_buckets x LUMEN_SUMMARY_BUCKETS x 8 bytes (60 KiB by default), twice
 * that from the first negative observation. Thread-safe. */
LUMEN_API void lumen_summary_observe(lumen_summary *s, double v);

/* ---- custom collectors --------------------------------------------------- */

/**
 * A collector is called at every scrape, from the scraping thread, and
 * writes families and samples through the sink. The collectors of one
 * registry never run at once. It returns LUMEN_OK or an error, which is
 * reported through the diagnostics hook; what it wrote before failing is
 * still exposed only if it is well formed.
 */
typedef int (*lumen_collect_fn)(lumen_collect_sink *sink, void *ud);

/** Options of a collector (a versioned struct, docs/api.md). */
typedef struct lumen_collector_options {
    /** LUMEN_COLLECTOR_OPTIONS_VERSION */
    unsigned int version;
    /** The names of the families the collector writes (as it gives them to
     * lumen_collect_family), copied. They are reserved at registration:
     * each reserves itself and every name a family of that name may expose
     * (its `_total`, `_created`, `_bucket`, `_sum`, `_count` and `_info`),
     * so that a clash with a registered family, another collector's
     * declared family or a later lumen_family_new is LUMEN_EEXIST at once
     * instead of a family missing from a scrape. NULL: nothing declared
     * (then only the scrape-time check applies). */
    const char *const *family_names;
    size_t family_count;
} lumen_collector_options;

#define LUMEN_COLLECTOR_OPTIONS_VERSION 1
#define LUMEN_COLLECTOR_OPTIONS_INIT                                                               \
    LUMEN__VERSIONED_INIT(lumen_collector_options, LUMEN_COLLECTOR_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_collector_options_init(lumen_collector_options *opts, unsigned int version);

/**
 * Register a collector. *out (may be NULL) receives a handle for
 * lumen_registry_remove_collector. `reg` NULL is the default registry;
 * `opts` NULL declares no family. Returns LUMEN_OK, LUMEN_EINVAL (fn NULL,
 * an invalid declared name), LUMEN_EVERSION, LUMEN_ETOOBIG (a declared
 * name longer than LUMEN_METRIC_NAME_MAX), LUMEN_EEXIST (a declared name
 * clashes), LUMEN_ENOENT (a dead registry handle) or LUMEN_ENOMEM.
 * Thread-safe.
 */
LUMEN_API int lumen_registry_add_collector(lumen_collector **out, lumen_registry *reg,
                                           const lumen_collector_options *opts, lumen_collect_fn fn,
                                           void *ud);

/** Unregister and free a collector, releasing its declared names. Returns
 * LUMEN_OK, LUMEN_EINVAL (col NULL) or LUMEN_ENOENT. Thread-safe. */
LUMEN_API int lumen_registry_remove_collector(lumen_registry *reg, lumen_collector *col);

/**
 * Register the process collector (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds, ... read from /proc at
 * scrape time; see docs/metrics.md#process-metrics) in `reg`, with its
 * families declared (lumen_collector_options). The default registry has it
 * already unless LUMEN_PROCESS_METRICS=false; call this for a registry of
 * your own, once per registry. *out (may be NULL) receives its handle for
 * lumen_registry_remove_collector. Returns LUMEN_OK, LUMEN_EINVAL (reg
 * NULL), LUMEN_EEXIST (a process_* family is already registered there) or
 * LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_process_collector_add(lumen_collector **out, lumen_registry *reg);

/* ---- lumen's own metrics ------------------------------------------------ */

/** Flags for lumen_self_metrics_options.flags. */
enum {
    LUMEN_SELF_METRICS_NO_LOG = 1u << 0,  /**< no lumen_log_* families */
    LUMEN_SELF_METRICS_NO_TRACE = 1u << 1 /**< no lumen_trace_* families */
};

/** Where the log and trace layers register their own families (a
 * versioned struct, docs/api.md). */
typedef struct lumen_self_metrics_options {
    /** LUMEN_SELF_METRICS_OPTIONS_VERSION */
    unsigned int version;
    /** NULL: the default registry. It must outlive every logger and tracer
     * provider. */
    lumen_registry *registry;
    /** LUMEN_SELF_METRICS_* */
    uint32_t flags;
} lumen_self_metrics_options;

#define LUMEN_SELF_METRICS_OPTIONS_VERSION 1
#define LUMEN_SELF_METRICS_OPTIONS_INIT                                                            \
    LUMEN__VERSIONED_INIT(lumen_self_metrics_options, LUMEN_SELF_METRICS_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_self_metrics_options_init(lumen_self_metrics_options *opts,
                                              unsigned int version);

/**
 * Choose where the log layer's families (lumen_log_events_total,
 * lumen_log_dropped_total) and the trace layer's (lumen_trace_*) are
 * registered, or turn either off; NULL restores the default (both in the
 * default registry). LUMEN_SELF_METRICS=false in the environment turns
 * both off whatever this says. A layer registers its families once, when
 * it is first used (the first record logged, the first tracer provider);
 * from then on its choice is fixed, and a call that would change it
 * returns LUMEN_ESTATE. A family of the program's that already has one of
 * these names keeps it: the clash is reported once through the diagnostics
 * hook, with the name, and that layer's families stay off; a program
 * family created after them gets LUMEN_EEXIST from lumen_family_new.
 * Returns LUMEN_OK, LUMEN_EVERSION or LUMEN_ESTATE. Thread-safe.
 */
LUMEN_API int lumen_self_metrics_configure(const lumen_self_metrics_options *opts);

/**
 * Inside a collector: begin a family. Its name is validated like any
 * family's; a name already exposed in this scrape is refused with
 * LUMEN_EEXIST. `help` and `unit` may be NULL. Safe on distinct objects
 * (a sink belongs to the one collector call it was passed to).
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
 * type does not have), LUMEN_EBADLABEL or LUMEN_ENOMEM. Safe on distinct
 * objects, as lumen_collect_family.
 */
LUMEN_API int lumen_collect_sample(lumen_collect_sink *sink, const char *suffix,
                                   const lumen_label *labels, size_t n, double value);

/* ---- exposition ---------------------------------------------------------- */

/** Exposition formats. */
typedef enum lumen_format {
    LUMEN_FORMAT_PROMETHEUS = 0,  /**< text format 0.0.4 */
    LUMEN_FORMAT_OPENMETRICS = 1, /**< OpenMetrics 1.0.0 text */
    /** Prometheus protobuf: length-delimited io.prometheus.client.MetricFamily
     * messages, the only format that carries native histograms. */
    LUMEN_FORMAT_PROTOBUF = 2
} lumen_format;

/**
 * Receives rendered output in pieces, on the rendering thread, one call at
 * a time per render; `data` is borrowed for the call. Returns 0 to go on
 * or nonzero to stop the render (which then returns LUMEN_EIO).
 */
typedef int (*lumen_write_fn)(const char *data, size_t len, void *ud);

/**
 * Render the registry (`reg` NULL: the default registry) in `format`,
 * handing the bytes to `write` in chunks. Families come in name order,
 * children in label order: the same state renders to the same bytes.
 * Rendering reads the counters without stopping the threads that update
 * them and never holds a lock that an update takes.
 * In LUMEN_FORMAT_PROTOBUF the bytes are binary (length-delimited
 * MetricFamily messages, families in the same order).
 * Returns LUMEN_OK, LUMEN_EINVAL, LUMEN_ENOENT (a dead registry handle),
 * LUMEN_ENOTSUP (protobuf asked of a pre-forked family's registry, which
 * has no protobuf form), LUMEN_ENOMEM or LUMEN_EIO. Thread-safe.
 */
LUMEN_API int lumen_registry_render(lumen_registry *reg, lumen_format format, lumen_write_fn write,
                                    void *ud);

/**
 * Render into a new NUL-terminated string in *out (free with lumen_free),
 * its length without the NUL in *out_len (may be NULL; protobuf output may
 * hold NUL bytes: use the length). Returns as
 * lumen_registry_render (*out NULL on error). Thread-safe.
 */
LUMEN_API int lumen_registry_render_string(char **out, size_t *out_len, lumen_registry *reg,
                                           lumen_format format);

/**
 * Render several registries (at most LUMEN_RENDER_MAX_REGISTRIES; NULL
 * entries mean the default registry) as one exposition (one `# EOF` in
 * OpenMetrics). A family name that appears in two of them is rendered from
 * the first only. Returns as lumen_registry_render. Thread-safe.
 */
LUMEN_API int lumen_registries_render(lumen_registry *const *regs, size_t n, lumen_format format,
                                      lumen_write_fn write, void *ud);

/**
 * Pick the format for an HTTP Accept header (NULL or empty: text 0.0.4):
 * LUMEN_FORMAT_PROTOBUF when the header accepts
 * application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily
 * and encoding=delimited, with a nonzero q at least that of OpenMetrics
 * (Prometheus with native histograms enabled); else OpenMetrics when it
 * accepts application/openmetrics-text with a nonzero q; else text 0.0.4. Stores the response
 * Content-Type (a static string) in *out_content_type when that is not NULL. Thread-safe.
 */
LUMEN_API lumen_format lumen_format_negotiate(const char **out_content_type, const char *accept);

/** The Content-Type of a format, a static string. Thread-safe. */
LUMEN_API const char *lumen_format_content_type(lumen_format format);

/* ---- validation ---------------------------------------------------------- */

/** LUMEN_OK if `name` is a valid metric name, else LUMEN_EBADNAME,
 * LUMEN_ERESERVED or LUMEN_ETOOBIG (longer than LUMEN_METRIC_NAME_MAX).
 * Thread-safe. */
LUMEN_API int lumen_metric_name_check(const char *name);

/** LUMEN_OK if `name` is a valid label name, else LUMEN_EBADLABEL or
 * LUMEN_ERESERVED. Thread-safe. */
LUMEN_API int lumen_label_name_check(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_METRICS_H */
