/*
 * metrics/buckets.c: histogram bucket bounds: the default set and the
 * linear and exponential generators. Pure functions of their arguments.
 */
#include <math.h>

#include "core/common.h"
#include "lumen/metrics.h"

/* client_golang's DefBuckets: latencies in seconds, 5 ms to 10 s. */
static const double g_default_buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

LUMEN_API const double *lumen_buckets_default(size_t *out_count)
{
    if (out_count != NULL)
        *out_count = LUMEN_ARRAY_LEN(g_default_buckets);
    return g_default_buckets;
}

LUMEN_API int lumen_buckets_linear(double *out, double start, double width, size_t count)
{
    if (out == NULL || count == 0 || !(width > 0) || !isfinite(start) || !isfinite(width))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < count; i++)
        out[i] = start + (double)i * width;
    return LUMEN_OK;
}

LUMEN_API int lumen_buckets_exponential(double *out, double start, double factor, size_t count)
{
    if (out == NULL || count == 0 || !(start > 0) || !(factor > 1) || !isfinite(start) ||
        !isfinite(factor))
        return LUMEN_EINVAL;
    double v = start;
    for (size_t i = 0; i < count; i++, v *= factor)
        out[i] = v;
    return LUMEN_OK;
}
