/*
 * http/otlp_http.h: the OTLP/HTTP transport (otlp_http.c) for senders
 * other than the span and log exporters: the metrics reader
 * (otlp_metrics.c) posts its requests through the same configuration,
 * retries, compression and TLS.
 */
#ifndef LUMEN_HTTP_OTLP_HTTP_H
#define LUMEN_HTTP_OTLP_HTTP_H

#include "core/common.h"
#include "lumen/http_otlp.h"

typedef struct otlp_exp lumen__otlp_exp;

/* A transport for `signal` ("METRICS": OTEL_EXPORTER_OTLP_METRICS_*,
 * /v1/metrics). Returns as lumen_otlp_http_exporter_new. */
int lumen__otlp_exp_new(lumen__otlp_exp **out, const lumen_otlp_http_exporter_options *opts,
                        const char *signal);
/* Whether it sends OTLP/JSON (else protobuf). */
bool lumen__otlp_exp_json(const lumen__otlp_exp *e);
/* Compress (if configured) and send body (len bytes, n items; freed
 * here) by `deadline` (monotonic ns, 0: the configured timeout). One
 * thread at a time. LUMEN_OK or the failure, as the exporters return it. */
int lumen__otlp_exp_post(lumen__otlp_exp *e, char *body, size_t len, size_t n, int64_t deadline);
/* Cut waits and transfers short (from any thread). */
void lumen__otlp_exp_shutdown(lumen__otlp_exp *e);
void lumen__otlp_exp_destroy(lumen__otlp_exp *e);
/* Its statistics (exported_spans, rejected_spans count data points). */
int lumen__otlp_exp_stats(lumen_otlp_http_exporter_stats *out, lumen__otlp_exp *e);

#endif
