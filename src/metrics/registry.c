/*
 * metrics/registry.c: registries: the sorted list of families, the
 * refusal of clashing names, the list of collectors, and the default
 * registry with its process and self collectors. Registering lives here
 * (lumen_family_new, lumen_process_collector_add); building a family is
 * family.c's, the typed constructors typed.c's.
 *
 * Families are kept sorted by name so that a render walks them in order.
 * Every family holds a reference from the registry; a render takes its own
 * reference to each family, so unregistering during a render is safe.
 * Two families clash when one would expose a sample name the other
 * exposes (a counter `a` exposes a, a_total and a_created, so a gauge
 * `a_total` is refused).
 *
 * A registry is named by a handle (slots.h) and reference counted: the
 * owner holds one reference until lumen_registry_free, every call in
 * progress holds one, and the last one frees it a grace period after the
 * handle died. Unregistering a family kills its handle at once.
 *
 * A collector may declare the families it writes (lumen_collector_options).
 * Their names are reserved under the registry's lock as every name a
 * family of that name could expose, whatever its type, so that a family
 * clashing with them is refused when it is registered, not left out of a
 * scrape.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/rcu.h"
#include "core/versioned.h"
#include "metrics/family.h"
#include "metrics/names.h"
#include "metrics/process.h"
#include "metrics/registry.h"

static lumen__registry g_default = {
    .refs = 1,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .collect_mu = PTHREAD_MUTEX_INITIALIZER,
    .is_default = true,
};

/* The metrics layer's own losses, read at scrape time:
 * lumen_metrics_updates_lost_total{reason="stale_handle"} counts updates
 * through handles whose series, family or registry was taken away,
 * {reason="no_memory"} those that found no memory for their CPU's cells,
 * and {reason="invalid_value"} those refused for their value (a negative
 * or NaN counter add, a NaN observation). */
static int self_collect(lumen_collect_sink *sink, void *ud)
{
    (void)ud;
    int rc = lumen_collect_family(
        sink, LUMEN_METRIC_COUNTER, "lumen_metrics_updates_lost_total",
        "Metric updates dropped: through a handle whose series was removed, without memory, or "
        "refused for their value.",
        NULL);
    lumen_label stale = {"reason", "stale_handle"}, nomem = {"reason", "no_memory"},
                invalid = {"reason", "invalid_value"};
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(sink, "", &stale, 1, (double)lumen__metrics_lost_stale());
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(sink, "", &nomem, 1, (double)lumen__cells_lost());
    if (rc == LUMEN_OK)
        rc = lumen_collect_sample(
            sink, "", &invalid, 1,
            (double)atomic_load_explicit(&lumen__metrics_refused, memory_order_relaxed));
    return rc;
}

/* The default registry carries the process collector from its first use
 * (LUMEN_PROCESS_METRICS=false turns it off) and the metrics layer's own
 * counters. Its handle never dies. */
static void default_init(void)
{
    lumen__rcu_init(); /* as in lumen_registry_new */
    if (lumen__slot_alloc(LUMEN__SLOT_REGISTRY, &g_default, 0, &g_default.tok) != LUMEN_OK) {
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: no memory for the default registry");
        return;
    }
    lumen__process_collector_add_default((lumen_registry *)g_default.tok);
    static const char *const self_names[] = {"lumen_metrics_updates_lost_total"};
    lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
    o.family_names = self_names;
    o.family_count = 1;
    if (lumen_registry_add_collector(NULL, (lumen_registry *)g_default.tok, &o, self_collect,
                                     NULL) != LUMEN_OK)
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: no memory for the self-metrics collector");
}

LUMEN_API lumen_registry *lumen_registry_default(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, default_init);
    return (lumen_registry *)g_default.tok;
}

lumen__registry *lumen__registry_get(lumen_registry *tok)
{
    if (tok == NULL) {
        if (lumen_registry_default() == NULL)
            return NULL;
        atomic_fetch_add_explicit(&g_default.refs, 1, memory_order_relaxed);
        return &g_default;
    }
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__registry *r = lumen__slot_get((uintptr_t)tok, LUMEN__SLOT_REGISTRY);
    if (r != NULL) {
        long n = atomic_load_explicit(&r->refs, memory_order_relaxed);
        while (n > 0 && !atomic_compare_exchange_weak_explicit(
                            &r->refs, &n, n + 1, memory_order_relaxed, memory_order_relaxed)) {
        }
        if (n <= 0)
            r = NULL;
    }
    lumen__rcu_unlock(rd);
    return r;
}

/* The last reference: free the families, the collectors and, a grace
 * period after its handle died, the registry. */
static void registry_destroy(lumen__registry *r)
{
    for (size_t i = 0; i < r->nfams; i++) {
        lumen__slot_kill(r->fams[i]->tok);
        lumen__family_unref(r->fams[i]);
    }
    lumen__free(r->fams, r->cap * sizeof *r->fams);
    while (r->collectors) {
        lumen_collector *c = r->collectors;
        r->collectors = c->next;
        lumen__free(c, sizeof *c);
    }
    for (size_t i = 0; i < r->nreserved; i++)
        lumen__free(r->reserved[i].name, strlen(r->reserved[i].name) + 1);
    lumen__free(r->reserved, r->reserved_cap * sizeof *r->reserved);
    if (lumen__rcu_synchronize() != LUMEN_OK) {
        lumen__diag(LUMEN_DIAG_ERROR, "metrics: a registry leaked (freed inside a read section)");
        return;
    }
    lumen__slot_free(r->tok);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->collect_mu);
    lumen__free(r, sizeof *r);
}

void lumen__registry_put(lumen__registry *r)
{
    if (r != NULL && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        registry_destroy(r);
}

LUMEN_API int lumen_registry_new(lumen_registry **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    /* Before any metric exists: a metric's first update on a thread may
     * run in a signal handler, where this setup could not (core/rcu.h). */
    lumen__rcu_init();
    lumen__registry *r = lumen__calloc(1, sizeof *r);
    if (r == NULL)
        return LUMEN_ENOMEM;
    atomic_init(&r->refs, 1);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->collect_mu, NULL);
    int rc = lumen__slot_alloc(LUMEN__SLOT_REGISTRY, r, 0, &r->tok);
    if (rc != LUMEN_OK) {
        pthread_mutex_destroy(&r->mu);
        pthread_mutex_destroy(&r->collect_mu);
        lumen__free(r, sizeof *r);
        return rc;
    }
    *out = (lumen_registry *)r->tok;
    return LUMEN_OK;
}

LUMEN_API void lumen_registry_free(lumen_registry *tok)
{
    if (tok == NULL)
        return;
    lumen__rcu_section rd = lumen__rcu_lock();
    lumen__registry *r = lumen__slot_get((uintptr_t)tok, LUMEN__SLOT_REGISTRY);
    /* Exactly one caller drops the owner's reference: the first to swap
     * the flag, on a handle still alive. */
    if (r != NULL && (r->is_default || atomic_exchange(&r->freed, true)))
        r = NULL;
    if (r != NULL)
        lumen__slot_kill(r->tok);
    lumen__rcu_unlock(rd);
    lumen__registry_put(r);
}

/* Index of the first family whose name is >= name. */
static size_t lower_bound(const lumen__registry *r, const char *name)
{
    return lumen__families_lower_bound(r->fams, r->nfams, name);
}

/* Under r->mu: does a registered family expose `s`? */
static bool exposed(const lumen__registry *r, const char *s)
{
    return lumen__families_expose(r->fams, r->nfams, s);
}

/* Under r->mu: would `f` clash with a registered family? Each name f
 * exposes is split at every suffix a family may add, and the base looked
 * up: O(names x suffixes x log families). */
static bool clashes(const lumen__registry *r, const lumen__family *f)
{
    lumen__sample_names names;
    size_t k = lumen__family_sample_names(f->type, f->name, names);
    for (size_t i = 0; i < k; i++)
        if (exposed(r, names[i]))
            return true;
    return false;
}

/* Under r->mu: is `s` one of the names a collector declared? */
static bool reserved(const lumen__registry *r, const char *s)
{
    for (size_t i = 0; i < r->nreserved; i++)
        if (strcmp(r->reserved[i].name, s) == 0)
            return true;
    return false;
}

/* Under r->mu: does `f` expose a name a collector declared? */
static bool clashes_reserved(const lumen__registry *r, const lumen__family *f)
{
    if (r->nreserved == 0)
        return false;
    lumen__sample_names names;
    size_t k = lumen__family_sample_names(f->type, f->name, names);
    for (size_t i = 0; i < k; i++)
        if (reserved(r, names[i]))
            return true;
    return false;
}

bool lumen__registry_clashes(lumen__registry *r, const lumen__family *f)
{
    pthread_mutex_lock(&r->mu);
    bool clash = clashes(r, f) || clashes_reserved(r, f);
    pthread_mutex_unlock(&r->mu);
    return clash;
}

int lumen__registry_add(lumen__registry *r, lumen__family *f, uintptr_t *tok)
{
    int rc = LUMEN_OK;
    pthread_mutex_lock(&r->mu);
    if (clashes(r, f) || clashes_reserved(r, f)) {
        rc = LUMEN_EEXIST;
        goto out;
    }
    if (r->nfams == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        lumen__family **v = lumen__realloc(r->fams, r->cap * sizeof *v, cap * sizeof *v);
        if (v == NULL) {
            rc = LUMEN_ENOMEM;
            goto out;
        }
        r->fams = v;
        r->cap = cap;
    }
    if ((rc = lumen__slot_alloc(LUMEN__SLOT_FAMILY, f, 0, &f->tok)) != LUMEN_OK)
        goto out;
    size_t i = lower_bound(r, f->name);
    memmove(r->fams + i + 1, r->fams + i, (r->nfams - i) * sizeof *r->fams);
    r->fams[i] = f;
    r->nfams++;
    *tok = f->tok;
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Under r->mu: the index of the family named `name` as it was given at
 * creation (a counter's "x" or "x_total", an info metric's "x" or
 * "x_info"), or r->nfams when there is none. */
static size_t find_given(const lumen__registry *r, const char *name)
{
    size_t i = lower_bound(r, name);
    if (i < r->nfams && strcmp(r->fams[i]->name, name) == 0)
        return i;
    static const struct {
        const char *suffix;
        lumen_metric_type type;
    } sufs[] = {{"_total", LUMEN_METRIC_COUNTER}, {"_info", LUMEN_METRIC_INFO}};
    size_t n = strlen(name);
    for (size_t s = 0; s < LUMEN_ARRAY_LEN(sufs); s++) {
        size_t sl = strlen(sufs[s].suffix);
        if (n <= sl || n - sl >= LUMEN__SAMPLE_NAME_CAP ||
            memcmp(name + n - sl, sufs[s].suffix, sl) != 0)
            continue;
        char base[LUMEN__SAMPLE_NAME_CAP];
        memcpy(base, name, n - sl);
        base[n - sl] = '\0';
        size_t j = lower_bound(r, base);
        if (j < r->nfams && strcmp(r->fams[j]->name, base) == 0 && r->fams[j]->type == sufs[s].type)
            return j;
    }
    return r->nfams;
}

LUMEN_API int lumen_registry_unregister(lumen_registry *tok, const char *name)
{
    if (name == NULL)
        return LUMEN_EINVAL;
    lumen__registry *r = lumen__registry_get(tok);
    if (r == NULL)
        return LUMEN_ENOENT;
    lumen__family *f = NULL;
    pthread_mutex_lock(&r->mu);
    size_t i = find_given(r, name);
    if (i < r->nfams) {
        f = r->fams[i];
        memmove(r->fams + i, r->fams + i + 1, (r->nfams - i - 1) * sizeof *r->fams);
        r->nfams--;
        /* Its handle dies with its registration: lookups through it fail
         * from here on. */
        lumen__slot_kill(f->tok);
    }
    pthread_mutex_unlock(&r->mu);
    lumen__registry_put(r);
    if (f == NULL)
        return LUMEN_ENOENT;
    lumen__family_unref(f);
    return LUMEN_OK;
}

LUMEN_API int lumen_family_lookup(lumen_family **out, lumen_registry *tok, const char *name)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (name == NULL)
        return LUMEN_EINVAL;
    lumen__registry *r = lumen__registry_get(tok);
    if (r == NULL)
        return LUMEN_ENOENT;
    pthread_mutex_lock(&r->mu);
    size_t i = find_given(r, name);
    if (i < r->nfams)
        *out = (lumen_family *)r->fams[i]->tok;
    pthread_mutex_unlock(&r->mu);
    /* A pre-forked family's shared families are kept outside r->fams. */
    uintptr_t t;
    if (*out == NULL && r->shared_ops != NULL &&
        r->shared_ops->family_lookup(r, name, &t) == LUMEN_OK)
        *out = (lumen_family *)t;
    lumen__registry_put(r);
    return *out != NULL ? LUMEN_OK : LUMEN_ENOENT;
}

static const size_t collector_options_sizes[] = {0, sizeof(lumen_collector_options)};

LUMEN_API int lumen_collector_options_init(lumen_collector_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, collector_options_sizes,
                                 LUMEN__VERSIONS(collector_options_sizes));
}

/* The names a family named `name` may expose, of any type, into out;
 * returns how many, without duplicates. `name` is a valid metric name of
 * at most LUMEN_METRIC_NAME_MAX bytes. */
static size_t declared_names(const char *name, char out[][LUMEN__SAMPLE_NAME_CAP], size_t cap)
{
    static const lumen_metric_type types[] = {LUMEN_METRIC_COUNTER, LUMEN_METRIC_GAUGE,
                                              LUMEN_METRIC_HISTOGRAM, LUMEN_METRIC_SUMMARY,
                                              LUMEN_METRIC_INFO};
    size_t k = 0;
    for (size_t t = 0; t < LUMEN_ARRAY_LEN(types); t++) {
        char base[LUMEN__SAMPLE_NAME_CAP];
        lumen__sample_names names;
        size_t bl = lumen__family_base_len(types[t], name);
        memcpy(base, name, bl);
        base[bl] = '\0';
        size_t m = lumen__family_sample_names(types[t], base, names);
        for (size_t i = 0; i < m; i++) {
            bool dup = false;
            for (size_t j = 0; j < k && !dup; j++)
                dup = strcmp(out[j], names[i]) == 0;
            if (!dup && k < cap)
                memcpy(out[k++], names[i], strlen(names[i]) + 1);
        }
    }
    return k;
}

/* Reserve the declared names of collector `c` in r (under r->mu): all or
 * none. */
static int reserve_names(lumen__registry *r, const lumen_collector *c,
                         const lumen_collector_options *o)
{
    /* Five types' names (3 + 1 + 5 + 4 + 2), some alike. */
    enum { PER_NAME = 16 };
    size_t before = r->nreserved;
    int rc = LUMEN_OK;
    for (size_t i = 0; i < o->family_count && rc == LUMEN_OK; i++) {
        char names[PER_NAME][LUMEN__SAMPLE_NAME_CAP];
        size_t k = declared_names(o->family_names[i], names, PER_NAME);
        for (size_t j = 0; j < k && rc == LUMEN_OK; j++) {
            if (exposed(r, names[j]) || reserved(r, names[j])) {
                rc = LUMEN_EEXIST;
                break;
            }
            if (r->nreserved == r->reserved_cap) {
                size_t cap = r->reserved_cap ? r->reserved_cap * 2 : 16;
                lumen__reserved *v =
                    lumen__realloc(r->reserved, r->reserved_cap * sizeof *v, cap * sizeof *v);
                if (v == NULL) {
                    rc = LUMEN_ENOMEM;
                    break;
                }
                r->reserved = v;
                r->reserved_cap = cap;
            }
            char *d = lumen__strdup(names[j]);
            if (d == NULL) {
                rc = LUMEN_ENOMEM;
                break;
            }
            r->reserved[r->nreserved++] = (lumen__reserved){d, c};
        }
    }
    if (rc != LUMEN_OK) {
        while (r->nreserved > before) {
            char *d = r->reserved[--r->nreserved].name;
            lumen__free(d, strlen(d) + 1);
        }
    }
    return rc;
}

/* Release the names collector `c` declared (under r->mu). */
static void release_names(lumen__registry *r, const lumen_collector *c)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nreserved; i++) {
        if (r->reserved[i].owner == c)
            lumen__free(r->reserved[i].name, strlen(r->reserved[i].name) + 1);
        else
            r->reserved[k++] = r->reserved[i];
    }
    r->nreserved = k;
}

LUMEN_API int lumen_registry_add_collector(lumen_collector **out, lumen_registry *tok,
                                           const lumen_collector_options *opts, lumen_collect_fn fn,
                                           void *ud)
{
    if (out != NULL)
        *out = NULL;
    if (fn == NULL)
        return LUMEN_EINVAL;
    lumen_collector_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, collector_options_sizes,
                                 LUMEN__VERSIONS(collector_options_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (o.family_count > 0 && o.family_names == NULL)
        return LUMEN_EINVAL;
    for (size_t i = 0; i < o.family_count; i++) {
        if (o.family_names[i] == NULL)
            return LUMEN_EINVAL;
        if ((rc = lumen_metric_name_check(o.family_names[i])) != LUMEN_OK)
            return rc == LUMEN_ETOOBIG ? rc : LUMEN_EINVAL;
    }
    lumen__registry *r = lumen__registry_get(tok);
    if (r == NULL)
        return LUMEN_ENOENT;
    lumen_collector *c = lumen__calloc(1, sizeof *c);
    if (c == NULL) {
        lumen__registry_put(r);
        return LUMEN_ENOMEM;
    }
    c->fn = fn;
    c->ud = ud;
    pthread_mutex_lock(&r->mu);
    rc = reserve_names(r, c, &o);
    pthread_mutex_unlock(&r->mu);
    if (rc != LUMEN_OK) {
        lumen__free(c, sizeof *c);
        lumen__registry_put(r);
        return rc;
    }
    pthread_mutex_lock(&r->collect_mu);
    /* Append, so collectors run in registration order. */
    lumen_collector **p = &r->collectors;
    while (*p)
        p = &(*p)->next;
    *p = c;
    pthread_mutex_unlock(&r->collect_mu);
    lumen__registry_put(r);
    if (out != NULL)
        *out = c;
    return LUMEN_OK;
}

LUMEN_API int lumen_registry_remove_collector(lumen_registry *tok, lumen_collector *col)
{
    if (col == NULL)
        return LUMEN_EINVAL;
    lumen__registry *r = lumen__registry_get(tok);
    if (r == NULL)
        return LUMEN_ENOENT;
    int rc = LUMEN_ENOENT;
    pthread_mutex_lock(&r->collect_mu);
    for (lumen_collector **p = &r->collectors; *p; p = &(*p)->next) {
        if (*p == col) {
            *p = col->next;
            rc = LUMEN_OK;
            break;
        }
    }
    pthread_mutex_unlock(&r->collect_mu);
    if (rc == LUMEN_OK) {
        pthread_mutex_lock(&r->mu);
        release_names(r, col);
        pthread_mutex_unlock(&r->mu);
        lumen__free(col, sizeof *col);
    }
    lumen__registry_put(r);
    return rc;
}

lumen__family **lumen__registry_families(lumen__registry *r, size_t *n)
{
    pthread_mutex_lock(&r->mu);
    lumen__family **v = lumen__malloc((r->nfams ? r->nfams : 1) * sizeof *v);
    if (v != NULL) {
        for (size_t i = 0; i < r->nfams; i++) {
            v[i] = r->fams[i];
            lumen__family_ref(v[i]);
        }
        *n = r->nfams;
    }
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* ---- families ------------------------------------------------------------ */

int lumen__family_new(lumen_registry *reg, lumen_metric_type type, const char *name,
                      const lumen_family_options *opts, uintptr_t *ftok, uintptr_t *only)
{
    lumen__registry *r = lumen__registry_get(reg);
    if (r == NULL)
        return LUMEN_ENOENT;
    lumen__family *f;
    int rc;
    if (r->shared_ops != NULL) { /* a family shared by pre-forked workers */
        /* Native buckets live in per-process layouts, not shared memory. */
        rc = LUMEN_ENOTSUP;
        if (type == LUMEN_METRIC_HISTOGRAM && opts != NULL &&
            opts->histogram_kind != LUMEN_HISTOGRAM_CLASSIC)
            goto out;
        rc = r->shared_ops->family_new(r, type, name, opts, ftok, only);
        goto out;
    }
    rc = lumen__family_build(&f, type, name, opts);
    if (rc != LUMEN_OK)
        goto out;
    /* The only series of a family without labels exists from the start,
     * so it renders as 0. */
    if (f->nlabels == 0 && (rc = lumen__family_add_fixed_child(f, NULL, 0)) != LUMEN_OK) {
        lumen__family_destroy(f);
        goto out;
    }
    /* Read before the family is published: from then on another thread
     * may unregister and free it. */
    uintptr_t only_tok = f->only ? f->only->tok : 0, tok;
    if ((rc = lumen__registry_add(r, f, &tok)) != LUMEN_OK) {
        lumen__family_destroy(f);
        goto out;
    }
    if (ftok != NULL)
        *ftok = tok;
    if (only != NULL)
        *only = only_tok;
out:
    lumen__registry_put(r);
    return rc;
}

static const size_t family_options_sizes[] = {0, offsetof(lumen_family_options, histogram_kind),
                                              sizeof(lumen_family_options)};

LUMEN_API int lumen_family_options_init(lumen_family_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, family_options_sizes,
                                 LUMEN__VERSIONS(family_options_sizes));
}

LUMEN_API int lumen_family_new(lumen_family **out, lumen_registry *reg, lumen_metric_type type,
                               const char *name, const lumen_family_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (name == NULL)
        return LUMEN_EINVAL;
    if (type != LUMEN_METRIC_COUNTER && type != LUMEN_METRIC_GAUGE &&
        type != LUMEN_METRIC_HISTOGRAM && type != LUMEN_METRIC_SUMMARY)
        return LUMEN_EINVAL;
    lumen_family_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, family_options_sizes,
                                 LUMEN__VERSIONS(family_options_sizes));
    if (rc != LUMEN_OK)
        return rc;
    uintptr_t t;
    rc = lumen__family_new(reg, type, name, &o, &t, NULL);
    if (rc == LUMEN_OK)
        *out = (lumen_family *)t;
    return rc;
}

/* ---- the process collector ----------------------------------------------- */

LUMEN_API int lumen_process_collector_add(lumen_collector **out, lumen_registry *reg)
{
    if (out != NULL)
        *out = NULL;
    if (reg == NULL)
        return LUMEN_EINVAL;
    lumen_collector_options o = LUMEN_COLLECTOR_OPTIONS_INIT;
    o.family_names = lumen__process_names;
    o.family_count = lumen__process_name_count;
    return lumen_registry_add_collector(out, reg, &o, lumen__process_collect, NULL);
}

void lumen__process_collector_add_default(lumen_registry *reg)
{
    if (lumen__env_bool("LUMEN_PROCESS_METRICS", true))
        (void)lumen_process_collector_add(NULL, reg);
}
