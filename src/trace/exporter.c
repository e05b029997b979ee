/*
 * trace/exporter.c: the exporter interface and the in-memory exporter (the
 * console exporter, which writes OTLP/JSON, is otlp/console_exporter.c). Processors serialise calls
 * into an exporter, so the exporter callbacks run one at a time; the memory exporter still locks
 * because tests read it from other threads. An exporter is recognised by its export function
 * (lumen_span_exporter_user_data), never by a tag.
 */
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/versioned.h"
#include "trace/exporter.h"
#include "trace/pool.h"

static const size_t ops_sizes[] = {0, sizeof(lumen_span_exporter_ops)};

int lumen_span_exporter_ops_init(lumen_span_exporter_ops *ops, unsigned int version)
{
    return lumen__versioned_init(ops, version, ops_sizes, LUMEN__VERSIONS(ops_sizes));
}

int lumen_span_exporter_new(lumen_span_exporter **out, const lumen_span_exporter_ops *ops, void *ud)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (ops == NULL)
        return LUMEN_EINVAL;
    /* The caller's version's entries, into a zeroed table of this
     * library's size: entries a newer version adds stay NULL. */
    lumen_span_exporter_ops full;
    int rc = lumen__versioned_in(&full, sizeof full, ops, ops_sizes, LUMEN__VERSIONS(ops_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (full.export_spans == NULL)
        return LUMEN_EINVAL;
    lumen_span_exporter *e = lumen__calloc(1, sizeof *e);
    if (e == NULL)
        return LUMEN_ENOMEM;
    e->ops = full;
    e->ud = ud;
    *out = e;
    return LUMEN_OK;
}

int lumen_span_exporter_user_data(void **out, const lumen_span_exporter *exp,
                                  lumen_span_export_fn export_spans)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (exp == NULL || export_spans == NULL)
        return LUMEN_EINVAL;
    if (exp->ops.export_spans != export_spans)
        return LUMEN_ETYPE;
    *out = exp->ud;
    return LUMEN_OK;
}

int lumen__exporter_export(lumen_span_exporter *e, lumen_span *const *spans, size_t n,
                           int64_t deadline_ns)
{
    if (atomic_load_explicit(&e->shut, memory_order_acquire))
        return LUMEN_ESHUTDOWN;
    int rc = e->ops.export_spans(e->ud, (const lumen_span *const *)spans, n, deadline_ns);
    if (LUMEN_UNLIKELY(rc > 0)) {
        lumen__diag(LUMEN_DIAG_ERROR,
                    "a span exporter returned %d, not a lumen status; counted as LUMEN_EINVAL", rc);
        rc = LUMEN_EINVAL;
    }
    return rc;
}

lumen__trace_metric lumen__export_failure_reason(int rc)
{
    switch (rc) {
    case LUMEN_ETIMEDOUT:
        return LUMEN__TM_FAIL_TIMEOUT;
    case LUMEN_EHTTP:
        return LUMEN__TM_FAIL_HTTP;
    case LUMEN_ECONNREFUSED:
    case LUMEN_ECONNECT:
    case LUMEN_ETLS:
        return LUMEN__TM_FAIL_CONNECT;
    default:
        return LUMEN__TM_FAIL_OTHER;
    }
}

int lumen__exporter_flush(lumen_span_exporter *e, int64_t deadline_ns)
{
    return e->ops.force_flush && !atomic_load(&e->shut) ? e->ops.force_flush(e->ud, deadline_ns)
                                                        : LUMEN_OK;
}

int lumen__exporter_shutdown(lumen_span_exporter *e, int64_t deadline_ns)
{
    if (atomic_exchange(&e->shut, true))
        return LUMEN_ESHUTDOWN;
    return e->ops.shutdown ? e->ops.shutdown(e->ud, deadline_ns) : LUMEN_OK;
}

void lumen__exporter_destroy(lumen_span_exporter *e)
{
    if (e == NULL)
        return;
    if (e->ops.destroy)
        e->ops.destroy(e->ud);
    lumen__free(e, sizeof *e);
}

void lumen_span_exporter_free(lumen_span_exporter *e)
{
    if (e == NULL)
        return;
    if (!atomic_load(&e->shut))
        lumen__exporter_shutdown(e, 0);
    lumen__exporter_destroy(e);
}

/* ---- in-memory exporter ---- */

typedef struct mem_exp {
    pthread_mutex_t mu;
    lumen_span **spans;
    size_t n, cap;
} mem_exp;

static int mem_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    mem_exp *m = ud;
    (void)dl;
    pthread_mutex_lock(&m->mu);
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while (cap < m->n + n)
            cap *= 2;
        lumen_span **ns = lumen__realloc(m->spans, m->cap * sizeof *ns, cap * sizeof *ns);
        if (ns == NULL) {
            pthread_mutex_unlock(&m->mu);
            return LUMEN_ENOMEM;
        }
        m->spans = ns;
        m->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        lumen_span *s = (lumen_span *)spans[i];
        lumen__span_retain(s);
        m->spans[m->n++] = s;
    }
    pthread_mutex_unlock(&m->mu);
    return LUMEN_OK;
}

static void mem_reset_locked(mem_exp *m)
{
    for (size_t i = 0; i < m->n; i++)
        lumen__span_release(m->spans[i]);
    m->n = 0;
}

static void mem_destroy(void *ud)
{
    mem_exp *m = ud;
    mem_reset_locked(m);
    lumen__free(m->spans, m->cap * sizeof *m->spans);
    pthread_mutex_destroy(&m->mu);
    lumen__free(m, sizeof *m);
}

/* The memory exporter's state, or NULL when `e` is another exporter. */
static mem_exp *mem_of(const lumen_span_exporter *e)
{
    void *ud;
    return lumen_span_exporter_user_data(&ud, e, mem_export) == LUMEN_OK ? ud : NULL;
}

int lumen_memory_exporter_new(lumen_span_exporter **out)
{
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = mem_export;
    ops.destroy = mem_destroy;
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    mem_exp *m = lumen__calloc(1, sizeof *m);
    if (m == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    int rc = lumen_span_exporter_new(out, &ops, m);
    if (rc != LUMEN_OK) {
        pthread_mutex_destroy(&m->mu);
        lumen__free(m, sizeof *m);
        return rc;
    }
    return LUMEN_OK;
}

size_t lumen_memory_exporter_count(lumen_span_exporter *e)
{
    mem_exp *m = mem_of(e);
    if (m == NULL)
        return 0;
    pthread_mutex_lock(&m->mu);
    size_t n = m->n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const lumen_span *lumen_memory_exporter_get(lumen_span_exporter *e, size_t i)
{
    mem_exp *m = mem_of(e);
    if (m == NULL)
        return NULL;
    pthread_mutex_lock(&m->mu);
    const lumen_span *s = i < m->n ? m->spans[i] : NULL;
    pthread_mutex_unlock(&m->mu);
    return s;
}

void lumen_memory_exporter_reset(lumen_span_exporter *e)
{
    mem_exp *m = mem_of(e);
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    mem_reset_locked(m);
    pthread_mutex_unlock(&m->mu);
}
