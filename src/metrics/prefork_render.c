/*
 * metrics/prefork_render.c: rendering a pre-forked family's shared
 * families. render.c asks for them among the registry's own families and
 * writes them with its own writer (render.h): the same bytes a single
 * process would write for the same state. Each family is read under
 * fold_mu, so that no slot is reclaimed half way through it, into the
 * writer's buffer; the writer's callback runs once the lock is released,
 * so that a slow reader holds up nobody. Series come in label order (kept sorted per family in this
 * process, re-sorted only when a family gained series); counters and
 * histograms are summed over the lanes of every slot in use and the totals
 * of reclaimed ones, gauges combined as their modes say. The family's own
 * metrics (lumen_prefork_*) come from a collector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "metrics/prefork_fold.h"
#include "metrics/prefork_render.h"
#include "metrics/prefork_table.h"
#include "metrics/render.h"

/* ---- series order --------------------------------------------------------- */

static LUMEN_TLS const lumen__pf_hdr *t_sort_hdr;

/* Label order: the values blobs compared byte by byte, NUL (the end of
 * each value) below any other byte, as comparing value by value. */
static int cmp_series(const void *pa, const void *pb)
{
    const lumen__pf_hdr *h = t_sort_hdr;
    const lumen__pf_series *a = lumen__pf_series_at(h, *(const uint32_t *)pa);
    const lumen__pf_series *b = lumen__pf_series_at(h, *(const uint32_t *)pb);
    uint32_t n = a->values_len < b->values_len ? a->values_len : b->values_len;
    int r = memcmp(lumen__pf_heap(h, a->values), lumen__pf_heap(h, b->values), n);
    return r != 0 ? r : (a->values_len > b->values_len) - (a->values_len < b->values_len);
}

/* Under pf->mu: sort the series created since the last render into their
 * families' views. */
static int update_views(struct lumen_prefork *pf, uint64_t ns)
{
    const lumen__pf_hdr *h = pf->hdr;
    for (; pf->seen < ns; pf->seen++) {
        const lumen__pf_series *s = lumen__pf_series_at(h, pf->seen);
        lumen__pf_view *v = &pf->views[s->fam];
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 16;
            uint32_t *ids = lumen__realloc(v->ids, v->cap * sizeof *ids, cap * sizeof *ids);
            if (ids == NULL)
                return LUMEN_ENOMEM;
            v->ids = ids;
            v->cap = cap;
        }
        v->ids[v->n++] = (uint32_t)pf->seen;
        v->dirty = true;
    }
    return LUMEN_OK;
}

/* ---- the slots in use ------------------------------------------------------ */

typedef struct slots {
    uint32_t n;               /* slots in use (live or not yet reclaimed) */
    uint32_t *w;              /* their indices */
    uint64_t *word;           /* their words, read once */
    int8_t *alive;            /* -1: not yet known */
    _Atomic uint64_t **lanes; /* every lane written, of every slot, then the totals */
    uint32_t nlanes;
} slots;

static bool alive(struct lumen_prefork *pf, slots *s, uint32_t i)
{
    if (s->alive[i] < 0)
        s->alive[i] = lumen__pf_alive(pf, s->w[i], s->word[i]);
    return s->alive[i] != 0;
}

static int slots_read(struct lumen_prefork *pf, slots *s)
{
    const lumen__pf_hdr *h = pf->hdr;
    memset(s, 0, sizeof *s);
    size_t mw = h->max_workers;
    s->w = lumen__malloc(mw * sizeof *s->w);
    s->word = lumen__malloc(mw * sizeof *s->word);
    s->alive = lumen__malloc(mw);
    s->lanes = lumen__malloc((mw * h->nlanes + 1) * sizeof *s->lanes);
    if (s->w == NULL || s->word == NULL || s->alive == NULL || s->lanes == NULL)
        return LUMEN_ENOMEM;
    for (uint32_t w = 0; w < h->max_workers; w++) {
        const lumen__pf_slot *sl = lumen__pf_slot_at(h, w);
        uint64_t word = atomic_load_explicit(&sl->word, memory_order_acquire);
        if (lumen__pf_state(word) == LUMEN__PF_FREE)
            continue;
        s->w[s->n] = w;
        s->word[s->n] = word;
        s->alive[s->n] = -1;
        s->n++;
        for (uint32_t l = 0; l < h->nlanes; l++)
            if (atomic_load_explicit(&sl->lanes[l / 64], memory_order_acquire) >> (l % 64) & 1)
                s->lanes[s->nlanes++] = lumen__pf_lane(h, w, l);
    }
    s->lanes[s->nlanes++] =
        lumen__pf_acc(h, (uint32_t)(atomic_load_explicit(&h->acc, memory_order_acquire) & 1));
    return LUMEN_OK;
}

static void slots_free(const lumen__pf_hdr *h, slots *s)
{
    size_t mw = h->max_workers;
    lumen__free(s->w, mw * sizeof *s->w);
    lumen__free(s->word, mw * sizeof *s->word);
    lumen__free(s->alive, mw);
    lumen__free(s->lanes, (mw * h->nlanes + 1) * sizeof *s->lanes);
}

static uint64_t sum_u64(const slots *s, uint64_t c)
{
    uint64_t u = 0;
    for (uint32_t l = 0; l < s->nlanes; l++)
        u += atomic_load_explicit(&s->lanes[l][c], memory_order_relaxed);
    return u;
}

static double sum_f64(const slots *s, uint64_t c)
{
    double d = 0;
    for (uint32_t l = 0; l < s->nlanes; l++)
        d += lumen__bits_f64(atomic_load_explicit(&s->lanes[l][c], memory_order_relaxed));
    return d;
}

/* ---- one family ------------------------------------------------------------- */

typedef struct labels {
    lumen_label l[LUMEN__MAX_LABELS + 1];
    size_t n; /* constant labels, then the series' values */
} labels;

static void series_labels(const lumen__pf_hdr *h, const lumen__pf_fam *f, const lumen__pf_series *s,
                          labels *out)
{
    size_t n = 0;
    const char *p = lumen__pf_heap(h, f->consts);
    for (uint32_t i = 0; i < f->nconst; i++) {
        out->l[n].name = p;
        p += strlen(p) + 1;
        out->l[n++].value = p;
        p += strlen(p) + 1;
    }
    const char *name = lumen__pf_heap(h, f->labels), *value = lumen__pf_heap(h, s->values);
    for (uint32_t i = 0; i < f->nlabels; i++) {
        out->l[n].name = name;
        out->l[n++].value = value;
        name += strlen(name) + 1;
        value += strlen(value) + 1;
    }
    out->n = n;
}

static bool live_mode(uint32_t mode)
{
    return mode == LUMEN_PREFORK_GAUGE_LIVEALL || mode == LUMEN_PREFORK_GAUGE_LIVESUM ||
           mode == LUMEN_PREFORK_GAUGE_LIVEMAX || mode == LUMEN_PREFORK_GAUGE_LIVEMIN ||
           mode == LUMEN_PREFORK_GAUGE_LIVEMOSTRECENT;
}

static void gauge(struct lumen_prefork *pf, lumen__rctx *c, slots *sl, const lumen__pf_fam *f,
                  const char *name, uint64_t cell, labels *lb)
{
    const lumen__pf_hdr *h = pf->hdr;
    uint32_t mode = atomic_load_explicit(&f->mode, memory_order_relaxed);
    bool live = live_mode(mode);
    uint32_t base = live ? mode - 1 : mode; /* the mode without "live" */
    double best = 0;
    uint64_t best_ts = 0;
    bool any = false;
    if (!live && base != LUMEN_PREFORK_GAUGE_ALL) { /* the totals of reclaimed workers */
        const _Atomic uint64_t *t = sl->lanes[sl->nlanes - 1];
        best_ts = atomic_load_explicit(&t[cell + 1], memory_order_relaxed);
        if ((any = best_ts != 0))
            best = lumen__bits_f64(atomic_load_explicit(&t[cell], memory_order_relaxed));
    }
    if (base != LUMEN_PREFORK_GAUGE_ALL)
        lumen__rctx_labels(c, lb->l, lb->n);
    for (uint32_t i = 0; i < sl->n; i++) {
        const _Atomic uint64_t *g = lumen__pf_lane(h, sl->w[i], 0);
        uint64_t ts = atomic_load_explicit(&g[cell + 1], memory_order_acquire);
        if (ts == 0 || (live && !alive(pf, sl, i)))
            continue;
        double v = lumen__bits_f64(atomic_load_explicit(&g[cell], memory_order_relaxed));
        switch (base) {
        case LUMEN_PREFORK_GAUGE_ALL: {
            char pid[24];
            snprintf(pid, sizeof pid, "%d", (int)lumen__pf_pid(sl->word[i]));
            lb->l[lb->n] = (lumen_label){"pid", pid};
            lumen__rctx_labels(c, lb->l, lb->n + 1);
            lumen__rctx_sample(c, name, "", NULL, NULL, v);
            break;
        }
        case LUMEN_PREFORK_GAUGE_SUM:
            best += v;
            break;
        case LUMEN_PREFORK_GAUGE_MAX:
            best = !any || v > best ? v : best;
            break;
        case LUMEN_PREFORK_GAUGE_MIN:
            best = !any || v < best ? v : best;
            break;
        default: /* most recent */
            if (!any || ts >= best_ts) {
                best = v;
                best_ts = ts;
            }
            break;
        }
        any = true;
    }
    if (base != LUMEN_PREFORK_GAUGE_ALL && (any || base == LUMEN_PREFORK_GAUGE_SUM))
        lumen__rctx_sample(c, name, "", NULL, NULL, best);
}

/* The overflow series is made with its family, so that a process past
 * the limit always has somewhere to count; a single process makes it on
 * first need. It is shown, as there, once something was counted in it. */
static bool unused(const lumen__pf_hdr *h, const lumen__pf_fam *f, slots *sl, uint64_t c)
{
    if (atomic_load_explicit(&f->overflows, memory_order_relaxed) != 0)
        return false;
    if (f->type == LUMEN_METRIC_GAUGE) {
        if (atomic_load_explicit(&sl->lanes[sl->nlanes - 1][c + 1], memory_order_relaxed) != 0)
            return false;
        for (uint32_t i = 0; i < sl->n; i++)
            if (atomic_load_explicit(&lumen__pf_lane(h, sl->w[i], 0)[c + 1],
                                     memory_order_relaxed) != 0)
                return false;
        return true;
    }
    for (uint32_t k = 0; k < f->ncells; k++)
        for (uint32_t l = 0; l < sl->nlanes; l++)
            if (atomic_load_explicit(&sl->lanes[l][c + k], memory_order_relaxed) != 0)
                return false;
    return true;
}

static void histogram(lumen__rctx *c, slots *sl, const lumen__pf_fam *f, const char *name,
                      char (*le)[LUMEN__DBL_MAX + 2], uint64_t cell, const lumen__pf_series *s)
{
    uint64_t cum = 0;
    for (uint32_t b = 0; b <= f->nbuckets; b++) {
        cum += sum_u64(sl, cell + b);
        lumen__rctx_sample_u64(c, name, "_bucket", "le", le[b], cum);
    }
    lumen__rctx_sample(c, name, "_sum", NULL, NULL, sum_f64(sl, cell + f->nbuckets + 1));
    lumen__rctx_sample_u64(c, name, "_count", NULL, NULL, cum);
    if (!(f->flags & LUMEN_FAMILY_NO_CREATED))
        lumen__rctx_created(c, name, s->created_ns);
}

/* ---- the family of processes' own metrics ----------------------------------- */

static int counter(lumen_collect_sink *sink, const char *name, const char *help, uint64_t v)
{
    int rc = lumen_collect_family(sink, LUMEN_METRIC_COUNTER, name, help, NULL);
    return rc == LUMEN_OK ? lumen_collect_sample(sink, "", NULL, 0, (double)v) : rc;
}

static int self_metrics(struct lumen_prefork *pf, lumen_collect_sink *sink, slots *sl)
{
    const lumen__pf_hdr *h = pf->hdr;
    uint32_t running = 0;
    for (uint32_t i = 0; i < sl->n; i++)
        running += alive(pf, sl, i);
    int rc = lumen_collect_family(sink, LUMEN_METRIC_GAUGE, "lumen_prefork_workers",
                                  "Worker slots in use: processes running, and processes that "
                                  "exited whose slot is not yet reclaimed.",
                                  NULL);
    lumen_label st = {"state", "running"};
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(sink, "", &st, 1, running);
    st.value = "exited";
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(sink, "", &st, 1, sl->n - running);
    if (rc == LUMEN_OK)
        rc = counter(sink, "lumen_prefork_workers_started_total", "Processes given a worker slot.",
                     atomic_load_explicit(&h->workers_started, memory_order_relaxed));
    if (rc == LUMEN_OK)
        rc = counter(sink, "lumen_prefork_workers_refused_total",
                     "Processes that found no free worker slot: their metrics are not shared.",
                     atomic_load_explicit(&h->workers_refused, memory_order_relaxed));
    if (rc == LUMEN_OK)
        rc = counter(sink, "lumen_prefork_workers_reclaimed_total",
                     "Slots of exited workers folded into the totals and freed.",
                     atomic_load_explicit(&h->workers_reclaimed, memory_order_relaxed));
    if (rc == LUMEN_OK)
        rc = counter(sink, "lumen_prefork_lock_recoveries_total",
                     "Shared locks taken over from a process that died holding them.",
                     atomic_load_explicit(&h->recoveries, memory_order_relaxed));
    if (rc == LUMEN_OK)
        rc = counter(sink, "lumen_prefork_label_sets_refused_total",
                     "New label sets sent to an overflow series because the shared memory was "
                     "full.",
                     atomic_load_explicit(&h->arena_full, memory_order_relaxed));
    if (rc == LUMEN_OK)
        rc = lumen_collect_family(sink, LUMEN_METRIC_GAUGE, "lumen_prefork_capacity_used_ratio",
                                  "Share of each fixed size of the shared memory in use.", NULL);
    struct {
        const char *what;
        double used, max;
    } cap[] = {
        {"workers", sl->n, h->max_workers},
        {"families", atomic_load_explicit(&h->nfams, memory_order_relaxed), h->max_families},
        {"series", (double)atomic_load_explicit(&h->nseries, memory_order_relaxed),
         (double)h->max_series},
        {"cells", 2.0 * (double)atomic_load_explicit(&h->pairs, memory_order_relaxed),
         (double)h->max_cells},
        {"label_bytes", (double)atomic_load_explicit(&h->heap_used, memory_order_relaxed),
         (double)h->heap_bytes},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cap) && rc == LUMEN_OK; i++) {
        lumen_label l = {"resource", cap[i].what};
        rc = lumen_collect_sample(sink, "", &l, 1, cap[i].used / cap[i].max);
    }
    /* Label sets sent to a shared family's overflow series. */
    bool any = false;
    uint32_t nf = atomic_load_explicit(&h->nfams, memory_order_acquire);
    for (uint32_t i = 0; i < nf && rc == LUMEN_OK; i++) {
        const lumen__pf_fam *f = lumen__pf_fam_at(h, i);
        uint64_t o = atomic_load_explicit(&f->overflows, memory_order_relaxed);
        if (o == 0)
            continue;
        if (!any)
            rc = lumen_collect_family(sink, LUMEN_METRIC_COUNTER,
                                      "lumen_prefork_series_overflow_total",
                                      "Label sets sent to a shared family's overflow series "
                                      "because it held its series limit or the memory was full.",
                                      NULL);
        any = true;
        lumen_label l = {"family", lumen__pf_heap(h, f->name)};
        if (rc == LUMEN_OK)
            rc = lumen_collect_sample(sink, "", &l, 1, (double)o);
    }
    return rc;
}

/* ---- a render --------------------------------------------------------------- */

struct lumen__pf_render {
    struct lumen_prefork *pf;
    uint32_t *order; /* family indices in name order */
    uint32_t n;
};

static LUMEN_TLS const lumen__pf_hdr *t_name_hdr;

static int cmp_family(const void *pa, const void *pb)
{
    const lumen__pf_hdr *h = t_name_hdr;
    return strcmp(lumen__pf_heap(h, lumen__pf_fam_at(h, *(const uint32_t *)pa)->name),
                  lumen__pf_heap(h, lumen__pf_fam_at(h, *(const uint32_t *)pb)->name));
}

lumen__pf_render *lumen__pf_render_begin(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    lumen__pf_render *r = lumen__calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->pf = pf;
    pthread_mutex_lock(&pf->mu);
    /* A creator that died after indexing a series leaves it uncounted,
     * out of renders, until create_mu is taken again: repair now if so,
     * without waiting for a creator that runs. */
    lumen__pf_repair_if_dead(pf, &h->create_mu, lumen__pf_repair_create);
    r->n = atomic_load_explicit(&h->nfams, memory_order_acquire);
    uint64_t ns = atomic_load_explicit(&h->nseries, memory_order_acquire);
    bool ok = (r->order = lumen__malloc((r->n ? r->n : 1) * sizeof *r->order)) != NULL &&
              update_views(pf, ns) == LUMEN_OK;
    pthread_mutex_unlock(&pf->mu);
    if (!ok) {
        lumen__pf_render_end(r);
        return NULL;
    }
    for (uint32_t i = 0; i < r->n; i++)
        r->order[i] = i;
    t_name_hdr = h;
    qsort(r->order, r->n, sizeof *r->order, cmp_family);
    return r;
}

size_t lumen__pf_render_count(const lumen__pf_render *r)
{
    return r->n;
}

const char *lumen__pf_render_name(const lumen__pf_render *r, size_t i)
{
    const lumen__pf_hdr *h = r->pf->hdr;
    return lumen__pf_heap(h, lumen__pf_fam_at(h, r->order[i])->name);
}

/* Under pf->mu and fold_mu: the family's samples, into the writer's
 * buffer only (the writer's callback, which may be slow, runs after the
 * locks are released). */
static void family_locked(struct lumen_prefork *pf, slots *sl, uint32_t fi, lumen__rctx *c)
{
    const lumen__pf_hdr *h = pf->hdr;
    const lumen__pf_fam *f = lumen__pf_fam_at(h, fi);
    const char *name = lumen__pf_heap(h, f->name);
    lumen__rctx_header(c, (lumen_metric_type)f->type, name,
                       f->help == LUMEN__PF_NONE ? NULL : lumen__pf_heap(h, f->help),
                       f->unit == LUMEN__PF_NONE ? NULL : lumen__pf_heap(h, f->unit));
    lumen__pf_view *v = &pf->views[fi];
    if (v->dirty) {
        t_sort_hdr = h;
        qsort(v->ids, v->n, sizeof *v->ids, cmp_series);
        v->dirty = false;
    }
    char(*le)[LUMEN__DBL_MAX + 2] = NULL;
    if (f->type == LUMEN_METRIC_HISTOGRAM) {
        if ((le = lumen__malloc((f->nbuckets + 1) * sizeof *le)) == NULL) {
            lumen__rctx_fail(c, LUMEN_ENOMEM);
            return;
        }
        const double *bounds = (const double *)(const void *)lumen__pf_heap(h, f->buckets);
        for (uint32_t b = 0; b < f->nbuckets; b++)
            if (lumen__rctx_om(c))
                lumen__fmt_double_canonical(le[b], bounds[b]);
            else
                lumen__fmt_double_go(le[b], bounds[b]);
        strcpy(le[f->nbuckets], "+Inf");
    }
    bool created = !(f->flags & LUMEN_FAMILY_NO_CREATED);
    labels lb;
    for (size_t k = 0; k < v->n; k++) {
        const lumen__pf_series *s = lumen__pf_series_at(h, v->ids[k]);
        uint64_t cell = 2 * (uint64_t)s->pair;
        if ((s->flags & LUMEN__PF_SERIES_OVERFLOW) && unused(h, f, sl, cell))
            continue;
        series_labels(h, f, s, &lb);
        switch (f->type) {
        case LUMEN_METRIC_COUNTER:
            lumen__rctx_labels(c, lb.l, lb.n);
            lumen__rctx_sample(c, name, "_total", NULL, NULL,
                               (double)sum_u64(sl, cell) + sum_f64(sl, cell + 1));
            if (created)
                lumen__rctx_created(c, name, s->created_ns);
            break;
        case LUMEN_METRIC_HISTOGRAM:
            lumen__rctx_labels(c, lb.l, lb.n);
            histogram(c, sl, f, name, le, cell, s);
            break;
        default:
            gauge(pf, c, sl, f, name, cell, &lb);
            break;
        }
    }
    lumen__free(le, (f->nbuckets + 1) * sizeof *le);
}

/* One family under fold_mu: its series' cells are read all in their
 * lanes or all in the totals, never half folded. */
void lumen__pf_render_family(lumen__pf_render *r, size_t i, lumen__rctx *c)
{
    struct lumen_prefork *pf = r->pf;
    pthread_mutex_lock(&pf->mu);
    sigset_t old;
    lumen__pf_lock(pf, &pf->hdr->fold_mu, lumen__pf_repair_fold, &old);
    slots sl;
    if (slots_read(pf, &sl) == LUMEN_OK)
        family_locked(pf, &sl, r->order[i], c);
    else
        lumen__rctx_fail(c, LUMEN_ENOMEM);
    slots_free(pf->hdr, &sl);
    lumen__pf_unlock(&pf->hdr->fold_mu, &old);
    pthread_mutex_unlock(&pf->mu);
    lumen__rctx_next(c);
}

void lumen__pf_render_end(lumen__pf_render *r)
{
    if (r == NULL)
        return;
    lumen__free(r->order, (r->n ? r->n : 1) * sizeof *r->order);
    lumen__free(r, sizeof *r);
}

/* ---- the collector of the family's own metrics ---------------------------------- */

int lumen__pf_collect(lumen_collect_sink *sink, void *ud)
{
    struct lumen_prefork *pf = ud;
    lumen__pf_hdr *h = pf->hdr;
    pthread_mutex_lock(&pf->mu);
    lumen__pf_repair_if_dead(pf, &h->create_mu, lumen__pf_repair_create); /* as a render begins */
    sigset_t old;
    lumen__pf_lock(pf, &h->fold_mu, lumen__pf_repair_fold, &old);
    slots sl;
    int rc = slots_read(pf, &sl);
    if (rc == LUMEN_OK)
        rc = self_metrics(pf, sink, &sl);
    slots_free(h, &sl);
    lumen__pf_unlock(&h->fold_mu, &old);
    pthread_mutex_unlock(&pf->mu);
    return rc;
}
