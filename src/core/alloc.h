/*
 * core/alloc.h: every allocation in lumen goes through these, so that the
 * allocator hook (lumen_set_allocator) and the failing-allocator tests see
 * all of them. The free functions accept NULL and preserve errno.
 *
 * malloc, realloc and free read the hook's table, which both libraries
 * must share: they are LUMEN__INTERNAL (liblumen exports them at
 * LUMEN_INTERNAL_1 for liblumen-http). The rest is inline over them, so
 * that it is no symbol at all.
 */
#ifndef LUMEN_CORE_ALLOC_H
#define LUMEN_CORE_ALLOC_H

#include <string.h>

#include "core/common.h"

/* Shared: the allocator hook's table lives in liblumen only. */
LUMEN__INTERNAL void *lumen__malloc(size_t size) __attribute__((malloc));
/* Shared: as lumen__malloc. */
LUMEN__INTERNAL void *lumen__realloc(void *p, size_t old_size, size_t new_size);
/* Shared: as lumen__malloc. */
LUMEN__INTERNAL void lumen__free(void *p, size_t size);

/* Zeroed memory for count * size bytes; NULL on overflow. */
static inline void *lumen__calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    void *p = lumen__malloc(n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

/* Copy n bytes and add a NUL; NULL gives NULL. */
static inline char *lumen__strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *d = lumen__malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Copy a NUL-terminated string; NULL gives NULL. */
static inline char *lumen__strdup(const char *s)
{
    return s ? lumen__strndup(s, strlen(s)) : NULL;
}

#endif
