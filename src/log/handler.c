/*
 * log/emit.c: handlers and the path of one record: level check, stamping
 * (time, trace context, request id), formatting once per handler into the
 * thread's scratch buffer, and delivery to the handler's batch, queue,
 * callback or sink. Also flush, shutdown and the request-id setter.
 *
 * Invariant: the hot path takes no lock of its own (a sync handler's batch
 * takes its thread's own, uncontended lock) and allocates only when the
 * thread's scratch buffer must grow for an unusually long line.
 */
#include "log/log_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fastclock.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"

static _Atomic(lumen_log_handler *) handlers_all;
static _Atomic uint64_t dropped;

lumen_log_handler *lumen__log_handlers_all(void)
{
    return atomic_load_explicit(&handlers_all, memory_order_acquire);
}

uint64_t lumen_log_dropped(void)
{
    return atomic_load_explicit(&dropped, memory_order_relaxed);
}

void lumen__log_count_drop(uint64_t n)
{
    atomic_fetch_add_explicit(&dropped, n, memory_order_relaxed);
    lumen__log_metrics_dropped(n);
}

/* ---- handlers ----------------------------------------------------------- */

/* LUMEN_LOG_FORMAT: json, logfmt, text, or a JSON preset (otel, ecs). */
static void env_format(int *format, int *preset)
{
    const char *v = lumen__env("LUMEN_LOG_FORMAT");
    if (v == NULL)
        return;
    size_t n = strlen(v);
    if (lumen__strieq(v, n, "json"))
        *format = LUMEN_LOG_FORMAT_JSON;
    else if (lumen__strieq(v, n, "logfmt"))
        *format = LUMEN_LOG_FORMAT_LOGFMT;
    else if (lumen__strieq(v, n, "text"))
        *format = LUMEN_LOG_FORMAT_TEXT;
    else if (lumen__strieq(v, n, "otel")) {
        *format = LUMEN_LOG_FORMAT_JSON;
        *preset = LUMEN_LOG_PRESET_OTEL;
    } else if (lumen__strieq(v, n, "ecs")) {
        *format = LUMEN_LOG_FORMAT_JSON;
        *preset = LUMEN_LOG_PRESET_ECS;
    } else
        lumen__env_invalid("LUMEN_LOG_FORMAT", v,
                           "expected json, logfmt, text, otel or ecs; using %s",
                           *format == LUMEN_LOG_FORMAT_TEXT ? "text (a terminal)" : "json");
}

static const size_t options_sizes[] = {0, sizeof(lumen_log_handler_options)};

int lumen_log_handler_options_init(lumen_log_handler_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_log_handler_new(lumen_log_handler **out, const lumen_log_handler_options *opts)
{
    lumen_log_handler_options full;
    const lumen_log_handler_options *o = &full;
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    int vrc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    if (o->format < LUMEN_LOG_FORMAT_AUTO || o->format > LUMEN_LOG_FORMAT_TEXT ||
        o->preset < LUMEN_LOG_PRESET_LUMEN || o->preset > LUMEN_LOG_PRESET_ECS ||
        o->sink < LUMEN_LOG_SINK_STDOUT || o->sink > LUMEN_LOG_SINK_SYSLOG ||
        (o->sink == LUMEN_LOG_SINK_FD && o->fd < 0) ||
        (o->sink == LUMEN_LOG_SINK_FILE && o->path == NULL) ||
        (o->sink == LUMEN_LOG_SINK_CALLBACK && o->callback == NULL) ||
        (o->overflow != LUMEN_LOG_OVERFLOW_DROP && o->overflow != LUMEN_LOG_OVERFLOW_BLOCK) ||
        o->level < 0 || o->level > LUMEN_LOG_OFF)
        return LUMEN_EINVAL;
    lumen_log_handler *h = lumen__calloc(1, sizeof *h);
    if (h == NULL)
        return LUMEN_ENOMEM;
    int rc = LUMEN_OK;
    if (o->flags & LUMEN_LOG_ASYNC)
        rc = lumen__log_async_new(&h->async, h, o);
    /* The sink comes last: once open, a file sink is on the reopen list
     * for good. */
    if (rc == LUMEN_OK)
        rc = lumen__log_sink_open(&h->sink, o);
    if (rc != LUMEN_OK) {
        lumen__log_async_free(h->async);
        lumen__free(h, sizeof *h);
        return rc;
    }
    h->level = o->level;
    h->flags = o->flags;
    h->format = o->format;
    h->preset = o->preset;
    if (h->format == LUMEN_LOG_FORMAT_AUTO) {
        h->format = h->sink->is_tty ? LUMEN_LOG_FORMAT_TEXT : LUMEN_LOG_FORMAT_JSON;
        env_format(&h->format, &h->preset);
    }
    h->color = h->format == LUMEN_LOG_FORMAT_TEXT && !(o->flags & LUMEN_LOG_NO_COLOR) &&
               ((o->flags & LUMEN_LOG_COLOR) || (h->sink->is_tty && getenv("NO_COLOR") == NULL));
    lumen__log_frags(h);
    h->max_value =
        o->max_value_bytes > 0 ? o->max_value_bytes : (size_t)LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES;
    h->flush_interval_ns =
        (o->flush_interval_ms > 0 ? o->flush_interval_ms : LUMEN_LOG_DEFAULT_FLUSH_INTERVAL_MS) *
        1000000LL;
    /* A terminal gets every line at once; batching is for pipes and files. */
    h->batch = !(o->flags & LUMEN_LOG_UNBUFFERED) && h->sink->cb == NULL && !h->sink->is_tty;
    h->format_in_batch = h->batch && h->async == NULL;
    if (h->async != NULL)
        lumen__log_async_publish(h->async);
    /* Publish last, so that fork handlers see complete handlers only. */
    lumen_log_handler *head = atomic_load(&handlers_all);
    do {
        h->next_all = head;
    } while (!atomic_compare_exchange_weak(&handlers_all, &head, h));
    *out = h;
    return LUMEN_OK;
}

/* ---- delivery ----------------------------------------------------------------- */

void lumen__log_deliver(lumen_log_handler *h, int level, const char *line, size_t n)
{
    bool shut = atomic_load_explicit(&lumen__log_shut, memory_order_relaxed);
    if (h->async != NULL && !shut) {
        lumen__log_async_put(h->async, level, line, n);
    } else if (h->sink->cb != NULL) {
        h->sink->cb((lumen_log_level)level, line, n, h->sink->cb_ud);
    } else if (h->batch && !shut) {
        lumen__log_batch_add(h, level, line, n);
    } else if (!lumen__log_sink_write(h->sink, line, n)) {
        lumen__log_count_drop(1);
    }
}

/* Round an arbitrary severity number down to its named level. */
static int canonical_level(int level)
{
    if (level < LUMEN_LOG_TRACE)
        return LUMEN_LOG_TRACE;
    if (level >= LUMEN_LOG_FATAL)
        return LUMEN_LOG_FATAL;
    return ((level - 1) / 4) * 4 + 1;
}

void lumen_log_write(lumen_logger *lg, lumen_log_level level, const lumen_log_src *src,
                     const char *msg, const lumen_field *fields, size_t n, uint64_t suppressed)
{
    if (lg == NULL || !LUMEN_LOG_ENABLED(lg, level))
        return;
    int lvl = canonical_level((int)level);
    lumen__log_hset *set = atomic_load_explicit(&lg->eff, memory_order_acquire);
    int eff = atomic_load_explicit(&lg->eff_level, memory_order_relaxed);
    if (set == NULL || lvl < eff)
        return;
    if (fields == NULL)
        n = 0;
    lumen__log_rec r;
    r.level = lvl;
    r.ts_ns = lumen__now_fast();
    r.lg = lg;
    r.src = src;
    r.msg = msg != NULL ? msg : "";
    r.msg_len = strlen(r.msg);
    r.f = fields;
    r.n = n;
    r.suppressed = suppressed;
    r.ctx = lumen__tctx_get();
    lumen__log_metrics_event(lvl);
    lumen__buf *b = NULL; /* the thread's scratch buffer, when a line needs it */
    for (size_t i = 0; i < set->n; i++) {
        lumen_log_handler *h = set->h[i];
        if (lvl < h->level)
            continue;
        /* The common case, a batched sync handler: format in place. */
        if (h->format_in_batch && !atomic_load_explicit(&lumen__log_shut, memory_order_relaxed) &&
            lumen__log_batch_format(h, &r))
            continue;
        if (b == NULL)
            b = lumen__log_scratch();
        b->len = 0;
        b->oom = false;
        lumen__log_format(h, &r, b);
        if (LUMEN_UNLIKELY(b->oom)) {
            lumen__log_count_drop(1);
            lumen__diag(LUMEN_DIAG_ERROR, "log: out of memory formatting a line; dropped");
            continue;
        }
        lumen__log_deliver(h, lvl, b->p, b->len);
    }
    /* A long line grew the scratch buffer: give the memory back. */
    if (LUMEN_UNLIKELY(b != NULL && b->cap > ((size_t)256 << 10)))
        lumen__buf_free(b);
    if (LUMEN_UNLIKELY(lvl >= LUMEN_LOG_FATAL))
        lumen_log_flush(0);
}

/* ---- flush, shutdown --------------------------------------------------------------- */

/* The monotonic deadline of a `timeout_ms` argument (docs/api.md, "Time"). */
static int64_t deadline_of(uint32_t timeout_ms)
{
    if (timeout_ms == LUMEN_WAIT_FOREVER)
        return INT64_MAX;
    if (timeout_ms == 0)
        timeout_ms = LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS;
    return lumen__mono_ns() + (int64_t)timeout_ms * 1000000;
}

int lumen_log_flush(uint32_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    lumen__log_batch_flush_all();
    return lumen__log_async_drain(deadline) ? LUMEN_OK : LUMEN_ETIMEDOUT;
}

int lumen_log_shutdown(uint32_t timeout_ms)
{
    lumen__log_ensure_init();
    int64_t deadline = deadline_of(timeout_ms);
    lumen__log_batch_flush_all();
    bool drained = lumen__log_async_drain(deadline);
    /* From here on every line is written synchronously by its caller. */
    atomic_store(&lumen__log_shut, 1);
    lumen__log_async_stop(deadline);
    lumen__log_batch_stop(deadline < INT64_MAX - 100000000 ? deadline + 100000000 : INT64_MAX);
    lumen__log_batch_flush_all();
    return drained ? LUMEN_OK : LUMEN_ETIMEDOUT;
}

/* ---- request id ----------------------------------------------------------------------- */

int lumen_log_set_request_id(const char *id)
{
    lumen__tctx *c = lumen__tctx_get();
    size_t n = id != NULL ? strlen(id) : 0;
    if (n > LUMEN_LOG_REQUEST_ID_MAX) {
        c->request_id_len = 0;
        c->request_id[0] = '\0';
        return LUMEN_ETOOBIG;
    }
    if (n > 0)
        memcpy(c->request_id, id, n);
    c->request_id[n] = '\0';
    c->request_id_len = (uint8_t)n;
    return LUMEN_OK;
}

void lumen_log_clear_request_id(void)
{
    lumen__tctx *c = lumen__tctx_get();
    c->request_id_len = 0;
    c->request_id[0] = '\0';
}
