/*
 * core/envvar.h: one environment variable's text, and the ASCII helpers
 * settings are parsed with. Stateless (liblumen-http has its own copy),
 * and below core/diag.c, which reads OTEL_LOG_LEVEL with them, while
 * core/env.c's typed readers report through diag.c.
 */
#ifndef LUMEN_CORE_ENVVAR_H
#define LUMEN_CORE_ENVVAR_H

#include "core/common.h"

/* The value, or NULL when unset or empty (the OpenTelemetry rule: empty
 * means unset). Borrowed from the environment. */
const char *lumen__env(const char *name);
/* Case-insensitive ASCII comparison of s[0..n) with the NUL-terminated w. */
bool lumen__strieq(const char *s, size_t n, const char *w);
/* Trim spaces and tabs at both ends of s[0..*n); returns the new start. */
const char *lumen__trim(const char *s, size_t *n);

#endif
