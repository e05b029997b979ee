/*
 * core/versioned.c: see versioned.h. Only `unsigned int version` is
 * assumed of a struct: its first member. Bytes between the version and
 * the next member (padding) are copied like any other; they are zero in a
 * struct started from its _INIT or _init().
 */
#include "core/versioned.h"

#include <string.h>

int lumen__versioned_check(const void *s, const size_t *sizes, unsigned n)
{
    if (s == NULL)
        return LUMEN_EINVAL;
    unsigned v = lumen__version_of(s);
    if (v == 0 || v > n || sizes[v] < sizeof(unsigned int))
        return LUMEN_EVERSION;
    return LUMEN_OK;
}

int lumen__versioned_init(void *s, unsigned version, const size_t *sizes, unsigned n)
{
    if (s == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > n)
        return LUMEN_EVERSION;
    memset(s, 0, sizes[version]);
    *(unsigned int *)s = version;
    return LUMEN_OK;
}

int lumen__versioned_in(void *full, size_t full_size, const void *src, const size_t *sizes,
                        unsigned n)
{
    memset(full, 0, full_size);
    *(unsigned int *)full = n;
    if (src == NULL)
        return LUMEN_OK;
    int rc = lumen__versioned_check(src, sizes, n);
    if (rc != LUMEN_OK)
        return rc;
    size_t have = sizes[lumen__version_of(src)];
    if (have > full_size)
        have = full_size;
    memcpy((char *)full + sizeof(unsigned int), (const char *)src + sizeof(unsigned int),
           have - sizeof(unsigned int));
    return LUMEN_OK;
}

int lumen__versioned_out(void *dst, const void *full, const size_t *sizes, unsigned n)
{
    int rc = lumen__versioned_check(dst, sizes, n);
    if (rc != LUMEN_OK)
        return rc;
    size_t want = sizes[lumen__version_of(dst)];
    memcpy((char *)dst + sizeof(unsigned int), (const char *)full + sizeof(unsigned int),
           want - sizeof(unsigned int));
    return LUMEN_OK;
}
