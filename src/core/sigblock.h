/*
 * core/sigblock.h: keeping signal handlers out of the few slow paths of
 * the metric updates that take a lock or allocate (a thread's first read
 * section, the first update on a CPU or stripe). A handler that updates a
 * metric while its thread is inside one of them would wait forever for a
 * lock its own thread holds. Blocking every signal around them (two
 * system calls, once per thread or per CPU) makes the update paths safe to
 * call from a signal handler whenever the interrupted code was not inside
 * a non-async-signal-safe function of its own.
 */
#ifndef LUMEN_CORE_SIGBLOCK_H
#define LUMEN_CORE_SIGBLOCK_H

#include <pthread.h>
#include <signal.h>

#include "core/common.h"

static inline void lumen__sigblock(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static inline void lumen__sigrestore(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

#endif
