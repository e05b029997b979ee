/*
 * trace/attr.h: copying attributes into a span's arena with the limits
 * (attr.c).
 */
#ifndef LUMEN_TRACE_ATTR_H
#define LUMEN_TRACE_ATTR_H

#include <string.h>

#include "core/common.h"
#include "core/escape.h"
#include "trace/record.h"

void lumen__attrs_copy_one(lumen_span *s, lumen_attr *dst, const lumen_attr *src,
                           uint32_t vlen_limit);
/* The key to keep for `key` (*n: its length): key itself when it is
 * valid UTF-8, else a repaired copy in the span's arena (*copied set).
 * NULL when out of memory. */
const char *lumen__attr_key_repair(lumen_span *s, const char *key, size_t *n, bool *copied);
static inline const char *lumen__attr_key(lumen_span *s, const char *key, size_t *n, bool *copied)
{
    *n = strlen(key);
    *copied = false;
    if (LUMEN_LIKELY(lumen__ascii(key, *n)))
        return key;
    return lumen__attr_key_repair(s, key, n, copied);
}
/* Set one attribute whose key is a string literal of lumen's own (valid
 * ASCII, alive as long as the library): the key is kept by pointer, not
 * measured, checked or copied. Flags: LUMEN__KNOWN_STATIC_VALUE, a string
 * value is such a literal too and is kept by pointer when the value length
 * limit allows; LUMEN__KNOWN_NEW, the caller knows the span has no
 * attribute of this key yet (no search for it). Anything else is copied
 * as lumen_span_set_attrs would, with the same duplicate, count and limit
 * rules as the public setters (span.c). */
enum { LUMEN__KNOWN_STATIC_VALUE = 1u << 0, LUMEN__KNOWN_NEW = 1u << 1 };
void lumen__span_set_known(lumen_span *s, const char *key, const lumen_attr *a, unsigned flags);
lumen_attr *lumen__attrs_copy_list(lumen_span *s, const lumen_attr *src, size_t n, uint32_t limit,
                                   uint32_t vlen_limit, uint32_t *kept, uint32_t *dropped);

#endif
