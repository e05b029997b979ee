/*
 * trace/selfmetrics.c: the trace layer's own counters (spans started,
 * ended, dropped, exported; export failures by reason). Kept here, in one
 * file, so that publishing them into the metrics registry touches nothing
 * else. Each count is published with release order and read with acquire,
 * in the order that keeps a scrape consistent: nothing exported that has
 * not ended, nothing ended that has not started (see collect()).
 *
 * They reach a registry through a collector read at scrape time (the
 * registry lumen_self_metrics_configure chose: the default one unless the
 * program said otherwise), so counting costs the span path nothing more
 * than the increments:
 *   lumen_trace_spans_started_total, lumen_trace_spans_ended_total (recording
 *   spans; counted in per-thread cells that a scrape sums, so they never
 *   lag),
 *   lumen_trace_spans_dropped_total (queue full, or lost in a failed export),
 *   lumen_trace_spans_exported_total,
 *   lumen_trace_export_failures_total{reason="timeout|http|connect|other"},
 *   lumen_trace_propagation_dropped_total{header="baggage|tracestate",
 *   reason="invalid|limit"} (baggage members skipped or dropped on the way
 *   in; tracestate lists discarded and members cut, in or out).
 */
#include <pthread.h>
#include <stdlib.h>

#include "lumen/metrics.h"
#include "metrics/self.h"
#include "trace/selfmetrics.h"

static atomic_uint_fast64_t g_counts[LUMEN__TM_COUNT];

void lumen__trace_metric_add(lumen__trace_metric m, uint64_t n)
{
    atomic_fetch_add_explicit(&g_counts[m], n, memory_order_release);
}

/* Started and ended spans: one cell per thread, written by its thread
 * only. A cell is never freed: when its thread exits it is released for
 * the next new thread, which continues counting from its value, so the
 * sum over all cells is the total and nothing has to be folded anywhere.
 * (There are as many cells as threads ever alive at once.) Cells come
 * from malloc, not lumen's allocator: they outlive everything. Without
 * memory a thread counts into the shared fallback cell, atomically. */
LUMEN_TLS lumen__tm_cell *lumen__tm_mine;
static _Atomic(lumen__tm_cell *) g_cells;
static lumen__tm_cell g_fallback;
static pthread_key_t g_cell_key;
static pthread_once_t g_cell_once = PTHREAD_ONCE_INIT;

static void release_cell(void *arg)
{
    lumen__tm_cell *c = arg;
    lumen__tm_mine = NULL;
    atomic_store_explicit(&c->owned, false, memory_order_release);
}

static void make_cell_key(void)
{
    pthread_key_create(&g_cell_key, release_cell);
    lumen__tm_cell *head = atomic_load(&g_cells);
    do {
        g_fallback.next = head;
    } while (!atomic_compare_exchange_weak(&g_cells, &head, &g_fallback));
}

static lumen__tm_cell *claim_cell(void)
{
    for (lumen__tm_cell *c = atomic_load_explicit(&g_cells, memory_order_acquire); c != NULL;
         c = c->next) {
        bool free_ = false;
        if (c != &g_fallback && !atomic_load_explicit(&c->owned, memory_order_relaxed) &&
            atomic_compare_exchange_strong_explicit(&c->owned, &free_, true, memory_order_acquire,
                                                    memory_order_relaxed))
            return c;
    }
    lumen__tm_cell *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    atomic_init(&c->owned, true);
    lumen__tm_cell *head = atomic_load_explicit(&g_cells, memory_order_relaxed);
    do {
        c->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&g_cells, &head, c, memory_order_release,
                                                    memory_order_relaxed));
    return c;
}

void lumen__trace_metric_inc_slow(unsigned which)
{
    pthread_once(&g_cell_once, make_cell_key);
    lumen__tm_cell *c = claim_cell();
    if (c == NULL || pthread_setspecific(g_cell_key, c) != 0) {
        if (c != NULL)
            atomic_store_explicit(&c->owned, false, memory_order_release);
        atomic_fetch_add_explicit(&g_fallback.n[which], 1, memory_order_release);
        return;
    }
    lumen__tm_mine = c;
    lumen__trace_metric_inc_local(which);
}

uint64_t lumen__trace_metric_get(lumen__trace_metric m)
{
    if (m == LUMEN__TM_STARTED || m == LUMEN__TM_ENDED) {
        uint64_t sum = 0;
        for (lumen__tm_cell *c = atomic_load_explicit(&g_cells, memory_order_acquire); c != NULL;
             c = c->next)
            sum += atomic_load_explicit(&c->n[m], memory_order_acquire);
        return sum;
    }
    return atomic_load_explicit(&g_counts[m], memory_order_acquire);
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
         "Sampled spans lost: the processor queue was full or their export failed.",
         LUMEN__TM_DROPPED},
        {"lumen_trace_spans_exported_total", "Spans exported successfully.", LUMEN__TM_EXPORTED},
    };
    /* Read in the order that keeps the totals consistent: what the
     * processors counted (exported, dropped, failures) before the spans
     * ended, and those before the spans started. Every count is published
     * with release order after the counts that precede it, so no scrape
     * shows more spans exported than ended, or ended than started. */
    uint64_t v[LUMEN__TM_COUNT];
    for (int m = LUMEN__TM_COUNT - 1; m >= 0; m--)
        v[m] = lumen__trace_metric_get((lumen__trace_metric)m);
    int rc;
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(plain); i++) {
        if ((rc = lumen_collect_family(sink, LUMEN_METRIC_COUNTER, plain[i].name, plain[i].help,
                                       NULL)) != LUMEN_OK ||
            (rc = lumen_collect_sample(sink, "", NULL, 0, (double)v[plain[i].m])) != LUMEN_OK)
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
        rc = lumen_collect_sample(sink, "", &l, 1, (double)v[fails[i].m]);
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
    /* The families collect() writes, declared so that a clash with a
     * program's family is found here, at registration. */
    static const char *const names[] = {
        "lumen_trace_spans_started_total",   "lumen_trace_spans_ended_total",
        "lumen_trace_spans_dropped_total",   "lumen_trace_spans_exported_total",
        "lumen_trace_export_failures_total", "lumen_trace_propagation_dropped_total",
    };
    pthread_mutex_lock(&g_reg_mu);
    if (!g_registered) {
        lumen_registry *reg = lumen__self_metrics_registry(LUMEN__SELF_TRACE);
        lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
        o.family_names = names;
        o.family_count = LUMEN_ARRAY_LEN(names);
        int rc =
            reg != NULL ? lumen_registry_add_collector(NULL, reg, &o, collect, NULL) : LUMEN_OK;
        /* Out of memory: the next provider tries again. A clash leaves the
         * group off, said once with the first name that clashes. */
        const char *culprit = names[0];
        for (size_t i = 0; rc == LUMEN_EEXIST && i < LUMEN_ARRAY_LEN(names); i++) {
            lumen_collector *probe;
            o.family_names = &names[i];
            o.family_count = 1;
            if (lumen_registry_add_collector(&probe, reg, &o, collect, NULL) == LUMEN_OK)
                lumen_registry_remove_collector(reg, probe);
            else {
                culprit = names[i];
                break;
            }
        }
        if (rc != LUMEN_OK && rc != LUMEN_ENOMEM)
            lumen__self_metrics_refused(LUMEN__SELF_TRACE, culprit, rc);
        g_registered = rc != LUMEN_ENOMEM;
    }
    pthread_mutex_unlock(&g_reg_mu);
}
