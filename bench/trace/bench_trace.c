/*
 * bench/trace/bench_trace.c: the trace workloads of bench-spec.md.
 *   span_start_end         sampled span, 2 attributes, batch processor with
 *                          an exporter that discards
 *   span_unsampled         the same with the sampler always off
 *   traceparent_roundtrip  parse traceparent + tracestate, write both back
 *   otlp_encode_512        512 spans (4 attributes, 1 event) to protobuf
 * Each runs a warm-up, then BENCH_TRIALS (30) short trials timed by the
 * wall clock, and prints "lumen <workload> <value> <unit>" with the
 * fastest trial, then every trial ("# trials ...") and their median
 * (bench_report, bench/metrics/bench_common.h), as the metrics benchmarks.
 *
 * A span trial ends when the batch processor has exported every span of it
 * (force_flush), so the worker's export work is inside the time. The queue
 * holds a whole trial, so no span is dropped however far the worker falls
 * behind; the processor's counts are printed after the figure, and a drop,
 * if there ever is one, is printed as a warning beside it. The process's
 * CPU time per span is printed as a comment.
 *
 * opentelemetry-cpp, the anchor, is not packaged for Debian: it is not
 * measured here, and no figure of it is quoted.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../metrics/bench_common.h"
#include "lumen/otlp.h"
#include "lumen/trace.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Spans per trial, and the batch queue's size: a whole trial fits. */
#define SPAN_TRIAL 100000

static int discard(void *ud, const lumen_span *const *s, size_t n, int64_t dl)
{
    (void)ud, (void)s, (void)n, (void)dl;
    return LUMEN_OK;
}

static lumen_tracer_provider *provider(lumen_sampler_kind k, lumen_span_processor **pp)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = k;
    lumen_tracer_provider *tp;
    lumen_tracer_provider_new(&tp, &o);
    static const lumen_span_exporter_ops ops = {LUMEN_SPAN_EXPORTER_OPS_VERSION, discard, NULL,
                                                NULL, NULL};
    lumen_span_exporter *e;
    lumen_span_exporter_new(&e, &ops, NULL);
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.max_queue_size = SPAN_TRIAL;
    if (lumen_batch_processor_new(pp, e, &bo) != LUMEN_OK) {
        fprintf(stderr, "bench: lumen_batch_processor_new failed\n");
        exit(1);
    }
    lumen_tracer_provider_add_processor(tp, *pp);
    return tp;
}

/* One trial: n spans, then every one of them exported. */
static double spans(lumen_tracer_provider *tp, lumen_tracer *t, int n)
{
    double a = now_ns();
    for (int i = 0; i < n; i++) {
        lumen_span *s = lumen_span_start(t, "GET /items", NULL);
        lumen_span_set_str(s, "http.method", "GET");
        lumen_span_set_int(s, "http.status_code", 200);
        lumen_span_end(s);
    }
    if (lumen_tracer_provider_force_flush(tp, LUMEN_WAIT_FOREVER) != LUMEN_OK) {
        fprintf(stderr, "bench: force_flush failed\n");
        exit(1);
    }
    return (now_ns() - a) / n;
}

static void bench_spans(lumen_sampler_kind k, const char *name)
{
    lumen_span_processor *p;
    lumen_tracer_provider *tp = provider(k, &p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "bench", NULL);
    double r[BENCH_TRIALS];
    spans(tp, t, SPAN_TRIAL / 10);
    spans(tp, t, SPAN_TRIAL);
    double c0 = cpu_ns();
    for (int i = 0; i < BENCH_TRIALS; i++)
        r[i] = spans(tp, t, SPAN_TRIAL);
    double cpu = (cpu_ns() - c0) / ((double)BENCH_TRIALS * SPAN_TRIAL);
    lumen_span_processor_stats st = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    lumen_span_processor_get_stats(&st, p);
    bench_report("lumen", name, "ns/span", 1, r, BENCH_TRIALS);
    printf("# %s: %.1f ns/span of process CPU time (all threads)\n", name, cpu);
    if (st.ended > 0)
        printf("# %s: %llu ended, %llu exported, %llu dropped, %llu failed\n", name,
               (unsigned long long)st.ended, (unsigned long long)st.exported,
               (unsigned long long)st.dropped, (unsigned long long)st.failed);
    if (st.dropped > 0 || st.failed > 0 || st.exported != st.ended)
        printf("# WARNING %s: %llu of %llu spans not exported: the figure above is not for "
               "every span\n",
               name, (unsigned long long)(st.ended - st.exported), (unsigned long long)st.ended);
    lumen_tracer_provider_free(tp);
}

static void bench_traceparent(void)
{
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const char *ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    size_t tsl = strlen(ts), tpl = strlen(tp);
    lumen_span_context *sc;
    if (lumen_span_context_new(&sc) != LUMEN_OK)
        return;
    char out[LUMEN_TRACEPARENT_SIZE], ts_out[LUMEN_TRACESTATE_MAX + 1];
    double r[BENCH_TRIALS];
    unsigned sink = 0;
    for (int k = -1; k < BENCH_TRIALS; k++) { /* k = -1: the warm-up */
        int n = 200000;
        double a = now_ns();
        for (int i = 0; i < n; i++) {
            lumen_traceparent_parse(sc, tp, tpl, &ts, &tsl, 1);
            lumen_traceparent_format(out, sc);
            size_t len;
            const char *state = lumen_span_context_trace_state(&len, sc);
            memcpy(ts_out, state, len + 1u);
            sink += (unsigned)out[54] + (unsigned)ts_out[0];
        }
        if (k >= 0)
            r[k] = (now_ns() - a) / n;
    }
    lumen_span_context_free(sc);
    bench_report("lumen", "traceparent_roundtrip", "ns/op", 1, r, BENCH_TRIALS);
    if (sink == 1)
        puts("");
}

static void bench_encode(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler.kind = LUMEN_SAMPLER_ALWAYS_ON;
    lumen_tracer_provider *tp;
    lumen_tracer_provider_new(&tp, &o);
    lumen_span_exporter *mem;
    lumen_memory_exporter_new(&mem);
    lumen_span_processor *p;
    lumen_simple_processor_new(&p, mem, NULL);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "bench", "1.0");
    for (int i = 0; i < 512; i++) {
        lumen_span *s = lumen_span_start(t, "GET /api/v1/items", NULL);
        lumen_span_set_str(s, "http.method", "GET");
        lumen_span_set_int(s, "http.status_code", 200);
        lumen_span_set_str(s, "http.route", "/api/v1/items/{id}");
        lumen_span_set_double(s, "load", 0.25);
        lumen_attr ea[] = {LUMEN_ATTR_STR("cache", "miss")};
        lumen_span_add_event(s, "cache.lookup", 0, ea, 1);
        lumen_span_end(s);
    }
    const lumen_span *spans512[512];
    for (size_t i = 0; i < 512; i++)
        spans512[i] = lumen_memory_exporter_get(mem, i);
    double r[BENCH_TRIALS];
    size_t len = 0;
    for (int k = -1; k < BENCH_TRIALS; k++) { /* k = -1: the warm-up */
        int n = 20;
        double a = now_ns();
        for (int i = 0; i < n; i++) {
            char *body;
            lumen_otlp_encode_spans(&body, &len, LUMEN_OTLP_PROTOBUF, spans512, 512);
            lumen_free(body);
        }
        if (k >= 0)
            r[k] = (now_ns() - a) / n / 1000.0;
    }
    bench_report("lumen", "otlp_encode_512", "us/batch", 1, r, BENCH_TRIALS);
    printf("# otlp_encode_512: %zu bytes per batch\n", len);
    lumen_tracer_provider_free(tp);
}

int main(void)
{
    bench_spans(LUMEN_SAMPLER_ALWAYS_ON, "span_start_end");
    bench_spans(LUMEN_SAMPLER_ALWAYS_OFF, "span_unsampled");
    bench_traceparent();
    bench_encode();
    return 0;
}
