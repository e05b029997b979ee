/*
 * log/handler.c: handlers: their options, lumen_log_handler_new (the
 * format and preset resolved, LUMEN_LOG_FORMAT, the sink opened, the
 * asynchronous queue started, batching decided), and reopening every
 * handler's sink (lumen_log_reopen, the SIGHUP hook), which flushes the
 * batches first.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/versioned.h"
#include "log/async.h"
#include "log/batch.h"
#include "log/format_json.h"
#include "log/otel.h"
#include "log/sink.h"
#include "log/types.h"

/* ---- handlers ----------------------------------------------------------- */

/* Every handler ever created. The library owns them for the life of the
 * process (lumen/log.h), which this list makes true for a handler no
 * logger uses: it stays reachable, so a leak checker does not report it.
 * Nothing walks the list. */
static _Atomic(lumen_log_handler *) handlers_all;

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
    /* Published last, so that flush, shutdown and fork see complete
     * handlers only. */
    if (h->async != NULL)
        lumen__log_async_publish(h->async);
    lumen__log_handler_keep(h);
    *out = h;
    return LUMEN_OK;
}

void lumen__log_handler_keep(lumen_log_handler *h)
{
    lumen_log_handler *head = atomic_load(&handlers_all);
    do {
        h->next_all = head;
    } while (!atomic_compare_exchange_weak(&handlers_all, &head, h));
}

/* ---- reopen ---------------------------------------------------------------- */

int lumen_log_reopen(void)
{
    /* The batched lines belong to the files they were written for. */
    lumen__log_batch_flush_all();
    /* Descriptor sinks keep their number but may now name something else
     * (a program that redirected fd 1 with dup2). */
    lumen__log_sinks_recheck();
    return lumen__log_sinks_reopen();
}

static void on_sighup(int sig)
{
    (void)sig;
    atomic_store(&lumen__log_reopen_pending, 1);
}

int lumen_log_install_sighup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sighup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(SIGHUP, &sa, NULL) == 0 ? LUMEN_OK : LUMEN_ESYS;
}
