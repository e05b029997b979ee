/*
 * core/env.h: reading typed settings from the environment (OTEL_*,
 * LUMEN_*). Per the OpenTelemetry rules, an empty value means unset, and an
 * invalid value is reported and the default is used. Reports go through
 * lumen__env_invalid (core/diag.h): once per variable and value, with the
 * value and the default used, as a notice (standard error when no
 * diagnostics hook is installed). Stateless: liblumen-http has its own
 * copy. lumen__env, lumen__strieq and lumen__trim are in core/envvar.h.
 */
#ifndef LUMEN_CORE_ENV_H
#define LUMEN_CORE_ENV_H

#include "core/common.h"
#include "core/diag.h"
#include "core/envvar.h"

/* An integer in [min, max]; `def` when unset or invalid (reported). */
int64_t lumen__env_int_range(const char *name, int64_t def, int64_t min, int64_t max);
/* A non-negative integer; `def` when unset or invalid (reported). */
int64_t lumen__env_int(const char *name, int64_t def);
/* A floating-point number; `def` when unset or invalid (reported). */
double lumen__env_double(const char *name, double def);
/* "true"/"false" (case-insensitive); `def` otherwise (reported). */
bool lumen__env_bool(const char *name, bool def);

#endif
