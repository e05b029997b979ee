/*
 * core/env.h: reading configuration from the environment (OTEL_*, LUMEN_*).
 * Per the OpenTelemetry rules, an empty value means unset, and an invalid
 * value is reported and the default is used. Reports go through
 * lumen__env_invalid: once per variable and value, with the value and the
 * default used, as a notice (standard error when no diagnostics hook is
 * installed, see core/diag.h).
 */
#ifndef LUMEN_CORE_ENV_H
#define LUMEN_CORE_ENV_H

#include "core/common.h"

/* The value, or NULL when unset or empty. Borrowed from the environment. */
LUMEN__SHARED const char *lumen__env(const char *name);
/* An integer in [min, max]; `def` when unset or invalid (reported). */
int64_t lumen__env_int_range(const char *name, int64_t def, int64_t min, int64_t max);
/* A non-negative integer; `def` when unset or invalid (reported). */
int64_t lumen__env_int(const char *name, int64_t def);
/* A floating-point number; `def` when unset or invalid (reported). */
double lumen__env_double(const char *name, double def);
/* "true"/"false" (case-insensitive); `def` otherwise (reported). */
bool lumen__env_bool(const char *name, bool def);
/* Report that variable `name` holds the invalid `value`: `fmt` says what
 * was expected and what is used instead ("unknown sampler; using
 * parentbased_always_on"). Each name=value pair is reported once per
 * process; the value is shown escaped and cut at 100 bytes. Thread-safe. */
LUMEN__SHARED void lumen__env_invalid(const char *name, const char *value, const char *fmt, ...)
    LUMEN_PRINTF(3, 4);
/* Case-insensitive ASCII comparison of s[0..n) with the NUL-terminated w. */
LUMEN__SHARED bool lumen__strieq(const char *s, size_t n, const char *w);
/* Trim spaces and tabs at both ends of s[0..*n); returns the new start. */
LUMEN__SHARED const char *lumen__trim(const char *s, size_t *n);

#endif
