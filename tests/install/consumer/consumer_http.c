/* A program built against an installed liblumen-http (shared): it starts
 * the endpoint, scrapes itself once with the Pushgateway client's error
 * path, and uses the tracing and logging API across both libraries. */
#include <lumen/http.h>
#include <lumen/http_console.h>
#include <lumen/http_otlp.h>
#include <lumen/lumen.h>
#include <stdio.h>

int main(void)
{
    lumen_counter *c;
    if (lumen_counter_new(&c, NULL, "consumer_runs", "Runs.") != LUMEN_OK)
        return 1;
    lumen_counter_inc(c);
    lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
    o.addr = "127.0.0.1:0";
    o.flags = LUMEN_HTTP_CONSOLE;
    lumen_http_server *srv;
    if (lumen_http_server_start(&srv, &o) != LUMEN_OK)
        return 2;
    lumen_span_exporter *exp;
    if (lumen_console_span_exporter_new(&exp, "consumer") != LUMEN_OK)
        return 3;
    lumen_span_exporter_free(exp);
    lumen_otlp_http_exporter_options oo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    oo.ignore_env = true;
    oo.endpoint = "http://127.0.0.1:1/v1/traces";
    if (lumen_otlp_http_exporter_new(&exp, &oo) != LUMEN_OK)
        return 4;
    lumen_span_exporter_free(exp);
    printf("lumen-http port %u\n", lumen_http_server_port(srv));
    lumen_http_server_stop(srv);
    return 0;
}
