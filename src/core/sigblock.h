/*
 * core/sigblock.h: keeping signal handlers out of the few slow paths of
 * the metric updates that take a lock (a thread's first read section, the
 * first update on a CPU or stripe, and every holder of the locks those
 * take). A handler that updates a metric while its thread holds one of
 * them would wait forever for its own thread. Blocking every signal
 * around them (two system calls, on paths that are not hot) makes the
 * update paths safe to call from a signal handler; they never call
 * malloc (core/rcu.c maps its reader records), so the code the handler
 * interrupted may even be inside malloc.
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
