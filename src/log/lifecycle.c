/*
 * log/lifecycle.c: lumen_log_flush and lumen_log_shutdown: the batches
 * written, the queues drained within the caller's budget
 * (LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS when it gives none), and at shutdown
 * the writer threads stopped.
 */
#include "core/clock.h"
#include "log/async.h"
#include "log/batch.h"
#include "log/logger.h"
#include "log/otel.h"
#include "log/state.h"
#include "lumen/log.h"

/* The monotonic deadline of a `timeout_ms` argument (docs/api.md, "Time"). */
static int64_t deadline_of(uint32_t timeout_ms)
{
    if (timeout_ms == LUMEN_WAIT_FOREVER)
        return INT64_MAX;
    if (timeout_ms == 0)
        timeout_ms = LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS;
    return lumen__mono_ns() + (int64_t)timeout_ms * 1000000;
}

int lumen_log_flush(uint32_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    lumen__log_batch_flush_all();
    bool drained = lumen__log_async_drain(deadline);
    drained &= lumen__log_otel_flush_all(deadline);
    return drained ? LUMEN_OK : LUMEN_ETIMEDOUT;
}

int lumen_log_shutdown(uint32_t timeout_ms)
{
    lumen__log_ensure_init();
    int64_t deadline = deadline_of(timeout_ms);
    lumen__log_batch_flush_all();
    bool drained = lumen__log_async_drain(deadline);
    drained &= lumen__log_otel_flush_all(deadline);
    lumen__log_otel_stop_all(deadline);
    /* From here on every line is written synchronously by its caller. */
    atomic_store(&lumen__log_shut, 1);
    lumen__log_async_stop(deadline);
    lumen__log_batch_stop(deadline < INT64_MAX - 100000000 ? deadline + 100000000 : INT64_MAX);
    lumen__log_batch_flush_all();
    return drained ? LUMEN_OK : LUMEN_ETIMEDOUT;
}
