/*
 * metrics/prefork_table.c: the families and series of a pre-forked family
 * of processes, in shared memory (layout in prefork_shm.h).
 *
 * Lookups read without a lock: a series is found through the index, whose
 * entries are stored (release) only after the series they name is
 * complete. Creating takes create_mu and follows an order a dead creator
 * can be recovered from: heap and cells handed out, the entry written
 * (AT_SERIES_FILLED), the index entry stored (AT_SERIES_INDEXED), the
 * entry counted in nseries, the family's count raised. A creator that dies
 * before the index store leaves an entry nothing refers to, which the next
 * creation overwrites; one that dies after it leaves a complete entry that
 * repair counts. Repair also recounts every family and makes the overflow
 * series a family may lack, so that nothing half made survives. What the
 * dead creator had handed out and nobody refers to is lost (counted in
 * cells_lost), never reused under a live series.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/hash.h"
#include "metrics/names.h"
#include "metrics/prefork_table.h"

static uint64_t series_hash(uint32_t fam, const char *blob, size_t len)
{
    return lumen__hash(blob, len, 0x5eed ^ ((uint64_t)(fam + 1) * 0x9e3779b97f4a7c15ull));
}

const char *lumen__pf_series_value(const lumen__pf_hdr *h, const lumen__pf_series *s, size_t i)
{
    const char *p = lumen__pf_heap(h, s->values);
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

/* ---- the heap (under create_mu) ---------------------------------------- */

static bool heap_alloc(lumen__pf_hdr *h, size_t n, size_t align, uint32_t *off)
{
    uint64_t at = atomic_load_explicit(&h->heap_used, memory_order_relaxed);
    at = (at + align - 1) / align * align;
    if (at + n > h->heap_bytes)
        return false;
    atomic_store_explicit(&h->heap_used, at + n, memory_order_release);
    *off = (uint32_t)at;
    return true;
}

/* Copy `n` bytes into the heap; *ok cleared when it is full. */
static uint32_t heap_put(lumen__pf_hdr *h, const void *p, size_t n, size_t align, bool *ok)
{
    uint32_t off = 0;
    if (!*ok || !heap_alloc(h, n, align, &off)) {
        *ok = false;
        return LUMEN__PF_NONE;
    }
    if (n > 0)
        memcpy(lumen__pf_heap(h, off), p, n);
    return off;
}

static uint32_t heap_str(lumen__pf_hdr *h, const char *s, bool *ok)
{
    return s == NULL ? LUMEN__PF_NONE : heap_put(h, s, strlen(s) + 1, 1, ok);
}

/* ---- series ----------------------------------------------------------- */

static uint64_t series_find(const lumen__pf_hdr *h, uint32_t fam, const char *blob, size_t len,
                            uint64_t hash)
{
    _Atomic uint32_t *index = lumen__pf_index(h);
    uint64_t mask = h->table_cap - 1;
    for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t v = atomic_load_explicit(&index[i], memory_order_acquire);
        if (v == 0)
            return UINT64_MAX;
        const lumen__pf_series *s = lumen__pf_series_at(h, v - 1);
        if (s->hash == hash && s->fam == fam && s->values_len == len &&
            memcmp(lumen__pf_heap(h, s->values), blob, len) == 0)
            return v - 1;
    }
}

/* Under create_mu: a new series of family `fam`. LUMEN_ELIMIT when the
 * memory holds no more. */
static int series_make(lumen__pf_hdr *h, uint32_t fam, const char *blob, size_t len, uint64_t hash,
                       uint32_t flags, uint64_t *id)
{
    const lumen__pf_fam *f = lumen__pf_fam_at(h, fam);
    uint64_t n = atomic_load_explicit(&h->nseries, memory_order_relaxed);
    uint64_t pairs = atomic_load_explicit(&h->pairs, memory_order_relaxed);
    uint64_t need = f->ncells / 2;
    uint32_t values = 0;
    if (n >= h->max_series || pairs + need > h->max_cells / 2 || len >= UINT32_MAX ||
        !heap_alloc(h, len, 1, &values))
        return LUMEN_ELIMIT;
    memcpy(lumen__pf_heap(h, values), blob, len);
    lumen__pf_series *s = lumen__pf_series_at(h, n);
    s->hash = hash;
    s->fam = fam;
    s->flags = flags;
    s->values = values;
    s->values_len = (uint32_t)len;
    s->pair = (uint32_t)pairs;
    s->pad = 0;
    s->created_ns = lumen__wall_ns();
    atomic_store_explicit(&h->pairs, pairs + need, memory_order_release);
    lumen__pf_point(LUMEN__PF_AT_SERIES_FILLED);
    _Atomic uint32_t *index = lumen__pf_index(h);
    uint64_t mask = h->table_cap - 1;
    uint64_t i = hash & mask;
    while (atomic_load_explicit(&index[i], memory_order_relaxed) != 0)
        i = (i + 1) & mask;
    atomic_store_explicit(&index[i], (uint32_t)(n + 1), memory_order_release);
    lumen__pf_point(LUMEN__PF_AT_SERIES_INDEXED);
    atomic_store_explicit(&h->nseries, n + 1, memory_order_release);
    if (!(flags & LUMEN__PF_SERIES_OVERFLOW))
        atomic_fetch_add_explicit(&lumen__pf_fam_at(h, fam)->count, 1, memory_order_relaxed);
    *id = n;
    return LUMEN_OK;
}

/* The label values of `n` as one blob: each NUL-terminated, back to back.
 * *blob is `buf` when it fits, else allocated (free when != buf). */
static int make_blob(const char *const *values, size_t n, char *buf, size_t cap, char **blob,
                     size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(values[i]) + 1;
    char *b = buf;
    if (total > cap && (b = lumen__malloc(total)) == NULL)
        return LUMEN_ENOMEM;
    char *p = b;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(values[i]) + 1;
        memcpy(p, values[i], k);
        p += k;
    }
    *blob = b;
    *len = total;
    return LUMEN_OK;
}

/* Under create_mu: the overflow series of a labelled family. */
static void make_overflow(lumen__pf_hdr *h, uint32_t fam)
{
    lumen__pf_fam *f = lumen__pf_fam_at(h, fam);
    const char *vals[LUMEN__MAX_LABELS];
    for (uint32_t i = 0; i < f->nlabels; i++)
        vals[i] = LUMEN__OVERFLOW_VALUE;
    char buf[LUMEN__MAX_LABELS * sizeof LUMEN__OVERFLOW_VALUE], *blob;
    size_t len;
    if (make_blob(vals, f->nlabels, buf, sizeof buf, &blob, &len) != LUMEN_OK)
        return;
    uint64_t hash = series_hash(fam, blob, len), id = series_find(h, fam, blob, len, hash);
    if (id == UINT64_MAX &&
        series_make(h, fam, blob, len, hash, LUMEN__PF_SERIES_OVERFLOW, &id) != LUMEN_OK) {
        atomic_fetch_add_explicit(&h->arena_full, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&f->overflow, (uint32_t)id, memory_order_release);
}

/* ---- families --------------------------------------------------------- */

static const char *heap_or_null(const lumen__pf_hdr *h, uint32_t off)
{
    return off == LUMEN__PF_NONE ? NULL : lumen__pf_heap(h, off);
}

static bool str_eq(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Do the shared family and the local one define the same thing? */
static bool same_definition(const lumen__pf_hdr *h, const lumen__pf_fam *s, const lumen__family *f)
{
    if (s->type != (uint32_t)f->type || s->nlabels != f->nlabels || s->nconst != f->nconst ||
        s->nbuckets != f->nbuckets || !str_eq(heap_or_null(h, s->unit), f->unit))
        return false;
    const char *p = lumen__pf_heap(h, s->labels);
    for (size_t i = 0; i < f->nlabels; p += strlen(p) + 1, i++)
        if (strcmp(p, f->label_names[i]) != 0)
            return false;
    p = lumen__pf_heap(h, s->consts);
    for (size_t i = 0; i < f->nconst; i++) {
        if (strcmp(p, f->const_names[i]) != 0)
            return false;
        p += strlen(p) + 1;
        if (strcmp(p, f->const_values[i]) != 0)
            return false;
        p += strlen(p) + 1;
    }
    const double *b = (const double *)(const void *)lumen__pf_heap(h, s->buckets);
    for (size_t i = 0; i < f->nbuckets; i++)
        if (b[i] != f->buckets[i])
            return false;
    return true;
}

uint32_t lumen__pf_family_find(const lumen__pf_hdr *h, const char *name)
{
    uint32_t n = atomic_load_explicit(&h->nfams, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(lumen__pf_heap(h, lumen__pf_fam_at(h, i)->name), name) == 0)
            return i;
    return LUMEN__PF_NONE;
}

/* Would a family of this type and name expose a sample name an existing
 * shared family other than `except` exposes? */
static bool clashes(const lumen__pf_hdr *h, lumen_metric_type type, const char *name,
                    uint32_t except)
{
    lumen__sample_names mine, theirs;
    size_t k = lumen__family_sample_names(type, name, mine);
    uint32_t n = atomic_load_explicit(&h->nfams, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        if (i == except)
            continue;
        const lumen__pf_fam *f = lumen__pf_fam_at(h, i);
        size_t m = lumen__family_sample_names((lumen_metric_type)f->type,
                                              lumen__pf_heap(h, f->name), theirs);
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < m; b++)
                if (strcmp(mine[a], theirs[b]) == 0)
                    return true;
    }
    return false;
}

/* Under create_mu: define family `f` at index nfams. */
static int family_make(lumen__pf_hdr *h, const lumen__family *f, uint32_t *idx)
{
    uint32_t n = atomic_load_explicit(&h->nfams, memory_order_relaxed);
    if (n >= h->max_families)
        return LUMEN_ELIMIT;
    lumen__pf_fam *s = lumen__pf_fam_at(h, n);
    memset(s, 0, sizeof *s);
    bool ok = true;
    s->type = (uint32_t)f->type;
    s->flags = f->flags & LUMEN_FAMILY_NO_CREATED;
    s->name = heap_str(h, f->name, &ok);
    s->help = heap_str(h, f->help, &ok);
    s->unit = heap_str(h, f->unit, &ok);
    s->nlabels = (uint32_t)f->nlabels;
    s->labels = LUMEN__PF_NONE;
    if (ok && !heap_alloc(h, 0, 1, &s->labels))
        ok = false;
    for (size_t i = 0; i < f->nlabels; i++)
        heap_str(h, f->label_names[i], &ok);
    s->nconst = (uint32_t)f->nconst;
    s->consts = LUMEN__PF_NONE;
    if (ok && !heap_alloc(h, 0, 1, &s->consts))
        ok = false;
    for (size_t i = 0; i < f->nconst; i++) {
        heap_str(h, f->const_names[i], &ok);
        heap_str(h, f->const_values[i], &ok);
    }
    s->nbuckets = (uint32_t)f->nbuckets;
    s->buckets = heap_put(h, f->buckets, f->nbuckets * sizeof(double), sizeof(double), &ok);
    if (!ok) {
        atomic_fetch_add_explicit(&h->arena_full, 1, memory_order_relaxed);
        return LUMEN_ELIMIT;
    }
    uint32_t cells = f->type == LUMEN_METRIC_HISTOGRAM ? (uint32_t)f->nbuckets + 2 : 2;
    s->ncells = (cells + 1) & ~1u;
    atomic_init(&s->mode, LUMEN_PREFORK_GAUGE_ALL);
    atomic_init(&s->overflow, LUMEN__PF_NONE);
    atomic_init(&s->limit,
                atomic_load_explicit(&((lumen__family *)f)->limit, memory_order_relaxed));
    atomic_init(&s->count, 0);
    atomic_init(&s->overflows, 0);
    atomic_store_explicit(&h->nfams, n + 1, memory_order_release);
    lumen__pf_point(LUMEN__PF_AT_FAMILY_PUBLISHED);
    if (f->nlabels > 0)
        make_overflow(h, n);
    *idx = n;
    return LUMEN_OK;
}

int lumen__pf_family_get(struct lumen_prefork *pf, const lumen__family *f, uint32_t *idx)
{
    lumen__pf_hdr *h = pf->hdr;
    sigset_t old;
    lumen__pf_lock(pf, &h->create_mu, lumen__pf_repair_create, &old);
    uint32_t i = lumen__pf_family_find(h, f->name);
    int rc;
    if (i != LUMEN__PF_NONE)
        rc = same_definition(h, lumen__pf_fam_at(h, i), f) ? LUMEN_OK : LUMEN_EEXIST;
    else if (clashes(h, f->type, f->name, LUMEN__PF_NONE))
        rc = LUMEN_EEXIST;
    else
        rc = family_make(h, f, &i);
    lumen__pf_unlock(&h->create_mu, &old);
    if (rc == LUMEN_OK)
        *idx = i;
    return rc;
}

/* ---- repair ------------------------------------------------------------ */

void lumen__pf_repair_create(struct lumen_prefork *pf)
{
    lumen__pf_hdr *h = pf->hdr;
    /* An entry written and indexed, not yet counted: complete it. */
    uint64_t n = atomic_load_explicit(&h->nseries, memory_order_relaxed);
    _Atomic uint32_t *index = lumen__pf_index(h);
    if (n < h->max_series)
        for (uint64_t i = 0; i < h->table_cap; i++)
            if (atomic_load_explicit(&index[i], memory_order_relaxed) == n + 1) {
                atomic_store_explicit(&h->nseries, ++n, memory_order_release);
                break;
            }
    /* Counts, overflow series and cells from the entries themselves. */
    uint32_t nf = atomic_load_explicit(&h->nfams, memory_order_relaxed);
    for (uint32_t i = 0; i < nf; i++)
        atomic_store_explicit(&lumen__pf_fam_at(h, i)->count, 0, memory_order_relaxed);
    uint64_t used = 0;
    for (uint64_t id = 0; id < n; id++) {
        const lumen__pf_series *s = lumen__pf_series_at(h, id);
        lumen__pf_fam *f = lumen__pf_fam_at(h, s->fam);
        used += f->ncells / 2;
        if (s->flags & LUMEN__PF_SERIES_OVERFLOW)
            atomic_store_explicit(&f->overflow, (uint32_t)id, memory_order_release);
        else
            atomic_fetch_add_explicit(&f->count, 1, memory_order_relaxed);
    }
    uint64_t pairs = atomic_load_explicit(&h->pairs, memory_order_relaxed);
    atomic_store_explicit(&h->cells_lost, 2 * (pairs - used), memory_order_relaxed);
    for (uint32_t i = 0; i < nf; i++) {
        lumen__pf_fam *f = lumen__pf_fam_at(h, i);
        if (f->nlabels > 0 &&
            atomic_load_explicit(&f->overflow, memory_order_relaxed) == LUMEN__PF_NONE)
            make_overflow(h, i);
    }
}

/* ---- the hooks of family.c -------------------------------------------- */

int lumen__prefork_place(lumen__pf_family *pfam, const char *const *values, size_t n,
                         lumen__pf_place *out)
{
    lumen__pf_hdr *h = pfam->pf->hdr;
    char buf[512], *blob;
    size_t len;
    int rc = make_blob(values, n, buf, sizeof buf, &blob, &len);
    if (rc != LUMEN_OK)
        return rc;
    uint64_t hash = series_hash(pfam->idx, blob, len);
    uint64_t id = series_find(h, pfam->idx, blob, len, hash);
    bool full = false;
    if (id == UINT64_MAX) {
        lumen__pf_fam *f = lumen__pf_fam_at(h, pfam->idx);
        sigset_t old;
        lumen__pf_lock(pfam->pf, &h->create_mu, lumen__pf_repair_create, &old);
        id = series_find(h, pfam->idx, blob, len, hash);
        if (id == UINT64_MAX) {
            bool over = n > 0 && atomic_load_explicit(&f->count, memory_order_relaxed) >=
                                     atomic_load_explicit(&f->limit, memory_order_relaxed);
            if (!over && series_make(h, pfam->idx, blob, len, hash, 0, &id) != LUMEN_OK) {
                atomic_fetch_add_explicit(&h->arena_full, 1, memory_order_relaxed);
                full = over = true;
            }
            if (over) {
                atomic_fetch_add_explicit(&f->overflows, 1, memory_order_relaxed);
                uint32_t o = atomic_load_explicit(&f->overflow, memory_order_acquire);
                id = o == LUMEN__PF_NONE ? UINT64_MAX : o;
            }
        }
        lumen__pf_unlock(&h->create_mu, &old);
    }
    if (full)
        lumen__diag(LUMEN_DIAG_ERROR,
                    "metrics: a pre-forked family's shared memory is full (max_series, max_cells "
                    "or max_label_bytes): a new label set of %s goes to its overflow series",
                    lumen__pf_heap(h, lumen__pf_fam_at(h, pfam->idx)->name));
    if (blob != buf)
        lumen__free(blob, len);
    if (id == UINT64_MAX)
        return LUMEN_ELIMIT;
    const lumen__pf_series *s = lumen__pf_series_at(h, id);
    out->slot = pfam->pf->base + s->pair;
    out->cell = 2 * out->slot;
    out->overflow = (s->flags & LUMEN__PF_SERIES_OVERFLOW) != 0;
    return LUMEN_OK;
}

void lumen__prefork_set_limit(lumen__pf_family *pfam, size_t limit)
{
    atomic_store_explicit(&lumen__pf_fam_at(pfam->pf->hdr, pfam->idx)->limit, limit,
                          memory_order_relaxed);
}

uint64_t lumen__prefork_overflows(const lumen__pf_family *pfam)
{
    return atomic_load_explicit(&lumen__pf_fam_at(pfam->pf->hdr, pfam->idx)->overflows,
                                memory_order_relaxed);
}
