/*
 * core/alloc.h: every allocation in lumen goes through these, so that the
 * allocator hook (lumen_set_allocator) and the failing-allocator tests see
 * all of them. The free functions accept NULL and preserve errno.
 */
#ifndef LUMEN_CORE_ALLOC_H
#define LUMEN_CORE_ALLOC_H

#include "core/common.h"

LUMEN__SHARED void *lumen__malloc(size_t size) __attribute__((malloc));
LUMEN__SHARED void *lumen__calloc(size_t count, size_t size) __attribute__((malloc));
LUMEN__SHARED void *lumen__realloc(void *p, size_t old_size, size_t new_size);
LUMEN__SHARED void lumen__free(void *p, size_t size);
/* Copy a NUL-terminated string; NULL gives NULL. */
LUMEN__SHARED char *lumen__strdup(const char *s);
/* Copy n bytes and add a NUL. */
LUMEN__SHARED char *lumen__strndup(const char *s, size_t n);

#endif
