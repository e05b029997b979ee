/*
 * metrics/exemplar.h: exemplar slots of counters and histogram buckets
 * (exemplar.c).
 */
#ifndef LUMEN_METRICS_EXEMPLAR_H
#define LUMEN_METRICS_EXEMPLAR_H

#include "metrics/internal.h"

void lumen__exemplar_record(_Atomic(lumen__exemplar *) *slot, double v, const lumen_label *labels,
                            size_t n);
void lumen__exemplar_from_trace(_Atomic(lumen__exemplar *) *slot, double v);
/* Copy the exemplar out under its lock; false when none. */
bool lumen__exemplar_read(_Atomic(lumen__exemplar *) *slot, lumen__exemplar *out);
void lumen__exemplar_free(_Atomic(lumen__exemplar *) *slot);

#endif
