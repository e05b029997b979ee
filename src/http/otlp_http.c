/*
 * http/otlp_http.c: the OTLP/HTTP trace exporter.
 *
 * One libcurl easy handle per exporter, reused so that the connection to
 * the collector stays alive. The batch processor calls export from its
 * single worker thread, so the handle is never used concurrently; shutdown
 * (another thread) only raises a flag, which the progress callback and the
 * backoff wait both watch, so a hung collector cannot hold shutdown past
 * its deadline.
 *
 * The budget of one export (OTEL_EXPORTER_OTLP_TIMEOUT, and the caller's
 * deadline) covers every attempt and every wait: a request that hangs
 * spends the budget and is not retried; a wait that would pass the
 * deadline is not started. Deadlines are on the monotonic clock (the
 * caller's too), and so are the backoff waits, so a step of the wall
 * clock neither cuts an export short nor stretches a wait. Only a
 * Retry-After date is read against the wall clock, as HTTP dates must be.
 *
 * A shutdown cuts an export off only once its own deadline has passed, so
 * an export aborted or not started because of it fails with
 * LUMEN_ETIMEDOUT. The processor counts every failure by the status the
 * export returns (lumen_trace_export_failures_total{reason}); this file
 * keeps only the exporter's own statistics.
 *
 * Only liblumen's public API is used for the trace side: the exporter is
 * recognised with lumen_span_exporter_user_data, the spans encoded with
 * lumen_otlp_encode_spans, and a fork noticed with http/fork.h.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/rand.h"
#include "core/versioned.h"
#include "http/fork.h"
#include "http/otlp_config.h"
#include "http/otlp_http.h"
#include "http/otlp_retry.h"
#include "lumen/http_otlp.h"
#include "lumen/otlp.h"

enum { LAST_NONE, LAST_HTTP, LAST_CONNECT, LAST_TIMEOUT, LAST_OTHER };

typedef struct otlp_exp {
    CURL *curl;
    struct curl_slist *hdrs;
    char *url;
    bool json, gzip;
    uint32_t timeout_ms, max_attempts, initial_ms, max_ms, max_resp;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool stopping;

    lumen__buf resp;
    bool resp_truncated;
    char retry_after[128];

    atomic_uint_fast64_t requests, retries, exported, rejected, failed, f_http, f_connect,
        f_timeout, f_other;
    atomic_int last_status;
    unsigned generation;        /* fork generation of the curl handle */
    const char *noun;           /* "spans" or "log records", for the reports */
    lumen_tracer_provider *res; /* logs: the provider whose resource they carry */
    bool owns_res;
} otlp_exp;

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    otlp_exp *e = ud;
    size_t n = size * nmemb;
    if (e->resp.len + n > e->max_resp) {
        /* Capped: stop reading. The status line is already known. */
        e->resp_truncated = true;
        return 0;
    }
    lumen__buf_add(&e->resp, p, n);
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    otlp_exp *e = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t vl = n - (sizeof name - 1);
        if (vl >= sizeof e->retry_after)
            vl = sizeof e->retry_after - 1;
        memcpy(e->retry_after, p + sizeof name - 1, vl);
        e->retry_after[vl] = '\0';
        /* Strip the line ending. */
        for (size_t i = 0; i < vl; i++)
            if (e->retry_after[i] == '\r' || e->retry_after[i] == '\n')
                e->retry_after[i] = '\0';
    }
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    otlp_exp *e = ud;
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load_explicit(&e->stopping, memory_order_relaxed) ? 1 : 0;
}

static bool gzip_body(const char *in, size_t n, char **out, size_t *outn)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return false;
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    char *o = lumen__malloc(cap);
    if (o == NULL) {
        deflateEnd(&zs);
        return false;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)o;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *outn = cap - zs.avail_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) {
        lumen__free(o, cap);
        return false;
    }
    *out = o;
    return true;
}

/* Wait ms unless shutdown starts; false if it did. */
static bool wait_ms(otlp_exp *e, int64_t ms)
{
    int64_t until = lumen_monotonic_ns() + ms * 1000000;
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->stopping))
        if (lumen__cond_wait_until(&e->cv, &e->mu, until) != 0)
            break;
    bool ok = !atomic_load(&e->stopping);
    pthread_mutex_unlock(&e->mu);
    return ok;
}

/* Count a failed export in the exporter's statistics and give the status
 * the processor counts it by (lumen_span_exporter_ops). */
static int count_failure(otlp_exp *e, int last)
{
    atomic_fetch_add(&e->failed, 1);
    switch (last) {
    case LAST_HTTP:
        atomic_fetch_add(&e->f_http, 1);
        return LUMEN_EHTTP;
    case LAST_CONNECT:
        atomic_fetch_add(&e->f_connect, 1);
        return LUMEN_ECONNECT;
    case LAST_TIMEOUT:
        atomic_fetch_add(&e->f_timeout, 1);
        return LUMEN_ETIMEDOUT;
    default:
        atomic_fetch_add(&e->f_other, 1);
        return LUMEN_EIO;
    }
}

static int send_body(otlp_exp *e, const char *body, size_t len, size_t nspans, int64_t dl)
{
    int last = LAST_NONE;
    for (unsigned attempt = 1; attempt <= e->max_attempts; attempt++) {
        int64_t remaining_ms = (dl - lumen_monotonic_ns()) / 1000000;
        if (remaining_ms <= 0) {
            /* The budget ran out between attempts: the failure to report
             * is the last attempt's (a dead collector stays "unreachable"
             * however loaded the machine), a timeout only if none ran. */
            if (last == LAST_NONE)
                last = LAST_TIMEOUT;
            break;
        }
        if (attempt > 1)
            atomic_fetch_add(&e->retries, 1);
        e->resp.len = 0;
        e->resp.oom = false;
        e->resp_truncated = false;
        e->retry_after[0] = '\0';
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)remaining_ms);
        CURLcode rc = curl_easy_perform(e->curl);
        atomic_fetch_add(&e->requests, 1);
        long status = 0;
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
        atomic_store(&e->last_status, (int)status);
        int64_t wait = -1;
        if (rc == CURLE_ABORTED_BY_CALLBACK) {
            last = LAST_TIMEOUT; /* cut off by shutdown, past its deadline */
            break;
        } else if (status != 0 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)) {
            if (status >= 200 && status < 300) {
                char msg[256];
                int64_t rej =
                    lumen__otlp_partial_success(e->resp.p, e->resp.len, e->json, msg, sizeof msg);
                if (rej > 0 || msg[0] != '\0') {
                    /* Partial success: reported, never retried. */
                    lumen__diag(LUMEN_DIAG_WARN, "OTLP partial success: %lld %s rejected: %s",
                                (long long)rej, e->noun, msg);
                }
                if (rej > (int64_t)nspans)
                    rej = (int64_t)nspans;
                atomic_fetch_add(&e->rejected, (uint64_t)rej);
                atomic_fetch_add(&e->exported, nspans - (uint64_t)rej);
                return LUMEN_OK;
            }
            last = LAST_HTTP;
            if (!lumen__otlp_retryable_status(status)) {
                lumen__diag(LUMEN_DIAG_WARN, "OTLP export refused with HTTP %ld (not retried)",
                            status);
                break;
            }
            wait = lumen__otlp_retry_after_ms(e->retry_after[0] ? e->retry_after : NULL,
                                              (int64_t)time(NULL), 3600000);
        } else if (rc == CURLE_OPERATION_TIMEDOUT) {
            last = LAST_TIMEOUT; /* the whole budget is spent */
            break;
        } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                   rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SEND_ERROR ||
                   rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                   rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM) {
            last = LAST_CONNECT;
        } else {
            lumen__diag(LUMEN_DIAG_WARN, "OTLP export failed: %s", curl_easy_strerror(rc));
            last = LAST_OTHER;
            break;
        }
        if (attempt == e->max_attempts)
            break;
        if (wait < 0)
            wait = lumen__otlp_backoff_ms(attempt + 1, e->initial_ms, e->max_ms, lumen__rand64());
        if (lumen_monotonic_ns() + wait * 1000000 >= dl) {
            lumen__diag(LUMEN_DIAG_WARN,
                        "OTLP export: retry wait of %lld ms would pass the deadline",
                        (long long)wait);
            break;
        }
        if (!wait_ms(e, wait))
            break; /* cut off by shutdown while waiting: the last attempt's failure */
    }
    return count_failure(e, last);
}

/* Whether the exporter may send now; a forked child's cached connection
 * is replaced first. LUMEN_OK or the failure to return. */
static int ready(otlp_exp *e)
{
    if (atomic_load(&e->stopping))
        return count_failure(e, LAST_TIMEOUT);
    unsigned gen = lumen__http_fork_generation();
    if (gen != e->generation) {
        /* A forked child: the cached connection is the parent's socket.
         * A duplicate handle has the options and no connections. */
        CURL *fresh = curl_easy_duphandle(e->curl);
        if (fresh == NULL)
            return count_failure(e, LAST_OTHER);
        curl_easy_cleanup(e->curl);
        e->curl = fresh;
        e->generation = gen;
    }
    return LUMEN_OK;
}

/* Compress (if configured) and send an encoded request of n items, then
 * free it: the one transport of every signal. */
static int post(otlp_exp *e, char *body, size_t len, size_t n, int64_t deadline)
{
    char *gz = NULL;
    size_t gzlen = 0;
    if (e->gzip && !gzip_body(body, len, &gz, &gzlen)) {
        lumen_free(body);
        return count_failure(e, LAST_OTHER);
    }
    int64_t dl = lumen_monotonic_ns() + (int64_t)e->timeout_ms * 1000000;
    if (deadline != 0 && deadline < dl)
        dl = deadline;
    int r = gz ? send_body(e, gz, gzlen, n, dl) : send_body(e, body, len, n, dl);
    lumen__free(gz, 0);
    lumen_free(body);
    return r;
}

static int ex_export(void *ud, const lumen_span *const *spans, size_t n, int64_t deadline)
{
    otlp_exp *e = ud;
    if (n == 0)
        return LUMEN_OK; /* no empty envelopes */
    int rc = ready(e);
    if (rc != LUMEN_OK)
        return rc;
    char *body = NULL;
    size_t len = 0;
    if (lumen_otlp_encode_spans(&body, &len, e->json ? LUMEN_OTLP_JSON : LUMEN_OTLP_PROTOBUF, spans,
                                n) != LUMEN_OK)
        return count_failure(e, LAST_OTHER);
    return post(e, body, len, n, deadline);
}

static int lg_export(void *ud, const lumen_log_record *const *recs, size_t n, int64_t deadline)
{
    otlp_exp *e = ud;
    if (n == 0)
        return LUMEN_OK;
    int rc = ready(e);
    if (rc != LUMEN_OK)
        return rc;
    char *body = NULL;
    size_t len = 0;
    if (lumen_otlp_encode_logs(&body, &len, e->json ? LUMEN_OTLP_JSON : LUMEN_OTLP_PROTOBUF, recs,
                               n, e->res) != LUMEN_OK)
        return count_failure(e, LAST_OTHER);
    return post(e, body, len, n, deadline);
}

static int ex_shutdown(void *ud, int64_t dl)
{
    otlp_exp *e = ud;
    (void)dl;
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stopping, true);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return LUMEN_OK;
}

static void ex_destroy(void *ud)
{
    otlp_exp *e = ud;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->hdrs);
    lumen__free(e->url, 0);
    lumen__buf_free(&e->resp);
    if (e->owns_res)
        lumen_tracer_provider_free(e->res);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    lumen__free(e, sizeof *e);
}

static const size_t options_sizes[] = {0, sizeof(lumen_otlp_http_exporter_options)};
static const size_t stats_sizes[] = {0, sizeof(lumen_otlp_http_exporter_stats)};

int lumen_otlp_http_exporter_options_init(lumen_otlp_http_exporter_options *opts,
                                          unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_otlp_http_exporter_stats_init(lumen_otlp_http_exporter_stats *stats, unsigned int version)
{
    return lumen__versioned_init(stats, version, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

/* The exporter's state and its curl handle, for `signal` ("TRACES",
 * "LOGS", "METRICS"). */
static int exp_new(otlp_exp **out, const lumen_otlp_http_exporter_options *opts, const char *signal)
{
    *out = NULL;
    lumen_otlp_http_exporter_options full;
    const lumen_otlp_http_exporter_options *o = &full;
    int vrc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init != CURLE_OK)
        return LUMEN_EIO;
    otlp_exp *e = lumen__calloc(1, sizeof *e);
    if (e == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->resp = (lumen__buf)LUMEN__BUF_INIT;
    e->noun = signal[0] == 'L' ? "log records" : signal[0] == 'M' ? "data points" : "spans";
    int rc =
        lumen__otlp_http_config(o, signal, &e->url, &e->hdrs, &e->json, &e->gzip, &e->timeout_ms);
    if (rc != LUMEN_OK)
        goto fail;
    e->max_attempts = o->max_attempts ? o->max_attempts : LUMEN_OTLP_HTTP_DEFAULT_MAX_ATTEMPTS;
    e->initial_ms =
        o->initial_backoff_ms ? o->initial_backoff_ms : LUMEN_OTLP_HTTP_DEFAULT_INITIAL_BACKOFF_MS;
    e->max_ms = o->max_backoff_ms ? o->max_backoff_ms : LUMEN_OTLP_HTTP_DEFAULT_MAX_BACKOFF_MS;
    e->max_resp =
        o->max_response_bytes ? o->max_response_bytes : LUMEN_OTLP_HTTP_DEFAULT_MAX_RESPONSE_BYTES;
    rc = LUMEN_EIO;
    e->generation = lumen__http_fork_generation();
    e->curl = curl_easy_init();
    if (e->curl == NULL)
        goto fail;
    CURL *c = e->curl;
    curl_easy_setopt(c, CURLOPT_URL, e->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, e);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, e);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, e);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if ((rc = lumen__otlp_http_tls(o, signal, c)) != LUMEN_OK)
        goto fail;
    rc = LUMEN_EIO;
    char ua[64];
    snprintf(ua, sizeof ua, "OTel-OTLP-Exporter-C/%s", lumen_version());
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    *out = e;
    return LUMEN_OK;
fail:
    ex_destroy(e);
    return rc;
}

int lumen_otlp_http_exporter_new(lumen_span_exporter **out,
                                 const lumen_otlp_http_exporter_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    otlp_exp *e;
    int rc = exp_new(&e, opts, "TRACES");
    if (rc != LUMEN_OK)
        return rc;
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = ex_export;
    ops.shutdown = ex_shutdown;
    ops.destroy = ex_destroy;
    rc = lumen_span_exporter_new(out, &ops, e);
    if (rc != LUMEN_OK)
        ex_destroy(e);
    return rc;
}

int lumen_otlp_http_log_exporter_new(lumen_log_exporter **out,
                                     const lumen_otlp_http_exporter_options *opts,
                                     lumen_tracer_provider *resource_from)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    otlp_exp *e;
    int rc = exp_new(&e, opts, "LOGS");
    if (rc != LUMEN_OK)
        return rc;
    e->res = resource_from;
    if (e->res == NULL) {
        /* The resource a provider builds from the environment, as spans
         * carry it: the same code, so the two never disagree. */
        rc = lumen_tracer_provider_new(&e->res, NULL);
        if (rc != LUMEN_OK) {
            ex_destroy(e);
            return rc;
        }
        e->owns_res = true;
    }
    lumen_log_exporter_ops ops = LUMEN_LOG_EXPORTER_OPS_INIT;
    ops.export_records = lg_export;
    ops.shutdown = ex_shutdown;
    ops.destroy = ex_destroy;
    rc = lumen_log_exporter_new(out, &ops, e);
    if (rc != LUMEN_OK)
        ex_destroy(e);
    return rc;
}

static otlp_exp *stats_of(void *span_exp, void *log_exp)
{
    void *ud = NULL;
    if (span_exp != NULL && lumen_span_exporter_user_data(&ud, span_exp, ex_export) == LUMEN_OK)
        return ud;
    if (log_exp != NULL && lumen_log_exporter_user_data(&ud, log_exp, lg_export) == LUMEN_OK)
        return ud;
    return NULL;
}

static int fill_stats(lumen_otlp_http_exporter_stats *out, otlp_exp *e)
{
    if (out == NULL || e == NULL)
        return LUMEN_EINVAL;
    lumen_otlp_http_exporter_stats s = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    s.requests = atomic_load(&e->requests);
    s.retries = atomic_load(&e->retries);
    s.exported_spans = atomic_load(&e->exported);
    s.rejected_spans = atomic_load(&e->rejected);
    s.failed_exports = atomic_load(&e->failed);
    s.fail_http = atomic_load(&e->f_http);
    s.fail_connect = atomic_load(&e->f_connect);
    s.fail_timeout = atomic_load(&e->f_timeout);
    s.fail_other = atomic_load(&e->f_other);
    s.last_status = (int32_t)atomic_load(&e->last_status);
    return lumen__versioned_out(out, &s, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

int lumen_otlp_http_exporter_get_stats(lumen_otlp_http_exporter_stats *out,
                                       lumen_span_exporter *exp)
{
    return fill_stats(out, stats_of(exp, NULL));
}

int lumen_otlp_http_log_exporter_get_stats(lumen_otlp_http_exporter_stats *out,
                                           lumen_log_exporter *exp)
{
    return fill_stats(out, stats_of(NULL, exp));
}

/* ---- metrics (http/otlp_metrics.c) ------------------------------------------ */

int lumen__otlp_exp_new(lumen__otlp_exp **out, const lumen_otlp_http_exporter_options *opts,
                        const char *signal)
{
    return exp_new(out, opts, signal);
}

bool lumen__otlp_exp_json(const lumen__otlp_exp *e)
{
    return e->json;
}

int lumen__otlp_exp_post(lumen__otlp_exp *e, char *body, size_t len, size_t n, int64_t deadline)
{
    int rc = ready(e);
    if (rc != LUMEN_OK) {
        lumen_free(body);
        return rc;
    }
    return post(e, body, len, n, deadline);
}

void lumen__otlp_exp_shutdown(lumen__otlp_exp *e)
{
    ex_shutdown(e, 0);
}

void lumen__otlp_exp_destroy(lumen__otlp_exp *e)
{
    ex_destroy(e);
}

int lumen__otlp_exp_stats(lumen_otlp_http_exporter_stats *out, lumen__otlp_exp *e)
{
    return fill_stats(out, e);
}
