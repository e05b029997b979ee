/*
 * core/rand.h: fast per-thread random numbers for ids and sampling jitter.
 * Each thread's generator is seeded from getrandom(2) on first use and
 * reseeded in a child after fork(), so parent and child never produce the
 * same ids.
 */
#ifndef LUMEN_CORE_RAND_H
#define LUMEN_CORE_RAND_H

#include "core/common.h"

uint64_t lumen__rand64(void);

#endif
