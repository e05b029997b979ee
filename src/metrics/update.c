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
 * beyond this function, no atomic read-modify-write. A classic histogram's
 * observation does the same in two sections (hist_fast). Everything else runs
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
    atomic_fetch_add_explicit(&lumen__metrics_refused, 1, memory_order_relaxed);
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

/*
 * The histogram fast path, like the counters': one block of two rseq
 * critical sections and no read section. The first checks the handle (its
 * slot word is that of a live histogram), reads the series and its family
 * (both stay valid while the check holds: they are freed only after a
 * grace period, whose barrier restarts every section in progress), finds
 * the bucket with the same vector compare as bucket_index and commits the
 * bucket's count; the second checks the handle again (its cells may have
 * been released and reused in between) and commits the sum. Series with
 * exemplars from traces or native buckets, and families of more than
 * LUMEN__SMALL_BUCKETS bounds, take the read-section path.
 * Returns 0 when both were added, 1 when neither was, 2 when only the count
 * was. v is not NaN.
 */
#if defined(LUMEN__HAVE_RSEQ) && LUMEN__SLOT_IDX_BITS == 32
#define HIST_FAST_MASK (LUMEN__CF_EXEMPLARS_FROM_TRACE | LUMEN__CF_NATIVE)
_Static_assert(offsetof(lumen__slot, obj) == 8, "the sections read obj at 8");
_Static_assert(LUMEN__SMALL_BUCKETS == 16, "the sections compare 16 bounds");
_Static_assert(offsetof(lumen__family, small_bounds) == 0, "the sections read the bounds at 0");

static inline __attribute__((always_inline)) int hist_fast(uintptr_t t, double v)
{
    const _Atomic uint64_t *guard = &lumen__slot_at(t)->word;
    uint64_t tok = lumen__slot_word(t, LUMEN__SLOT_SLOW | LUMEN_METRIC_HISTOGRAM);
    v2d vv = {v, v};
#if defined(__x86_64__)
    /* xmm15 counts the bounds below v (-1 per lane; unaligned loads: a
     * user's allocator may align the family to 8 only), r11 holds the
     * sum's cell across the two sections, rdx the bucket's. */
#define HIST_CMP(k)                                                                                \
    "movupd " #k "(%%rax), %%xmm14\n\t"                                                            \
    "cmpltpd %[vv], %%xmm14\n\t"                                                                   \
    "paddq %%xmm14, %%xmm15\n\t"
    __asm__ goto(
        LUMEN__RSEQ_DESC2("none") "cmpq %[tok], (%[guard])\n\t"
                                  "jne %l[none]\n\t"
                                  "movq 8(%[guard]), %%rdx\n\t"
                                  "testb %[mask], %c[flags](%%rdx)\n\t"
                                  "jnz %l[none]\n\t"
                                  "movq %c[fam](%%rdx), %%rax\n\t"
                                  "movq %c[nb](%%rax), %%r11\n\t"
                                  "cmpq $16, %%r11\n\t"
                                  "ja %l[none]\n\t"
                                  "pxor %%xmm15, %%xmm15\n\t" HIST_CMP(0) HIST_CMP(16) HIST_CMP(32)
                                      HIST_CMP(48) HIST_CMP(64) HIST_CMP(80) HIST_CMP(96) HIST_CMP(
                                          112) "movl %c[cell](%%rdx), %%edx\n\t"
                                               "leaq 1(%%rdx, %%r11), %%r11\n\t"
                                               "movhlps %%xmm15, %%xmm14\n\t"
                                               "paddq %%xmm14, %%xmm15\n\t"
                                               "movq %%xmm15, %%rax\n\t"
                                               "subq %%rax, %%rdx\n\t" LUMEN__RSEQ_CPU
                                               "movq (%[bases], %%rax, 8), %%rax\n\t"
                                               "testq %%rax, %%rax\n\t"
                                               "jz %l[none]\n\t"
                                               "addq $1, (%%rax, %%rdx, 8)\n\t" LUMEN__RSEQ_SECOND(
                                                   "first") "cmpq %[tok], (%[guard])\n\t"
                                                            "jne %l[first]\n\t" LUMEN__RSEQ_CPU
                                                            "movq (%[bases], %%rax, 8), %%rax\n\t"
                                                            "testq %%rax, %%rax\n\t"
                                                            "jz %l[first]\n\t"
                                                            "movsd (%%rax, %%r11, 8), %%xmm15\n\t"
                                                            "addsd %[vv], %%xmm15\n\t"
                                                            "movsd %%xmm15, (%%rax, %%r11, "
                                                            "8)\n" LUMEN__RSEQ_ABORT2
        :
        : [rs] "r"(lumen__cpu_rseq_off), [idoff] "r"(lumen__cpu_id_off),
          [bases] "r"(lumen__cell_cpu), [guard] "r"(guard), [tok] "r"(tok), [vv] "x"(vv),
          [mask] "i"(HIST_FAST_MASK), [flags] "i"(offsetof(lumen__child, flags)),
          [fam] "i"(offsetof(lumen__child, fam)), [cell] "i"(offsetof(lumen__child, cell)),
          [nb] "i"(offsetof(lumen__family, nbuckets))
        : "rax", "rdx", "r11", "xmm14", "xmm15", "memory", "cc"
        : none, first);
#undef HIST_CMP
#elif defined(__aarch64__)
    /* v24-v31 hold the bounds and the compares, x13 the sum's cell across
     * the two sections, x11 the bucket's. */
    __asm__ goto(LUMEN__RSEQ_DESC2("none") "ldr x10, [%[guard]]\n\t"
                                           "cmp x10, %[tok]\n\t"
                                           "b.ne %l[none]\n\t"
                                           "ldr x11, [%[guard], #8]\n\t"
                                           "ldrb w10, [x11, #%c[flags]]\n\t"
                                           "mov w12, #%c[mask]\n\t" /* not a logical immediate */
                                           "tst w10, w12\n\t"
                                           "b.ne %l[none]\n\t"
                                           "ldr x12, [x11, #%c[fam]]\n\t"
                                           "ldr x13, [x12, #%c[nb]]\n\t"
                                           "cmp x13, #16\n\t"
                                           "b.hi %l[none]\n\t"
                                           "ldp q24, q25, [x12]\n\t"
                                           "ldp q26, q27, [x12, #32]\n\t"
                                           "ldp q28, q29, [x12, #64]\n\t"
                                           "ldp q30, q31, [x12, #96]\n\t"
                                           "fcmgt v24.2d, %[vv].2d, v24.2d\n\t"
                                           "fcmgt v25.2d, %[vv].2d, v25.2d\n\t"
                                           "fcmgt v26.2d, %[vv].2d, v26.2d\n\t"
                                           "fcmgt v27.2d, %[vv].2d, v27.2d\n\t"
                                           "fcmgt v28.2d, %[vv].2d, v28.2d\n\t"
                                           "fcmgt v29.2d, %[vv].2d, v29.2d\n\t"
                                           "fcmgt v30.2d, %[vv].2d, v30.2d\n\t"
                                           "fcmgt v31.2d, %[vv].2d, v31.2d\n\t"
                                           "add v24.2d, v24.2d, v25.2d\n\t"
                                           "add v26.2d, v26.2d, v27.2d\n\t"
                                           "add v28.2d, v28.2d, v29.2d\n\t"
                                           "add v30.2d, v30.2d, v31.2d\n\t"
                                           "add v24.2d, v24.2d, v26.2d\n\t"
                                           "add v28.2d, v28.2d, v30.2d\n\t"
                                           "add v24.2d, v24.2d, v28.2d\n\t"
                                           "addp d24, v24.2d\n\t"
                                           "fmov x10, d24\n\t"
                                           "ldr w11, [x11, #%c[cell]]\n\t"
                                           "add x13, x13, x11\n\t"
                                           "add x13, x13, #1\n\t"
                                           "sub x11, x11, x10\n\t" LUMEN__RSEQ_CPU
                                           "ldr x12, [%[bases], w9, uxtw #3]\n\t"
                                           "cbz x12, %l[none]\n\t"
                                           "add x12, x12, x11, lsl #3\n\t"
                                           "ldr x10, [x12]\n\t"
                                           "add x10, x10, #1\n\t"
                                           "str x10, [x12]\n\t" LUMEN__RSEQ_SECOND(
                                               "first") "ldr x10, [%[guard]]\n\t"
                                                        "cmp x10, %[tok]\n\t"
                                                        "b.ne %l[first]\n\t" LUMEN__RSEQ_CPU
                                                        "ldr x12, [%[bases], w9, uxtw #3]\n\t"
                                                        "cbz x12, %l[first]\n\t"
                                                        "add x12, x12, x13, lsl #3\n\t"
                                                        "ldr d24, [x12]\n\t"
                                                        "fadd d24, d24, %d[vv]\n\t"
                                                        "str d24, [x12]\n" LUMEN__RSEQ_ABORT2
                 :
                 : [rs] "r"(lumen__cpu_rseq_area()), [idoff] "r"(lumen__cpu_id_off),
                   [bases] "r"(lumen__cell_cpu), [guard] "r"(guard), [tok] "r"(tok), [vv] "w"(vv),
                   [mask] "i"(HIST_FAST_MASK), [flags] "i"(offsetof(lumen__child, flags)),
                   [fam] "i"(offsetof(lumen__child, fam)), [cell] "i"(offsetof(lumen__child, cell)),
                   [nb] "i"(offsetof(lumen__family, nbuckets))
                 : "x9", "x10", "x11", "x12", "x13", "v24", "v25", "v26", "v27", "v28", "v29",
                   "v30", "v31", "memory", "cc"
                 : none, first);
#endif
    return 0;
none:
    return 1;
first:
    return 2;
}
#else
static inline __attribute__((always_inline)) int hist_fast(uintptr_t t, double v)
{
    (void)t, (void)v;
    return 1;
}
#endif

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

/* The read-section path: everything the fast path leaves (NaN, exemplars,
 * native buckets, long bucket lists, dead handles, no rseq). */
static __attribute__((noinline)) void observe_section(uintptr_t t, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of(t, LUMEN_METRIC_HISTOGRAM);
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

/* The fast path counted v in its bucket but could not add it to the sum
 * (the thread moved to a CPU whose region is not mapped yet, or the series
 * went away in between: then the sum is lost with it, and counted). */
static __attribute__((noinline)) void observe_sum(uintptr_t t, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of(t, LUMEN_METRIC_HISTOGRAM);
    if (c != NULL)
        lumen__cell_add_f64(c->cell + (uint32_t)c->fam->nbuckets + 1, v);
    lumen__rcu_unlock(rd);
}

LUMEN_API void lumen_histogram_observe(lumen_histogram *h, double v)
{
    uintptr_t t = (uintptr_t)h;
    if (LUMEN_LIKELY(v == v)) {
        int r = hist_fast(t, v);
        if (LUMEN_LIKELY(r == 0))
            return;
        if (r == 2) {
            observe_sum(t, v);
            return;
        }
    }
    observe_section(t, v);
}

bool lumen__histogram_observe_cached(lumen_histogram *h, double v)
{
    uintptr_t t = (uintptr_t)h;
    if (t == 0)
        return false;
    if (LUMEN_LIKELY(v == v)) {
        int r = hist_fast(t, v);
        if (LUMEN_LIKELY(r == 0))
            return true;
        if (r == 2) {
            observe_sum(t, v);
            return true;
        }
    }
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
