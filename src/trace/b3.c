/*
 * trace/b3.c: Zipkin B3 propagation, single header
 * ("{trace}-{span}[-{sampling}[-{parent}]]") and multiple headers
 * (X-B3-TraceId, X-B3-SpanId, X-B3-Sampled, X-B3-Flags). 64-bit trace ids
 * are left-padded with zeros to 128 bits. Sampling "1" or "d" (debug) sets
 * the sampled flag; "0" or absent leaves it clear. Lowercase hex only, as
 * the B3 specification writes it.
 */
#include <string.h>

#include "core/env.h"
#include "core/hex.h"
#include "trace/b3.h"
#include "trace/span_context.h"
#include "trace/tracecontext.h"

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t a = 0;
    for (size_t i = 0; i < n; i++)
        a |= p[i];
    return a == 0;
}

static bool ids(const char *t, size_t tn, const char *s, size_t sn, lumen_span_context *out)
{
    memset(out->trace_id, 0, 16);
    if (tn == 32) {
        if (!lumen__unhex(t, 16, out->trace_id, LUMEN__HEX_LOWER_ONLY))
            return false;
    } else if (tn == 16) {
        if (!lumen__unhex(t, 8, out->trace_id + 8, LUMEN__HEX_LOWER_ONLY))
            return false;
    } else {
        return false;
    }
    if (sn != 16 || !lumen__unhex(s, 8, out->span_id, LUMEN__HEX_LOWER_ONLY))
        return false;
    return !all_zero(out->trace_id, 16) && !all_zero(out->span_id, 8);
}

static void reset(lumen_span_context *out)
{
    lumen__span_context_clear(out);
}

int lumen__b3_parse_single(const char *s, size_t n, lumen_span_context *out)
{
    s = lumen__trim(s, &n);
    reset(out);
    const char *d1 = memchr(s, '-', n);
    if (d1 == NULL)
        return LUMEN_EPARSE; /* "0", "1", "d" alone carry no context */
    size_t tn = (size_t)(d1 - s);
    const char *sp = d1 + 1;
    size_t rest = n - tn - 1;
    const char *d2 = memchr(sp, '-', rest);
    size_t sn = d2 ? (size_t)(d2 - sp) : rest;
    uint8_t flags = 0;
    if (d2 != NULL) {
        const char *smp = d2 + 1;
        size_t r2 = rest - sn - 1;
        const char *d3 = memchr(smp, '-', r2);
        size_t smn = d3 ? (size_t)(d3 - smp) : r2;
        if (smn != 1 || (smp[0] != '0' && smp[0] != '1' && smp[0] != 'd'))
            goto bad;
        flags = smp[0] != '0' ? LUMEN_TRACE_FLAG_SAMPLED : 0;
        if (d3 != NULL) {
            uint8_t parent[8];
            if (r2 - smn - 1 != 16 || !lumen__unhex(d3 + 1, 8, parent, LUMEN__HEX_LOWER_ONLY))
                goto bad;
        }
    }
    if (!ids(s, tn, sp, sn, out))
        goto bad;
    out->trace_flags = flags;
    out->is_remote = 1;
    return LUMEN_OK;
bad:
    reset(out);
    return LUMEN_EPARSE;
}

int lumen__b3_parse_multi(const char *t, size_t tn, const char *s, size_t sn, const char *smp,
                          size_t smn, const char *flg, size_t fn, lumen_span_context *out)
{
    reset(out);
    if (!ids(t, tn, s, sn, out)) {
        reset(out);
        return LUMEN_EPARSE;
    }
    uint8_t flags = 0;
    if (fn == 1 && flg[0] == '1')
        flags = LUMEN_TRACE_FLAG_SAMPLED; /* debug implies accept */
    else if (smn == 1 && smp[0] == '1')
        flags = LUMEN_TRACE_FLAG_SAMPLED;
    else if (smn == 4 && lumen__strieq(smp, 4, "true"))
        flags = LUMEN_TRACE_FLAG_SAMPLED; /* lenient, as B3 readers may be */
    out->trace_flags = flags;
    out->is_remote = 1;
    return LUMEN_OK;
}
