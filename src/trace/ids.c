/* trace/ids.c: seeding the per-thread id generator (see ids.h). */
#include <pthread.h>

#include "core/rand.h"
#include "trace/ids.h"

LUMEN_TLS lumen__idgen lumen__idgen_tls;
atomic_uint lumen__idgen_generation;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&lumen__idgen_generation, 1, memory_order_relaxed);
}

static void install(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

void lumen__idgen_init(void)
{
    pthread_once(&g_once, install);
}

void lumen__idgen_seed(lumen__idgen *g)
{
    pthread_once(&g_once, install);
    /* core/rand reseeds itself after fork too, so the child's seed differs. */
    g->state = lumen__rand64();
    g->generation = atomic_load_explicit(&lumen__idgen_generation, memory_order_relaxed);
    g->seeded = true;
}
