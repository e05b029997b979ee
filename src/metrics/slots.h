/*
 * metrics/slots.h: handles. Every object the metrics API hands out that
 * can be taken away again (a series, a family, a registry) is named by a
 * token, not a pointer: the index of a slot in a table that is never
 * freed, and the generation the slot had when the object was put in it.
 * Taking the object away bumps the generation at once, so a token kept
 * past that point no longer matches its slot: an update through it is
 * dropped and counted, a lookup through it fails with LUMEN_ENOENT, and
 * no path ever dereferences freed memory, however late the token is used.
 *
 * The slot is recycled (with its new generation) only after a grace
 * period (core/rcu.h), so a reader that checked the generation inside a
 * read section, or inside one rseq critical section, uses the object it
 * checked. A token is (generation << 32 | index) on 64-bit targets; on
 * 32-bit ones the generation keeps 10 bits beside a 22-bit index, so a
 * token used after its slot was reused 1024 times could match again.
 *
 * The slot word: generation in the high 32 bits; in the low 32, for a
 * counter whose updates may take the fast path, its first cell id (below
 * 2^26, bits 26-31 zero), else LUMEN__SLOT_SLOW with the kind in bits
 * 28-29 and, for a series, its lumen_metric_type in the low bits, so that
 * one comparison of the word checks generation, kind and type. The hot path of a
 * counter checks generation and fast-path bit with one xor and one test
 * (core/cpu.h, lumen__cpu_add_u64_guarded); a gauge's set compares the
 * whole word (lumen__cpu_store_guarded), which checks the generation and
 * the type at once, then stores through `obj`, which must stay second.
 */
#ifndef LUMEN_METRICS_SLOTS_H
#define LUMEN_METRICS_SLOTS_H

#include "core/common.h"

typedef struct lumen__slot {
    _Atomic uint64_t word;
    _Atomic(void *) obj; /* read at offset 8 by lumen__cpu_store_guarded */
} lumen__slot;

#define LUMEN__SLOT_SLOW 0x80000000u
#define LUMEN__SLOT_KIND_SHIFT 28
/* On a slow series word: a gauge whose value lives in a pre-forked
 * family's shared memory (metrics/prefork.h), so that the rseq store of
 * lumen_gauge_set, which expects the plain gauge word, leaves it to the
 * slow path. */
#define LUMEN__SLOT_SHARED 0x08000000u
enum {
    LUMEN__SLOT_SERIES = 0,
    LUMEN__SLOT_FAMILY = 1,
    LUMEN__SLOT_REGISTRY = 2,
    LUMEN__SLOT_FREE = 3
};

#define LUMEN__SLOT_CHUNK_SHIFT 12
#define LUMEN__SLOT_CHUNK (1u << LUMEN__SLOT_CHUNK_SHIFT)
#if UINTPTR_MAX > 0xffffffffu
#define LUMEN__SLOT_IDX_BITS 32
#define LUMEN__SLOT_MAX (1u << 24)
#else
#define LUMEN__SLOT_IDX_BITS 22
#define LUMEN__SLOT_MAX (1u << 18)
#endif
#define LUMEN__SLOT_CHUNKS (LUMEN__SLOT_MAX >> LUMEN__SLOT_CHUNK_SHIFT)

/* Chunk 0 is static, so that a NULL token (index 0, permanently slow)
 * can be decoded before any slot was allocated. */
extern LUMEN__HIDDEN lumen__slot *lumen__slot_chunk[LUMEN__SLOT_CHUNKS];

static inline uint32_t lumen__slot_idx(uintptr_t tok)
{
#if LUMEN__SLOT_IDX_BITS == 32
    return (uint32_t)tok;
#else
    return (uint32_t)(tok & ((1u << LUMEN__SLOT_IDX_BITS) - 1));
#endif
}

static inline lumen__slot *lumen__slot_at(uintptr_t tok)
{
    uint32_t i = lumen__slot_idx(tok);
    return &lumen__slot_chunk[i >> LUMEN__SLOT_CHUNK_SHIFT][i & (LUMEN__SLOT_CHUNK - 1)];
}

/* Does the slot word belong to the token's generation? */
static inline bool lumen__slot_matches(uintptr_t tok, uint64_t word)
{
#if LUMEN__SLOT_IDX_BITS == 32
    return (word >> 32) == ((uint64_t)tok >> 32);
#else
    return ((word >> 32) & ((1u << (32 - LUMEN__SLOT_IDX_BITS)) - 1)) ==
           (tok >> LUMEN__SLOT_IDX_BITS);
#endif
}

/* The word a live token's slot holds, with `low` as its low 32 bits (64-bit
 * targets only: elsewhere the token keeps too few generation bits). */
static inline uint64_t lumen__slot_word(uintptr_t tok, uint32_t low)
{
    return ((uint64_t)tok & ~(uint64_t)0xffffffffu) | low;
}

/* The object of a live token of this kind, else NULL. Call inside a read
 * section: the object stays valid until it ends. */
static inline void *lumen__slot_get(uintptr_t tok, unsigned kind)
{
    lumen__slot *s = lumen__slot_at(tok);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (!lumen__slot_matches(tok, w) || lumen__slot_idx(tok) == 0)
        return NULL;
    unsigned k =
        (w & LUMEN__SLOT_SLOW) ? (unsigned)(w >> LUMEN__SLOT_KIND_SHIFT) & 3u : LUMEN__SLOT_SERIES;
    return k == kind ? atomic_load_explicit(&s->obj, memory_order_relaxed) : NULL;
}

/*
 * Take a slot for `obj` of `kind` with the given low word (a cell id for a
 * fast series; LUMEN__SLOT_SLOW is added for other kinds) and return its
 * token in *tok. LUMEN_OK, LUMEN_ENOMEM or LUMEN_ELIMIT. Thread-safe.
 */
int lumen__slot_alloc(unsigned kind, void *obj, uint32_t low, uintptr_t *tok);

/* Make a series slot's word the fast one: its own index. Before the
 * token is given out. */
void lumen__slot_set_fast(uintptr_t tok);

/* End the token's life now: from here on it matches nothing. The slot
 * stays taken until lumen__slot_free. Thread-safe. */
void lumen__slot_kill(uintptr_t tok);

/* Return a killed slot for reuse; only after a grace period that began
 * after lumen__slot_kill. Thread-safe. */
void lumen__slot_free(uintptr_t tok);

/* Updates dropped because their handle was stale (its series, family or
 * registry was taken away): counted by every update path that finds a
 * dead token, exposed as lumen_metrics_updates_lost_total. */
extern LUMEN__HIDDEN _Atomic uint64_t lumen__metrics_stale;
uint64_t lumen__metrics_lost_stale(void);
/* Updates refused for their value (a negative or NaN counter add, a NaN
 * observation), every family of every registry together. */
extern LUMEN__HIDDEN _Atomic uint64_t lumen__metrics_refused;

/*
 * Pre-forked families (metrics/prefork.h): take `n` never-used slots, the
 * first at a multiple of `align`, out of lumen__slot_alloc's reach for
 * good, into *base. Once per process. LUMEN_OK, LUMEN_EBUSY (done
 * already) or LUMEN_ELIMIT. Thread-safe.
 */
int lumen__slot_reserve(uint32_t n, uint32_t align, uint32_t *base);

/* Take the reserved slot `idx` (free: never taken, or killed and freed)
 * for `obj`, as lumen__slot_alloc does. LUMEN_OK, LUMEN_EINVAL (not
 * reserved, or taken), LUMEN_ENOMEM. Thread-safe. */
int lumen__slot_alloc_at(uint32_t idx, unsigned kind, void *obj, uint32_t low, uintptr_t *tok);

/* Fork handling for pre-forked families, whose children take slots: hold
 * the table's mutex across fork(). */
void lumen__slots_atfork_prepare(void);
void lumen__slots_atfork_parent(void);
void lumen__slots_atfork_child(void);

#endif
