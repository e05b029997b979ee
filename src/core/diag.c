/*
 * core/diag.c: the diagnostics hook. The hook and its argument are
 * published together as one immutable record swapped atomically, so a
 * reader never sees one hook with another's argument. Old records are
 * never freed, because a thread may still be calling through one; they stay
 * reachable from g_records (there are as many as calls to
 * lumen_set_diag_hook, which a program makes a handful of times).
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"

typedef struct hook_rec {
    lumen_diag_fn fn;
    void *ud;
    lumen_diag_level min;
    struct hook_rec *older;
} hook_rec;

static _Atomic(hook_rec *) g_records;

static _Atomic(hook_rec *) g_hook;
static atomic_int_fast64_t g_tokens_ms; /* next time (ms) a token is free */
static atomic_uint_fast64_t g_suppressed;

void lumen_set_diag_hook(lumen_diag_fn fn, void *ud, lumen_diag_level min_level)
{
    hook_rec *r = NULL;
    if (fn != NULL) {
        /* Plain malloc: this record must outlive any allocator swap. */
        r = malloc(sizeof *r);
        if (r == NULL)
            return;
        r->fn = fn;
        r->ud = ud;
        r->min = min_level;
        r->older = atomic_load_explicit(&g_records, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&g_records, &r->older, r,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
        }
    }
    atomic_store_explicit(&g_hook, r, memory_order_release);
}

bool lumen__diag_enabled(lumen_diag_level level)
{
    hook_rec *r = atomic_load_explicit(&g_hook, memory_order_acquire);
    return r != NULL && level >= r->min;
}

uint64_t lumen__diag_suppressed(void)
{
    return atomic_load_explicit(&g_suppressed, memory_order_relaxed);
}

/* A token bucket on one atomic: each message pushes the "next free" time
 * 100 ms further; a burst of 20 is allowed by letting it run 2 s ahead. */
static bool take_token(void)
{
    int64_t now = lumen__mono_ns() / 1000000;
    int_fast64_t next = atomic_load_explicit(&g_tokens_ms, memory_order_relaxed);
    for (;;) {
        int64_t base = next < now - 2000 ? now - 2000 : next;
        if (base > now)
            return false;
        if (atomic_compare_exchange_weak_explicit(&g_tokens_ms, &next, base + 100,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    }
}

void lumen__diag(lumen_diag_level level, const char *fmt, ...)
{
    hook_rec *r = atomic_load_explicit(&g_hook, memory_order_acquire);
    if (r == NULL || level < r->min)
        return;
    if (!take_token()) {
        atomic_fetch_add_explicit(&g_suppressed, 1, memory_order_relaxed);
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->fn(level, msg, r->ud);
}
