/*
 * core/sigpipe.h: writing to a pipe or socket whose reader may be gone
 * without letting SIGPIPE kill the process, and without touching the
 * program's SIGPIPE disposition (no global SIG_IGN).
 *
 * Around the write SIGPIPE is blocked in the calling thread; a SIGPIPE the
 * write raised is consumed with sigtimedwait before the mask is restored.
 * Both calls are async-signal-safe, and they nest: a signal handler that
 * writes (lumen_log_raw) while the thread it interrupted is inside a
 * guarded write hands its SIGPIPE to the outer guard, which consumes it
 * before it unblocks the signal. Where SIGPIPE was blocked already (by the
 * program, or by a handler's sa_mask), a SIGPIPE the write raised is
 * consumed too, unless one was pending before it.
 */
#ifndef LUMEN_CORE_SIGPIPE_H
#define LUMEN_CORE_SIGPIPE_H

#include "core/common.h"

#include <signal.h>
#include <sys/uio.h>

typedef struct lumen__sigpipe_guard {
    sigset_t old; /* the thread's mask on entry */
    int mode;     /* private: see sigpipe.c */
    int pending;  /* private: a SIGPIPE was pending on entry */
} lumen__sigpipe_guard;

/* Block SIGPIPE in the calling thread (noting who blocked it). */
void lumen__sigpipe_enter(lumen__sigpipe_guard *g);
/* Restore the mask. `raised`: a write inside the guard failed with EPIPE,
 * so a SIGPIPE of ours may be pending. */
void lumen__sigpipe_leave(lumen__sigpipe_guard *g, bool raised);

/* Write all of iov[0..cnt) to fd inside a guard: partial writes are
 * continued and EINTR retried (iov is consumed). LUMEN_OK, or LUMEN_EIO
 * with errno set (EPIPE: the reader is gone, and its SIGPIPE was taken).
 * Async-signal-safe. For the writers of standard output and error that
 * are not log sinks: the console exporters and the diagnostics. */
LUMEN__INTERNAL int lumen__write_guarded(int fd, struct iovec *iov, int cnt);

#endif
