/*
 * metrics/cells.c: see cells.h. Owns the id allocator and the regions.
 *
 * Every region is reserved at LUMEN__CELL_MAX cells with no access and
 * made writable in two windows: the pairs [0, hw_pairs) and the ranges
 * [LUMEN__CELL_PAIRS, LUMEN__CELL_PAIRS + hw_ranges). Cells are used only
 * inside the windows, which grow (for every region, under g_cells.mu)
 * before the ids beyond them are; a new region is made writable over both
 * before it is published. Untouched pages cost no memory, and reading them
 * maps the kernel's zero page.
 *
 * Region pointers are published with release stores and read with
 * acquire loads (the rseq sections read them with a plain load, which on
 * x86-64 and aarch64 is ordered by the address dependency).
 */
#include "metrics/cells.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/sigblock.h"

uint64_t *lumen__cell_cpu[LUMEN__CPU_MAX];

/* Ranges of one length at most this long are reused by length. */
#define MAX_RANGE 1024
/* hw grows by at least this many cells (one 512 KiB step per region). */
#define GROW 65536u

typedef struct idvec {
    uint32_t *v;
    uint32_t n, cap;
} idvec;

static struct {
    pthread_mutex_t mu;
    uint32_t next_id;   /* range ids below are handed out or free */
    uint32_t hw_pairs;  /* pair cells writable in every region */
    uint32_t hw_ranges; /* range cells writable in every region, from LUMEN__CELL_PAIRS */
    idvec free_by_len[MAX_RANGE + 1];
    uint64_t *stripe[LUMEN__CELL_STRIPES];
    unsigned nstripes; /* regions used by the portable path: the CPU count, at most STRIPES */
    unsigned next_stripe;
    _Atomic uint64_t lost;
    /* Every mapped region, CPU or stripe, in mapping order: what readers
     * walk. Entries are written before `nlist` is released over them. */
    uint64_t *list[LUMEN__CPU_MAX + LUMEN__CELL_STRIPES];
    _Atomic size_t nlist;
    lumen__cells_hook hook; /* metrics/prefork.c's, or NULL */
    void *hook_ud;
} g_cells = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_id = LUMEN__CELL_PAIRS};

/* The stripe of the calling thread, +1 (0: not chosen yet). */
static LUMEN_TLS unsigned t_stripe;

/* g_cells.mu is held with every signal blocked, wherever it is taken: a
 * handler that updates a metric may need it (the first update on a CPU or
 * stripe), and would otherwise wait for its own thread. */
static void mu_lock(sigset_t *old)
{
    lumen__sigblock(old);
    pthread_mutex_lock(&g_cells.mu);
}

static void mu_unlock(const sigset_t *old)
{
    pthread_mutex_unlock(&g_cells.mu);
    lumen__sigrestore(old);
}

static uint64_t *load_region(uint64_t *const *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int writable(uint64_t *r, uint32_t from, uint32_t to)
{
    if (to <= from)
        return 0;
    return mprotect(r + from, (size_t)(to - from) * sizeof(uint64_t), PROT_READ | PROT_WRITE);
}

/* Under g_cells.mu: map a region writable over both windows; the hook,
 * when there is one, maps its shared window. */
static uint64_t *region_new(int kind, unsigned index)
{
    size_t bytes = (size_t)LUMEN__CELL_MAX * sizeof(uint64_t);
    void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (writable(p, 0, g_cells.hw_pairs) != 0 ||
        writable(p, LUMEN__CELL_PAIRS, LUMEN__CELL_PAIRS + g_cells.hw_ranges) != 0 ||
        (g_cells.hook != NULL && !g_cells.hook(p, kind, index, g_cells.hook_ud))) {
        munmap(p, bytes);
        return NULL;
    }
    return p;
}

/* Under g_cells.mu: the hook over every region mapped. */
static void rehook(void)
{
    if (g_cells.hook == NULL)
        return;
    for (unsigned i = 0; i < LUMEN__CPU_MAX; i++)
        if (lumen__cell_cpu[i] != NULL)
            g_cells.hook(lumen__cell_cpu[i], LUMEN__CELLS_CPU, i, g_cells.hook_ud);
    for (unsigned i = 0; i < LUMEN__CELL_STRIPES; i++)
        if (g_cells.stripe[i] != NULL)
            g_cells.hook(g_cells.stripe[i], LUMEN__CELLS_STRIPE, i, g_cells.hook_ud);
}

void lumen__cells_set_hook(lumen__cells_hook fn, void *ud)
{
    sigset_t old;
    mu_lock(&old);
    g_cells.hook = fn;
    g_cells.hook_ud = ud;
    rehook();
    mu_unlock(&old);
}

/* The forking thread's mask, from prepare to parent or child. */
static LUMEN_TLS sigset_t t_fork_mask;

void lumen__cells_atfork_prepare(void)
{
    mu_lock(&t_fork_mask);
}

void lumen__cells_atfork_parent(void)
{
    mu_unlock(&t_fork_mask);
}

void lumen__cells_atfork_child_rehook(void)
{
    rehook();
    mu_unlock(&t_fork_mask);
}

/* Under g_cells.mu: publish a new region at *where and to the readers. */
static void region_publish(uint64_t **where, uint64_t *r)
{
    size_t n = atomic_load_explicit(&g_cells.nlist, memory_order_relaxed);
    g_cells.list[n] = r;
    atomic_store_explicit(&g_cells.nlist, n + 1, memory_order_release);
    __atomic_store_n(where, r, __ATOMIC_RELEASE);
}

/* Under g_cells.mu: make a window of every region writable up to `want`
 * cells past its start `base`, whose high-water mark is *hw, at most
 * `limit`. */
static int grow(uint32_t *hw, uint32_t base, uint32_t want, uint32_t limit)
{
    if (want <= *hw)
        return LUMEN_OK;
    uint32_t to = *hw + (*hw / 2 > GROW ? *hw / 2 : GROW);
    if (to < want)
        to = want;
    /* Whole steps: the next growth starts at `to`, and mprotect wants a
     * page boundary (a jump past reserved ids, or half of an odd number
     * of steps, would otherwise leave it inside a page). */
    to = (uint32_t)(((uint64_t)to + GROW - 1) / GROW * GROW);
    if (to > limit)
        to = limit;
    size_t nl = atomic_load_explicit(&g_cells.nlist, memory_order_relaxed);
    for (size_t i = 0; i < nl; i++)
        if (writable(g_cells.list[i], base + *hw, base + to) != 0)
            return LUMEN_ENOMEM;
    *hw = to;
    return LUMEN_OK;
}

static void lost(void)
{
    atomic_fetch_add_explicit(&g_cells.lost, 1, memory_order_relaxed);
    lumen__diag(LUMEN_DIAG_ERROR, "metrics: no memory for a CPU's cells; update lost");
}

#ifdef LUMEN__HAVE_RSEQ
/* The region of CPU `cpu`, mapped on first need. */
static bool cpu_region(int cpu)
{
    if (cpu < 0 || cpu >= LUMEN__CPU_MAX)
        return false;
    if (load_region(&lumen__cell_cpu[cpu]) != NULL)
        return true;
    sigset_t old;
    mu_lock(&old);
    uint64_t *r = lumen__cell_cpu[cpu];
    if (r == NULL && (r = region_new(LUMEN__CELLS_CPU, (unsigned)cpu)) != NULL)
        region_publish(&lumen__cell_cpu[cpu], r);
    mu_unlock(&old);
    return r != NULL;
}
#endif

/* The calling thread's stripe region, mapped on first need. */
static uint64_t *stripe_region(void)
{
    unsigned k = t_stripe;
    uint64_t *r = k ? load_region(&g_cells.stripe[k - 1]) : NULL;
    if (LUMEN_LIKELY(r != NULL))
        return r;
    sigset_t old;
    mu_lock(&old);
    if (g_cells.nstripes == 0) {
        long n = sysconf(_SC_NPROCESSORS_CONF);
        g_cells.nstripes = n < 1 ? 1 : n > LUMEN__CELL_STRIPES ? LUMEN__CELL_STRIPES : (unsigned)n;
    }
    if (k == 0)
        t_stripe = k = g_cells.next_stripe++ % g_cells.nstripes + 1;
    uint64_t **slot = &g_cells.stripe[k - 1];
    if ((r = *slot) == NULL && (r = region_new(LUMEN__CELLS_STRIPE, k - 1)) != NULL)
        region_publish(slot, r);
    mu_unlock(&old);
    return r;
}

void lumen__cell_add_u64_slow(uint32_t id, uint64_t v)
{
#ifdef LUMEN__HAVE_RSEQ
    /* The section failed because this CPU has no region yet (or the
     * thread moved meanwhile): map it and try again, a few times. */
    for (int i = 0; lumen__cpu_rseq && i < 4; i++)
        if (cpu_region(lumen__cpu_current()) && lumen__cpu_add_u64(lumen__cell_cpu, id, v))
            return;
#endif
    uint64_t *r = stripe_region();
    if (r == NULL) {
        lost();
        return;
    }
    __atomic_fetch_add(&r[id], v, __ATOMIC_RELAXED);
}

void lumen__cell_add_f64_slow(uint32_t id, double v)
{
#ifdef LUMEN__HAVE_RSEQ
    for (int i = 0; lumen__cpu_rseq && i < 4; i++)
        if (cpu_region(lumen__cpu_current()) && lumen__cpu_add_f64(lumen__cell_cpu, id, v))
            return;
#endif
    uint64_t *r = stripe_region();
    if (r == NULL) {
        lost();
        return;
    }
    uint64_t old = __atomic_load_n(&r[id], __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&r[id], &old, lumen__f64_bits(lumen__bits_f64(old) + v),
                                        true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

uint64_t lumen__cells_lost(void)
{
    return atomic_load_explicit(&g_cells.lost, memory_order_relaxed);
}

size_t lumen__cells_regions(void)
{
    return atomic_load_explicit(&g_cells.nlist, memory_order_acquire);
}

int lumen__cells_alloc(uint32_t n, uint32_t *first)
{
    if (n == 0 || n > MAX_RANGE || first == NULL)
        return LUMEN_EINVAL;
    lumen__cpu_init();
    int rc = LUMEN_OK;
    sigset_t old;
    mu_lock(&old);
    idvec *fv = &g_cells.free_by_len[n];
    if (fv->n > 0) {
        *first = fv->v[--fv->n];
    } else if ((uint64_t)g_cells.next_id + n > LUMEN__CELL_MAX) {
        rc = LUMEN_ELIMIT;
    } else if ((rc = grow(&g_cells.hw_ranges, LUMEN__CELL_PAIRS,
                          g_cells.next_id + n - LUMEN__CELL_PAIRS,
                          LUMEN__CELL_MAX - LUMEN__CELL_PAIRS)) == LUMEN_OK) {
        *first = g_cells.next_id;
        g_cells.next_id += n;
    }
    mu_unlock(&old);
    return rc;
}

int lumen__cells_pair(uint32_t idx, uint32_t *first)
{
    if ((uint64_t)idx * 2 + 2 > LUMEN__CELL_PAIRS)
        return LUMEN_ELIMIT;
    lumen__cpu_init();
    sigset_t old;
    mu_lock(&old);
    int rc = grow(&g_cells.hw_pairs, 0, idx * 2 + 2, LUMEN__CELL_PAIRS);
    mu_unlock(&old);
    if (rc == LUMEN_OK)
        *first = idx * 2;
    return rc;
}

/* Zero a range in one region, writing only cells that are not zero (a
 * page nobody touched stays unallocated). */
static void zero_range(uint64_t *r, uint32_t first, uint32_t n)
{
    if (r == NULL)
        return;
    for (uint32_t k = 0; k < n; k++)
        if (__atomic_load_n(&r[first + k], __ATOMIC_RELAXED) != 0)
            __atomic_store_n(&r[first + k], 0, __ATOMIC_RELAXED);
}

void lumen__cells_release(uint32_t first, uint32_t n)
{
    if (n == 0 || n > MAX_RANGE)
        return;
    sigset_t old;
    mu_lock(&old);
    size_t nl = atomic_load_explicit(&g_cells.nlist, memory_order_relaxed);
    for (size_t i = 0; i < nl; i++)
        zero_range(g_cells.list[i], first, n);
    if (first < LUMEN__CELL_PAIRS) { /* a pair goes with its slot */
        mu_unlock(&old);
        return;
    }
    idvec *fv = &g_cells.free_by_len[n];
    if (fv->n == fv->cap) {
        uint32_t cap = fv->cap ? fv->cap * 2 : 16;
        uint32_t *v = lumen__realloc(fv->v, fv->cap * sizeof *v, cap * sizeof *v);
        if (v == NULL) {
            /* The ids are lost for reuse; their cells stay zero. */
            mu_unlock(&old);
            return;
        }
        fv->v = v;
        fv->cap = cap;
    }
    fv->v[fv->n++] = first;
    mu_unlock(&old);
}

void lumen__cells_read_u64(uint32_t first, uint32_t n, uint64_t *out)
{
    for (uint32_t k = 0; k < n; k++)
        out[k] = 0;
    size_t nl = atomic_load_explicit(&g_cells.nlist, memory_order_acquire);
    for (size_t i = 0; i < nl; i++) {
        const uint64_t *r = g_cells.list[i];
        for (uint32_t k = 0; k < n; k++)
            out[k] += __atomic_load_n(&r[first + k], __ATOMIC_RELAXED);
    }
}

double lumen__cells_read_f64(uint32_t id)
{
    double s = 0;
    size_t nl = atomic_load_explicit(&g_cells.nlist, memory_order_acquire);
    for (size_t i = 0; i < nl; i++)
        s += lumen__bits_f64(__atomic_load_n(&g_cells.list[i][id], __ATOMIC_RELAXED));
    return s;
}
