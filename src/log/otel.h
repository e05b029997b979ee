/*
 * log/otel.h: log records kept for exporters (otel.c) and the batch
 * handler that queues them for an exporter (otel_batch.c). The OTLP
 * encoders (src/otlp) read struct lumen_log_record directly.
 */
#ifndef LUMEN_LOG_OTEL_H
#define LUMEN_LOG_OTEL_H

#include "core/common.h"
#include "log/types.h"
#include "lumen/log.h"

/* A copy of one record in one allocation: the struct, its fields, then
 * every string it points to (keys and values, UTF-8 repaired). */
struct lumen_log_record {
    int level;
    int64_t ts_ns;
    const lumen_logger *scope; /* the named logger (lives for the process) */
    const char *msg;
    size_t msg_len;
    lumen_field *f;
    size_t n;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;
    bool has_span;
    size_t bytes; /* allocation size; 0: it lives in a queue slot */
};

struct lumen_log_exporter {
    lumen_log_exporter_ops ops;
    void *ud;
    atomic_bool shut;
};

/* The size of a record's copy, and lumen's own fields it adds. */
#define LUMEN__LOG_PLAN_KEYS 48
typedef struct lumen__log_plan {
    lumen_field extra[5];
    size_t nx;
    /* Key lengths of the first fields when the quick bound was taken (255:
     * measure again): the copy does not strlen them twice. */
    uint8_t klen[LUMEN__LOG_PLAN_KEYS];
    size_t fits;  /* in: a size the caller can hold (an upper bound is then enough) */
    size_t bytes; /* out: the copy's size (or a bound <= fits), a multiple of 16 */
} lumen__log_plan;

/* `source`: add the call site as code.* fields. */
void lumen__log_record_plan(lumen__log_plan *p, const lumen__log_rec *r, bool source);
/* Write the copy of r into mem (p->bytes, 16-byte aligned); `heap` says it
 * was allocated for it (lumen__log_record_free then frees it). */
lumen_log_record *lumen__log_record_write(void *mem, bool heap, const lumen__log_plan *p,
                                          const lumen__log_rec *r);
/* Free a record written to the heap; a record in a slot is left alone. */
void lumen__log_record_free(lumen_log_record *rec);

/* The exporter's calls; export returns LUMEN_ESHUTDOWN once shut down. */
int lumen__log_exporter_export(lumen_log_exporter *e, const lumen_log_record *const *recs, size_t n,
                               int64_t deadline_ns);
int lumen__log_exporter_shutdown(lumen_log_exporter *e, int64_t deadline_ns);

/* One record handed to a batch handler, from the logging thread: copied
 * and queued, or dropped and counted. Never blocks. */
void lumen__log_otel_put(lumen__log_otel *q, const lumen__log_rec *r);
/* Export what every batch handler holds, by the monotonic deadline; false
 * when some were still queued then. */
bool lumen__log_otel_flush_all(int64_t deadline_ns);
/* Flush within the deadline, then stop every batch handler's worker:
 * records still queued, and those that come later, are dropped and
 * counted (reason="shutdown"). */
void lumen__log_otel_stop_all(int64_t deadline_ns);

/* Keep h on handler.c's list of every handler (handler.c). */
void lumen__log_handler_keep(lumen_log_handler *h);

#endif
