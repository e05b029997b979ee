/* tests/log/test_log_otlp.c: log records as OTLP. The batch handler's
 * records encoded by lumen_otlp_encode_logs and read back by real peers:
 * `protoc --decode` against tests/log/otlp_logs.proto (written from the
 * OTLP field numbers), the OpenTelemetry JS protobuf definitions, and
 * Python's JSON parser for OTLP/JSON; every field round-trips (severity,
 * body, each attribute type, ids, flags, timestamps, scope, resource). And
 * the batch handler itself: a stuck exporter costs the logging thread
 * nothing (the calls finish while it is stuck), every drop is counted by
 * reason in its stats and in lumen_log_records_dropped_total, and
 * shutdown is bounded. */
#include "support/support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/otlp.h"
#include "lumen/trace.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- an exporter that encodes each batch while the records live ---------- */

typedef struct capture {
    pthread_mutex_t mu;
    lumen_tracer_provider *tp;
    char *pb, *json; /* the last batch, both encodings */
    size_t pb_len, json_len;
    size_t records;
    int64_t first_time_ns;
    int64_t lineno; /* the code.lineno field, read with the record readers */
    char logger[64];
} capture;

static int cap_export(void *ud, const lumen_log_record *const *recs, size_t n, int64_t dl)
{
    capture *c = ud;
    (void)dl;
    pthread_mutex_lock(&c->mu);
    lumen_free(c->pb);
    lumen_free(c->json);
    assert_int_equal(
        lumen_otlp_encode_logs(&c->pb, &c->pb_len, LUMEN_OTLP_PROTOBUF, recs, n, c->tp), LUMEN_OK);
    assert_int_equal(
        lumen_otlp_encode_logs(&c->json, &c->json_len, LUMEN_OTLP_JSON, recs, n, c->tp), LUMEN_OK);
    c->records += n;
    c->first_time_ns = lumen_log_record_get_time_ns(recs[0]);
    snprintf(c->logger, sizeof c->logger, "%s", lumen_log_record_get_logger(recs[0]));
    for (size_t i = 0; i < lumen_log_record_get_field_count(recs[0]); i++) {
        lumen_field f;
        assert_true(lumen_log_record_get_field(&f, recs[0], i));
        if (strcmp(f.key, "code.lineno") == 0)
            c->lineno = f.v.i;
    }
    pthread_mutex_unlock(&c->mu);
    return LUMEN_OK;
}

static lumen_log_handler *capture_handler(capture *c, lumen_tracer_provider *tp, bool source)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->tp = tp;
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    ops.export_records = cap_export;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_log_exporter_new(&exp, &ops, c), LUMEN_OK);
    lumen_log_batch_options o = LUMEN_LOG_BATCH_OPTIONS_INIT;
    o.schedule_delay_ms = 60000; /* exported by the flush only */
    o.flags = source ? LUMEN_LOG_SOURCE : 0;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_batch_handler_new(&h, exp, &o), LUMEN_OK);
    return h;
}

static lumen_tracer_provider *provider(void)
{
    lumen_tracer_provider_options o = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    o.ignore_env = true;
    o.service_name = "log-svc";
    lumen_tracer_provider *tp;
    assert_int_equal(lumen_tracer_provider_new(&tp, &o), LUMEN_OK);
    return tp;
}

static const unsigned char raw_bytes[3] = {0x01, 0x02, 0xff};

/* One record of every field type, inside a sampled span, through a child
 * logger with a bound field; the span's ids come back in *tid, *sid. */
static void log_one(lumen_tracer_provider *tp, lumen_logger *lg, char tid[33], char sid[17],
                    int *flags)
{
    lumen_tracer *t = lumen_tracer_provider_get_tracer(tp, "t", NULL);
    lumen_span *s = lumen_span_start(t, "op", NULL);
    lumen_span_enter(s);
    lumen_span_context *sc;
    assert_int_equal(lumen_span_context_new(&sc), LUMEN_OK);
    lumen_span_get_context(sc, s);
    uint8_t ti[16], si[8];
    lumen_span_context_ids(ti, si, sc);
    *flags = lumen_span_context_flags(sc);
    for (int i = 0; i < 16; i++)
        sprintf(tid + 2 * i, "%02x", ti[i]);
    for (int i = 0; i < 8; i++)
        sprintf(sid + 2 * i, "%02x", si[i]);
    lumen_span_context_free(sc);
    lumen_field bound = lumen_field_str("tenant", "acme");
    lumen_logger *child;
    assert_int_equal(lumen_logger_with(&child, lg, &bound, 1), LUMEN_OK);
    LUMEN_LOG(child, LUMEN_LOG_WARN, "disk \xff almost full",
              LUMEN_STR("path", "/var/\xc3\xa9t\xe9"), LUMEN_INT("neg", -42),
              lumen_field_uint("big", UINT64_MAX), lumen_field_uint("small", 7),
              lumen_field_float("ratio", 0.25), lumen_field_bool("ok", true),
              lumen_field_bytes("raw", raw_bytes, 3), lumen_field_status("rc", LUMEN_EINVAL));
    lumen_logger_free(child);
    lumen_span_leave(s);
    lumen_span_end(s);
}

typedef struct fixture {
    lumen_tracer_provider *tp;
    capture cap;
    lumen_logger *lg;
    char tid[33], sid[17];
    int flags;
} fixture;

static fixture F;

static int group_setup(void **state)
{
    (void)state;
    F.tp = provider();
    F.lg = lumen_logger_get("app.db");
    lumen_log_handler *h = capture_handler(&F.cap, F.tp, true);
    /* Only the batch handler: the test's stdout stays quiet. */
    assert_int_equal(lumen_logger_set_handlers(F.lg, &h, 1), LUMEN_OK);
    log_one(F.tp, F.lg, F.tid, F.sid, &F.flags);
    assert_int_equal(lumen_log_flush(10000), LUMEN_OK);
    assert_int_equal(F.cap.records, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    lumen_free(F.cap.pb);
    lumen_free(F.cap.json);
    lumen_tracer_provider_free(F.tp);
    return 0;
}

static void test_log_otlp__protoc_decodes_every_field(void **state)
{
    (void)state;
    if (!lt_have("protoc")) {
        print_message("protoc missing; skipped\n");
        skip();
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest "
             "-I %s/tests/log otlp_logs.proto",
             lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, F.cap.pb, F.cap.pb_len, &out);
    if (rc != 0)
        fail_msg("protoc rc %d:\n%s", rc, out);
    char want[256];
    const char *lines[] = {
        "key: \"service.name\"",
        "string_value: \"log-svc\"",
        "name: \"app.db\"",
        "severity_number: SEVERITY_NUMBER_WARN",
        "severity_text: \"WARN\"",
        /* the invalid byte repaired to U+FFFD, which protoc prints in octal */
        "string_value: \"disk \\357\\277\\275 almost full\"",
        "key: \"tenant\"",
        "string_value: \"acme\"",
        "string_value: \"/var/\\303\\251t\\357\\277\\275\"",
        "int_value: -42",
        "string_value: \"18446744073709551615\"",
        "int_value: 7",
        "double_value: 0.25",
        "bool_value: true",
        "bytes_value: \"\\001\\002\\377\"",
        "string_value: \"LUMEN_EINVAL\"",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        if (strstr(out, lines[i]) == NULL)
            fail_msg("missing %s in:\n%s", lines[i], out);
    snprintf(want, sizeof want, "flags: %d", F.flags);
    assert_non_null(strstr(out, want));
    assert_true(F.flags & 1); /* sampled */
    snprintf(want, sizeof want,
             "key: \"code.function\"\n        value {\n          string_value: "
             "\"log_one\"");
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "time_unix_nano: %lld", (long long)F.cap.first_time_ns);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "observed_time_unix_nano: %lld", (long long)F.cap.first_time_ns);
    assert_non_null(strstr(out, want));
    free(out);
    /* The ids as bytes: --decode_raw shows fields 9 and 10 of the record,
     * as a string, or as a message when the random bytes happen to parse
     * as one (a loaded TSan run met a trace id that did). */
    assert_int_equal(lt_run("protoc --decode_raw", F.cap.pb, F.cap.pb_len, &out), 0);
    if (strstr(out, " 9: \"") == NULL && strstr(out, " 9 {") == NULL)
        fail_msg("no field 9 (trace id) in:\n%s", out);
    if (strstr(out, " 10: \"") == NULL && strstr(out, " 10 {") == NULL)
        fail_msg("no field 10 (span id) in:\n%s", out);
    free(out);
}

/* A logger's name is any bytes; as an OTLP scope name (a protobuf
 * string) it is repaired to UTF-8, which protoc checks. */
static void test_log_otlp__scope_name_is_utf8(void **state)
{
    (void)state;
    if (!lt_have("protoc")) {
        print_message("protoc missing; skipped\n");
        skip();
    }
    static capture c;
    lumen_log_handler *h = capture_handler(&c, NULL, false);
    lumen_logger *lg = lumen_logger_get("bad\xffname");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "x");
    assert_int_equal(lumen_log_flush(10000), LUMEN_OK);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "protoc --decode=opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest "
             "-I %s/tests/log otlp_logs.proto",
             lt_source_dir());
    char *out = NULL;
    int rc = lt_run(cmd, c.pb, c.pb_len, &out);
    if (rc != 0 || strstr(out, "name: \"bad\\357\\277\\275name\"") == NULL)
        fail_msg("protoc rc %d:\n%s", rc, out);
    free(out);
    assert_non_null(strstr(c.json, "{\"scope\":{\"name\":\"bad\xef\xbf\xbdname\"}"));
    lumen_free(c.pb);
    lumen_free(c.json);
    c.pb = c.json = NULL;
    lumen_logger_set_handlers(lg, NULL, 0);
}

/* The handler's level: records below it are not taken (nor counted). */
static void test_log_otlp__handler_level(void **state)
{
    (void)state;
    static capture c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    ops.export_records = cap_export;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_log_exporter_new(&exp, &ops, &c), LUMEN_OK);
    lumen_log_batch_options o = LUMEN_LOG_BATCH_OPTIONS_INIT;
    o.level = LUMEN_LOG_WARN;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_batch_handler_new(&h, exp, &o), LUMEN_OK);
    lumen_logger *lg = lumen_logger_get("levels");
    assert_int_equal(lumen_logger_add_handler(lg, h), LUMEN_OK);
    assert_int_equal(lumen_logger_add_handler(lg, h), LUMEN_OK); /* once only */
    /* A value over LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES is cut there. */
    size_t max = LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES;
    char *huge = malloc(2 * max + 3);
    assert_non_null(huge);
    huge[0] = '"';
    memset(huge + 1, 'y', 2 * max);
    huge[2 * max + 1] = '\0';
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "below");
    LUMEN_LOG(lg, LUMEN_LOG_ERROR, "above", LUMEN_STRN("huge", huge + 1, 2 * max));
    assert_int_equal(lumen_log_flush(10000), LUMEN_OK);
    assert_int_equal(c.records, 1);
    assert_non_null(strstr(c.json, "\"above\""));
    huge[max + 1] = '"';
    huge[max + 2] = '\0';
    assert_non_null(strstr(c.json, huge)); /* "yyy...y" of max bytes */
    huge[max + 1] = 'y';
    assert_null(strstr(c.json, huge)); /* and no more */
    free(huge);
    lumen_log_batch_stats s = LUMEN_LOG_BATCH_STATS_INIT;
    assert_int_equal(lumen_log_batch_get_stats(&s, h), LUMEN_OK);
    assert_int_equal(s.received, 1);
    assert_int_equal(s.exported, 1);
    lumen_logger *child;
    assert_int_equal(lumen_logger_with(&child, lg, NULL, 0), LUMEN_OK);
    assert_int_equal(lumen_logger_add_handler(child, h), LUMEN_EINVAL);
    assert_int_equal(lumen_logger_add_handler(NULL, h), LUMEN_EINVAL);
    assert_int_equal(lumen_logger_add_handler(lg, NULL), LUMEN_EINVAL);
    lumen_logger_free(child);
    lumen_logger_set_handlers(lg, NULL, 0);
    lumen_free(c.pb);
    lumen_free(c.json);
    c.pb = c.json = NULL;
}

static void test_log_otlp__decoded_by_opentelemetry_js(void **state)
{
    (void)state;
    char dir[512], cmd[2048];
    snprintf(dir, sizeof dir, "%s/tests/trace/js", lt_source_dir());
    snprintf(cmd, sizeof cmd, "test -d '%s/node_modules/@opentelemetry/otlp-transformer'", dir);
    if (!lt_have("node") || lt_run(cmd, "", 0, NULL) != 0) {
        print_message("node or %s/node_modules missing (scripts/deps.sh test installs them); "
                      "skipped\n",
                      dir);
        skip();
    }
    snprintf(cmd, sizeof cmd, "node '%s/decode_logs.js'", dir);
    char *out = NULL;
    int rc = lt_run(cmd, F.cap.pb, F.cap.pb_len, &out);
    char want[2048];
    long long t = (long long)F.cap.first_time_ns;
    snprintf(
        want, sizeof want,
        "{\"service\":\"log-svc\",\"scope\":\"app.db\",\"time\":\"%lld\",\"observed\":\"%lld\","
        "\"severity\":13,\"text\":\"WARN\",\"body\":{\"s\":\"disk \xef\xbf\xbd almost full\"},"
        "\"attrs\":{\"tenant\":{\"s\":\"acme\"},\"path\":{\"s\":\"/var/\xc3\xa9t\xef\xbf\xbd\"},"
        "\"neg\":{\"i\":\"-42\"},\"big\":{\"s\":\"18446744073709551615\"},"
        "\"small\":{\"i\":\"7\"},\"ratio\":{\"d\":0.25},\"ok\":{\"b\":true},"
        "\"raw\":{\"x\":\"0102ff\"},\"rc\":{\"s\":\"LUMEN_EINVAL\"},"
        "\"code.filepath\":{\"s\":\"%s\"},\"code.lineno\":{\"i\":\"%lld\"},"
        "\"code.function\":{\"s\":\"log_one\"}},"
        "\"traceId\":\"%s\",\"spanId\":\"%s\",\"flags\":%d}\n",
        t, t, __FILE__, (long long)F.cap.lineno, F.tid, F.sid, F.flags);
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("node rc %d:\n%s\nwanted:\n%s", rc, out, want);
    free(out);
}

/* OTLP/JSON: hex ids, 64-bit integers as strings, enums as numbers, bytes
 * in base64, read back by Python's json module. */
static void test_log_otlp__json_round_trips(void **state)
{
    (void)state;
    const char *py =
        "import json,sys,base64\n"
        "r=json.load(sys.stdin)\n"
        "rl=r['resourceLogs'][0]\n"
        "res={a['key']:a['value'] for a in rl['resource']['attributes']}\n"
        "sl=rl['scopeLogs'][0]\n"
        "lr=sl['logRecords'][0]\n"
        "a={x['key']:x['value'] for x in lr['attributes']}\n"
        "print(res['service.name']['stringValue'],sl['scope']['name'],lr['timeUnixNano'],"
        "lr['observedTimeUnixNano'],lr['severityNumber'],lr['severityText'],"
        "lr['body']['stringValue'].encode().hex(),lr['traceId'],lr['spanId'],lr['flags'],"
        "a['neg']['intValue'],a['big']['stringValue'],a['small']['intValue'],"
        "a['ratio']['doubleValue'],a['ok']['boolValue'],base64.b64decode(a['raw']['bytesValue'])"
        ".hex(),a['rc']['stringValue'],a['tenant']['stringValue'])\n";
    char path[600];
    char *dir = lt_tempdir();
    snprintf(path, sizeof path, "%s/check.py", dir);
    free(dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(py, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s", lt_python(), path);
    char *out = NULL;
    int rc = lt_run(cmd, F.cap.json, F.cap.json_len, &out);
    char want[1024];
    long long t = (long long)F.cap.first_time_ns;
    snprintf(want, sizeof want,
             "log-svc app.db %lld %lld 13 WARN 6469736b20efbfbd20616c6d6f73742066756c6c %s %s %d "
             "-42 18446744073709551615 7 0.25 True 0102ff LUMEN_EINVAL acme\n",
             t, t, F.tid, F.sid, F.flags);
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("python rc %d:\n%s\nwanted:\n%s\nbody: %s", rc, out, want, F.cap.json);
    free(out);
}

/* Records of two loggers, logged interleaved, come as two ScopeLogs, each
 * with its own records in order. */
static void test_log_otlp__one_scope_per_logger(void **state)
{
    (void)state;
    static capture c; /* the handler keeps it for the process */
    lumen_log_handler *h = capture_handler(&c, NULL, false);
    lumen_logger *a = lumen_logger_get("scope.a"), *b = lumen_logger_get("scope.b");
    assert_int_equal(lumen_logger_set_handlers(a, &h, 1), LUMEN_OK);
    assert_int_equal(lumen_logger_set_handlers(b, &h, 1), LUMEN_OK);
    LUMEN_LOG(a, LUMEN_LOG_INFO, "a1");
    LUMEN_LOG(b, LUMEN_LOG_ERROR, "b1");
    LUMEN_LOG(a, LUMEN_LOG_DEBUG, "below the level");
    /* Bigger than a queue slot: copied to the heap, intact. */
    static char big[3001];
    memset(big, 'x', 3000);
    LUMEN_LOG(a, LUMEN_LOG_INFO, "a2", LUMEN_STR("big", big));
    assert_int_equal(lumen_log_flush(10000), LUMEN_OK);
    assert_int_equal(c.records, 3);
    const char *s = c.json;
    const char *pa = strstr(s, "{\"scope\":{\"name\":\"scope.a\"}");
    const char *pb = strstr(s, "{\"scope\":{\"name\":\"scope.b\"}");
    assert_non_null(pa);
    assert_non_null(pb);
    const char *a1 = strstr(s, "\"a1\""), *a2 = strstr(s, "\"a2\""), *b1 = strstr(s, "\"b1\"");
    assert_true(pa < a1 && a1 < a2 && a2 < pb && pb < b1);
    assert_null(strstr(s, "below the level"));
    char want[3100];
    snprintf(want, sizeof want, "{\"key\":\"big\",\"value\":{\"stringValue\":\"%s\"}}", big);
    assert_non_null(strstr(s, want));
    assert_null(strstr(s, "code."));                /* the call site only with LUMEN_LOG_SOURCE */
    assert_non_null(strstr(s, "\"resource\":{},")); /* no provider given: no attributes */
    lumen_logger_set_handlers(a, NULL, 0);
    lumen_logger_set_handlers(b, NULL, 0);
    lumen_free(c.pb);
    lumen_free(c.json);
    c.pb = c.json = NULL;
}

/* A forked child has its own worker: what it logs is exported from the
 * child. Not in the TSan build, which cannot start threads after a
 * multi-threaded fork (a test left out of a build, not a skip: make test
 * allows none). */
#if !defined(__SANITIZE_THREAD__)
static void test_log_otlp__forked_child_exports(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t before = F.cap.records;
        for (int i = 0; i < 3; i++)
            LUMEN_LOG(F.lg, LUMEN_LOG_INFO, "from the child");
        int rc = lumen_log_flush(10000);
        _exit(rc != LUMEN_OK ? 2 : F.cap.records != before + 3 ? 3 : 0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}
#endif

/* ---- the batch handler under a stuck exporter ------------------------------ */

typedef struct stuck {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release;
    int fail; /* status to return */
    atomic_int calls;
    atomic_int shutdowns;
} stuck;

static int stuck_export(void *ud, const lumen_log_record *const *recs, size_t n, int64_t dl)
{
    stuck *s = ud;
    (void)recs, (void)n, (void)dl;
    atomic_fetch_add(&s->calls, 1);
    pthread_mutex_lock(&s->mu);
    while (!s->release)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return s->fail;
}

static int stuck_shutdown(void *ud, int64_t dl)
{
    stuck *s = ud;
    (void)dl;
    atomic_fetch_add(&s->shutdowns, 1);
    pthread_mutex_lock(&s->mu);
    s->release = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return LUMEN_OK;
}

static void stuck_release(stuck *s, int fail)
{
    pthread_mutex_lock(&s->mu);
    s->fail = fail;
    s->release = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
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
        LUMEN_LOG(t->lg, LUMEN_LOG_INFO, "record", LUMEN_INT("i", i));
    atomic_store(&t->done, true);
    return NULL;
}

/* Poll for `flag` until the deadline (seconds); never a sleep as
 * synchronisation, only as the pause between looks. */
static bool wait_flag(atomic_bool *flag, int seconds)
{
    int64_t end = mono_ns() + (int64_t)seconds * 1000000000;
    while (!atomic_load(flag) && mono_ns() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(flag);
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
        fail_msg("received %llu != exported %llu + failed %llu + full %llu + shutdown %llu + "
                 "queued %llu + in flight %llu",
                 (unsigned long long)s.received, (unsigned long long)s.exported,
                 (unsigned long long)s.failed, (unsigned long long)s.dropped_queue_full,
                 (unsigned long long)s.dropped_shutdown, (unsigned long long)s.queued,
                 (unsigned long long)s.in_flight);
}

static double metric(const char *series)
{
    char *text = NULL;
    assert_int_equal(lumen_registry_render_string(&text, NULL, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    const char *p = strstr(text, series);
    double v = -1;
    if (p != NULL)
        v = strtod(p + strlen(series), NULL);
    lumen_free(text);
    return v;
}

static stuck S = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0};
static lumen_log_handler *SH;

static lumen_log_handler *stuck_handler(stuck *s)
{
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    ops.export_records = stuck_export;
    ops.shutdown = stuck_shutdown;
    lumen_log_exporter *exp;
    assert_int_equal(lumen_log_exporter_new(&exp, &ops, s), LUMEN_OK);
    lumen_log_batch_options o = LUMEN_LOG_BATCH_OPTIONS_INIT;
    o.max_queue_size = 64;
    o.max_export_batch_size = 16;
    o.schedule_delay_ms = 5;
    lumen_log_handler *h;
    assert_int_equal(lumen_log_batch_handler_new(&h, exp, &o), LUMEN_OK);
    return h;
}

/* The exporter never returns until released; the logging thread still
 * logs 20000 records (it would never finish if a call waited for the
 * exporter), and the queue's overflow is counted, not lost. */
static void test_log_otlp__stuck_exporter_costs_the_logger_nothing(void **state)
{
    (void)state;
    SH = stuck_handler(&S);
    lumen_logger *lg = lumen_logger_get("stuck");
    assert_int_equal(lumen_logger_set_handlers(lg, &SH, 1), LUMEN_OK);
    /* The worker takes a first batch and hangs in the exporter. */
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "first");
    int64_t end = mono_ns() + 20000000000LL;
    while (atomic_load(&S.calls) == 0 && mono_ns() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&S.calls), 1);
    logging_thread t = {lg, 20000, false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, log_many, &t), 0);
    bool done = wait_flag(&t.done, 60);
    if (!done)
        stuck_release(&S, LUMEN_OK); /* let the test end, then fail */
    pthread_join(th, NULL);
    assert_true(done);
    lumen_log_batch_stats s = stats_of(SH);
    assert_int_equal(s.received, 20001);
    assert_int_equal(s.in_flight, 1);
    assert_int_equal(s.queued, 64);
    assert_int_equal(s.dropped_queue_full, 20001 - 1 - 64);
    assert_conserved(s);
    assert_true(metric("lumen_log_records_dropped_total{reason=\"queue_full\"} ") >=
                (double)(20001 - 1 - 64));
    /* Released with a failure: that batch and the next ones fail, counted
     * as export failures. */
    stuck_release(&S, LUMEN_EIO);
    assert_int_equal(lumen_log_flush(20000), LUMEN_OK);
    s = stats_of(SH);
    assert_int_equal(s.failed, 65);
    assert_int_equal(s.queued, 0);
    assert_conserved(s);
    assert_true(metric("lumen_log_records_dropped_total{reason=\"export_failure\"} ") >= 65.0);
    lumen_logger_set_handlers(lg, NULL, 0);
}

/* Last: lumen_log_shutdown is for the whole process. A stuck exporter
 * holds shutdown no longer than its budget (the exporter's shutdown
 * callback cuts the export off); what was queued, and what comes after,
 * is dropped and counted as reason="shutdown". */
static void test_log_otlp__shutdown_is_bounded_and_counted(void **state)
{
    (void)state;
    static stuck s2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0};
    lumen_log_handler *h = stuck_handler(&s2);
    s2.fail = LUMEN_ETIMEDOUT;
    lumen_logger *lg = lumen_logger_get("shut");
    assert_int_equal(lumen_logger_set_handlers(lg, &h, 1), LUMEN_OK);
    /* Fewer than a batch: the worker's timer starts the first export (the
     * path that drains batch after batch), which hangs; 30 more queue up
     * behind it. */
    for (int i = 0; i < 10; i++)
        LUMEN_LOG(lg, LUMEN_LOG_INFO, "in flight");
    int64_t end = mono_ns() + 20000000000LL;
    while (atomic_load(&s2.calls) == 0 && mono_ns() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&s2.calls), 1);
    /* The timer may fire while the ten are being logged (a preempted
     * thread): the hung batch then holds the first k, the rest queue. */
    size_t k = stats_of(h).in_flight;
    assert_true(k >= 1 && k <= 10);
    for (int i = 0; i < 30; i++)
        LUMEN_LOG(lg, LUMEN_LOG_INFO, "queued");
    /* 200 ms budget; a generous bound on the call, which would be forever
     * if shutdown waited for the exporter. */
    int64_t t0 = mono_ns();
    assert_int_equal(lumen_log_shutdown(200), LUMEN_ETIMEDOUT);
    assert_true(mono_ns() - t0 < 30000000000LL);
    assert_int_equal(atomic_load(&s2.shutdowns), 1);
    LUMEN_LOG(lg, LUMEN_LOG_INFO, "after shutdown");
    lumen_log_batch_stats s = stats_of(h);
    assert_int_equal(s.received, 41);
    assert_int_equal(s.queued, 0);
    assert_int_equal(s.in_flight, 0);
    /* The batch in flight failed (cut off); the 30 behind it were never
     * exported, and the record after shutdown was refused. */
    assert_int_equal(s.failed, k);
    assert_int_equal(s.dropped_shutdown, 41 - k);
    assert_int_equal(atomic_load(&s2.calls), 1);
    assert_conserved(s);
    assert_true(metric("lumen_log_records_dropped_total{reason=\"shutdown\"} ") >=
                (double)s.dropped_shutdown);
}

static void test_log_otlp__bad_arguments(void **state)
{
    (void)state;
    lumen_log_handler *h = (lumen_log_handler *)1;
    assert_int_equal(lumen_log_batch_handler_new(&h, NULL, NULL), LUMEN_EINVAL);
    assert_null(h);
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    lumen_log_exporter *e = NULL;
    assert_int_equal(lumen_log_exporter_new(&e, &ops, NULL), LUMEN_EINVAL); /* no export */
    ops.version = 99;
    ops.export_records = stuck_export;
    assert_int_equal(lumen_log_exporter_new(&e, &ops, NULL), LUMEN_EVERSION);
    lumen_log_batch_stats st = LUMEN_LOG_BATCH_STATS_INIT;
    lumen_log_handler *plain;
    lumen_log_handler_options ho = LUMEN_LOG_HANDLER_OPTIONS_INIT;
    ho.sink = LUMEN_LOG_SINK_STDERR;
    assert_int_equal(lumen_log_handler_new(&plain, &ho), LUMEN_OK);
    assert_int_equal(lumen_log_batch_get_stats(&st, plain), LUMEN_EINVAL);
    char *out = (char *)1;
    size_t len = 1;
    assert_int_equal(lumen_otlp_encode_logs(&out, &len, LUMEN_OTLP_PROTOBUF, NULL, 1, NULL),
                     LUMEN_EINVAL);
    assert_null(out);
    assert_int_equal(lumen_otlp_encode_logs(&out, &len, (lumen_otlp_format)7, NULL, 0, NULL),
                     LUMEN_EINVAL);
    assert_int_equal(lumen_otlp_encode_logs(&out, &len, LUMEN_OTLP_JSON, NULL, 0, NULL), LUMEN_OK);
    assert_string_equal(out, "{\"resourceLogs\":[]}");
    lumen_free(out);
    assert_int_equal(lumen_log_record_get_field_count(NULL), 0);
    lumen_field f;
    assert_false(lumen_log_record_get_field(&f, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_otlp__protoc_decodes_every_field),
        cmocka_unit_test(test_log_otlp__decoded_by_opentelemetry_js),
        cmocka_unit_test(test_log_otlp__scope_name_is_utf8),
        cmocka_unit_test(test_log_otlp__handler_level),
        cmocka_unit_test(test_log_otlp__json_round_trips),
        cmocka_unit_test(test_log_otlp__one_scope_per_logger),
        cmocka_unit_test(test_log_otlp__bad_arguments),
#if !defined(__SANITIZE_THREAD__)
        cmocka_unit_test(test_log_otlp__forked_child_exports),
#endif
        cmocka_unit_test(test_log_otlp__stuck_exporter_costs_the_logger_nothing),
        cmocka_unit_test(test_log_otlp__shutdown_is_bounded_and_counted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
