/*
 * metrics/types.c: the update paths of counters, gauges and histograms,
 * the storage each child type needs, and the typed wrappers over families.
 *
 * Counters keep two cells per series: a count for integral adds (the
 * common inc) and a double for the rest, so that inc is an integer add and
 * a fractional add stays exact in its own cell. Histograms keep one count
 * cell per bucket (+Inf included, not cumulative) and a double sum cell;
 * the exposition derives cumulative buckets and _count from one snapshot
 * of the bucket cells, so _count always equals the +Inf bucket. Gauges
 * keep one shared atomic double: set semantics cannot be split per thread.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/tctx.h"
#include "metrics/internal.h"

/* Counts below this convert to double exactly. */
#define EXACT_LIMIT 9007199254740992.0

static uint32_t child_cells(const lumen__child *c)
{
    switch (c->fam->type) {
    case LUMEN_METRIC_COUNTER:
        return 2;
    case LUMEN_METRIC_HISTOGRAM:
        return (uint32_t)c->fam->nbuckets + 2;
    default:
        return 0;
    }
}

int lumen__child_init_storage(lumen__child *c, lumen_family *f)
{
    switch (f->type) {
    case LUMEN_METRIC_COUNTER:
        return lumen__cells_alloc(1, 1, &c->cell);
    case LUMEN_METRIC_HISTOGRAM:
        return lumen__cells_alloc((uint32_t)f->nbuckets + 1, 1, &c->cell);
    case LUMEN_METRIC_SUMMARY:
        return lumen__summary_state_new(f, &c->u.sum);
    default:
        return LUMEN_OK;
    }
}

void lumen__child_free(lumen__child *c)
{
    if (c == NULL)
        return;
    lumen_family *f = c->fam;
    uint32_t n = child_cells(c);
    if (n > 0)
        lumen__cells_release(c->cell, n);
    if (f->type == LUMEN_METRIC_COUNTER) {
        lumen__exemplar_free(&c->u.ex);
    } else if (f->type == LUMEN_METRIC_HISTOGRAM) {
        _Atomic(lumen__exemplar *) *hex = atomic_load_explicit(&c->u.hex, memory_order_acquire);
        if (hex != NULL) {
            for (size_t i = 0; i <= f->nbuckets; i++)
                lumen__exemplar_free(&hex[i]);
            lumen__free((void *)hex, (f->nbuckets + 1) * sizeof hex[0]);
        }
    } else if (f->type == LUMEN_METRIC_SUMMARY) {
        lumen__summary_state_free(c->u.sum);
    }
    lumen__free(c, lumen__child_size(c));
}

static void reject(lumen__child *c, const char *what, double v)
{
    atomic_fetch_add_explicit(&c->fam->rejected, 1, memory_order_relaxed);
    lumen__diag(LUMEN_DIAG_WARN, "metrics: %s %s: refused value %g", what, c->fam->name, v);
}

static bool trace_sampled(void)
{
    const lumen__tctx *t = lumen__tctx_get();
    return t->has_span && (t->trace_flags & 1);
}

/* ---- counters -------------------------------------------------------- */

static inline void counter_add(lumen__child *c, double v)
{
    if (LUMEN_LIKELY(v == 1.0)) {
        lumen__cell_add_u64(c->cell, 1);
    } else if (!(v >= 0)) {
        reject(c, "counter", v);
        return;
    } else if (v < EXACT_LIMIT && v == (double)(uint64_t)v) {
        lumen__cell_add_u64(c->cell, (uint64_t)v);
    } else {
        lumen__cell_add_f64(c->cell + 1, v);
    }
    if (LUMEN_UNLIKELY(c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE) && trace_sampled())
        lumen__exemplar_from_trace(&c->u.ex, v);
}

static __attribute__((noinline)) void counter_inc_slow(lumen__child *c)
{
    if (c == NULL)
        return;
    lumen__cell_add_u64(c->cell, 1);
    if (trace_sampled())
        lumen__exemplar_from_trace(&c->u.ex, 1);
}

LUMEN_API void lumen_counter_inc(lumen_counter *h)
{
    lumen__child *c = (lumen__child *)h;
    /* Everything unusual goes out of line, so that nothing stays live
     * across the cell update and the fast path saves no registers. */
    if (LUMEN_UNLIKELY(c == NULL || (c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE))) {
        counter_inc_slow(c);
        return;
    }
    lumen__cell_add_u64(c->cell, 1);
}

LUMEN_API void lumen_counter_add(lumen_counter *h, double v)
{
    if (h != NULL)
        counter_add((lumen__child *)h, v);
}

LUMEN_API void lumen_counter_add_exemplar(lumen_counter *h, double v, const lumen_label *labels,
                                          size_t n)
{
    lumen__child *c = (lumen__child *)h;
    if (c == NULL)
        return;
    if (!(v >= 0)) {
        reject(c, "counter", v);
        return;
    }
    if (v < EXACT_LIMIT && v == (double)(uint64_t)v)
        lumen__cell_add_u64(c->cell, (uint64_t)v);
    else
        lumen__cell_add_f64(c->cell + 1, v);
    lumen__exemplar_record(&c->u.ex, v, labels, n);
}

LUMEN_API double lumen_counter_value(const lumen_counter *h)
{
    const lumen__child *c = (const lumen__child *)h;
    if (c == NULL)
        return 0;
    double v[2];
    lumen__cells_lock();
    lumen__cells_sum(c->cell, 2, v);
    lumen__cells_unlock();
    return v[0] + v[1];
}

/* ---- gauges ---------------------------------------------------------- */

LUMEN_API void lumen_gauge_set(lumen_gauge *h, double v)
{
    lumen__child *c = (lumen__child *)h;
    if (c != NULL)
        atomic_store_explicit(&c->u.gauge, lumen__f64_bits(v), memory_order_relaxed);
}

LUMEN_API void lumen_gauge_add(lumen_gauge *h, double v)
{
    lumen__child *c = (lumen__child *)h;
    if (c == NULL)
        return;
    uint64_t old = atomic_load_explicit(&c->u.gauge, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&c->u.gauge, &old,
                                                  lumen__f64_bits(lumen__bits_f64(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

LUMEN_API void lumen_gauge_inc(lumen_gauge *h)
{
    lumen_gauge_add(h, 1);
}

LUMEN_API void lumen_gauge_dec(lumen_gauge *h)
{
    lumen_gauge_add(h, -1);
}

LUMEN_API void lumen_gauge_sub(lumen_gauge *h, double v)
{
    lumen_gauge_add(h, -v);
}

LUMEN_API void lumen_gauge_set_to_current_time(lumen_gauge *h)
{
    lumen_gauge_set(h, (double)lumen__wall_ns() / 1e9);
}

LUMEN_API double lumen_gauge_value(const lumen_gauge *h)
{
    const lumen__child *c = (const lumen__child *)h;
    if (c == NULL)
        return 0;
    return lumen__bits_f64(
        atomic_load_explicit(&((lumen__child *)c)->u.gauge, memory_order_relaxed));
}

/* ---- histograms ------------------------------------------------------ */

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

/* Index of the first bucket whose bound is >= v (nbuckets for +Inf): the
 * number of bounds below v. For up to 16 bounds a branch-free vector
 * compare over the bounds padded with +Inf (eight two-lane compares, no
 * branch to mispredict); a binary search for longer lists. */
static inline size_t bucket_index(const lumen_family *f, double v)
{
    if (LUMEN_LIKELY(f->nbuckets <= LUMEN__SMALL_BUCKETS)) {
        v2d vv = {v, v};
        v2i acc = {0, 0};
        for (int i = 0; i < LUMEN__SMALL_BUCKETS; i += 2) {
            v2d b;
            memcpy(&b, &f->small_bounds[i], sizeof b);
            acc += (v2i)(b < vv); /* -1 in each lane where the bound is below */
        }
        return (size_t) - (acc[0] + acc[1]);
    }
    const double *b = f->buckets;
    size_t lo = 0, hi = f->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static _Atomic(lumen__exemplar *) *bucket_slot(lumen__child *c, size_t idx)
{
    _Atomic(lumen__exemplar *) *hex = atomic_load_explicit(&c->u.hex, memory_order_acquire);
    if (hex == NULL) {
        size_t n = c->fam->nbuckets + 1;
        _Atomic(lumen__exemplar *) *nh = lumen__calloc(n, sizeof nh[0]);
        if (nh == NULL)
            return NULL;
        if (!atomic_compare_exchange_strong_explicit(&c->u.hex, &hex, nh, memory_order_acq_rel,
                                                     memory_order_acquire))
            lumen__free((void *)nh, n * sizeof nh[0]);
        else
            hex = nh;
    }
    return &hex[idx];
}

/* Count v in its bucket and add it to the sum. The whole range lives in
 * one page: one lookup serves both cells. */
static inline void observe_at(_Atomic uint64_t *cells, const lumen_family *f, size_t idx, double v)
{
    atomic_store_explicit(&cells[idx], atomic_load_explicit(&cells[idx], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    lumen__cell_add_f64_at(&cells[f->nbuckets + 1], v);
}

static size_t observe(lumen__child *c, double v)
{
    size_t idx = bucket_index(c->fam, v);
    observe_at(lumen__cell(c->cell), c->fam, idx, v);
    return idx;
}

static __attribute__((noinline)) void observe_slow(lumen__child *c, double v)
{
    if (c == NULL)
        return;
    if (v != v) {
        reject(c, "histogram", v);
        return;
    }
    size_t idx = observe(c, v);
    if ((c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE) && trace_sampled()) {
        _Atomic(lumen__exemplar *) *slot = bucket_slot(c, idx);
        if (slot != NULL)
            lumen__exemplar_from_trace(slot, v);
    }
}

LUMEN_API void lumen_histogram_observe(lumen_histogram *h, double v)
{
    lumen__child *c = (lumen__child *)h;
    _Atomic uint64_t *cells;
    /* Everything unusual (NULL, NaN, exemplars, a thread's first touch of
     * the page) goes out of line as a tail call. */
    if (LUMEN_UNLIKELY(c == NULL || v != v || (c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE) ||
                       (cells = lumen__cell_fast(c->cell)) == NULL)) {
        observe_slow(c, v);
        return;
    }
    observe_at(cells, c->fam, bucket_index(c->fam, v), v);
}

LUMEN_API void lumen_histogram_observe_exemplar(lumen_histogram *h, double v,
                                                const lumen_label *labels, size_t n)
{
    lumen__child *c = (lumen__child *)h;
    if (c == NULL)
        return;
    if (v != v) {
        reject(c, "histogram", v);
        return;
    }
    size_t idx = observe(c, v);
    _Atomic(lumen__exemplar *) *slot = bucket_slot(c, idx);
    if (slot != NULL)
        lumen__exemplar_record(slot, v, labels, n);
}

LUMEN_API int lumen_buckets_linear(double *out, double start, double width, size_t count)
{
    if (out == NULL || count == 0 || !(width > 0) || !isfinite(start) || !isfinite(width))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < count; i++)
        out[i] = start + (double)i * width;
    return LUMEN_OK;
}

LUMEN_API int lumen_buckets_exponential(double *out, double start, double factor, size_t count)
{
    if (out == NULL || count == 0 || !(start > 0) || !(factor > 1) || !isfinite(start) ||
        !isfinite(factor))
        return LUMEN_EINVAL;
    double v = start;
    for (size_t i = 0; i < count; i++, v *= factor)
        out[i] = v;
    return LUMEN_OK;
}

/* ---- typed lookups --------------------------------------------------- */

LUMEN_API int lumen_family_counter(lumen_family *f, const char *const *values, size_t n,
                                   lumen_counter **out)
{
    return lumen__family_child(f, LUMEN_METRIC_COUNTER, values, n, (lumen__child **)out);
}

LUMEN_API int lumen_family_gauge(lumen_family *f, const char *const *values, size_t n,
                                 lumen_gauge **out)
{
    return lumen__family_child(f, LUMEN_METRIC_GAUGE, values, n, (lumen__child **)out);
}

LUMEN_API int lumen_family_histogram(lumen_family *f, const char *const *values, size_t n,
                                     lumen_histogram **out)
{
    return lumen__family_child(f, LUMEN_METRIC_HISTOGRAM, values, n, (lumen__child **)out);
}

LUMEN_API int lumen_family_summary(lumen_family *f, const char *const *values, size_t n,
                                   lumen_summary **out)
{
    return lumen__family_child(f, LUMEN_METRIC_SUMMARY, values, n, (lumen__child **)out);
}

/* ---- unlabelled shortcuts -------------------------------------------- */

static int new_plain(void **out, lumen_registry *reg, lumen_metric_type type, const char *name,
                     const lumen_metric_opts *o)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    lumen_family *f;
    int rc = lumen_family_new(&f, reg, type, name, o);
    if (rc == LUMEN_OK)
        *out = f->only;
    return rc;
}

LUMEN_API int lumen_counter_new(lumen_counter **out, lumen_registry *reg, const char *name,
                                const char *help)
{
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_COUNTER, name, &o);
}

LUMEN_API int lumen_gauge_new(lumen_gauge **out, lumen_registry *reg, const char *name,
                              const char *help)
{
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_GAUGE, name, &o);
}

LUMEN_API int lumen_histogram_new(lumen_histogram **out, lumen_registry *reg, const char *name,
                                  const char *help, const double *buckets, size_t bucket_count)
{
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    o.buckets = buckets;
    o.bucket_count = bucket_count;
    return new_plain((void **)out, reg, LUMEN_METRIC_HISTOGRAM, name, &o);
}

LUMEN_API int lumen_summary_new(lumen_summary **out, lumen_registry *reg, const char *name,
                                const char *help)
{
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_SUMMARY, name, &o);
}

LUMEN_API int lumen_info_new(lumen_registry *reg, const char *name, const char *help,
                             const lumen_label *labels, size_t n)
{
    if (name == NULL || (n > 0 && labels == NULL) || n > LUMEN__MAX_LABELS)
        return LUMEN_EINVAL;
    const char *names[LUMEN__MAX_LABELS], *values[LUMEN__MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        if (labels[i].name == NULL || labels[i].value == NULL)
            return LUMEN_EINVAL;
        names[i] = labels[i].name;
        values[i] = labels[i].value;
    }
    if (reg == NULL && (reg = lumen_registry_default()) == NULL)
        return LUMEN_ENOMEM;
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    o.label_names = names;
    o.label_count = n;
    lumen_family *f;
    int rc = lumen__family_build(&f, LUMEN_METRIC_INFO, name, &o);
    if (rc != LUMEN_OK)
        return rc;
    if ((rc = lumen__family_add_fixed_child(f, values, n)) != LUMEN_OK ||
        (rc = lumen__registry_add(reg, f)) != LUMEN_OK)
        lumen__family_destroy(f);
    return rc;
}

LUMEN_API int lumen_gauge_func_new(lumen_registry *reg, const char *name, const char *help,
                                   double (*fn)(void *ud), void *ud)
{
    if (name == NULL || fn == NULL)
        return LUMEN_EINVAL;
    if (reg == NULL && (reg = lumen_registry_default()) == NULL)
        return LUMEN_ENOMEM;
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = help;
    lumen_family *f;
    int rc = lumen__family_build(&f, LUMEN_METRIC_GAUGE, name, &o);
    if (rc != LUMEN_OK)
        return rc;
    f->fn = fn;
    f->fn_ud = ud;
    if ((rc = lumen__registry_add(reg, f)) != LUMEN_OK)
        lumen__family_destroy(f);
    return rc;
}
