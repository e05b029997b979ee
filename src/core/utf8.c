/* core/utf8.c: see utf8.h. */
#include "core/utf8.h"

#include "core/alloc.h"

size_t lumen__utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t lumen__utf8_count(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        size_t l = lumen__utf8_seq(u + i, n - i);
        i += l ? l : 1;
    }
    return count;
}

size_t lumen__utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t m = max;
    /* Step back over continuation bytes to the start of a sequence. */
    while (m > 0 && ((unsigned char)s[m] & 0xC0) == 0x80)
        m--;
    return m;
}

size_t lumen__utf8_invalid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0, i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = lumen__utf8_seq(u + i, n - i);
        bad += l == 0;
        i += l ? l : 1;
    }
    return bad;
}

size_t lumen__utf8_repair_to(char *dst, size_t cap, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t l = u[i] < 0x80 ? 1 : lumen__utf8_seq(u + i, n - i);
        const char *from = l ? s + i : LUMEN__UTF8_REPLACEMENT;
        size_t k = l ? l : 3;
        if (cap - o < k)
            break;
        memcpy(dst + o, from, k);
        o += k;
        i += l ? l : 1;
    }
    return o;
}

void lumen__utf8_repair_buf(lumen__buf *b, const char *s, size_t n)
{
    size_t need = n + 2 * lumen__utf8_invalid(s, n);
    if (!lumen__buf_reserve(b, need))
        return;
    b->len += lumen__utf8_repair_to(b->p + b->len, need, s, n);
    b->p[b->len] = '\0';
}

char *lumen__utf8_repair_dup(const char *s, size_t n, bool *oom)
{
    size_t bad = lumen__utf8_invalid(s, n);
    if (bad == 0)
        return NULL;
    char *out = lumen__malloc(n + 2 * bad + 1);
    if (out == NULL) {
        *oom = true;
        return NULL;
    }
    out[lumen__utf8_repair_to(out, n + 2 * bad, s, n)] = '\0';
    return out;
}
