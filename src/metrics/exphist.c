/*
 * metrics/exphist.c: the native (exponential) part of histogram series
 * (exphist.h has the design). Invariants: a layout, once published, never
 * changes; each new layout covers every bucket of the one it replaces
 * (mapped to its scale), so the counts of every older layout land inside
 * the current one's range; the scale only falls; `old` lists, under `mu`,
 * the retired layouts whose cells are not yet folded.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "metrics/exphist.h"
#include "metrics/expmap.h"

typedef lumen__explayout layout;

/* Counts by index at one scale, grown as indexes arrive (reads, base). */
typedef struct acc {
    int32_t scale;
    uint64_t zero;
    int64_t lo[2];
    uint32_t n[2];
    uint64_t *c[2];
    bool oom;
} acc;

struct lumen__exphist {
    lumen__exphist_hot hot; /* first: the inline observation reads it */
    uint32_t max_buckets;
    pthread_mutex_t mu;
    bool folding; /* a read is folding `old` (fold_old) */
    layout *old;  /* retired, newest first, their cells not yet folded */
    acc base;     /* the folded counts */
};

static uint32_t ncells(const layout *l)
{
    return 1 + l->len[0] + l->len[1];
}

static void acc_free(acc *a)
{
    for (int s = 0; s < 2; s++) {
        lumen__free(a->c[s], a->n[s] * sizeof(uint64_t));
        a->c[s] = NULL;
        a->n[s] = 0;
    }
}

/* Add k to bucket i (at a->scale) of sign s, growing the array. */
static void acc_put(acc *a, int s, int64_t i, uint64_t k)
{
    if (k == 0)
        return;
    if (a->n[s] == 0) {
        if ((a->c[s] = lumen__calloc(1, sizeof(uint64_t))) == NULL) {
            a->oom = true;
            return;
        }
        a->lo[s] = i;
        a->n[s] = 1;
    } else if (i < a->lo[s] || i >= a->lo[s] + a->n[s]) {
        int64_t lo = i < a->lo[s] ? i : a->lo[s];
        int64_t hi = i >= a->lo[s] + a->n[s] ? i : a->lo[s] + a->n[s] - 1;
        uint32_t n = (uint32_t)(hi - lo + 1);
        uint64_t *c = lumen__calloc(n, sizeof *c);
        if (c == NULL) {
            a->oom = true;
            return;
        }
        memcpy(c + (a->lo[s] - lo), a->c[s], a->n[s] * sizeof *c);
        lumen__free(a->c[s], a->n[s] * sizeof *c);
        a->c[s] = c;
        a->lo[s] = lo;
        a->n[s] = n;
    }
    a->c[s][i - a->lo[s]] += k;
}

/* Add counts c[0..n) of buckets off.. at `scale` (>= a->scale). */
static void acc_add(acc *a, int s, int32_t scale, int64_t off, const uint64_t *c, uint32_t n)
{
    int sh = scale - a->scale;
    for (uint32_t k = 0; k < n; k++)
        acc_put(a, s, (off + k) >> sh, c[k]);
}

/* Add a layout's cells to a (a->scale <= l->scale). */
static void acc_layout(acc *a, const layout *l)
{
    uint64_t buf[1 + 2 * LUMEN__EXP_MAX_BUCKETS + 64];
    uint32_t n = ncells(l);
    if (n > LUMEN_ARRAY_LEN(buf)) {
        a->oom = true;
        return;
    }
    lumen__cells_read_u64(l->cell, n, buf);
    a->zero += buf[0];
    acc_add(a, 0, l->scale, l->off[0], buf + 1, l->len[0]);
    acc_add(a, 1, l->scale, l->off[1], buf + 1 + l->len[0], l->len[1]);
}

static layout *layout_new(int32_t scale, const int64_t *lo, const uint32_t *len)
{
    layout *l = lumen__calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->scale = scale;
    for (int s = 0; s < 2; s++) {
        l->off[s] = (int32_t)lo[s];
        l->len[s] = len[s];
    }
    if (lumen__cells_alloc(ncells(l), &l->cell) != LUMEN_OK) {
        lumen__free(l, sizeof *l);
        return NULL;
    }
    return l;
}

static void layout_free(layout *l)
{
    lumen__cells_release(l->cell, ncells(l));
    lumen__free(l, sizeof *l);
}

int lumen__exphist_new(const lumen__family *f, lumen__exphist **out)
{
    lumen__exphist *x = lumen__calloc(1, sizeof *x);
    if (x == NULL)
        return LUMEN_ENOMEM;
    x->hot.zero_threshold = f->native_zero_threshold;
    x->max_buckets = f->native_max_buckets;
    x->base.scale = f->native_scale;
    pthread_mutex_init(&x->mu, NULL);
    int64_t lo[2] = {0, 0};
    uint32_t len[2] = {0, 0};
    layout *l = layout_new(f->native_scale, lo, len);
    if (l == NULL) {
        pthread_mutex_destroy(&x->mu);
        lumen__free(x, sizeof *x);
        return LUMEN_ENOMEM;
    }
    atomic_init(&x->hot.lay, l);
    *out = x;
    return LUMEN_OK;
}

void lumen__exphist_free(lumen__exphist *x)
{
    if (x == NULL)
        return;
    /* A grace period has passed since the series was unreachable: no add
     * is in flight to any layout's cells. */
    layout *l = atomic_load_explicit(&x->hot.lay, memory_order_relaxed);
    if (l != NULL)
        layout_free(l);
    while ((l = x->old) != NULL) {
        x->old = l->next;
        layout_free(l);
    }
    acc_free(&x->base);
    pthread_mutex_destroy(&x->mu);
    lumen__free(x, sizeof *x);
}

/*
 * Fold the retired layouts into the base and release their cells, once a
 * grace period has passed since they were retired (no add is in flight to
 * them). Called by the reads, outside the mutex: the grace period is
 * waited for without it, since an observer holds its read section while it
 * waits for the mutex. Inside a read section the wait is impossible
 * (lumen__rcu_synchronize refuses): the fold is left to a later read. One
 * folder at a time (`folding`): the layouts from `h` on stay listed and
 * unchanged while it waits, as new ones are only pushed in front.
 */
static void fold_old(lumen__exphist *x)
{
    if (lumen__rcu_reading())
        return; /* no grace period can be waited for here */
    pthread_mutex_lock(&x->mu);
    layout *h = x->folding ? NULL : x->old;
    if (h != NULL)
        x->folding = true;
    pthread_mutex_unlock(&x->mu);
    if (h == NULL)
        return;
    bool waited = lumen__rcu_synchronize() == LUMEN_OK;
    pthread_mutex_lock(&x->mu);
    x->folding = false;
    if (waited) {
        const layout *cur = atomic_load_explicit(&x->hot.lay, memory_order_relaxed);
        acc t = {.scale = cur->scale, .zero = x->base.zero};
        for (int s = 0; s < 2; s++)
            acc_add(&t, s, x->base.scale, x->base.lo[s], x->base.c[s], x->base.n[s]);
        for (const layout *l = h; l != NULL; l = l->next)
            acc_layout(&t, l);
        if (t.oom) {
            acc_free(&t); /* no memory: the layouts stay listed, still summed */
        } else {
            acc_free(&x->base);
            x->base = t;
            layout **p = &x->old;
            while (*p != h)
                p = &(*p)->next;
            *p = NULL;
            while (h != NULL) {
                layout *n = h->next;
                layout_free(h);
                h = n;
            }
        }
    }
    pthread_mutex_unlock(&x->mu);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Under x->mu, inside a read section: a layout covering l and bucket i of
 * sign sg (at l's scale), within the bucket limit; NULL without memory. */
static layout *widen(lumen__exphist *x, const layout *l, int sg, double a)
{
    int32_t scale = l->scale;
    int64_t i = lumen__exp_index(a, scale);
    int64_t lo[2], hi[2];
    bool has[2];
    for (int s = 0; s < 2; s++) {
        has[s] = l->len[s] > 0;
        lo[s] = l->off[s];
        hi[s] = (int64_t)l->off[s] + l->len[s] - 1;
    }
    bool below = has[sg] && i < lo[sg];
    lo[sg] = has[sg] ? min64(lo[sg], i) : i;
    hi[sg] = has[sg] ? max64(hi[sg], i) : i;
    has[sg] = true;
    /* Lower the scale until both ranges fit (never below the minimum:
     * there every finite double fits in 132 buckets, so the limit may be
     * exceeded when it is set below that). */
    int k = 0;
    for (;;) {
        bool fit = true;
        for (int s = 0; s < 2; s++)
            if (has[s] && (hi[s] >> k) - (lo[s] >> k) + 1 > (int64_t)x->max_buckets)
                fit = false;
        if (fit || scale - k <= LUMEN__EXP_MIN_SCALE)
            break;
        k++;
    }
    uint32_t len[2];
    for (int s = 0; s < 2; s++) {
        lo[s] >>= k;
        hi[s] >>= k;
        len[s] = has[s] ? (uint32_t)(hi[s] - lo[s] + 1) : 0;
    }
    /* Room to grow on the side that grew, so that a slowly widening
     * range costs a few layouts, not one per bucket. */
    uint32_t want = len[sg] * 2 < 8 ? 8 : len[sg] * 2;
    if (want > x->max_buckets)
        want = x->max_buckets;
    if (want > len[sg]) {
        if (below)
            lo[sg] -= want - len[sg];
        len[sg] = want;
    }
    return layout_new(scale - k, lo, len);
}

static uint32_t cell_of(const layout *l, int sg, int64_t i)
{
    return l->cell + 1 + (sg ? l->len[0] : 0) + (uint32_t)(i - l->off[sg]);
}

bool lumen__exphist_observe_slow(lumen__exphist *x, int sg, double a, uint32_t sum, double v)
{
    bool ok = true;
    pthread_mutex_lock(&x->mu);
    layout *l = atomic_load_explicit(&x->hot.lay, memory_order_relaxed);
    int64_t i = lumen__exp_index(a, l->scale);
    if (i >= l->off[sg] && i < (int64_t)l->off[sg] + l->len[sg]) {
        /* Another thread widened it meanwhile. */
        lumen__cell_add_u64_f64(cell_of(l, sg, i), 1, sum, v);
    } else {
        layout *n = widen(x, l, sg, a);
        if (n == NULL) {
            ok = false;
        } else {
            i = lumen__exp_index(a, n->scale);
            lumen__cell_add_u64_f64(cell_of(n, sg, i), 1, sum, v);
            atomic_store_explicit(&x->hot.lay, n, memory_order_release);
            l->next = x->old;
            x->old = l; /* folded by a read, a grace period later */
        }
    }
    pthread_mutex_unlock(&x->mu);
    return ok;
}

static uint64_t layout_count(const layout *l)
{
    uint64_t buf[1 + 2 * LUMEN__EXP_MAX_BUCKETS + 64], t = 0;
    uint32_t n = ncells(l);
    for (uint32_t k = 0; k < n; k += (uint32_t)LUMEN_ARRAY_LEN(buf)) {
        uint32_t m = n - k < LUMEN_ARRAY_LEN(buf) ? n - k : (uint32_t)LUMEN_ARRAY_LEN(buf);
        lumen__cells_read_u64(l->cell + k, m, buf);
        for (uint32_t i = 0; i < m; i++)
            t += buf[i];
    }
    return t;
}

uint64_t lumen__exphist_count(lumen__exphist *x)
{
    fold_old(x);
    pthread_mutex_lock(&x->mu);
    uint64_t t = x->base.zero;
    for (int s = 0; s < 2; s++)
        for (uint32_t k = 0; k < x->base.n[s]; k++)
            t += x->base.c[s][k];
    for (const layout *l = x->old; l != NULL; l = l->next)
        t += layout_count(l);
    t += layout_count(atomic_load_explicit(&x->hot.lay, memory_order_relaxed));
    pthread_mutex_unlock(&x->mu);
    return t;
}

/* The trimmed buckets of a's sign s into d (a keeps its arrays). */
static bool trim(const acc *a, lumen__exphist_data *d, int s)
{
    uint32_t b = 0, e = a->n[s];
    while (b < e && a->c[s][b] == 0)
        b++;
    while (e > b && a->c[s][e - 1] == 0)
        e--;
    if (e == b)
        return true;
    if ((d->counts[s] = lumen__malloc((e - b) * sizeof(uint64_t))) == NULL)
        return false;
    memcpy(d->counts[s], a->c[s] + b, (e - b) * sizeof(uint64_t));
    d->offset[s] = (int32_t)(a->lo[s] + b);
    d->len[s] = e - b;
    for (uint32_t k = b; k < e; k++)
        d->count += a->c[s][k];
    return true;
}

int lumen__exphist_read(lumen__exphist *x, lumen__exphist_data *out)
{
    memset(out, 0, sizeof *out);
    fold_old(x);
    pthread_mutex_lock(&x->mu);
    const layout *cur = atomic_load_explicit(&x->hot.lay, memory_order_relaxed);
    acc a = {.scale = cur->scale};
    a.zero = x->base.zero;
    for (int s = 0; s < 2; s++)
        acc_add(&a, s, x->base.scale, x->base.lo[s], x->base.c[s], x->base.n[s]);
    for (const layout *l = x->old; l != NULL; l = l->next)
        acc_layout(&a, l);
    acc_layout(&a, cur);
    out->scale = cur->scale;
    out->zero_threshold = x->hot.zero_threshold;
    pthread_mutex_unlock(&x->mu);
    if (a.oom) {
        acc_free(&a);
        return LUMEN_ENOMEM;
    }
    out->zero_count = a.zero;
    out->count = a.zero;
    bool ok = trim(&a, out, 0) && trim(&a, out, 1);
    acc_free(&a);
    if (!ok) {
        lumen__exphist_data_free(out);
        return LUMEN_ENOMEM;
    }
    return LUMEN_OK;
}

int lumen__exphist_read_series(const lumen__child *c, lumen__exphist_data *out)
{
    const lumen__family *f = c->fam;
    uint32_t nb = (uint32_t)f->nbuckets;
    uint64_t u[LUMEN__MAX_BUCKETS + 1];
    /* Native cells first, then the classic ones: with both kinds, every
     * observation in the native read was already in the classic count
     * (update.c adds there first). */
    int rc = lumen__exphist_read(c->native, out);
    if (rc != LUMEN_OK)
        return rc;
    lumen__cells_read_u64(c->cell, nb + 1, u);
    out->sum = lumen__cells_read_f64(c->cell + nb + 1);
    uint64_t classic = 0;
    for (uint32_t i = 0; i <= nb; i++)
        classic += u[i];
    /* Native only: the +Inf cell holds what the buckets could not; both:
     * the classic count has everything, unless a native observation
     * landed between the two reads. */
    if (f->hkind == LUMEN_HISTOGRAM_NATIVE)
        out->total = classic + out->count;
    else
        out->total = classic > out->count ? classic : out->count;
    return LUMEN_OK;
}

void lumen__exphist_hold(lumen__exphist *x, bool hold)
{
    if (hold)
        pthread_mutex_lock(&x->mu);
    else
        pthread_mutex_unlock(&x->mu);
}

void lumen__exphist_data_free(lumen__exphist_data *d)
{
    for (int s = 0; s < 2; s++) {
        lumen__free(d->counts[s], d->len[s] * sizeof(uint64_t));
        d->counts[s] = NULL;
        d->len[s] = 0;
    }
}
