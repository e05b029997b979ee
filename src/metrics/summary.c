/*
 * metrics/summary.c: summaries. Count and sum, and optionally quantile
 * estimates over a sliding time window in bounded memory.
 *
 * The window of max_age seconds is split into age_buckets sub-windows that
 * rotate: an observation goes into the newest, and the oldest is emptied
 * when the window slides past it. Each sub-window keeps a uniform random
 * sample of at most SAMPLES observations (reservoir sampling), weighted by
 * how many it saw, so a quantile over the whole window is a weighted
 * quantile of at most age_buckets x SAMPLES values: exact while a
 * sub-window sees no more than SAMPLES observations, a statistical
 * estimate beyond. Memory per series with quantiles: age_buckets x
 * SAMPLES doubles (10 KiB with the defaults).
 *
 * A summary takes a per-series mutex on every observation: summaries are
 * documented as the slower type; counters and histograms never lock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/rand.h"
#include "core/rcu.h"
#include "metrics/summary.h"

#define SAMPLES LUMEN_SUMMARY_SAMPLE_MAX

typedef struct window {
    int64_t start_ns;
    uint64_t seen;
    uint32_t kept;
    double v[SAMPLES];
} window;

struct lumen__summary_state {
    pthread_mutex_t mu;
    uint64_t count;
    double sum;
    unsigned nwin;
    unsigned head;    /* newest window */
    int64_t width_ns; /* one sub-window */
    window *win;      /* NULL without quantiles */
};

int lumen__summary_state_new(lumen__family *f, lumen__summary_state **out)
{
    lumen__summary_state *s = lumen__calloc(1, sizeof *s);
    if (s == NULL)
        return LUMEN_ENOMEM;
    if (f->nquantiles > 0) {
        s->nwin = f->age_buckets;
        s->win = lumen__calloc(s->nwin, sizeof *s->win);
        if (s->win == NULL) {
            lumen__free(s, sizeof *s);
            return LUMEN_ENOMEM;
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
        w->seen = 0;
        w->kept = 0;
        w->start_ns = start;
        steps++;
    }
    if (steps > s->nwin) /* idle for longer than the window: restart it */
        s->win[s->head].start_ns = now;
}

LUMEN_API void lumen_summary_observe(lumen_summary *h, double v)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_SUMMARY);
    if (c == NULL)
        goto out;
    if (v != v) {
        atomic_fetch_add_explicit(&c->fam->rejected, 1, memory_order_relaxed);
        goto out;
    }
    lumen__summary_state *s = c->u.sum;
    pthread_mutex_lock(&s->mu);
    s->count++;
    s->sum += v;
    if (s->win != NULL) {
        rotate(s, lumen__mono_ns());
        window *w = &s->win[s->head];
        w->seen++;
        if (w->kept < SAMPLES) {
            w->v[w->kept++] = v;
        } else {
            uint64_t j = lumen__rand64() % w->seen;
            if (j < SAMPLES)
                w->v[j] = v;
        }
    }
    pthread_mutex_unlock(&s->mu);
out:
    lumen__rcu_unlock(rd);
}

typedef struct wv {
    double v, w;
} wv;

static int cmp_wv(const void *pa, const void *pb)
{
    double a = ((const wv *)pa)->v, b = ((const wv *)pb)->v;
    return (a > b) - (a < b);
}

void lumen__summary_read(lumen__summary_state *s, const lumen__family *f, uint64_t *count,
                         double *sum, double *q)
{
    wv *all = NULL;
    size_t n = 0;
    double total = 0;
    pthread_mutex_lock(&s->mu);
    *count = s->count;
    *sum = s->sum;
    if (s->win != NULL) {
        rotate(s, lumen__mono_ns());
        all = lumen__malloc(s->nwin * SAMPLES * sizeof *all);
        for (unsigned i = 0; all != NULL && i < s->nwin; i++) {
            const window *w = &s->win[i];
            double weight = w->kept ? (double)w->seen / w->kept : 0;
            for (uint32_t k = 0; k < w->kept; k++)
                all[n++] = (wv){w->v[k], weight};
            total += (double)w->seen;
        }
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < f->nquantiles; i++)
        q[i] = NAN;
    if (all == NULL || n == 0) {
        lumen__free(all, s->nwin * SAMPLES * sizeof *all);
        return;
    }
    qsort(all, n, sizeof *all, cmp_wv);
    /* The smallest value whose cumulative weight reaches q x total. */
    size_t k = 0;
    double acc = 0;
    for (size_t i = 0; i < f->nquantiles; i++) {
        double want = f->quantiles[i] * total;
        while (k < n - 1 && acc + all[k].w < want) {
            acc += all[k].w;
            k++;
        }
        q[i] = all[k].v;
    }
    lumen__free(all, s->nwin * SAMPLES * sizeof *all);
}
