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
 */
#ifndef LUMEN_CORE_VERSIONED_H
#define LUMEN_CORE_VERSIONED_H

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
int lumen__versioned_check(const void *s, const size_t *sizes, unsigned n);

/* The body of every lumen_x_init(): zero the caller's version's bytes of
 * *s and set its version. Returns as lumen__versioned_check. */
int lumen__versioned_init(void *s, unsigned version, const size_t *sizes, unsigned n);

/* Options in: fill the current-version struct `full` (full_size bytes)
 * from the caller's `src`, zeroing the fields its version lacks and
 * setting full's version to the current one. `src` NULL gives every
 * default. Returns LUMEN_OK or LUMEN_EVERSION (full is then all defaults). */
int lumen__versioned_in(void *full, size_t full_size, const void *src, const size_t *sizes,
                        unsigned n);

/* Stats and results out: copy the fields of the caller's version from the
 * current-version `full` into `dst`, leaving dst's version as it is.
 * Returns as lumen__versioned_check (dst untouched on error). */
int lumen__versioned_out(void *dst, const void *full, const size_t *sizes, unsigned n);

#endif
