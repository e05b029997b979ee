/*
 * metrics/cells.c: see cells.h. Owns the cell id allocator, the list of
 * thread states, the retired store and the per-page kind bitmaps; all of
 * them change only under g_cells.mu.
 */
#include "metrics/cells.h"

#include <pthread.h>

#include "core/alloc.h"
#include "core/diag.h"

/* What a thread that has not touched a cell points at: every page NULL,
 * never written, never in the thread list. */
static lumen__tstate g_empty;

LUMEN_TLS lumen__tstate *lumen__tstate_tls = &g_empty;

#define NPAGES LUMEN__CELL_PAGES

typedef struct idvec {
    uint32_t *v;
    uint32_t n, cap;
} idvec;

static struct {
    pthread_mutex_t mu;
    lumen__tstate *threads;
    lumen__tstate retired;
    uint32_t next_id;
    /* Released ranges by length, reused for ranges of the same length. */
    idvec free_by_len[LUMEN__CELL_PAGE + 1];
    /* One bit per id: set when the cell holds a double. Allocated per page
     * of ids when the page is first handed out. BSS: untouched entries cost
     * no memory. */
    uint64_t *f64_bits[NPAGES];
    _Atomic uint64_t lost;
} g_cells = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Where an update goes when its page cannot be allocated: shared and
 * racy, but atomic, so the lost update is harmless. */
static _Atomic uint64_t g_scratch;

static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static bool g_key_ok;

static void thread_exit(void *arg);

/* fork(): the child must not inherit g_cells.mu locked by a thread that
 * does not exist there, or its first render would hang. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_cells.mu);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&g_cells.mu);
}

static void key_init(void)
{
    g_key_ok = pthread_key_create(&g_key, thread_exit) == 0;
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

static lumen__tstate *register_thread(void)
{
    pthread_once(&g_key_once, key_init);
    lumen__tstate *t = lumen__calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    pthread_mutex_lock(&g_cells.mu);
    t->next = g_cells.threads;
    if (t->next)
        t->next->prev = t;
    g_cells.threads = t;
    pthread_mutex_unlock(&g_cells.mu);
    /* Without the key the thread's counts stay live until exit and are then
     * lost with it; nothing else breaks. */
    if (g_key_ok)
        pthread_setspecific(g_key, t);
    lumen__tstate_tls = t;
    return t;
}

/* The slot of page `pi` in state `s`; NULL when its mid array is missing
 * (and *mid_slot then says where the mid goes). */
static _Atomic(lumen__cell_page *) *
page_slot(lumen__tstate *s, size_t pi, _Atomic(lumen__cell_mid *) **mid_slot, memory_order mo)
{
    if (pi < LUMEN__CELL_DIRECT)
        return &s->direct[pi];
    pi -= LUMEN__CELL_DIRECT;
    *mid_slot = &s->top[pi >> LUMEN__CELL_MID_SHIFT];
    lumen__cell_mid *m = atomic_load_explicit(*mid_slot, mo);
    return m ? &m->page[pi & (LUMEN__CELL_MID - 1)] : NULL;
}

_Atomic uint64_t *lumen__cell_slow(uint32_t id)
{
    lumen__tstate *t = lumen__tstate_tls;
    if (id >= LUMEN__CELL_MAX)
        goto lost;
    if (t == &g_empty && (t = register_thread()) == NULL)
        goto lost;
    size_t pi = id >> LUMEN__CELL_PAGE_SHIFT;
    _Atomic(lumen__cell_mid *) *ms = NULL;
    _Atomic(lumen__cell_page *) *ps = page_slot(t, pi, &ms, memory_order_relaxed);
    if (ps == NULL) {
        lumen__cell_mid *m = lumen__calloc(1, sizeof *m);
        if (m == NULL)
            goto lost;
        /* Release: a reader that sees the pointer sees the zeroed memory. */
        atomic_store_explicit(ms, m, memory_order_release);
        ps = page_slot(t, pi, &ms, memory_order_relaxed);
    }
    lumen__cell_page *p = atomic_load_explicit(ps, memory_order_relaxed);
    if (p == NULL) {
        if ((p = lumen__calloc(1, sizeof *p)) == NULL)
            goto lost;
        atomic_store_explicit(ps, p, memory_order_release);
    }
    return &p->c[id & (LUMEN__CELL_PAGE - 1)];
lost:
    atomic_fetch_add_explicit(&g_cells.lost, 1, memory_order_relaxed);
    lumen__diag(LUMEN_DIAG_ERROR, "metrics: out of memory for a thread's cells; update lost");
    return &g_scratch;
}

void lumen__cell_add_u64_slow(uint32_t id, uint64_t v)
{
    _Atomic uint64_t *c = lumen__cell_slow(id);
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

uint64_t lumen__cells_lost(void)
{
    return atomic_load_explicit(&g_cells.lost, memory_order_relaxed);
}

static bool is_f64(uint32_t id)
{
    const uint64_t *bits = g_cells.f64_bits[id >> LUMEN__CELL_PAGE_SHIFT];
    uint32_t o = id & (LUMEN__CELL_PAGE - 1);
    return bits != NULL && (bits[o >> 6] >> (o & 63)) & 1;
}

static lumen__cell_page *page_of(lumen__tstate *s, size_t page)
{
    _Atomic(lumen__cell_mid *) *ms;
    _Atomic(lumen__cell_page *) *ps = page_slot(s, page, &ms, memory_order_acquire);
    return ps ? atomic_load_explicit(ps, memory_order_acquire) : NULL;
}

/* Add page p (index pi) of a dying thread into the retired store's page. */
static void fold_page(lumen__cell_page *rp, lumen__cell_page *p, size_t pi)
{
    uint32_t base = (uint32_t)(pi << LUMEN__CELL_PAGE_SHIFT);
    for (uint32_t k = 0; k < LUMEN__CELL_PAGE; k++) {
        uint64_t v = atomic_load_explicit(&p->c[k], memory_order_relaxed);
        if (v == 0)
            continue;
        uint64_t cur = atomic_load_explicit(&rp->c[k], memory_order_relaxed);
        uint64_t sum =
            is_f64(base + k) ? lumen__f64_bits(lumen__bits_f64(cur) + lumen__bits_f64(v)) : cur + v;
        atomic_store_explicit(&rp->c[k], sum, memory_order_relaxed);
    }
}

/* Fold one page slot of t into the retired store: hand the page over when
 * the retired store lacks it, else add it cell by cell. */
static void fold_slot(_Atomic(lumen__cell_page *) *ts, _Atomic(lumen__cell_page *) *rs, size_t pi)
{
    lumen__cell_page *p = atomic_load_explicit(ts, memory_order_relaxed);
    if (p == NULL)
        return;
    lumen__cell_page *rp = atomic_load_explicit(rs, memory_order_relaxed);
    if (rp == NULL) {
        atomic_store_explicit(rs, p, memory_order_release);
        atomic_store_explicit(ts, NULL, memory_order_relaxed);
    } else {
        fold_page(rp, p, pi);
    }
}

/* Fold the state's cells into the retired store. Never allocates: where
 * the retired store lacks a mid or page, the thread's is handed over. */
static void fold(lumen__tstate *t)
{
    lumen__tstate *r = &g_cells.retired;
    for (size_t i = 0; i < LUMEN__CELL_DIRECT; i++)
        fold_slot(&t->direct[i], &r->direct[i], i);
    for (size_t i = 0; i < LUMEN__CELL_TOP; i++) {
        lumen__cell_mid *m = atomic_load_explicit(&t->top[i], memory_order_relaxed);
        if (m == NULL)
            continue;
        lumen__cell_mid *rm = atomic_load_explicit(&r->top[i], memory_order_relaxed);
        if (rm == NULL) {
            atomic_store_explicit(&r->top[i], m, memory_order_release);
            atomic_store_explicit(&t->top[i], NULL, memory_order_relaxed);
            continue;
        }
        for (size_t j = 0; j < LUMEN__CELL_MID; j++)
            fold_slot(&m->page[j], &rm->page[j],
                      LUMEN__CELL_DIRECT + (i << LUMEN__CELL_MID_SHIFT) + j);
    }
}

static void free_state_memory(lumen__tstate *t)
{
    for (size_t i = 0; i < LUMEN__CELL_DIRECT; i++)
        lumen__free(atomic_load_explicit(&t->direct[i], memory_order_relaxed),
                    sizeof(lumen__cell_page));
    for (size_t i = 0; i < LUMEN__CELL_TOP; i++) {
        lumen__cell_mid *m = atomic_load_explicit(&t->top[i], memory_order_relaxed);
        if (m == NULL)
            continue;
        for (size_t j = 0; j < LUMEN__CELL_MID; j++)
            lumen__free(atomic_load_explicit(&m->page[j], memory_order_relaxed),
                        sizeof(lumen__cell_page));
        lumen__free(m, sizeof *m);
    }
    lumen__free(t, sizeof *t);
}

static void thread_exit(void *arg)
{
    lumen__tstate *t = arg;
    pthread_mutex_lock(&g_cells.mu);
    fold(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        g_cells.threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&g_cells.mu);
    if (lumen__tstate_tls == t)
        lumen__tstate_tls = &g_empty;
    free_state_memory(t);
}

void lumen__cells_thread_exit(void)
{
    lumen__tstate *t = lumen__tstate_tls;
    if (t == &g_empty)
        return;
    if (g_key_ok)
        pthread_setspecific(g_key, NULL);
    thread_exit(t);
}

int lumen__cells_alloc(uint32_t n_u64, uint32_t n_f64, uint32_t *first)
{
    uint32_t n = n_u64 + n_f64;
    if (n == 0 || n > LUMEN__CELL_PAGE || first == NULL)
        return LUMEN_EINVAL;
    pthread_once(&g_key_once, key_init);
    int rc = LUMEN_OK;
    pthread_mutex_lock(&g_cells.mu);
    uint32_t id;
    idvec *fv = &g_cells.free_by_len[n];
    if (fv->n > 0) {
        id = fv->v[--fv->n];
    } else {
        uint32_t off = g_cells.next_id & (LUMEN__CELL_PAGE - 1);
        uint32_t start = g_cells.next_id;
        if (off + n > LUMEN__CELL_PAGE)
            start = (g_cells.next_id | (LUMEN__CELL_PAGE - 1)) + 1;
        if ((uint64_t)start + n > LUMEN__CELL_MAX) {
            rc = LUMEN_ELIMIT;
            goto out;
        }
        size_t page = start >> LUMEN__CELL_PAGE_SHIFT;
        if (g_cells.f64_bits[page] == NULL) {
            g_cells.f64_bits[page] = lumen__calloc(LUMEN__CELL_PAGE / 64, sizeof(uint64_t));
            if (g_cells.f64_bits[page] == NULL) {
                rc = LUMEN_ENOMEM;
                goto out;
            }
        }
        /* The skipped tail of the previous page stays unused: at most a
         * page-size range less than one page per skip, and skips happen
         * only for large histograms. */
        id = start;
        g_cells.next_id = start + n;
    }
    uint64_t *bits = g_cells.f64_bits[id >> LUMEN__CELL_PAGE_SHIFT];
    for (uint32_t k = 0; k < n; k++) {
        uint32_t o = (id + k) & (LUMEN__CELL_PAGE - 1);
        if (k >= n_u64)
            bits[o >> 6] |= 1ull << (o & 63);
        else
            bits[o >> 6] &= ~(1ull << (o & 63));
    }
    *first = id;
out:
    pthread_mutex_unlock(&g_cells.mu);
    return rc;
}

static void zero_range(lumen__tstate *s, uint32_t first, uint32_t n)
{
    lumen__cell_page *p = page_of(s, first >> LUMEN__CELL_PAGE_SHIFT);
    if (p == NULL)
        return;
    for (uint32_t k = 0; k < n; k++)
        atomic_store_explicit(&p->c[(first + k) & (LUMEN__CELL_PAGE - 1)], 0, memory_order_relaxed);
}

void lumen__cells_release(uint32_t first, uint32_t n)
{
    if (n == 0 || n > LUMEN__CELL_PAGE)
        return;
    pthread_mutex_lock(&g_cells.mu);
    zero_range(&g_cells.retired, first, n);
    for (lumen__tstate *t = g_cells.threads; t; t = t->next)
        zero_range(t, first, n);
    idvec *fv = &g_cells.free_by_len[n];
    if (fv->n == fv->cap) {
        uint32_t cap = fv->cap ? fv->cap * 2 : 16;
        uint32_t *v = lumen__realloc(fv->v, fv->cap * sizeof *v, cap * sizeof *v);
        if (v == NULL) {
            /* The ids are lost for reuse; their cells stay zero. */
            pthread_mutex_unlock(&g_cells.mu);
            return;
        }
        fv->v = v;
        fv->cap = cap;
    }
    fv->v[fv->n++] = first;
    pthread_mutex_unlock(&g_cells.mu);
}

void lumen__cells_lock(void)
{
    pthread_mutex_lock(&g_cells.mu);
}

void lumen__cells_unlock(void)
{
    pthread_mutex_unlock(&g_cells.mu);
}

static void add_state(lumen__tstate *s, uint32_t first, uint32_t n, double *out)
{
    lumen__cell_page *p = page_of(s, first >> LUMEN__CELL_PAGE_SHIFT);
    if (p == NULL)
        return;
    const uint64_t *bits = g_cells.f64_bits[first >> LUMEN__CELL_PAGE_SHIFT];
    for (uint32_t k = 0; k < n; k++) {
        uint32_t o = (first + k) & (LUMEN__CELL_PAGE - 1);
        uint64_t v = atomic_load_explicit(&p->c[o], memory_order_relaxed);
        out[k] += (bits[o >> 6] >> (o & 63)) & 1 ? lumen__bits_f64(v) : (double)v;
    }
}

void lumen__cells_sum(uint32_t first, uint32_t n, double *out)
{
    for (uint32_t k = 0; k < n; k++)
        out[k] = 0;
    add_state(&g_cells.retired, first, n, out);
    for (lumen__tstate *t = g_cells.threads; t; t = t->next)
        add_state(t, first, n, out);
}

static void add_state_u64(lumen__tstate *s, uint32_t first, uint32_t n, uint64_t *out)
{
    lumen__cell_page *p = page_of(s, first >> LUMEN__CELL_PAGE_SHIFT);
    if (p == NULL)
        return;
    for (uint32_t k = 0; k < n; k++)
        out[k] +=
            atomic_load_explicit(&p->c[(first + k) & (LUMEN__CELL_PAGE - 1)], memory_order_relaxed);
}

void lumen__cells_sum_u64(uint32_t first, uint32_t n, uint64_t *out)
{
    for (uint32_t k = 0; k < n; k++)
        out[k] = 0;
    add_state_u64(&g_cells.retired, first, n, out);
    for (lumen__tstate *t = g_cells.threads; t; t = t->next)
        add_state_u64(t, first, n, out);
}
