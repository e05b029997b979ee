/*
 * core/versioned.h: reading and writing the versioned structs of the
 * public API (docs/api.md, "Structs that cross the boundary").
 *
 * Each versioned struct has a size table in the file that owns it:
 * sizes[v] is how many bytes of the struct a caller built against version
 * v has, sizes[0] is 0. Today every struct is at version 1, so its table
 * is {0, sizeof(struct)}. When version 2 appends fields, sizes[1] becomes
 * offsetof(struct, first_v2_field) and sizes[2] sizeof(struct): lumen then
 * reads and writes only the first sizes[v] bytes of a version-v caller's
 * struct, and gives an older caller's options the defaults (zero) of the
 * fields it does not know.
 *
 * Everything here is inline and keeps no state, so that liblumen-http
 * reads its own versioned structs without calling into liblumen's
 * internals. Only `unsigned int version` is assumed of a struct: its first
 * member. Bytes between the version and the next member (padding) are
 * copied like any other; they are zero in a struct started from its _INIT
 * or _init().
 */
#ifndef LUMEN_CORE_VERSIONED_H
#define LUMEN_CORE_VERSIONED_H

#include <string.h>

#include "core/common.h"

/* The latest version a size table describes. */
#define LUMEN__VERSIONS(sizes) ((unsigned)(sizeof(sizes) / sizeof((sizes)[0]) - 1))

/* The version of a versioned struct: its first member. */
static inline unsigned lumen__version_of(const void *s)
{
    return *(const unsigned int *)s;
}

/* LUMEN_OK when `s` is non-NULL with a version in 1..LUMEN__VERSIONS;
 * LUMEN_EINVAL for NULL; LUMEN_EVERSION otherwise. */
static inline int lumen__versioned_check(const void *s, const size_t *sizes, unsigned n)
{
    if (s == NULL)
        return LUMEN_EINVAL;
    unsigned v = lumen__version_of(s);
    if (v == 0 || v > n || sizes[v] < sizeof(unsigned int))
        return LUMEN_EVERSION;
    return LUMEN_OK;
}

/* The body of every lumen_x_init(): zero the caller's version's bytes of
 * *s and set its version. Returns as lumen__versioned_check. */
static inline int lumen__versioned_init(void *s, unsigned version, const size_t *sizes, unsigned n)
{
    if (s == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > n)
        return LUMEN_EVERSION;
    memset(s, 0, sizes[version]);
    *(unsigned int *)s = version;
    return LUMEN_OK;
}

/* Options in: fill the current-version struct `full` (full_size bytes)
 * from the caller's `src`, zeroing the fields its version lacks and
 * setting full's version to the current one. `src` NULL gives every
 * default. Returns LUMEN_OK or LUMEN_EVERSION (full is then all defaults). */
static inline int lumen__versioned_in(void *full, size_t full_size, const void *src,
                                      const size_t *sizes, unsigned n)
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

/* Stats and results out: copy the fields of the caller's version from the
 * current-version `full` into `dst`, leaving dst's version as it is.
 * Returns as lumen__versioned_check (dst untouched on error). */
static inline int lumen__versioned_out(void *dst, const void *full, const size_t *sizes, unsigned n)
{
    int rc = lumen__versioned_check(dst, sizes, n);
    if (rc != LUMEN_OK)
        return rc;
    size_t want = sizes[lumen__version_of(dst)];
    memcpy((char *)dst + sizeof(unsigned int), (const char *)full + sizeof(unsigned int),
           want - sizeof(unsigned int));
    return LUMEN_OK;
}

#endif
