/*
 * log/sink.h: sinks and the one write loop (sink.c).
 */
#ifndef LUMEN_LOG_SINK_H
#define LUMEN_LOG_SINK_H

#include "log/types.h"

/* Open the sink o names and put it on sink.c's list of sinks (for reopen
 * and fork). Returns LUMEN_OK, LUMEN_ENOMEM or LUMEN_ESYS (a file that
 * cannot be opened, errno kept). */
int lumen__log_sink_open(lumen__log_sink **out, const lumen_log_handler_options *o);
/* Write all of p[0..n) with one write(2) where the kernel allows, retrying
 * short writes and EINTR, never raising SIGPIPE. Takes the sink's write
 * lock. Returns false when the bytes could not be written. */
bool lumen__log_sink_write(lumen__log_sink *s, const char *p, size_t n);
/* The same without the lock, for the signal-safe paths. */
bool lumen__log_write_all(int fd, const char *p, size_t n, bool is_pipe);
/* The same, for the crash handler: gives up (false) at the deadline
 * (lumen__mono_ns) when the descriptor takes no more bytes, making it
 * non-blocking meanwhile (fcntl, write, poll: async-signal-safe). */
bool lumen__log_write_until(int fd, const char *p, size_t n, bool is_pipe, int64_t deadline_ns);
/* Reopen every file sink at its path (clears lumen__log_reopen_pending).
 * Returns LUMEN_OK or LUMEN_ESYS when one could not be reopened. */
int lumen__log_sinks_reopen(void);
/* Look again at every descriptor sink's fd: whether a write to it can raise
 * SIGPIPE (the program may have pointed the number elsewhere with dup2). */
void lumen__log_sinks_recheck(void);
/* Set by the SIGHUP handler: the next write or flusher round reopens. */
extern _Atomic int lumen__log_reopen_pending;
void lumen__log_sink_atfork_child(void);

#endif
