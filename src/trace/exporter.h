/*
 * trace/exporter.h: an exporter as the processors hold it (exporter.c):
 * the caller's table of entries, its user data, and whether it is shut
 * down. Processors serialise their calls into one exporter.
 */
#ifndef LUMEN_TRACE_EXPORTER_H
#define LUMEN_TRACE_EXPORTER_H

#include "core/common.h"
#include "lumen/trace.h"
#include "trace/selfmetrics.h"

struct lumen_span_exporter {
    lumen_span_exporter_ops ops; /* the caller's entries, in a table of this library's version */
    void *ud;
    atomic_bool shut; /* set by shutdown while the worker may be exporting */
};

/* LUMEN_OK or the exporter's negative status (LUMEN_ESHUTDOWN without a
 * call once the exporter is shut down; a positive status is reported once
 * and becomes LUMEN_EINVAL). */
int lumen__exporter_export(lumen_span_exporter *e, lumen_span *const *spans, size_t n,
                           int64_t deadline_ns);
int lumen__exporter_flush(lumen_span_exporter *e, int64_t deadline_ns);
int lumen__exporter_shutdown(lumen_span_exporter *e, int64_t deadline_ns);
void lumen__exporter_destroy(lumen_span_exporter *e);

/* The counter a failed export's status goes to (lumen_span_exporter_ops). */
lumen__trace_metric lumen__export_failure_reason(int rc);

#endif
