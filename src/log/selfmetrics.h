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

/* The batch handlers' records (otel_batch.c): the families
 * lumen_log_records_exported_total and lumen_log_records_dropped_total
 * {reason}, created by the first batch handler. */
enum {
    LUMEN__LOG_DROP_QUEUE_FULL = 0,
    LUMEN__LOG_DROP_EXPORT_FAILURE = 1,
    LUMEN__LOG_DROP_SHUTDOWN = 2
};
void lumen__log_records_metrics_init(void);
void lumen__log_count_records_exported(uint64_t n);
void lumen__log_count_record_drop(int reason, uint64_t n);

#endif
