/* tests/metrics/test_metrics_otlp_http.c: the OTLP metrics reader against
 * the fake collector of the trace tests (tests/trace/fake_collector.py,
 * which decodes /v1/metrics too): protobuf by options; the
 * OTEL_EXPORTER_OTLP_METRICS_* variables and their OTEL_EXPORTER_OTLP_*
 * fallbacks, JSON, gzip, headers, OTEL_METRIC_EXPORT_INTERVAL driving the
 * periodic exports; invalid values reported once with their value; a
 * dead, a hung and a refusing collector cost the updating threads nothing
 * (their updates finish while the reader is stuck or failing), every
 * failure is counted with the points it dropped, and free is bounded;
 * lumen_otlp_metrics_init (OTEL_METRICS_EXPORTER). */
#include "support/support.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "lumen/http_otlp.h"
#include "lumen/metrics.h"
#include "lumen/otlp.h"
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

static const char *const ENV[] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof ENV / sizeof *ENV; i++)
        unsetenv(ENV[i]);
}

/* A registry of a counter with two series and a gauge: three points. */
static lumen_registry *three_points(lumen_counter **out)
{
    lumen_registry *r;
    assert_int_equal(lumen_registry_new(&r), LUMEN_OK);
    lumen_family *fam;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *lab[] = {"path"};
    o.label_names = lab;
    o.label_count = 1;
    assert_int_equal(lumen_family_new(&fam, r, LUMEN_METRIC_COUNTER, "hits", &o), LUMEN_OK);
    lumen_counter *c;
    const char *a[] = {"/a"}, *b[] = {"/b"};
    assert_int_equal(lumen_family_counter(&c, fam, a, 1), LUMEN_OK);
    lumen_counter_inc(c);
    assert_int_equal(lumen_family_counter(&c, fam, b, 1), LUMEN_OK);
    lumen_counter_add(c, 2);
    if (out != NULL)
        *out = c;
    lumen_gauge *g;
    assert_int_equal(lumen_gauge_new(&g, r, "level", "Level."), LUMEN_OK);
    lumen_gauge_set(g, 4);
    return r;
}

static lumen_otlp_metrics_reader_stats stats_of(lumen_otlp_metrics_reader *rd)
{
    lumen_otlp_metrics_reader_stats s = LUMEN_OTLP_METRICS_READER_STATS_INIT;
    assert_int_equal(lumen_otlp_metrics_reader_get_stats(&s, rd), LUMEN_OK);
    return s;
}

/* A reader of reg sending to url with the environment ignored. */
static lumen_otlp_metrics_reader *reader_to(lumen_registry *reg, const char *url,
                                            uint32_t timeout_ms)
{
    lumen_otlp_http_exporter_options eo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    eo.ignore_env = true;
    eo.endpoint = url;
    eo.initial_backoff_ms = 10;
    eo.max_backoff_ms = 50;
    lumen_otlp_metrics_reader_options o = LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.ignore_env = true;
    o.registries = &reg;
    o.nregistries = 1;
    o.interval_ms = 3600000; /* exports only when flushed */
    o.timeout_ms = timeout_ms;
    o.exporter = &eo;
    o.scope_name = "reader.test";
    lumen_otlp_metrics_reader *rd;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_OK);
    return rd;
}

/* A sample of the default registry (the self-metrics), -1 when absent. */
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

static void test_metrics_otlp_http__protobuf_by_options(void **state)
{
    (void)state;
    collector c;
    collector_start(&c, "");
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    lumen_registry *reg = three_points(NULL);
    lumen_otlp_metrics_reader *rd = reader_to(reg, url, 30000);
    assert_int_equal(lumen_otlp_metrics_reader_force_flush(rd, 60000), LUMEN_OK);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/v1/metrics\""));
    assert_non_null(strstr(log, "\"content-type\": \"application/x-protobuf\""));
    assert_non_null(strstr(
        log, "{\"scope\": \"reader.test\", \"name\": \"hits\", \"kind\": 7, \"points\": 2}"));
    assert_non_null(strstr(
        log, "{\"scope\": \"reader.test\", \"name\": \"level\", \"kind\": 5, \"points\": 1}"));
    free(log);
    lumen_otlp_metrics_reader_stats s = stats_of(rd);
    assert_int_equal(s.exports_ok, 1);
    assert_int_equal(s.points_exported, 3);
    assert_int_equal(s.exports_failed, 0);
    assert_int_equal(s.points_dropped, 0);
    assert_int_equal(s.last_status, 200);
    assert_true(metric("\nlumen_otlp_metrics_points_exported_total ") >= 3);
    assert_true(metric("\nlumen_otlp_metrics_exports_total{result=\"ok\"} ") >= 1);
    /* free exports once more (the final collection) */
    lumen_otlp_metrics_reader_free(rd);
    assert_int_equal(collector_requests(&c), 2);
    lumen_registry_free(reg);
    collector_stop(&c);
}

/* The environment: the generic endpoint gets /v1/metrics appended; the
 * METRICS_ protocol, headers and compression win over the generic ones;
 * OTEL_METRIC_EXPORT_INTERVAL drives exports without any flush. */
static void test_metrics_otlp_http__env_variables_and_fallbacks(void **state)
{
    (void)state;
    clear_env();
    collector c;
    collector_start(&c, "");
    char base[160];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", c.port);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "generic=1", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "metrics=yes", 1);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "nonsense", 1); /* not read for metrics */
    setenv("OTEL_METRIC_EXPORT_INTERVAL", "20", 1);
    lumen_registry *reg = three_points(NULL);
    lumen_otlp_metrics_reader_options o = LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.registries = &reg;
    o.nregistries = 1;
    lumen_otlp_metrics_reader *rd;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_OK);
    int64_t end = mono_ns() + 60000000000LL;
    /* the reader counts an export once the collector's answer is in */
    while ((collector_requests(&c) < 3 || stats_of(rd).exports_ok < 3) && mono_ns() < end)
        pause_ms(5);
    assert_true(collector_requests(&c) >= 3);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"path\": \"/v1/metrics\""));
    assert_non_null(strstr(log, "\"content-type\": \"application/json\""));
    assert_non_null(strstr(log, "\"content-encoding\": \"gzip\""));
    assert_non_null(strstr(log, "\"metrics\": \"yes\""));
    assert_null(strstr(log, "\"generic\""));
    assert_non_null(
        strstr(log, "{\"scope\": \"lumen\", \"name\": \"hits\", \"kind\": 7, \"points\": 2}"));
    assert_null(strstr(log, "\"error\""));
    free(log);
    assert_true(stats_of(rd).exports_ok >= 3);
    lumen_otlp_metrics_reader_free(rd);
    lumen_registry_free(reg);
    clear_env();
    collector_stop(&c);
}

/* Invalid values: reported once each, with the value, and the defaults used. */
static void test_metrics_otlp_http__invalid_values_reported_once(void **state)
{
    (void)state;
    clear_env();
    collector c;
    collector_start(&c, "");
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url, 1);
    setenv("OTEL_METRIC_EXPORT_INTERVAL", "soon", 1);
    setenv("OTEL_METRIC_EXPORT_TIMEOUT", "-5", 1);
    setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sideways", 1);
    setenv("OTEL_METRICS_EXPORTER", "carrier-pigeon", 1);
    for (int i = 0; i < 2; i++) {
        lumen_otlp_metrics_reader *rd;
        assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
        assert_non_null(rd);
        assert_int_equal(lumen_otlp_metrics_reader_force_flush(rd, 60000), LUMEN_OK);
        lumen_otlp_metrics_reader_free(rd);
    }
    assert_int_equal(diag_count("OTEL_METRIC_EXPORT_INTERVAL"), 1);
    assert_int_equal(diag_count("soon"), 1);
    assert_int_equal(diag_count("OTEL_METRIC_EXPORT_TIMEOUT"), 1);
    assert_int_equal(diag_count("-5"), 1);
    assert_int_equal(diag_count("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"), 1);
    assert_int_equal(diag_count("sideways"), 1);
    assert_int_equal(diag_count("expected cumulative, delta or lowmemory"), 1);
    assert_int_equal(diag_count("carrier-pigeon"), 1);
    /* The default registry went to the endpoint: OTLP was used. */
    assert_true(collector_requests(&c) >= 2);
    clear_env();
    collector_stop(&c);
}

static int collect_jobs(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    lumen_collect_family(s, LUMEN_METRIC_COUNTER, "jobs", "Jobs done.", NULL);
    return lumen_collect_sample(s, "", NULL, 0, 12);
}

/* OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE read by the reader (and
 * so by lumen_otlp_metrics_init): delta makes the registered counter and
 * the collector's counter DELTA; lowmemory (by options, the variable
 * ignored) only the registered one; the gauge has none. The collector
 * decodes each request's temporality. */
static void test_metrics_otlp_http__temporality_preference(void **state)
{
    (void)state;
    clear_env();
    collector c;
    collector_start(&c, "");
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    lumen_registry *reg = three_points(NULL);
    assert_int_equal(lumen_registry_add_collector(NULL, reg, NULL, collect_jobs, NULL), LUMEN_OK);
    lumen_otlp_http_exporter_options eo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    eo.ignore_env = true;
    eo.endpoint = url;
    lumen_otlp_metrics_reader_options o = LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.registries = &reg;
    o.nregistries = 1;
    o.interval_ms = 3600000;
    o.exporter = &eo;
    setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", " Delta ", 1);
    lumen_otlp_metrics_reader *rd;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_OK);
    assert_int_equal(lumen_otlp_metrics_reader_force_flush(rd, 60000), LUMEN_OK);
    lumen_otlp_metrics_reader_free(rd);
    char *log = collector_log(&c);
    assert_non_null(strstr(log, "\"name\": \"hits\", \"kind\": 7, \"points\": 2, "
                                "\"temporality\": \"delta\"}"));
    assert_non_null(strstr(log, "\"name\": \"jobs\", \"kind\": 7, \"points\": 1, "
                                "\"temporality\": \"delta\"}"));
    assert_non_null(strstr(log, "\"name\": \"level\", \"kind\": 5, \"points\": 1}"));
    free(log);
    collector_stop(&c);

    collector_start(&c, "");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    o.ignore_env = true; /* the variable (delta) is not read */
    o.temporality = LUMEN_OTLP_TEMPORALITY_LOWMEMORY;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_OK);
    assert_int_equal(lumen_otlp_metrics_reader_force_flush(rd, 60000), LUMEN_OK);
    lumen_otlp_metrics_reader_free(rd);
    log = collector_log(&c);
    assert_non_null(strstr(log, "\"name\": \"hits\", \"kind\": 7, \"points\": 2, "
                                "\"temporality\": \"delta\"}"));
    assert_non_null(strstr(log, "\"name\": \"jobs\", \"kind\": 7, \"points\": 1}"));
    assert_null(strstr(log, "\"name\": \"jobs\", \"kind\": 7, \"points\": 1, "));
    free(log);
    collector_stop(&c);

    o.temporality = (lumen_otlp_temporality)4;
    rd = (void *)1;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_EINVAL);
    assert_null(rd);
    lumen_registry_free(reg);
    clear_env();
}

/* OTEL_METRICS_EXPORTER: none and prometheus start nothing (prometheus
 * says so once); console writes one OTLP/JSON line per export. */
static void test_metrics_otlp_http__init_exporters(void **state)
{
    (void)state;
    clear_env();
    lumen_otlp_metrics_reader *rd = (lumen_otlp_metrics_reader *)1;
    setenv("OTEL_METRICS_EXPORTER", "none", 1);
    assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
    assert_null(rd);
    setenv("OTEL_METRICS_EXPORTER", "prometheus", 1);
    assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
    assert_null(rd);
    assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
    assert_int_equal(diag_count("OTEL_METRICS_EXPORTER=prometheus"), 1);

    setenv("OTEL_METRICS_EXPORTER", "console", 1);
    lumen_counter *c;
    assert_int_equal(lumen_counter_new(&c, NULL, "console_probe", "Probe."), LUMEN_OK);
    lumen_counter_add(c, 41);
    char *dir = lt_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/stdout", dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 1);
    close(fd);
    assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
    assert_non_null(rd);
    int rc = lumen_otlp_metrics_reader_force_flush(rd, 60000);
    lumen_otlp_metrics_reader_free(rd);
    dup2(saved, 1);
    close(saved);
    assert_int_equal(rc, LUMEN_OK);
    size_t len = 0;
    char *text = lt_read_file(path, &len);
    assert_non_null(text);
    /* two lines (the flush and free's last export), each a request */
    assert_int_equal(count_substr(text, "\n"), 2);
    assert_int_equal(count_substr(text, "{\"resourceMetrics\":[{\"resource\":{"), 2);
    assert_non_null(strstr(text, "\"name\":\"console_probe\""));
    assert_non_null(strstr(text, "\"asDouble\":41"));
    free(text);
    free(dir);

    /* Standard output's reader is gone and SIGPIPE keeps its default
     * action (it would kill this test): the exports fail and are counted. */
    lt_closed_stdout cs = lt_stdout_to_closed_pipe();
    assert_int_equal(lumen_otlp_metrics_init(&rd, NULL), LUMEN_OK);
    assert_non_null(rd);
    rc = lumen_otlp_metrics_reader_force_flush(rd, 60000);
    lumen_otlp_metrics_reader_stats st = LUMEN_OTLP_METRICS_READER_STATS_INIT;
    assert_int_equal(lumen_otlp_metrics_reader_get_stats(&st, rd), LUMEN_OK);
    lumen_otlp_metrics_reader_free(rd);
    assert_true(lt_stdout_restore(cs));
    assert_int_not_equal(rc, LUMEN_OK);
    assert_true(st.exports_failed >= 1);
    clear_env();
}

/* Update from another thread while the reader is stuck or failing: the
 * updates must finish by a generous deadline (an updater that waited for
 * the collector would not), and the reader's failures are counted. */
typedef struct updater {
    lumen_counter *c;
    atomic_bool done;
} updater;

static void *update_many(void *arg)
{
    updater *u = arg;
    for (int i = 0; i < 200000; i++)
        lumen_counter_inc(u->c);
    atomic_store(&u->done, true);
    return NULL;
}

static void check_failure(const char *script, const char *url_or_null, int want_rc,
                          uint32_t timeout_ms)
{
    collector c = {0};
    char url[160];
    if (url_or_null == NULL) {
        collector_start(&c, script);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    } else {
        snprintf(url, sizeof url, "%s", url_or_null);
    }
    lumen_counter *ctr;
    lumen_registry *reg = three_points(&ctr);
    double dropped0 =
        metric("\nlumen_otlp_metrics_points_dropped_total{reason=\"export_failure\"} ");
    double failed0 = metric("\nlumen_otlp_metrics_exports_total{result=\"failed\"} ");
    lumen_otlp_metrics_reader *rd = reader_to(reg, url, timeout_ms);
    updater u = {ctr, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, update_many, &u), 0);
    int rc = lumen_otlp_metrics_reader_force_flush(rd, 60000);
    int64_t end = mono_ns() + 60000000000LL;
    while (!atomic_load(&u.done) && mono_ns() < end)
        pause_ms(1);
    bool done = atomic_load(&u.done);
    pthread_join(th, NULL);
    assert_true(done);
    assert_int_equal(rc, want_rc);
    assert_true(lumen_counter_value(ctr) >= 200002.0);
    lumen_otlp_metrics_reader_stats s = stats_of(rd);
    assert_int_equal(s.exports_ok, 0);
    assert_int_equal(s.exports_failed, 1);
    assert_int_equal(s.points_dropped, 3);
    assert_int_equal(s.points_exported, 0);
    assert_int_equal(s.fail_http, want_rc == LUMEN_EHTTP);
    assert_int_equal(s.fail_connect, want_rc == LUMEN_ECONNECT);
    assert_int_equal(s.fail_timeout, want_rc == LUMEN_ETIMEDOUT);
    /* ... and in the self-metrics, which sum every reader */
    assert_true(metric("\nlumen_otlp_metrics_points_dropped_total{reason=\"export_failure\"} ") >=
                dropped0 + 3);
    assert_true(metric("\nlumen_otlp_metrics_exports_total{result=\"failed\"} ") >= failed0 + 1);
    /* free: the last export, bounded by the reader's timeout. */
    int64_t t0 = mono_ns();
    lumen_otlp_metrics_reader_free(rd);
    int64_t took_ms = (mono_ns() - t0) / 1000000;
    if (took_ms > (int64_t)timeout_ms + 20000)
        fail_msg("free took %lld ms with a timeout of %u ms", (long long)took_ms, timeout_ms);
    lumen_registry_free(reg);
    if (url_or_null == NULL)
        collector_stop(&c);
}

static void test_metrics_otlp_http__refusing_collector(void **state)
{
    (void)state;
    check_failure("400,400", NULL, LUMEN_EHTTP, 30000);
}

static void test_metrics_otlp_http__hung_collector(void **state)
{
    (void)state;
    check_failure("hang,hang", NULL, LUMEN_ETIMEDOUT, 1000);
}

static void test_metrics_otlp_http__dead_collector(void **state)
{
    (void)state;
    /* A port that was just listening and is closed now. */
    collector c;
    collector_start(&c, "");
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/metrics", c.port);
    collector_stop(&c);
    check_failure(NULL, url, LUMEN_ECONNECT, 3000);
}

/* Encoding while other threads update, create and remove series (what
 * the reader does while the program runs): every encode succeeds, and the
 * stable series' value never goes back. Under TSan (label threads) this
 * also checks that the reads race with nothing. */
typedef struct churner {
    lumen_family *fam;
    lumen_counter *stable;
    atomic_bool stop;
} churner;

static void *churn(void *arg)
{
    churner *ch = arg;
    for (unsigned i = 0; !atomic_load(&ch->stop); i++) {
        char v[32];
        snprintf(v, sizeof v, "s%u", i % 50);
        const char *vals[] = {v};
        lumen_counter *c;
        if (lumen_family_counter(&c, ch->fam, vals, 1) == LUMEN_OK)
            lumen_counter_inc(c);
        if (i % 7 == 0)
            lumen_family_remove(ch->fam, vals, 1);
        lumen_counter_inc(ch->stable);
    }
    return NULL;
}

static void test_metrics_otlp_http__encode_while_updating(void **state)
{
    (void)state;
    lumen_registry *reg;
    assert_int_equal(lumen_registry_new(&reg), LUMEN_OK);
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    const char *lab[] = {"k"};
    o.label_names = lab;
    o.label_count = 1;
    churner ch = {0};
    assert_int_equal(lumen_family_new(&ch.fam, reg, LUMEN_METRIC_COUNTER, "churn", &o), LUMEN_OK);
    const char *st[] = {"stable"};
    assert_int_equal(lumen_family_counter(&ch.stable, ch.fam, st, 1), LUMEN_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn, &ch), 0);
    double last = -1;
    for (int i = 0; i < 200; i++) {
        char *body = NULL;
        size_t len = 0, pts = 0;
        assert_int_equal(
            lumen_otlp_encode_metrics(&body, &len, &pts, LUMEN_OTLP_JSON, &reg, 1, NULL, NULL),
            LUMEN_OK);
        const char *p = strstr(body, "{\"stringValue\":\"stable\"}}]");
        assert_non_null(p);
        p = strstr(p, "\"asDouble\":");
        assert_non_null(p);
        double v = strtod(p + 11, NULL);
        assert_true(v >= last);
        last = v;
        assert_true(pts >= 1);
        lumen_free(body);
    }
    atomic_store(&ch.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    lumen_registry_free(reg);
}

static void test_metrics_otlp_http__arguments(void **state)
{
    (void)state;
    lumen_otlp_metrics_reader *rd = (lumen_otlp_metrics_reader *)1;
    assert_int_equal(lumen_otlp_metrics_reader_new(NULL, NULL), LUMEN_EINVAL);
    lumen_otlp_metrics_reader_options o = LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.nregistries = 2; /* and no array */
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_EINVAL);
    assert_null(rd);
    o.nregistries = 0;
    o.version = 99;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_EVERSION);
    lumen_otlp_http_exporter_options eo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    eo.ignore_env = true;
    eo.endpoint = "ftp://x/";
    o = (lumen_otlp_metrics_reader_options)LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.exporter = &eo;
    assert_int_equal(lumen_otlp_metrics_reader_new(&rd, &o), LUMEN_ECONFIG);
    assert_int_equal(lumen_otlp_metrics_reader_force_flush(NULL, 1), LUMEN_EINVAL);
    assert_int_equal(lumen_otlp_metrics_reader_get_stats(NULL, NULL), LUMEN_EINVAL);
    lumen_otlp_metrics_reader_free(NULL);
    lumen_otlp_metrics_reader_stats s;
    assert_int_equal(lumen_otlp_metrics_reader_stats_init(&s, 1), LUMEN_OK);
    assert_int_equal(lumen_otlp_metrics_reader_stats_init(&s, 2), LUMEN_EVERSION);
}

int main(void)
{
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, keep_diag, NULL);
    clear_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_otlp_http__protobuf_by_options),
        cmocka_unit_test(test_metrics_otlp_http__env_variables_and_fallbacks),
        cmocka_unit_test(test_metrics_otlp_http__invalid_values_reported_once),
        cmocka_unit_test(test_metrics_otlp_http__init_exporters),
        cmocka_unit_test(test_metrics_otlp_http__temporality_preference),
        cmocka_unit_test(test_metrics_otlp_http__refusing_collector),
        cmocka_unit_test(test_metrics_otlp_http__hung_collector),
        cmocka_unit_test(test_metrics_otlp_http__dead_collector),
        cmocka_unit_test(test_metrics_otlp_http__encode_while_updating),
        cmocka_unit_test(test_metrics_otlp_http__arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
