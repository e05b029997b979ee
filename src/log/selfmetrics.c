/*
 * log/selfmetrics.c: the log layer's own metrics and its drop count:
 * lumen__log_count_event (every emitted record) and lumen__log_count_drop
 * (every lost line, also counted for lumen_log_dropped), into
 * lumen_log_events_total{level} and lumen_log_dropped_total in the registry
 * lumen_self_metrics_configure chose (the default registry unless the
 * program said otherwise), or nowhere. The only file of the layer that
 * talks to the metrics layer, through its public API and metrics/self.h.
 *
 * The counters are created on the first record, not at start-up, so that
 * a program that never logs exposes no log metrics. If they cannot be
 * created (out of memory, or a program already registered one of the
 * names) the clash is reported once and records are not counted.
 */
#include "log/selfmetrics.h"

#include <pthread.h>

#include "log/state.h"
#include "lumen/metrics.h"
#include "metrics/self.h"

static lumen_counter *events[6];
static lumen_counter *dropped;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int ready;

static void setup(void)
{
    static const char *const label_names[] = {"level"};
    static const char *const names[6] = {"trace", "debug", "info", "warn", "error", "fatal"};
    lumen_registry *reg = lumen__self_metrics_registry(LUMEN__SELF_LOG);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Log records emitted, by level.";
    o.label_names = label_names;
    o.label_count = 1;
    lumen_family *fam = NULL;
    int rc;
    if (reg == NULL)
        goto done;
    rc = lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, "lumen_log_events_total", &o);
    if (rc != LUMEN_OK) {
        lumen__self_metrics_refused(LUMEN__SELF_LOG, "lumen_log_events_total", rc);
        goto done;
    }
    rc = lumen_counter_new(&dropped, reg, "lumen_log_dropped_total",
                           "Log lines dropped: a full async queue or a failed write.");
    if (rc != LUMEN_OK) {
        /* The group stays off as a whole. */
        dropped = NULL;
        lumen_registry_unregister(reg, "lumen_log_events_total");
        lumen__self_metrics_refused(LUMEN__SELF_LOG, "lumen_log_dropped_total", rc);
        goto done;
    }
    for (int i = 0; i < 6; i++) {
        const char *v[1] = {names[i]};
        if (lumen_family_counter(&events[i], fam, v, 1) != LUMEN_OK)
            events[i] = NULL;
    }
done:
    atomic_store_explicit(&ready, 1, memory_order_release);
}

void lumen__log_count_event(int level)
{
    if (LUMEN_UNLIKELY(!atomic_load_explicit(&ready, memory_order_acquire)))
        pthread_once(&once, setup);
    int i = (level - 1) / 4;
    if (i >= 0 && i < 6 && events[i] != NULL)
        lumen_counter_inc(events[i]);
}

void lumen__log_count_drop(uint64_t n)
{
    atomic_fetch_add_explicit(&lumen__log_dropped_lines, n, memory_order_relaxed);
    pthread_once(&once, setup);
    if (dropped != NULL)
        lumen_counter_add(dropped, (double)n);
}

/* ---- batch handlers' records ---------------------------------------------- */

static lumen_counter *rec_exported;
static lumen_counter *rec_dropped[3];
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;

static void rec_setup(void)
{
    static const char *const label_names[] = {"reason"};
    static const char *const reasons[3] = {"queue_full", "export_failure", "shutdown"};
    lumen_registry *reg = lumen__self_metrics_registry(LUMEN__SELF_LOG);
    if (reg == NULL)
        return;
    int rc = lumen_counter_new(&rec_exported, reg, "lumen_log_records_exported_total",
                               "Log records a batch handler exported.");
    if (rc != LUMEN_OK) {
        rec_exported = NULL;
        lumen__self_metrics_refused(LUMEN__SELF_LOG, "lumen_log_records_exported_total", rc);
        return;
    }
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Log records a batch handler lost: a full queue (or no memory for the copy), a "
             "failed export, or shutdown.";
    o.label_names = label_names;
    o.label_count = 1;
    lumen_family *fam = NULL;
    rc = lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, "lumen_log_records_dropped_total", &o);
    if (rc != LUMEN_OK) {
        rec_exported = NULL;
        lumen_registry_unregister(reg, "lumen_log_records_exported_total");
        lumen__self_metrics_refused(LUMEN__SELF_LOG, "lumen_log_records_dropped_total", rc);
        return;
    }
    for (int i = 0; i < 3; i++) {
        const char *v[1] = {reasons[i]};
        if (lumen_family_counter(&rec_dropped[i], fam, v, 1) != LUMEN_OK)
            rec_dropped[i] = NULL;
    }
}

void lumen__log_records_metrics_init(void)
{
    pthread_once(&rec_once, rec_setup);
}

void lumen__log_count_records_exported(uint64_t n)
{
    if (rec_exported != NULL)
        lumen_counter_add(rec_exported, (double)n);
}

void lumen__log_count_record_drop(int reason, uint64_t n)
{
    if (reason >= 0 && reason < 3 && rec_dropped[reason] != NULL)
        lumen_counter_add(rec_dropped[reason], (double)n);
}
