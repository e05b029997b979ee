/* tests/trace/test_trace_span.c: spans, context, samplers, limits,
 * resource, the simple processor and in-memory exporter. */
#include "support/support.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/tctx.h"
#include "trace/provider.h"
#include "trace/record.h"
#include "trace/sampler.h"
#include "trace/span_context.h"
#include "core/fastclock.h"
#include "trace/helpers.h"

static const lumen_sampler ON = {LUMEN_SAMPLER_ALWAYS_ON, 1.0, NULL, NULL};
static const lumen_sampler OFF = {LUMEN_SAMPLER_ALWAYS_OFF, 1.0, NULL, NULL};
static const lumen_sampler PB_ON = {LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0, NULL, NULL};

static bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_trace_span__recorded_and_exported(void **state)
{
    th_env e;
    th_setup(&e, ON);
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.kind = LUMEN_SPAN_SERVER;
    int64_t before = lumen_now_ns();
    lumen_span *s = lumen_span_start(e.tracer, "GET /items", &o);
    assert_true(lumen_span_is_recording(s));
    lumen_span_set_str(s, "http.method", "GET");
    lumen_span_set_int(s, "http.status_code", 200);
    lumen_span_set_double(s, "ratio", 0.5);
    lumen_span_set_bool(s, "ok", true);
    lumen_span_set_int(s, "http.status_code", 404); /* overwrite keeps one key */
    lumen_span_add_event(s, "retry", 0, (lumen_attr[]){LUMEN_ATTR_INT("n", 1)}, 1);
    lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, "boom");
    lumen_span_end(s);
    assert_int_equal(lumen_memory_exporter_count(e.mem), 1);
    const lumen_span *r = lumen_memory_exporter_get(e.mem, 0);
    assert_string_equal(lumen_span_get_name(r), "GET /items");
    assert_int_equal(lumen_span_get_kind(r), LUMEN_SPAN_SERVER);
    assert_true(lumen_span_get_start_ns(r) >= before);
    assert_true(lumen_span_get_end_ns(r) >= lumen_span_get_start_ns(r));
    assert_int_equal(lumen_span_get_attr_count(r), 4);
    lumen_attr a;
    assert_true(lumen_span_find_attr(&a, r, "http.status_code"));
    assert_int_equal(a.type, LUMEN_ATTR_INT);
    assert_int_equal(a.v.i, 404);
    assert_true(lumen_span_find_attr(&a, r, "http.method"));
    assert_string_equal(a.v.s, "GET");
    const char *desc;
    assert_int_equal(lumen_span_get_status(&desc, r), LUMEN_SPAN_STATUS_ERROR);
    assert_string_equal(desc, "boom");
    assert_int_equal(lumen_span_get_event_count(r), 1);
    assert_string_equal(lumen_span_get_event_name(r, 0), "retry");
    uint8_t pid[8];
    assert_false(lumen_span_get_parent_id(pid, r));
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, r);
    assert_true(lumen_span_context_is_valid(sc));
    assert_int_equal(sc->trace_flags, LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);
    th_teardown(&e);
}

static void test_trace_span__status_rules(void **state)
{
    th_env e;
    th_setup(&e, ON);
    lumen_span *s = lumen_span_start(e.tracer, "x", NULL);
    lumen_span_set_status(s, LUMEN_SPAN_STATUS_OK, "ignored");
    lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, "too late"); /* OK is final */
    lumen_span_update_name(s, "y");
    lumen_span_end(s);
    lumen_span_end(s); /* second end: ignored, diagnosed */
    const char *d;
    const lumen_span *r = lumen_memory_exporter_get(e.mem, 0);
    assert_int_equal(lumen_span_get_status(&d, r), LUMEN_SPAN_STATUS_OK);
    assert_null(d);
    assert_string_equal(lumen_span_get_name(r), "y");
    assert_int_equal(lumen_memory_exporter_count(e.mem), 1);
    th_teardown(&e);
}

static void test_trace_span__current_and_tctx(void **state)
{
    th_env e;
    th_setup(&e, ON);
    lumen__tctx *c = lumen__tctx_get();
    assert_false(c->has_span);
    lumen_span *parent = lumen_span_start(e.tracer, "parent", NULL);
    lumen_span_enter(parent);
    assert_ptr_equal(lumen_span_current(), parent);
    lumen_span_context *pc = th_ctx();
    lumen_span_get_context(pc, parent);
    assert_true(c->has_span);
    assert_memory_equal(c->trace_id, pc->trace_id, 16);
    assert_memory_equal(c->span_id, pc->span_id, 8);
    assert_int_equal(c->trace_flags, LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);

    lumen_span *child = lumen_span_start(e.tracer, "child", NULL);
    lumen_span_enter(child);
    lumen_span_context *cc = th_ctx();
    lumen_span_get_context(cc, child);
    assert_memory_equal(cc->trace_id, pc->trace_id, 16);
    assert_memory_equal(c->span_id, cc->span_id, 8);
    lumen_span_leave(child);
    assert_memory_equal(c->span_id, pc->span_id, 8); /* restored */
    assert_ptr_equal(lumen_span_current(), parent);

    lumen_span_options root = LUMEN_SPAN_OPTIONS_INIT;
    root.root = true;
    lumen_span *other = lumen_span_start(e.tracer, "root", &root);
    lumen_span_context *oc = th_ctx();
    lumen_span_get_context(oc, other);
    assert_memory_not_equal(oc->trace_id, pc->trace_id, 16);
    lumen_span_end(other);

    lumen_span_end(child);
    lumen_span_end(parent); /* ending a current span leaves it */
    assert_null(lumen_span_current());
    assert_false(c->has_span);
    const lumen_span *rc = lumen_memory_exporter_get(e.mem, 1);
    uint8_t pid[8];
    assert_string_equal(lumen_span_get_name(rc), "child");
    assert_true(lumen_span_get_parent_id(pid, rc));
    assert_memory_equal(pid, pc->span_id, 8);
    th_teardown(&e);
}

static void test_trace_span__explicit_and_remote_parent(void **state)
{
    th_env e;
    th_setup(&e, PB_ON);
    lumen_span *p = lumen_span_start(e.tracer, "p", NULL);
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.parent = p;
    lumen_span *async = lumen_span_start(e.tracer, "async", &o);
    lumen_span_context *pc = th_ctx();
    lumen_span_context *ac = th_ctx();
    lumen_span_get_context(pc, p);
    lumen_span_get_context(ac, async);
    assert_memory_equal(ac->trace_id, pc->trace_id, 16);
    lumen_span_end(async);
    lumen_span_end(p);

    /* A remote parent that is not sampled: parentbased drops the child,
     * which still carries the trace id and tracestate. */
    lumen_span_context *rem = th_ctx();
    assert_int_equal(
        lumen_traceparent_parse(rem, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", 55,
                                (const char *[]){"congo=t61rcWkgMzE"}, NULL, 1),
        LUMEN_OK);
    o = (lumen_span_options)LUMEN_SPAN_OPTIONS_INIT;
    o.parent_context = rem;
    lumen_span *u = lumen_span_start(e.tracer, "unsampled", &o);
    assert_false(lumen_span_is_recording(u));
    lumen_span_context *uc = th_ctx();
    lumen_span_get_context(uc, u);
    assert_memory_equal(uc->trace_id, rem->trace_id, 16);
    assert_memory_not_equal(uc->span_id, rem->span_id, 8);
    assert_string_equal(uc->trace_state, "congo=t61rcWkgMzE");
    assert_int_equal(uc->trace_flags, 0);
    lumen_span_end(u);

    rem->trace_flags = 1;
    lumen_span *sm = lumen_span_start(e.tracer, "sampled", &o);
    assert_true(lumen_span_is_recording(sm));
    lumen_span_end(sm);
    assert_int_equal(lumen_memory_exporter_count(e.mem), 3);
    const lumen_span *r = lumen_memory_exporter_get(e.mem, 2);
    assert_int_equal(r->has_parent, 2); /* remote */
    uint8_t pid[8];
    assert_true(lumen_span_get_parent_id(pid, r));
    assert_memory_equal(pid, rem->span_id, 8);
    th_teardown(&e);
}

static void test_trace_span__unsampled_records_nothing(void **state)
{
    th_env e;
    th_setup(&e, OFF);
    lumen_span *s = lumen_span_start(e.tracer, "off", NULL);
    assert_false(lumen_span_is_recording(s));
    lumen_span_set_str(s, "k", "v");
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, s);
    assert_true(lumen_span_context_is_valid(sc));
    lumen_span_enter(s);
    assert_true(lumen__tctx_get()->has_span);
    /* Not sampled, but its trace id is still lumen's random one. */
    assert_int_equal(lumen__tctx_get()->trace_flags, LUMEN_TRACE_FLAG_RANDOM);
    lumen_span *child = lumen_span_start(e.tracer, "child", NULL);
    lumen_span_context *cc = th_ctx();
    lumen_span_get_context(cc, child);
    assert_memory_equal(cc->trace_id, sc->trace_id, 16);
    lumen_span_end(child);
    lumen_span_leave(s);
    lumen_span_end(s);
    assert_int_equal(lumen_memory_exporter_count(e.mem), 0);
    /* NULL and noop handles never crash. */
    lumen_span *n = lumen_span_start(NULL, "x", NULL);
    assert_non_null(n);
    lumen_span_set_int(n, "a", 1);
    lumen_span_enter(n);
    lumen_span_leave(n);
    lumen_span_end(n);
    lumen_span_end(NULL);
    th_teardown(&e);
}

static void set_low(uint8_t tid[16], uint64_t low)
{
    memset(tid, 0xab, 8);
    for (int i = 0; i < 8; i++)
        tid[15 - i] = (uint8_t)(low >> (8 * i));
}

static void test_trace_span__traceidratio_matches_go(void **state)
{
    uint8_t tid[16];
    /* Go: binary.BigEndian.Uint64(tid[8:16]) >> 1 < uint64(ratio * 2^63). */
    set_low(tid, 0x7fffffffffffffffull); /* >>1 = 2^62 - 1 */
    assert_true(lumen__ratio_sampled(0.5, tid));
    set_low(tid, 0x8000000000000000ull); /* >>1 = 2^62: not below */
    assert_false(lumen__ratio_sampled(0.5, tid));
    set_low(tid, 0x8000000000000001ull); /* the low bit is shifted out */
    assert_false(lumen__ratio_sampled(0.5, tid));
    set_low(tid, 0);
    assert_true(lumen__ratio_sampled(0.0001, tid));
    assert_false(lumen__ratio_sampled(0.0, tid));
    set_low(tid, ~0ull);
    assert_true(lumen__ratio_sampled(1.0, tid));
    assert_false(lumen__ratio_sampled(0.999, tid));
    /* The high 8 bytes do not matter. */
    set_low(tid, 0x1000000000000000ull);
    memset(tid, 0, 8);
    bool a = lumen__ratio_sampled(0.1, tid);
    memset(tid, 0xff, 8);
    assert_int_equal(a, lumen__ratio_sampled(0.1, tid));
    /* Monotone, and close to the ratio over random ids. */
    int n25 = 0, n50 = 0;
    for (int i = 0; i < 20000; i++) {
        for (int k = 0; k < 16; k++)
            tid[k] = (uint8_t)rand();
        bool s25 = lumen__ratio_sampled(0.25, tid), s50 = lumen__ratio_sampled(0.5, tid);
        assert_true(!s25 || s50);
        n25 += s25;
        n50 += s50;
    }
    assert_in_range(n25, 4500, 5500);
    assert_in_range(n50, 9500, 10500);
}

static void test_trace_span__parentbased_rules(void **state)
{
    uint8_t tid[16] = {1};
    lumen_span_context p = {0};
    lumen_sampler pb = PB_ON, pboff = {LUMEN_SAMPLER_PARENTBASED_ALWAYS_OFF, 1, NULL, NULL};
    lumen_sampler pbr = {LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.0, NULL, NULL};
    assert_int_equal(lumen__sample(&pb, NULL, tid, "x", 1), LUMEN_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(lumen__sample(&pboff, NULL, tid, "x", 1), LUMEN_SAMPLING_DROP);
    assert_int_equal(lumen__sample(&pbr, NULL, tid, "x", 1), LUMEN_SAMPLING_DROP);
    p.trace_flags = 1;
    assert_int_equal(lumen__sample(&pboff, &p, tid, "x", 1), LUMEN_SAMPLING_RECORD_AND_SAMPLE);
    assert_int_equal(lumen__sample(&pbr, &p, tid, "x", 1), LUMEN_SAMPLING_RECORD_AND_SAMPLE);
    p.trace_flags = 0;
    assert_int_equal(lumen__sample(&pb, &p, tid, "x", 1), LUMEN_SAMPLING_DROP);
    /* traceidratio ignores the parent. */
    lumen_sampler r1 = {LUMEN_SAMPLER_TRACEIDRATIO, 1.0, NULL, NULL};
    assert_int_equal(lumen__sample(&r1, &p, tid, "x", 1), LUMEN_SAMPLING_RECORD_AND_SAMPLE);
}

static void test_trace_span__sampler_from_env(void **state)
{
    lumen_sampler s;
    setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
    assert_int_equal(lumen__sampler_from_env(&s), LUMEN_OK);
    assert_int_equal(s.kind, LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_true(s.ratio == 0.25);
    setenv("OTEL_TRACES_SAMPLER_ARG", "1.5", 1); /* invalid: logged, ignored */
    lumen__sampler_from_env(&s);
    assert_true(s.ratio == 1.0);
    setenv("OTEL_TRACES_SAMPLER", "ALWAYS_OFF", 1);
    lumen__sampler_from_env(&s);
    assert_int_equal(s.kind, LUMEN_SAMPLER_ALWAYS_OFF);
    setenv("OTEL_TRACES_SAMPLER", "bogus", 1);
    assert_int_equal(lumen__sampler_from_env(&s), LUMEN_ECONFIG);
    assert_int_equal(s.kind, LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    lumen__sampler_from_env(&s);
    assert_int_equal(s.kind, LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON);
}

static void test_trace_span__limits(void **state)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.sampler = ON;
    o.attribute_value_length_limit = 4;
    lumen_tracer_provider *tp;
    lumen_span_exporter *mem;
    lumen_span_processor *p;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    lumen_memory_exporter_new(&mem);
    lumen_simple_processor_new(&p, mem, NULL);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "t", NULL);
    lumen_span *s = lumen_span_start(t, "limits", NULL);
    char key[32];
    for (int i = 0; i < 130; i++) {
        snprintf(key, sizeof key, "k%d", i);
        lumen_span_set_int(s, key, i);
    }
    lumen_span_set_int(s, "k5", -5); /* an existing key still updates */
    for (int i = 0; i < 131; i++)
        lumen_span_add_event(s, "e", 0, NULL, 0);
    lumen_span_context lc = {{1}, {1}, 1, 0, 0, ""};
    for (int i = 0; i < 129; i++)
        lumen_span_add_link(s, &lc, NULL, 0);
    lumen_span_set_str(s, "utf8", "h\xc3\xa9llo"); /* cut at 4 characters: "héll" */
    lumen_span_end(s);
    const lumen_span *r = lumen_memory_exporter_get(mem, 0);
    uint32_t da, de, dl;
    lumen_span_get_dropped(&da, &de, &dl, r);
    assert_int_equal(lumen_span_get_attr_count(r), 128);
    assert_int_equal(da, 3);
    assert_int_equal(lumen_span_get_event_count(r), 128);
    assert_int_equal(de, 3);
    assert_int_equal(lumen_span_get_link_count(r), 128);
    assert_int_equal(dl, 1);
    lumen_attr a;
    assert_true(lumen_span_find_attr(&a, r, "k5"));
    assert_int_equal(a.v.i, -5);
    assert_false(lumen_span_find_attr(&a, r, "utf8")); /* over the count limit */
    lumen_memory_exporter_reset(mem);

    s = lumen_span_start(t, "cut", NULL);
    lumen_span_set_str(s, "utf8", "h\xc3\xa9llo");
    const char *arr[] = {"abcdef", "xy"};
    lumen_attr sa = {"arr", LUMEN_ATTR_STRING_ARRAY, 2, {.sa = arr}};
    lumen_span_set_attrs(s, &sa, 1);
    lumen_span_end(s);
    r = lumen_memory_exporter_get(mem, 0);
    assert_true(lumen_span_find_attr(&a, r, "utf8"));
    assert_int_equal(a.len, 5);
    assert_memory_equal(a.v.s, "h\xc3\xa9ll", 5);
    assert_true(lumen_span_find_attr(&a, r, "arr"));
    assert_string_equal(a.v.sa[0], "abcd");
    assert_string_equal(a.v.sa[1], "xy");
    lumen_tracer_provider_free(tp);
}

static void test_trace_span__ids_unique_and_fork_reseeds(void **state)
{
    th_env e;
    th_setup(&e, OFF);
    enum { N = 20000 };
    uint64_t *ids = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) {
        lumen_span *s = lumen_span_start(e.tracer, "x", NULL);
        lumen_span_context *c = th_ctx();
        lumen_span_get_context(c, s);
        memcpy(&ids[i], c->span_id, 8);
        assert_false(zero(c->trace_id, 16));
        lumen_span_end(s);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < i + 64 && j < N; j++)
            assert_true(ids[i] != ids[j]);
    free(ids);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        lumen_span *s = lumen_span_start(e.tracer, "child", NULL);
        lumen_span_context *c = th_ctx();
        lumen_span_get_context(c, s);
        ssize_t w = write(fds[1], c->span_id, 8);
        _exit(w == 8 ? 0 : 1);
    }
    lumen_span *s = lumen_span_start(e.tracer, "parent", NULL);
    lumen_span_context *c = th_ctx();
    lumen_span_get_context(c, s);
    lumen_span_end(s);
    uint8_t child[8];
    assert_int_equal(read(fds[0], child, 8), 8);
    int st;
    waitpid(pid, &st, 0);
    assert_memory_not_equal(child, c->span_id, 8);
    close(fds[0]);
    close(fds[1]);
    th_teardown(&e);
}

static void test_trace_span__resource(void **state)
{
    setenv("OTEL_SERVICE_NAME", "billing", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES",
           "deployment.environment=prod%20eu, team=a%2Cb ,service.name=ignored,bad", 1);
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    const char *want[][2] = {{"deployment.environment", "prod eu"},
                             {"team", "a,b"},
                             {"service.name", "billing"},
                             {"telemetry.sdk.name", "lumen"},
                             {"telemetry.sdk.language", "c"}};
    for (size_t w = 0; w < 5; w++) {
        size_t i;
        for (i = 0; i < tp->nresource; i++)
            if (strcmp(tp->resource[i].key, want[w][0]) == 0)
                break;
        assert_true(i < tp->nresource);
        assert_string_equal(tp->resource[i].v.s, want[w][1]);
    }
    lumen_tracer_provider_free(tp);
    unsetenv("OTEL_SERVICE_NAME");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    for (size_t i = 0; i < tp->nresource; i++)
        if (strcmp(tp->resource[i].key, "service.name") == 0)
            assert_string_equal(tp->resource[i].v.s, "unknown_service:test_trace_span");
    lumen_tracer_provider_free(tp);
}

/* Span times follow the wall clock, whether read from clock_gettime or
 * from the calibrated TSC. */
static void test_trace_span__times_track_wall_clock(void **state)
{
    th_env e;
    th_setup(&e, ON);
    usleep(30000); /* past the TSC calibration interval */
    for (int round = 0; round < 3; round++) {
        int64_t before = lumen_now_ns();
        lumen_span *s = lumen_span_start(e.tracer, "timed", NULL);
        int64_t after = lumen_now_ns();
        usleep(20000);
        lumen_span_end(s);
        const lumen_span *r = lumen_memory_exporter_get(e.mem, (size_t)round);
        int64_t start = lumen_span_get_start_ns(r), dur = lumen_span_get_end_ns(r) - start;
        if (start < before - 1000000 || start > after + 1000000)
            fail_msg("start %lld outside [%lld, %lld] +- 1 ms", (long long)start, (long long)before,
                     (long long)after);
        if (dur < 19000000 || dur > 200000000)
            fail_msg("duration %lld ns for a 20 ms sleep", (long long)dur);
    }
#ifdef LUMEN__HAVE_TSC
    /* Where the kernel trusts the TSC, these times came from it. */
    char *cs =
        lt_read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", NULL);
    if (cs != NULL && strncmp(cs, "tsc", 3) == 0)
        assert_true(lumen__fclock_tsc_in_use());
    free(cs);
#endif
    th_teardown(&e);
}

static void test_trace_span__sdk_disabled(void **state)
{
    setenv("OTEL_SDK_DISABLED", "TRUE", 1);
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, NULL), LUMEN_OK);
    lumen_span *s = lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "x", NULL);
    assert_false(lumen_span_is_recording(s));
    lumen_span_end(s);
    lumen_tracer_provider_free(tp);
    unsetenv("OTEL_SDK_DISABLED");
}

static void test_trace_span__shutdown_and_noop(void **state)
{
    th_env e;
    th_setup(&e, ON);
    assert_int_equal(lumen_tracer_provider_shutdown(e.tp, 1000), LUMEN_OK);
    assert_int_equal(lumen_tracer_provider_shutdown(e.tp, 1000), LUMEN_ESHUTDOWN);
    lumen_span *s = lumen_span_start(e.tracer, "after", NULL);
    assert_false(lumen_span_is_recording(s));
    lumen_span_end(s);
    lumen_tracer *t = lumen_tracer_provider_get_tracer(e.tp, "late", NULL);
    lumen_span_end(lumen_span_start(t, "x", NULL));
    assert_int_equal(lumen_memory_exporter_count(e.mem), 0);
    th_teardown(&e);
}

/* The value of a sample line (not the HELP line naming the same family). */
static double metric(const char *text, const char *series)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\n%s", series);
    const char *p = strstr(text, pat);
    if (p == NULL)
        fail_msg("no %s in\n%s", series, text);
    return strtod(p + strlen(pat), NULL);
}

static void *end_spans(void *arg)
{
    th_env *e = arg;
    for (int i = 0; i < 100; i++)
        lumen_span_end(lumen_span_start(e->tracer, "m", NULL));
    return NULL; /* the thread's counts are published as it exits */
}

static void test_trace_span__self_metrics(void **state)
{
    th_env e;
    th_setup(&e, ON);
    char *before, *after;
    size_t len;
    assert_int_equal(lumen_registry_render_string(&before, &len, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    pthread_t t;
    pthread_create(&t, NULL, end_spans, &e);
    pthread_join(t, NULL);
    assert_int_equal(lumen_registry_render_string(&after, &len, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    double sb = metric(before, "lumen_trace_spans_started_total "),
           sa = metric(after, "lumen_trace_spans_started_total ");
    if (sa - sb != 100)
        fail_msg("started before %.0f after %.0f", sb, sa);
    assert_true(metric(after, "lumen_trace_spans_ended_total ") -
                    metric(before, "lumen_trace_spans_ended_total ") ==
                100);
    assert_true(metric(after, "lumen_trace_spans_exported_total ") -
                    metric(before, "lumen_trace_spans_exported_total ") ==
                100);
    metric(after, "lumen_trace_export_failures_total{reason=\"timeout\"} ");
    metric(after, "lumen_trace_spans_dropped_total ");
    /* A real parser accepts the exposition. */
    char cmd[512];
    snprintf(
        cmd, sizeof cmd,
        "%s -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as "
        "p; "
        "n=[f.name for f in p(sys.stdin.read())]; assert \"lumen_trace_spans_started\" in n, n'",
        lt_python());
    char *out = NULL;
    int rc = lt_run(cmd, after, len, &out);
    if (rc != 0)
        fail_msg("%s", out);
    free(out);
    lumen_free(before);
    lumen_free(after);
    th_teardown(&e);
}

static void test_trace_span__provider_oom(void **state)
{
    /* One provider first, so that the once-only registration of the
     * self-metrics (memory kept for the life of the process) is done. */
    lumen_tracer_provider *first;
    assert_int_equal(lumen_tracer_provider_new(&first, NULL), LUMEN_OK);
    lumen_tracer_provider_free(first);
    lt_failalloc_install();
    for (long n = 0;; n++) {
        lt_failalloc_arm(n);
        lumen_tracer_provider *tp = NULL;
        lumen_span_exporter *mem = NULL;
        lumen_span_processor *p = NULL;
        int rc = lumen_tracer_provider_new(&tp, NULL);
        if (rc == LUMEN_OK)
            rc = lumen_memory_exporter_new(&mem);
        if (rc == LUMEN_OK)
            rc = lumen_batch_processor_new(&p, mem, NULL);
        if (rc == LUMEN_OK)
            rc = lumen_tracer_provider_add_processor(tp, p);
        if (rc == LUMEN_OK) {
            lumen_span *s =
                lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", "v"), "s", NULL);
            lumen_span_set_str(s, "k", "v");
            lumen_span_end(s);
        }
        bool triggered = lt_failalloc_triggered();
        lt_failalloc_disarm();
        lumen_tracer_provider_free(tp);
        assert_int_equal(lt_failalloc_live(), 0);
        if (!triggered) {
            assert_int_equal(rc, LUMEN_OK);
            break;
        }
        assert_true(n < 200);
    }
    lt_failalloc_uninstall();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_span__recorded_and_exported),
        cmocka_unit_test(test_trace_span__status_rules),
        cmocka_unit_test(test_trace_span__current_and_tctx),
        cmocka_unit_test(test_trace_span__explicit_and_remote_parent),
        cmocka_unit_test(test_trace_span__unsampled_records_nothing),
        cmocka_unit_test(test_trace_span__traceidratio_matches_go),
        cmocka_unit_test(test_trace_span__parentbased_rules),
        cmocka_unit_test(test_trace_span__sampler_from_env),
        cmocka_unit_test(test_trace_span__limits),
        cmocka_unit_test(test_trace_span__ids_unique_and_fork_reseeds),
        cmocka_unit_test(test_trace_span__resource),
        cmocka_unit_test(test_trace_span__shutdown_and_noop),
        cmocka_unit_test(test_trace_span__sdk_disabled),
        cmocka_unit_test(test_trace_span__times_track_wall_clock),
        cmocka_unit_test(test_trace_span__self_metrics),
        cmocka_unit_test(test_trace_span__provider_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
