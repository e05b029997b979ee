/*
 * core/rand.c: xoshiro256** per thread. Not for secrets: trace and span
 * ids need uniqueness and uniform bits, not unpredictability, and a
 * getrandom call per id would cost more than the whole span.
 */
#include "core/rand.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static atomic_uint g_fork_generation;

typedef struct {
    uint64_t s[4];
    unsigned generation;
    bool seeded;
} rng_state;

static LUMEN_TLS rng_state tls_rng;

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&g_fork_generation, 1, memory_order_relaxed);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void seed(rng_state *r)
{
    pthread_once(&atfork_once, install_atfork);
    uint64_t seedv[4] = {0, 0, 0, 0};
    if (getrandom(seedv, sizeof seedv, GRND_NONBLOCK) != (ssize_t)sizeof seedv) {
        /* No entropy yet (early boot): mix what differs between threads
         * and processes. Uniqueness, not secrecy, is what ids need. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            seedv[i] ^= splitmix(&x);
    }
    uint64_t x = seedv[0] ^ seedv[1] ^ seedv[2] ^ seedv[3];
    for (int i = 0; i < 4; i++)
        r->s[i] = seedv[i] ? seedv[i] : splitmix(&x) | 1;
    r->generation = atomic_load_explicit(&g_fork_generation, memory_order_relaxed);
    r->seeded = true;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t lumen__rand64(void)
{
    rng_state *r = &tls_rng;
    if (LUMEN_UNLIKELY(!r->seeded || r->generation != atomic_load_explicit(&g_fork_generation,
                                                                           memory_order_relaxed)))
        seed(r);
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}
