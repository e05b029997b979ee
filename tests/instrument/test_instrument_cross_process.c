/* tests/instrument/test_instrument_cross_process.c: issue 14's "one trace
 * across real processes". Four processes on loopback:
 *   otel_client.js (the OpenTelemetry JS SDK: sdk-trace-node, its W3C
 *   propagator and its OTLP/HTTP protobuf exporter)
 *     -> service "front" (this program re-run as a child: libmicrohttpd
 *        instrumented with lumen/http_mhd.h) whose handler calls
 *     -> service "back" (the same, another child) through libcurl
 *        instrumented with lumen/http_curl.h.
 * Every process exports its spans over OTLP/HTTP protobuf to
 * otlp_collector.js, which decodes each request with the OpenTelemetry JS
 * protobuf definitions. The test checks that the four spans form ONE
 * trace: JS CLIENT span (root) -> front SERVER -> curl CLIENT -> back
 * SERVER, with the HTTP semantic conventions' attribute names and values.
 * (Prometheus scraping http_server_request_duration_seconds and PromQL's
 * p99 are test_instrument_mhd's prometheus_p99.) */
#include "http/http_test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lumen/http_curl.h"
#include "lumen/http_mhd.h"
#include "lumen/http_otlp.h"
#include "lumen/instrument.h"

/* ---- a service (this program run as `svc NAME COLLECTOR_URL [DOWNSTREAM]`) */

static lumen_curl_instrument *s_ci;
static const char *s_downstream; /* front: the back service's base URL */

typedef struct body {
    char b[1024];
    size_t n;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t len = size * n;
    if (b->n + len < sizeof b->b) {
        memcpy(b->b + b->n, p, len);
        b->n += len;
        b->b[b->n] = '\0';
    }
    return len;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* front: GET /front calls the back service's /back/7 and answers with
 * what it got (502 when the call failed). back: GET /back/{id}. */
static enum MHD_Result svc_handler(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)req_cls;
    lumen_server_request *rq = lumen_mhd_request(c);
    if (s_downstream != NULL && strcmp(url, "/front") == 0) {
        lumen_server_request_set_route(rq, "/front");
        char down[256];
        snprintf(down, sizeof down, "%s/back/7", s_downstream);
        CURL *e = curl_easy_init();
        if (e == NULL)
            return reply(c, 500, "no curl");
        body b = {{0}, 0};
        curl_easy_setopt(e, CURLOPT_URL, down);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
        /* The server request is current on this thread: the CLIENT span
         * begin makes is its child. */
        lumen_curl_request *cr;
        CURLcode rc = CURLE_FAILED_INIT;
        if (lumen_curl_begin(&cr, s_ci, e, "GET", NULL) == LUMEN_OK) {
            rc = curl_easy_perform(e);
            lumen_curl_end(cr, rc);
        }
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(e);
        char text[1100];
        snprintf(text, sizeof text, "front<-%s", b.b);
        return reply(c, rc == CURLE_OK && code == 200 ? 200 : 502, text);
    }
    if (s_downstream == NULL && strncmp(url, "/back/", 6) == 0) {
        lumen_server_request_set_route(rq, "/back/{id}");
        return reply(c, 200, "back 7");
    }
    return reply(c, 404, "none");
}

/* Runs until SIGTERM, then shuts down cleanly (the batch processor
 * exports what it still holds; ASan sees every free). */
static int run_service(const char *name, const char *collector, const char *downstream)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL); /* before any thread starts */
    s_downstream = downstream;

    lumen_tracer_provider_options po = LUMEN_TRACER_PROVIDER_OPTIONS_INIT;
    po.ignore_env = true;
    po.service_name = name;
    lumen_tracer_provider *tp;
    lumen_otlp_http_exporter_options oo = LUMEN_OTLP_HTTP_EXPORTER_OPTIONS_INIT;
    oo.ignore_env = true;
    oo.endpoint = collector;
    oo.protocol = "http/protobuf";
    lumen_span_exporter *ex;
    lumen_batch_processor_options bo = LUMEN_BATCH_PROCESSOR_OPTIONS_INIT;
    bo.schedule_delay_ms = 50;
    lumen_span_processor *bp;
    if (lumen_tracer_provider_new(&tp, &po) != LUMEN_OK ||
        lumen_otlp_http_exporter_new(&ex, &oo) != LUMEN_OK ||
        lumen_batch_processor_new(&bp, ex, &bo) != LUMEN_OK ||
        lumen_tracer_provider_add_processor(tp, bp) != LUMEN_OK)
        return 10;
    lumen_tracer *tracer = lumen_tracer_provider_get_tracer(tp, "lumen-test-xproc", NULL);

    lumen_registry *reg;
    lumen_server_instrument *ins;
    lumen_server_instrument_options io = LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT;
    if (lumen_registry_new(&reg) != LUMEN_OK)
        return 11;
    io.registry = reg;
    io.tracer = tracer;
    io.propagators = LUMEN_PROPAGATE_TRACECONTEXT;
    if (lumen_server_instrument_new(&ins, &io) != LUMEN_OK)
        return 12;
    if (downstream != NULL) {
        lumen_curl_instrument_options co = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
        co.registry = reg;
        co.tracer = tracer;
        co.propagators = LUMEN_PROPAGATE_TRACECONTEXT;
        if (lumen_curl_instrument_new(&s_ci, &co) != LUMEN_OK)
            return 13;
    }
    lumen_mhd *mhd;
    lumen_mhd_options mo = LUMEN_MHD_OPTIONS_INIT;
    mo.instrument = ins;
    mo.handler = svc_handler;
    if (lumen_mhd_new(&mhd, &mo) != LUMEN_OK)
        return 14;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
        lumen_mhd_access_handler, mhd, MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, mhd,
        MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, mhd, MHD_OPTION_NOTIFY_COMPLETED,
        lumen_mhd_completed, mhd, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (d == NULL)
        return 15;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", di != NULL ? (unsigned)di->port : 0u);
    fflush(stdout);

    int sig;
    sigwait(&term, &sig);
    MHD_stop_daemon(d);
    lumen_mhd_free(mhd);
    lumen_curl_instrument_free(s_ci);
    lumen_server_instrument_free(ins);
    lumen_registry_free(reg);
    lumen_tracer_provider_free(tp);
    return 0;
}

/* ---- the test ------------------------------------------------------------ */

typedef struct peer {
    pid_t pid;
    char log[600];
    unsigned port;
} peer;

static char *g_dir;

/* Start argv, its output to DIR/<tag>.log, and wait (deadline) for its
 * "port N" line. */
static void peer_start(peer *p, const char *tag, char *const argv[])
{
    snprintf(p->log, sizeof p->log, "%s/%s.log", g_dir, tag);
    p->pid = th_spawn(argv, p->log);
    assert_true(p->pid > 0);
    p->port = 0;
    int64_t deadline = th_now_ms() + 30000;
    while (p->port == 0 && th_now_ms() < deadline) {
        char *text = lt_read_file(p->log, NULL);
        const char *at = text != NULL ? strstr(text, "port ") : NULL;
        if (at != NULL && strchr(at, '\n') != NULL)
            p->port = (unsigned)strtoul(at + 5, NULL, 10);
        free(text);
        if (p->port == 0)
            usleep(10000);
    }
    if (p->port == 0)
        fail_msg("%s did not report its port: %s", tag, lt_read_file(p->log, NULL));
}

/* SIGTERM a service and wait (deadline) for it to exit 0: a clean
 * shutdown, and under ASan no error or leak in the child either. */
static void svc_stop(peer *p)
{
    kill(p->pid, SIGTERM);
    int st = 0;
    pid_t w = 0;
    int64_t deadline = th_now_ms() + 20000;
    while ((w = waitpid(p->pid, &st, WNOHANG)) == 0 && th_now_ms() < deadline)
        usleep(10000);
    if (w != p->pid) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        fail_msg("service did not stop in 20 s: %s", lt_read_file(p->log, NULL));
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("service status %d: %s", st, lt_read_file(p->log, NULL));
}

static size_t count_lines(const char *path)
{
    char *text = lt_read_file(path, NULL);
    size_t n = 0;
    for (const char *q = text; q != NULL && *q; q++)
        n += *q == '\n';
    free(text);
    return n;
}

/* The checks, in Python over the collector's decoded spans (argv[1]) and
 * the client's output (argv[2]). */
static const char check_py[] =
    "import json, sys\n"
    "S = [json.loads(l) for l in open(sys.argv[1])]\n"
    "C = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])\n"
    "assert all('error' not in s for s in S), S\n"
    "assert len(S) == 4, ('spans', len(S), S)\n"
    "assert all(s['contentType'] == 'application/x-protobuf' for s in S), S\n"
    "by = {}\n"
    "for s in S: by[(s['service'], s['kind'])] = s\n"
    "js, fs, fc, bs = (by.get(k) for k in [('js-client', 3), ('front', 2), ('front', 3),\n"
    "                                      ('back', 2)])\n"
    "assert None not in (js, fs, fc, bs), S\n"
    "# One trace, the JS client's, rooted at its span.\n"
    "assert {s['traceId'] for s in S} == {C['traceId']}, (C, S)\n"
    "assert C['traceparent'] == '00-%s-%s-01' % (C['traceId'], C['spanId']), C\n"
    "assert js['spanId'] == C['spanId'] and js['parentSpanId'] == '', js\n"
    "assert fs['parentSpanId'] == js['spanId'], (fs, js)\n"
    "assert fc['parentSpanId'] == fs['spanId'], (fc, fs)\n"
    "assert bs['parentSpanId'] == fc['spanId'], (bs, fc)\n"
    "assert len({s['spanId'] for s in S}) == 4, S\n"
    "# A child starts after its parent (the services share one clock; a\n"
    "# server span ends when MHD completes, which may be after its caller\n"
    "# read the answer, so the ends are not compared).\n"
    "for p, c in [(fs, fc), (fc, bs)]:\n"
    "    assert int(p['start']) <= int(c['start']), (p, c)\n"
    "for s in S: assert int(s['start']) <= int(s['end']), s\n"
    "assert C['status'] == 200 and C['body'] == 'front<-back 7', C\n"
    "def has(s, **want):\n"
    "    for k, v in want.items():\n"
    "        k = k.replace('__', '.')\n"
    "        assert s['attrs'].get(k) == v, (k, v, s['name'], s['attrs'])\n"
    "fport, bport = int(sys.argv[3]), int(sys.argv[4])\n"
    "assert fs['name'] == 'GET /front' and fs['scope'] == 'lumen-test-xproc', fs\n"
    "has(fs, http__request__method='GET', http__route='/front', url__path='/front',\n"
    "    url__scheme='http', http__response__status_code=200, server__address='127.0.0.1',\n"
    "    server__port=fport, network__protocol__version='1.1', client__address='127.0.0.1')\n"
    "assert fc['name'] == 'GET', fc\n"
    "has(fc, http__request__method='GET', url__full='http://127.0.0.1:%d/back/7' % bport,\n"
    "    server__address='127.0.0.1', server__port=bport, http__response__status_code=200)\n"
    "assert bs['name'] == 'GET /back/{id}', bs\n"
    "has(bs, http__request__method='GET', http__route='/back/{id}', url__path='/back/7',\n"
    "    url__scheme='http', http__response__status_code=200, server__address='127.0.0.1',\n"
    "    server__port=bport)\n"
    "for s in (fs, fc, bs):\n"
    "    assert 'error.type' not in s['attrs'] and s['status'].get('code', 0) != 2, s\n"
    "print('one trace', C['traceId'])\n";

static void test_instrument_cross_process__one_trace_js_mhd_curl_mhd(void **state)
{
    (void)state;
    char probe[1024];
    snprintf(probe, sizeof probe,
             "cd '%s/tests/trace/js/node_modules/@opentelemetry' && test -d otlp-transformer && "
             "test -d sdk-trace-node && test -d exporter-trace-otlp-proto",
             lt_source_dir());
    if (!lt_have("node") || lt_run(probe, "", 0, NULL) != 0) {
        print_message("node or the OpenTelemetry JS packages in tests/trace/js/node_modules "
                      "missing (scripts/deps.sh test installs them); skipped\n");
        skip();
    }
    g_dir = lt_tempdir();
    char js[512], spans[700], collector[128], front_up[64], back_url[64], self[4096];
    snprintf(js, sizeof js, "%s/tests/trace/js", lt_source_dir());
    snprintf(spans, sizeof spans, "%s/spans.jsonl", g_dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';

    char script[600];
    snprintf(script, sizeof script, "%s/otlp_collector.js", js);
    peer col, back, front;
    char *col_argv[] = {"node", script, spans, NULL};
    peer_start(&col, "collector", col_argv);
    snprintf(collector, sizeof collector, "http://127.0.0.1:%u/v1/traces", col.port);

    char *back_argv[] = {self, "svc", "back", collector, NULL};
    peer_start(&back, "back", back_argv);
    snprintf(back_url, sizeof back_url, "http://127.0.0.1:%u", back.port);
    char *front_argv[] = {self, "svc", "front", collector, back_url, NULL};
    peer_start(&front, "front", front_argv);
    snprintf(front_up, sizeof front_up, "http://127.0.0.1:%u/front", front.port);

    /* The JS client exports its own span before it prints. */
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "node '%s/otel_client.js' '%s' '%s'", js, front_up, collector);
    char *client = NULL;
    int rc = lt_run(cmd, "", 0, &client);
    if (rc != 0)
        fail_msg("otel_client.js rc %d:\n%s", rc, client);

    /* The services' batch processors export within ~50 ms of each end. */
    int64_t deadline = th_now_ms() + 30000;
    while (count_lines(spans) < 4 && th_now_ms() < deadline)
        usleep(10000);

    char pyfile[700], clientfile[700], pycmd[2400];
    snprintf(pyfile, sizeof pyfile, "%s/check.py", g_dir);
    snprintf(clientfile, sizeof clientfile, "%s/client.json", g_dir);
    FILE *f = fopen(pyfile, "w");
    assert_non_null(f);
    fputs(check_py, f);
    fclose(f);
    f = fopen(clientfile, "w");
    assert_non_null(f);
    fputs(client, f);
    fclose(f);
    snprintf(pycmd, sizeof pycmd, "%s '%s' '%s' '%s' %u %u", lt_python(), pyfile, spans, clientfile,
             front.port, back.port);
    char *py = NULL;
    rc = lt_run(pycmd, "", 0, &py);
    if (rc != 0)
        fail_msg("check rc %d:\n%s\nclient:\n%s\nfront:\n%s\nback:\n%s", rc, py, client,
                 lt_read_file(front.log, NULL), lt_read_file(back.log, NULL));
    print_message("%s", py);

    /* No span beyond the four arrives later (each process exported once
     * per span): stop the services (they flush on SIGTERM), then count. */
    svc_stop(&front);
    svc_stop(&back);
    assert_int_equal(count_lines(spans), 4);
    th_stop(col.pid);
    free(py);
    free(client);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -rf '%s'", g_dir);
    lt_run(rm, NULL, 0, NULL);
    free(g_dir);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "svc") == 0)
        return run_service(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instrument_cross_process__one_trace_js_mhd_curl_mhd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
