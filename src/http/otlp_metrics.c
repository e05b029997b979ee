/*
 * http/otlp_metrics.c: the periodic OTLP metrics reader and
 * lumen_otlp_metrics_init.
 *
 * One thread per reader. Every interval it encodes its registries with
 * lumen_otlp_encode_metrics (which reads the cells as a scrape does: the
 * updating threads never wait for it, and a registry scraped and exported
 * is only read twice) and posts the request through the OTLP/HTTP
 * transport the span and log exporters use (otlp_http.h: configuration,
 * gzip, retries, TLS). The export's budget is timeout_ms; a collector
 * that is dead, slow or refusing costs the reader's thread that budget
 * and the points, counted as dropped, and nothing else.
 *
 * A force_flush asks the thread for an export and waits for its end (a
 * sequence number per request); free asks for a last export within
 * timeout_ms of the call, cuts the transport off at that deadline, and
 * joins.
 *
 * Self-metrics: one collector in the default registry (added with the
 * first reader, unless LUMEN_SELF_METRICS=false) sums every reader's
 * counts, the freed ones' included: lumen_otlp_metrics_exports_total
 * {result}, lumen_otlp_metrics_points_exported_total and
 * lumen_otlp_metrics_points_dropped_total{reason}.
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/sigpipe.h"
#include "core/versioned.h"
#include "http/otlp_http.h"
#include "lumen/http_otlp.h"
#include "lumen/otlp.h"

#define DEFAULT_INTERVAL_MS 60000
#define DEFAULT_TIMEOUT_MS 30000

struct lumen_otlp_metrics_reader {
    lumen_registry *regs[LUMEN_RENDER_MAX_REGISTRIES];
    size_t nregs;
    uint32_t interval_ms, timeout_ms;
    lumen__otlp_exp *exp; /* NULL: console */
    lumen_tracer_provider *res;
    bool owns_res;
    char *scope;
    lumen_otlp_metrics_state *state; /* delta temporality; used by the thread only */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, finished;
    int64_t stop_deadline;
    uint64_t asked, done; /* force_flush requests and the exports that answered them */
    int last_rc;

    atomic_uint_fast64_t ok, failed, points, rejected, dropped, f_http, f_connect, f_timeout,
        f_other;
    struct lumen_otlp_metrics_reader *next; /* in g_readers */
};

/* ---- self-metrics ------------------------------------------------------------ */

/* Every reader's counts, for the collector of lumen_otlp_metrics_* in the
 * default registry: the live readers' and those of the freed ones. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static lumen_otlp_metrics_reader *g_readers;
static uint64_t g_gone[5]; /* ok, failed, points, rejected, dropped */
static pthread_once_t g_self_once = PTHREAD_ONCE_INIT;

static void sums(uint64_t t[5])
{
    pthread_mutex_lock(&g_mu);
    memcpy(t, g_gone, sizeof g_gone);
    for (lumen_otlp_metrics_reader *r = g_readers; r != NULL; r = r->next) {
        t[0] += atomic_load(&r->ok);
        t[1] += atomic_load(&r->failed);
        t[2] += atomic_load(&r->points);
        t[3] += atomic_load(&r->rejected);
        t[4] += atomic_load(&r->dropped);
    }
    pthread_mutex_unlock(&g_mu);
}

static int collect_self(lumen_collect_sink *s, void *ud)
{
    (void)ud;
    uint64_t t[5];
    sums(t);
    const lumen_label ok = {"result", "ok"}, failed = {"result", "failed"};
    const lumen_label ef = {"reason", "export_failure"}, rej = {"reason", "rejected"};
    int rc = lumen_collect_family(s, LUMEN_METRIC_COUNTER, "lumen_otlp_metrics_exports",
                                  "OTLP metrics exports, by result.", NULL);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", &ok, 1, (double)t[0]);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", &failed, 1, (double)t[1]);
    if (rc == LUMEN_OK)
        rc = lumen_collect_family(s, LUMEN_METRIC_COUNTER, "lumen_otlp_metrics_points_exported",
                                  "OTLP metric data points the collector accepted.", NULL);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", NULL, 0, (double)t[2]);
    if (rc == LUMEN_OK)
        rc = lumen_collect_family(s, LUMEN_METRIC_COUNTER, "lumen_otlp_metrics_points_dropped",
                                  "OTLP metric data points lost: their export failed, or the "
                                  "collector rejected them.",
                                  NULL);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", &ef, 1, (double)t[4]);
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(s, "", &rej, 1, (double)t[3]);
    return rc;
}

/* The collector, once, unless LUMEN_SELF_METRICS=false. */
static void self_init(void)
{
    if (!lumen__env_bool("LUMEN_SELF_METRICS", true))
        return;
    static const char *const names[] = {"lumen_otlp_metrics_exports",
                                        "lumen_otlp_metrics_points_exported",
                                        "lumen_otlp_metrics_points_dropped"};
    lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
    o.family_names = names;
    o.family_count = 3;
    int rc = lumen_registry_add_collector(NULL, NULL, &o, collect_self, NULL);
    if (rc != LUMEN_OK)
        lumen__diag(LUMEN_DIAG_WARN,
                    "OTLP metrics: the lumen_otlp_metrics_* self-metrics are off: %s",
                    lumen_status_name(rc));
}

static void link_reader(lumen_otlp_metrics_reader *r)
{
    pthread_once(&g_self_once, self_init);
    pthread_mutex_lock(&g_mu);
    r->next = g_readers;
    g_readers = r;
    pthread_mutex_unlock(&g_mu);
}

static void unlink_reader(lumen_otlp_metrics_reader *r)
{
    pthread_mutex_lock(&g_mu);
    for (lumen_otlp_metrics_reader **p = &g_readers; *p != NULL; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            g_gone[0] += atomic_load(&r->ok);
            g_gone[1] += atomic_load(&r->failed);
            g_gone[2] += atomic_load(&r->points);
            g_gone[3] += atomic_load(&r->rejected);
            g_gone[4] += atomic_load(&r->dropped);
            break;
        }
    pthread_mutex_unlock(&g_mu);
}

static const size_t options_sizes[] = {0, offsetof(lumen_otlp_metrics_reader_options, temporality),
                                       sizeof(lumen_otlp_metrics_reader_options)};
static const size_t stats_sizes[] = {0, sizeof(lumen_otlp_metrics_reader_stats)};

int lumen_otlp_metrics_reader_options_init(lumen_otlp_metrics_reader_options *opts,
                                           unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_otlp_metrics_reader_stats_init(lumen_otlp_metrics_reader_stats *stats,
                                         unsigned int version)
{
    return lumen__versioned_init(stats, version, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

/* Write all of p[0..n) and a newline to standard output, in one write
 * where the pipe allows. */
static int console_line(const char *p, size_t n)
{
    struct iovec iov[2] = {{(void *)p, n}, {(void *)"\n", 1}};
    return lumen__write_guarded(1, iov, 2);
}

static void count_failure(lumen_otlp_metrics_reader *r, int rc, size_t points)
{
    atomic_fetch_add(&r->failed, 1);
    atomic_fetch_add(&r->dropped, points);
    switch (rc) {
    case LUMEN_EHTTP:
        atomic_fetch_add(&r->f_http, 1);
        break;
    case LUMEN_ECONNECT:
        atomic_fetch_add(&r->f_connect, 1);
        break;
    case LUMEN_ETIMEDOUT:
        atomic_fetch_add(&r->f_timeout, 1);
        break;
    default:
        atomic_fetch_add(&r->f_other, 1);
    }
}

/* One export, by `deadline` (monotonic ns). */
static int export_once(lumen_otlp_metrics_reader *r, int64_t deadline)
{
    char *body = NULL;
    size_t len = 0, points = 0;
    bool json = r->exp == NULL || lumen__otlp_exp_json(r->exp);
    int rc = lumen_otlp_encode_metrics_delta(&body, &len, &points,
                                             json ? LUMEN_OTLP_JSON : LUMEN_OTLP_PROTOBUF, r->regs,
                                             r->nregs, r->res, r->scope, r->state);
    if (rc != LUMEN_OK) {
        static atomic_int reported;
        if (atomic_exchange(&reported, 1) == 0)
            lumen__diag(LUMEN_DIAG_WARN, "OTLP metrics: the registries could not be encoded: %s",
                        lumen_status_name(rc));
        count_failure(r, rc, 0);
        return rc;
    }
    if (r->exp == NULL) {
        rc = console_line(body, len);
        lumen_free(body);
        if (rc == LUMEN_OK) {
            atomic_fetch_add(&r->ok, 1);
            atomic_fetch_add(&r->points, points);
        } else {
            count_failure(r, rc, points);
        }
        return rc;
    }
    lumen_otlp_http_exporter_stats before = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
    lumen__otlp_exp_stats(&before, r->exp);
    rc = lumen__otlp_exp_post(r->exp, body, len, points, deadline);
    if (rc == LUMEN_OK) {
        lumen_otlp_http_exporter_stats after = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
        lumen__otlp_exp_stats(&after, r->exp);
        /* Only this thread posts: the difference is this request's. */
        uint64_t rej = after.rejected_spans - before.rejected_spans;
        atomic_fetch_add(&r->ok, 1);
        atomic_fetch_add(&r->rejected, rej);
        atomic_fetch_add(&r->points, points - rej);
    } else {
        count_failure(r, rc, points);
    }
    return rc;
}

static void *run(void *arg)
{
    lumen_otlp_metrics_reader *r = arg;
    pthread_mutex_lock(&r->mu);
    int64_t next = lumen__mono_ns() + (int64_t)r->interval_ms * 1000000;
    for (;;) {
        while (!r->stopping && r->asked == r->done && lumen__mono_ns() < next)
            lumen__cond_wait_until(&r->cv, &r->mu, next);
        bool last = r->stopping;
        uint64_t answering = r->asked;
        int64_t deadline = lumen__mono_ns() + (int64_t)r->timeout_ms * 1000000;
        if (last) {
            if (lumen__mono_ns() >= r->stop_deadline)
                break;
            deadline = r->stop_deadline;
        }
        next = lumen__mono_ns() + (int64_t)r->interval_ms * 1000000;
        pthread_mutex_unlock(&r->mu);
        int rc = export_once(r, deadline);
        pthread_mutex_lock(&r->mu);
        r->last_rc = rc;
        r->done = answering;
        pthread_cond_broadcast(&r->cv);
        if (last)
            break;
    }
    r->finished = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* A duration variable in ms, positive (0 and invalid values reported once
 * and `def` used). */
static uint32_t env_ms(const char *name, uint32_t def)
{
    return (uint32_t)lumen__env_int_range(name, def, 1, INT32_MAX);
}

/* OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (case-insensitive);
 * unset or invalid (reported once with its value): cumulative. */
static lumen_otlp_temporality env_temporality(void)
{
    const char *v = lumen__env("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
    if (v == NULL)
        return LUMEN_OTLP_TEMPORALITY_CUMULATIVE;
    size_t n = strlen(v);
    const char *t = lumen__trim(v, &n);
    if (lumen__strieq(t, n, "cumulative"))
        return LUMEN_OTLP_TEMPORALITY_CUMULATIVE;
    if (lumen__strieq(t, n, "delta"))
        return LUMEN_OTLP_TEMPORALITY_DELTA;
    if (lumen__strieq(t, n, "lowmemory"))
        return LUMEN_OTLP_TEMPORALITY_LOWMEMORY;
    lumen__env_invalid("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", v,
                       "expected cumulative, delta or lowmemory; using cumulative");
    return LUMEN_OTLP_TEMPORALITY_CUMULATIVE;
}

static void reader_destroy(lumen_otlp_metrics_reader *r)
{
    if (r->exp != NULL)
        lumen__otlp_exp_destroy(r->exp);
    if (r->owns_res)
        lumen_tracer_provider_free(r->res);
    lumen__free(r->scope, 0);
    lumen_otlp_metrics_state_free(r->state);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    lumen__free(r, sizeof *r);
}

int lumen_otlp_metrics_reader_new(lumen_otlp_metrics_reader **out,
                                  const lumen_otlp_metrics_reader_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_otlp_metrics_reader_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes, LUMEN__VERSIONS(options_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (o.nregistries > LUMEN_RENDER_MAX_REGISTRIES ||
        (o.nregistries > 0 && o.registries == NULL) ||
        (int)o.temporality < LUMEN_OTLP_TEMPORALITY_DEFAULT ||
        o.temporality > LUMEN_OTLP_TEMPORALITY_LOWMEMORY)
        return LUMEN_EINVAL;
    lumen_otlp_metrics_reader *r = lumen__calloc(1, sizeof *r);
    if (r == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->nregs = o.nregistries;
    for (size_t i = 0; i < o.nregistries; i++)
        r->regs[i] = o.registries[i];
    r->interval_ms = o.interval_ms;
    r->timeout_ms = o.timeout_ms;
    if (!o.ignore_env) {
        if (r->interval_ms == 0)
            r->interval_ms = env_ms("OTEL_METRIC_EXPORT_INTERVAL", DEFAULT_INTERVAL_MS);
        if (r->timeout_ms == 0)
            r->timeout_ms = env_ms("OTEL_METRIC_EXPORT_TIMEOUT", DEFAULT_TIMEOUT_MS);
        if (o.temporality == LUMEN_OTLP_TEMPORALITY_DEFAULT)
            o.temporality = env_temporality();
    }
    if (o.temporality == LUMEN_OTLP_TEMPORALITY_DELTA ||
        o.temporality == LUMEN_OTLP_TEMPORALITY_LOWMEMORY) {
        if ((rc = lumen_otlp_metrics_state_new(&r->state, o.temporality)) != LUMEN_OK)
            goto fail;
    }
    if (r->interval_ms == 0)
        r->interval_ms = DEFAULT_INTERVAL_MS;
    if (r->timeout_ms == 0)
        r->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (o.scope_name != NULL && (r->scope = lumen__strdup(o.scope_name)) == NULL) {
        rc = LUMEN_ENOMEM;
        goto fail;
    }
    r->res = o.resource_from;
    if (r->res == NULL) {
        /* The resource a provider builds from the environment, as spans
         * and log records carry it. */
        if ((rc = lumen_tracer_provider_new(&r->res, NULL)) != LUMEN_OK)
            goto fail;
        r->owns_res = true;
    }
    if (!o.console) {
        if ((rc = lumen__otlp_exp_new(&r->exp, o.exporter, "METRICS")) != LUMEN_OK)
            goto fail;
    }
    link_reader(r);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        unlink_reader(r);
        rc = LUMEN_ESYS;
        goto fail;
    }
    *out = r;
    return LUMEN_OK;
fail:
    reader_destroy(r);
    return rc;
}

int lumen_otlp_metrics_reader_force_flush(lumen_otlp_metrics_reader *r, uint32_t timeout_ms)
{
    if (r == NULL)
        return LUMEN_EINVAL;
    int64_t dl = lumen__mono_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&r->mu);
    uint64_t mine = ++r->asked;
    pthread_cond_broadcast(&r->cv);
    while (r->done < mine && !r->stopping && lumen__mono_ns() < dl)
        lumen__cond_wait_until(&r->cv, &r->mu, dl);
    int rc = r->done >= mine ? r->last_rc : LUMEN_ETIMEDOUT;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int lumen_otlp_metrics_reader_get_stats(lumen_otlp_metrics_reader_stats *out,
                                        lumen_otlp_metrics_reader *r)
{
    if (out == NULL || r == NULL)
        return LUMEN_EINVAL;
    lumen_otlp_metrics_reader_stats s = LUMEN_OTLP_METRICS_READER_STATS_INIT;
    s.exports_ok = atomic_load(&r->ok);
    s.exports_failed = atomic_load(&r->failed);
    s.points_exported = atomic_load(&r->points);
    s.points_rejected = atomic_load(&r->rejected);
    s.points_dropped = atomic_load(&r->dropped);
    s.fail_http = atomic_load(&r->f_http);
    s.fail_connect = atomic_load(&r->f_connect);
    s.fail_timeout = atomic_load(&r->f_timeout);
    s.fail_other = atomic_load(&r->f_other);
    if (r->exp != NULL) {
        lumen_otlp_http_exporter_stats es = LUMEN_OTLP_HTTP_EXPORTER_STATS_INIT;
        if (lumen__otlp_exp_stats(&es, r->exp) == LUMEN_OK)
            s.last_status = es.last_status;
    }
    return lumen__versioned_out(out, &s, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

void lumen_otlp_metrics_reader_free(lumen_otlp_metrics_reader *r)
{
    if (r == NULL)
        return;
    int64_t dl = lumen__mono_ns() + (int64_t)r->timeout_ms * 1000000;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    r->stop_deadline = dl;
    pthread_cond_broadcast(&r->cv);
    /* The last export ends by the deadline; past it the transport is cut
     * off, so that an export in flight cannot hold the join longer. */
    while (!r->finished && lumen__mono_ns() < dl)
        lumen__cond_wait_until(&r->cv, &r->mu, dl);
    pthread_mutex_unlock(&r->mu);
    if (r->exp != NULL)
        lumen__otlp_exp_shutdown(r->exp);
    pthread_join(r->thread, NULL);
    unlink_reader(r);
    reader_destroy(r);
}

int lumen_otlp_metrics_init(lumen_otlp_metrics_reader **out, lumen_tracer_provider *resource_from)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    const char *which = lumen__env("OTEL_METRICS_EXPORTER");
    size_t n = which ? strlen(which) : 0;
    if (which)
        which = lumen__trim(which, &n);
    lumen_otlp_metrics_reader_options o = LUMEN_OTLP_METRICS_READER_OPTIONS_INIT;
    o.resource_from = resource_from;
    if (which == NULL || lumen__strieq(which, n, "otlp")) {
        /* the default */
    } else if (lumen__strieq(which, n, "console")) {
        o.console = true;
    } else if (lumen__strieq(which, n, "prometheus")) {
        static atomic_int said;
        if (atomic_exchange(&said, 1) == 0)
            lumen__diag(LUMEN_DIAG_INFO,
                        "OTEL_METRICS_EXPORTER=prometheus: the registries are served by "
                        "lumen's HTTP endpoint (lumen_http_server); no OTLP reader started");
        return LUMEN_OK;
    } else if (lumen__strieq(which, n, "none")) {
        return LUMEN_OK;
    } else {
        lumen__env_invalid("OTEL_METRICS_EXPORTER", lumen__env("OTEL_METRICS_EXPORTER"),
                           "expected otlp, prometheus, console or none; using otlp");
    }
    return lumen_otlp_metrics_reader_new(out, &o);
}
