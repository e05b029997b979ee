/*
 * core/hex.h: hex digits both ways, and the one percent-decoder. Every
 * place that reads hex ids (W3C traceparent, B3, the console's trace ids)
 * or percent-escapes (resource attributes, baggage, OTLP headers, query
 * strings) does it with these; a flag keeps each caller's rules. Stateless:
 * liblumen-http has its own copy.
 */
#ifndef LUMEN_CORE_HEX_H
#define LUMEN_CORE_HEX_H

#include "core/buf.h"
#include "core/common.h"

/* The value of one hex digit (either case), or -1. */
static inline int lumen__hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum {
    /* Hex: only 0-9 a-f (W3C Trace Context and B3 ids, as written
     * everywhere); without it A-F are accepted too. */
    LUMEN__HEX_LOWER_ONLY = 1u << 0
};

/* Decode exactly 2*n hex digits at s into out[n]. False when one is not a
 * hex digit (out is then partly written). */
bool lumen__unhex(const char *s, size_t n, uint8_t *out, unsigned flags);

/* The lowercase hex of n bytes: exactly 2n digits at out, no NUL. */
void lumen__hex(char *out, const void *data, size_t n);

/* Append the lowercase hex of n bytes to b. */
void lumen__buf_hex(lumen__buf *b, const void *data, size_t n);

enum {
    /* Percent: '+' is a space (application/x-www-form-urlencoded query
     * strings). */
    LUMEN__PCT_PLUS_SPACE = 1u << 0,
    /* Percent: a '%' not followed by two hex digits makes the input
     * invalid (returns false); without it, it is copied as is. */
    LUMEN__PCT_STRICT = 1u << 1
};

/* Append s[0..n), percent-decoded, to out. Returns false on a bad escape
 * under LUMEN__PCT_STRICT (out then holds a prefix), true otherwise;
 * out-of-memory is the buffer's sticky oom (a fixed buffer that fills up
 * keeps what fits, byte by byte). */
bool lumen__pct_decode(lumen__buf *out, const char *s, size_t n, unsigned flags);

#endif
