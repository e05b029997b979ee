/*
 * core/diag.h: lumen's own diagnostics, delivered to the user's hook
 * (silent by default). The level is checked before formatting, and a
 * global budget (a token bucket of 10 messages a second, burst 20) keeps a
 * failing hot path from flooding the hook; messages over budget are
 * counted in lumen__diag_suppressed.
 */
#ifndef LUMEN_CORE_DIAG_H
#define LUMEN_CORE_DIAG_H

#include "core/common.h"

LUMEN__SHARED void lumen__diag(lumen_diag_level level, const char *fmt, ...) LUMEN_PRINTF(2, 3);
/* True when a message at `level` would reach a hook. */
LUMEN__SHARED bool lumen__diag_enabled(lumen_diag_level level);
/* Messages dropped by the rate limit since the start. */
uint64_t lumen__diag_suppressed(void);

#endif
