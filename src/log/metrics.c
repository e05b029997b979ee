/*
 * log/metrics.c: the log layer's metrics in the default registry:
 * lumen_log_events_total{level} and lumen_log_dropped_total. The only file
 * of the layer that talks to the metrics layer, through its public API.
 *
 * The counters are created on the first record, not at start-up, so that
 * a program that never logs exposes no log metrics. If they cannot be
 * created (out of memory, or a program already registered the names)
 * records are simply not counted.
 */
#include "log/log_int.h"

#include "lumen/metrics.h"

static lumen_counter *events[6];
static lumen_counter *dropped;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int ready;

static void setup(void)
{
    static const char *const label_names[] = {"level"};
    lumen_metric_opts o = LUMEN_METRIC_OPTS_INIT;
    o.help = "Log records emitted, by level.";
    o.label_names = label_names;
    o.label_count = 1;
    lumen_family *fam = NULL;
    static const char *const names[6] = {"trace", "debug", "info", "warn", "error", "fatal"};
    if (lumen_family_new(&fam, NULL, LUMEN_METRIC_COUNTER, "lumen_log_events_total", &o) ==
        LUMEN_OK) {
        for (int i = 0; i < 6; i++) {
            const char *v[1] = {names[i]};
            if (lumen_family_counter(fam, v, 1, &events[i]) != LUMEN_OK)
                events[i] = NULL;
        }
    }
    if (lumen_counter_new(&dropped, NULL, "lumen_log_dropped_total",
                          "Log lines dropped: a full async queue or a failed write.") != LUMEN_OK)
        dropped = NULL;
    atomic_store_explicit(&ready, 1, memory_order_release);
}

void lumen__log_metrics_event(int level)
{
    if (LUMEN_UNLIKELY(!atomic_load_explicit(&ready, memory_order_acquire)))
        pthread_once(&once, setup);
    int i = (level - 1) / 4;
    if (i >= 0 && i < 6 && events[i] != NULL)
        lumen_counter_inc(events[i]);
}

void lumen__log_metrics_dropped(uint64_t n)
{
    pthread_once(&once, setup);
    if (dropped != NULL)
        lumen_counter_add(dropped, (double)n);
}
