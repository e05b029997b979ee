/*
 * trace/record.h: the span record, what a span keeps from start to end:
 * ids, name, times, attributes, events, links, the scope it replaced, and
 * the arena its strings live in. The pool (pool.h) owns the records; the
 * OTLP encoders and the exporters read them.
 *
 * A span is owned by references: the user holds one from start to end;
 * on end that reference passes to the processors (one each), which release
 * it once they have exported or dropped the span. The last release returns
 * the record to the pool. Every string a recording span keeps lives in the
 * span's own arena (an inline block, then heap chunks), freed in one go
 * when the record is recycled.
 */
#ifndef LUMEN_TRACE_RECORD_H
#define LUMEN_TRACE_RECORD_H

#include "core/common.h"
#include "lumen/trace.h"

#define LUMEN__SPAN_INLINE_ATTRS 12
#define LUMEN__SPAN_ARENA 640

typedef struct lumen__event {
    const char *name;
    int64_t time_ns;
    lumen_attr *attrs;
    uint32_t nattrs;
    uint32_t dropped;
} lumen__event;

typedef struct lumen__link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
    const char *trace_state;
    lumen_attr *attrs;
    uint32_t nattrs;
    uint32_t dropped;
} lumen__link;

struct lumen_span {
    struct lumen_span *next; /* pool and exporter chains */
    struct lumen_tracer *tracer;
    atomic_int refs;
    uint8_t recording; /* records attributes, reaches processors */
    uint8_t ended;
    uint8_t has_parent;
    uint8_t kind;
    uint8_t status;
    uint8_t flags;
    uint8_t dropped_warned;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint16_t trace_state_len;
    const char *trace_state;
    const char *name;
    const char *status_msg;
    int64_t start_ns, end_ns;

    lumen_attr *attrs;
    uint32_t nattrs, attrs_cap, dropped_attrs;
    lumen__event *events;
    uint32_t nevents, events_cap, dropped_events;
    lumen__link *links;
    uint32_t nlinks, links_cap, dropped_links;

    /* Scope: what was current before lumen_span_enter. */
    struct lumen_span *scope_prev;
    uint8_t saved_trace_id[16];
    uint8_t saved_span_id[8];
    uint8_t saved_flags;
    uint8_t saved_has_span;
    uint8_t entered;

    /* Arena. */
    char *arena_p;
    size_t arena_left;
    void *chunks; /* heap chunks, each starting with a next pointer */
    lumen_attr attrs_inline[LUMEN__SPAN_INLINE_ATTRS];
    char arena[LUMEN__SPAN_ARENA];
};

#endif
