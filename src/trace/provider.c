/*
 * trace/provider.c: the tracer provider (resource, sampler, limits,
 * processors), its tracers (one per instrumentation scope) and the global
 * provider.
 *
 * The processor array is filled before tracing starts and only read by
 * span ends afterwards (documented: adding processors is not thread-safe
 * with span starts). Tracers are looked up under a mutex, a cold path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/escape.h"
#include "core/hex.h"
#include "core/versioned.h"
#include "trace/pool.h"
#include "trace/processor.h"
#include "trace/provider.h"
#include "trace/sampler.h"
#include "trace/selfmetrics.h"

static struct lumen_tracer g_noop_tracer = {NULL, NULL, NULL, NULL, true};
static _Atomic(lumen_tracer_provider *) g_global;

/* Percent-decode s[0..n) into a new string; NULL on a bad escape or OOM. */
static char *pct_decode(const char *s, size_t n)
{
    lumen__buf b = LUMEN__BUF_INIT;
    bool ok = lumen__pct_decode(&b, s, n, LUMEN__PCT_STRICT) && !b.oom;
    char *o = ok ? lumen__buf_steal(&b, NULL) : NULL;
    lumen__buf_free(&b);
    return o;
}

static void resource_free(lumen_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lumen__free((void *)a[i].key, 0);
        lumen__free((void *)a[i].v.s, 0);
    }
    lumen__free(a, 0);
}

/* s itself when it is valid UTF-8, else a copy with U+FFFD for each
 * invalid byte (s freed): resource and scope strings are exported in
 * every request, and a protobuf decoder rejects invalid UTF-8. NULL: s
 * was NULL or out of memory. */
static char *text(char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || lumen__utf8_invalid(s, n) == 0)
        return s;
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__utf8_repair_buf(&b, s, n);
    lumen__free(s, 0);
    char *r = b.oom ? NULL : lumen__buf_steal(&b, NULL);
    lumen__buf_free(&b);
    return r;
}

/* Set key=value (both copied) in the resource, replacing an equal key. */
static int res_set(lumen_attr **a, size_t *n, const char *k, size_t kn, const char *v, size_t vn,
                   bool decode)
{
    char *key = text(decode ? pct_decode(k, kn) : lumen__strndup(k, kn));
    char *val = text(decode ? pct_decode(v, vn) : lumen__strndup(v, vn));
    if (key == NULL || val == NULL || *key == '\0') {
        lumen__free(key, 0);
        lumen__free(val, 0);
        return LUMEN_EPARSE;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*a)[i].key, key) == 0) {
            lumen__free(key, 0);
            lumen__free((void *)(*a)[i].v.s, 0);
            (*a)[i].v.s = val;
            (*a)[i].len = strlen(val);
            return LUMEN_OK;
        }
    }
    lumen_attr *na = lumen__realloc(*a, *n * sizeof **a, (*n + 1) * sizeof **a);
    if (na == NULL) {
        lumen__free(key, 0);
        lumen__free(val, 0);
        return LUMEN_ENOMEM;
    }
    *a = na;
    na[*n] = (lumen_attr){key, LUMEN_ATTR_STRING, strlen(val), {.s = val}};
    (*n)++;
    return LUMEN_OK;
}

/* Parse "k=v,k2=v2" (percent-encoded) into resource attributes. A bad
 * member is skipped and reported; the others are kept. */
static int resource_parse(const char *s, lumen_attr **out, size_t *n)
{
    int rc = LUMEN_OK;
    while (s != NULL && *s != '\0') {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        size_t ml = len;
        const char *m = lumen__trim(s, &ml);
        const char *eq = memchr(m, '=', ml);
        if (ml > 0) {
            if (eq == NULL) {
                rc = LUMEN_EPARSE;
            } else {
                size_t kn = (size_t)(eq - m), vn = ml - kn - 1;
                const char *k = lumen__trim(m, &kn);
                const char *v = lumen__trim(eq + 1, &vn);
                int r = res_set(out, n, k, kn, v, vn, true);
                if (r == LUMEN_ENOMEM)
                    return r;
                if (r != LUMEN_OK)
                    rc = r;
            }
        }
        s = end ? end + 1 : NULL;
    }
    return rc;
}

static uint32_t env_limit(bool use_env, uint32_t given, const char *name, uint32_t def)
{
    if (given != 0)
        return given;
    if (!use_env)
        return def;
    return (uint32_t)lumen__env_int_range(name, def, 0, 0x7fffffff);
}

static int build_resource(lumen_tracer_provider *tp, const lumen_tracer_provider_options *o)
{
    lumen_attr *a = NULL;
    size_t n = 0;
    int rc = LUMEN_OK;
    const char *ra = o->resource_attributes;
    if (ra == NULL && !o->ignore_env)
        ra = lumen__env("OTEL_RESOURCE_ATTRIBUTES");
    if (ra != NULL && resource_parse(ra, &a, &n) == LUMEN_EPARSE) {
        if (o->resource_attributes == NULL)
            lumen__env_invalid("OTEL_RESOURCE_ATTRIBUTES", ra,
                               "members that are not key=value with valid percent-encoding are "
                               "ignored; the others are used");
        else
            lumen__diag(LUMEN_DIAG_WARN, "resource attributes: invalid members ignored");
    }
    const char *svc = o->service_name;
    if (svc == NULL && !o->ignore_env)
        svc = lumen__env("OTEL_SERVICE_NAME");
    char buf[300];
    bool have = false;
    for (size_t i = 0; i < n; i++)
        have |= strcmp(a[i].key, "service.name") == 0;
    if (svc == NULL && !have) {
        snprintf(buf, sizeof buf, "unknown_service:%s", program_invocation_short_name);
        svc = buf;
    }
    if (svc != NULL &&
        (rc = res_set(&a, &n, "service.name", 12, svc, strlen(svc), false)) != LUMEN_OK)
        goto fail;
    const char *ver = lumen_version();
    if ((rc = res_set(&a, &n, "telemetry.sdk.name", 18, "lumen", 5, false)) != LUMEN_OK ||
        (rc = res_set(&a, &n, "telemetry.sdk.language", 22, "c", 1, false)) != LUMEN_OK ||
        (rc = res_set(&a, &n, "telemetry.sdk.version", 21, ver, strlen(ver), false)) != LUMEN_OK)
        goto fail;
    tp->resource = a;
    tp->nresource = n;
    return LUMEN_OK;
fail:
    resource_free(a, n);
    return rc == LUMEN_EPARSE ? LUMEN_EINVAL : rc;
}

static const size_t options_sizes[] = {0, sizeof(lumen_tracer_provider_options)};

int lumen_tracer_provider_options_init(lumen_tracer_provider_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_tracer_provider_new(lumen_tracer_provider **out,
                              const lumen_tracer_provider_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_tracer_provider_options full;
    const lumen_tracer_provider_options *o = &full;
    int vrc = lumen__versioned_in(&full, sizeof full, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    lumen_tracer_provider *tp = lumen__calloc(1, sizeof *tp);
    pthread_mutex_t *mu = lumen__malloc(sizeof *mu);
    int rc = LUMEN_ENOMEM;
    if (tp == NULL || mu == NULL)
        goto fail;
    lumen__trace_metrics_register();
    pthread_mutex_init(mu, NULL);
    tp->lock = mu;
    mu = NULL;
    bool env = !o->ignore_env;
    tp->disabled = env && lumen__env_bool("OTEL_SDK_DISABLED", false);
    tp->sampler = o->sampler;
    if (o->sampler.kind == LUMEN_SAMPLER_DEFAULT) {
        if (env)
            lumen__sampler_from_env(&tp->sampler);
        else
            tp->sampler = (lumen_sampler){LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0, NULL, NULL};
    } else if (o->sampler.kind > LUMEN_SAMPLER_CUSTOM ||
               (o->sampler.kind == LUMEN_SAMPLER_CUSTOM && o->sampler.fn == NULL)) {
        rc = LUMEN_EINVAL;
        goto fail;
    }
    tp->shutdown_timeout_ms =
        o->shutdown_timeout_ms ? o->shutdown_timeout_ms : LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS;
    tp->limits.attrs =
        env_limit(env, o->attribute_count_limit, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", 0);
    if (tp->limits.attrs == 0)
        tp->limits.attrs = env_limit(env, 0, "OTEL_ATTRIBUTE_COUNT_LIMIT",
                                     LUMEN_SPAN_DEFAULT_ATTRIBUTE_COUNT_LIMIT);
    tp->limits.value_len = env_limit(env, o->attribute_value_length_limit,
                                     "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
    if (tp->limits.value_len == 0)
        tp->limits.value_len = env_limit(env, 0, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
    tp->limits.events = env_limit(env, o->event_count_limit, "OTEL_SPAN_EVENT_COUNT_LIMIT",
                                  LUMEN_SPAN_DEFAULT_EVENT_COUNT_LIMIT);
    tp->limits.links = env_limit(env, o->link_count_limit, "OTEL_SPAN_LINK_COUNT_LIMIT",
                                 LUMEN_SPAN_DEFAULT_LINK_COUNT_LIMIT);
    tp->limits.event_attrs =
        env_limit(env, o->attribute_per_event_limit, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
                  LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_EVENT_LIMIT);
    tp->limits.link_attrs =
        env_limit(env, o->attribute_per_link_limit, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
                  LUMEN_SPAN_DEFAULT_ATTRIBUTE_PER_LINK_LIMIT);
    if ((rc = build_resource(tp, o)) != LUMEN_OK)
        goto fail;
    *out = tp;
    return LUMEN_OK;
fail:
    lumen__free(mu, sizeof *mu);
    if (tp != NULL && tp->lock != NULL) {
        pthread_mutex_destroy(tp->lock);
        lumen__free(tp->lock, sizeof(pthread_mutex_t));
    }
    lumen__free(tp, sizeof *tp);
    return rc;
}

int lumen_tracer_provider_add_processor(lumen_tracer_provider *tp, lumen_span_processor *p)
{
    if (p == NULL)
        return LUMEN_EINVAL;
    int rc = LUMEN_OK;
    if (tp == NULL)
        rc = LUMEN_EINVAL;
    else if (atomic_load(&tp->shut))
        rc = LUMEN_ESHUTDOWN;
    else if (atomic_load(&tp->nprocs) >= LUMEN__MAX_PROCESSORS)
        rc = LUMEN_ELIMIT;
    if (rc != LUMEN_OK) {
        lumen_span_processor_free(p);
        return rc;
    }
    pthread_mutex_lock(tp->lock);
    int n = atomic_load(&tp->nprocs);
    tp->procs[n] = p;
    atomic_store_explicit(&tp->nprocs, n + 1, memory_order_release);
    pthread_mutex_unlock(tp->lock);
    return LUMEN_OK;
}

void lumen__provider_on_end(lumen_tracer_provider *tp, lumen_span *s)
{
    int n = atomic_load_explicit(&tp->nprocs, memory_order_acquire);
    if (n == 0) {
        lumen__span_release(s);
        return;
    }
    /* The user's reference becomes the first processor's; the others get
     * one each. */
    if (n > 1)
        atomic_fetch_add_explicit(&s->refs, n - 1, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        tp->procs[i]->on_end(tp->procs[i], s);
}

lumen_tracer *lumen_tracer_provider_get_tracer(lumen_tracer_provider *tp, const char *name,
                                               const char *version)
{
    if (tp == NULL || tp->disabled || atomic_load(&tp->shut))
        return &g_noop_tracer;
    if (name == NULL)
        name = "";
    /* Scopes are kept (and so looked up) with invalid UTF-8 repaired. */
    char *fixed_name = NULL, *fixed_version = NULL;
    if (lumen__utf8_invalid(name, strlen(name)) > 0 &&
        (name = fixed_name = text(lumen__strdup(name))) == NULL)
        return &g_noop_tracer;
    if (version != NULL && lumen__utf8_invalid(version, strlen(version)) > 0 &&
        (version = fixed_version = text(lumen__strdup(version))) == NULL) {
        lumen__free(fixed_name, 0);
        return &g_noop_tracer;
    }
    pthread_mutex_lock(tp->lock);
    lumen_tracer *t;
    for (t = tp->tracers; t != NULL; t = t->next) {
        if (strcmp(t->name, name) == 0 &&
            ((version == NULL && t->version == NULL) ||
             (version != NULL && t->version != NULL && strcmp(version, t->version) == 0)))
            break;
    }
    if (t == NULL) {
        t = lumen__calloc(1, sizeof *t);
        if (t != NULL) {
            t->provider = tp;
            t->name = lumen__strdup(name);
            t->version = version ? lumen__strdup(version) : NULL;
            if (t->name == NULL || (version != NULL && t->version == NULL)) {
                lumen__free(t->name, 0);
                lumen__free(t->version, 0);
                lumen__free(t, sizeof *t);
                t = NULL;
            } else {
                t->next = tp->tracers;
                tp->tracers = t;
            }
        }
    }
    pthread_mutex_unlock(tp->lock);
    lumen__free(fixed_name, 0);
    lumen__free(fixed_version, 0);
    return t != NULL ? t : &g_noop_tracer;
}

int lumen_tracer_provider_force_flush(lumen_tracer_provider *tp, uint32_t timeout_ms)
{
    if (tp == NULL)
        return LUMEN_EINVAL;
    int n = atomic_load(&tp->nprocs), rc = LUMEN_OK;
    int64_t dl = lumen__deadline(timeout_ms, tp->shutdown_timeout_ms);
    for (int i = 0; i < n; i++) {
        int r = tp->procs[i]->force_flush(tp->procs[i], dl);
        if (r != LUMEN_OK && rc == LUMEN_OK)
            rc = r;
    }
    return rc;
}

int lumen_tracer_provider_shutdown(lumen_tracer_provider *tp, uint32_t timeout_ms)
{
    if (tp == NULL)
        return LUMEN_EINVAL;
    if (atomic_exchange(&tp->shut, true))
        return LUMEN_ESHUTDOWN;
    int n = atomic_load(&tp->nprocs), rc = LUMEN_OK;
    int64_t dl = lumen__deadline(timeout_ms, tp->shutdown_timeout_ms);
    for (int i = 0; i < n; i++) {
        int r = tp->procs[i]->shutdown(tp->procs[i], dl);
        if (r != LUMEN_OK && rc == LUMEN_OK)
            rc = r;
    }
    return rc;
}

void lumen_tracer_provider_free(lumen_tracer_provider *tp)
{
    if (tp == NULL)
        return;
    lumen_tracer_provider_shutdown(tp, 0); /* within its shutdown_timeout_ms */
    if (atomic_load(&g_global) == tp)
        atomic_store(&g_global, NULL);
    int n = atomic_load(&tp->nprocs);
    for (int i = 0; i < n; i++)
        tp->procs[i]->destroy(tp->procs[i]);
    lumen_tracer *t = tp->tracers;
    while (t != NULL) {
        lumen_tracer *next = t->next;
        lumen__free(t->name, 0);
        lumen__free(t->version, 0);
        lumen__free(t, sizeof *t);
        t = next;
    }
    resource_free(tp->resource, tp->nresource);
    pthread_mutex_destroy(tp->lock);
    lumen__free(tp->lock, sizeof(pthread_mutex_t));
    lumen__free(tp, sizeof *tp);
    /* Give the pooled span records back to the allocator so that a program
     * that is done with tracing holds nothing (and leak checkers agree). */
    lumen__span_pool_trim();
}

void lumen_tracer_provider_set_global(lumen_tracer_provider *tp)
{
    atomic_store(&g_global, tp);
}

lumen_tracer *lumen_tracer_get(const char *name, const char *version)
{
    return lumen_tracer_provider_get_tracer(atomic_load(&g_global), name, version);
}
