/*
 * core/alloc.c: the allocator hook. The table is read on every allocation
 * without a lock; lumen_set_allocator is documented as not thread-safe and
 * must run before any object exists.
 */
#include "core/alloc.h"
#include "core/versioned.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void *libc_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void *libc_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    return realloc(p, n);
}

static void libc_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static const lumen_allocator g_libc = {LUMEN_ALLOCATOR_VERSION, libc_malloc, libc_realloc,
                                       libc_free, NULL};
static lumen_allocator g_alloc = {LUMEN_ALLOCATOR_VERSION, libc_malloc, libc_realloc, libc_free,
                                  NULL};

static const size_t allocator_sizes[] = {0, sizeof(lumen_allocator)};

int lumen_allocator_init(lumen_allocator *a, unsigned int version)
{
    return lumen__versioned_init(a, version, allocator_sizes, LUMEN__VERSIONS(allocator_sizes));
}

int lumen_set_allocator(const lumen_allocator *a)
{
    if (a == NULL) {
        g_alloc = g_libc;
        return LUMEN_OK;
    }
    lumen_allocator full;
    int rc = lumen__versioned_in(&full, sizeof full, a, allocator_sizes,
                                 LUMEN__VERSIONS(allocator_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (full.malloc == NULL || full.realloc == NULL || full.free == NULL)
        return LUMEN_EINVAL;
    g_alloc = full;
    return LUMEN_OK;
}

void *lumen__malloc(size_t size)
{
    return g_alloc.malloc(g_alloc.ctx, size ? size : 1);
}

void *lumen__realloc(void *p, size_t old_size, size_t new_size)
{
    if (p == NULL)
        return lumen__malloc(new_size);
    return g_alloc.realloc(g_alloc.ctx, p, old_size, new_size ? new_size : 1);
}

void lumen__free(void *p, size_t size)
{
    if (p == NULL)
        return;
    /* A free that changes errno would break callers that report a failed
     * system call after cleaning up (libuv's uv__free does the same). */
    int saved = errno;
    g_alloc.free(g_alloc.ctx, p, size);
    errno = saved;
}

void lumen_free(void *ptr)
{
    lumen__free(ptr, 0);
}
