/*
 * trace/span_context.c: the opaque span context's constructor, accessors,
 * validity test and validating setters. See span_context.h.
 */
#include <string.h>

#include "core/alloc.h"
#include "trace/span_context.h"
#include "trace/tracestate.h"

bool lumen_span_context_is_valid(const lumen_span_context *sc)
{
    if (sc == NULL)
        return false;
    uint64_t a, b, c;
    memcpy(&a, sc->trace_id, 8);
    memcpy(&b, sc->trace_id + 8, 8);
    memcpy(&c, sc->span_id, 8);
    return (a | b) != 0 && c != 0;
}

int lumen_span_context_new(lumen_span_context **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = lumen__calloc(1, sizeof **out);
    return *out != NULL ? LUMEN_OK : LUMEN_ENOMEM;
}

void lumen_span_context_free(lumen_span_context *sc)
{
    lumen__free(sc, sizeof *sc);
}

int lumen_span_context_copy(lumen_span_context *dst, const lumen_span_context *src)
{
    if (dst == NULL || src == NULL)
        return LUMEN_EINVAL;
    if (dst != src)
        memcpy(dst, src, offsetof(lumen_span_context, trace_state) + src->trace_state_len + 1);
    return LUMEN_OK;
}

int lumen_span_context_set(lumen_span_context *sc, const uint8_t trace_id[16],
                           const uint8_t span_id[8], uint8_t trace_flags, bool is_remote)
{
    if (sc == NULL || trace_id == NULL || span_id == NULL)
        return LUMEN_EINVAL;
    memcpy(sc->trace_id, trace_id, 16);
    memcpy(sc->span_id, span_id, 8);
    sc->trace_flags = trace_flags;
    sc->is_remote = is_remote ? 1 : 0;
    sc->trace_state_len = 0;
    sc->trace_state[0] = '\0';
    return LUMEN_OK;
}

int lumen_span_context_set_trace_state(lumen_span_context *sc, const char *list, size_t len)
{
    if (sc == NULL)
        return LUMEN_EINVAL;
    sc->trace_state_len = 0;
    sc->trace_state[0] = '\0';
    if (list == NULL || len == 0)
        return LUMEN_OK;
    /* The same parser and normalisation as an incoming header: an invalid
     * list is refused whole, a long one cut by whole members (both counted
     * in lumen_trace_propagation_dropped_total). */
    int r = lumen__tracestate_parse(list, len, sc->trace_state);
    if (r < 0) {
        sc->trace_state[0] = '\0';
        return LUMEN_EPARSE;
    }
    sc->trace_state_len = (uint16_t)r;
    sc->trace_state[r] = '\0';
    return LUMEN_OK;
}

void lumen_span_context_ids(uint8_t out_trace_id[16], uint8_t out_span_id[8],
                            const lumen_span_context *sc)
{
    if (out_trace_id != NULL) {
        if (sc != NULL)
            memcpy(out_trace_id, sc->trace_id, 16);
        else
            memset(out_trace_id, 0, 16);
    }
    if (out_span_id != NULL) {
        if (sc != NULL)
            memcpy(out_span_id, sc->span_id, 8);
        else
            memset(out_span_id, 0, 8);
    }
}

uint8_t lumen_span_context_flags(const lumen_span_context *sc)
{
    return sc != NULL ? sc->trace_flags : 0;
}

bool lumen_span_context_is_remote(const lumen_span_context *sc)
{
    return sc != NULL && sc->is_remote != 0;
}

const char *lumen_span_context_trace_state(size_t *out_len, const lumen_span_context *sc)
{
    if (out_len != NULL)
        *out_len = sc != NULL ? sc->trace_state_len : 0;
    return sc != NULL ? sc->trace_state : "";
}
