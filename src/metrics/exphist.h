/*
 * metrics/exphist.h: the native part of a histogram series: base-2
 * exponential buckets (expmap.h) at a scale that drops when the buckets
 * would exceed their limit, a zero bucket, and positive and negative
 * ranges. The sum stays in the series' classic cells (update.c): a
 * native histogram is a classic one (perhaps with no finite bound) plus
 * this. A native-only one's +Inf cell counts only what the native
 * buckets could not hold (infinities, observations dropped for want of
 * memory): its total is that cell plus the native count.
 *
 * Storage: an immutable layout (scale, each sign's first index and bucket
 * count, a range of cells [zero, positive..., negative...]) is published
 * with a release store and read inside a read section (core/rcu.h). An
 * observation in range is one lock-free cell add. One outside takes the
 * series' mutex, builds a wider layout (at a lower scale when the limit
 * requires), allocates its cells and publishes it: that is the only
 * allocation, on the first touch of a range. The retired layout keeps its
 * cells, which readers still sum, until a read (outside any read section)
 * has waited for a grace period: then no add can be in flight to them,
 * and their counts are folded into a base kept under the mutex and the
 * cells released. A read takes the mutex and sums base + retired + current
 * layouts at the current scale, so a count is never lost nor seen twice.
 */
#ifndef LUMEN_METRICS_EXPHIST_H
#define LUMEN_METRICS_EXPHIST_H

#include <float.h>

#include "metrics/expmap.h"
#include "metrics/internal.h"

/* Prometheus accepts schemas -4..8: the scale never leaves that range. */
#define LUMEN__EXP_MAX_SCALE 8
#define LUMEN__EXP_MIN_SCALE (-4)
#define LUMEN__EXP_DEFAULT_BUCKETS 160
/* One layout's cells (zero + 2 * buckets) must fit one cell range. */
#define LUMEN__EXP_MAX_BUCKETS 500

typedef struct lumen__exphist lumen__exphist;

/* A layout: immutable once published. */
typedef struct lumen__explayout {
    struct lumen__explayout *next; /* in the series' list of retired layouts */
    int32_t scale;
    int32_t off[2];  /* first bucket index of each sign (0 positive, 1 negative) */
    uint32_t len[2]; /* buckets of each sign */
    uint32_t cell;   /* first cell id: [zero, len[0] positive, len[1] negative] */
} lumen__explayout;

/* The start of every lumen__exphist: what an observation reads. */
typedef struct lumen__exphist_hot {
    _Atomic(lumen__explayout *) lay;
    double zero_threshold;
} lumen__exphist_hot;

/* A new native state for a series of family f (f->native set), its first
 * layout empty at the family's scale. LUMEN_OK, LUMEN_ENOMEM or LUMEN_ELIMIT. */
int lumen__exphist_new(const lumen__family *f, lumen__exphist **out);
/* Free it, a grace period after its series became unreachable. NULL is a no-op. */
void lumen__exphist_free(lumen__exphist *x);

/* Count v (not NaN) in its bucket and add it to the double cell `sum`,
 * both in one critical section. Inside a read section; lock-free unless
 * v is outside the layout's range. Returns false, having added nothing,
 * for an infinity or when a wider range could not be allocated: the
 * caller counts v elsewhere (update.c: in the +Inf cell, with the sum). */
static inline bool lumen__exphist_observe(lumen__exphist *x, double v, uint32_t sum);

/* The observation outside the layout's range (exphist.c): under the
 * series' mutex, widen and count. Returns as lumen__exphist_observe. */
bool lumen__exphist_observe_slow(lumen__exphist *x, int sg, double a, uint32_t sum, double v);

static inline bool lumen__exphist_observe(lumen__exphist *x, double v, uint32_t sum)
{
    const lumen__exphist_hot *h = (const lumen__exphist_hot *)x;
    const lumen__explayout *l = atomic_load_explicit(&h->lay, memory_order_acquire);
    double a = v < 0 ? -v : v;
    if (a <= h->zero_threshold) {
        lumen__cell_add_u64_f64(l->cell, 1, sum, v);
        return true;
    }
    if (LUMEN_UNLIKELY(!(a <= DBL_MAX)))
        return false;
    int sg = v < 0;
    int64_t i = lumen__exp_index(a, l->scale); /* exact, without log() (expmap.c) */
    uint64_t j = (uint64_t)(i - l->off[sg]);
    if (LUMEN_LIKELY(j < l->len[sg])) {
        lumen__cell_add_u64_f64(l->cell + 1 + (sg ? l->len[0] : 0) + (uint32_t)j, 1, sum, v);
        return true;
    }
    return lumen__exphist_observe_slow(x, sg, a, sum, v);
}

/* The observations in the native buckets (zero bucket included), without
 * building the buckets: for the text expositions' _count. As
 * lumen__exphist_read for the mutex and the fold. */
uint64_t lumen__exphist_count(lumen__exphist *x);

/*
 * A snapshot of a native histogram, for the expositions (the Prometheus
 * protobuf one in render_pb.c, and an OTLP ExponentialHistogram encoder):
 * buckets at `scale`; sign 0 positive, 1 negative; counts[s][k] is the
 * count of bucket offset[s] + k (not cumulative; leading and trailing
 * empty buckets trimmed; len 0 and counts NULL when a sign has none).
 * `count` is zero_count plus every bucket. lumen__exphist_read_series
 * also fills `sum` and `total`, every observation of the series: count
 * plus what the buckets could not hold (infinities; values dropped for
 * want of memory), at least count (OTLP's and Prometheus's count).
 */
typedef struct lumen__exphist_data {
    int32_t scale;
    double zero_threshold;
    uint64_t zero_count;
    int32_t offset[2];
    uint32_t len[2];
    uint64_t *counts[2];
    uint64_t count;
    double sum;
    uint64_t total;
} lumen__exphist_data;

/* Read x into *out (free with lumen__exphist_data_free). Takes the
 * series' mutex; outside a read section it first folds the retired
 * layouts (waiting for a grace period when there are any), inside one it
 * reads them as they are. LUMEN_OK or LUMEN_ENOMEM (*out then empty). */
int lumen__exphist_read(lumen__exphist *x, lumen__exphist_data *out);
void lumen__exphist_data_free(lumen__exphist_data *d);

/* The whole native histogram of series c (c->native set): the buckets as
 * lumen__exphist_read, and the sum and total from its classic cells. The
 * read API of the exporters (the protobuf exposition, OTLP's
 * ExponentialHistogram); `sum` is the sum of every observation, as
 * `total` counts them. LUMEN_OK or LUMEN_ENOMEM. */
int lumen__exphist_read_series(const lumen__child *c, lumen__exphist_data *out);

/* For tests: take (hold true) or release the series' mutex, to show that
 * an observation within the range never takes it. */
void lumen__exphist_hold(lumen__exphist *x, bool hold);

#endif
