/*
 * metrics/expmap_fast.h: the scale-8 bucket index of expmap.c, inline for
 * the observation path of native histograms (exphist.c), and the tables
 * it reads (defined in expmap.c, which explains them). A lower scale's
 * index is this one shifted right by 8 - scale.
 */
#ifndef LUMEN_METRICS_EXPMAP_FAST_H
#define LUMEN_METRICS_EXPMAP_FAST_H

#include <string.h>

#include "core/common.h"

/* Buckets per octave at scale 8. */
#define LUMEN__EXP_OCTAVE8 256

extern LUMEN__HIDDEN const uint64_t lumen__exp_bound8[LUMEN__EXP_OCTAVE8 + 1];
extern LUMEN__HIDDEN const uint8_t lumen__exp_first8[2 * LUMEN__EXP_OCTAVE8];

/* v > 0 and finite: its exponent E and fraction bits f (v = (1 + f / 2^52) * 2^E). */
static inline void lumen__exp_split(double v, int32_t *e, uint64_t *f)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    int32_t be = (int32_t)((u >> 52) & 0x7ff);
    if (be == 0) {
        /* Subnormal: scale into the normal range exactly. */
        v *= 0x1p64;
        memcpy(&u, &v, sizeof u);
        be = (int32_t)((u >> 52) & 0x7ff) - 64;
    }
    *e = be - 1023;
    *f = u & ((1ull << 52) - 1);
}

static inline int32_t lumen__exp_index8(double v)
{
    int32_t e;
    uint64_t f;
    lumen__exp_split(v, &e, &f);
    if (f == 0)
        return e * LUMEN__EXP_OCTAVE8 - 1;
    unsigned lo = lumen__exp_first8[f >> 43];
    return e * LUMEN__EXP_OCTAVE8 + (int32_t)lo + (f > lumen__exp_bound8[lo + 1]);
}

#endif
