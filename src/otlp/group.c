/*
 * otlp/group.c: grouping spans by resource (provider) and scope (tracer)
 * for the ResourceSpans/ScopeSpans nesting that both encoders write.
 * Batches almost always come from one tracer, so that case is checked
 * first and costs one pass.
 */
#include <string.h>

#include "otlp/group.h"

size_t lumen__otlp_group_spans(const lumen_span *const *spans, size_t n, const lumen_span **order,
                               lumen__otlp_group *groups)
{
    if (n == 0)
        return 0;
    size_t i;
    for (i = 1; i < n && spans[i]->tracer == spans[0]->tracer; i++)
        ;
    if (i == n) {
        memcpy(order, spans, n * sizeof *order);
        groups[0] = (lumen__otlp_group){spans[0]->tracer, order, n};
        return 1;
    }
    /* Distinct tracers, ordered so that tracers of one provider are
     * adjacent: quadratic in the number of tracers, which is small. */
    size_t ng = 0, k = 0;
    for (i = 0; i < n; i++) {
        const lumen_tracer *t = spans[i]->tracer;
        size_t g;
        for (g = 0; g < ng && groups[g].tracer != t; g++)
            ;
        if (g == ng) {
            /* Insert after the last group of the same provider. */
            size_t at = ng;
            for (size_t j = 0; j < ng; j++)
                if (groups[j].tracer->provider == t->provider)
                    at = j + 1;
            memmove(&groups[at + 1], &groups[at], (ng - at) * sizeof *groups);
            groups[at] = (lumen__otlp_group){t, NULL, 0};
            ng++;
        }
    }
    for (size_t g = 0; g < ng; g++) {
        groups[g].spans = order + k;
        for (i = 0; i < n; i++)
            if (spans[i]->tracer == groups[g].tracer)
                order[k++] = spans[i];
        groups[g].n = (size_t)(order + k - groups[g].spans);
    }
    return ng;
}
