/*
 * metrics/collect.c: custom collectors. See collect.h.
 *
 * A family begun by a collector is refused when its name clashes with a
 * family of the same registry that this render lists (the render's own
 * sorted copy, so the check and the exposition see the same families) or
 * with one an earlier collector wrote in this scrape, so that an
 * exposition never repeats a name. A
 * collector's failure is reported through the diagnostics hook; the
 * families it completed are still rendered.
 */
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "metrics/collect.h"
#include "metrics/family.h"
#include "metrics/names.h"

static const char *const g_sfx[] = {"", "_total", "_created", "_bucket", "_sum", "_count", "_info"};

const char *lumen__sfx_text(int sfx)
{
    return g_sfx[sfx];
}

void lumen__sink_init(lumen_collect_sink *s)
{
    memset(s, 0, sizeof *s);
    s->arena = (lumen__buf)LUMEN__BUF_INIT;
}

void lumen__sink_free(lumen_collect_sink *s)
{
    lumen__buf_free(&s->arena);
    lumen__free(s->fams, s->cap * sizeof *s->fams);
    lumen__free(s->samples, s->scap * sizeof *s->samples);
    memset(s, 0, sizeof *s);
}

static size_t arena_str(lumen_collect_sink *s, const char *p, size_t n)
{
    size_t off = s->arena.len;
    lumen__buf_add(&s->arena, p, n);
    lumen__buf_add(&s->arena, "", 1);
    if (s->arena.oom)
        s->oom = true;
    return off;
}

static bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = lumen__realloc(*v, *cap * elem, nc * elem);
    if (p == NULL)
        return false;
    *v = p;
    *cap = nc;
    return true;
}

static bool sink_exposes(const lumen_collect_sink *s, const char *name)
{
    lumen__sample_names names;
    for (size_t i = 0; i < s->nfams; i++) {
        size_t k =
            lumen__family_sample_names(s->fams[i].type, lumen__sink_str(s, s->fams[i].name), names);
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], name) == 0)
                return true;
    }
    return false;
}

LUMEN_API int lumen_collect_family(lumen_collect_sink *s, lumen_metric_type type, const char *name,
                                   const char *help, const char *unit)
{
    if (s == NULL || name == NULL || type < LUMEN_METRIC_COUNTER || type > LUMEN_METRIC_UNTYPED)
        return LUMEN_EINVAL;
    s->open = false;
    int rc = lumen_metric_name_check(name);
    if (rc != LUMEN_OK)
        return rc;
    size_t base = lumen__family_base_len(type, name);
    if (base > LUMEN_METRIC_NAME_MAX) /* lumen_metric_name_check refused it already */
        return LUMEN_ETOOBIG;
    char b[LUMEN__SAMPLE_NAME_CAP];
    memcpy(b, name, base);
    b[base] = '\0';
    if (unit != NULL && unit[0] != '\0') {
        size_t u = strlen(unit);
        if (!lumen__valid_metric_name(unit, u) || u + 1 > base || b[base - u - 1] != '_' ||
            strcmp(b + base - u, unit) != 0)
            return LUMEN_EINVAL;
    }
    lumen__sample_names names;
    size_t k = lumen__family_sample_names(type, b, names);
    for (size_t i = 0; i < k; i++)
        if (sink_exposes(s, names[i]) || lumen__families_expose(s->regfams, s->nregfams, names[i]))
            return LUMEN_EEXIST;
    if (!grow((void **)&s->fams, &s->cap, s->nfams, sizeof *s->fams))
        return LUMEN_ENOMEM;
    lumen__cfam *f = &s->fams[s->nfams];
    f->type = type;
    f->name = arena_str(s, b, base);
    f->help = help ? arena_str(s, help, strlen(help)) : SIZE_MAX;
    f->unit = unit && unit[0] ? arena_str(s, unit, strlen(unit)) : SIZE_MAX;
    f->first = s->nsamples;
    f->n = 0;
    if (s->oom)
        return LUMEN_ENOMEM;
    s->nfams++;
    s->open = true;
    return LUMEN_OK;
}

static int suffix_id(lumen_metric_type type, const char *sfx)
{
    int id = -1;
    for (int i = 0; i < (int)LUMEN_ARRAY_LEN(g_sfx); i++)
        if (strcmp(sfx, g_sfx[i]) == 0)
            id = i;
    switch (type) {
    case LUMEN_METRIC_COUNTER:
        return id == SFX_NONE ? SFX_TOTAL : id == SFX_TOTAL || id == SFX_CREATED ? id : -1;
    case LUMEN_METRIC_GAUGE:
    case LUMEN_METRIC_UNTYPED:
        return id == SFX_NONE ? id : -1;
    case LUMEN_METRIC_INFO:
        return id == SFX_NONE || id == SFX_INFO ? SFX_INFO : -1;
    case LUMEN_METRIC_HISTOGRAM:
        return id == SFX_BUCKET || id == SFX_SUM || id == SFX_COUNT || id == SFX_CREATED ? id : -1;
    case LUMEN_METRIC_SUMMARY:
        return id == SFX_NONE || id == SFX_SUM || id == SFX_COUNT || id == SFX_CREATED ? id : -1;
    }
    return -1;
}

LUMEN_API int lumen_collect_sample(lumen_collect_sink *s, const char *suffix,
                                   const lumen_label *labels, size_t n, double value)
{
    if (s == NULL || (n > 0 && labels == NULL) || n > LUMEN__MAX_LABELS)
        return LUMEN_EINVAL;
    if (!s->open)
        return LUMEN_ESTATE;
    lumen__cfam *f = &s->fams[s->nfams - 1];
    int sfx = suffix_id(f->type, suffix ? suffix : "");
    if (sfx < 0)
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (labels[i].name == NULL || labels[i].value == NULL)
            return LUMEN_EINVAL;
        const char *ln = labels[i].name;
        bool special =
            (f->type == LUMEN_METRIC_HISTOGRAM && sfx == SFX_BUCKET && strcmp(ln, "le") == 0) ||
            (f->type == LUMEN_METRIC_SUMMARY && sfx == SFX_NONE && strcmp(ln, "quantile") == 0);
        if (!special && lumen_label_name_check(ln) != LUMEN_OK)
            return LUMEN_EBADLABEL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[j].name, ln) == 0)
                return LUMEN_EBADLABEL;
    }
    if (!grow((void **)&s->samples, &s->scap, s->nsamples, sizeof *s->samples))
        return LUMEN_ENOMEM;
    lumen__csample *x = &s->samples[s->nsamples];
    x->suffix = (uint8_t)sfx;
    x->nlabels = (uint8_t)n;
    x->value = value;
    x->labels = s->arena.len;
    for (size_t i = 0; i < n; i++) {
        arena_str(s, labels[i].name, strlen(labels[i].name));
        arena_str(s, labels[i].value, strlen(labels[i].value));
    }
    if (s->oom)
        return LUMEN_ENOMEM;
    s->nsamples++;
    f->n++;
    return LUMEN_OK;
}

void lumen__sink_collect(lumen_collect_sink *s, lumen__registry *r, lumen__family *const *fams,
                         size_t nfams)
{
    s->regfams = fams;
    s->nregfams = nfams;
    pthread_mutex_lock(&r->collect_mu);
    for (lumen_collector *c = r->collectors; c; c = c->next) {
        s->open = false;
        int rc = c->fn(s, c->ud);
        if (rc != LUMEN_OK)
            lumen__diag(LUMEN_DIAG_WARN, "metrics: a collector failed: %s", lumen_strerror(rc));
    }
    s->open = false;
    pthread_mutex_unlock(&r->collect_mu);
}
