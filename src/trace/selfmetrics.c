/*
 * trace/selfmetrics.c: the trace layer's own counters (spans started,
 * ended, dropped, exported; export failures by reason). Kept here, in one
 * file, so that publishing them into the metrics registry touches nothing
 * else. Relaxed atomics: the counts are statistics, ordered with nothing.
 *
 * They reach the default registry through a collector read at scrape time,
 * so counting costs the span path nothing more than the increments:
 *   lumen_trace_spans_started_total, lumen_trace_spans_ended_total (recording
 *   spans; published per thread every 64 spans and at thread exit),
 *   lumen_trace_spans_dropped_total (queue full, or lost in a failed export),
 *   lumen_trace_spans_exported_total,
 *   lumen_trace_export_failures_total{reason="timeout|http|connect|other"},
 *   lumen_trace_propagation_dropped_total{header="baggage|tracestate",
 *   reason="invalid|limit"} (baggage members skipped or dropped on the way
 *   in; tracestate lists discarded and members cut, in or out).
 */
#include <pthread.h>

#include "lumen/metrics.h"
#include "trace/span.h"

static atomic_uint_fast64_t g_counts[LUMEN__TM_COUNT];

void lumen__trace_metric_add(lumen__trace_metric m, uint64_t n)
{
    atomic_fetch_add_explicit(&g_counts[m], n, memory_order_relaxed);
}

/* Started and ended spans are counted per thread and published every
 * LUMEN__TM_BATCH spans (and when the thread exits), so that the hot path
 * pays a plain increment instead of a locked add. */
LUMEN_TLS uint32_t lumen__tm_local[2];

void lumen__trace_metric_publish(unsigned which)
{
    atomic_fetch_add_explicit(&g_counts[which], lumen__tm_local[which], memory_order_relaxed);
    lumen__tm_local[which] = 0;
}

void lumen__trace_metric_flush_thread(void)
{
    lumen__trace_metric_publish(LUMEN__TM_STARTED);
    lumen__trace_metric_publish(LUMEN__TM_ENDED);
}

uint64_t lumen__trace_metric_get(lumen__trace_metric m)
{
    return atomic_load_explicit(&g_counts[m], memory_order_relaxed);
}

static int collect(lumen_collect_sink *sink, void *ud)
{
    (void)ud;
    static const struct {
        const char *name, *help;
        lumen__trace_metric m;
    } plain[] = {
        {"lumen_trace_spans_started_total", "Recording spans started.", LUMEN__TM_STARTED},
        {"lumen_trace_spans_ended_total", "Recording spans ended.", LUMEN__TM_ENDED},
        {"lumen_trace_spans_dropped_total",
         "Sampled spans lost: the processor queue was full or their export failed.", LUMEN__TM_DROPPED},
        {"lumen_trace_spans_exported_total", "Spans exported successfully.", LUMEN__TM_EXPORTED},
    };
    int rc;
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(plain); i++) {
        if ((rc = lumen_collect_family(sink, LUMEN_METRIC_COUNTER, plain[i].name, plain[i].help, NULL)) != LUMEN_OK ||
            (rc = lumen_collect_sample(sink, "", NULL, 0, (double)lumen__trace_metric_get(plain[i].m))) != LUMEN_OK)
            return rc;
    }
    static const struct {
        const char *reason;
        lumen__trace_metric m;
    } fails[] = {{"timeout", LUMEN__TM_FAIL_TIMEOUT},
                 {"http", LUMEN__TM_FAIL_HTTP},
                 {"connect", LUMEN__TM_FAIL_CONNECT},
                 {"other", LUMEN__TM_FAIL_OTHER}};
    rc = lumen_collect_family(sink, LUMEN_METRIC_COUNTER, "lumen_trace_export_failures_total",
                              "Span exports that failed, by reason.", NULL);
    for (size_t i = 0; rc == LUMEN_OK && i < LUMEN_ARRAY_LEN(fails); i++) {
        lumen_label l = {"reason", fails[i].reason};
        rc = lumen_collect_sample(sink, "", &l, 1, (double)lumen__trace_metric_get(fails[i].m));
    }
    static const struct {
        const char *header, *reason;
        lumen__trace_metric m;
    } drops[] = {{"baggage", "invalid", LUMEN__TM_BAGGAGE_INVALID},
                 {"baggage", "limit", LUMEN__TM_BAGGAGE_LIMIT},
                 {"tracestate", "invalid", LUMEN__TM_TRACESTATE_INVALID},
                 {"tracestate", "limit", LUMEN__TM_TRACESTATE_LIMIT}};
    if (rc == LUMEN_OK)
        rc = lumen_collect_family(
            sink, LUMEN_METRIC_COUNTER, "lumen_trace_propagation_dropped_total",
            "Propagated entries dropped: baggage members that were invalid or "
            "past the limits, tracestate lists that were invalid and members "
            "cut to 512 characters.",
            NULL);
    for (size_t i = 0; rc == LUMEN_OK && i < LUMEN_ARRAY_LEN(drops); i++) {
        lumen_label l[2] = {{"header", drops[i].header}, {"reason", drops[i].reason}};
        rc = lumen_collect_sample(sink, "", l, 2, (double)lumen__trace_metric_get(drops[i].m));
    }
    return rc;
}

static pthread_mutex_t g_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_registered;

void lumen__trace_metrics_register(void)
{
    /* Retried by the next provider if registration failed (no memory). */
    pthread_mutex_lock(&g_reg_mu);
    if (!g_registered)
        g_registered = lumen_registry_add_collector(NULL, collect, NULL, NULL) == LUMEN_OK;
    pthread_mutex_unlock(&g_reg_mu);
}
