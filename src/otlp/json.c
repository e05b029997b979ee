/*
 * otlp/json.c: OTLP/JSON for traces. The proto3 JSON mapping with the OTLP
 * deviations: ids are hex strings, enums are integers, keys lowerCamelCase;
 * 64-bit integers are decimal strings (as proto3 JSON writes them); a
 * double that JSON cannot express is written as "NaN", "Infinity" or
 * "-Infinity".
 */
#include <math.h>
#include <string.h>

#include "core/escape.h"
#include "core/alloc.h"
#include "otlp/group.h"
#include "otlp/json.h"

static void key(lumen__buf *b, const char *k)
{
    lumen__buf_putc(b, '"');
    lumen__buf_puts(b, k);
    lumen__buf_puts(b, "\":");
}

static void str(lumen__buf *b, const char *s)
{
    lumen__json_str(b, s ? s : "", s ? strlen(s) : 0);
}

static void hex_field(lumen__buf *b, const char *k, const uint8_t *id, size_t n)
{
    key(b, k);
    lumen__buf_putc(b, '"');
    lumen__buf_hex(b, id, n);
    lumen__buf_puts(b, "\",");
}

static void i64_str(lumen__buf *b, const char *k, int64_t v)
{
    key(b, k);
    lumen__buf_putc(b, '"');
    lumen__buf_i64(b, v);
    lumen__buf_puts(b, "\",");
}

static void dbl(lumen__buf *b, double d)
{
    if (isnan(d))
        lumen__buf_puts(b, "\"NaN\"");
    else if (isinf(d))
        lumen__buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        lumen__buf_double(b, d);
}

static void any_value(lumen__buf *b, const lumen_attr *a)
{
    switch (a->type) {
    case LUMEN_ATTR_STRING:
        lumen__buf_puts(b, "{\"stringValue\":");
        lumen__json_str(b, a->v.s, a->len);
        break;
    case LUMEN_ATTR_BOOL:
        lumen__buf_puts(b, a->v.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case LUMEN_ATTR_INT:
        lumen__buf_puts(b, "{\"intValue\":\"");
        lumen__buf_i64(b, a->v.i);
        lumen__buf_putc(b, '"');
        break;
    case LUMEN_ATTR_DOUBLE:
        lumen__buf_puts(b, "{\"doubleValue\":");
        dbl(b, a->v.d);
        break;
    default:
        lumen__buf_puts(b, "{\"arrayValue\":{\"values\":[");
        for (size_t i = 0; i < a->len; i++) {
            if (i)
                lumen__buf_putc(b, ',');
            switch (a->type) {
            case LUMEN_ATTR_STRING_ARRAY:
                lumen__buf_puts(b, "{\"stringValue\":");
                str(b, a->v.sa[i]);
                break;
            case LUMEN_ATTR_BOOL_ARRAY:
                lumen__buf_puts(b, a->v.ba[i] ? "{\"boolValue\":true" : "{\"boolValue\":false");
                break;
            case LUMEN_ATTR_INT_ARRAY:
                lumen__buf_puts(b, "{\"intValue\":\"");
                lumen__buf_i64(b, a->v.ia[i]);
                lumen__buf_putc(b, '"');
                break;
            default:
                lumen__buf_puts(b, "{\"doubleValue\":");
                dbl(b, a->v.da[i]);
            }
            lumen__buf_putc(b, '}');
        }
        lumen__buf_puts(b, "]}");
    }
    lumen__buf_putc(b, '}');
}

void lumen__otlp_json_attributes(lumen__buf *b, const lumen_attr *a, size_t n)
{
    key(b, "attributes");
    lumen__buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"key\":");
        str(b, a[i].key);
        lumen__buf_puts(b, ",\"value\":");
        any_value(b, &a[i]);
        lumen__buf_putc(b, '}');
    }
    lumen__buf_putc(b, ']');
}

static void dropped(lumen__buf *b, const char *k, uint32_t n)
{
    if (n) {
        lumen__buf_putc(b, ',');
        key(b, k);
        lumen__buf_u64(b, n);
    }
}

/* The members of a Span object, without braces. */
static void span_members(lumen__buf *b, const lumen_span *s)
{
    hex_field(b, "traceId", s->trace_id, 16);
    hex_field(b, "spanId", s->span_id, 8);
    if (s->trace_state_len) {
        key(b, "traceState");
        lumen__json_str(b, s->trace_state, s->trace_state_len);
        lumen__buf_putc(b, ',');
    }
    if (s->has_parent)
        hex_field(b, "parentSpanId", s->parent_id, 8);
    key(b, "flags");
    lumen__buf_u64(b, s->flags | 0x100u | (s->has_parent == 2 ? 0x200u : 0));
    lumen__buf_putc(b, ',');
    key(b, "name");
    str(b, s->name);
    lumen__buf_putc(b, ',');
    key(b, "kind");
    lumen__buf_u64(b, s->kind);
    lumen__buf_putc(b, ',');
    i64_str(b, "startTimeUnixNano", s->start_ns);
    i64_str(b, "endTimeUnixNano", s->end_ns);
    lumen__otlp_json_attributes(b, s->attrs, s->nattrs);
    dropped(b, "droppedAttributesCount", s->dropped_attrs);
    if (s->nevents) {
        lumen__buf_puts(b, ",\"events\":[");
        for (uint32_t i = 0; i < s->nevents; i++) {
            const lumen__event *e = &s->events[i];
            if (i)
                lumen__buf_putc(b, ',');
            lumen__buf_putc(b, '{');
            i64_str(b, "timeUnixNano", e->time_ns);
            key(b, "name");
            str(b, e->name);
            lumen__buf_putc(b, ',');
            lumen__otlp_json_attributes(b, e->attrs, e->nattrs);
            dropped(b, "droppedAttributesCount", e->dropped);
            lumen__buf_putc(b, '}');
        }
        lumen__buf_putc(b, ']');
    }
    dropped(b, "droppedEventsCount", s->dropped_events);
    if (s->nlinks) {
        lumen__buf_puts(b, ",\"links\":[");
        for (uint32_t i = 0; i < s->nlinks; i++) {
            const lumen__link *l = &s->links[i];
            if (i)
                lumen__buf_putc(b, ',');
            lumen__buf_putc(b, '{');
            hex_field(b, "traceId", l->trace_id, 16);
            hex_field(b, "spanId", l->span_id, 8);
            if (l->trace_state) {
                key(b, "traceState");
                str(b, l->trace_state);
                lumen__buf_putc(b, ',');
            }
            key(b, "flags");
            lumen__buf_u64(b, l->flags);
            lumen__buf_putc(b, ',');
            lumen__otlp_json_attributes(b, l->attrs, l->nattrs);
            dropped(b, "droppedAttributesCount", l->dropped);
            lumen__buf_putc(b, '}');
        }
        lumen__buf_putc(b, ']');
    }
    dropped(b, "droppedLinksCount", s->dropped_links);
    lumen__buf_puts(b, ",\"status\":{");
    if (s->status != LUMEN_SPAN_STATUS_UNSET) {
        key(b, "code");
        lumen__buf_u64(b, s->status);
        if (s->status_msg) {
            lumen__buf_puts(b, ",\"message\":");
            str(b, s->status_msg);
        }
    }
    lumen__buf_putc(b, '}');
}

static void scope(lumen__buf *b, const lumen_tracer *t)
{
    lumen__buf_puts(b, "\"scope\":{\"name\":");
    str(b, t->name);
    if (t->version) {
        lumen__buf_puts(b, ",\"version\":");
        str(b, t->version);
    }
    lumen__buf_putc(b, '}');
}

void lumen__otlp_json_request(lumen__buf *b, const lumen_span *const *spans, size_t n)
{
    lumen__buf_puts(b, "{\"resourceSpans\":[");
    const lumen_span **order = n ? lumen__malloc(n * sizeof *order) : NULL;
    lumen__otlp_group *groups = n ? lumen__malloc(n * sizeof *groups) : NULL;
    if (n && (order == NULL || groups == NULL)) {
        b->oom = true;
        goto done;
    }
    size_t ng = lumen__otlp_group_spans(spans, n, order, groups);
    for (size_t g = 0; g < ng;) {
        const struct lumen_tracer_provider *tp = groups[g].tracer->provider;
        if (g)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"resource\":{");
        lumen__otlp_json_attributes(b, tp->resource, tp->nresource);
        lumen__buf_puts(b, "},\"scopeSpans\":[");
        bool first = true;
        for (; g < ng && groups[g].tracer->provider == tp; g++) {
            if (!first)
                lumen__buf_putc(b, ',');
            first = false;
            lumen__buf_putc(b, '{');
            scope(b, groups[g].tracer);
            lumen__buf_puts(b, ",\"spans\":[");
            for (size_t i = 0; i < groups[g].n; i++) {
                if (i)
                    lumen__buf_putc(b, ',');
                lumen__buf_putc(b, '{');
                span_members(b, groups[g].spans[i]);
                lumen__buf_putc(b, '}');
            }
            lumen__buf_puts(b, "]}");
        }
        lumen__buf_puts(b, "]}");
    }
done:
    lumen__buf_puts(b, "]}");
    lumen__free(order, n * sizeof *order);
    lumen__free(groups, n * sizeof *groups);
}

void lumen__otlp_json_span_line(lumen__buf *b, const lumen_span *s)
{
    lumen__buf_putc(b, '{');
    span_members(b, s);
    lumen__buf_putc(b, ',');
    scope(b, s->tracer);
    lumen__buf_puts(b, ",\"resource\":{");
    const struct lumen_tracer_provider *tp = s->tracer->provider;
    for (size_t i = 0; i < tp->nresource; i++) {
        if (i)
            lumen__buf_putc(b, ',');
        str(b, tp->resource[i].key);
        lumen__buf_putc(b, ':');
        str(b, tp->resource[i].v.s);
    }
    lumen__buf_puts(b, "}}");
}

void lumen__otlp_json_double(lumen__buf *b, double d)
{
    dbl(b, d);
}
