/*
 * metrics/expmap.h: base-2 exponential bucketing, the mapping alone (the
 * one OpenTelemetry's exponential histograms use). At scale s the buckets
 * grow by the factor 2^(2^-s); bucket i is (2^(i * 2^-s), 2^((i+1) * 2^-s)],
 * so a power of two is the upper bound of its bucket. Pure functions of
 * their arguments, no state, no lock: the hot paths of summaries (and of
 * exponential histograms) call lumen__exp_index on every observation.
 */
#ifndef LUMEN_METRICS_EXPMAP_H
#define LUMEN_METRICS_EXPMAP_H

#include <stdint.h>

/* Index of the bucket holding v (v > 0, finite) at scale s (-10..20):
 * ceil(log2(v) * 2^s) - 1, exact at powers of two (OpenTelemetry's mapping). */
int32_t lumen__exp_index(double v, int scale);
/* Lower boundary of bucket i at scale s: 2^(i * 2^-s) (bucket i is (lower(i), lower(i+1)]). */
double lumen__exp_lower(int32_t i, int scale);

#endif
