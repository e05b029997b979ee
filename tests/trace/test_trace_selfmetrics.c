/* tests/trace/test_trace_selfmetrics.c: where the trace layer's own
 * families (lumen_trace_*) go, as lumen_self_metrics_configure says: the
 * default registry, the program's registry, or nowhere; and a clash with a
 * family of the program's, reported once through the diagnostics hook
 * however many providers are made. The layer registers once per process,
 * so each scenario runs in a child forked from this process, which never
 * makes a provider itself. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lumen/metrics.h"
#include "lumen/trace.h"

static char g_diag[8192];
static int g_clash_msgs;

static void keep_diag(lumen_diag_level level, const char *msg, void *ud)
{
    (void)level, (void)ud;
    size_t n = strlen(g_diag);
    snprintf(g_diag + n, sizeof g_diag - n, "%s\n", msg);
    if (strstr(msg, "lumen_trace_") != NULL)
        g_clash_msgs++;
}

static bool rendered(lumen_registry *r, const char *needle)
{
    char *s = NULL;
    bool found = lumen_registry_render_string(&s, NULL, r, LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK &&
                 strstr(s, needle) != NULL;
    lumen_free(s);
    return found;
}

/* A provider with a simple processor over a memory exporter, one sampled
 * span started and ended in it. */
static lumen_tracer_provider *provider_with_one_span(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    lumen_tracer_provider *tp = NULL;
    lumen_span_exporter *e = NULL;
    lumen_span_processor *p = NULL;
    if (lumen_tracer_provider_new(&tp, &o) != LUMEN_OK ||
        lumen_memory_exporter_new(&e) != LUMEN_OK ||
        lumen_simple_processor_new(&p, e, NULL) != LUMEN_OK ||
        lumen_tracer_provider_add_processor(tp, p) != LUMEN_OK)
        return NULL;
    lumen_span_end(lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL));
    return tp;
}

/* Exit codes: 0 passed, else the number of the check that failed. */
#define CHECK(n, cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "check %d failed: %s\n%s", n, #cond, g_diag);                          \
            return n;                                                                              \
        }                                                                                          \
    } while (0)

static int scenario_clash_reported_once(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_gauge *mine;
    CHECK(1, lumen_gauge_new(&mine, NULL, "lumen_trace_spans_exported", "Mine.") == LUMEN_OK);
    lumen_tracer_provider *tp[3];
    for (int i = 0; i < 3; i++)
        CHECK(2, (tp[i] = provider_with_one_span()) != NULL);
    /* Once, naming the family, for the three providers. */
    CHECK(3, g_clash_msgs == 1);
    CHECK(4, strstr(g_diag, "lumen_trace_spans_exported") != NULL);
    /* The program's family keeps its name; the layer's stay off. */
    CHECK(5, rendered(NULL, "# HELP lumen_trace_spans_exported Mine.\n"));
    CHECK(6, !rendered(NULL, "lumen_trace_spans_started_total"));
    for (int i = 0; i < 3; i++)
        lumen_tracer_provider_free(tp[i]);
    CHECK(7, g_clash_msgs == 1);
    return 0;
}

static int scenario_program_registry(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_registry *reg;
    CHECK(1, lumen_registry_new(&reg) == LUMEN_OK);
    lumen_self_metrics_options o = LUMEN_SELF_METRICS_OPTIONS_INIT;
    o.registry = reg;
    CHECK(2, lumen_self_metrics_configure(&o) == LUMEN_OK);
    lumen_tracer_provider *tp = provider_with_one_span();
    CHECK(3, tp != NULL);
    CHECK(4, rendered(reg, "lumen_trace_spans_ended_total 1\n"));
    CHECK(5, rendered(reg, "lumen_trace_spans_exported_total 1\n"));
    CHECK(6, !rendered(NULL, "lumen_trace_"));
    CHECK(7, g_clash_msgs == 0);
    lumen_tracer_provider_free(tp);
    return 0;
}

static int scenario_off(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    lumen_self_metrics_options o = LUMEN_SELF_METRICS_OPTIONS_INIT;
    o.flags = LUMEN_SELF_METRICS_NO_TRACE;
    CHECK(1, lumen_self_metrics_configure(&o) == LUMEN_OK);
    lumen_tracer_provider *tp = provider_with_one_span();
    CHECK(2, tp != NULL);
    CHECK(3, !rendered(NULL, "lumen_trace_"));
    /* The names are the program's: no clash, nothing said. */
    lumen_counter *c;
    CHECK(4, lumen_counter_new(&c, NULL, "lumen_trace_spans_started", "Mine.") == LUMEN_OK);
    CHECK(5, g_clash_msgs == 0);
    lumen_tracer_provider_free(tp);
    return 0;
}

static void run_child(int (*scenario)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(scenario());
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_trace_selfmetrics__clash_reported_once(void **state)
{
    (void)state;
    run_child(scenario_clash_reported_once);
}

static void test_trace_selfmetrics__program_registry(void **state)
{
    (void)state;
    run_child(scenario_program_registry);
}

static void test_trace_selfmetrics__off(void **state)
{
    (void)state;
    run_child(scenario_off);
}

int main(void)
{
    unsetenv("LUMEN_SELF_METRICS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_selfmetrics__clash_reported_once),
        cmocka_unit_test(test_trace_selfmetrics__program_registry),
        cmocka_unit_test(test_trace_selfmetrics__off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
