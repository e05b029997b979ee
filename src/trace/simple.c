/*
 * trace/simple.c: the simple processor, which exports each sampled span on
 * the thread that ends it, under a mutex so that exports never overlap.
 * Each export gets the processor's export timeout (its options'
 * export_timeout_ms, LUMEN_DEFAULT_EXPORT_TIMEOUT_MS by default).
 */
#include <pthread.h>

#include "core/alloc.h"
#include "core/versioned.h"
#include "trace/exporter.h"
#include "trace/pool.h"
#include "trace/processor.h"
#include "trace/selfmetrics.h"

typedef struct simple_proc {
    lumen_span_processor base;
    lumen_span_exporter *exp;
    pthread_mutex_t mu;
    bool shut;
    atomic_uint_fast64_t ended, exported, dropped, failed;
} simple_proc;

static void simple_on_end(lumen_span_processor *bp, lumen_span *s)
{
    simple_proc *p = (simple_proc *)bp;
    if (!(s->flags & LUMEN_TRACE_FLAG_SAMPLED)) {
        lumen__span_release(s);
        return;
    }
    atomic_fetch_add_explicit(&p->ended, 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    if (p->shut) {
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_add_explicit(&p->dropped, 1, memory_order_release);
        lumen__trace_metric_add(LUMEN__TM_DROPPED, 1);
        lumen__span_release(s);
        return;
    }
    int r = lumen__exporter_export(p->exp, &s, 1, lumen__deadline(0, bp->export_timeout_ms));
    pthread_mutex_unlock(&p->mu);
    if (r == LUMEN_OK) {
        atomic_fetch_add_explicit(&p->exported, 1, memory_order_release);
        lumen__trace_metric_add(LUMEN__TM_EXPORTED, 1);
    } else {
        atomic_fetch_add_explicit(&p->failed, 1, memory_order_release);
        lumen__trace_metric_add(LUMEN__TM_DROPPED, 1);
        lumen__trace_metric_add(lumen__export_failure_reason(r), 1);
    }
    lumen__span_release(s);
}

static int simple_flush(lumen_span_processor *bp, int64_t dl)
{
    simple_proc *p = (simple_proc *)bp;
    pthread_mutex_lock(&p->mu);
    int rc = p->shut ? LUMEN_ESHUTDOWN : lumen__exporter_flush(p->exp, dl);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int simple_shutdown(lumen_span_processor *bp, int64_t dl)
{
    simple_proc *p = (simple_proc *)bp;
    pthread_mutex_lock(&p->mu);
    int rc = LUMEN_ESHUTDOWN;
    if (!p->shut) {
        p->shut = true;
        lumen__exporter_flush(p->exp, dl);
        rc = lumen__exporter_shutdown(p->exp, dl);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void simple_destroy(lumen_span_processor *bp)
{
    simple_proc *p = (simple_proc *)bp;
    lumen__exporter_destroy(p->exp);
    pthread_mutex_destroy(&p->mu);
    lumen__free(p, sizeof *p);
}

/* The outcomes first, then ended (incremented before each outcome): the
 * span being exported now is the difference, so the sum is exact. */
static void simple_stats(lumen_span_processor *bp, lumen_span_processor_stats *o)
{
    simple_proc *p = (simple_proc *)bp;
    o->exported = atomic_load_explicit(&p->exported, memory_order_acquire);
    o->dropped = atomic_load_explicit(&p->dropped, memory_order_acquire);
    o->failed = atomic_load_explicit(&p->failed, memory_order_acquire);
    o->ended = atomic_load_explicit(&p->ended, memory_order_acquire);
    o->queued = 0;
    o->in_flight = o->ended - o->exported - o->dropped - o->failed;
}

static const size_t options_sizes[] = {0, sizeof(lumen_simple_processor_options)};

int lumen_simple_processor_options_init(lumen_simple_processor_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_simple_processor_new(lumen_span_processor **out, lumen_span_exporter *exp,
                               const lumen_simple_processor_options *opts)
{
    if (out != NULL)
        *out = NULL;
    if (exp == NULL || out == NULL) {
        lumen_span_exporter_free(exp);
        return LUMEN_EINVAL;
    }
    lumen_simple_processor_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes, LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK) {
        lumen_span_exporter_free(exp);
        return rc;
    }
    simple_proc *p = lumen__calloc(1, sizeof *p);
    if (p == NULL) {
        lumen_span_exporter_free(exp);
        return LUMEN_ENOMEM;
    }
    p->base = (lumen_span_processor){
        simple_on_end,
        simple_flush,
        simple_shutdown,
        simple_destroy,
        simple_stats,
        o.export_timeout_ms ? o.export_timeout_ms : LUMEN_DEFAULT_EXPORT_TIMEOUT_MS};
    p->exp = exp;
    pthread_mutex_init(&p->mu, NULL);
    *out = &p->base;
    return LUMEN_OK;
}
