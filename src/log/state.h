/*
 * log/state.h: the log layer's process-wide flags and its count of dropped
 * lines (state.c). The bottom of the layer: every other file may read them.
 */
#ifndef LUMEN_LOG_STATE_H
#define LUMEN_LOG_STATE_H

#include "core/common.h"

/* Set (release) once logger.c's one-time initialisation is complete. */
extern _Atomic int lumen__log_inited;
/* Set by lumen_log_shutdown: from then on every line is written
 * synchronously by its caller. */
extern _Atomic int lumen__log_shut;
/* Lines dropped so far (lumen_log_dropped); selfmetrics.c's
 * lumen__log_count_drop adds to it. */
extern _Atomic uint64_t lumen__log_dropped_lines;

#endif
