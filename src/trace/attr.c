/*
 * trace/attr.c: copying attributes into a span's arena, applying the
 * value length limit (counted in characters, cut at a UTF-8 boundary) and
 * the count limits. Keys and string values are kept with invalid UTF-8
 * repaired to U+FFFD (lumen__span_strdup_text). A failed arena allocation drops the attribute and
 * counts it, as a limit would: setters never fail.
 */
#include <string.h>

#include "core/escape.h"
#include "trace/attr.h"
#include "trace/pool.h"

/* Bytes of the first `limit` characters of s[0..n). */
static size_t cut_chars(const char *s, size_t n, uint32_t limit)
{
    if (limit == 0 || n <= limit)
        return n;
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == limit)
                return i;
            chars++;
        }
    }
    return n;
}

static const char *copy_str(lumen_span *s, const char *p, size_t n, uint32_t vlen, size_t *outn)
{
    if (p == NULL) {
        p = "";
        n = 0;
    } else if (n == (size_t)-1) {
        n = strlen(p);
    }
    /* Cut first, then repair what is kept: a long value is not scanned
     * past the limit. Each invalid byte counts as one character. */
    n = cut_chars(p, n, vlen);
    return lumen__span_strdup_text(s, p, n, outn);
}

const char *lumen__attr_key_repair(lumen_span *s, const char *key, size_t *n, bool *copied)
{
    if (lumen__utf8_invalid(key, *n) == 0)
        return key;
    *copied = true;
    return lumen__span_strdup_repair(s, key, *n, n);
}

static bool copy_value(lumen_span *s, lumen_attr *dst, const lumen_attr *src, uint32_t vlen)
{
    dst->type = src->type;
    dst->len = 0;
    switch (src->type) {
    case LUMEN_ATTR_STRING:
        dst->v.s = copy_str(s, src->v.s, src->len, vlen, &dst->len);
        return dst->v.s != NULL;
    case LUMEN_ATTR_BOOL:
        dst->v.b = src->v.b;
        return true;
    case LUMEN_ATTR_INT:
        dst->v.i = src->v.i;
        return true;
    case LUMEN_ATTR_DOUBLE:
        dst->v.d = src->v.d;
        return true;
    case LUMEN_ATTR_BOOL_ARRAY:
    case LUMEN_ATTR_INT_ARRAY:
    case LUMEN_ATTR_DOUBLE_ARRAY: {
        size_t el = src->type == LUMEN_ATTR_BOOL_ARRAY  ? sizeof(bool)
                    : src->type == LUMEN_ATTR_INT_ARRAY ? sizeof(int64_t)
                                                        : sizeof(double);
        if (src->len > 0 && src->v.ia == NULL)
            return false;
        void *a = lumen__span_arena_alloc(s, src->len * el + 1, 8);
        if (a == NULL)
            return false;
        if (src->len > 0)
            memcpy(a, src->v.ia, src->len * el);
        dst->v.ia = a;
        dst->len = src->len;
        return true;
    }
    case LUMEN_ATTR_STRING_ARRAY: {
        if (src->len > 0 && src->v.sa == NULL)
            return false;
        const char **a = lumen__span_arena_alloc(s, (src->len + 1) * sizeof(char *), 8);
        if (a == NULL)
            return false;
        for (size_t i = 0; i < src->len; i++) {
            size_t n;
            a[i] = copy_str(s, src->v.sa[i], (size_t)-1, vlen, &n);
            if (a[i] == NULL)
                return false;
        }
        dst->v.sa = a;
        dst->len = src->len;
        return true;
    }
    default:
        return false;
    }
}

void lumen__attrs_copy_one(lumen_span *s, lumen_attr *dst, const lumen_attr *src, uint32_t vlen)
{
    if (!copy_value(s, dst, src, vlen)) {
        dst->type = LUMEN_ATTR_STRING;
        dst->v.s = "";
        dst->len = 0;
    }
}

lumen_attr *lumen__attrs_copy_list(lumen_span *s, const lumen_attr *src, size_t n, uint32_t limit,
                                   uint32_t vlen, uint32_t *kept, uint32_t *dropped)
{
    *kept = 0;
    *dropped = 0;
    if (n == 0 || src == NULL)
        return NULL;
    size_t cap = n < limit ? n : limit;
    lumen_attr *a = cap ? lumen__span_arena_alloc(s, cap * sizeof *a, 8) : NULL;
    if (a == NULL) {
        *dropped = (uint32_t)n;
        return NULL;
    }
    uint32_t k = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i].key == NULL) {
            d++;
            continue;
        }
        /* A later duplicate key replaces the earlier value; keys are
         * compared as they are kept (repaired). */
        bool copied;
        size_t kn;
        const char *key = lumen__attr_key(s, src[i].key, &kn, &copied);
        if (key == NULL) {
            d++;
            continue;
        }
        uint32_t j;
        for (j = 0; j < k; j++)
            if (strcmp(a[j].key, key) == 0)
                break;
        if (j == k) {
            if (k == cap) {
                d++;
                continue;
            }
            a[k].key = copied ? key : lumen__span_strdup(s, key, kn);
            if (a[k].key == NULL) {
                d++;
                continue;
            }
            k++;
        }
        if (!copy_value(s, &a[j], &src[i], vlen)) {
            /* Keep the key with an empty value rather than a torn one. */
            lumen__attrs_copy_one(s, &a[j], &(lumen_attr){0}, vlen);
        }
    }
    *kept = k;
    *dropped = d;
    return a;
}
