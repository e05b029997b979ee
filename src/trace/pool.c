/*
 * trace/pool.c: recycled span records, so that starting a span does not
 * call malloc.
 *
 * Each thread keeps a private free list (no atomics). Records released on
 * another thread (the batch processor's, after export) go to that thread's
 * private list too; a list that grows past LOCAL_MAX hands a chain of
 * records to the shared stack with one compare-and-swap. A thread whose
 * list is empty takes the whole shared stack with one exchange. Only
 * whole-stack takes and pushes happen, so the ABA problem of lock-free
 * stacks cannot arise. A thread's list goes to the shared stack when the
 * thread exits.
 *
 * The shared do-nothing span lives here too, so that every file can tell
 * it apart without asking span.c.
 */
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/escape.h"
#include "trace/pool.h"

#define LOCAL_MAX 512
#define CHUNK_MIN 2048

/* Never recycled: every test for it is by address (lumen__span_is_noop). */
lumen_span lumen__span_noop;

typedef struct local_pool {
    lumen_span *head;
    lumen_span *tail; /* NULL when unknown (after taking the shared stack) */
    unsigned count;   /* records recycled onto this list since it was last empty */
    bool registered;
} local_pool;

static LUMEN_TLS local_pool tls_pool;
static _Atomic(lumen_span *) g_shared;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void push_chain(lumen_span *first, lumen_span *last)
{
    lumen_span *old = atomic_load_explicit(&g_shared, memory_order_relaxed);
    do {
        last->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&g_shared, &old, first, memory_order_release,
                                                    memory_order_relaxed));
}

static void on_thread_exit(void *arg)
{
    (void)arg;
    local_pool *lp = &tls_pool;
    if (lp->head == NULL)
        return;
    lumen_span *last = lp->head;
    while (last->next != NULL)
        last = last->next;
    push_chain(lp->head, last);
    lp->head = lp->tail = NULL;
    lp->count = 0;
}

static void make_key(void)
{
    pthread_key_create(&g_key, on_thread_exit);
}

static void register_thread(local_pool *lp)
{
    pthread_once(&g_key_once, make_key);
    /* Any non-NULL value makes the destructor run at thread exit. */
    pthread_setspecific(g_key, lp);
    lp->registered = true;
}

lumen_span *lumen__span_alloc(void)
{
    local_pool *lp = &tls_pool;
    lumen_span *s = lp->head;
    if (LUMEN_LIKELY(s != NULL)) {
        lumen_span *n = s->next;
        lp->head = n;
        if (n == NULL) {
            lp->tail = NULL;
            lp->count = 0;
        }
        /* The next record is probably cold (it came back from the batch
         * worker): start loading the lines a span start writes. */
        if (n != NULL) {
            __builtin_prefetch(n, 1);
            __builtin_prefetch((char *)n + 64, 1);
            __builtin_prefetch((char *)n + 128, 1);
            __builtin_prefetch((char *)n + 192, 1);
            __builtin_prefetch(n->attrs_inline, 1);
            __builtin_prefetch(n->arena, 1);
        }
        return s;
    }
    if (!lp->registered)
        register_thread(lp);
    s = atomic_exchange_explicit(&g_shared, NULL, memory_order_acquire);
    if (s != NULL) {
        /* Not walked: the chain is cold, and walking it would cost a cache
         * miss per record. Its tail is found only if this thread ever has
         * to hand records back (rare for a thread that starts spans). */
        lp->head = s->next;
        lp->tail = NULL;
        lp->count = 0;
        if (lp->head != NULL)
            __builtin_prefetch(lp->head, 1);
        return s;
    }
    s = lumen__malloc(sizeof *s);
    if (s != NULL)
        s->chunks = NULL;
    return s;
}

static void free_chunks(lumen_span *s)
{
    void *c = s->chunks;
    while (c != NULL) {
        void *next;
        size_t size;
        memcpy(&next, c, sizeof next);
        memcpy(&size, (char *)c + sizeof next, sizeof size);
        lumen__free(c, size);
        c = next;
    }
    s->chunks = NULL;
}

void lumen__span_recycle(lumen_span *s)
{
    if (s->chunks != NULL)
        free_chunks(s);
    local_pool *lp = &tls_pool;
    if (LUMEN_UNLIKELY(!lp->registered))
        register_thread(lp);
    if (lp->head == NULL)
        lp->tail = s;
    s->next = lp->head;
    lp->head = s;
    if (LUMEN_UNLIKELY(++lp->count > LOCAL_MAX)) {
        /* Hand the whole list to the shared stack in one push (the batch
         * worker releases every exported span here). */
        lumen_span *last = lp->tail;
        if (last == NULL)
            for (last = lp->head; last->next != NULL; last = last->next)
                ;
        push_chain(lp->head, last);
        lp->head = lp->tail = NULL;
        lp->count = 0;
    }
}

void lumen__span_pool_trim(void)
{
    local_pool *lp = &tls_pool;
    lumen_span *s = lp->head;
    lp->head = lp->tail = NULL;
    lp->count = 0;
    while (s != NULL) {
        lumen_span *n = s->next;
        lumen__free(s, sizeof *s);
        s = n;
    }
    s = atomic_exchange_explicit(&g_shared, NULL, memory_order_acquire);
    while (s != NULL) {
        lumen_span *n = s->next;
        lumen__free(s, sizeof *s);
        s = n;
    }
}

void *lumen__span_arena_alloc(lumen_span *s, size_t n, size_t align)
{
    uintptr_t p = (uintptr_t)s->arena_p;
    size_t pad = (align - (p & (align - 1))) & (align - 1);
    if (LUMEN_LIKELY(s->arena_left >= n + pad)) {
        s->arena_p += pad + n;
        s->arena_left -= pad + n;
        return (void *)(p + pad);
    }
    /* A new chunk: header (next, size), then the data. */
    size_t hdr = 2 * sizeof(void *) > 16 ? 2 * sizeof(void *) : 16;
    size_t size = hdr + n + align;
    if (size < CHUNK_MIN)
        size = CHUNK_MIN;
    char *c = lumen__malloc(size);
    if (c == NULL)
        return NULL;
    memcpy(c, &s->chunks, sizeof(void *));
    memcpy(c + sizeof(void *), &size, sizeof size);
    s->chunks = c;
    s->arena_p = c + hdr;
    s->arena_left = size - hdr;
    return lumen__span_arena_alloc(s, n, align);
}

char *lumen__span_strdup_repair(lumen_span *s, const char *p, size_t n, size_t *outn)
{
    size_t bad = lumen__utf8_invalid(p, n);
    if (bad == 0) {
        if (outn != NULL)
            *outn = n;
        return lumen__span_strdup(s, p, n);
    }
    size_t m = n + 2 * bad;
    char *d = lumen__span_arena_alloc(s, m + 1, 1);
    if (d == NULL)
        return NULL;
    lumen__buf b;
    lumen__buf_fixed(&b, d, m + 1);
    lumen__utf8_repair_buf(&b, p, n);
    if (outn != NULL)
        *outn = b.len;
    return d;
}

char *lumen__span_strdup(lumen_span *s, const char *p, size_t n)
{
    char *d = lumen__span_arena_alloc(s, n + 1, 1);
    if (d == NULL)
        return NULL;
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}
