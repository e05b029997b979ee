/*
 * otlp/group.h: spans grouped by provider (resource) and tracer (scope)
 * for the ResourceSpans/ScopeSpans nesting both encoders write (group.c).
 */
#ifndef LUMEN_OTLP_GROUP_H
#define LUMEN_OTLP_GROUP_H

#include "core/common.h"
#include "trace/provider.h"
#include "trace/record.h"

/* A run of spans of one tracer (scope), inside a run of one provider. */
typedef struct lumen__otlp_group {
    const lumen_tracer *tracer;
    const lumen_span *const *spans; /* gathered pointers */
    size_t n;
} lumen__otlp_group;

/* Group spans by provider then tracer, keeping first-seen order. Fills
 * `order` (n entries) with the spans regrouped and returns the number of
 * groups written to `groups` (up to n). */
size_t lumen__otlp_group_spans(const lumen_span *const *spans, size_t n, const lumen_span **order,
                               lumen__otlp_group *groups);

#endif
