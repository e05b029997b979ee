/*
 * core/buf.h: a growable byte buffer for renderers and formatters.
 *
 * Errors are sticky: after a failed allocation every append is a no-op and
 * `oom` stays set, so a renderer appends without checking each call and
 * checks once at the end. `p` is always NUL-terminated when cap > 0.
 */
#ifndef LUMEN_CORE_BUF_H
#define LUMEN_CORE_BUF_H

#include <string.h>

#include "core/common.h"

typedef struct lumen__buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max; /* 0: unbounded; else appends beyond max set `oom` */
    bool oom;
    bool fixed; /* p is caller memory of size cap; never reallocated */
} lumen__buf;

/* An empty heap buffer. */
#define LUMEN__BUF_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0, 0, false, false                                                                \
    }

/* A buffer over caller memory (never grown; overflow sets oom). */
void lumen__buf_fixed(lumen__buf *b, char *mem, size_t cap);
void lumen__buf_free(lumen__buf *b);
/* Make room for `extra` more bytes plus a NUL. Returns false on failure. */
bool lumen__buf_grow(lumen__buf *b, size_t extra);
/* Take the heap memory out of the buffer (caller frees with lumen_free). */
char *lumen__buf_steal(lumen__buf *b, size_t *len);

static inline bool lumen__buf_reserve(lumen__buf *b, size_t extra)
{
    if (LUMEN_LIKELY(b->cap - b->len > extra))
        return true;
    return lumen__buf_grow(b, extra);
}

static inline void lumen__buf_add(lumen__buf *b, const void *s, size_t n)
{
    if (LUMEN_UNLIKELY(!lumen__buf_reserve(b, n)))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void lumen__buf_puts(lumen__buf *b, const char *s)
{
    lumen__buf_add(b, s, strlen(s));
}

static inline void lumen__buf_putc(lumen__buf *b, char c)
{
    if (LUMEN_UNLIKELY(!lumen__buf_reserve(b, 1)))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void lumen__buf_u64(lumen__buf *b, uint64_t v);
void lumen__buf_i64(lumen__buf *b, int64_t v);

/* Shortest text that reads back as exactly `v`, independent of the locale:
 * "NaN", "+Inf", "-Inf", integers without a decimal point. */
void lumen__buf_double(lumen__buf *b, double v);

/* Write `v` to `out` (at least LUMEN__DBL_MAX bytes) as lumen__buf_double
 * does; returns the length. */
#define LUMEN__DBL_MAX 32
size_t lumen__fmt_double(char *out, double v);
/* Go's strconv.FormatFloat(v, 'g', -1, 64): shortest digits, exponent
 * form when the exponent is below -4 or at least 6 ("1e+06", "0.005",
 * "+Inf"). The form other Prometheus clients use for le and quantile. */
size_t lumen__fmt_double_go(char *out, double v);
/* Same, in Go's %g style with ".0" added to integral values ("1.0",
 * "0.25", "1e-05", "+Inf"): the OpenMetrics canonical form for le and
 * quantile label values. */
size_t lumen__fmt_double_canonical(char *out, double v);
/* "00", "01" .. "99": decimal digits written two per step. */
extern const char lumen__digits2[200];

/* Parse a double written in C locale syntax regardless of the current
 * locale. Returns false if the whole string is not a number. */
bool lumen__parse_double(const char *s, double *out);

#endif
