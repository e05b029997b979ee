/*
 * core/hex.c: see hex.h. Ids are decoded through a table: there are 48
 * digits per traceparent, and a branch per digit showed in profiles.
 */
#include "core/hex.h"

/* Digit values, X for every other byte: g_lower for 0-9 a-f only, g_any
 * also for A-F. */
#define X 0xff
static const uint8_t g_lower[256] = {
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X,
};
static const uint8_t g_any[256] = {
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    X, X, X, X, X, X, X, 10, 11, 12, 13, 14, 15, X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X,
};
#undef X

bool lumen__unhex(const char *s, size_t n, uint8_t *out, unsigned flags)
{
    const uint8_t *t = (flags & LUMEN__HEX_LOWER_ONLY) ? g_lower : g_any;
    uint8_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h = t[(unsigned char)s[2 * i]], l = t[(unsigned char)s[2 * i + 1]];
        bad |= h | l;
        out[i] = (uint8_t)(h << 4 | (l & 15));
    }
    return (bad & 0xf0) == 0;
}

void lumen__buf_hex(lumen__buf *b, const void *data, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *d = data;
    if (!lumen__buf_reserve(b, 2 * n))
        return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hex[d[i] >> 4];
        o[2 * i + 1] = hex[d[i] & 15];
    }
    b->len += 2 * n;
    b->p[b->len] = '\0';
}

bool lumen__pct_decode(lumen__buf *out, const char *s, size_t n, unsigned flags)
{
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = lumen__hexval(s[i + 1])) >= 0 &&
            (l = lumen__hexval(s[i + 2])) >= 0) {
            lumen__buf_putc(out, (char)(h * 16 + l));
            i += 2;
        } else if (s[i] == '%' && (flags & LUMEN__PCT_STRICT)) {
            return false;
        } else {
            lumen__buf_putc(out, s[i] == '+' && (flags & LUMEN__PCT_PLUS_SPACE) ? ' ' : s[i]);
        }
    }
    return true;
}
