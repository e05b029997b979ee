/*
 * core/hex.c: see hex.h. Ids are decoded through a table: there are 48
 * digits per traceparent, and a branch per digit showed in profiles.
 */
#include <string.h>

#include "core/hex.h"

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

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

/* "00".."ff": two digits per byte, one load each. */
static const char g_digits[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

#if defined(__SSE2__) && defined(__x86_64__)
/* Eight bytes to sixteen digits in registers: every log line with a trace
 * and every exemplar writes 24 id bytes, and a byte loop (the output may
 * alias the input, so each byte is reloaded) cost ~140 instructions a call. */
static inline void hex8(char *o, const unsigned char *d)
{
    uint64_t w;
    memcpy(&w, d, 8);
    __m128i x = _mm_cvtsi64_si128((long long)w);
    __m128i f = _mm_set1_epi8(15);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), f);
    __m128i lo = _mm_and_si128(x, f);
    __m128i n = _mm_unpacklo_epi8(hi, lo);
    __m128i gt9 = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));
    n = _mm_add_epi8(n, _mm_set1_epi8('0'));
    n = _mm_add_epi8(n, _mm_and_si128(gt9, _mm_set1_epi8('a' - '0' - 10)));
    _mm_storeu_si128((__m128i *)(void *)o, n);
}
#endif

void lumen__hex(char *o, const void *data, size_t n)
{
    const unsigned char *d = data;
    size_t i = 0;
#if defined(__SSE2__) && defined(__x86_64__)
    for (; i + 8 <= n; i += 8)
        hex8(o + 2 * i, d + i);
#endif
    for (; i < n; i++)
        memcpy(o + 2 * i, g_digits + 2 * d[i], 2);
}

void lumen__buf_hex(lumen__buf *b, const void *data, size_t n)
{
    if (!lumen__buf_reserve(b, 2 * n))
        return;
    lumen__hex(b->p + b->len, data, n);
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
