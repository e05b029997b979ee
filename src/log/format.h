/*
 * log/format.h: what the three formatters share: the field-name presets,
 * the escaping value writers (format.c), and the inline fast-path building
 * blocks (clean-byte copies, integers, fixed-size fragment copies).
 * format_json.c writes JSON lines, format_logfmt.c logfmt, format_text.c
 * text; formatter.h dispatches between them.
 */
#ifndef LUMEN_LOG_FORMAT_H
#define LUMEN_LOG_FORMAT_H

#include "log/types.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define LIT(b, s) lumen__buf_add((b), (s), sizeof(s) - 1)

/* Names of the record's own fields in one preset (NULL: not written). */
typedef struct lumen__log_preset {
    const char *ts, *level, *logger, *msg, *trace_id, *span_id, *trace_flags, *request_id;
    const char *file, *line, *func, *sevnum, *suppressed;
    bool upper;         /* level text in capitals */
    const char *prefix; /* constant JSON members after the first three */
} lumen__log_preset;

extern const lumen__log_preset lumen__log_presets[3];

enum { F_JSON, F_LOGFMT, F_TEXT };

/* A field's value in the syntax `fmt`, strings cut at `max` bytes. */
void lumen__log_value(lumen__buf *b, const lumen_field *f, int fmt, size_t max);
/* A JSON string with quotes, cut and marked when longer than max. */
void lumen__log_json_val(lumen__buf *b, const char *s, size_t n, size_t max);
/* `,"key":` with the key escaped. */
void lumen__log_json_key(lumen__buf *b, const char *k);

/*
 * The record's own keys cannot be forged: a user field (bound to a child
 * logger or given to the call) whose key, as written, is one of the
 * handler's preset's own keys (ts, level, logger, msg, trace_id, ... or
 * the preset's names for them) is written with this prefix instead, in
 * every format: {"msg":"lumen's","fields.msg":"the program's"}. It is
 * logrus's rule. The set is the preset's whole set, whether or not this
 * line has that key.
 */
#define LUMEN__LOG_FIELD_PREFIX "fields."
/* Whether k[0..n) is one of preset `preset`'s own keys. */
bool lumen__log_reserved(int preset, const char *k, size_t n);
/* Per preset, for each first byte, the mask of the lengths (below 32) of
 * the preset's own keys that start with it (format.c, built once). */
extern uint32_t lumen__log_reserved_len[3][256];
/* False when k[0..n) cannot be one of the preset's own keys: one table
 * load, so that only a key whose first byte and length match one is
 * compared with lumen__log_reserved. */
static inline bool lumen__log_reserved_maybe(int preset, const char *k, size_t n)
{
    return n > 0 && n < 32 && (lumen__log_reserved_len[preset][(unsigned char)k[0]] >> n & 1);
}
/* A logfmt value: bare when safe, else quoted; cut values are quoted. */
void lumen__log_logfmt_val(lumen__buf *b, const char *s, size_t n, size_t max);
/* A logfmt key: bytes that would break the syntax dropped; "" becomes "_". */
void lumen__log_logfmt_key(lumen__buf *b, const char *k);
/* "...[truncated N bytes]" */
void lumen__log_put_marker(lumen__buf *b, size_t dropped);
/* Bytes of s kept under the limit, on a UTF-8 boundary. */
size_t lumen__log_cut_len(const char *s, size_t n, size_t max);

/* ---- the fast paths' building blocks ---------------------------------------- */

/* The bytes of x that end the fast copy, as the high bit of each: controls
 * (below 0x20, NUL included), '"', '\\', DEL and non-ASCII (which must be
 * checked as UTF-8). Each byte is tested on its low seven bits plus its
 * own high bit, so no carry crosses into the next byte. */
static inline uint64_t lumen__log_slow8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, low7 = ones * 0x7F, high = ones * 0x80;
    uint64_t l = x & low7;
    uint64_t big = x | (l + ones);              /* high bit: >= 0x80, or 0x7F */
    uint64_t ok = (l + ones * 0x60)             /* high bit: >= 0x20 */
                  & ((l ^ ones * '"') + low7)   /* high bit: not '"' */
                  & ((l ^ ones * '\\') + low7); /* high bit: not '\\' */
    return (big | ~ok) & high;
}

static inline uint64_t lumen__log_ld8(const char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

static inline void lumen__log_st8(char *o, uint64_t x)
{
    memcpy(o, &x, 8);
}

#if defined(__SSE2__)
/* One bit per byte of v that ends the fast copy (lumen__log_slow8's set). */
static inline unsigned lumen__log_slow16(__m128i v)
{
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F);
    /* Signed compare: bytes from 0x80 up are negative, so below 0x20 too. */
    __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                               _mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_cmpeq_epi8(v, del)));
    return (unsigned)_mm_movemask_epi8(bad);
}

/*
 * The length of the C string k when it is at most 64 bytes long and needs
 * no escaping, else SIZE_MAX: strlen and the test of lumen__log_slow16 in
 * one pass (NUL is one of the bytes that stop it). It reads k in aligned
 * 16-byte blocks, as glibc's strlen does: a block that holds a byte of the
 * string never crosses a page boundary, so the bytes after the NUL that it
 * also reads cannot fault, and they are never used. The sanitizers would
 * report those bytes, so this function is not instrumented.
 */
__attribute__((no_sanitize("address", "thread"))) static inline size_t
lumen__log_clean_key_len(const char *k)
{
    uintptr_t p = (uintptr_t)k;
    const char *blk = (const char *)(p & ~(uintptr_t)15);
    unsigned m = lumen__log_slow16(_mm_load_si128((const __m128i *)(const void *)blk)) >> (p & 15);
    size_t n = 0;
    if (m == 0) {
        /* No byte of the string in this block stops it, not even a NUL:
         * the string goes on into the next block. */
        n = 16 - (p & 15);
        for (;;) {
            blk += 16;
            m = lumen__log_slow16(_mm_load_si128((const __m128i *)(const void *)blk));
            if (m != 0 || n > 64)
                break;
            n += 16;
        }
    }
    n += (size_t)__builtin_ctz(m | 0x10000u);
    return n <= 64 && k[n] == '\0' ? n : SIZE_MAX;
}
#endif

/* Copy s[0..n), n <= 64, with overlapping moves (no call to memcpy). */
static inline void lumen__log_copy_short(char *o, const char *s, size_t n)
{
#if defined(__SSE2__)
    if (n >= 16) {
        for (size_t i = 0; i + 16 < n; i += 16)
            _mm_storeu_si128((__m128i *)(void *)(o + i),
                             _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
        _mm_storeu_si128((__m128i *)(void *)(o + n - 16),
                         _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));
        return;
    }
#else
    if (n >= 16) {
        memcpy(o, s, n);
        return;
    }
#endif
    if (n >= 8) {
        uint64_t a = lumen__log_ld8(s), z = lumen__log_ld8(s + n - 8);
        lumen__log_st8(o, a);
        lumen__log_st8(o + n - 8, z);
    } else if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, s, 4);
        memcpy(&z, s + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &z, 4);
    } else if (n > 0) {
        o[0] = s[0];
        o[n >> 1] = s[n >> 1];
        o[n - 1] = s[n - 1];
    }
}

/*
 * Copy s[0..n) to o and return true when no byte of it needs escaping
 * (the test of lumen__log_slow8); false otherwise, with o[0..n) holding
 * bytes that do not count. Reads and writes only s[0..n) and o[0..n):
 * the tail is a word that overlaps the one before it, and a string under
 * 8 bytes is read as two overlapping halves or three bytes.
 */
static inline bool lumen__log_copy_clean(char *o, const char *s, size_t n)
{
    if (n >= 16) {
#if defined(__SSE2__)
        size_t i = 0;
        for (;;) {
            if (i + 16 > n)
                i = n - 16;
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            if (lumen__log_slow16(v) != 0)
                return false;
            _mm_storeu_si128((__m128i *)(void *)(o + i), v);
            if (i + 16 >= n)
                return true;
            i += 16;
        }
#else
        size_t i = 0;
        for (; i + 8 < n; i += 8) {
            uint64_t x = lumen__log_ld8(s + i);
            if (lumen__log_slow8(x))
                return false;
            lumen__log_st8(o + i, x);
        }
        uint64_t x = lumen__log_ld8(s + n - 8);
        lumen__log_st8(o + n - 8, x);
        return lumen__log_slow8(x) == 0;
#endif
    }
    if (n >= 8) {
        uint64_t a = lumen__log_ld8(s), z = lumen__log_ld8(s + n - 8);
        lumen__log_st8(o, a);
        lumen__log_st8(o + n - 8, z);
#if defined(__SSE2__)
        return lumen__log_slow16(_mm_set_epi64x((long long)z, (long long)a)) == 0;
#else
        return (lumen__log_slow8(a) | lumen__log_slow8(z)) == 0;
#endif
    }
    uint64_t x;
    if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, s, 4);
        memcpy(&z, s + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &z, 4);
        x = a | (uint64_t)z << 32;
    } else if (n > 0) {
        /* The first, middle and last bytes (1 to 3 of them), in a word of
         * 'a's, which need no escaping. */
        unsigned char c0 = (unsigned char)s[0], c1 = (unsigned char)s[n >> 1];
        unsigned char c2 = (unsigned char)s[n - 1];
        o[0] = (char)c0;
        o[n >> 1] = (char)c1;
        o[n - 1] = (char)c2;
        x = 0x6161616161000000ULL | c0 | (uint64_t)c1 << 8 | (uint64_t)c2 << 16;
    } else {
        return true;
    }
    return lumen__log_slow8(x) == 0;
}

/* Decimal digits of v at out (at most 20 bytes); returns their number. */
static inline size_t lumen__log_fmt_u64(char *out, uint64_t v)
{
    size_t n = 1;
    for (uint64_t p = 10; n < 20 && v >= p; p *= 10)
        n++;
    char *d = out + n;
    while (v >= 100) {
        uint64_t r = v % 100;
        v /= 100;
        d -= 2;
        memcpy(d, lumen__digits2 + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(d - 2, lumen__digits2 + 2 * v, 2);
    else
        d[-1] = (char)('0' + v);
    return n;
}

/* A signed integer: at most 20 bytes. */
static inline size_t lumen__log_fmt_i64(char *out, int64_t v)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + lumen__log_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
    }
    return lumen__log_fmt_u64(out, (uint64_t)v);
}

/* A finite double as the shortest text that reads back exactly (format.c);
 * out needs 40 bytes. */
size_t lumen__log_fmt_float(char *out, double v);

/* A fragment of at most 63 bytes stored in a 64-byte (or 32-byte) array:
 * copied with a fixed-size move into reserved room. */
static inline void put_frag(lumen__buf *b, const char *frag, size_t n, size_t size)
{
    if (!lumen__buf_reserve(b, 64))
        return;
    if (size == 32)
        memcpy(b->p + b->len, frag, 32);
    else
        memcpy(b->p + b->len, frag, 64);
    b->len += n;
    b->p[b->len] = '\0';
}

#endif
