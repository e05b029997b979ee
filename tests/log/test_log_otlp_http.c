/* tests/log/test_log_otlp_http.c: OTLP logs over OTLP/HTTP against the
 * fake collector of the trace tests (tests/trace/fake_collector.py, which
 * decodes /v1/logs too): the OTEL_EXPORTER_OTLP_LOGS_* variables and their
 * OTEL_EXPORTER_OTLP_* fallbacks, protobuf and JSON, gzip, headers;
 * invalid values reported once with their value; a dead, a hung and a
 * refusing collector cost the logging thread nothing (its calls finish
 * while the exporter is stuck or failing) and every loss is counted; and
 * lumen_otlp_logging_init (OTEL_LOGS_EXPORTER) adds to stdout rather than
 * replacing it. */
#include "support/support.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "http/otlp_retry.h"
#include "lumen/http_otlp.h"
#include "lumen/log.h"
#include "lumen/metrics.h"
#include "trace/collector.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- diagnostics ------------------------------------------------------------ */

static pthread_mutex_t diag_mu = PTHREAD_MUTEX_INITIALIZER;
static char diag_text[16384];

static void keep_diag(lumen_diag_level level, const char *msg, void *ud)
{
    (void)level, (void)ud;
    pthread_mutex_lock(&diag_mu);
    size_t n = strlen(diag_text);
    snprintf(diag_text + n, sizeof diag_text - n, "%s\n", msg);
    pthread_mutex_unlock(&diag_mu);
}

static int diag_count(const char *sub)
{
    pthread_mutex_lock(&diag_mu);
    int n = count_substr(diag_text, sub);
    pthread_mutex_unlock(&diag_mu);
    return n;
}

/* ---- helpers ------------------------------------------------------------------ */

static void log_url(char *out, size_t n, const collector *c)
{
    snprintf(out, n, "http://127.0.0.1:%d/v1/logs", c->port);
}

static lumen_log_handler *handler_for(lumen_log_exporter *exp, uint32_t queue, uint32_t batch)
{
    lumen_log_batch_options o = LUMEN_LOG_BATCH_OPTIONS_INIT;
    o.max_queue_size = queue;
    o.max_export_batch_size = batch;
    o.schedule_delay_ms = 5;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_batch_handler_new(&h, exp, &o), LUMEN_OK);
    return h;
}

static lumen_log_batch_stats stats_of(lumen_log_handler *h)
{
    lumen_log_batch_stats s = LUMEN_LOG_BATCH_STATS_INIT;
    assert_int_equal(lumen_log_batch_get_stats(&s, h), LUMEN_OK);
    return s;
}

static void assert_conserved(lumen_log_batch_stats s)
{
    uint64_t sum =
        s.exported + s.failed + s.dropped_queue_full + s.dropped_shutdown + s.queued + s.in_flight;
    if (sum != s.received)
        fail_msg("received %llu != %llu accounted for", (unsigned long long)s.received,
                 (unsigned long long)sum);
}

/* Wait until the collector logged `n` requests (deadline 60 s). */
static void wait_requests(collector *c, int n)
{
    int64_t end = mono_ns() + 60000000000LL;
    while (collector_requests(c) < n && mono_ns() < end)
        pause_ms(5);
    assert_true(collector_requests(c) >= n);
}

typedef struct logging_thread {
    lumen_logger *lg;
    int n;
    atomic_bool done;
} logging_thread;

static void *log_many(void *arg)
{
    logging_thread *t = arg;
    for (int i = 0; i < t->n; i++)
        LUMEN_LOG(t->lg, LUMEN_LOG_INFO, "many", LUMEN_INT("i", i));
    atomic_store(&t->done, true);
    return NULL;
}

/* Log n records from another thread and require the calls to finish by a
 * generous deadline while the exporter is stuck or failing: a logging
 * thread that waited for the collector would never get there. */
static void log_without_waiting(lumen_logger *lg, int n)
{
    logging_thread t = {lg, n, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, log_many, &t), 0);
    int64_t end = mono_ns() + 60000000000LL;
    while (!atomic_load(&t.done) && mono_ns() < end)
        pause_ms(1);
    bool done = atomic_load(&t.done);
    pthread_join(th, NULL);
    assert_true(done);
}

static double metric(const char *series)
{
    char *text = NULL;
    assert_int_equal(lumen_registry_render_string(&text, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    const char *p = strstr(text, series);
    double v = p ? strtod(p + strlen(series), NULL) : -1;
    lumen_free(text);
    return v;
}

/* ---- tests ------------------------------------------------------------------------ */

/* Options only: protobuf to the endpoint given, severity and body of each
 * record as the collector decodes them, the exporter's own counts. */
static void test_log_otlp_http__protobuf_by_options(void **state)
{
    (void)state;
    collector c;
    collector_start(&c, "");
    char url[160];
    log_url(url, sizeof url, &c);
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = url;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, &o, NULL), LUMEN_OK);
    lumen_log_handler *h = handler_for(exp, 64, 16);
    lumen_logger *lg = lumen_logger_get("http.pb");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "first");
    LUMEN_LOG(lg, LUMEN_LOG_ERROR, "second");
    assert_int_equal(lumen_log_flush(30000), LUMEN_OK);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/v1/logs\""));
    assert_non_null(strstr(log, "\"content-type\": \"application/x-protobuf\""));
    assert_non_null(strstr(log, "{\"scope\": \"http.pb\", \"severity\": 9, \"body\": \"first\"}"));
    assert_non_null(
        strstr(log, "{\"scope\": \"http.pb\", \"severity\": 17, \"body\": \"second\"}"));
    free(log);
    lumen_otlp_http_exporter_stats es = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    assert_int_equal(lumen_otlp_http_log_exporter_get_stats(&es, exp), LUMEN_OK);
    assert_int_equal(es.exported_spans, 2);
    assert_int_equal(es.failed_exports, 0);
    lumen_log_batch_stats s = stats_of(h);
    assert_int_equal(s.exported, 2);
    assert_conserved(s);
    assert_true(metric("\nlumen_log_records_exported_total ") >= 2.0);
    lumen_logger_set_handlers(lg, NULL, 0);
    collector_stop(&c);
}

/* The environment: the generic endpoint gets /v1/logs appended; the LOGS_
 * protocol, headers and compression win over the generic ones. */
static void test_log_otlp_http__env_logs_variables_and_fallbacks(void **state)
{
    (void)state;
    collector c;
    collector_start(&c, "");
    char base[160];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", c.port);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "generic=1", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "logs=yes", 1);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "nonsense", 1); /* not read for logs */
    lumen_log_exporter *exp;
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, NULL, NULL), LUMEN_OK);
    lumen_log_handler *h = handler_for(exp, 64, 16);
    lumen_logger *lg = lumen_logger_get("http.env");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG(lg, LUMEN_LOG_WARN, "from env");
    assert_int_equal(lumen_log_flush(30000), LUMEN_OK);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/v1/logs\""));
    assert_non_null(strstr(log, "\"content-type\": \"application/json\""));
    assert_non_null(strstr(log, "\"content-encoding\": \"gzip\""));
    assert_non_null(strstr(log, "\"logs\": \"yes\""));
    assert_null(strstr(log, "\"generic\""));
    assert_non_null(
        strstr(log, "{\"scope\": \"http.env\", \"severity\": 13, \"body\": \"from env\"}"));
    free(log);
    assert_int_equal(diag_count("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), 0);
    /* The per-signal endpoint is used as is, before the generic one. */
    char custom[200];
    snprintf(custom, sizeof custom, "http://127.0.0.1:%d/custom/logs/path", c.port);
    setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", custom, 1);
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, NULL, NULL), LUMEN_OK);
    lumen_log_handler *h2 = handler_for(exp, 64, 16);
    assert_int_equal(lumen_logger_set_handlers(lg, &h2, 1), LUMEN_OK);
    LUMEN_LOG(lg, LUMEN_LOG_WARN, "custom path");
    assert_int_equal(lumen_log_flush(30000), LUMEN_OK);
    log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/custom/logs/path\""));
    free(log);
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS");
    unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL");
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION");
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    lumen_logger_set_handlers(lg, NULL, 0);
    collector_stop(&c);
}

/* Invalid values are reported once each, naming the variable and showing
 * the value, and the default is used. */
static void test_log_otlp_http__invalid_values_reported_once(void **state)
{
    (void)state;
    setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zip", 1);
    setenv("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "soon", 1);
    setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "lots", 1);
    setenv("OTEL_BLRP_SCHEDULE_DELAY", "-5", 1);
    for (int i = 0; i < 2; i++) {
        lumen_log_exporter *exp;
        assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, NULL, NULL), LUMEN_OK);
        lumen_log_handler *h;
        assert_int_equal(lumen_log_batch_handler_new(&h, exp, NULL), LUMEN_OK);
    }
    assert_int_equal(diag_count("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION"), 1);
    assert_int_equal(diag_count("\"zip\""), 1);
    assert_int_equal(diag_count("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"), 1);
    assert_int_equal(diag_count("\"soon\""), 1);
    assert_int_equal(diag_count("OTEL_BLRP_MAX_QUEUE_SIZE"), 1);
    assert_int_equal(diag_count("\"lots\""), 1);
    assert_int_equal(diag_count("OTEL_BLRP_SCHEDULE_DELAY"), 1);
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION");
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT");
    unsetenv("OTEL_BLRP_MAX_QUEUE_SIZE");
    unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
    /* An option that cannot work is an error at creation. */
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = "ftp://example/";
    lumen_log_exporter *exp = NULL;
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, &o, NULL), LUMEN_ECONFIG);
    assert_null(exp);
}

/* https: the collector's certificate is trusted through
 * OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE (the trace exporter's TLS, read with
 * the log variable); without it the export fails and is counted. */
static void test_log_otlp_http__https_with_logs_certificate(void **state)
{
    (void)state;
    if (!lt_have("openssl")) {
        print_message("openssl missing; skipped\n");
        skip();
    }
    char *dir = lt_tempdir();
    char cert[512], key[512], cmd[2048];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    free(dir);
    snprintf(
        cmd, sizeof cmd,
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout '%s' "
        "-out '%s' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>&1",
        key, cert);
    assert_int_equal(lt_run(cmd, "", 0, NULL), 0);
    collector c;
    collector_start_tls(&c, "", cert, key);
    char url[160];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/v1/logs", c.port);
    setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", url, 1);
    for (int trusted = 1; trusted >= 0; trusted--) {
        if (trusted)
            setenv("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", cert, 1);
        else
            unsetenv("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE");
        lumen_log_exporter *exp;
        assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, NULL, NULL), LUMEN_OK);
        lumen_log_handler *h = handler_for(exp, 64, 16);
        char name[32];
        snprintf(name, sizeof name, "tls.%d", trusted);
        lumen_logger *lg = lumen_logger_get(name);
        assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
        LUMEN_LOG(lg, LUMEN_LOG_INFO, "secure");
        lumen_log_flush(30000);
        lumen_log_batch_stats st = stats_of(h);
        assert_int_equal(st.exported, trusted ? 1 : 0);
        assert_int_equal(st.failed, trusted ? 0 : 1);
        lumen_logger_set_handlers(lg, NULL, 0);
    }
    unsetenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    char *log = collector_log(&c);
    assert_int_equal(count_substr(log, "\"body\": \"secure\""), 1);
    free(log);
    collector_stop(&c);
}

/* A partial success (ExportLogsServiceResponse.partial_success): the
 * rejected records are counted by the exporter and reported, not retried;
 * the JSON form names them rejectedLogRecords. */
static void test_log_otlp_http__partial_success(void **state)
{
    (void)state;
    collector c;
    collector_start(&c, "partial=2");
    char url[160];
    log_url(url, sizeof url, &c);
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = url;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, &o, NULL), LUMEN_OK);
    lumen_log_handler *h = handler_for(exp, 64, 16);
    lumen_logger *lg = lumen_logger_get("partial");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    for (int i = 0; i < 3; i++)
        LUMEN_LOG(lg, LUMEN_LOG_INFO, "maybe");
    assert_int_equal(lumen_log_flush(30000), LUMEN_OK);
    lumen_otlp_http_exporter_stats es = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    assert_int_equal(lumen_otlp_http_log_exporter_get_stats(&es, exp), LUMEN_OK);
    assert_int_equal(es.requests, 1);
    assert_int_equal(es.rejected_spans, 2);
    assert_int_equal(es.exported_spans, 1);
    assert_int_equal(diag_count("OTLP partial success: 2 log records rejected: too old"), 1);
    lumen_logger_set_handlers(lg, NULL, 0);
    collector_stop(&c);
    char msg[64];
    const char *body = "{\"partialSuccess\":{\"rejectedLogRecords\":\"4\",\"errorMessage\":\"x\"}}";
    assert_int_equal(lumen__otlp_partial_success(body, strlen(body), true, msg, sizeof msg), 4);
    assert_string_equal(msg, "x");
}

typedef struct bad_peer {
    const char *name;
    const char *script; /* NULL: nothing listens */
} bad_peer;

/* A dead, a hung and a refusing collector: the logging thread's calls all
 * finish while the exporter fails or hangs, and every record is counted. */
static void against(const bad_peer *p)
{
    collector c;
    char url[160];
    collector_start(&c, p->script ? p->script : "");
    log_url(url, sizeof url, &c);
    if (p->script == NULL)
        collector_stop(&c); /* the port is closed now: connections are refused */
    lumen_otlp_http_exporter_options o = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    o.ignore_env = true;
    o.endpoint = url;
    o.timeout_ms = 500;
    o.max_attempts = 3;
    o.initial_backoff_ms = 10;
    o.max_backoff_ms = 20;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_otlp_http_log_exporter_new(&exp, &o, NULL), LUMEN_OK);
    lumen_log_handler *h = handler_for(exp, 64, 16);
    char name[64];
    snprintf(name, sizeof name, "bad.%s", p->name);
    lumen_logger *lg = lumen_logger_get(name);
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    bool hang = p->script != NULL && strncmp(p->script, "hang", 4) == 0;
    if (hang) {
        /* The first export hangs in the collector while the thread logs. */
        LUMEN_LOG(lg, LUMEN_LOG_INFO, "first");
        wait_requests(&c, 1);
    }
    log_without_waiting(lg, 5000);
    lumen_log_flush(30000); /* within the 500 ms export budget per batch */
    lumen_log_batch_stats s = stats_of(h);
    assert_conserved(s);
    assert_int_equal(s.exported, 0);
    assert_true(s.failed > 0);
    assert_true(s.dropped_queue_full > 0);
    lumen_otlp_http_exporter_stats es = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    assert_int_equal(lumen_otlp_http_log_exporter_get_stats(&es, exp), LUMEN_OK);
    assert_true(es.failed_exports > 0);
    if (p->script == NULL)
        assert_true(es.fail_connect > 0);
    else if (hang)
        assert_true(es.fail_timeout > 0);
    else
        assert_int_equal(es.retries, 0); /* 400 is not retried */
    assert_true(metric("lumen_log_records_dropped_total{reason=\"export_failure\"} ") >=
                (double)s.failed);
    assert_true(metric("lumen_log_records_dropped_total{reason=\"queue_full\"} ") >=
                (double)s.dropped_queue_full);
    lumen_logger_set_handlers(lg, NULL, 0);
    collector_stop(&c);
}

static void test_log_otlp_http__dead_collector(void **state)
{
    (void)state;
    bad_peer p = {"dead", NULL};
    against(&p);
}

static void test_log_otlp_http__hung_collector(void **state)
{
    (void)state;
    char script[4096] = "";
    for (int i = 0; i < 600; i++)
        strcat(script, i ? ",hang" : "hang");
    bad_peer p = {"hung", script};
    against(&p);
}

static void test_log_otlp_http__refusing_collector(void **state)
{
    (void)state;
    /* Every request refused (the script's answers outlast the test). */
    char script[4096] = "";
    for (int i = 0; i < 600; i++)
        strcat(script, i ? ",400" : "400");
    bad_peer p = {"refusing", script};
    against(&p);
}

/* OTEL_LOGS_EXPORTER: none adds nothing; console adds a handler that
 * writes OTLP/JSON lines to standard output while the stdout handler keeps
 * writing its own lines; an unknown value is reported once and otlp used. */
static void test_log_otlp_http__logging_init(void **state)
{
    (void)state;
    lumen_log_handler *h = (lumen_log_handler *)1;
    setenv("OTEL_LOGS_EXPORTER", "none", 1);
    assert_int_equal(lumen_otlp_logging_init(&h, NULL), LUMEN_OK);
    assert_null(h);

    char *dir = lt_tempdir();
    char path[600];
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    free(dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 1);
    close(fd);
    lumen_log_reopen(); /* the stdout handler looks at fd 1 again */
    setenv("OTEL_LOGS_EXPORTER", "console", 1);
    assert_int_equal(lumen_otlp_logging_init(&h, NULL), LUMEN_OK);
    assert_non_null(h);
    lumen_logger *root = lumen_logger_get(NULL);
    LUMEN_LOG(root, LUMEN_LOG_ERROR, "to both");
    assert_int_equal(lumen_log_flush(30000), LUMEN_OK);
    dup2(saved, 1);
    close(saved);
    lumen_log_reopen();
    size_t len;
    char *out = lt_read_file(path, &len);
    assert_non_null(out);
    /* The stdout handler's JSON line, and the console exporter's request. */
    assert_non_null(strstr(out, "\"msg\":\"to both\""));
    assert_non_null(strstr(out, "{\"resourceLogs\":[{\"resource\":{\"attributes\":["));
    assert_non_null(strstr(out, "\"body\":{\"stringValue\":\"to both\"}"));
    free(out);
    lumen_log_batch_stats s = stats_of(h);
    assert_int_equal(s.exported, 1);

    /* Standard output's reader is gone and SIGPIPE keeps its default
     * action (it would kill this test): both handlers' writes fail, and
     * the console exporter's failure is counted. */
    lt_closed_stdout cs = lt_stdout_to_closed_pipe();
    lumen_log_reopen();
    LUMEN_LOG(root, LUMEN_LOG_ERROR, "to nobody");
    (void)lumen_log_flush(30000);
    assert_true(lt_stdout_restore(cs));
    lumen_log_reopen();
    s = stats_of(h);
    assert_int_equal(s.exported, 1);
    assert_int_equal(s.failed, 1);

    setenv("OTEL_LOGS_EXPORTER", "carrier-pigeon", 1);
    lumen_log_handler *h2 = NULL;
    assert_int_equal(lumen_otlp_logging_init(&h2, NULL), LUMEN_OK);
    assert_non_null(h2);
    assert_int_equal(diag_count("OTEL_LOGS_EXPORTER"), 1);
    assert_int_equal(diag_count("\"carrier-pigeon\""), 1);
    unsetenv("OTEL_LOGS_EXPORTER");
}

static int group_setup(void **state)
{
    (void)state;
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_otlp_http__protobuf_by_options),
        cmocka_unit_test(test_log_otlp_http__env_logs_variables_and_fallbacks),
        cmocka_unit_test(test_log_otlp_http__invalid_values_reported_once),
        cmocka_unit_test(test_log_otlp_http__https_with_logs_certificate),
        cmocka_unit_test(test_log_otlp_http__partial_success),
        cmocka_unit_test(test_log_otlp_http__dead_collector),
        cmocka_unit_test(test_log_otlp_http__hung_collector),
        cmocka_unit_test(test_log_otlp_http__refusing_collector),
        cmocka_unit_test(test_log_otlp_http__logging_init),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
