/*
 * http/otlp_retry.h: the OTLP/HTTP retry rules as pure functions, so that
 * they are tested without a network: which answers are retried, how long
 * Retry-After asks to wait, the backoff with jitter, and reading a
 * partial-success answer.
 */
#ifndef LUMEN_HTTP_OTLP_RETRY_H
#define LUMEN_HTTP_OTLP_RETRY_H

#include "core/common.h"

/* 429, 502, 503 and 504: the only statuses OTLP allows retrying. */
bool lumen__otlp_retryable_status(long status);

/* Milliseconds a Retry-After value asks for (delay-seconds or an HTTP
 * date, relative to now_s), capped at cap_ms; -1 when absent or invalid. */
int64_t lumen__otlp_retry_after_ms(const char *value, int64_t now_s, int64_t cap_ms);

/* Backoff before attempt `attempt` (2 for the first retry): initial
 * doubled per retry up to max, times a jitter factor in [0.5, 1.5) from
 * `rnd` (a uniform 64-bit value). */
int64_t lumen__otlp_backoff_ms(unsigned attempt, uint32_t initial_ms, uint32_t max_ms,
                               uint64_t rnd);

/* Rejected spans and message of an ExportTraceServiceResponse, or
 * rejected records of an ExportLogsServiceResponse, or rejected data points of an
 * ExportMetricsServiceResponse (protobuf or JSON: the
 * two have the same field numbers). Returns the number rejected (0 when none or unreadable);
 * msg (size cap) receives the error message, possibly empty. */
int64_t lumen__otlp_partial_success(const char *body, size_t n, bool json, char *msg, size_t cap);

#endif
