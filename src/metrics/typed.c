/*
 * metrics/typed.c: the typed API over families: the labelled lookups
 * (lumen_family_counter, _gauge, _histogram, _summary) and the
 * constructors of families without labels (lumen_counter_new, gauge_new,
 * histogram_new, summary_new) and of the two fixed kinds (lumen_info_new,
 * lumen_gauge_func_new). Each builds a family (family.c) and registers it
 * (registry.c); a labelled lookup is one call into family.c.
 */
#include "metrics/family.h"
#include "metrics/registry.h"

/* ---- typed lookups ----------------------------------------------------- */

LUMEN_API int lumen_family_counter(lumen_counter **out, lumen_family *f, const char *const *values,
                                   size_t n)
{
    return lumen__family_child((uintptr_t)f, LUMEN_METRIC_COUNTER, values, n, (uintptr_t *)out);
}

LUMEN_API int lumen_family_gauge(lumen_gauge **out, lumen_family *f, const char *const *values,
                                 size_t n)
{
    return lumen__family_child((uintptr_t)f, LUMEN_METRIC_GAUGE, values, n, (uintptr_t *)out);
}

LUMEN_API int lumen_family_histogram(lumen_histogram **out, lumen_family *f,
                                     const char *const *values, size_t n)
{
    return lumen__family_child((uintptr_t)f, LUMEN_METRIC_HISTOGRAM, values, n, (uintptr_t *)out);
}

LUMEN_API int lumen_family_summary(lumen_summary **out, lumen_family *f, const char *const *values,
                                   size_t n)
{
    return lumen__family_child((uintptr_t)f, LUMEN_METRIC_SUMMARY, values, n, (uintptr_t *)out);
}

/* ---- unlabelled shortcuts -------------------------------------------- */

static int new_plain(void **out, lumen_registry *reg, lumen_metric_type type, const char *name,
                     const lumen_family_options *o)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (name == NULL)
        return LUMEN_EINVAL;
    uintptr_t only;
    int rc = lumen__family_new(reg, type, name, o, NULL, &only);
    if (rc == LUMEN_OK)
        *out = (void *)only;
    return rc;
}

LUMEN_API int lumen_counter_new(lumen_counter **out, lumen_registry *reg, const char *name,
                                const char *help)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_COUNTER, name, &o);
}

LUMEN_API int lumen_gauge_new(lumen_gauge **out, lumen_registry *reg, const char *name,
                              const char *help)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_GAUGE, name, &o);
}

LUMEN_API int lumen_histogram_new(lumen_histogram **out, lumen_registry *reg, const char *name,
                                  const char *help, const double *buckets, size_t bucket_count)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    o.buckets = buckets;
    o.bucket_count = bucket_count;
    return new_plain((void **)out, reg, LUMEN_METRIC_HISTOGRAM, name, &o);
}

LUMEN_API int lumen_summary_new(lumen_summary **out, lumen_registry *reg, const char *name,
                                const char *help)
{
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    return new_plain((void **)out, reg, LUMEN_METRIC_SUMMARY, name, &o);
}

LUMEN_API int lumen_info_new(lumen_family **out, lumen_registry *reg, const char *name,
                             const char *help, const lumen_label *labels, size_t n)
{
    if (out != NULL)
        *out = NULL;
    if (name == NULL || (n > 0 && labels == NULL) || n > LUMEN__MAX_LABELS)
        return LUMEN_EINVAL;
    const char *names[LUMEN__MAX_LABELS], *values[LUMEN__MAX_LABELS];
    for (size_t i = 0; i < n; i++) {
        if (labels[i].name == NULL || labels[i].value == NULL)
            return LUMEN_EINVAL;
        names[i] = labels[i].name;
        values[i] = labels[i].value;
    }
    lumen__registry *r = lumen__registry_get(reg);
    if (r == NULL)
        return LUMEN_ENOENT;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    o.label_names = names;
    o.label_count = n;
    lumen__family *f;
    uintptr_t tok;
    int rc = lumen__family_build(&f, LUMEN_METRIC_INFO, name, &o);
    if (rc == LUMEN_OK && ((rc = lumen__family_add_fixed_child(f, values, n)) != LUMEN_OK ||
                           (rc = lumen__registry_add(r, f, &tok)) != LUMEN_OK))
        lumen__family_destroy(f);
    else if (rc == LUMEN_OK && out != NULL)
        *out = (lumen_family *)tok;
    lumen__registry_put(r);
    return rc;
}

LUMEN_API int lumen_gauge_func_new(lumen_family **out, lumen_registry *reg, const char *name,
                                   const char *help, lumen_gauge_fn fn, void *ud)
{
    if (out != NULL)
        *out = NULL;
    if (name == NULL || fn == NULL)
        return LUMEN_EINVAL;
    lumen__registry *r = lumen__registry_get(reg);
    if (r == NULL)
        return LUMEN_ENOENT;
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = help;
    lumen__family *f;
    int rc = lumen__family_build(&f, LUMEN_METRIC_GAUGE, name, &o);
    if (rc == LUMEN_OK) {
        f->fn = fn;
        f->fn_ud = ud;
        uintptr_t tok;
        if ((rc = lumen__registry_add(r, f, &tok)) != LUMEN_OK)
            lumen__family_destroy(f);
        else if (out != NULL)
            *out = (lumen_family *)tok;
    }
    lumen__registry_put(r);
    return rc;
}
