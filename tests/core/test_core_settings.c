/* tests/core/test_core_settings.c: invalid settings are never silent.
 * Every OTEL_* and LUMEN_* variable lumen reads, given an invalid value,
 * is reported once (however often it is read), with its value and what is
 * used instead, on standard error when no diagnostics hook is installed,
 * as the OpenTelemetry SDKs do; OTEL_LOG_LEVEL=none silences that; a hook
 * takes the reports instead of standard error. Each scenario runs in a
 * fresh process (this binary with a mode argument) whose standard error
 * the test reads. */
#include "support/support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "http/console_store.h"
#include "lumen/http.h"
#include "lumen/http_otlp.h"

extern char **environ;
static const char *self_path;

/* ---- the child: read every setting, twice ---------------------------------- */

static int hook_calls;
static char hook_text[16384];

static void hook(lumen_diag_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    hook_calls++;
    size_t n = strlen(hook_text);
    snprintf(hook_text + n, sizeof hook_text - n, "%s\n", msg);
}

static void read_everything(void)
{
    for (int round = 0; round < 2; round++) {
        lumen_logger *root = lumen_logger_get(NULL); /* LUMEN_LOG_LEVEL */
        (void)root;
        lumen_log_handler *h;
        lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
        ho.sink = LUMEN_LOG_SINK_FD;
        ho.fd = 1;
        if (lumen_log_handler_new(&h, &ho) != LUMEN_OK) /* LUMEN_LOG_FORMAT */
            exit(10);
        lumen_tracer_provider *tp; /* OTEL_TRACES_SAMPLER(_ARG), limits, resource */
        if (lumen_tracer_provider_new(&tp, NULL) != LUMEN_OK)
            exit(11);
        lumen_span_exporter *mem;
        lumen_memory_exporter_new(&mem);
        lumen_span_processor *bp; /* OTEL_BSP_* */
        if (lumen_batch_processor_new(&bp, mem, NULL) != LUMEN_OK)
            exit(12);
        lumen_span_processor_free(bp);
        lumen_tracer_provider_free(tp);
        lumen_span_exporter *otlp = NULL; /* OTEL_EXPORTER_OTLP_* */
        if (lumen_otlp_http_exporter_new(&otlp, NULL) == LUMEN_OK)
            lumen_span_exporter_free(otlp);
        lumen_tracer_provider *tp2 = NULL; /* OTEL_TRACES_EXPORTER */
        if (lumen_otlp_tracing_init(&tp2) == LUMEN_OK) {
            lumen_tracer_provider_set_global(NULL);
            lumen_tracer_provider_free(tp2);
        }
        lumen_log_exporter *lexp = NULL; /* OTEL_EXPORTER_OTLP_LOGS_* */
        if (lumen_otlp_http_log_exporter_new(&lexp, NULL, NULL) == LUMEN_OK) {
            lumen_log_handler *lh; /* OTEL_BLRP_* */
            if (lumen_log_batch_handler_new(&lh, lexp, NULL) != LUMEN_OK)
                exit(13);
        }
        lumen_log_handler *otlp_logs = NULL; /* OTEL_LOGS_EXPORTER */
        (void)lumen_otlp_logging_init(&otlp_logs, NULL);
        lumen_http_server_options so = LUMEN_HTTP_SERVER_OPTIONS_INIT; /* LUMEN_METRICS_* */
        (void)lumen_http_server_options_from_env(&so);
        lumen_registry_default();       /* LUMEN_PROCESS_METRICS */
        lumen__buf b = LUMEN__BUF_INIT; /* LUMEN_CONSOLE_PEERS */
        lumen__console_peer_array("/api/traces", "traces", 0, &b);
        lumen__buf_free(&b);
    }
}

/* A routine diagnostic (not a notice): a span ended twice. */
static int child_double_end(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    lumen_tracer_provider *tp;
    if (lumen_tracer_provider_new(&tp, &o) != LUMEN_OK)
        return 10;
    lumen_span_exporter *mem;
    lumen_memory_exporter_new(&mem);
    lumen_span_processor *p;
    lumen_simple_processor_new(&p, mem, NULL);
    lumen_tracer_provider_add_processor(tp, p);
    lumen_span *s = lumen_span_start(lumen_tracer_provider_get_tracer(tp, "t", NULL), "s", NULL);
    lumen_span_end(s);
    lumen_span_end(s); /* the record is still the provider's: only reported */
    lumen_tracer_provider_free(tp);
    return 0;
}

static int child(const char *mode)
{
    if (strcmp(mode, "--double-end") == 0)
        return child_double_end();
    if (strcmp(mode, "--hook") == 0)
        lumen_set_diag_hook(LUMEN_DIAG_DEBUG, hook, NULL);
    read_everything();
    if (strcmp(mode, "--hook") == 0) {
        /* The reports reached the hook (the parent checks that stderr
         * stayed empty); print them for the parent to check. */
        fputs(hook_text, stdout);
        return hook_calls > 0 ? 0 : 20;
    }
    return 0;
}

/* ---- the parent ------------------------------------------------------------- */

/* Run this binary in `mode` with only the given lumen variables set;
 * return its standard error (and its standard output in *out). */
static char *run(const char *mode, const char *const *vars, char **out)
{
    char errp[] = "/tmp/lumen-settings-err-XXXXXX", outp[] = "/tmp/lumen-settings-out-XXXXXX";
    int efd = mkstemp(errp), ofd = mkstemp(outp);
    assert_true(efd >= 0 && ofd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Start from an environment without OTEL_* or LUMEN_* settings. */
        for (char **e = environ; *e != NULL;) {
            if (strncmp(*e, "OTEL_", 5) == 0 ||
                (strncmp(*e, "LUMEN_", 6) == 0 && strncmp(*e, "LUMEN_SOURCE_DIR=", 17) != 0 &&
                 strncmp(*e, "LUMEN_BINARY_DIR=", 17) != 0)) {
                char name[256];
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)n, *e);
                unsetenv(name);
                e = environ;
                continue;
            }
            e++;
        }
        for (size_t i = 0; vars[i] != NULL; i++)
            putenv((char *)vars[i]);
        dup2(efd, 2);
        dup2(ofd, 1);
        execl(self_path, self_path, mode, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(efd);
    close(ofd);
    size_t n;
    char *err = lt_read_file(errp, &n);
    char *o = lt_read_file(outp, &n);
    unlink(errp);
    unlink(outp);
    assert_non_null(err);
    assert_non_null(o);
    if (out != NULL)
        *out = o;
    else
        free(o);
    return err;
}

static int count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub))
        n++;
    return n;
}

static int lines(const char *s)
{
    return count(s, "\n");
}

/* NAME=VALUE as set, and what the report must contain. */
typedef struct setting {
    const char *env;
    const char *shown; /* the report's text: invalid NAME="VALUE" */
} setting;

static const setting first[] = {
    {"LUMEN_LOG_LEVEL=loud", "invalid LUMEN_LOG_LEVEL=\"loud\": "},
    {"LUMEN_LOG_FORMAT=yaml", "invalid LUMEN_LOG_FORMAT=\"yaml\": "},
    {"OTEL_LOG_LEVEL=loud", "invalid OTEL_LOG_LEVEL=\"loud\": "},
    {"OTEL_TRACES_SAMPLER=sometimes", "invalid OTEL_TRACES_SAMPLER=\"sometimes\": "},
    {"OTEL_SDK_DISABLED=maybe", "invalid OTEL_SDK_DISABLED=\"maybe\": "},
    {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=-3", "invalid OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=\"-3\": "},
    {"OTEL_ATTRIBUTE_COUNT_LIMIT=lots", "invalid OTEL_ATTRIBUTE_COUNT_LIMIT=\"lots\": "},
    {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=1e9",
     "invalid OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=\"1e9\": "},
    {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=x", "invalid OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=\"x\": "},
    {"OTEL_SPAN_EVENT_COUNT_LIMIT=99999999999",
     "invalid OTEL_SPAN_EVENT_COUNT_LIMIT=\"99999999999\": "},
    {"OTEL_SPAN_LINK_COUNT_LIMIT=ten", "invalid OTEL_SPAN_LINK_COUNT_LIMIT=\"ten\": "},
    {"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=-1", "invalid OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=\"-1\": "},
    {"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT=0x10", "invalid OTEL_LINK_ATTRIBUTE_COUNT_LIMIT=\"0x10\": "},
    {"OTEL_RESOURCE_ATTRIBUTES=a=1,broken,b=%zz",
     "invalid OTEL_RESOURCE_ATTRIBUTES=\"a=1,broken,b=%zz\": "},
    {"OTEL_BSP_MAX_QUEUE_SIZE=0", "invalid OTEL_BSP_MAX_QUEUE_SIZE=\"0\": "},
    {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE=big", "invalid OTEL_BSP_MAX_EXPORT_BATCH_SIZE=\"big\": "},
    {"OTEL_BSP_SCHEDULE_DELAY=-5", "invalid OTEL_BSP_SCHEDULE_DELAY=\"-5\": "},
    {"OTEL_BSP_EXPORT_TIMEOUT=30s", "invalid OTEL_BSP_EXPORT_TIMEOUT=\"30s\": "},
    {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "invalid OTEL_EXPORTER_OTLP_PROTOCOL=\"grpc\": "},
    {"OTEL_EXPORTER_OTLP_COMPRESSION=zstd", "invalid OTEL_EXPORTER_OTLP_COMPRESSION=\"zstd\": "},
    {"OTEL_EXPORTER_OTLP_TIMEOUT=soon", "invalid OTEL_EXPORTER_OTLP_TIMEOUT=\"soon\": "},
    /* Headers carry credentials: the report names the variable only. */
    {"OTEL_EXPORTER_OTLP_HEADERS=api-key=secret,novalue",
     "invalid OTEL_EXPORTER_OTLP_HEADERS=\"(not shown)\": "},
    {"OTEL_TRACES_EXPORTER=zipkin", "invalid OTEL_TRACES_EXPORTER=\"zipkin\": "},
    {"LUMEN_METRICS_ADDR=nowhere", "invalid LUMEN_METRICS_ADDR=\"nowhere\": "},
    {"LUMEN_METRICS_MAX_CONNECTIONS=0", "invalid LUMEN_METRICS_MAX_CONNECTIONS=\"0\": "},
    {"LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT=x",
     "invalid LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT=\"x\": "},
    {"LUMEN_METRICS_CONNECTION_TIMEOUT=-1", "invalid LUMEN_METRICS_CONNECTION_TIMEOUT=\"-1\": "},
    {"LUMEN_METRICS_MAX_SCRAPES=2000", "invalid LUMEN_METRICS_MAX_SCRAPES=\"2000\": "},
    {"LUMEN_METRICS_THREADS=many", "invalid LUMEN_METRICS_THREADS=\"many\": "},
    {"LUMEN_METRICS_MAX_HEADER_BYTES=10", "invalid LUMEN_METRICS_MAX_HEADER_BYTES=\"10\": "},
    {"LUMEN_METRICS_SCRAPE_TIMEOUT=forever", "invalid LUMEN_METRICS_SCRAPE_TIMEOUT=\"forever\": "},
    {"LUMEN_METRICS_GZIP=yes", "invalid LUMEN_METRICS_GZIP=\"yes\": "},
    {"LUMEN_METRICS_TLS_CERT_FILE=/nonexistent/cert.pem",
     "invalid LUMEN_METRICS_TLS_CERT_FILE=\"/nonexistent/cert.pem\": "},
    {"LUMEN_PROCESS_METRICS=perhaps", "invalid LUMEN_PROCESS_METRICS=\"perhaps\": "},
    {"LUMEN_CONSOLE_PEERS=ftp://peer:1", "invalid LUMEN_CONSOLE_PEERS=\"ftp://peer:1\": "},
};

/* The per-signal variants, the ratio, and a value that needs escaping. */
static const setting second[] = {
    {"OTEL_TRACES_SAMPLER=traceidratio", NULL},
    {"OTEL_TRACES_SAMPLER_ARG=1.5", "invalid OTEL_TRACES_SAMPLER_ARG=\"1.5\": "},
    {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc",
     "invalid OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=\"grpc\": "},
    {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=br",
     "invalid OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=\"br\": "},
    {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=1.5",
     "invalid OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=\"1.5\": "},
    {"OTEL_EXPORTER_OTLP_TRACES_HEADERS==x",
     "invalid OTEL_EXPORTER_OTLP_TRACES_HEADERS=\"(not shown)\": "},
    {"LUMEN_LOG_FORMAT=\x1b[31m\"red\"", "invalid LUMEN_LOG_FORMAT=\"\\x1b[31m\\\"red\\\"\": "},
};

static const setting third[] = {
    {"OTEL_TRACES_SAMPLER=parentbased_traceidratio", NULL},
    {"OTEL_TRACES_SAMPLER_ARG=half", "invalid OTEL_TRACES_SAMPLER_ARG=\"half\": "},
    /* An endpoint that cannot work fails the exporter's creation, and is
     * reported too. */
    {"OTEL_EXPORTER_OTLP_ENDPOINT=ftp://collector:4318",
     "invalid OTEL_EXPORTER_OTLP_ENDPOINT=\"ftp://collector:4318\": "},
};

/* The log signal's own variables (OTLP logs). */
static const setting logs[] = {
    {"OTEL_LOGS_EXPORTER=syslog", "invalid OTEL_LOGS_EXPORTER=\"syslog\": "},
    {"OTEL_BLRP_MAX_QUEUE_SIZE=0", "invalid OTEL_BLRP_MAX_QUEUE_SIZE=\"0\": "},
    {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=big", "invalid OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=\"big\": "},
    {"OTEL_BLRP_SCHEDULE_DELAY=-5", "invalid OTEL_BLRP_SCHEDULE_DELAY=\"-5\": "},
    {"OTEL_BLRP_EXPORT_TIMEOUT=30s", "invalid OTEL_BLRP_EXPORT_TIMEOUT=\"30s\": "},
    {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=grpc",
     "invalid OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=\"grpc\": "},
    {"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=br",
     "invalid OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=\"br\": "},
    {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=1.5", "invalid OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=\"1.5\": "},
    {"OTEL_EXPORTER_OTLP_LOGS_HEADERS==x",
     "invalid OTEL_EXPORTER_OTLP_LOGS_HEADERS=\"(not shown)\": "},
};

static void check_each_once(const setting *set, size_t n)
{
    const char *vars[64];
    for (size_t i = 0; i < n; i++)
        vars[i] = set[i].env;
    vars[n] = NULL;
    char *err = run("--child", vars, NULL);
    size_t reported = 0;
    for (size_t i = 0; i < n; i++) {
        if (set[i].shown == NULL)
            continue;
        reported++;
        char want[512];
        snprintf(want, sizeof want, "lumen: warning: %s", set[i].shown);
        if (count(err, want) != 1)
            fail_msg("expected one line with '%s', got %d; stderr:\n%s", want, count(err, want),
                     err);
    }
    /* Nothing else: each report is one line, and every line says what is
     * used instead. */
    assert_int_equal(lines(err), (int)reported);
    for (const char *l = err; *l != '\0'; l = strchr(l, '\n') + 1) {
        const char *e = strchr(l, '\n');
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(e - l), l);
        if (strstr(line, "using") == NULL && strstr(line, "ignored") == NULL &&
            strstr(line, "left as it was") == NULL && strstr(line, "not configured") == NULL &&
            strstr(line, "no exporter") == NULL)
            fail_msg("a report that does not say what is used instead: %s", line);
    }
    free(err);
}

static void test_core_settings__each_invalid_reported_once_on_stderr(void **state)
{
    (void)state;
    check_each_once(first, LUMEN_ARRAY_LEN(first));
    check_each_once(second, LUMEN_ARRAY_LEN(second));
    check_each_once(third, LUMEN_ARRAY_LEN(third));
    check_each_once(logs, LUMEN_ARRAY_LEN(logs));
}

static void test_core_settings__otel_log_level_none_silences(void **state)
{
    (void)state;
    const char *vars[LUMEN_ARRAY_LEN(first) + 1];
    size_t n = 0;
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(first); i++)
        if (strncmp(first[i].env, "OTEL_LOG_LEVEL=", 15) != 0)
            vars[n++] = first[i].env;
    vars[n++] = "OTEL_LOG_LEVEL=none";
    vars[n] = NULL;
    char *err = run("--child", vars, NULL);
    assert_string_equal(err, "");
    free(err);
}

static void test_core_settings__hook_takes_the_reports(void **state)
{
    (void)state;
    const char *vars[LUMEN_ARRAY_LEN(first) + 1];
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(first); i++)
        vars[i] = first[i].env;
    vars[LUMEN_ARRAY_LEN(first)] = NULL;
    char *out = NULL;
    char *err = run("--hook", vars, &out);
    assert_string_equal(err, "");
    /* The hook got each report once, without the "lumen: level:" prefix. */
    assert_int_equal(count(out, "invalid LUMEN_LOG_FORMAT=\"yaml\": "), 1);
    assert_int_equal(count(out, "invalid OTEL_TRACES_SAMPLER=\"sometimes\": "), 1);
    assert_int_equal(count(out, "invalid LUMEN_METRICS_GZIP=\"yes\": "), 1);
    free(err);
    free(out);
}

/* Without OTEL_LOG_LEVEL only notices reach stderr; with a level, every
 * diagnostic at that level and above does, as in the OpenTelemetry SDKs. */
static void test_core_settings__otel_log_level_selects_what_stderr_gets(void **state)
{
    (void)state;
    static const char *const unset[] = {NULL};
    static const char *const warn[] = {"OTEL_LOG_LEVEL=warn", NULL};
    static const char *const error[] = {"OTEL_LOG_LEVEL=ERROR", NULL};
    char *err = run("--double-end", unset, NULL);
    assert_string_equal(err, "");
    free(err);
    err = run("--double-end", warn, NULL);
    assert_string_equal(err, "lumen: warning: lumen_span_end called twice on a span\n");
    free(err);
    err = run("--double-end", error, NULL);
    assert_string_equal(err, "");
    free(err);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1)
        return child(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_settings__each_invalid_reported_once_on_stderr),
        cmocka_unit_test(test_core_settings__otel_log_level_none_silences),
        cmocka_unit_test(test_core_settings__hook_takes_the_reports),
        cmocka_unit_test(test_core_settings__otel_log_level_selects_what_stderr_gets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
