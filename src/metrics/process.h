/*
 * metrics/process.h: the standard process_* metrics, read from /proc at
 * scrape time by a collector.
 */
#ifndef LUMEN_METRICS_PROCESS_H
#define LUMEN_METRICS_PROCESS_H

#include "core/common.h"
#include "lumen/metrics.h"

/* The default registry's hook: registers the process collector unless the
 * environment says LUMEN_PROCESS_METRICS=false. Called once, when the
 * default registry is created. */
void lumen__process_collector_add_default(lumen_registry *reg);

#endif
