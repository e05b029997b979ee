/*
 * trace/exporter.c: the exporter interface, and the in-memory and console
 * exporters. Processors serialise calls into an exporter, so the exporter
 * callbacks run one at a time; the memory exporter still locks because
 * tests read it from other threads.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "otlp/otlp.h"
#include "trace/span.h"

int lumen_span_exporter_new(const lumen_span_exporter_ops *ops, void *ud, lumen_span_exporter **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (ops == NULL || ops->export_spans == NULL)
        return LUMEN_EINVAL;
    lumen_span_exporter *e = lumen__calloc(1, sizeof *e);
    if (e == NULL)
        return LUMEN_ENOMEM;
    e->ops = *ops;
    e->ud = ud;
    *out = e;
    return LUMEN_OK;
}

lumen_export_result lumen__exporter_export(lumen_span_exporter *e, lumen_span *const *spans, size_t n,
                                           int64_t deadline_ns)
{
    if (atomic_load_explicit(&e->shut, memory_order_acquire))
        return LUMEN_EXPORT_FAILURE;
    return e->ops.export_spans(e->ud, (const lumen_span *const *)spans, n, deadline_ns);
}

int lumen__exporter_flush(lumen_span_exporter *e, int64_t deadline_ns)
{
    return e->ops.force_flush && !atomic_load(&e->shut) ? e->ops.force_flush(e->ud, deadline_ns) : LUMEN_OK;
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

static lumen_export_result mem_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
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
            return LUMEN_EXPORT_FAILURE;
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
    return LUMEN_EXPORT_SUCCESS;
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

int lumen_memory_exporter_new(lumen_span_exporter **out)
{
    static const lumen_span_exporter_ops ops = {mem_export, NULL, NULL, mem_destroy};
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    mem_exp *m = lumen__calloc(1, sizeof *m);
    if (m == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&m->mu, NULL);
    int rc = lumen_span_exporter_new(&ops, m, out);
    if (rc != LUMEN_OK) {
        pthread_mutex_destroy(&m->mu);
        lumen__free(m, sizeof *m);
        return rc;
    }
    (*out)->kind = LUMEN__EXP_MEMORY;
    return LUMEN_OK;
}

size_t lumen_memory_exporter_count(lumen_span_exporter *e)
{
    if (e == NULL || e->kind != LUMEN__EXP_MEMORY)
        return 0;
    mem_exp *m = e->ud;
    pthread_mutex_lock(&m->mu);
    size_t n = m->n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const lumen_span *lumen_memory_exporter_get(lumen_span_exporter *e, size_t i)
{
    if (e == NULL || e->kind != LUMEN__EXP_MEMORY)
        return NULL;
    mem_exp *m = e->ud;
    pthread_mutex_lock(&m->mu);
    const lumen_span *s = i < m->n ? m->spans[i] : NULL;
    pthread_mutex_unlock(&m->mu);
    return s;
}

void lumen_memory_exporter_reset(lumen_span_exporter *e)
{
    if (e == NULL || e->kind != LUMEN__EXP_MEMORY)
        return;
    mem_exp *m = e->ud;
    pthread_mutex_lock(&m->mu);
    mem_reset_locked(m);
    pthread_mutex_unlock(&m->mu);
}

/* ---- console exporter ---- */

typedef struct con_exp {
    int fd;
    lumen__buf buf;
} con_exp;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return LUMEN_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return LUMEN_OK;
}

static lumen_export_result con_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    con_exp *c = ud;
    (void)dl;
    c->buf.len = 0;
    c->buf.oom = false;
    for (size_t i = 0; i < n; i++) {
        lumen__otlp_json_span_line(&c->buf, spans[i]);
        lumen__buf_putc(&c->buf, '\n');
    }
    if (c->buf.oom)
        return LUMEN_EXPORT_FAILURE;
    /* Whole lines in one write where the pipe allows it. */
    return write_all(c->fd, c->buf.p, c->buf.len) == LUMEN_OK ? LUMEN_EXPORT_SUCCESS
                                                            : LUMEN_EXPORT_FAILURE;
}

static void con_destroy(void *ud)
{
    con_exp *c = ud;
    lumen__buf_free(&c->buf);
    lumen__free(c, sizeof *c);
}

int lumen_console_exporter_new(const lumen_console_exporter_options *opts, lumen_span_exporter **out)
{
    static const lumen_span_exporter_ops ops = {con_export, NULL, NULL, con_destroy};
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    con_exp *c = lumen__calloc(1, sizeof *c);
    if (c == NULL)
        return LUMEN_ENOMEM;
    c->fd = opts != NULL && opts->fd >= 0 ? opts->fd : 1;
    c->buf = (lumen__buf)LUMEN__BUF_INIT;
    int rc = lumen_span_exporter_new(&ops, c, out);
    if (rc != LUMEN_OK) {
        lumen__free(c, sizeof *c);
        return rc;
    }
    (*out)->kind = LUMEN__EXP_CONSOLE;
    return LUMEN_OK;
}
