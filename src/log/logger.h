/*
 * log/logger.h: the layer's one-time initialisation (logger.c), for the
 * public entry points above the logger tree.
 */
#ifndef LUMEN_LOG_LOGGER_H
#define LUMEN_LOG_LOGGER_H

#include "log/state.h"

/* Once: the root's default handler, LUMEN_LOG_LEVEL, fork and exit hooks. */
void lumen__log_init(void);
/* lumen__log_init, at the cost of one load after the first call. */
static inline void lumen__log_ensure_init(void)
{
    if (LUMEN_UNLIKELY(!atomic_load_explicit(&lumen__log_inited, memory_order_acquire)))
        lumen__log_init();
}

#endif
