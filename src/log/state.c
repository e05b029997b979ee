/*
 * log/state.c: the log layer's process-wide flags (initialised, shut down)
 * and its count of dropped lines, with lumen_log_dropped. It calls nothing,
 * so every other file of the layer may read it.
 */
#include "log/state.h"

#include "lumen/log.h"

_Atomic int lumen__log_inited;
_Atomic int lumen__log_shut;
_Atomic uint64_t lumen__log_dropped_lines;

uint64_t lumen_log_dropped(void)
{
    return atomic_load_explicit(&lumen__log_dropped_lines, memory_order_relaxed);
}
