/*
 * core/utf8.h: the one UTF-8 decoder and the one repair. Every place that
 * checks, cuts, counts or repairs UTF-8 (the escapers, the stores that keep
 * span strings and baggage repaired, metric label values, the signal-safe
 * raw log line) does it with these. Invalid means overlong, a surrogate,
 * above U+10FFFF or truncated; each invalid byte is replaced by U+FFFD.
 * Stateless: liblumen-http has its own copy.
 */
#ifndef LUMEN_CORE_UTF8_H
#define LUMEN_CORE_UTF8_H

#include <string.h>

#include "core/buf.h"
#include "core/common.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8 (3 bytes). */
#define LUMEN__UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid.
 * n must be > 0. Async-signal-safe. */
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

/* Largest m <= max such that s[0..m) does not end inside a UTF-8 sequence. */
size_t lumen__utf8_cut(const char *s, size_t n, size_t max);

/* The repair: copy s[0..n) to dst[0..cap) with every invalid byte
 * replaced by U+FFFD, stopping before a sequence (or replacement) that
 * does not fit whole. Returns the bytes written; no NUL. No allocation, no
 * lock: async-signal-safe. cap >= n + 2 * lumen__utf8_invalid(s, n)
 * always suffices. */
size_t lumen__utf8_repair_to(char *dst, size_t cap, const char *s, size_t n);

/* Append s[0..n), repaired, to b (nothing on the buffer's oom). */
void lumen__utf8_repair_buf(lumen__buf *b, const char *s, size_t n);

/* A heap copy of s[0..n), repaired and NUL-terminated (free with
 * lumen__free(p, 0)); NULL when s is valid UTF-8 (nothing to repair), or
 * on out of memory, which sets *oom. */
char *lumen__utf8_repair_dup(const char *s, size_t n, bool *oom);

#endif
