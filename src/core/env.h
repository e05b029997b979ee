/*
 * core/env.h: reading configuration from the environment (OTEL_*, LUMEN_*).
 * Per the OpenTelemetry rules, an empty value means unset, and an invalid
 * value is reported through the diagnostics hook and the default is used.
 */
#ifndef LUMEN_CORE_ENV_H
#define LUMEN_CORE_ENV_H

#include "core/common.h"

/* The value, or NULL when unset or empty. Borrowed from the environment. */
LUMEN__SHARED const char *lumen__env(const char *name);
/* A non-negative integer; `def` when unset or invalid. */
LUMEN__SHARED int64_t lumen__env_int(const char *name, int64_t def);
/* A floating-point number; `def` when unset or invalid. */
double lumen__env_double(const char *name, double def);
/* "true"/"false" (case-insensitive); `def` otherwise. */
bool lumen__env_bool(const char *name, bool def);
/* Case-insensitive ASCII comparison of s[0..n) with the NUL-terminated w. */
LUMEN__SHARED bool lumen__strieq(const char *s, size_t n, const char *w);
/* Trim spaces and tabs at both ends of s[0..*n); returns the new start. */
LUMEN__SHARED const char *lumen__trim(const char *s, size_t *n);

#endif
