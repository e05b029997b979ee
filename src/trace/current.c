/*
 * trace/current.c: the current span of each thread. Entering a span makes
 * it the implicit parent of spans started on the thread and writes its ids
 * into the per-thread correlation context (core/tctx.h) that the log and
 * metrics layers read; leaving restores what was there before, saved in
 * the span itself, so enter and leave nest without a separate stack.
 */
#include <string.h>

#include "core/diag.h"
#include "core/tctx.h"
#include "trace/current.h"
#include "trace/pool.h"

LUMEN_TLS lumen_span *lumen__tls_current;

void lumen_span_enter(lumen_span *s)
{
    if (s == NULL || lumen__span_is_noop(s) || s->entered)
        return;
    lumen__tctx *c = lumen__tctx_get();
    s->scope_prev = lumen__tls_current;
    memcpy(s->saved_trace_id, c->trace_id, 16);
    memcpy(s->saved_span_id, c->span_id, 8);
    s->saved_flags = c->trace_flags;
    s->saved_has_span = c->has_span;
    memcpy(c->trace_id, s->trace_id, 16);
    memcpy(c->span_id, s->span_id, 8);
    c->trace_flags = s->flags;
    c->has_span = true;
    s->entered = 1;
    lumen__tls_current = s;
}

void lumen_span_leave(lumen_span *s)
{
    if (s == NULL || lumen__span_is_noop(s) || !s->entered)
        return;
    if (lumen__tls_current != s)
        lumen__diag(LUMEN_DIAG_WARN, "lumen_span_leave out of order or on another thread");
    lumen__tctx *c = lumen__tctx_get();
    memcpy(c->trace_id, s->saved_trace_id, 16);
    memcpy(c->span_id, s->saved_span_id, 8);
    c->trace_flags = s->saved_flags;
    c->has_span = s->saved_has_span;
    lumen__tls_current = s->scope_prev;
    s->entered = 0;
}

lumen_span *lumen_span_current(void)
{
    return lumen__tls_current;
}
