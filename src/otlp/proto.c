/*
 * otlp/proto.c: OTLP trace protobuf, written by hand (field numbers from
 * opentelemetry-proto trace/v1/trace.proto and common/v1/common.proto).
 *
 * A nested message's length comes before its bytes. Each message reserves
 * three bytes for its length varint (enough up to 2 MiB), is written in
 * place, then its length is filled in; a shorter varint shifts the body
 * left by one or two bytes (cheap for spans, which are small) and a longer
 * one shifts it right. Large outer messages between 16 KiB and 2 MiB need
 * no shift at all. proto3 rules: default values (0, empty) are omitted.
 */
#include <string.h>

#include "core/alloc.h"
#include "otlp/group.h"
#include "otlp/pb.h"
#include "otlp/proto.h"

static void any_value(lumen__buf *b, unsigned field, const lumen_attr *a);

static void scalar(lumen__buf *b, lumen_attr_type t, const lumen_attr *a, size_t i)
{
    switch (t) {
    case LUMEN_ATTR_STRING_ARRAY:
        bytes_field(b, 1, a->v.sa[i], strlen(a->v.sa[i]));
        break;
    case LUMEN_ATTR_BOOL_ARRAY:
        tag(b, 2, WT_VARINT);
        varint(b, a->v.ba[i] ? 1 : 0);
        break;
    case LUMEN_ATTR_INT_ARRAY:
        tag(b, 3, WT_VARINT);
        varint(b, (uint64_t)a->v.ia[i]);
        break;
    default: {
        uint64_t bits;
        memcpy(&bits, &a->v.da[i], 8);
        fixed64_field(b, 4, bits);
    }
    }
}

static void any_value(lumen__buf *b, unsigned field, const lumen_attr *a)
{
    size_t m = begin(b, field);
    switch (a->type) {
    case LUMEN_ATTR_STRING:
        /* An empty string is still a set oneof member: write it. */
        bytes_field(b, 1, a->v.s, a->len);
        break;
    case LUMEN_ATTR_BOOL:
        tag(b, 2, WT_VARINT);
        varint(b, a->v.b ? 1 : 0);
        break;
    case LUMEN_ATTR_INT:
        tag(b, 3, WT_VARINT);
        varint(b, (uint64_t)a->v.i); /* int64: two's complement, not zigzag */
        break;
    case LUMEN_ATTR_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &a->v.d, 8);
        fixed64_field(b, 4, bits);
        break;
    }
    default: {
        size_t arr = begin(b, 5); /* ArrayValue { repeated AnyValue values = 1 } */
        for (size_t i = 0; i < a->len; i++) {
            size_t v = begin(b, 1);
            scalar(b, a->type, a, i);
            end(b, v);
        }
        end(b, arr);
    }
    }
    end(b, m);
}

static inline size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Encoded size of a scalar AnyValue's body, or 0 for arrays (which go
 * through begin/end). */
static size_t scalar_any_len(const lumen_attr *a)
{
    switch (a->type) {
    case LUMEN_ATTR_STRING:
        return 1 + varint_len(a->len) + a->len;
    case LUMEN_ATTR_BOOL:
        return 2;
    case LUMEN_ATTR_INT:
        return 1 + varint_len((uint64_t)a->v.i);
    case LUMEN_ATTR_DOUBLE:
        return 9;
    default:
        return 0;
    }
}

/* KeyValues. Most attributes are scalars whose sizes are known up front,
 * so their lengths are written directly, without the reserve-and-shift of
 * begin/end: attributes are most of an OTLP request's messages. */
void lumen__otlp_pb_key_values(lumen__buf *b, unsigned field, const lumen_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t any = scalar_any_len(&a[i]);
        if (any == 0) {
            size_t kv = begin(b, field);
            str_field(b, 1, a[i].key);
            any_value(b, 2, &a[i]);
            end(b, kv);
            continue;
        }
        size_t kl = strlen(a[i].key);
        size_t kv_len = (kl ? 1 + varint_len(kl) + kl : 0) + 1 + varint_len(any) + any;
        tag(b, field, WT_LEN);
        varint(b, kv_len);
        if (kl)
            bytes_field(b, 1, a[i].key, kl);
        tag(b, 2, WT_LEN);
        varint(b, any);
        switch (a[i].type) {
        case LUMEN_ATTR_STRING:
            bytes_field(b, 1, a[i].v.s, a[i].len);
            break;
        case LUMEN_ATTR_BOOL:
            tag(b, 2, WT_VARINT);
            varint(b, a[i].v.b ? 1 : 0);
            break;
        case LUMEN_ATTR_INT:
            tag(b, 3, WT_VARINT);
            varint(b, (uint64_t)a[i].v.i);
            break;
        default: {
            uint64_t bits;
            memcpy(&bits, &a[i].v.d, 8);
            fixed64_field(b, 4, bits);
        }
        }
    }
}

static void span(lumen__buf *b, const lumen_span *s)
{
    size_t m = begin(b, 2); /* ScopeSpans.spans */
    bytes_field(b, 1, s->trace_id, 16);
    bytes_field(b, 2, s->span_id, 8);
    if (s->trace_state_len)
        bytes_field(b, 3, s->trace_state, s->trace_state_len);
    if (s->has_parent)
        bytes_field(b, 4, s->parent_id, 8);
    str_field(b, 5, s->name);
    uint_field(b, 6, s->kind);
    fixed64_field(b, 7, (uint64_t)s->start_ns);
    fixed64_field(b, 8, (uint64_t)s->end_ns);
    lumen__otlp_pb_key_values(b, 9, s->attrs, s->nattrs);
    uint_field(b, 10, s->dropped_attrs);
    for (uint32_t i = 0; i < s->nevents; i++) {
        const lumen__event *e = &s->events[i];
        size_t ev = begin(b, 11);
        fixed64_field(b, 1, (uint64_t)e->time_ns);
        str_field(b, 2, e->name);
        lumen__otlp_pb_key_values(b, 3, e->attrs, e->nattrs);
        uint_field(b, 4, e->dropped);
        end(b, ev);
    }
    uint_field(b, 12, s->dropped_events);
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const lumen__link *l = &s->links[i];
        size_t lk = begin(b, 13);
        bytes_field(b, 1, l->trace_id, 16);
        bytes_field(b, 2, l->span_id, 8);
        str_field(b, 3, l->trace_state);
        lumen__otlp_pb_key_values(b, 4, l->attrs, l->nattrs);
        uint_field(b, 5, l->dropped);
        fixed32_field(b, 6, l->flags);
        end(b, lk);
    }
    uint_field(b, 14, s->dropped_links);
    if (s->status != LUMEN_SPAN_STATUS_UNSET) {
        size_t st = begin(b, 15);
        str_field(b, 2, s->status_msg);
        uint_field(b, 3, s->status);
        end(b, st);
    }
    /* Low byte: W3C trace flags. 0x100: whether the parent is remote is
     * known; 0x200: it is remote (SpanFlags in trace.proto). */
    uint32_t flags = s->flags | 0x100u | (s->has_parent == 2 ? 0x200u : 0);
    fixed32_field(b, 16, flags);
    end(b, m);
}

static void resource(lumen__buf *b, const struct lumen_tracer_provider *tp)
{
    size_t m = begin(b, 1); /* ResourceSpans.resource */
    lumen__otlp_pb_key_values(b, 1, tp->resource, tp->nresource);
    end(b, m);
}

static void scope(lumen__buf *b, const lumen_tracer *t)
{
    size_t m = begin(b, 1); /* ScopeSpans.scope */
    str_field(b, 1, t->name);
    str_field(b, 2, t->version);
    end(b, m);
}

void lumen__otlp_pb_request(lumen__buf *b, const lumen_span *const *spans, size_t n)
{
    if (n == 0)
        return;
    const lumen_span **order = lumen__malloc(n * sizeof *order);
    lumen__otlp_group *groups = lumen__malloc(n * sizeof *groups);
    if (order == NULL || groups == NULL) {
        b->oom = true;
        goto done;
    }
    size_t ng = lumen__otlp_group_spans(spans, n, order, groups);
    for (size_t g = 0; g < ng;) {
        const struct lumen_tracer_provider *tp = groups[g].tracer->provider;
        size_t rs = begin(b, 1); /* ExportTraceServiceRequest.resource_spans */
        resource(b, tp);
        for (; g < ng && groups[g].tracer->provider == tp; g++) {
            size_t ss = begin(b, 2); /* ResourceSpans.scope_spans */
            scope(b, groups[g].tracer);
            for (size_t i = 0; i < groups[g].n; i++)
                span(b, groups[g].spans[i]);
            end(b, ss);
        }
        end(b, rs);
    }
done:
    lumen__free(order, n * sizeof *order);
    lumen__free(groups, n * sizeof *groups);
}
