/*
 * http/otlp_config.c: the OTLP/HTTP exporter's configuration from options
 * and OTEL_EXPORTER_OTLP_* (the _TRACES_ variant first), and
 * lumen_otlp_tracing_init, which builds tracing from the environment alone.
 * Invalid values are reported through the diagnostics hook; an endpoint,
 * protocol or compression that cannot work is an error at creation, the
 * only time the specification lets an SDK fail.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/diag.h"
#include "core/env.h"
#include "lumen/http_otlp.h"

static const char *pick(bool env, const char *given, const char *traces_var, const char *var)
{
    if (given != NULL)
        return given;
    if (!env)
        return NULL;
    const char *v = lumen__env(traces_var);
    return v ? v : lumen__env(var);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "k=v,k2=v2" → "k: v" lines; values percent-decoded. Bad members are
 * reported and skipped. */
static int parse_headers(const char *s, struct curl_slist **list)
{
    while (s != NULL && *s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *m = lumen__trim(s, &n);
        const char *eq = memchr(m, '=', n);
        if (n > 0 && eq != NULL && eq != m) {
            size_t kn = (size_t)(eq - m), vn = n - kn - 1;
            const char *k = lumen__trim(m, &kn);
            const char *v = lumen__trim(eq + 1, &vn);
            lumen__buf b = LUMEN__BUF_INIT;
            lumen__buf_add(&b, k, kn);
            lumen__buf_puts(&b, ": ");
            bool ok = kn > 0;
            for (size_t i = 0; i < vn && ok; i++) {
                if (v[i] == '%' && i + 2 < vn && hexv(v[i + 1]) >= 0 && hexv(v[i + 2]) >= 0) {
                    lumen__buf_putc(&b, (char)(hexv(v[i + 1]) * 16 + hexv(v[i + 2])));
                    i += 2;
                } else if (v[i] == '\r' || v[i] == '\n') {
                    ok = false; /* no header injection */
                } else {
                    lumen__buf_putc(&b, v[i]);
                }
            }
            for (size_t i = 0; i < kn && ok; i++)
                ok = k[i] > 0x20 && k[i] < 0x7f && k[i] != ':';
            if (b.oom) {
                lumen__buf_free(&b);
                return LUMEN_ENOMEM;
            }
            if (ok) {
                struct curl_slist *nl = curl_slist_append(*list, b.p);
                if (nl == NULL) {
                    lumen__buf_free(&b);
                    return LUMEN_ENOMEM;
                }
                *list = nl;
            } else {
                lumen__diag(LUMEN_DIAG_WARN, "OTLP headers: invalid member ignored");
            }
            lumen__buf_free(&b);
        } else if (n > 0) {
            lumen__diag(LUMEN_DIAG_WARN, "OTLP headers: member without '=' ignored");
        }
        s = e ? e + 1 : NULL;
    }
    return LUMEN_OK;
}

int lumen__otlp_http_config(const lumen_otlp_http_options *o, char **url, struct curl_slist **hdrs,
                            bool *json, bool *gzip, uint32_t *timeout_ms);

int lumen__otlp_http_config(const lumen_otlp_http_options *o, char **url, struct curl_slist **hdrs,
                            bool *json, bool *gzip, uint32_t *timeout_ms)
{
    bool env = !o->ignore_env;
    /* Endpoint: per-signal as is; base + "/v1/traces" with a single slash. */
    const char *ep = o->endpoint;
    bool append = false;
    if (ep == NULL && env) {
        ep = lumen__env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        if (ep == NULL) {
            ep = lumen__env("OTEL_EXPORTER_OTLP_ENDPOINT");
            append = ep != NULL;
        }
    }
    if (ep == NULL)
        ep = "http://localhost:4318/v1/traces";
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
        lumen__diag(LUMEN_DIAG_ERROR, "OTLP endpoint must start with http:// or https://");
        return LUMEN_ECONFIG;
    }
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__buf_puts(&b, ep);
    if (append) {
        while (b.len > 0 && b.p[b.len - 1] == '/')
            b.len--;
        lumen__buf_puts(&b, "/v1/traces");
    } else if (strchr(ep + (ep[4] == 's' ? 8 : 7), '/') == NULL) {
        lumen__buf_putc(&b, '/'); /* an empty path is "/" */
    }
    if (b.oom)
        return LUMEN_ENOMEM;
    size_t ul;
    *url = lumen__buf_steal(&b, &ul);

    const char *proto = pick(env, o->protocol, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
    *json = false;
    if (proto != NULL) {
        size_t n = strlen(proto);
        proto = lumen__trim(proto, &n);
        if (lumen__strieq(proto, n, "http/json")) {
            *json = true;
        } else if (!lumen__strieq(proto, n, "http/protobuf")) {
            if (o->protocol != NULL)
                return LUMEN_ECONFIG;
            lumen__diag(LUMEN_DIAG_WARN, "OTLP protocol not supported (grpc?); using http/protobuf");
        }
    }
    const char *comp = pick(env, o->compression, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                            "OTEL_EXPORTER_OTLP_COMPRESSION");
    *gzip = false;
    if (comp != NULL) {
        size_t n = strlen(comp);
        comp = lumen__trim(comp, &n);
        if (lumen__strieq(comp, n, "gzip")) {
            *gzip = true;
        } else if (!lumen__strieq(comp, n, "none")) {
            if (o->compression != NULL)
                return LUMEN_ECONFIG;
            lumen__diag(LUMEN_DIAG_WARN, "OTLP compression unknown; using none");
        }
    }
    *timeout_ms = o->timeout_ms;
    if (*timeout_ms == 0 && env) {
        int64_t t = lumen__env_int("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", -1);
        if (t < 0)
            t = lumen__env_int("OTEL_EXPORTER_OTLP_TIMEOUT", -1);
        if (t > 0x7fffffff)
            t = 0x7fffffff;
        /* 0 means no limit: the caller's deadline still applies. */
        *timeout_ms = t == 0 ? 0x7fffffff : t > 0 ? (uint32_t)t : 0;
    }
    if (*timeout_ms == 0)
        *timeout_ms = 10000;

    const char *type = *json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf";
    struct curl_slist *l = curl_slist_append(NULL, type);
    if (l == NULL)
        return LUMEN_ENOMEM;
    *hdrs = l;
    if (*gzip && (l = curl_slist_append(*hdrs, "Content-Encoding: gzip")) == NULL)
        return LUMEN_ENOMEM;
    /* No "Expect: 100-continue" round trip before the body. */
    if ((l = curl_slist_append(*hdrs, "Expect:")) == NULL)
        return LUMEN_ENOMEM;
    const char *h = pick(env, o->headers, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS");
    return parse_headers(h, hdrs);
}

int lumen__otlp_http_tls(const lumen_otlp_http_options *o, CURL *c);

/* TLS files for https endpoints. libcurl reads them at connection time; a
 * file that cannot be used fails the export, reported with the reason. */
int lumen__otlp_http_tls(const lumen_otlp_http_options *o, CURL *c)
{
    bool env = !o->ignore_env;
    const char *ca = pick(env, o->certificate, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                          "OTEL_EXPORTER_OTLP_CERTIFICATE");
    const char *cert = pick(env, o->client_certificate, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    const char *key = pick(env, o->client_key, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                           "OTEL_EXPORTER_OTLP_CLIENT_KEY");
    if (ca != NULL && curl_easy_setopt(c, CURLOPT_CAINFO, ca) != CURLE_OK)
        return LUMEN_ECONFIG;
    if (cert != NULL && curl_easy_setopt(c, CURLOPT_SSLCERT, cert) != CURLE_OK)
        return LUMEN_ECONFIG;
    if (key != NULL && curl_easy_setopt(c, CURLOPT_SSLKEY, key) != CURLE_OK)
        return LUMEN_ECONFIG;
    return LUMEN_OK;
}

int lumen_otlp_tracing_init(lumen_tracer_provider **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_tracer_provider *tp = NULL;
    int rc = lumen_tracer_provider_new(NULL, &tp);
    if (rc != LUMEN_OK)
        return rc;
    const char *which = lumen__env("OTEL_TRACES_EXPORTER");
    size_t n = which ? strlen(which) : 0;
    if (which)
        which = lumen__trim(which, &n);
    lumen_span_exporter *exp = NULL;
    if (which == NULL || lumen__strieq(which, n, "otlp")) {
        rc = lumen_otlp_http_exporter_new(NULL, &exp);
    } else if (lumen__strieq(which, n, "console") || lumen__strieq(which, n, "logging")) {
        rc = lumen_console_exporter_new(NULL, &exp);
    } else if (lumen__strieq(which, n, "none")) {
        rc = LUMEN_OK;
    } else {
        lumen__diag(LUMEN_DIAG_WARN, "OTEL_TRACES_EXPORTER: unknown exporter; using otlp");
        rc = lumen_otlp_http_exporter_new(NULL, &exp);
    }
    if (rc == LUMEN_OK && exp != NULL) {
        lumen_span_processor *p;
        rc = lumen_batch_processor_new(exp, NULL, &p);
        if (rc == LUMEN_OK)
            rc = lumen_tracer_provider_add_processor(tp, p);
    }
    if (rc != LUMEN_OK) {
        lumen_tracer_provider_free(tp);
        return rc;
    }
    lumen_tracer_provider_set_global(tp);
    *out = tp;
    return LUMEN_OK;
}
