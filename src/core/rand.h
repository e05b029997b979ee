/*
 * core/rand.h: fast per-thread random numbers for ids and sampling jitter.
 * Each thread's generator is seeded from getrandom(2) on first use and
 * reseeded in a child after fork(), so parent and child never produce the
 * same ids.
 */
#ifndef LUMEN_CORE_RAND_H
#define LUMEN_CORE_RAND_H

#include "core/common.h"

LUMEN__SHARED uint64_t lumen__rand64(void);
/* Fill n bytes with random data, never all zero when n > 0. */
void lumen__rand_bytes(void *out, size_t n);

#endif
