/*
 * trace/readspan.c: read access to ended spans for exporters. Everything
 * returned is borrowed from the span and lives as long as the span.
 */
#include <string.h>

#include "trace/record.h"

const char *lumen_span_get_name(const lumen_span *s)
{
    return s != NULL && s->recording ? s->name : "";
}

lumen_span_kind lumen_span_get_kind(const lumen_span *s)
{
    return s != NULL ? (lumen_span_kind)s->kind : LUMEN_SPAN_INTERNAL;
}

bool lumen_span_get_parent_id(uint8_t out[8], const lumen_span *s)
{
    if (out == NULL)
        return s != NULL && s->has_parent;
    if (s == NULL || !s->has_parent) {
        memset(out, 0, 8);
        return false;
    }
    memcpy(out, s->parent_id, 8);
    return true;
}

int64_t lumen_span_get_start_ns(const lumen_span *s)
{
    return s != NULL && s->recording ? s->start_ns : 0;
}

int64_t lumen_span_get_end_ns(const lumen_span *s)
{
    return s != NULL && s->recording ? s->end_ns : 0;
}

lumen_span_status lumen_span_get_status(const char **description, const lumen_span *s)
{
    if (description != NULL)
        *description = s != NULL && s->recording ? s->status_msg : NULL;
    return s != NULL && s->recording ? (lumen_span_status)s->status : LUMEN_SPAN_STATUS_UNSET;
}

size_t lumen_span_get_attr_count(const lumen_span *s)
{
    return s != NULL && s->recording ? s->nattrs : 0;
}

bool lumen_span_get_attr(lumen_attr *out, const lumen_span *s, size_t i)
{
    if (i >= lumen_span_get_attr_count(s) || out == NULL)
        return false;
    *out = s->attrs[i];
    return true;
}

bool lumen_span_find_attr(lumen_attr *out, const lumen_span *s, const char *key)
{
    size_t n = lumen_span_get_attr_count(s);
    for (size_t i = 0; key != NULL && i < n; i++) {
        if (strcmp(s->attrs[i].key, key) == 0) {
            if (out != NULL)
                *out = s->attrs[i];
            return true;
        }
    }
    return false;
}

size_t lumen_span_get_event_count(const lumen_span *s)
{
    return s != NULL && s->recording ? s->nevents : 0;
}

const char *lumen_span_get_event_name(const lumen_span *s, size_t i)
{
    return i < lumen_span_get_event_count(s) ? s->events[i].name : NULL;
}

size_t lumen_span_get_link_count(const lumen_span *s)
{
    return s != NULL && s->recording ? s->nlinks : 0;
}

void lumen_span_get_dropped(uint32_t *attrs, uint32_t *events, uint32_t *links, const lumen_span *s)
{
    bool r = s != NULL && s->recording;
    if (attrs)
        *attrs = r ? s->dropped_attrs : 0;
    if (events)
        *events = r ? s->dropped_events : 0;
    if (links)
        *links = r ? s->dropped_links : 0;
}
