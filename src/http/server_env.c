/*
 * http/server_env.c: lumen_http_server_options_from_env, the LUMEN_METRICS_*
 * environment variables. An invalid value leaves its field alone, is
 * reported once with its value (lumen__env_invalid: standard error unless
 * a diagnostics hook is installed), and makes the call return
 * LUMEN_ECONFIG, so that a typo in a deployment is noticed instead of
 * silently replaced by a default.
 */
#include "core/common.h"

#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/env.h"
#include "http/addr.h"
#include "lumen/http.h"

/* A whole decimal number in [1, max]. */
static bool env_uint(const char *name, uint64_t max, uint64_t *out, int *rc)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return false;
    uint64_t n = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > max)
            break;
    }
    if (p == v || *p != '\0' || n == 0 || n > max) {
        lumen__env_invalid(name, v,
                           "expected a whole number from 1 to %llu; the option is left as it was",
                           (unsigned long long)max);
        *rc = LUMEN_ECONFIG;
        return false;
    }
    *out = n;
    return true;
}

static void env_unsigned(const char *name, uint32_t *field, uint64_t max, int *rc)
{
    uint64_t n;
    if (env_uint(name, max, &n, rc))
        *field = (uint32_t)n;
}

/* The server's options of this library's version, in place: the fields of
 * an older caller's version only (env_* write no others). */
int lumen_http_server_options_from_env(lumen_http_server_options *o)
{
    if (o == NULL)
        return LUMEN_EINVAL;
    if (o->version != LUMEN_HTTP_SERVER_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    int rc = LUMEN_OK;
    const char *v;

    if ((v = lumen__env("LUMEN_METRICS_ADDR")) != NULL) {
        /* Check it now so the error names the variable; the server parses
         * it again (and resolves names) when it starts. */
        lumen__http_addr a;
        if (lumen__http_addr_parse(v, &a) == LUMEN_OK) {
            o->addr = v;
        } else {
            lumen__env_invalid("LUMEN_METRICS_ADDR", v,
                               "expected host:port, [v6]:port or :port; the option is left as "
                               "it was");
            rc = LUMEN_ECONFIG;
        }
    }
    env_unsigned("LUMEN_METRICS_MAX_CONNECTIONS", &o->max_connections, 1u << 20, &rc);
    env_unsigned("LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT", &o->max_connections_per_client,
                 1u << 20, &rc);
    uint64_t secs; /* in seconds, as it always was */
    if (env_uint("LUMEN_METRICS_CONNECTION_TIMEOUT", 86400, &secs, &rc))
        o->connection_timeout_ms = (uint32_t)(secs * 1000);
    env_unsigned("LUMEN_METRICS_MAX_SCRAPES", &o->max_concurrent_scrapes, 1024, &rc);
    env_unsigned("LUMEN_METRICS_THREADS", &o->threads, 256, &rc);
    uint64_t n;
    if (env_uint("LUMEN_METRICS_MAX_HEADER_BYTES", 1u << 24, &n, &rc)) {
        if (n >= 1024) {
            o->max_header_bytes = (size_t)n;
        } else {
            lumen__env_invalid("LUMEN_METRICS_MAX_HEADER_BYTES",
                               lumen__env("LUMEN_METRICS_MAX_HEADER_BYTES"),
                               "expected at least 1024; the option is left as it was");
            rc = LUMEN_ECONFIG;
        }
    }
    if ((v = lumen__env("LUMEN_METRICS_SCRAPE_TIMEOUT")) != NULL) {
        double s;
        if (lumen__parse_double(v, &s) && s >= 0.001 && s <= 86400) {
            o->scrape_timeout_ms = (uint32_t)(s * 1000 + 0.5);
        } else {
            lumen__env_invalid("LUMEN_METRICS_SCRAPE_TIMEOUT", v,
                               "expected seconds from 0.001 to 86400; the option is left as it "
                               "was");
            rc = LUMEN_ECONFIG;
        }
    }
    if ((v = lumen__env("LUMEN_METRICS_HEADER_TIMEOUT")) != NULL) {
        double s;
        if (lumen__parse_double(v, &s) && s >= 0.001 && s <= 86400) {
            o->header_timeout_ms = (uint32_t)(s * 1000 + 0.5);
        } else {
            lumen__diag(LUMEN_DIAG_ERROR, "LUMEN_METRICS_HEADER_TIMEOUT: expected seconds "
                                          "from 0.001 to 86400");
            rc = LUMEN_ECONFIG;
        }
    }
    if ((v = lumen__env("LUMEN_METRICS_GZIP")) != NULL) {
        size_t len = strlen(v);
        if (lumen__strieq(v, len, "false"))
            o->flags |= LUMEN_HTTP_NO_GZIP;
        else if (lumen__strieq(v, len, "true"))
            o->flags &= ~(uint32_t)LUMEN_HTTP_NO_GZIP;
        else {
            lumen__env_invalid("LUMEN_METRICS_GZIP", v,
                               "expected true or false; the option is left as it was");
            rc = LUMEN_ECONFIG;
        }
    }
    if ((v = lumen__env("LUMEN_METRICS_BASIC_AUTH_FILE")) != NULL)
        o->basic_auth_file = v;
    const char *cert = lumen__env("LUMEN_METRICS_TLS_CERT_FILE");
    const char *key = lumen__env("LUMEN_METRICS_TLS_KEY_FILE");
    if ((cert == NULL) != (key == NULL)) {
        lumen__env_invalid(cert != NULL ? "LUMEN_METRICS_TLS_CERT_FILE"
                                        : "LUMEN_METRICS_TLS_KEY_FILE",
                           cert != NULL ? cert : key,
                           "LUMEN_METRICS_TLS_CERT_FILE and LUMEN_METRICS_TLS_KEY_FILE go "
                           "together; TLS is not configured from the environment");
        rc = LUMEN_ECONFIG;
    } else if (cert != NULL) {
        o->tls_cert_file = cert;
        o->tls_key_file = key;
        o->tls_cert_pem = o->tls_key_pem = NULL;
    }
    return rc;
}
