/*
 * log/async.h: asynchronous handlers' queues and writer threads (async.c).
 */
#ifndef LUMEN_LOG_ASYNC_H
#define LUMEN_LOG_ASYNC_H

#include "log/types.h"

int lumen__log_async_new(lumen__log_async **out, lumen_log_handler *h,
                         const lumen_log_handler_options *o);
/* Make a new queue visible to flush, shutdown and fork (after the
 * handler is complete); a queue never published can be freed. */
void lumen__log_async_publish(lumen__log_async *q);
void lumen__log_async_free(lumen__log_async *q);
void lumen__log_async_put(lumen__log_async *q, int level, const char *line, size_t n);
/* Wait until every queue is empty or the deadline (monotonic ns) passes;
 * true when all are empty. */
bool lumen__log_async_drain(int64_t deadline_ns);
/* From a crash handler: write out every queue's lines (try-locks, write(2)
 * and poll(2) only; callback and syslog sinks are skipped), waiting at
 * most until the deadline (monotonic ns) for a queue whose lock is held or
 * whose writer holds a batch. True when every queue was written. */
bool lumen__log_async_flush_from_signal(int64_t deadline_ns);
void lumen__log_async_stop(int64_t deadline_ns);
void lumen__log_async_atfork_prepare(void);
void lumen__log_async_atfork_parent(void);
void lumen__log_async_atfork_child(void);

#endif
