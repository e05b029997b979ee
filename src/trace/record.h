/*
 * trace/span.h: the span record and the internal interfaces of the trace
 * layer (tracers, providers, processors, exporters, the span pool).
 *
 * A span is owned by references: the user holds one from start to end;
 * on end that reference passes to the processors (one each), which release
 * it once they have exported or dropped the span. The last release returns
 * the record to the pool. Every string a recording span keeps lives in the
 * span's own arena (an inline block, then heap chunks), freed in one go
 * when the record is recycled.
 */
#ifndef LUMEN_TRACE_SPAN_H
#define LUMEN_TRACE_SPAN_H

#include <string.h>

#include "core/common.h"
#include "core/clock.h"
#include "core/escape.h"
#include "lumen/trace.h"
#include "trace/span_context.h"

#define LUMEN__SPAN_INLINE_ATTRS 8
#define LUMEN__SPAN_ARENA 640
#define LUMEN__MAX_PROCESSORS LUMEN_TRACER_PROVIDER_MAX_PROCESSORS

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

typedef struct lumen__limits {
    uint32_t attrs, value_len, events, links, event_attrs, link_attrs;
} lumen__limits;

struct lumen_span_processor {
    /* Takes one reference to `s` (an ended, recording span). */
    void (*on_end)(lumen_span_processor *p, lumen_span *s);
    int (*force_flush)(lumen_span_processor *p, int64_t deadline_ns);
    int (*shutdown)(lumen_span_processor *p, int64_t deadline_ns);
    void (*destroy)(lumen_span_processor *p);
    void (*stats)(lumen_span_processor *p, lumen_span_processor_stats *out);
    /* What lumen_span_processor_force_flush(p, 0) waits at most: the
     * processor's export timeout. */
    uint32_t export_timeout_ms;
};

struct lumen_span_exporter {
    lumen_span_exporter_ops ops; /* the caller's entries, in a table of this library's version */
    void *ud;
    atomic_bool shut; /* set by shutdown while the worker may be exporting */
};

struct lumen_tracer {
    struct lumen_tracer_provider *provider;
    struct lumen_tracer *next;
    char *name;
    char *version;
    bool noop;
};

struct lumen_tracer_provider {
    lumen_sampler sampler;
    lumen__limits limits;
    lumen_attr *resource; /* owned strings */
    size_t nresource;
    lumen_span_processor *procs[LUMEN__MAX_PROCESSORS];
    _Atomic int nprocs;
    atomic_bool shut;
    bool disabled;                /* OTEL_SDK_DISABLED: every tracer is a no-op */
    uint32_t shutdown_timeout_ms; /* _free, and _shutdown and _force_flush given 0 */
    struct lumen_tracer *tracers; /* guarded by lock */
    void *lock;                   /* pthread_mutex_t * */
};

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

/* context.c: the calling thread's current span. */
extern LUMEN_TLS lumen_span *lumen__tls_current;

/* span.c: the shared do-nothing span (no tracer, no memory, shut down). */
bool lumen__span_is_noop(const lumen_span *s);

/* pool.c */
lumen_span *lumen__span_alloc(void);
void lumen__span_recycle(lumen_span *s);
void lumen__span_pool_trim(void);
void *lumen__span_arena_alloc(lumen_span *s, size_t n, size_t align);
char *lumen__span_strdup(lumen_span *s, const char *p, size_t n);
char *lumen__span_strdup_repair(lumen_span *s, const char *p, size_t n, size_t *outn);
/* A copy of text the program gave (a name, a key, a value, a description)
 * with invalid UTF-8 repaired to U+FFFD, once, here: every exporter then
 * sees the same valid UTF-8 (protobuf decoders reject anything else).
 * *outn (may be NULL) gets the copy's length. ASCII, the common case, is
 * recognized inline and copied as is. */
static inline char *lumen__span_strdup_text(lumen_span *s, const char *p, size_t n, size_t *outn)
{
    if (LUMEN_LIKELY(lumen__ascii(p, n))) {
        if (outn != NULL)
            *outn = n;
        return lumen__span_strdup(s, p, n);
    }
    return lumen__span_strdup_repair(s, p, n, outn);
}

static inline void lumen__span_retain(lumen_span *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

/* Drop one reference; the last returns the record to the pool. A holder
 * of the only reference skips the read-modify-write: nobody else can add
 * one, since adding needs a reference. */
static inline void lumen__span_release(lumen_span *s)
{
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        lumen__span_recycle(s);
}

/* sampler.c */
lumen_sampling_decision lumen__sample(const lumen_sampler *s, const lumen_span_context *parent,
                                      const uint8_t trace_id[16], const char *name,
                                      lumen_span_kind kind);
int lumen__sampler_from_env(lumen_sampler *out);
bool lumen__ratio_sampled(double ratio, const uint8_t trace_id[16]);

/* attr.c: copying attributes into a span's arena with the limits. */
void lumen__attrs_copy_one(lumen_span *s, lumen_attr *dst, const lumen_attr *src,
                           uint32_t vlen_limit);
/* The key to keep for `key` (*n: its length): key itself when it is
 * valid UTF-8, else a repaired copy in the span's arena (*copied set).
 * NULL when out of memory. */
const char *lumen__attr_key_repair(lumen_span *s, const char *key, size_t *n, bool *copied);
static inline const char *lumen__attr_key(lumen_span *s, const char *key, size_t *n, bool *copied)
{
    *n = strlen(key);
    *copied = false;
    if (LUMEN_LIKELY(lumen__ascii(key, *n)))
        return key;
    return lumen__attr_key_repair(s, key, n, copied);
}
lumen_attr *lumen__attrs_copy_list(lumen_span *s, const lumen_attr *src, size_t n, uint32_t limit,
                                   uint32_t vlen_limit, uint32_t *kept, uint32_t *dropped);

/* provider.c */
void lumen__provider_on_end(struct lumen_tracer_provider *tp, lumen_span *s);
int lumen__resource_parse(const char *s, lumen_attr **out, size_t *n);
void lumen__resource_free(lumen_attr *a, size_t n);

/* batch.c: whether a batch processor's worker sleeps waiting for spans
 * (tests use it instead of sleeping themselves). */
bool lumen__batch_worker_asleep(lumen_span_processor *p);

/* exporter.c */
/* LUMEN_OK or the exporter's negative status (LUMEN_ESHUTDOWN without a
 * call once the exporter is shut down; a positive status is reported once
 * and becomes LUMEN_EINVAL). */
int lumen__exporter_export(lumen_span_exporter *e, lumen_span *const *spans, size_t n,
                           int64_t deadline_ns);
int lumen__exporter_flush(lumen_span_exporter *e, int64_t deadline_ns);
int lumen__exporter_shutdown(lumen_span_exporter *e, int64_t deadline_ns);
void lumen__exporter_destroy(lumen_span_exporter *e);

/* selfmetrics.c: the trace layer's counters, in the default metrics
 * registry once the metrics layer exists. */
typedef enum {
    LUMEN__TM_STARTED,
    LUMEN__TM_ENDED,
    LUMEN__TM_DROPPED,
    LUMEN__TM_EXPORTED,
    LUMEN__TM_FAIL_TIMEOUT,
    LUMEN__TM_FAIL_HTTP,
    LUMEN__TM_FAIL_CONNECT,
    LUMEN__TM_FAIL_OTHER,
    LUMEN__TM_BAGGAGE_INVALID,    /* incoming baggage members skipped: invalid */
    LUMEN__TM_BAGGAGE_LIMIT,      /* ... dropped: past 180 members or 8192 bytes */
    LUMEN__TM_TRACESTATE_INVALID, /* tracestate lists discarded: invalid */
    LUMEN__TM_TRACESTATE_LIMIT,   /* tracestate members cut: past 512 characters */
    LUMEN__TM_COUNT
} lumen__trace_metric;
/* Add to a shared counter, with release order: a scrape that reads the
 * counter (acquire) then sees every span end that led to the addition. */
void lumen__trace_metric_add(lumen__trace_metric m, uint64_t n);
/* Started and ended spans are counted in per-thread cells that only their
 * thread writes (a load and a store, no locked instruction) and that a
 * scrape sums, so the totals never lag behind what the processors count. */
typedef struct lumen__tm_cell {
    atomic_uint_fast64_t n[2]; /* LUMEN__TM_STARTED, LUMEN__TM_ENDED */
    atomic_bool owned;         /* a live thread writes this cell */
    struct lumen__tm_cell *next;
} lumen__tm_cell;
extern LUMEN_TLS lumen__tm_cell *lumen__tm_mine;
void lumen__trace_metric_inc_slow(unsigned which);
/* Count a started or ended span (which: LUMEN__TM_STARTED or _ENDED). */
static inline void lumen__trace_metric_inc_local(unsigned which)
{
    lumen__tm_cell *c = lumen__tm_mine;
    if (LUMEN_UNLIKELY(c == NULL)) {
        lumen__trace_metric_inc_slow(which);
        return;
    }
    /* Only this thread writes the cell: no read-modify-write needed.
     * Release: a scrape that reads this count (acquire) also sees the
     * counts this span's start made before it, on any thread. */
    uint64_t v = atomic_load_explicit(&c->n[which], memory_order_relaxed);
    atomic_store_explicit(&c->n[which], v + 1, memory_order_release);
}
uint64_t lumen__trace_metric_get(lumen__trace_metric m);
/* Publish the counters in the default metrics registry (once). */
void lumen__trace_metrics_register(void);

/* The counter a failed export's status goes to (lumen_span_exporter_ops). */
lumen__trace_metric lumen__export_failure_reason(int rc);

/* The absolute deadline on the monotonic clock (lumen__mono_ns,
 * lumen_monotonic_ns) of a `timeout_ms` argument: 0 takes `def_ms`,
 * LUMEN_WAIT_FOREVER gives 0, no deadline. Every deadline of the trace
 * layer is on that clock. */
static inline int64_t lumen__deadline(uint32_t timeout_ms, uint32_t def_ms)
{
    if (timeout_ms == 0)
        timeout_ms = def_ms;
    return timeout_ms == LUMEN_WAIT_FOREVER || timeout_ms == 0
               ? 0
               : lumen__mono_ns() + (int64_t)timeout_ms * 1000000;
}

#endif
