/*
 * http/otlp_config.c: the OTLP/HTTP exporter's configuration from options
 * and OTEL_EXPORTER_OTLP_* (the _TRACES_ variant first); see
 * otlp_config.h.
 * Invalid environment values are reported once each, with the value and
 * the default used (lumen__env_invalid: standard error unless the
 * diagnostics hook, lumen_set_diag_hook, takes them); an endpoint,
 * protocol or compression that cannot work is an error at creation, the
 * only time the specification lets an SDK fail.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/hex.h"
#include "http/otlp_config.h"

/* The option, else the per-signal variable, else the general one; *from
 * names the variable the value came from (NULL: the option). */
static const char *pick_from(bool env, const char *given, const char *traces_var, const char *var,
                             const char **from)
{
    *from = NULL;
    if (given != NULL)
        return given;
    if (!env)
        return NULL;
    const char *v = lumen__env(traces_var);
    *from = v ? traces_var : var;
    return v ? v : lumen__env(var);
}

static const char *pick(bool env, const char *given, const char *traces_var, const char *var)
{
    const char *from;
    return pick_from(env, given, traces_var, var, &from);
}

/* "k=v,k2=v2" → "k: v" lines; values percent-decoded. Bad members are
 * reported and skipped. `var` names the variable s came from (NULL: the
 * option); the report never shows the value, which may hold a secret. */
static int parse_headers(const char *s, struct curl_slist **list, const char *var)
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
            size_t at = b.len;
            lumen__pct_decode(&b, v, vn, 0);
            /* No header injection: no line break, raw or percent-encoded. */
            for (size_t i = at; i < b.len && ok && !b.oom; i++)
                ok = b.p[i] != '\r' && b.p[i] != '\n';
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
            } else if (var != NULL) {
                lumen__env_invalid(var, "(not shown)",
                                   "a member with an invalid name or a line break is ignored");
            } else {
                lumen__diag(LUMEN_DIAG_WARN, "OTLP headers: invalid member ignored");
            }
            lumen__buf_free(&b);
        } else if (n > 0 && var != NULL) {
            lumen__env_invalid(var, "(not shown)", "a member without '=' is ignored");
        } else if (n > 0) {
            lumen__diag(LUMEN_DIAG_WARN, "OTLP headers: member without '=' ignored");
        }
        s = e ? e + 1 : NULL;
    }
    return LUMEN_OK;
}

/* Milliseconds in a timeout variable; -1 when unset or invalid (reported,
 * naming `fallback`). */
static int64_t env_timeout(const char *name, const char *fallback)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return -1;
    char *end;
    errno = 0;
    long long t = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || t < 0) {
        lumen__env_invalid(name, v, "expected milliseconds (0: no limit); using %s", fallback);
        return -1;
    }
    return t;
}

int lumen__otlp_http_config(const lumen_otlp_http_exporter_options *o, const char *signal,
                            char **url, struct curl_slist **hdrs, bool *json, bool *gzip,
                            uint32_t *timeout_ms)
{
    bool env = !o->ignore_env;
    char v_ep[64], v_proto[64], v_comp[64], v_to[64], v_hdr[64], path[32], fb[80];
    snprintf(v_ep, sizeof v_ep, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal);
    snprintf(v_proto, sizeof v_proto, "OTEL_EXPORTER_OTLP_%s_PROTOCOL", signal);
    snprintf(v_comp, sizeof v_comp, "OTEL_EXPORTER_OTLP_%s_COMPRESSION", signal);
    snprintf(v_to, sizeof v_to, "OTEL_EXPORTER_OTLP_%s_TIMEOUT", signal);
    snprintf(v_hdr, sizeof v_hdr, "OTEL_EXPORTER_OTLP_%s_HEADERS", signal);
    /* "/v1/traces", "/v1/logs": the signal's name in lower case. */
    size_t pl = (size_t)snprintf(path, sizeof path, "/v1/%s", signal);
    for (size_t i = 4; i < pl && i < sizeof path; i++)
        path[i] = (char)(path[i] | 0x20);
    /* Endpoint: per-signal as is; base + "/v1/traces" with a single slash. */
    const char *ep = o->endpoint;
    bool append = false;
    if (ep == NULL && env) {
        ep = lumen__env(v_ep);
        if (ep == NULL) {
            ep = lumen__env("OTEL_EXPORTER_OTLP_ENDPOINT");
            append = ep != NULL;
        }
    }
    const char *ep_var = o->endpoint != NULL ? NULL : append ? "OTEL_EXPORTER_OTLP_ENDPOINT" : v_ep;
    char def[64];
    snprintf(def, sizeof def, "http://localhost:4318%s", path);
    if (ep == NULL)
        ep = def;
    if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
        if (ep_var != NULL)
            lumen__env_invalid(ep_var, ep,
                               "expected an http:// or https:// URL; no exporter is created");
        else
            lumen__diag(LUMEN_DIAG_ERROR, "OTLP endpoint must start with http:// or https://");
        return LUMEN_ECONFIG;
    }
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__buf_puts(&b, ep);
    if (append) {
        while (b.len > 0 && b.p[b.len - 1] == '/')
            b.len--;
        lumen__buf_puts(&b, path);
    } else if (strchr(ep + (ep[4] == 's' ? 8 : 7), '/') == NULL) {
        lumen__buf_putc(&b, '/'); /* an empty path is "/" */
    }
    if (b.oom)
        return LUMEN_ENOMEM;
    size_t ul;
    *url = lumen__buf_steal(&b, &ul);

    const char *var;
    const char *proto = pick_from(env, o->protocol, v_proto, "OTEL_EXPORTER_OTLP_PROTOCOL", &var);
    *json = false;
    if (proto != NULL) {
        size_t n = strlen(proto);
        const char *t = lumen__trim(proto, &n);
        if (lumen__strieq(t, n, "http/json")) {
            *json = true;
        } else if (!lumen__strieq(t, n, "http/protobuf")) {
            if (o->protocol != NULL)
                return LUMEN_ECONFIG;
            lumen__env_invalid(var, proto,
                               "expected http/protobuf or http/json (grpc is not supported); "
                               "using http/protobuf");
        }
    }
    const char *comp =
        pick_from(env, o->compression, v_comp, "OTEL_EXPORTER_OTLP_COMPRESSION", &var);
    *gzip = false;
    if (comp != NULL) {
        size_t n = strlen(comp);
        const char *t = lumen__trim(comp, &n);
        if (lumen__strieq(t, n, "gzip")) {
            *gzip = true;
        } else if (!lumen__strieq(t, n, "none")) {
            if (o->compression != NULL)
                return LUMEN_ECONFIG;
            lumen__env_invalid(var, comp, "expected gzip or none; using none");
        }
    }
    *timeout_ms = o->timeout_ms;
    if (*timeout_ms == 0 && env) {
        snprintf(fb, sizeof fb, "OTEL_EXPORTER_OTLP_TIMEOUT or %d",
                 LUMEN_OTLP_HTTP_DEFAULT_TIMEOUT_MS);
        int64_t t = env_timeout(v_to, fb);
        if (t < 0)
            t = env_timeout("OTEL_EXPORTER_OTLP_TIMEOUT",
                            fb + sizeof "OTEL_EXPORTER_OTLP_TIMEOUT or " - 1);
        if (t > 0x7fffffff)
            t = 0x7fffffff;
        /* 0 means no limit: the caller's deadline still applies. */
        *timeout_ms = t == 0 ? 0x7fffffff : t > 0 ? (uint32_t)t : 0;
    }
    if (*timeout_ms == 0)
        *timeout_ms = LUMEN_OTLP_HTTP_DEFAULT_TIMEOUT_MS;

    const char *type =
        *json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf";
    struct curl_slist *l = curl_slist_append(NULL, type);
    if (l == NULL)
        return LUMEN_ENOMEM;
    *hdrs = l;
    if (*gzip && (l = curl_slist_append(*hdrs, "Content-Encoding: gzip")) == NULL)
        return LUMEN_ENOMEM;
    /* No "Expect: 100-continue" round trip before the body. */
    if ((l = curl_slist_append(*hdrs, "Expect:")) == NULL)
        return LUMEN_ENOMEM;
    const char *h = pick_from(env, o->headers, v_hdr, "OTEL_EXPORTER_OTLP_HEADERS", &var);
    return parse_headers(h, hdrs, var);
}

/* TLS files for https endpoints. libcurl reads them at connection time; a
 * file that cannot be used fails the export, reported with the reason. */
int lumen__otlp_http_tls(const lumen_otlp_http_exporter_options *o, const char *signal, CURL *c)
{
    bool env = !o->ignore_env;
    char v_ca[64], v_cert[64], v_key[64];
    snprintf(v_ca, sizeof v_ca, "OTEL_EXPORTER_OTLP_%s_CERTIFICATE", signal);
    snprintf(v_cert, sizeof v_cert, "OTEL_EXPORTER_OTLP_%s_CLIENT_CERTIFICATE", signal);
    snprintf(v_key, sizeof v_key, "OTEL_EXPORTER_OTLP_%s_CLIENT_KEY", signal);
    const char *ca = pick(env, o->certificate, v_ca, "OTEL_EXPORTER_OTLP_CERTIFICATE");
    const char *cert =
        pick(env, o->client_certificate, v_cert, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    const char *key = pick(env, o->client_key, v_key, "OTEL_EXPORTER_OTLP_CLIENT_KEY");
    if (ca != NULL && curl_easy_setopt(c, CURLOPT_CAINFO, ca) != CURLE_OK)
        return LUMEN_ECONFIG;
    if (cert != NULL && curl_easy_setopt(c, CURLOPT_SSLCERT, cert) != CURLE_OK)
        return LUMEN_ECONFIG;
    if (key != NULL && curl_easy_setopt(c, CURLOPT_SSLKEY, key) != CURLE_OK)
        return LUMEN_ECONFIG;
    return LUMEN_OK;
}
