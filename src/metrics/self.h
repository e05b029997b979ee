/*
 * metrics/self.h: where the log and trace layers register their own
 * families (lumen_self_metrics_configure). The only internal header of the
 * metrics layer that the layers above it include.
 */
#ifndef LUMEN_METRICS_SELF_H
#define LUMEN_METRICS_SELF_H

#include "core/common.h"
#include "lumen/metrics.h"

typedef enum lumen__self_group {
    LUMEN__SELF_LOG = 0,  /* lumen_log_events_total, lumen_log_dropped_total */
    LUMEN__SELF_TRACE = 1 /* lumen_trace_* */
} lumen__self_group;

/*
 * The registry the group's families go in (the default registry's own
 * handle when the program chose none), or NULL when they are off. The
 * first call for a group fixes its choice: lumen_self_metrics_configure
 * then refuses to change it. Thread-safe.
 */
lumen_registry *lumen__self_metrics_registry(lumen__self_group group);

/*
 * Report, once per group, that the group's family `name` could not be
 * registered (`rc`, usually LUMEN_EEXIST: the program has a family of
 * that name); the caller then leaves the group off.
 */
void lumen__self_metrics_refused(lumen__self_group group, const char *name, int rc);

#endif
