/*
 * metrics/process.h: the standard process_* metrics, read from /proc at
 * scrape time (process.c). Registering the collector is registry.c's
 * (lumen_process_collector_add).
 */
#ifndef LUMEN_METRICS_PROCESS_H
#define LUMEN_METRICS_PROCESS_H

#include "core/common.h"
#include "lumen/metrics.h"

/* The collect function: every family it may write is in
 * lumen__process_names. */
int lumen__process_collect(lumen_collect_sink *s, void *ud);
extern LUMEN__HIDDEN const char *const lumen__process_names[];
extern LUMEN__HIDDEN const size_t lumen__process_name_count;

#endif
