/*
 * http/fork.c: see fork.h. A pthread_atfork child handler, installed once,
 * bumps an atomic; readers compare it with the generation they recorded.
 */
#include <pthread.h>

#include "http/fork.h"

static atomic_uint g_generation;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_relaxed);
}

static void install(void)
{
    pthread_atfork(NULL, NULL, in_child);
}

unsigned lumen__http_fork_generation(void)
{
    pthread_once(&g_once, install);
    return atomic_load_explicit(&g_generation, memory_order_relaxed);
}
