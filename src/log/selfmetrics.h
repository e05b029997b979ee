/*
 * log/selfmetrics.h: counting the layer's records and drops (selfmetrics.c),
 * in lumen_log_dropped and in the families lumen_self_metrics_configure
 * places.
 */
#ifndef LUMEN_LOG_SELFMETRICS_H
#define LUMEN_LOG_SELFMETRICS_H

#include "core/common.h"

/* One record emitted at `level` (a named level): one counter increment. */
void lumen__log_count_event(int level);
/* n lines lost (a full queue, a failed write, no memory). */
void lumen__log_count_drop(uint64_t n);

#endif
