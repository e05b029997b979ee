/*
 * metrics/summary.h: a summary series' state: count, sum and the sliding
 * window its quantiles are estimated over (summary.c).
 */
#ifndef LUMEN_METRICS_SUMMARY_H
#define LUMEN_METRICS_SUMMARY_H

#include "metrics/internal.h"

int lumen__summary_state_new(lumen__family *f, lumen__summary_state **out);
void lumen__summary_state_free(lumen__summary_state *s);
/* count, sum, and the family's quantile estimates into q[nquantiles]. */
void lumen__summary_read(lumen__summary_state *s, const lumen__family *f, uint64_t *count,
                         double *sum, double *q);
/* As lumen__summary_read, and the scale the quantiles were read at into
 * *scale (when not NULL): each is within (2^(2^-scale) - 1) /
 * (2^(2^-scale) + 1) of the exact quantile, relatively. */
void lumen__summary_read_scale(lumen__summary_state *s, const lumen__family *f, uint64_t *count,
                               double *sum, double *q, int *scale);

#endif
