/*
 * log/batch.h: per-thread batches of lines for synchronous handlers, and
 * each thread's formatting scratch buffer (batch.c).
 */
#ifndef LUMEN_LOG_BATCH_H
#define LUMEN_LOG_BATCH_H

#include "log/types.h"

void lumen__log_batch_add(lumen_log_handler *h, int level, const char *line, size_t n);
/* Format the record straight into the thread's batch; false (nothing
 * changed) when it does not fit, and the caller takes the scratch path. */
bool lumen__log_batch_format(lumen_log_handler *h, const lumen__log_rec *r);
void lumen__log_batch_flush_all(void);
/* From a signal handler: write out the batch of every thread whose batch
 * lock is free (try-locks only), giving up on a descriptor that takes no
 * more bytes at the deadline (lumen__mono_ns; 0: none, blocking writes, as
 * lumen_log_flush_from_signal). */
void lumen__log_batch_flush_from_signal(int64_t deadline_ns);
void lumen__log_batch_stop(int64_t deadline_ns);
void lumen__log_batch_atfork_prepare(void);
void lumen__log_batch_atfork_parent(void);
void lumen__log_batch_atfork_child(void);
/* The calling thread's scratch buffer for lines formatted off the batch. */
lumen__buf *lumen__log_scratch(void);

#endif
