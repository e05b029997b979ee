/*
 * core/hash.h: a fast 64-bit hash for label sets and names (the
 * multiply-fold construction of wyhash, written here from its idea).
 * Not for untrusted keys where flooding matters: callers bound the number
 * of keys instead (series limits).
 */
#ifndef LUMEN_CORE_HASH_H
#define LUMEN_CORE_HASH_H

#include <string.h>

#include "core/common.h"

static inline uint64_t lumen__mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t lumen__read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t lumen__read32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Hash n bytes, continuing from `seed` (chain calls to hash several
 * strings; include each length so that "ab","c" differs from "a","bc"). */
static inline uint64_t lumen__hash(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
    uint64_t h = seed ^ lumen__mix(n ^ k0, k1);
    while (n >= 16) {
        h = lumen__mix(lumen__read64(p) ^ k1, lumen__read64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = lumen__read64(p);
        b = lumen__read64(p + n - 8);
    } else if (n >= 4) {
        /* Two overlapping reads cover 4 to 7 bytes without a loop. */
        a = lumen__read32(p) << 32 | lumen__read32(p + n - 4);
    } else if (n > 0) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
    }
    return lumen__mix(a ^ k1 ^ n, b ^ h ^ k0);
}

#endif
