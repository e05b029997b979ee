/*
 * core/escape.h: escaping of untrusted strings for each output syntax.
 * Every function appends to a buffer, never fails except by the buffer's
 * sticky oom flag, and turns invalid UTF-8 into U+FFFD so that output is
 * always valid UTF-8 whatever bytes arrive.
 */
#ifndef LUMEN_CORE_ESCAPE_H
#define LUMEN_CORE_ESCAPE_H

#include "core/buf.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid
 * (overlong, surrogate, above U+10FFFF, truncated). n must be > 0. */
size_t lumen__utf8_seq(const unsigned char *s, size_t n);

/* Number of code points in s[0..n), counting each invalid byte as one. */
size_t lumen__utf8_count(const char *s, size_t n);

/* Invalid bytes in s[0..n): each one becomes U+FFFD when repaired, so a
 * repaired copy takes n + 2 * lumen__utf8_invalid(s, n) bytes. 0 when s is
 * valid UTF-8. ASCII is checked eight bytes at a time. */
size_t lumen__utf8_invalid(const char *s, size_t n);

/* True when s[0..n) is all ASCII (so valid UTF-8): the inline first test
 * of the stores that keep text repaired, eight bytes at a time. */
static inline bool lumen__ascii(const char *s, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (unsigned char)s[i];
    return (acc & 0x8080808080808080ull) == 0;
}

/* Append s[0..n) to b with every invalid byte replaced by U+FFFD: the one
 * UTF-8 repair, shared by the escapers below and by the stores that keep
 * strings repaired (span names and attributes, baggage values). */
void lumen__utf8_repair_buf(lumen__buf *b, const char *s, size_t n);

/* Largest m <= max such that s[0..m) does not end inside a UTF-8 sequence. */
size_t lumen__utf8_cut(const char *s, size_t n, size_t max);

/* Prometheus and OpenMetrics label value: \ " and line feed escaped. */
void lumen__esc_label_value(lumen__buf *b, const char *s, size_t n);

/* HELP text. Text 0.0.4 escapes \ and line feed; OpenMetrics also ". */
void lumen__esc_help(lumen__buf *b, const char *s, size_t n, bool openmetrics);

enum {
    /* Also escape < > & as \u003c \u003e \u0026, so that JSON embedded in
     * an HTML page cannot close a <script> element. */
    LUMEN__JSON_HTML_SAFE = 1u << 0
};

/* The inside of a JSON string (no quotes): " \ and control characters
 * escaped, U+2028 and U+2029 escaped for JavaScript consumers. */
void lumen__esc_json(lumen__buf *b, const char *s, size_t n, unsigned flags);

/* A JSON string with its quotes. */
void lumen__json_str(lumen__buf *b, const char *s, size_t n);

/* A logfmt value: bare when it has no space, '=', '"', control character or
 * non-ASCII byte and is not empty; otherwise quoted with \ " \n \r \t,
 * \u00XX, \u2028 and \u2029 escapes (as JSON's). */
void lumen__esc_logfmt(lumen__buf *b, const char *s, size_t n);

/* HTML text or attribute value: & < > " ' escaped. */
void lumen__esc_html(lumen__buf *b, const char *s, size_t n);

/* The value of one hex digit (either case), or -1: the parsing side of
 * lumen__buf_hex, for percent-decoding and hex ids. */
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

/* Lowercase hex of n bytes. */
void lumen__buf_hex(lumen__buf *b, const void *data, size_t n);

#endif
