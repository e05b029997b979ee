/*
 * metrics/update.c: the update and read paths of counters, gauges and
 * histograms (summaries observe in summary.c, behind their lock).
 *
 * Counters keep two cells per series: a count for integral adds (the
 * common inc) and a double for the rest, so that inc is an integer add and
 * a fractional add stays exact in its own cell. Histograms keep one count
 * cell per bucket (+Inf included, not cumulative) and a double sum cell;
 * the exposition derives cumulative buckets and _count from one snapshot
 * of the bucket cells, so _count always equals the +Inf bucket. Gauges
 * keep one shared atomic double: set semantics cannot be split per CPU.
 *
 * Every update reaches its series through its handle (slots.h). A
 * counter's inc and integral add check the handle and add to the current
 * CPU's cell in one rseq critical section (core/cpu.h): no lock, no call
 * beyond this function, no atomic read-modify-write. Everything else runs
 * inside a read section (core/rcu.h) that keeps the series' memory and
 * cells valid until it ends. An update through a dead handle (its series
 * removed, cleared, or its family or registry gone) does nothing but
 * count itself in lumen__metrics_lost_stale.
 *
 * These functions stay in one file with the static inline cell and slot
 * helpers they are built from (cells.h, slots.h, core/cpu.h), so that
 * each update compiles to its checks and adds with no call on the fast
 * path.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/rcu.h"
#include "core/tctx.h"
#include "metrics/exemplar.h"
#include "metrics/exphist.h"
#include "metrics/internal.h"
#include "metrics/prefork_shm.h"

/* Counts below this convert to double exactly. */
#define EXACT_LIMIT 9007199254740992.0

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

/* Inside a read section. */
static void counter_add(lumen__child *c, double v)
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

static __attribute__((noinline)) void counter_add_slow(uintptr_t t, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of(t, LUMEN_METRIC_COUNTER);
    if (c != NULL)
        counter_add(c, v);
    lumen__rcu_unlock(rd);
}

/* The fast path: handle check and cell add in one critical section. The
 * expected word is the handle's generation with the slow bit clear. */
static inline bool counter_fast(uintptr_t t, uint64_t v)
{
#ifdef LUMEN__HAVE_RSEQ
    return lumen__cpu_add_u64_guarded(lumen__cell_cpu, &lumen__slot_at(t)->word, (uint64_t)t,
                                      (uint64_t)(uint32_t)t * 2, v);
#else
    (void)t, (void)v;
    return false;
#endif
}

LUMEN_API void lumen_counter_inc(lumen_counter *h)
{
    uintptr_t t = (uintptr_t)h;
    if (LUMEN_LIKELY(counter_fast(t, 1)))
        return;
    counter_add_slow(t, 1);
}

LUMEN_API void lumen_counter_add(lumen_counter *h, double v)
{
    uintptr_t t = (uintptr_t)h;
    if (LUMEN_LIKELY(v >= 0 && v < EXACT_LIMIT && v == (double)(uint64_t)v) &&
        counter_fast(t, (uint64_t)v))
        return;
    counter_add_slow(t, v);
}

LUMEN_API void lumen_counter_add_exemplar(lumen_counter *h, double v, const lumen_label *labels,
                                          size_t n)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_COUNTER);
    if (c == NULL)
        goto out;
    if (!(v >= 0)) {
        reject(c, "counter", v);
        goto out;
    }
    if (v < EXACT_LIMIT && v == (double)(uint64_t)v)
        lumen__cell_add_u64(c->cell, (uint64_t)v);
    else
        lumen__cell_add_f64(c->cell + 1, v);
    lumen__exemplar_record(&c->u.ex, v, labels, n);
out:
    lumen__rcu_unlock(rd);
}

LUMEN_API double lumen_counter_value(const lumen_counter *h)
{
    double v = 0;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    if (c != NULL && c->type == LUMEN_METRIC_COUNTER) {
        uint64_t n;
        lumen__cells_read_u64(c->cell, 1, &n);
        v = (double)n + lumen__cells_read_f64(c->cell + 1);
    }
    lumen__rcu_unlock(rd);
    return v;
}

/* ---- gauges ---------------------------------------------------------- */

/* Inside a read section: the series of a gauge handle, as
 * lumen__series_of, also when its value lives in a pre-forked family's
 * shared memory (its slot word then carries LUMEN__SLOT_SHARED). */
static inline lumen__child *gauge_of(uintptr_t t)
{
#if LUMEN__SLOT_IDX_BITS == 32
    lumen__slot *s = lumen__slot_at(t);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (w == lumen__slot_word(t, LUMEN__SLOT_SLOW | LUMEN__SLOT_SHARED | LUMEN_METRIC_GAUGE))
        return (lumen__child *)atomic_load_explicit(&s->obj, memory_order_relaxed);
#endif
    return lumen__series_of(t, LUMEN_METRIC_GAUGE);
}

static __attribute__((noinline)) void gauge_set_slow(uintptr_t t, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = gauge_of(t);
    if (c != NULL && (c->flags & LUMEN__CF_SHARED))
        lumen__prefork_gauge_set(c, v);
    else if (c != NULL)
        atomic_store_explicit(&c->u.gauge, lumen__f64_bits(v), memory_order_relaxed);
    lumen__rcu_unlock(rd);
}

LUMEN_API void lumen_gauge_set(lumen_gauge *h, double v)
{
    uintptr_t t = (uintptr_t)h;
#ifdef LUMEN__HAVE_RSEQ
    /* Handle, generation and type checked and the value stored in one
     * critical section: the child is freed only after a grace period that
     * restarts every section in progress. */
    _Static_assert(offsetof(lumen__slot, obj) == 8, "lumen__cpu_store_guarded reads obj at 8");
    uint64_t expect =
        ((uint64_t)t & ~(uint64_t)0xffffffffu) | LUMEN__SLOT_SLOW | LUMEN_METRIC_GAUGE;
    if (LUMEN_LIKELY(lumen__cpu_store_guarded(&lumen__slot_at(t)->word, expect,
                                              offsetof(lumen__child, u.gauge), lumen__f64_bits(v))))
        return;
#endif
    gauge_set_slow(t, v);
}

LUMEN_API void lumen_gauge_add(lumen_gauge *h, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = gauge_of((uintptr_t)h);
    if (c != NULL && (c->flags & LUMEN__CF_SHARED)) {
        lumen__prefork_gauge_add(c, v);
    } else if (c != NULL) {
        uint64_t old = atomic_load_explicit(&c->u.gauge, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&c->u.gauge, &old,
                                                      lumen__f64_bits(lumen__bits_f64(old) + v),
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
    }
    lumen__rcu_unlock(rd);
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
    double v = 0;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__slot_get((uintptr_t)h, LUMEN__SLOT_SERIES);
    if (c != NULL && c->type == LUMEN_METRIC_GAUGE)
        v = (c->flags & LUMEN__CF_SHARED)
                ? lumen__prefork_gauge_value(c)
                : lumen__bits_f64(atomic_load_explicit(&c->u.gauge, memory_order_relaxed));
    lumen__rcu_unlock(rd);
    return v;
}

/* ---- histograms ------------------------------------------------------ */

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));

/* Index of the first bucket whose bound is >= v (nbuckets for +Inf): the
 * number of bounds below v. For up to 16 bounds a branch-free vector
 * compare over the bounds padded with +Inf (eight two-lane compares, no
 * branch to mispredict); a binary search for longer lists. */
static inline size_t bucket_index(const lumen__family *f, double v)
{
    if (LUMEN_LIKELY(f->nbuckets <= LUMEN__SMALL_BUCKETS)) {
        v2d vv = {v, v};
        v2i acc = {0, 0};
#pragma GCC unroll 8
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

/* Inside a read section: count v in its bucket and add it to the sum.
 * Both cell ids are computed before the first add, whose memory clobber
 * would make the compiler read the child again. */
static inline __attribute__((always_inline)) size_t observe(lumen__child *c, double v)
{
    const lumen__family *f = c->fam;
    size_t idx = bucket_index(f, v);
    lumen__cell_add_u64_f64(c->cell + (uint32_t)idx, 1, c->cell + (uint32_t)f->nbuckets + 1, v);
    return idx;
}

/* Inside a read section: v (not NaN) into a native histogram: its
 * classic bucket first when it has both kinds, then its native bucket
 * with the sum. What the native buckets cannot hold (an infinity, or an
 * observation when a wider range could not be allocated) still counts in
 * the total: a native-only histogram's +Inf cell holds exactly those.
 * Returns the index of the exemplar slot. */
static inline __attribute__((always_inline)) size_t observe_native(lumen__child *c, double v)
{
    const lumen__family *f = c->fam;
    uint32_t nb = (uint32_t)f->nbuckets, sum = c->cell + nb + 1;
    size_t idx = nb;
    if (f->hkind == LUMEN_HISTOGRAM_BOTH) {
        idx = bucket_index(f, v);
        lumen__cell_add_u64(c->cell + (uint32_t)idx, 1);
    }
    if (LUMEN_LIKELY(lumen__exphist_observe(c->native, v, sum)))
        return idx;
    if (v - v == 0) { /* finite: the wider range had no memory */
        atomic_fetch_add_explicit(&c->fam->rejected, 1, memory_order_relaxed);
        lumen__diag(LUMEN_DIAG_WARN,
                    "metrics: histogram %s: no memory for native buckets; %g counted in +Inf only",
                    f->name, v);
    }
    if (f->hkind == LUMEN_HISTOGRAM_BOTH)
        lumen__cell_add_f64(sum, v);
    else
        lumen__cell_add_u64_f64(c->cell + nb, 1, sum, v);
    return idx;
}

static __attribute__((noinline)) void observe_slow(lumen__child *c, double v)
{
    if (v != v) {
        reject(c, "histogram", v);
        return;
    }
    size_t idx = (c->flags & LUMEN__CF_NATIVE) ? observe_native(c, v) : observe(c, v);
    if ((c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE) && trace_sampled()) {
        _Atomic(lumen__exemplar *) *slot = bucket_slot(c, idx);
        if (slot != NULL)
            lumen__exemplar_from_trace(slot, v);
    }
}

LUMEN_API void lumen_histogram_observe(lumen_histogram *h, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_HISTOGRAM);
    /* NaN and exemplars go out of line. */
    if (LUMEN_LIKELY(c != NULL)) {
        uint8_t fl = c->flags & (LUMEN__CF_EXEMPLARS_FROM_TRACE | LUMEN__CF_NATIVE);
        if (LUMEN_LIKELY(fl == 0 && v == v))
            observe(c, v);
        else if (fl == LUMEN__CF_NATIVE && v == v)
            observe_native(c, v); /* its fast path inline (exphist.h) */
        else
            observe_slow(c, v);
    }
    lumen__rcu_unlock(rd);
}

bool lumen__histogram_observe_cached(lumen_histogram *h, double v)
{
    uintptr_t t = (uintptr_t)h;
    if (t == 0)
        return false;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__slot *s = lumen__slot_at(t);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    bool live = lumen__series_word_live(t, LUMEN_METRIC_HISTOGRAM, w);
    if (LUMEN_LIKELY(live)) {
        lumen__child *c = (lumen__child *)atomic_load_explicit(&s->obj, memory_order_relaxed);
        if (LUMEN_LIKELY(c != NULL)) {
            uint8_t fl = c->flags & (LUMEN__CF_EXEMPLARS_FROM_TRACE | LUMEN__CF_NATIVE);
            if (LUMEN_LIKELY(fl == 0 && v == v))
                observe(c, v);
            else if (fl == LUMEN__CF_NATIVE && v == v)
                observe_native(c, v);
            else
                observe_slow(c, v);
        }
    }
    lumen__rcu_unlock(rd);
    return live;
}

LUMEN_API void lumen_histogram_observe_exemplar(lumen_histogram *h, double v,
                                                const lumen_label *labels, size_t n)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_HISTOGRAM);
    if (c == NULL)
        goto out;
    if (v != v) {
        reject(c, "histogram", v);
        goto out;
    }
    size_t idx = (c->flags & LUMEN__CF_NATIVE) ? observe_native(c, v) : observe(c, v);
    _Atomic(lumen__exemplar *) *slot = bucket_slot(c, idx);
    if (slot != NULL)
        lumen__exemplar_record(slot, v, labels, n);
out:
    lumen__rcu_unlock(rd);
}
