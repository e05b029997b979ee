/*
 * trace/ids.h: trace and span ids on the hot path. A per-thread wyrand
 * generator (one add and one 64x64->128 multiply per 64 bits, inlined)
 * seeded from core/rand.h, which draws its seed from getrandom(2). A fork
 * handler bumps a generation so that a child reseeds before its first id
 * and never repeats its parent's ids. Ids need uniqueness, not secrecy.
 */
#ifndef LUMEN_TRACE_IDS_H
#define LUMEN_TRACE_IDS_H

#include "core/common.h"

typedef struct lumen__idgen {
    uint64_t state;
    unsigned generation;
    bool seeded;
} lumen__idgen;

extern LUMEN_TLS lumen__idgen lumen__idgen_tls;
extern atomic_uint lumen__idgen_generation;
void lumen__idgen_seed(lumen__idgen *g);
/* Install the fork handler that bumps lumen__idgen_generation (which the
 * batch processor and the OTLP exporter also watch). Idempotent. */
void lumen__idgen_init(void);

/* The calling thread's generator, seeded and current after a fork. */
static inline lumen__idgen *lumen__idgen_get(void)
{
    lumen__idgen *g = &lumen__idgen_tls;
    if (LUMEN_UNLIKELY(!g->seeded || g->generation != atomic_load_explicit(&lumen__idgen_generation,
                                                                           memory_order_relaxed)))
        lumen__idgen_seed(g);
    return g;
}

/* The next id from g, never zero. */
static inline uint64_t lumen__idgen_next(lumen__idgen *g)
{
    uint64_t r;
    do {
        g->state += 0xa0761d6478bd642full;
        __uint128_t m = (__uint128_t)g->state * (g->state ^ 0xe7037ed1a0b428dbull);
        r = (uint64_t)(m >> 64) ^ (uint64_t)m;
    } while (LUMEN_UNLIKELY(r == 0)); /* ids are never all zero */
    return r;
}

static inline uint64_t lumen__id64(void)
{
    return lumen__idgen_next(lumen__idgen_get());
}

#endif
