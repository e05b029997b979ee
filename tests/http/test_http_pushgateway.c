/* tests/http/test_http_pushgateway.c: push, push-add and delete against
 * the real Pushgateway (Debian prometheus-pushgateway), checked through
 * the gateway's own /metrics; and a push the gateway refuses, with its
 * message kept. The gateway applies a DELETE after answering it (202
 * Accepted), so every check polls the gateway until it holds, with a
 * deadline. */
#include "http/http_test.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen/http.h"

static char g_gw[64];
static char g_metrics_url[96];
static pid_t g_pid;
static char *g_dir;

static int setup(void **state)
{
    (void)state;
    if (!lt_have("prometheus-pushgateway"))
        return 0;
    g_dir = lt_tempdir();
    uint16_t port = th_free_port();
    char listen[64], persist[512], log[512];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)port);
    snprintf(persist, sizeof persist, "--persistence.file=%s/pushgateway.data", g_dir);
    snprintf(log, sizeof log, "%s/pushgateway.log", g_dir);
    char *argv[] = {"prometheus-pushgateway", listen, persist, NULL};
    g_pid = th_spawn(argv, log);
    snprintf(g_gw, sizeof g_gw, "http://127.0.0.1:%u", (unsigned)port);
    snprintf(g_metrics_url, sizeof g_metrics_url, "%s/metrics", g_gw);
    char ready[128];
    snprintf(ready, sizeof ready, "%s/-/ready", g_gw);
    if (!th_wait_ready(ready, 15000)) {
        char *l = lt_read_file(log, NULL);
        print_error("pushgateway did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_stop(g_pid);
    if (g_dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        lt_run(cmd, NULL, 0, NULL);
        free(g_dir);
    }
    return 0;
}

/* The gateway's exposition, for looking lines up. */
static char *gateway_metrics(void)
{
    th_resp r;
    assert_int_equal(th_http("GET", g_metrics_url, NULL, NULL, NULL, 5000, &r), 200);
    free(r.headers);
    return r.body;
}

static int has_line(const char *body, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = body; (p = strstr(p, line)) != NULL; p++)
        if ((p == body || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* What the gateway's exposition must have and must not have (NULL-ended). */
typedef struct expect {
    const char *has[3];
    const char *lacks[3];
} expect;

static int holds(const char *body, const expect *e)
{
    for (int i = 0; i < 3 && e->has[i]; i++)
        if (!has_line(body, e->has[i]))
            return 0;
    for (int i = 0; i < 3 && e->lacks[i]; i++)
        if (strstr(body, e->lacks[i]) != NULL)
            return 0;
    return 1;
}

/* Poll the gateway until its exposition holds `e` (10 s at most); fail
 * with the last exposition otherwise. */
static void gateway_until(const char *when, const expect *e)
{
    int64_t deadline = th_now_ms() + 10000;
    for (;;) {
        char *m = gateway_metrics();
        int ok = holds(m, e);
        if (ok || th_now_ms() >= deadline) {
            if (!ok)
                fail_msg("%s, after 10 s:\n%s", when, m);
            free(m);
            return;
        }
        free(m);
        poll(NULL, 0, 50);
    }
}

static void test_http_pushgateway__push_add_delete(void **state)
{
    (void)state;
    if (g_pid <= 0)
        skip();
    lumen_registry *a, *b;
    lumen_counter *jobs;
    lumen_gauge *last, *other;
    assert_int_equal(lumen_registry_new(&a), LUMEN_OK);
    assert_int_equal(lumen_registry_new(&b), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&jobs, a, "lumen_push_jobs", "Jobs run."), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&last, a, "lumen_push_last_success", "Last success."),
                     LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&other, b, "lumen_push_other", "Another gauge."), LUMEN_OK);
    lumen_counter_add(jobs, 3);
    lumen_gauge_set(last, 1700000000);
    lumen_gauge_set(other, 5);

    lumen_label g[] = {{"instance", "host/with/slashes"}, {"stage", "nightly"}};
    lumen_push_options o = LUMEN_PUSH_OPTIONS_INIT;
    lumen_push_result res = LUMEN_PUSH_RESULT_INIT;
    o.url = g_gw;
    o.job = "lumen batch";
    o.grouping = g;
    o.grouping_count = 2;
    o.registries = &a;
    o.registry_count = 1;
    o.timeout_ms = 5000;

    const char *jobs_line = "lumen_push_jobs_total{instance=\"host/with/slashes\","
                            "job=\"lumen batch\",stage=\"nightly\"} 3";
    const char *last_line = "lumen_push_last_success{instance=\"host/with/slashes\","
                            "job=\"lumen batch\",stage=\"nightly\"} 1.7e+09";
    const char *other_line = "lumen_push_other{instance=\"host/with/slashes\","
                             "job=\"lumen batch\",stage=\"nightly\"} 5";

    /* PUT: the group holds a's metrics. */
    assert_int_equal(lumen_push(&res, &o), LUMEN_OK);
    assert_int_equal(res.http_status, 200);
    gateway_until("after push", &(expect){{jobs_line, last_line}, {NULL}});
    char *m = gateway_metrics();
    assert_non_null(strstr(m, "push_time_seconds{instance=\"host/with/slashes\""));
    free(m);

    /* POST: b's metrics join them. */
    o.registries = &b;
    assert_int_equal(lumen_push_add(&res, &o), LUMEN_OK);
    gateway_until("after push-add", &(expect){{jobs_line, other_line}, {NULL}});

    /* PUT with b alone: a's metrics are gone. */
    lumen_gauge_set(other, 6);
    assert_int_equal(lumen_push(&res, &o), LUMEN_OK);
    gateway_until("after a push of b alone",
                  &(expect){{"lumen_push_other{instance=\"host/with/slashes\",job=\"lumen "
                             "batch\",stage=\"nightly\"} 6"},
                            {"lumen_push_jobs_total{"}});

    /* DELETE (202: applied after the answer): the group goes. */
    assert_int_equal(lumen_push_delete(&res, &o), LUMEN_OK);
    assert_int_equal(res.http_status, 202);
    gateway_until("after delete", &(expect){{NULL}, {"lumen_push_other{", "job=\"lumen batch\""}});

    lumen_registry_free(a);
    lumen_registry_free(b);
}

static void test_http_pushgateway__refusal_keeps_message(void **state)
{
    (void)state;
    if (g_pid <= 0)
        skip();
    /* The same name as a counter in one group and a gauge in another is
     * inconsistent, and the gateway refuses the second push. */
    lumen_registry *a, *b;
    lumen_counter *c;
    lumen_gauge *gg;
    assert_int_equal(lumen_registry_new(&a), LUMEN_OK);
    assert_int_equal(lumen_registry_new(&b), LUMEN_OK);
    assert_int_equal(lumen_counter_new(&c, a, "lumen_clash", "A counter."), LUMEN_OK);
    assert_int_equal(lumen_gauge_new(&gg, b, "lumen_clash_total", "A gauge."), LUMEN_OK);
    lumen_push_options o = LUMEN_PUSH_OPTIONS_INIT;
    lumen_push_result res = LUMEN_PUSH_RESULT_INIT;
    o.url = g_gw;
    o.job = "clash_a";
    o.registries = &a;
    o.registry_count = 1;
    assert_int_equal(lumen_push(&res, &o), LUMEN_OK);
    o.job = "clash_b";
    o.registries = &b;
    int rc = lumen_push(&res, &o);
    print_message("gateway said %d: %s\n", (int)res.http_status, res.message);
    assert_int_equal(rc, LUMEN_EHTTP);
    assert_int_equal(res.http_status, 400);
    assert_non_null(strstr(res.message, "lumen_clash_total"));
    o.job = "clash_a";
    assert_int_equal(lumen_push_delete(NULL, &o), LUMEN_OK);
    gateway_until("after delete", &(expect){{NULL}, {"job=\"clash_a\""}});
    lumen_registry_free(a);
    lumen_registry_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_pushgateway__push_add_delete),
        cmocka_unit_test(test_http_pushgateway__refusal_keeps_message),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
