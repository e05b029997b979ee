/*
 * metrics/family.c: families and their children: building and freeing a
 * family, its lock-free child table, label lookups, removal, and the
 * snapshots renders read. Registering a family is registry.c's; this file
 * calls nothing above child.c.
 *
 * A family keeps its children in a lock-free open-addressing table
 * (internal.h). Lookups of an existing child read the table inside a read
 * section (core/rcu.h) without a lock and allocate nothing; creating,
 * removing and clearing take the family mutex. Removal unlinks the child
 * and kills its handle at once (metrics/slots.h), so that updates through
 * a handle kept past its removal are dropped and counted; a removed child
 * is freed after a grace period, when every lookup that might hold it has
 * ended, and once no render holds a snapshot that lists it. Reclaiming
 * waits for a grace period only once per GARBAGE_CHILDREN removals, so
 * that removal stays cheap. A replaced table goes to core/rcu.c's queue,
 * freed with the tables of every family once a megabyte waits.
 *
 * Renders take a snapshot: an immutable array of the children in label
 * order, rebuilt only when the set of children changed, reference counted
 * so that a render reads it without the lock while children come and go.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/hash.h"
#include "core/rcu.h"
#include "core/utf8.h"
#include "metrics/child.h"
#include "metrics/exphist.h"
#include "metrics/family.h"
#include "metrics/names.h"
#include "metrics/prefork_table.h"

/* Reclaim once this many removed children wait for it. */
#define GARBAGE_CHILDREN 1024

typedef struct snap {
    long refs;
    size_t n;
    lumen__child *c[];
} snap;

static snap **fam_snap(lumen__family *f)
{
    return (snap **)&f->snap;
}

/* ---- values ---------------------------------------------------------- */

static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = 0x5eed;
    for (size_t i = 0; i < n; i++)
        h = lumen__hash(values[i], strlen(values[i]), h);
    return h;
}

static bool values_eq(const lumen__child *c, const char *const *values, size_t n)
{
    const char *p = c->values;
    for (size_t i = 0; i < n; i++) {
        const char *a = values[i];
        while (*a != '\0' && *a == *p) {
            a++;
            p++;
        }
        if (*a != *p)
            return false;
        p++;
    }
    return true;
}

/* ---- table ----------------------------------------------------------- */

static lumen__table *table_new(size_t cap)
{
    lumen__table *t = lumen__calloc(1, sizeof *t + cap * sizeof t->slot[0]);
    if (t != NULL)
        t->cap = cap;
    return t;
}

static size_t table_bytes(const lumen__table *t)
{
    return sizeof *t + t->cap * sizeof t->slot[0];
}

static lumen__child *table_find(lumen__family *f, uint64_t h, const char *const *values, size_t n)
{
    /* Acquire pairs with the release that published the table and each
     * slot: a child seen here is fully initialised. */
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_acquire);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (c == NULL)
            return NULL;
        if (c != LUMEN__TOMB && c->htag == (uint16_t)h && values_eq(c, values, n))
            return c;
    }
}

/* The hash of a stored child's values (children keep only its low bits:
 * recomputing it when a table grows saves 8 bytes a series). */
static uint64_t child_hash(const lumen__child *c)
{
    uint64_t h = 0x5eed;
    const char *p = c->values;
    for (size_t i = 0; i < c->fam->nlabels; i++) {
        size_t k = strlen(p);
        h = lumen__hash(p, k, h);
        p += k + 1;
    }
    return h;
}

static void table_put(lumen__table *t, lumen__child *c, uint64_t h, bool *used_tomb)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        lumen__child *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (s == NULL || s == LUMEN__TOMB) {
            if (used_tomb)
                *used_tomb = s == LUMEN__TOMB;
            atomic_store_explicit(&t->slot[i], c, memory_order_release);
            return;
        }
    }
}

static void table_free_deferred(lumen__rcu_head *h)
{
    lumen__table *t = (lumen__table *)((char *)h - offsetof(lumen__table, rcu));
    lumen__free(t, table_bytes(t));
}

/* Make room for one more child (under f->mu). */
static int table_reserve(lumen__family *f)
{
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((f->count + f->tombs + 1) * 4 <= t->cap * 3)
        return LUMEN_OK;
    size_t cap = 8;
    while ((f->count + 1) * 2 > cap)
        cap *= 2;
    lumen__table *nt = table_new(cap);
    if (nt == NULL)
        return LUMEN_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (c != NULL && c != LUMEN__TOMB)
            table_put(nt, c, child_hash(c), NULL);
    }
    atomic_store_explicit(&f->table, nt, memory_order_release);
    lumen__rcu_defer(&t->rcu, table_bytes(t), table_free_deferred);
    f->tombs = 0;
    return LUMEN_OK;
}

/* ---- garbage --------------------------------------------------------- */

typedef struct garbage {
    lumen__child **children;
    size_t n, cap;
} garbage;

/* Free what a grace period ago was unlinked. */
static void garbage_free(garbage *g)
{
    for (size_t i = 0; i < g->n; i++)
        lumen__child_free(g->children[i]);
    lumen__free(g->children, g->cap * sizeof *g->children);
}

/* Under f->mu: make room to retire `n` more children, so that a removal
 * never has to choose between leaking and freeing too early. */
static int reserve_retired(lumen__family *f, size_t n)
{
    if (f->retired_cap - f->nretired >= n)
        return LUMEN_OK;
    size_t cap = f->retired_cap ? f->retired_cap : 16;
    while (cap - f->nretired < n)
        cap *= 2;
    lumen__child **r = lumen__realloc(f->retired, f->retired_cap * sizeof *r, cap * sizeof *r);
    if (r == NULL)
        return LUMEN_ENOMEM;
    f->retired = r;
    f->retired_cap = cap;
    return LUMEN_OK;
}

/* Under f->mu, with room reserved: the child is unlinked; kill its handle
 * now (updates through it are dropped from here on) and keep it until a
 * grace period has passed. */
static void retire(lumen__family *f, lumen__child *c)
{
    lumen__slot_kill(c->tok);
    f->retired[f->nretired++] = c;
}

/* Under f->mu: hand over the garbage when enough has piled up and no
 * render holds a snapshot that may list it. The caller frees it with
 * reclaim() after unlocking. */
static void take_garbage(lumen__family *f, garbage *g, bool force)
{
    *g = (garbage){0};
    if (f->renders > 0 || lumen__rcu_reading())
        return;
    if (!force && f->nretired < GARBAGE_CHILDREN)
        return;
    g->children = f->retired;
    g->n = f->nretired;
    g->cap = f->retired_cap;
    f->retired = NULL;
    f->nretired = f->retired_cap = 0;
}

/* Without f->mu: wait for the grace period and free. */
static void reclaim(garbage *g)
{
    if (g->n == 0) {
        lumen__free(g->children, g->cap * sizeof *g->children);
        return;
    }
    if (lumen__rcu_synchronize() != LUMEN_OK)
        return; /* cannot happen: take_garbage refuses inside a read section */
    garbage_free(g);
}

/* ---- snapshots ------------------------------------------------------- */

static int cmp_child(const void *pa, const void *pb)
{
    const lumen__child *a = *(lumen__child *const *)pa, *b = *(lumen__child *const *)pb;
    size_t n = a->fam->nlabels;
    const char *x = a->values, *y = b->values;
    for (size_t i = 0; i < n; i++) {
        int r = strcmp(x, y);
        if (r != 0)
            return r;
        x += strlen(x) + 1;
        y += strlen(y) + 1;
    }
    return 0;
}

static void snap_drop(snap *s)
{
    if (s != NULL && --s->refs == 0)
        lumen__free(s, sizeof *s + s->n * sizeof s->c[0]);
}

lumen__child **lumen__family_snapshot(lumen__family *f, size_t *n)
{
    pthread_mutex_lock(&f->mu);
    snap *s = *fam_snap(f);
    if (s == NULL || f->dirty) {
        snap *ns = lumen__malloc(sizeof *ns + f->count * sizeof ns->c[0]);
        if (ns == NULL) {
            pthread_mutex_unlock(&f->mu);
            return NULL;
        }
        ns->refs = 1;
        ns->n = 0;
        lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
        for (size_t i = 0; i < t->cap; i++) {
            lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
            if (c != NULL && c != LUMEN__TOMB)
                ns->c[ns->n++] = c;
        }
        if (f->nlabels > 0)
            qsort(ns->c, ns->n, sizeof ns->c[0], cmp_child);
        snap_drop(s);
        *fam_snap(f) = s = ns;
        f->dirty = false;
    }
    s->refs++;
    f->renders++;
    pthread_mutex_unlock(&f->mu);
    *n = s->n;
    return s->c;
}

void lumen__family_snapshot_end(lumen__family *f, lumen__child **c)
{
    garbage g;
    pthread_mutex_lock(&f->mu);
    snap_drop((snap *)((char *)c - offsetof(snap, c)));
    f->renders--;
    /* Reclaiming may have waited for this render. */
    take_garbage(f, &g, false);
    pthread_mutex_unlock(&f->mu);
    reclaim(&g);
}

/* ---- children -------------------------------------------------------- */

/* `pl` is the place of a pre-forked family's series in shared memory
 * (metrics/prefork_shm.h), NULL for every other family. */
static lumen__child *child_new(lumen__family *f, uint64_t h, const char *const *values, size_t n,
                               uint32_t flags, const lumen__pf_place *pl, int *rc)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(values[i]) + 1;
    lumen__child *c = lumen__calloc(1, sizeof *c + len + 1);
    if (c == NULL) {
        *rc = LUMEN_ENOMEM;
        return NULL;
    }
    c->fam = f;
    c->type = (uint8_t)f->type;
    c->htag = (uint16_t)h;
    c->flags = (uint8_t)flags;
    if (f->flags & LUMEN_FAMILY_EXEMPLARS_FROM_TRACE)
        c->flags |= LUMEN__CF_EXEMPLARS_FROM_TRACE;
    if (f->type == LUMEN_METRIC_HISTOGRAM && f->hkind != LUMEN_HISTOGRAM_CLASSIC)
        c->flags |= LUMEN__CF_NATIVE;
    c->created_ns = lumen__wall_ns();
    char *p = c->values;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(values[i]);
        memcpy(p, values[i], k + 1);
        p += k + 1;
    }
    if (pl != NULL) {
        /* Its handle slot and cells were reserved for it: the slot's pair
         * is the series' first pair in the window of every region that
         * maps this worker's shared cells. A gauge's word sends its set
         * to the slow path, which stores into shared memory. */
        c->flags |= LUMEN__CF_SHARED;
        c->cell = pl->cell;
        uint32_t low = LUMEN__SLOT_SLOW | (uint32_t)f->type |
                       (f->type == LUMEN_METRIC_GAUGE ? LUMEN__SLOT_SHARED : 0);
        *rc = lumen__slot_alloc_at(pl->slot, LUMEN__SLOT_SERIES, c, low, &c->tok);
        if (*rc != LUMEN_OK) {
            lumen__free(c, sizeof *c + len + 1);
            return NULL;
        }
        if (f->type == LUMEN_METRIC_COUNTER)
            lumen__slot_set_fast(c->tok);
        return c;
    }
    /* The slot first: a counter's cells are its slot's pair (cells.h). */
    *rc = lumen__slot_alloc(LUMEN__SLOT_SERIES, c, LUMEN__SLOT_SLOW | (uint32_t)f->type, &c->tok);
    if (*rc == LUMEN_OK && (*rc = lumen__child_init_storage(c, f)) != LUMEN_OK) {
        lumen__slot_kill(c->tok);
        lumen__slot_free(c->tok);
    }
    if (*rc != LUMEN_OK) {
        lumen__free(c, sizeof *c + len + 1);
        return NULL;
    }
    /* A counter without exemplars updates through the fast path, which
     * checks the slot's word against the handle itself (slots.h). No
     * handle was given out yet: the word can change under nobody. */
    if (f->type == LUMEN_METRIC_COUNTER && !(c->flags & LUMEN__CF_EXEMPLARS_FROM_TRACE))
        lumen__slot_set_fast(c->tok);
    return c;
}

/* Under f->mu: create and publish a child. */
static int insert_child(lumen__family *f, uint64_t h, const char *const *values, size_t n,
                        uint32_t flags, const lumen__pf_place *pl, lumen__child **out)
{
    int rc = table_reserve(f);
    if (rc != LUMEN_OK)
        return rc;
    lumen__child *c = child_new(f, h, values, n, flags, pl, &rc);
    if (c == NULL)
        return rc;
    bool tomb = false;
    table_put(atomic_load_explicit(&f->table, memory_order_relaxed), c, h, &tomb);
    if (tomb)
        f->tombs--;
    f->count++;
    f->dirty = true;
    *out = c;
    return LUMEN_OK;
}

/* Under f->mu: the overflow series, created on first need; it does not
 * count against the limit. */
static int overflow_child(lumen__family *f, lumen__child **out)
{
    const char *vals[LUMEN__MAX_LABELS];
    for (size_t i = 0; i < f->nlabels; i++)
        vals[i] = LUMEN__OVERFLOW_VALUE;
    uint64_t h = hash_values(vals, f->nlabels);
    lumen__child *c = table_find(f, h, vals, f->nlabels);
    if (c != NULL) {
        *out = c;
        return LUMEN_OK;
    }
    return insert_child(f, h, vals, f->nlabels, LUMEN__CF_OVERFLOW, NULL, out);
}

/* Under f->mu, for a pre-forked family: the shared series of `values`
 * (found or created in shared memory, where the family's series limit
 * counts every process's label sets), cached in the local table. Past the
 * limit the place is the family's shared overflow series, cached under its
 * own values as in a single process. */
static int shared_child(lumen__family *f, uint64_t h, const char *const *values, size_t n,
                        lumen__child **out)
{
    lumen__pf_place pl;
    int rc = lumen__prefork_place(f->shared, values, n, &pl);
    if (rc != LUMEN_OK)
        return rc;
    if (!pl.overflow)
        return insert_child(f, h, values, n, 0, &pl, out);
    const char *vals[LUMEN__MAX_LABELS];
    for (size_t i = 0; i < f->nlabels; i++)
        vals[i] = LUMEN__OVERFLOW_VALUE;
    uint64_t ho = hash_values(vals, f->nlabels);
    lumen__child *c = table_find(f, ho, vals, f->nlabels);
    if (c != NULL) {
        *out = c;
        return LUMEN_OK;
    }
    return insert_child(f, ho, vals, f->nlabels, LUMEN__CF_OVERFLOW, &pl, out);
}

/* Replace invalid UTF-8 in values; *fixed (allocated) is NULL when every
 * value is valid. */
static int repair_values(const char *const *values, size_t n, char ***fixed)
{
    *fixed = NULL;
    char **r = NULL;
    for (size_t i = 0; i < n; i++) {
        bool oom = false;
        char *v = lumen__utf8_repair_dup(values[i], strlen(values[i]), &oom);
        if (oom)
            goto fail;
        if (v == NULL)
            continue;
        if (r == NULL && (r = lumen__calloc(n, sizeof *r)) == NULL) {
            lumen__free(v, strlen(v) + 1);
            goto fail;
        }
        r[i] = v;
    }
    if (r != NULL)
        for (size_t i = 0; i < n; i++)
            if (r[i] == NULL && (r[i] = lumen__strdup(values[i])) == NULL)
                goto fail;
    *fixed = r;
    return LUMEN_OK;
fail:
    if (r != NULL) {
        for (size_t i = 0; i < n; i++)
            lumen__free(r[i], r[i] ? strlen(r[i]) + 1 : 0);
        lumen__free(r, n * sizeof *r);
    }
    return LUMEN_ENOMEM;
}

static void free_values(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        lumen__free(v[i], strlen(v[i]) + 1);
    lumen__free(v, n * sizeof *v);
}

/* The family of a handle, inside a read section; NULL when stale. */
static lumen__family *family_of(uintptr_t tok)
{
    return lumen__slot_get(tok, LUMEN__SLOT_FAMILY);
}

static int create_child(lumen__family *f, const char *const *values, size_t n, uintptr_t *out);
static bool family_tryref(lumen__family *f);

int lumen__family_child(uintptr_t ftok, lumen_metric_type type, const char *const *values, size_t n,
                        uintptr_t *out)
{
    if (ftok == 0 || out == NULL || (n > 0 && values == NULL))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (values[i] == NULL)
            return LUMEN_EINVAL;
    uint64_t h = hash_values(values, n);
    int rc = LUMEN_OK;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__family *f = family_of(ftok);
    if (f == NULL)
        rc = LUMEN_ENOENT;
    else if (f->type != type || f->fn != NULL)
        rc = LUMEN_ETYPE;
    else if (n != f->nlabels)
        rc = LUMEN_ELABELCOUNT;
    if (rc != LUMEN_OK) {
        lumen__rcu_unlock(rd);
        return rc;
    }
    lumen__child *c = table_find(f, h, values, n);
    if (LUMEN_LIKELY(c != NULL)) {
        *out = c->tok;
        lumen__rcu_unlock(rd);
        return LUMEN_OK;
    }
    /* Creating takes the mutex and may allocate: hold a reference instead
     * of the read section. */
    bool alive = family_tryref(f);
    lumen__rcu_unlock(rd);
    if (!alive)
        return LUMEN_ENOENT;
    rc = create_child(f, values, n, out);
    lumen__family_unref(f);
    return rc;
}

static int create_child(lumen__family *f, const char *const *values, size_t n, uintptr_t *out)
{
    /* Store values as valid UTF-8, so that distinct stored values never
     * render alike. */
    char **fixed;
    int rc = repair_values(values, n, &fixed);
    if (rc != LUMEN_OK)
        return rc;
    if (fixed != NULL)
        values = (const char *const *)fixed;
    uint64_t h = hash_values(values, n);
    lumen__child *c;
    pthread_mutex_lock(&f->mu);
    c = table_find(f, h, values, n);
    if (c == NULL && f->shared != NULL) {
        rc = shared_child(f, h, values, n, &c);
    } else if (c == NULL) {
        size_t limit = atomic_load_explicit(&f->limit, memory_order_relaxed);
        if (f->count >= limit && n > 0) {
            atomic_fetch_add_explicit(&f->overflows, 1, memory_order_relaxed);
            rc = overflow_child(f, &c);
        } else {
            rc = insert_child(f, h, values, n, 0, NULL, &c);
        }
    }
    /* Under the lock: once it is released the child may be removed. */
    if (rc == LUMEN_OK)
        *out = c->tok;
    pthread_mutex_unlock(&f->mu);
    /* Growing the table queued the old one. */
    lumen__rcu_reclaim(false);
    free_values(fixed, n);
    return rc;
}

/* The family of a handle with a reference taken, or NULL when stale. */
static lumen__family *family_get(const lumen_family *tok)
{
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__family *f = family_of((uintptr_t)tok);
    if (f != NULL && !family_tryref(f))
        f = NULL;
    lumen__rcu_unlock(rd);
    return f;
}

LUMEN_API int lumen_family_remove(lumen_family *ftok, const char *const *values, size_t n)
{
    if (ftok == NULL || (n > 0 && values == NULL))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (values[i] == NULL)
            return LUMEN_EINVAL;
    lumen__family *f = family_get(ftok);
    if (f == NULL)
        return LUMEN_ENOENT;
    int rc = LUMEN_ELABELCOUNT;
    char **fixed = NULL;
    garbage g = {0};
    if (f->shared != NULL) { /* other processes hold its series */
        rc = LUMEN_ENOTSUP;
        goto out;
    }
    if (n != f->nlabels || (rc = repair_values(values, n, &fixed)) != LUMEN_OK)
        goto out;
    if (fixed != NULL)
        values = (const char *const *)fixed;
    uint64_t h = hash_values(values, n);
    rc = LUMEN_ENOENT;
    pthread_mutex_lock(&f->mu);
    if (reserve_retired(f, 1) != LUMEN_OK) {
        pthread_mutex_unlock(&f->mu);
        rc = LUMEN_ENOMEM;
        goto out;
    }
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (c == NULL)
            break;
        if (c != LUMEN__TOMB && c->htag == (uint16_t)h && values_eq(c, values, n)) {
            atomic_store_explicit(&t->slot[i], LUMEN__TOMB, memory_order_release);
            f->count--;
            f->tombs++;
            f->dirty = true;
            if (f->only == c)
                f->only = NULL;
            retire(f, c);
            take_garbage(f, &g, false);
            rc = LUMEN_OK;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    reclaim(&g);
out:
    free_values(fixed, n);
    lumen__family_unref(f);
    return rc;
}

LUMEN_API void lumen_family_clear(lumen_family *ftok)
{
    lumen__family *f = family_get(ftok);
    if (f == NULL)
        return;
    if (f->shared != NULL) {
        lumen__diag(LUMEN_DIAG_WARN, "metrics: %s is shared by pre-forked workers; not cleared",
                    f->name);
        lumen__family_unref(f);
        return;
    }
    garbage g = {0};
    pthread_mutex_lock(&f->mu);
    if (reserve_retired(f, f->count) != LUMEN_OK) {
        pthread_mutex_unlock(&f->mu);
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: out of memory clearing %s", f->name);
        lumen__family_unref(f);
        return;
    }
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    for (size_t i = 0; i < t->cap; i++) {
        lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (c != NULL && c != LUMEN__TOMB) {
            atomic_store_explicit(&t->slot[i], LUMEN__TOMB, memory_order_release);
            retire(f, c);
            f->tombs++;
        }
    }
    f->count = 0;
    f->only = NULL;
    f->dirty = true;
    take_garbage(f, &g, false);
    pthread_mutex_unlock(&f->mu);
    reclaim(&g);
    lumen__family_unref(f);
}

LUMEN_API void lumen_family_set_series_limit(lumen_family *ftok, size_t limit)
{
    lumen__family *f = family_get(ftok);
    if (f == NULL)
        return;
    atomic_store_explicit(&f->limit, limit ? limit : LUMEN_DEFAULT_SERIES_LIMIT,
                          memory_order_relaxed);
    if (f->shared != NULL)
        lumen__prefork_set_limit(f->shared, limit ? limit : LUMEN_DEFAULT_SERIES_LIMIT);
    lumen__family_unref(f);
}

uint64_t lumen__family_overflows(const lumen__family *f)
{
    if (f->shared != NULL)
        return lumen__prefork_overflows(f->shared);
    return atomic_load_explicit(&((lumen__family *)f)->overflows, memory_order_relaxed);
}

LUMEN_API uint64_t lumen_family_overflows(const lumen_family *ftok)
{
    lumen__family *f = family_get(ftok);
    uint64_t n = f ? lumen__family_overflows(f) : 0;
    lumen__family_unref(f);
    return n;
}

LUMEN_API const char *lumen_family_name(const lumen_family *ftok)
{
    /* The name lives as long as the family: borrowed until it is
     * unregistered (the registry's reference keeps it until then). */
    lumen__family *f = family_get(ftok);
    const char *name = f ? f->name : NULL;
    lumen__family_unref(f);
    return name;
}

LUMEN_API lumen_metric_type lumen_family_type(const lumen_family *ftok)
{
    lumen__family *f = family_get(ftok);
    lumen_metric_type t = f ? f->type : (lumen_metric_type)0;
    lumen__family_unref(f);
    return t;
}

/* ---- families -------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        lumen__free(v[i], v[i] ? strlen(v[i]) + 1 : 0);
    lumen__free(v, n * sizeof *v);
}

/* Kill the handles of the family's children (the family's own dies at
 * unregistering): from here on their updates are dropped and counted. */
static void family_kill(lumen__family *f)
{
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    for (size_t i = 0; t != NULL && i < t->cap; i++) {
        lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (c != NULL && c != LUMEN__TOMB)
            lumen__slot_kill(c->tok);
    }
    if (f->tok != 0)
        lumen__slot_kill(f->tok);
}

/* Free a family whose handles are dead, a grace period after they died
 * (or at once when no handle was ever given out). */
static void family_destroy(lumen__family *f)
{
    lumen__table *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if (t != NULL) {
        for (size_t i = 0; i < t->cap; i++) {
            lumen__child *c = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
            if (c != NULL && c != LUMEN__TOMB)
                lumen__child_free(c);
        }
        lumen__free(t, table_bytes(t));
    }
    garbage g = {.children = f->retired, .n = f->nretired, .cap = f->retired_cap};
    garbage_free(&g);
    snap_drop(*fam_snap(f));
    lumen__free(f->name, f->name ? strlen(f->name) + 1 : 0);
    lumen__free(f->help, f->help ? strlen(f->help) + 1 : 0);
    lumen__free(f->unit, f->unit ? strlen(f->unit) + 1 : 0);
    free_strv(f->label_names, f->nlabels);
    free_strv(f->const_names, f->nconst);
    free_strv(f->const_values, f->nconst);
    lumen__free(f->buckets, f->nbuckets * sizeof(double));
    lumen__free(f->quantiles, f->nquantiles * sizeof(double));
    lumen__slot_free(f->tok);
    pthread_mutex_destroy(&f->mu);
    lumen__free(f, sizeof *f);
}

/* The last reference is gone: lookups that reached the family through its
 * handle may still be reading it, and updates may be adding to its
 * children's cells, until a grace period has passed. */
static void family_free(lumen__family *f)
{
    family_kill(f);
    if (lumen__rcu_synchronize() != LUMEN_OK) {
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: family %s leaked (freed inside a read section)",
                    f->name);
        return;
    }
    family_destroy(f);
}

void lumen__family_ref(lumen__family *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

static bool family_tryref(lumen__family *f)
{
    long r = atomic_load_explicit(&f->refs, memory_order_relaxed);
    while (r > 0)
        if (atomic_compare_exchange_weak_explicit(&f->refs, &r, r + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    return false;
}

void lumen__family_unref(lumen__family *f)
{
    if (f != NULL && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        family_free(f);
}

static char *dup_or_null(const char *s, int *rc)
{
    if (s == NULL)
        return NULL;
    char *d = lumen__strdup(s);
    if (d == NULL)
        *rc = LUMEN_ENOMEM;
    return d;
}

static int check_label(lumen_metric_type type, const char *name)
{
    int rc = lumen_label_name_check(name);
    if (rc != LUMEN_OK)
        return rc;
    if ((type == LUMEN_METRIC_HISTOGRAM && strcmp(name, "le") == 0) ||
        (type == LUMEN_METRIC_SUMMARY && strcmp(name, "quantile") == 0))
        return LUMEN_ERESERVED;
    return LUMEN_OK;
}

/* Validate everything before allocating anything. */
static int check_opts(lumen_metric_type type, const char *name, size_t base_len,
                      const lumen_family_options *o)
{
    int rc = lumen_metric_name_check(name); /* also LUMEN_ETOOBIG past LUMEN_METRIC_NAME_MAX */
    if (rc != LUMEN_OK)
        return rc;
    (void)base_len;
    if ((o->label_count > 0 && o->label_names == NULL) || o->label_count > LUMEN__MAX_LABELS ||
        (o->const_label_count > 0 && o->const_labels == NULL) ||
        o->label_count + o->const_label_count > LUMEN__MAX_LABELS)
        return LUMEN_EINVAL;
    for (size_t i = 0; i < o->label_count + o->const_label_count; i++) {
        const char *ln =
            i < o->label_count ? o->label_names[i] : o->const_labels[i - o->label_count].name;
        if (i >= o->label_count && o->const_labels[i - o->label_count].value == NULL)
            return LUMEN_EINVAL;
        if ((rc = check_label(type, ln)) != LUMEN_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            const char *pn =
                j < o->label_count ? o->label_names[j] : o->const_labels[j - o->label_count].name;
            if (strcmp(pn, ln) == 0)
                return LUMEN_EBADLABEL;
        }
    }
    if (o->unit != NULL && o->unit[0] != '\0') {
        size_t u = strlen(o->unit);
        if (!lumen__valid_metric_name(o->unit, u) || u + 1 > base_len ||
            name[base_len - u - 1] != '_' || memcmp(name + base_len - u, o->unit, u) != 0)
            return LUMEN_EINVAL;
    }
    if (type == LUMEN_METRIC_HISTOGRAM && o->buckets != NULL) {
        size_t nb = o->bucket_count;
        if (nb > 0 && o->buckets[nb - 1] == INFINITY)
            nb--; /* +Inf is implied; accept it spelled out */
        if (nb > LUMEN__MAX_BUCKETS)
            return LUMEN_ERANGE;
        for (size_t i = 0; i < nb; i++)
            if (o->buckets[i] != o->buckets[i] || o->buckets[i] == INFINITY ||
                (i > 0 && !(o->buckets[i] > o->buckets[i - 1])))
                return LUMEN_ERANGE;
    }
    if (type == LUMEN_METRIC_HISTOGRAM && o->histogram_kind != LUMEN_HISTOGRAM_CLASSIC) {
        if ((o->histogram_kind != LUMEN_HISTOGRAM_NATIVE &&
             o->histogram_kind != LUMEN_HISTOGRAM_BOTH) ||
            (o->histogram_kind == LUMEN_HISTOGRAM_NATIVE && o->buckets != NULL))
            return LUMEN_EINVAL;
        if ((o->native_bucket_factor != 0 && !(o->native_bucket_factor > 1)) ||
            o->native_max_buckets > LUMEN_NATIVE_MAX_BUCKETS ||
            !(o->native_zero_threshold >= 0 && o->native_zero_threshold <= DBL_MAX))
            return LUMEN_ERANGE;
    }
    if (type == LUMEN_METRIC_SUMMARY) {
        if ((o->quantile_count > 0 && o->quantiles == NULL) ||
            o->quantile_count > LUMEN__MAX_QUANTILES)
            return LUMEN_EINVAL;
        for (size_t i = 0; i < o->quantile_count; i++)
            if (!(o->quantiles[i] >= 0 && o->quantiles[i] <= 1) ||
                (i > 0 && !(o->quantiles[i] > o->quantiles[i - 1])))
                return LUMEN_ERANGE;
        if (o->age_buckets > 60)
            return LUMEN_ERANGE;
    }
    return LUMEN_OK;
}

static int copy_doubles(double **dst, const double *src, size_t n)
{
    if (n == 0)
        return LUMEN_OK;
    if ((*dst = lumen__malloc(n * sizeof **dst)) == NULL)
        return LUMEN_ENOMEM;
    memcpy(*dst, src, n * sizeof **dst);
    return LUMEN_OK;
}

/* Build (not register) a family. Info families are built here too. */
int lumen__family_build(lumen__family **out, lumen_metric_type type, const char *name,
                        const lumen_family_options *o)
{
    static const lumen_family_options none = LUMEN_FAMILY_OPTIONS_INIT;
    if (o == NULL)
        o = &none;
    size_t base = lumen__family_base_len(type, name);
    int rc = check_opts(type, name, base, o);
    if (rc != LUMEN_OK)
        return rc;
    lumen__family *f = lumen__calloc(1, sizeof *f);
    if (f == NULL)
        return LUMEN_ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    atomic_init(&f->refs, 1);
    f->type = type;
    f->flags = o->flags;
    atomic_init(&f->limit, o->series_limit ? o->series_limit : LUMEN_DEFAULT_SERIES_LIMIT);
    if ((f->name = lumen__strndup(name, base)) == NULL)
        goto nomem;
    rc = LUMEN_OK;
    f->help = dup_or_null(o->help, &rc);
    f->unit = o->unit && o->unit[0] ? dup_or_null(o->unit, &rc) : NULL;
    if (rc != LUMEN_OK)
        goto fail;
    if (o->label_count > 0) {
        if ((f->label_names = lumen__calloc(o->label_count, sizeof(char *))) == NULL)
            goto nomem;
        f->nlabels = o->label_count;
        for (size_t i = 0; i < o->label_count; i++)
            if ((f->label_names[i] = lumen__strdup(o->label_names[i])) == NULL)
                goto nomem;
    }
    if (o->const_label_count > 0) {
        size_t n = o->const_label_count;
        f->const_names = lumen__calloc(n, sizeof(char *));
        f->const_values = lumen__calloc(n, sizeof(char *));
        if (f->const_names == NULL || f->const_values == NULL) {
            lumen__free(f->const_names, n * sizeof(char *));
            lumen__free(f->const_values, n * sizeof(char *));
            f->const_names = f->const_values = NULL;
            goto nomem;
        }
        f->nconst = n;
        for (size_t i = 0; i < n; i++) {
            bool oom = false;
            if ((f->const_names[i] = lumen__strdup(o->const_labels[i].name)) == NULL)
                goto nomem;
            f->const_values[i] = lumen__utf8_repair_dup(o->const_labels[i].value,
                                                        strlen(o->const_labels[i].value), &oom);
            if (oom || (f->const_values[i] == NULL &&
                        (f->const_values[i] = lumen__strdup(o->const_labels[i].value)) == NULL))
                goto nomem;
        }
    }
    if (type == LUMEN_METRIC_HISTOGRAM) {
        const double *b = o->buckets;
        size_t nb = o->bucket_count;
        f->hkind = o->histogram_kind;
        if (f->hkind != LUMEN_HISTOGRAM_CLASSIC) {
            /* The lowest scale (widest buckets) whose bucket ratio
             * 2^(2^-s) is within the factor, as client_golang picks it. */
            int s = o->native_bucket_factor != 0 ? LUMEN__EXP_MIN_SCALE : LUMEN__EXP_MAX_SCALE;
            while (s < LUMEN__EXP_MAX_SCALE && exp2(exp2(-s)) > o->native_bucket_factor)
                s++;
            f->native_scale = s;
            f->native_max_buckets =
                o->native_max_buckets ? o->native_max_buckets : LUMEN__EXP_DEFAULT_BUCKETS;
            f->native_zero_threshold = o->native_zero_threshold;
        }
        if (f->hkind == LUMEN_HISTOGRAM_NATIVE)
            nb = 0; /* only +Inf: the count, beside the sum */
        else if (b == NULL)
            b = lumen_buckets_default(&nb);
        else if (nb > 0 && b[nb - 1] == INFINITY)
            nb--;
        if ((rc = copy_doubles(&f->buckets, b, nb)) != LUMEN_OK)
            goto fail;
        f->nbuckets = nb;
        for (size_t i = 0; i < LUMEN__SMALL_BUCKETS; i++)
            f->small_bounds[i] = i < nb ? b[i] : INFINITY;
    }
    if (type == LUMEN_METRIC_SUMMARY) {
        if ((rc = copy_doubles(&f->quantiles, o->quantiles, o->quantile_count)) != LUMEN_OK)
            goto fail;
        f->nquantiles = o->quantile_count;
        f->max_age_s = (o->max_age_ms ? o->max_age_ms : LUMEN_SUMMARY_DEFAULT_MAX_AGE_MS) / 1e3;
        f->age_buckets = o->age_buckets ? o->age_buckets : LUMEN_SUMMARY_DEFAULT_AGE_BUCKETS;
    }
    lumen__table *t = table_new(8);
    if (t == NULL)
        goto nomem;
    atomic_init(&f->table, t);
    *out = f;
    return LUMEN_OK;
nomem:
    rc = LUMEN_ENOMEM;
fail:
    family_destroy(f);
    return rc;
}

/* Destroy a family that was never registered: no handle of it or of its
 * children reached anyone. */
void lumen__family_destroy(lumen__family *f)
{
    if (f != NULL)
        family_destroy(f);
}

/* Under no lock: create the only child of an info family, or (n = 0) of a
 * family without labels, so that it renders as 0 from the start. */
int lumen__family_add_fixed_child(lumen__family *f, const char *const *values, size_t n)
{
    char **fixed;
    int rc = repair_values(values, n, &fixed);
    if (rc != LUMEN_OK)
        return rc;
    if (fixed != NULL)
        values = (const char *const *)fixed;
    pthread_mutex_lock(&f->mu);
    rc = insert_child(f, hash_values(values, n), values, n, 0, NULL, &f->only);
    pthread_mutex_unlock(&f->mu);
    free_values(fixed, n);
    return rc;
}

/* ---- sorted lists of families ---------------------------------------- */

size_t lumen__families_lower_bound(lumen__family *const *fams, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(fams[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static lumen__family *families_find(lumen__family *const *fams, size_t n, const char *name)
{
    size_t i = lumen__families_lower_bound(fams, n, name);
    return i < n && strcmp(fams[i]->name, name) == 0 ? fams[i] : NULL;
}

/* Does family g expose the sample or family name `s`? */
static bool family_exposes(const lumen__family *g, const char *s)
{
    lumen__sample_names names;
    size_t k = lumen__family_sample_names(g->type, g->name, names);
    for (size_t i = 0; i < k; i++)
        if (strcmp(names[i], s) == 0)
            return true;
    return false;
}

bool lumen__families_expose(lumen__family *const *fams, size_t n, const char *s)
{
    /* A family exposes s only if s is its name plus one of the suffixes:
     * split s at each, and look the base up. */
    static const char *const suffixes[] = {"",     "_total", "_created", "_bucket",
                                           "_sum", "_count", "_info"};
    size_t len = strlen(s);
    for (size_t j = 0; j < LUMEN_ARRAY_LEN(suffixes); j++) {
        size_t sl = strlen(suffixes[j]);
        if (len <= sl || len - sl >= LUMEN__SAMPLE_NAME_CAP ||
            memcmp(s + len - sl, suffixes[j], sl) != 0)
            continue;
        char base[LUMEN__SAMPLE_NAME_CAP];
        memcpy(base, s, len - sl);
        base[len - sl] = '\0';
        const lumen__family *g = families_find(fams, n, base);
        if (g != NULL && family_exposes(g, s))
            return true;
    }
    return false;
}
