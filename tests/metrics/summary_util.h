/* tests/metrics/summary_util.h: what the summary tests share: a seeded
 * PRNG, the exact quantile of a sample, the error bound metrics.h states,
 * and a summary's estimates read with the scale they were read at. */
#ifndef LUMEN_TEST_SUMMARY_UTIL_H
#define LUMEN_TEST_SUMMARY_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/rcu.h"
#include "lumen/metrics.h"
#include "metrics/internal.h"
#include "metrics/summary.h"

/* splitmix64: a seeded, portable sequence. */
static inline uint64_t su_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double su_unit(uint64_t *s)
{
    return ((double)(su_next(s) >> 11) + 0.5) * 0x1p-53;
}

static inline double su_normal(uint64_t *s)
{
    double u = su_unit(s), v = su_unit(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* The bound of metrics.h at scale s: (2^(2^-s) - 1) / (2^(2^-s) + 1). */
static inline double su_bound(int s)
{
    double g = exp2(exp2(-s));
    return (g - 1) / (g + 1);
}

static inline int su_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The observation of rank ceil(q n) (1 at q = 0) of sorted[0..n). */
static inline double su_exact(const double *sorted, size_t n, double q)
{
    double want = ceil(q * (double)n);
    size_t k = want < 1 ? 1 : want >= (double)n ? n : (size_t)want;
    return sorted[k - 1];
}

/* Read a summary series: count, sum, its family's quantiles and the scale
 * they were read at. Returns 0 for a dead handle. */
static inline int su_read(lumen_summary *h, uint64_t *count, double *sum, double *q, int *scale)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__child *c = lumen__series_of((uintptr_t)h, LUMEN_METRIC_SUMMARY);
    if (c != NULL)
        lumen__summary_read_scale(c->u.sum, c->fam, count, sum, q, scale);
    lumen__rcu_unlock(rd);
    return c != NULL;
}

/* Whether est is within the stated bound of x (a few ulps of slack for
 * the arithmetic of the estimate itself). */
static inline int su_within(double est, double x, int scale)
{
    if (x == 0 || isinf(x))
        return est == x;
    return fabs(est - x) <= fabs(x) * (su_bound(scale) + 1e-13);
}

#endif
