/*
 * tests/browser/console_fixture.c: a program whose metrics, spans and logs
 * carry hostile strings, serving the console, for the browser test to
 * check that every page shows them as text; with 70 more families and a
 * 10,000-character HELP text for the metrics page's limits. Prints
 * "port=N" when ready and runs until killed.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lumen/http.h"
#include "lumen/http_console.h"
#include "lumen/lumen.h"

#define HOSTILE_LABEL "<script>alert(1)</script>"
#define HOSTILE_LABEL2 "\"><img src=x onerror=alert(2)>"
#define HOSTILE_SPAN "<img src=x onerror=alert(3)>"
#define HOSTILE_ATTR "<script>alert(4)</script>"
#define HOSTILE_LOG "<script>alert(5)</script>"

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int main(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *labels[] = {"path"};
    o.label_names = labels;
    o.label_count = 1;
    o.help = "Requests by path </script><b>bold</b>";
    lumen_family *fam;
    if (lumen_family_new(&fam, NULL, LUMEN_METRIC_COUNTER, "hostile_requests", &o) != LUMEN_OK)
        return 1;
    const char *v1[] = {HOSTILE_LABEL}, *v2[] = {HOSTILE_LABEL2};
    lumen_counter *c1, *c2;
    lumen_family_counter(&c1, fam, v1, 1);
    lumen_family_counter(&c2, fam, v2, 1);

    /* More families than one series request takes (64), and a HELP text
     * of 10,000 characters without a space: the page must chart them all
     * and wrap the text. */
    lumen_gauge *many[70];
    for (int i = 0; i < 70; i++) {
        char name[32];
        snprintf(name, sizeof name, "many_%02d", i);
        if (lumen_gauge_new(&many[i], NULL, name, "One of many families.") != LUMEN_OK)
            return 1;
        lumen_gauge_set(many[i], i + 1);
    }
    static char long_help[10001];
    for (int i = 0; i < 10000; i++)
        long_help[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
    lumen_counter *lh;
    if (lumen_counter_new(&lh, NULL, "long_help", long_help) != LUMEN_OK)
        return 1;

    lumen_tracer_provider *tp;
    lumen_tracer_provider_options to = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    to.service_name = "fixture<b>";
    lumen_tracer_provider_new(&tp, &to);
    lumen_span_exporter *exp;
    lumen_span_processor *sp;
    lumen_console_span_exporter_new(&exp, "fixture<b>");
    lumen_simple_processor_new(&sp, exp, NULL);
    lumen_tracer_provider_add_processor(tp, sp);
    lumen_tracer *tr = lumen_tracer_provider_get_tracer(tp, "fixture", NULL);

    lumen_log_handler *h;
    lumen_console_log_handler_new(&h, LUMEN_LOG_TRACE);
    lumen_logger *lg = lumen_logger_get("fixture");
    lumen_logger_set_handlers(lg, &h, 1);

    lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    so.addr = "127.0.0.1:0";
    so.flags = LUMEN_HTTP_CONSOLE;
    lumen_http_server *srv;
    if (lumen_http_server_start(&srv, &so) != LUMEN_OK)
        return 1;
    printf("port=%u\n", lumen_http_server_port(srv));
    fflush(stdout);
    while (!stop) {
        lumen_counter_inc(c1);
        lumen_counter_add(c2, 2);
        lumen_counter_inc(lh);
        lumen_span *s = lumen_span_start(tr, HOSTILE_SPAN, NULL);
        lumen_span_enter(s);
        lumen_span_set_str(s, "user.input", HOSTILE_ATTR);
        lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, HOSTILE_ATTR);
        LUMEN_LOG_ERROR(lg, HOSTILE_LOG, LUMEN_STR("field<i>", HOSTILE_LABEL2));
        lumen_span_leave(s);
        lumen_span_end(s);
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
    lumen_http_server_stop(srv);
    lumen_tracer_provider_free(tp);
    return 0;
}
