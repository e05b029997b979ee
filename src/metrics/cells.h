/*
 * metrics/cells.h: per-thread value cells, the storage behind counters and
 * histograms.
 *
 * Every series owns a small range of cell ids. Each thread that updates a
 * series writes only its own copy of the series' cells, so an update is a
 * relaxed load and a relaxed store to memory no other thread writes: no
 * `lock` prefix, no shared cache line (the idea of Linux per-CPU counters).
 * A reader sums one cell over every live thread plus a "retired" store into
 * which a thread's cells are folded when it exits.
 *
 * Layout: a page holds LUMEN__CELL_PAGE 8-byte cells. A thread state holds
 * the pointers to its first LUMEN__CELL_DIRECT pages directly (4M cells,
 * 2M counters: one load from the thread state to the page), and a top
 * array of LUMEN__CELL_TOP pointers to "mid" arrays of LUMEN__CELL_MID page
 * pointers for the pages beyond. Mids and pages are allocated on a
 * thread's first touch of them and published with release stores, so a
 * reader that loads the pointer with acquire sees zeroed memory at least.
 * A thread that has never touched a cell points at an empty shared state,
 * so the fast path needs no NULL test for it.
 *
 * Kinds: a cell holds either an unsigned 64-bit count or the bits of a
 * double. The kind of each id is fixed when the range is allocated and kept
 * in a global bitmap, because folding an exiting thread's cells must add
 * doubles as doubles and counts as integers. A range never crosses a page.
 *
 * Invariants: (1) only the owning thread stores to its cells, except that
 * lumen__cells_release zeroes the cells of released ids in every state
 * under g_cells.mu; (2) thread registration, exit folding, range
 * allocation and release, and every sum run under g_cells.mu, so a sum
 * never sees a thread's cells both folded and live (no dip, no double
 * count).
 */
#ifndef LUMEN_METRICS_CELLS_H
#define LUMEN_METRICS_CELLS_H

#include <string.h>

#include "core/common.h"

#define LUMEN__CELL_PAGE_SHIFT 10
#define LUMEN__CELL_PAGE (1u << LUMEN__CELL_PAGE_SHIFT)
#define LUMEN__CELL_MID_SHIFT 10
#define LUMEN__CELL_MID (1u << LUMEN__CELL_MID_SHIFT)
#define LUMEN__CELL_DIRECT 4096
#define LUMEN__CELL_TOP 60
#define LUMEN__CELL_PAGES (LUMEN__CELL_DIRECT + (size_t)LUMEN__CELL_TOP * LUMEN__CELL_MID)
#define LUMEN__CELL_MAX ((uint32_t)(LUMEN__CELL_PAGES * LUMEN__CELL_PAGE))

typedef struct lumen__cell_page {
    _Atomic uint64_t c[LUMEN__CELL_PAGE];
} lumen__cell_page;

typedef struct lumen__cell_mid {
    _Atomic(lumen__cell_page *) page[LUMEN__CELL_MID];
} lumen__cell_mid;

typedef struct lumen__tstate {
    _Atomic(lumen__cell_page *) direct[LUMEN__CELL_DIRECT];
    _Atomic(lumen__cell_mid *) top[LUMEN__CELL_TOP];
    struct lumen__tstate *next, *prev; /* g_cells.threads, under g_cells.mu */
} lumen__tstate;

extern LUMEN_TLS lumen__tstate *lumen__tstate_tls;

/* The slow path of lumen__cell: registers the thread and allocates the
 * mid and page. On allocation failure returns a shared scratch cell, so
 * the update is lost (and counted) but memory stays sound. */
_Atomic uint64_t *lumen__cell_slow(uint32_t id);

/* The calling thread's cell `id`. Lock-free; allocates only on a thread's
 * first touch of a page. Relaxed loads: only this thread stores these
 * pointers. */
static inline _Atomic uint64_t *lumen__cell(uint32_t id)
{
    uint32_t pi = id >> LUMEN__CELL_PAGE_SHIFT;
    if (LUMEN_LIKELY(pi < LUMEN__CELL_DIRECT)) {
        lumen__cell_page *p =
            atomic_load_explicit(&lumen__tstate_tls->direct[pi], memory_order_relaxed);
        if (LUMEN_LIKELY(p != NULL))
            return &p->c[id & (LUMEN__CELL_PAGE - 1)];
    }
    return lumen__cell_slow(id);
}

/* The calling thread's cell `id` when its page exists, else NULL (the
 * caller then takes a slow path through lumen__cell). */
static inline _Atomic uint64_t *lumen__cell_fast(uint32_t id)
{
    uint32_t pi = id >> LUMEN__CELL_PAGE_SHIFT;
    if (LUMEN_LIKELY(pi < LUMEN__CELL_DIRECT)) {
        lumen__cell_page *p =
            atomic_load_explicit(&lumen__tstate_tls->direct[pi], memory_order_relaxed);
        if (LUMEN_LIKELY(p != NULL))
            return &p->c[id & (LUMEN__CELL_PAGE - 1)];
    }
    return NULL;
}

/* The slow path of lumen__cell_add_u64 (first touch of a page). */
void lumen__cell_add_u64_slow(uint32_t id, uint64_t v);

/* Single-writer updates: a relaxed load and store, never a locked RMW.
 * The owning thread is the only writer, so no increment is lost. The slow
 * path is a tail call, so the fast path makes no call and saves nothing. */
static inline void lumen__cell_add_u64(uint32_t id, uint64_t v)
{
    uint32_t pi = id >> LUMEN__CELL_PAGE_SHIFT;
    if (LUMEN_LIKELY(pi < LUMEN__CELL_DIRECT)) {
        lumen__cell_page *p =
            atomic_load_explicit(&lumen__tstate_tls->direct[pi], memory_order_relaxed);
        if (LUMEN_LIKELY(p != NULL)) {
            _Atomic uint64_t *c = &p->c[id & (LUMEN__CELL_PAGE - 1)];
            atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                                  memory_order_relaxed);
            return;
        }
    }
    lumen__cell_add_u64_slow(id, v);
}

static inline double lumen__bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t lumen__f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

#if defined(__SANITIZE_THREAD__)
#define LUMEN__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LUMEN__TSAN 1
#endif
#endif

/* Add to a double cell. GCC moves a relaxed atomic double through a
 * general register (mov, movq, addsd, movq, mov), which puts two
 * register-file crossings on the dependency chain of repeated adds and
 * made histogram observations a third slower; on x86-64 an aligned 8-byte
 * SSE load and store are single-copy atomic, so the same relaxed
 * semantics are written directly. ThreadSanitizer builds keep the C11
 * atomics so that the checker sees every access. */
static inline void lumen__cell_add_f64_at(_Atomic uint64_t *c, double v)
{
#if defined(__x86_64__) && !defined(LUMEN__TSAN)
    __asm__("addsd %[cell], %[v]\n\tmovsd %[v], %[cell]"
            : [cell] "+m"(*(uint64_t *)c), [v] "+x"(v));
#else
    double d = lumen__bits_f64(atomic_load_explicit(c, memory_order_relaxed)) + v;
    atomic_store_explicit(c, lumen__f64_bits(d), memory_order_relaxed);
#endif
}

static inline void lumen__cell_add_f64(uint32_t id, double v)
{
    lumen__cell_add_f64_at(lumen__cell(id), v);
}

/*
 * Allocate `n_u64 + n_f64` consecutive ids (the counts first, then the
 * doubles), all in one page, into *first. Returns LUMEN_OK, LUMEN_EINVAL
 * (more than a page) or LUMEN_ENOMEM / LUMEN_ELIMIT. The cells read zero.
 */
int lumen__cells_alloc(uint32_t n_u64, uint32_t n_f64, uint32_t *first);

/* Zero the range in every thread and in the retired store, and recycle
 * the ids. A racing stale writer may leave a stray value: documented as a
 * caller bug (a handle used after its series is removed). */
void lumen__cells_release(uint32_t first, uint32_t n);

/* Readers: hold the lock across the sums of one snapshot. */
void lumen__cells_lock(void);
void lumen__cells_unlock(void);

/* With the lock held: the sum over all threads of `n` cells from `first`,
 * into out[0..n) as doubles (counts converted exactly below 2^53). */
void lumen__cells_sum(uint32_t first, uint32_t n, double *out);
/* With the lock held: sums as counts (for histogram buckets). */
void lumen__cells_sum_u64(uint32_t first, uint32_t n, uint64_t *out);

/* Updates lost because a thread's cell page could not be allocated. */
uint64_t lumen__cells_lost(void);

/* Fold the calling thread's cells into the retired store now and forget
 * its state (what thread exit does). For tests. */
void lumen__cells_thread_exit(void);

#endif
