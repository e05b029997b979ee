/*
 * trace/pool.h: where span records come from and go back to (pool.c), the
 * references that decide when, and the arena that holds a record's
 * strings. Also the shared do-nothing span, returned when no real span
 * can be made: it is recognised by its address.
 */
#ifndef LUMEN_TRACE_POOL_H
#define LUMEN_TRACE_POOL_H

#include "core/common.h"
#include "core/escape.h"
#include "trace/record.h"

/* The do-nothing span (no tracer, no memory, shut down): invalid ids,
 * records nothing, never recycled, never entered. Hidden in the
 * declaration too, so that the test by address is a PC-relative compare
 * in the shared library, as with the static object it replaces, not a
 * load through the GOT. */
extern LUMEN__HIDDEN lumen_span lumen__span_noop;

static inline bool lumen__span_is_noop(const lumen_span *s)
{
    return s == &lumen__span_noop;
}

lumen_span *lumen__span_alloc(void);
void lumen__span_recycle(lumen_span *s);
void lumen__span_pool_trim(void);
void *lumen__span_arena_alloc(lumen_span *s, size_t n, size_t align);
char *lumen__span_strdup(lumen_span *s, const char *p, size_t n);
char *lumen__span_strdup_repair(lumen_span *s, const char *p, size_t n, size_t *outn);
/* A copy of text the program gave (a name, a key, a value, a description)
 * with invalid UTF-8 repaired to U+FFFD, once, here: every exporter then
 * sees the same valid UTF-8 (protobuf decoders reject anything else).
 * *outn (may be NULL) gets the copy's length. ASCII, the common case, is
 * recognized inline and copied as is. */
static inline char *lumen__span_strdup_text(lumen_span *s, const char *p, size_t n, size_t *outn)
{
    if (LUMEN_LIKELY(lumen__ascii(p, n))) {
        if (outn != NULL)
            *outn = n;
        return lumen__span_strdup(s, p, n);
    }
    return lumen__span_strdup_repair(s, p, n, outn);
}

static inline void lumen__span_retain(lumen_span *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

/* Drop one reference; the last returns the record to the pool. A holder
 * of the only reference skips the read-modify-write: nobody else can add
 * one, since adding needs a reference. */
static inline void lumen__span_release(lumen_span *s)
{
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        lumen__span_recycle(s);
}

#endif
