/*
 * core/tctx.h: the per-thread correlation context that ties the signals
 * together. The trace layer writes the current span's ids here when a span
 * becomes current on a thread and restores the previous ones when it stops
 * being current; the log layer stamps them on every line; the metrics
 * layer reads them for automatic exemplars. A program may set its own
 * request id (lumen_log_set_request_id) which the log layer stamps too.
 *
 * Only the owning thread reads or writes its context, so plain loads and
 * stores suffice.
 */
#ifndef LUMEN_CORE_TCTX_H
#define LUMEN_CORE_TCTX_H

#include "core/common.h"

#define LUMEN__REQUEST_ID_MAX LUMEN_LOG_REQUEST_ID_MAX

typedef struct lumen__tctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags; /* bit 0: sampled */
    bool has_span;       /* trace_id/span_id are valid */
    uint8_t request_id_len;
    char request_id[LUMEN__REQUEST_ID_MAX + 1];
} lumen__tctx;

extern LUMEN_TLS lumen__tctx lumen__tctx_tls;

static inline lumen__tctx *lumen__tctx_get(void)
{
    return &lumen__tctx_tls;
}

/* The process id that every log line of this process carries as a "pid"
 * field, or 0 for none. A process of a pre-forked family sets it
 * (metrics/prefork.c, again in each child of fork()), so that its
 * workers' lines can be told apart in one stream. */
extern _Atomic int32_t lumen__tctx_pid;

#endif
