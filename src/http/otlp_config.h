/*
 * http/otlp_config.h: the OTLP/HTTP exporter's settings, from its options
 * and OTEL_EXPORTER_OTLP_* (otlp_config.c), read by the exporter
 * (otlp_http.c) when it is created.
 */
#ifndef LUMEN_HTTP_OTLP_CONFIG_H
#define LUMEN_HTTP_OTLP_CONFIG_H

#include <curl/curl.h>

#include "core/common.h"
#include "lumen/http_otlp.h"

/* The endpoint URL (*url, to free with lumen__free), the request headers
 * (*hdrs: Content-Type, Content-Encoding, the configured headers; free
 * with curl_slist_free_all), the encoding (*json), the compression
 * (*gzip) and the export timeout (*timeout_ms, never 0). Options win over
 * the environment (unless o->ignore_env), the per-signal variables over
 * the general ones. `signal` is "TRACES" or "LOGS": it names the
 * per-signal variables and the path (/v1/traces, /v1/logs). LUMEN_ECONFIG for an endpoint that is
 * not http(s) or an option value that cannot work; an invalid environment value is reported once
 * and its default used. */
int lumen__otlp_http_config(const lumen_otlp_http_exporter_options *o, const char *signal,
                            char **url, struct curl_slist **hdrs, bool *json, bool *gzip,
                            uint32_t *timeout_ms);

/* Set the CA, client certificate and key files on `c` for https
 * endpoints (libcurl reads them at connection time). */
int lumen__otlp_http_tls(const lumen_otlp_http_exporter_options *o, const char *signal, CURL *c);

#endif
