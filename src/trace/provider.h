/*
 * trace/provider.h: tracers and their provider (provider.c): the sampler,
 * span limits, resource and processors every span of a tracer uses.
 */
#ifndef LUMEN_TRACE_PROVIDER_H
#define LUMEN_TRACE_PROVIDER_H

#include "core/common.h"
#include "lumen/trace.h"

#define LUMEN__MAX_PROCESSORS LUMEN_TRACER_PROVIDER_MAX_PROCESSORS

typedef struct lumen__limits {
    uint32_t attrs, value_len, events, links, event_attrs, link_attrs;
} lumen__limits;

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

/* Hand an ended recording span to each processor (one reference each). */
void lumen__provider_on_end(struct lumen_tracer_provider *tp, lumen_span *s);

#endif
