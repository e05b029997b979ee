/* tests/trace/test_trace_correlation.c: the signals meet through the
 * current span: a log line written inside an entered span carries its
 * trace_id and span_id, and a counter that opted in to exemplars records
 * the trace id of the sampled span current at the increment. */
#include "support/support.h"

#include "trace/helpers.h"

static char g_line[4096];

static void capture(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)level, (void)ud;
    size_t n = len < sizeof g_line - 1 ? len : sizeof g_line - 1;
    memcpy(g_line, line, n);
    g_line[n] = '\0';
}

static void test_trace_correlation__log_lines_carry_span_ids(void **state)
{
    th_env e;
    th_setup(&e, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.format = LUMEN_LOG_FORMAT_JSON;
    ho.sink = LUMEN_LOG_SINK_CALLBACK;
    ho.callback = capture;
    ho.flags = LUMEN_LOG_UNBUFFERED;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_handler_new(&h, &ho), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("corr");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);

    lumen_span *s = lumen_span_start(e.tracer, "request", NULL);
    lumen_span_enter(s);
    LUMEN_LOG_INFO(lg, "inside", LUMEN_INT("n", 1));
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, s);
    char tid[33], sid[17], want[128];
    th_hex(tid, sc->trace_id, 16);
    th_hex(sid, sc->span_id, 8);
    snprintf(want, sizeof want, "\"trace_id\":\"%s\"", tid);
    if (strstr(g_line, want) == NULL)
        fail_msg("no %s in %s", want, g_line);
    snprintf(want, sizeof want, "\"span_id\":\"%s\"", sid);
    if (strstr(g_line, want) == NULL)
        fail_msg("no %s in %s", want, g_line);
    lumen_span_leave(s);
    lumen_span_end(s);
    LUMEN_LOG_INFO(lg, "outside", LUMEN_INT("n", 2));
    assert_null(strstr(g_line, "trace_id"));
    th_teardown(&e);
}

static void test_trace_correlation__exemplars_from_current_span(void **state)
{
    th_env e;
    th_setup(&e, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON, 1, NULL, NULL});
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_family_options mo = LUMEN_FAMILY_OPTIONS_INIT;
    mo.help = "Requests.";
    mo.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
    lumen_family *fam;
    assert_int_equal(lumen_family_new(&fam, reg, LUMEN_METRIC_COUNTER, "requests_total", &mo),
                     LUMEN_OK);
    lumen_counter *c;
    assert_int_equal(lumen_family_counter(&c, fam, NULL, 0), LUMEN_OK);
    lumen_span *s = lumen_span_start(e.tracer, "request", NULL);
    lumen_span_enter(s);
    lumen_counter_inc(c);
    lumen_span_leave(s);
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, s);
    lumen_span_end(s);
    char *text;
    size_t len;
    assert_int_equal(lumen_registry_render_string(&text, &len, reg, LUMEN_FORMAT_OPENMETRICS),
                     LUMEN_OK);
    char tid[33], want[96];
    th_hex(tid, sc->trace_id, 16);
    snprintf(want, sizeof want, "trace_id=\"%s\"", tid);
    if (strstr(text, want) == NULL)
        fail_msg("no exemplar %s in\n%s", want, text);
    lumen_free(text);
    lumen_registry_free(reg);
    th_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_correlation__log_lines_carry_span_ids),
        cmocka_unit_test(test_trace_correlation__exemplars_from_current_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
