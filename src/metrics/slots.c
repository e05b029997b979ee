/*
 * metrics/slots.c: see slots.h. The table grows by chunks that are never
 * freed; free slots wait in a FIFO, so that a slot is reused as late as
 * possible (it matters only for the short generations of 32-bit tokens).
 */
#include "metrics/slots.h"

#include <pthread.h>

#include "core/alloc.h"

/* In BSS: the first chunk costs memory only where it is used. Its slot 0,
 * the NULL token's, is set to a permanently free word when the first slot
 * is taken; until then it reads as a fast word for cell 0, which is never
 * given to a series (cells.c), and its object is NULL, so a NULL handle is
 * harmless either way. */
static lumen__slot g_chunk0[LUMEN__SLOT_CHUNK];

lumen__slot *lumen__slot_chunk[LUMEN__SLOT_CHUNKS] = {g_chunk0};

static struct {
    pthread_mutex_t mu;
    uint32_t next;            /* never-used slots start here */
    uint32_t head, tail;      /* FIFO of free slots, linked through obj; 0: empty */
    uint32_t res_base, res_n; /* the reserved range (lumen__slot_reserve) */
} g_slots = {.mu = PTHREAD_MUTEX_INITIALIZER, .next = 1};

#define FREE_WORD (LUMEN__SLOT_SLOW | (uint64_t)LUMEN__SLOT_FREE << LUMEN__SLOT_KIND_SHIFT)

static lumen__slot *at(uint32_t i)
{
    return &lumen__slot_chunk[i >> LUMEN__SLOT_CHUNK_SHIFT][i & (LUMEN__SLOT_CHUNK - 1)];
}

static uintptr_t token(uint32_t idx, uint64_t word)
{
    uint64_t gen = word >> 32;
#if LUMEN__SLOT_IDX_BITS == 32
    return (uintptr_t)(gen << 32 | idx);
#else
    return (uintptr_t)((gen & ((1u << (32 - LUMEN__SLOT_IDX_BITS)) - 1)) << LUMEN__SLOT_IDX_BITS |
                       idx);
#endif
}

static bool reserved(uint32_t i)
{
    return i - g_slots.res_base < g_slots.res_n;
}

/* Under g_slots.mu: make slot i's chunk exist and the slot's word a free
 * one of generation 1 or more. */
static int ready(uint32_t i)
{
    size_t c = i >> LUMEN__SLOT_CHUNK_SHIFT;
    if (g_slots.next == 1 || g_slots.res_n > 0)
        atomic_store_explicit(&g_chunk0[0].word, FREE_WORD, memory_order_relaxed);
    if (lumen__slot_chunk[c] == NULL) {
        lumen__slot *chunk = lumen__calloc(LUMEN__SLOT_CHUNK, sizeof *chunk);
        if (chunk == NULL)
            return LUMEN_ENOMEM;
        /* A fresh slot starts at generation 1, so that no token is
         * ever a small integer. */
        for (uint32_t k = 0; k < LUMEN__SLOT_CHUNK; k++)
            atomic_init(&chunk[k].word, (uint64_t)1 << 32 | FREE_WORD);
        lumen__slot_chunk[c] = chunk;
    } else if (c == 0 && atomic_load_explicit(&at(i)->word, memory_order_relaxed) >> 32 == 0) {
        atomic_store_explicit(&at(i)->word, (uint64_t)1 << 32 | FREE_WORD, memory_order_relaxed);
    }
    return LUMEN_OK;
}

/* Under g_slots.mu: hand out slot i. */
static uintptr_t take(uint32_t i, void *obj, uint32_t low)
{
    lumen__slot *s = at(i);
    uint64_t gen = atomic_load_explicit(&s->word, memory_order_relaxed) >> 32;
    uint64_t w = gen << 32 | low;
    atomic_store_explicit(&s->obj, obj, memory_order_relaxed);
    /* Release: a reader that sees the word sees the object. */
    atomic_store_explicit(&s->word, w, memory_order_release);
    return token(i, w);
}

int lumen__slot_alloc(unsigned kind, void *obj, uint32_t low, uintptr_t *tok)
{
    if (kind != LUMEN__SLOT_SERIES)
        low = LUMEN__SLOT_SLOW | (uint32_t)kind << LUMEN__SLOT_KIND_SHIFT;
    pthread_mutex_lock(&g_slots.mu);
    uint32_t i;
    if (g_slots.head != 0) {
        i = g_slots.head;
        g_slots.head = (uint32_t)(uintptr_t)atomic_load_explicit(&at(i)->obj, memory_order_relaxed);
        if (g_slots.head == 0)
            g_slots.tail = 0;
    } else {
        if (g_slots.next >= LUMEN__SLOT_MAX) {
            pthread_mutex_unlock(&g_slots.mu);
            return LUMEN_ELIMIT;
        }
        i = g_slots.next;
        if (ready(i) != LUMEN_OK) {
            pthread_mutex_unlock(&g_slots.mu);
            return LUMEN_ENOMEM;
        }
        g_slots.next++;
    }
    *tok = take(i, obj, low);
    pthread_mutex_unlock(&g_slots.mu);
    return LUMEN_OK;
}

int lumen__slot_reserve(uint32_t n, uint32_t align, uint32_t *base)
{
    if (n == 0 || align == 0 || base == NULL)
        return LUMEN_EINVAL;
    pthread_mutex_lock(&g_slots.mu);
    int rc = LUMEN_OK;
    uint64_t b = ((uint64_t)g_slots.next + align - 1) / align * align;
    if (g_slots.res_n > 0)
        rc = LUMEN_EBUSY;
    else if (b + n > LUMEN__SLOT_MAX)
        rc = LUMEN_ELIMIT;
    else {
        /* The slots skipped to align the range are never used. */
        g_slots.res_base = (uint32_t)b;
        g_slots.res_n = n;
        g_slots.next = (uint32_t)(b + n);
        *base = (uint32_t)b;
    }
    pthread_mutex_unlock(&g_slots.mu);
    return rc;
}

int lumen__slot_alloc_at(uint32_t idx, unsigned kind, void *obj, uint32_t low, uintptr_t *tok)
{
    if (kind != LUMEN__SLOT_SERIES)
        low = LUMEN__SLOT_SLOW | (uint32_t)kind << LUMEN__SLOT_KIND_SHIFT;
    pthread_mutex_lock(&g_slots.mu);
    int rc = LUMEN_EINVAL;
    if (reserved(idx) && (rc = ready(idx)) == LUMEN_OK) {
        if ((uint32_t)atomic_load_explicit(&at(idx)->word, memory_order_relaxed) != FREE_WORD)
            rc = LUMEN_EINVAL;
        else
            *tok = take(idx, obj, low);
    }
    pthread_mutex_unlock(&g_slots.mu);
    return rc;
}

void lumen__slot_set_fast(uintptr_t tok)
{
    lumen__slot *s = lumen__slot_at(tok);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    atomic_store_explicit(&s->word, (w & ~(uint64_t)0xffffffffu) | lumen__slot_idx(tok),
                          memory_order_release);
}

void lumen__slot_kill(uintptr_t tok)
{
    lumen__slot *s = lumen__slot_at(tok);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
    uint64_t gen = (w >> 32) + 1;
    if ((uint32_t)gen == 0)
        gen = 1;
    atomic_store_explicit(&s->word,
                          (gen & 0xffffffffu) << 32 | LUMEN__SLOT_SLOW |
                              (uint64_t)LUMEN__SLOT_FREE << LUMEN__SLOT_KIND_SHIFT,
                          memory_order_release);
}

void lumen__slot_free(uintptr_t tok)
{
    uint32_t i = lumen__slot_idx(tok);
    if (i == 0)
        return;
    pthread_mutex_lock(&g_slots.mu);
    atomic_store_explicit(&at(i)->obj, NULL, memory_order_relaxed);
    if (reserved(i)) { /* for lumen__slot_alloc_at only */
        pthread_mutex_unlock(&g_slots.mu);
        return;
    }
    if (g_slots.tail != 0)
        atomic_store_explicit(&at(g_slots.tail)->obj, (void *)(uintptr_t)i, memory_order_relaxed);
    else
        g_slots.head = i;
    g_slots.tail = i;
    pthread_mutex_unlock(&g_slots.mu);
}

void lumen__slots_atfork_prepare(void)
{
    pthread_mutex_lock(&g_slots.mu);
}

void lumen__slots_atfork_parent(void)
{
    pthread_mutex_unlock(&g_slots.mu);
}

void lumen__slots_atfork_child(void)
{
    pthread_mutex_unlock(&g_slots.mu);
}

_Atomic uint64_t lumen__metrics_stale;
_Atomic uint64_t lumen__metrics_refused;

uint64_t lumen__metrics_lost_stale(void)
{
    return atomic_load_explicit(&lumen__metrics_stale, memory_order_relaxed);
}
