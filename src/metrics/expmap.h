/*
 * metrics/expmap.h: the base-2 exponential bucket mapping shared by the
 * exponential (native) histograms (exphist.c) and anything else that
 * buckets values by their logarithm. Pure functions, in expmap.c.
 *
 * At scale s, bucket i holds (2^(i * 2^-s), 2^((i + 1) * 2^-s)]: its upper
 * boundary is inclusive, as OpenTelemetry and Prometheus native histograms
 * define it, so a power of two is the upper edge of its bucket.
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
