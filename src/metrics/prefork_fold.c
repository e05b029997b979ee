/*
 * metrics/prefork_fold.c: reclaiming the slot of a worker that exited.
 *
 * Its counts are added to the family's totals, its gauges folded as their
 * modes say, and its lanes cleared for the next worker, under fold_mu,
 * which every render holds too: a render sees a worker's cells either in
 * its lanes or in the totals, never both and never neither, so a counter
 * never goes backwards when a worker is recycled.
 *
 * The totals live in two accumulators; `acc` in the header says which is
 * current. A reclaim writes current + the worker into the other one
 * (AT_FOLD_SUMMED), then in one store makes it current and names the slot
 * being cleared (AT_FOLD_PUBLISHED), then clears the slot's lanes, frees
 * the slot and clears the name. A reclaimer that dies before that store
 * leaves the current accumulator and the worker's lanes as they were (the
 * other accumulator is rewritten in full by the next reclaim); one that
 * dies after it leaves the name, from which repair finishes the clearing.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

#include "core/clock.h"
#include "metrics/prefork_fold.h"

void lumen__pf_clear_lanes(struct lumen_prefork *pf, uint32_t w)
{
    lumen__pf_hdr *h = pf->hdr;
    uint64_t off = lumen__pf_lane_off(h, w, 0), len = (uint64_t)h->nlanes * h->lane_bytes;
    /* Punching the range frees its pages; they read as zero again. */
    if (fallocate(pf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return;
    uint64_t hw = 2 * atomic_load_explicit(&h->pairs, memory_order_acquire);
    for (uint32_t l = 0; l < h->nlanes; l++) {
        _Atomic uint64_t *L = lumen__pf_lane(h, w, l);
        for (uint64_t c = 0; c < hw; c++)
            if (atomic_load_explicit(&L[c], memory_order_relaxed) != 0)
                atomic_store_explicit(&L[c], 0, memory_order_relaxed);
    }
}

/* The slot's lanes, cleared; the slot free for the next worker. */
static void finish(struct lumen_prefork *pf, uint32_t w, uint64_t word)
{
    lumen__pf_hdr *h = pf->hdr;
    lumen__pf_slot *s = lumen__pf_slot_at(h, w);
    lumen__pf_clear_lanes(pf, w);
    for (uint32_t i = 0; i < h->bitmap_words; i++)
        atomic_store_explicit(&s->lanes[i], 0, memory_order_relaxed);
    atomic_store_explicit(&s->start, 0, memory_order_relaxed);
    atomic_store_explicit(&s->word, lumen__pf_word(LUMEN__PF_FREE, lumen__pf_gen(word) + 1, 0),
                          memory_order_release);
    atomic_store_explicit(&h->acc, atomic_load_explicit(&h->acc, memory_order_relaxed) & 1,
                          memory_order_release);
    atomic_fetch_add_explicit(&h->workers_reclaimed, 1, memory_order_relaxed);
}

static double f64(uint64_t u)
{
    return lumen__bits_f64(u);
}

/* Fold a gauge worker value (v, at time ts) into the totals' cells t[0],
 * t[1] (value, time of the latest value; 0: none) as `mode` says. */
static void fold_gauge(_Atomic uint64_t *t, uint32_t mode, double v, uint64_t ts)
{
    uint64_t rt = atomic_load_explicit(&t[1], memory_order_relaxed);
    double rv = rt ? f64(atomic_load_explicit(&t[0], memory_order_relaxed)) : 0;
    double nv = rv;
    switch (mode) {
    case LUMEN_PREFORK_GAUGE_SUM:
        nv = rv + v;
        break;
    case LUMEN_PREFORK_GAUGE_MAX:
        nv = rt == 0 || v > rv ? v : rv;
        break;
    case LUMEN_PREFORK_GAUGE_MIN:
        nv = rt == 0 || v < rv ? v : rv;
        break;
    case LUMEN_PREFORK_GAUGE_MOSTRECENT:
        nv = ts >= rt ? v : rv;
        break;
    default:
        return; /* live modes and `all` drop a dead worker's value */
    }
    atomic_store_explicit(&t[0], lumen__f64_bits(nv), memory_order_relaxed);
    atomic_store_explicit(&t[1], ts > rt ? ts : rt, memory_order_relaxed);
}

/* Is lane l written, and not among the first `first` written ones? */
static bool lane_past(const lumen__pf_slot *s, uint32_t l, uint32_t first)
{
    if (!(atomic_load_explicit(&s->lanes[l / 64], memory_order_relaxed) >> (l % 64) & 1))
        return false;
    uint32_t before = 0;
    for (uint32_t k = 0; k < l; k++)
        before +=
            (uint32_t)(atomic_load_explicit(&s->lanes[k / 64], memory_order_relaxed) >> (k % 64) &
                       1);
    return before >= first;
}

/* Under fold_mu: fold slot w (its process gone) into the totals. */
static void fold(struct lumen_prefork *pf, uint32_t w, uint64_t word)
{
    lumen__pf_hdr *h = pf->hdr;
    uint64_t a = atomic_load_explicit(&h->acc, memory_order_acquire);
    uint32_t cur = (uint32_t)(a & 1), tgt = cur ^ 1;
    _Atomic uint64_t *C = lumen__pf_acc(h, cur), *T = lumen__pf_acc(h, tgt);
    uint64_t hw = 2 * atomic_load_explicit(&h->pairs, memory_order_acquire);
    for (uint64_t c = 0; c < hw; c++)
        atomic_store_explicit(&T[c], atomic_load_explicit(&C[c], memory_order_relaxed),
                              memory_order_relaxed);
    /* The lanes it wrote (lane 0 also holds its gauges). Few in practice,
     * so that a small array on the stack does (this may run in a fork
     * handler, on any thread's stack); more are read from the bitmap as
     * they come. */
    const lumen__pf_slot *s = lumen__pf_slot_at(h, w);
    _Atomic uint64_t *lanes[64];
    uint32_t nl = 0, more = 0;
    for (uint32_t l = 0; l < h->nlanes; l++)
        if (atomic_load_explicit(&s->lanes[l / 64], memory_order_acquire) >> (l % 64) & 1) {
            if (nl < LUMEN_ARRAY_LEN(lanes))
                lanes[nl++] = lumen__pf_lane(h, w, l);
            else
                more++;
        }
    _Atomic uint64_t *L0 = lumen__pf_lane(h, w, 0);
    uint64_t ns = atomic_load_explicit(&h->nseries, memory_order_acquire);
    for (uint64_t id = 0; id < ns; id++) {
        const lumen__pf_series *se = lumen__pf_series_at(h, id);
        const lumen__pf_fam *f = lumen__pf_fam_at(h, se->fam);
        uint64_t c = 2 * (uint64_t)se->pair;
        if (f->type == LUMEN_METRIC_GAUGE) {
            uint64_t ts = atomic_load_explicit(&L0[c + 1], memory_order_acquire);
            if (ts != 0)
                fold_gauge(T + c, atomic_load_explicit(&f->mode, memory_order_relaxed),
                           f64(atomic_load_explicit(&L0[c], memory_order_relaxed)), ts);
            continue;
        }
        /* Counters: a count, then a double. Histograms: nbuckets + 1
         * counts, then the sum. */
        uint32_t nu = f->type == LUMEN_METRIC_HISTOGRAM ? f->nbuckets + 1 : 1;
        for (uint32_t k = 0; k < nu; k++) {
            uint64_t u = 0;
            for (uint32_t l = 0; l < nl; l++)
                u += atomic_load_explicit(&lanes[l][c + k], memory_order_relaxed);
            for (uint32_t l = 0; more > 0 && l < h->nlanes; l++)
                if (lane_past(s, l, nl))
                    u +=
                        atomic_load_explicit(&lumen__pf_lane(h, w, l)[c + k], memory_order_relaxed);
            if (u != 0)
                atomic_store_explicit(&T[c + k],
                                      atomic_load_explicit(&T[c + k], memory_order_relaxed) + u,
                                      memory_order_relaxed);
        }
        double d = 0;
        for (uint32_t l = 0; l < nl; l++)
            d += f64(atomic_load_explicit(&lanes[l][c + nu], memory_order_relaxed));
        for (uint32_t l = 0; more > 0 && l < h->nlanes; l++)
            if (lane_past(s, l, nl))
                d += f64(
                    atomic_load_explicit(&lumen__pf_lane(h, w, l)[c + nu], memory_order_relaxed));
        if (d != 0)
            atomic_store_explicit(
                &T[c + nu],
                lumen__f64_bits(f64(atomic_load_explicit(&T[c + nu], memory_order_relaxed)) + d),
                memory_order_relaxed);
    }
    lumen__pf_point(LUMEN__PF_AT_FOLD_SUMMED);
    atomic_store_explicit(&h->acc,
                          tgt | (uint64_t)(w + 1) << 1 | (uint64_t)lumen__pf_gen(word) << 32,
                          memory_order_release);
    lumen__pf_point(LUMEN__PF_AT_FOLD_PUBLISHED);
    finish(pf, w, word);
}

int lumen__pf_reclaim_locked(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    int n = 0;
    for (uint32_t w = 0; w < h->max_workers; w++) {
        uint64_t word = atomic_load_explicit(&lumen__pf_slot_at(h, w)->word, memory_order_acquire);
        uint32_t st = lumen__pf_state(word);
        if (st == LUMEN__PF_FREE || (st == LUMEN__PF_LIVE && lumen__pf_alive(pf, w, word)))
            continue;
        fold(pf, w, word);
        n++;
    }
    return n;
}

void lumen__pf_repair_fold(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    uint64_t a = atomic_load_explicit(&h->acc, memory_order_acquire);
    uint32_t named = (uint32_t)(a >> 1) & 0x7fffffffu;
    if (named == 0)
        return; /* nothing published: the other accumulator is rewritten next time */
    uint32_t w = named - 1, gen = (uint32_t)(a >> 32) & 0x3fffffffu;
    uint64_t word = atomic_load_explicit(&lumen__pf_slot_at(h, w)->word, memory_order_acquire);
    if (lumen__pf_state(word) != LUMEN__PF_FREE && lumen__pf_gen(word) == gen)
        finish(pf, w, word);
    else
        atomic_store_explicit(&h->acc, a & 1, memory_order_release);
}
