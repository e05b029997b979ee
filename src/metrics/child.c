/*
 * metrics/child.c: the storage each series (child) needs, by its family's
 * type, and its release. A counter has two cells, the pair of its handle's
 * slot (a count for integral adds and a double for the rest) and an
 * exemplar slot; a histogram a count cell per bucket, +Inf included, a
 * double sum cell and an exemplar slot per bucket; a summary its window
 * state (summary.c); a gauge holds its value in the child itself.
 *
 * Cells, exemplar slots and the handle are released together, a grace
 * period after the handle died (family.c decides when), so that an update
 * that checked the handle never adds to a recycled cell.
 */
#include <string.h>

#include "core/alloc.h"
#include "metrics/child.h"
#include "metrics/exemplar.h"
#include "metrics/exphist.h"
#include "metrics/summary.h"

static uint32_t child_cells(const lumen__child *c)
{
    switch (c->fam->type) {
    case LUMEN_METRIC_COUNTER:
        return 2;
    case LUMEN_METRIC_HISTOGRAM:
        return (uint32_t)c->fam->nbuckets + 2;
    default:
        return 0;
    }
}

int lumen__child_init_storage(lumen__child *c, lumen__family *f)
{
    switch (f->type) {
    case LUMEN_METRIC_COUNTER:
        return lumen__cells_pair(lumen__slot_idx(c->tok), &c->cell);
    case LUMEN_METRIC_HISTOGRAM: {
        int rc = lumen__cells_alloc((uint32_t)f->nbuckets + 2, &c->cell);
        if (rc == LUMEN_OK && f->hkind != LUMEN_HISTOGRAM_CLASSIC &&
            (rc = lumen__exphist_new(f, &c->native)) != LUMEN_OK) {
            lumen__cells_release(c->cell, (uint32_t)f->nbuckets + 2);
            c->cell = 0;
        }
        return rc;
    }
    case LUMEN_METRIC_SUMMARY:
        return lumen__summary_state_new(f, &c->u.sum);
    default:
        return LUMEN_OK;
    }
}

size_t lumen__child_size(const lumen__child *c)
{
    const char *p = c->values;
    for (size_t i = 0; i < c->fam->nlabels; i++)
        p += strlen(p) + 1;
    return sizeof *c + (size_t)(p - c->values) + 1;
}

void lumen__child_free(lumen__child *c)
{
    if (c == NULL)
        return;
    lumen__family *f = c->fam;
    uint32_t n = child_cells(c);
    /* A pre-forked family's cells are shared memory, never released. */
    if (n > 0 && !(c->flags & LUMEN__CF_SHARED))
        lumen__cells_release(c->cell, n);
    if (f->type == LUMEN_METRIC_COUNTER) {
        lumen__exemplar_free(&c->u.ex);
    } else if (f->type == LUMEN_METRIC_HISTOGRAM) {
        lumen__exphist_free(c->native);
        _Atomic(lumen__exemplar *) *hex = atomic_load_explicit(&c->u.hex, memory_order_acquire);
        if (hex != NULL) {
            for (size_t i = 0; i <= f->nbuckets; i++)
                lumen__exemplar_free(&hex[i]);
            lumen__free((void *)hex, (f->nbuckets + 1) * sizeof hex[0]);
        }
    } else if (f->type == LUMEN_METRIC_SUMMARY) {
        lumen__summary_state_free(c->u.sum);
    }
    lumen__slot_free(c->tok);
    lumen__free(c, lumen__child_size(c));
}
