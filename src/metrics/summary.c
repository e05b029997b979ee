/*
 * metrics/summary.c: summaries. Count and sum, and optionally quantile
 * estimates over a sliding time window in bounded memory, with a stated
 * relative error.
 *
 * The window of max_age seconds is split into age_buckets sub-windows that
 * rotate: an observation goes into the newest, and the oldest is emptied
 * when the window slides past it. Each sub-window is a sketch on base-2
 * exponential buckets (expmap.h; DDSketch's idea on OpenTelemetry's
 * bucket boundaries): per sign, LUMEN_SUMMARY_BUCKETS counters over
 * consecutive bucket indexes at a scale that starts at TOP_SCALE and is
 * lowered (two, four... buckets merged into one) only when the values of
 * the sub-window no longer fit that many buckets. Zero, +Inf and -Inf have
 * counters of their own; NaN is refused and counted.
 *
 * A quantile is read by merging the sub-windows at one scale S (the
 * coarsest of theirs, lowered further until the whole window fits
 * LUMEN_SUMMARY_BUCKETS buckets per sign), finding the bucket (lower(i),
 * lower(i+1)] that holds the observation of rank ceil(q x count), and
 * answering 2 lower(i) lower(i+1) / (lower(i) + lower(i+1)): for every x in
 * the bucket that answer is within (g - 1) / (g + 1) of x relatively,
 * g = 2^(2^-S) (the bound of metrics.h), then clamped to the window's
 * smallest and largest observation (which can only bring it closer).
 *
 * Memory per series with quantiles: age_buckets x LUMEN_SUMMARY_BUCKETS x
 * 8 bytes of counters (60 KiB with the defaults), as much again from the
 * first negative observation on, plus age_buckets window headers.
 *
 * A summary takes a per-series mutex on every observation, as it always
 * has: summaries are documented as the slower type; counters and
 * histograms never lock. Under it, an observation is one bucket index
 * (no log() at scales up to 8) and one increment; only the rare step that
 * widens a sub-window's index range moves or merges its counters.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/rcu.h"
#include "metrics/expmap.h"
#include "metrics/summary.h"

#define NB LUMEN_SUMMARY_BUCKETS
/* The finest scale a sub-window starts at: relative error 0.135 %, and the
 * index is still found without log() (expmap.c). */
#define TOP_SCALE 8

/* One sign's buckets in one sub-window: bucket index i (at `scale`) is
 * counted in c[i - base]; lo..hi are the indexes seen (lo > hi: none). */
typedef struct range {
    int32_t scale;
    int32_t base, lo, hi;
    uint64_t *c; /* NB counters; NULL for negatives until the first one */
} range;

typedef struct window {
    int64_t start_ns;
    uint64_t zero, pinf, ninf;
    double min, max; /* of what this sub-window saw; min > max: nothing */
    range pos, neg;
} window;

struct lumen__summary_state {
    pthread_mutex_t mu;
    uint64_t count;
    double sum;
    unsigned nwin;
    unsigned head;      /* newest window */
    int64_t width_ns;   /* one sub-window */
    window *win;        /* NULL without quantiles */
    uint64_t *cells[2]; /* positive and negative counters of all windows */
};

static void range_clear(range *r)
{
    if (r->c != NULL && r->lo <= r->hi)
        memset(&r->c[r->lo - r->base], 0, (size_t)(r->hi - r->lo + 1) * sizeof *r->c);
    r->scale = TOP_SCALE;
    r->lo = INT32_MAX;
    r->hi = INT32_MIN;
    r->base = 0;
}

static void window_clear(window *w)
{
    w->zero = w->pinf = w->ninf = 0;
    w->min = INFINITY;
    w->max = -INFINITY;
    range_clear(&w->pos);
    range_clear(&w->neg);
}

int lumen__summary_state_new(lumen__family *f, lumen__summary_state **out)
{
    lumen__summary_state *s = lumen__calloc(1, sizeof *s);
    if (s == NULL)
        return LUMEN_ENOMEM;
    if (f->nquantiles > 0) {
        s->nwin = f->age_buckets;
        s->win = lumen__calloc(s->nwin, sizeof *s->win);
        s->cells[0] = lumen__calloc((size_t)s->nwin * NB, sizeof *s->cells[0]);
        if (s->win == NULL || s->cells[0] == NULL) {
            lumen__free(s->cells[0], (size_t)s->nwin * NB * sizeof *s->cells[0]);
            lumen__free(s->win, s->nwin * sizeof *s->win);
            lumen__free(s, sizeof *s);
            return LUMEN_ENOMEM;
        }
        for (unsigned i = 0; i < s->nwin; i++) {
            s->win[i].pos.c = s->cells[0] + (size_t)i * NB;
            window_clear(&s->win[i]);
        }
        s->width_ns = (int64_t)(f->max_age_s * 1e9 / s->nwin);
        if (s->width_ns < 1)
            s->width_ns = 1;
        s->win[0].start_ns = lumen__mono_ns();
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return LUMEN_OK;
}

void lumen__summary_state_free(lumen__summary_state *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    for (int k = 0; k < 2; k++)
        lumen__free(s->cells[k], (size_t)s->nwin * NB * sizeof *s->cells[k]);
    lumen__free(s->win, s->nwin * sizeof *s->win);
    lumen__free(s, sizeof *s);
}

/* Under s->mu: slide the window to `now`. */
static void rotate(lumen__summary_state *s, int64_t now)
{
    unsigned steps = 0;
    while (now - s->win[s->head].start_ns >= s->width_ns && steps <= s->nwin) {
        int64_t start = s->win[s->head].start_ns + s->width_ns;
        s->head = (s->head + 1) % s->nwin;
        window *w = &s->win[s->head];
        window_clear(w);
        w->start_ns = start;
        steps++;
    }
    if (steps > s->nwin) /* idle for longer than the window: restart it */
        s->win[s->head].start_ns = now;
}

/* Merge 2^change buckets into one: bucket i becomes i >> change (the
 * same boundaries at scale - change). In place: the new counters go to
 * c[0..], each below or at the one it came from, read before it is
 * written. */
static void range_downscale(range *r, int change)
{
    int32_t first = r->lo >> change;
    for (int32_t i = r->lo; i <= r->hi; i++) {
        uint64_t v = r->c[i - r->base];
        r->c[i - r->base] = 0;
        r->c[(i >> change) - first] += v;
    }
    r->base = first;
    r->lo >>= change;
    r->hi >>= change;
    r->scale -= change;
}

/* Move the counters so that lo..hi (which fits NB) sits in the middle of
 * c, leaving room to grow both ways. */
static void range_recenter(range *r, int32_t lo, int32_t hi)
{
    int32_t base = lo - (NB - (hi - lo + 1)) / 2;
    size_t n = (size_t)(r->hi - r->lo + 1);
    memmove(&r->c[r->lo - base], &r->c[r->lo - r->base], n * sizeof *r->c);
    memset(r->c, 0, (size_t)(r->lo - base) * sizeof *r->c);
    memset(&r->c[r->hi - base + 1], 0, (size_t)(NB - (r->hi - base + 1)) * sizeof *r->c);
    r->base = base;
}

/* Count m (> 0, finite) in r. */
static void range_add(range *r, double m)
{
    int32_t i = lumen__exp_index(m, r->scale);
    if (r->lo > r->hi) {
        r->base = i - NB / 2;
        r->lo = r->hi = i;
    } else if (i < r->base || i >= r->base + NB) {
        int32_t lo = i < r->lo ? i : r->lo, hi = i > r->hi ? i : r->hi;
        int change = 0;
        while ((int64_t)(hi >> change) - (lo >> change) + 1 > NB)
            change++;
        if (change > 0) {
            range_downscale(r, change);
            i >>= change;
            lo >>= change;
            hi >>= change;
        }
        if (i < r->base || i >= r->base + NB)
            range_recenter(r, lo, hi);
        r->lo = lo;
        r->hi = hi;
    } else if (i < r->lo) {
        r->lo = i;
    } else if (i > r->hi) {
        r->hi = i;
    }
    r->c[i - r->base]++;
}

/* Under s->mu: the negative counters of every window, on the first
 * negative observation (the only allocation after the series' own). */
static int neg_cells(lumen__summary_state *s)
{
    if (s->cells[1] != NULL)
        return 1;
    s->cells[1] = lumen__calloc((size_t)s->nwin * NB, sizeof *s->cells[1]);
    if (s->cells[1] == NULL)
        return 0;
    for (unsigned i = 0; i < s->nwin; i++)
        s->win[i].neg.c = s->cells[1] + (size_t)i * NB;
    return 1;
}

LUMEN_API void lumen_summary_observe(lumen_summary *h, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_SUMMARY);
    if (c == NULL)
        goto out;
    if (v != v)
        goto reject;
    lumen__summary_state *s = c->u.sum;
    pthread_mutex_lock(&s->mu);
    if (s->win != NULL) {
        if (v < 0 && !isinf(v) && !neg_cells(s)) {
            pthread_mutex_unlock(&s->mu);
            goto reject; /* no memory for the negative range */
        }
        rotate(s, lumen__mono_ns());
        window *w = &s->win[s->head];
        if (v > 0)
            isinf(v) ? (void)w->pinf++ : range_add(&w->pos, v);
        else if (v < 0)
            isinf(v) ? (void)w->ninf++ : range_add(&w->neg, -v);
        else
            w->zero++;
        if (v < w->min)
            w->min = v;
        if (v > w->max)
            w->max = v;
    }
    s->count++;
    s->sum += v;
    pthread_mutex_unlock(&s->mu);
    goto out;
reject:
    atomic_fetch_add_explicit(&c->fam->rejected, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&lumen__metrics_refused, 1, memory_order_relaxed);
out:
    lumen__rcu_unlock(rd);
}

/* What the read takes out of the windows: per sign, counters at `scale`
 * for indexes lo.. (m[i - lo]), and the window's extremes. */
typedef struct merged {
    int scale;
    int32_t lo[2], hi[2];
    uint64_t *m[2];
    uint64_t n[2], zero, pinf, ninf;
    double min, max;
} merged;

static int32_t shr(int32_t i, int by)
{
    return i >> by; /* arithmetic: floor */
}

/* Under s->mu: merge every window into g (its m[] zeroed, NB each). */
static void merge(const lumen__summary_state *s, merged *g)
{
    int scale = TOP_SCALE;
    for (unsigned w = 0; w < s->nwin; w++)
        for (int k = 0; k < 2; k++) {
            const range *r = k ? &s->win[w].neg : &s->win[w].pos;
            if (r->lo <= r->hi && r->scale < scale)
                scale = r->scale;
        }
    int32_t lo[2] = {INT32_MAX, INT32_MAX}, hi[2] = {INT32_MIN, INT32_MIN};
    for (unsigned w = 0; w < s->nwin; w++)
        for (int k = 0; k < 2; k++) {
            const range *r = k ? &s->win[w].neg : &s->win[w].pos;
            if (r->lo > r->hi)
                continue;
            int32_t a = shr(r->lo, r->scale - scale), b = shr(r->hi, r->scale - scale);
            lo[k] = a < lo[k] ? a : lo[k];
            hi[k] = b > hi[k] ? b : hi[k];
        }
    /* Sub-windows apart from each other may not fit NB together. */
    for (int k = 0; k < 2; k++)
        while (lo[k] <= hi[k] && (int64_t)hi[k] - lo[k] + 1 > NB) {
            scale--;
            for (int j = 0; j < 2; j++)
                if (lo[j] <= hi[j]) {
                    lo[j] = shr(lo[j], 1);
                    hi[j] = shr(hi[j], 1);
                }
        }
    g->scale = scale;
    g->min = INFINITY;
    g->max = -INFINITY;
    for (int k = 0; k < 2; k++) {
        g->lo[k] = lo[k];
        g->hi[k] = hi[k];
    }
    for (unsigned w = 0; w < s->nwin; w++) {
        const window *win = &s->win[w];
        g->zero += win->zero;
        g->pinf += win->pinf;
        g->ninf += win->ninf;
        g->min = win->min < g->min ? win->min : g->min;
        g->max = win->max > g->max ? win->max : g->max;
        for (int k = 0; k < 2; k++) {
            const range *r = k ? &win->neg : &win->pos;
            for (int32_t i = r->lo; i <= r->hi; i++) {
                uint64_t v = r->c[i - r->base];
                g->m[k][shr(i, r->scale - scale) - lo[k]] += v;
                g->n[k] += v;
            }
        }
    }
}

/* The answer for bucket i at `scale`: 2 L U / (L + U), L and U its
 * bounds, as L x 2g / (g + 1), g = 2^(2^-scale), in long double so that
 * neither bound's overflow nor a double rounding of L shows. */
static double estimate(int32_t i, int scale)
{
    long double e = ldexpl((long double)i, -scale);
    long double g = exp2l(ldexpl(1.0L, -scale));
    return (double)(exp2l(e) * (2 * g / (g + 1)));
}

/* The observation of rank k (1-based) in g, estimated. */
static double rank_value(const merged *g, uint64_t k)
{
    if (k <= g->ninf)
        return -INFINITY;
    k -= g->ninf;
    if (k <= g->n[1]) {
        for (int32_t i = g->hi[1]; i >= g->lo[1]; i--) {
            uint64_t v = g->m[1][i - g->lo[1]];
            if (k <= v)
                return -estimate(i, g->scale);
            k -= v;
        }
    }
    k -= g->n[1];
    if (k <= g->zero)
        return 0;
    k -= g->zero;
    if (k <= g->n[0]) {
        for (int32_t i = g->lo[0]; i <= g->hi[0]; i++) {
            uint64_t v = g->m[0][i - g->lo[0]];
            if (k <= v)
                return estimate(i, g->scale);
            k -= v;
        }
    }
    return INFINITY;
}

void lumen__summary_read_scale(lumen__summary_state *s, const lumen__family *f, uint64_t *count,
                               double *sum, double *q, int *scale)
{
    merged g;
    memset(&g, 0, sizeof g);
    g.scale = TOP_SCALE;
    for (size_t i = 0; i < f->nquantiles; i++)
        q[i] = NAN;
    if (s->win != NULL) {
        /* Allocated before the lock, so observers never wait on malloc. */
        g.m[0] = lumen__calloc(NB, sizeof *g.m[0]);
        g.m[1] = lumen__calloc(NB, sizeof *g.m[1]);
    }
    int ok = g.m[0] != NULL && g.m[1] != NULL;
    pthread_mutex_lock(&s->mu);
    *count = s->count;
    *sum = s->sum;
    if (ok) {
        rotate(s, lumen__mono_ns());
        merge(s, &g);
    }
    pthread_mutex_unlock(&s->mu);
    uint64_t total = g.ninf + g.n[1] + g.zero + g.n[0] + g.pinf;
    for (size_t i = 0; ok && total > 0 && i < f->nquantiles; i++) {
        /* The smallest observation whose rank reaches q x total. */
        double want = ceil(f->quantiles[i] * (double)total);
        uint64_t k = want < 1 ? 1 : want >= (double)total ? total : (uint64_t)want;
        double v = rank_value(&g, k);
        q[i] = v < g.min ? g.min : v > g.max ? g.max : v;
    }
    if (scale != NULL)
        *scale = g.scale;
    lumen__free(g.m[0], NB * sizeof *g.m[0]);
    lumen__free(g.m[1], NB * sizeof *g.m[1]);
}

void lumen__summary_read(lumen__summary_state *s, const lumen__family *f, uint64_t *count,
                         double *sum, double *q)
{
    lumen__summary_read_scale(s, f, count, sum, q, NULL);
}
