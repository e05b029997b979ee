/*
 * trace/tracecontext.c: W3C Trace Context traceparent: parsing (with the
 * tracestate lines that come with it) and formatting (ids decoded with
 * core/hex.h).
 *
 * W3C Trace Context Level 2, which keeps Level 1's behaviour where the two
 * agree: lowercase hex only, all-zero ids and version ff invalid, version
 * 00 of exactly 55 characters, later versions (of any length) parsed by
 * their 00 prefix when the 56th character is '-' or the end. The sampled
 * and random flags are kept; other flag bits are read but sent as zero.
 * An invalid traceparent discards tracestate too; an invalid tracestate
 * does not affect traceparent (tracestate.c).
 */
#include <string.h>

#include "core/env.h"
#include "core/hex.h"
#include "trace/span_context.h"
#include "trace/tracecontext.h"
#include "trace/tracestate.h"

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* s[0..n) is the value with its OWS trimmed; only its first 56 bytes are
 * read (a later version's fields past the flags are not ours to parse, so
 * its length has no upper bound here: the spec asks to parse it). */
int lumen__traceparent_parse_value(const char *s, size_t n, lumen_span_context *out)
{
    uint8_t ver;
    if (n < 55 || !lumen__unhex(s, 1, &ver, LUMEN__HEX_LOWER_ONLY) || ver == 0xff)
        return LUMEN_EPARSE;
    if (ver == 0 && n != 55)
        return LUMEN_EPARSE;
    if (n > 55 && s[55] != '-')
        return LUMEN_EPARSE;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return LUMEN_EPARSE;
    if (!lumen__unhex(s + 3, 16, out->trace_id, LUMEN__HEX_LOWER_ONLY) ||
        !lumen__unhex(s + 36, 8, out->span_id, LUMEN__HEX_LOWER_ONLY) ||
        !lumen__unhex(s + 53, 1, &out->trace_flags, LUMEN__HEX_LOWER_ONLY))
        return LUMEN_EPARSE;
    if (all_zero(out->trace_id, 16) || all_zero(out->span_id, 8))
        return LUMEN_EPARSE;
    out->is_remote = 1;
    return LUMEN_OK;
}

int lumen_traceparent_parse(lumen_span_context *out, const char *tp, size_t len,
                            const char *const *ts, const size_t *ts_len, size_t lines)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    lumen__span_context_clear(out);
    size_t n = len;
    const char *v = tp ? lumen__trim(tp, &n) : NULL;
    if (v == NULL || lumen__traceparent_parse_value(v, n, out) != LUMEN_OK) {
        lumen__span_context_clear(out);
        return LUMEN_EPARSE;
    }
    if (ts == NULL || lines == 0)
        return LUMEN_OK;
    lumen__ts_list l;
    if (lines == 1 && ts[0] != NULL) {
        /* One line: parsed in place, nothing copied. */
        size_t n1 = ts_len ? ts_len[0] : strlen(ts[0]);
        lumen__ts_init(&l, ts[0]);
        lumen__ts_add(&l, ts[0], n1);
    } else {
        lumen__ts_init(&l, NULL);
        for (size_t i = 0; i < lines; i++)
            if (ts[i] != NULL)
                lumen__ts_add(&l, ts[i], ts_len ? ts_len[i] : strlen(ts[i]));
    }
    lumen__span_context_set_ts_len(out, lumen__ts_finish(&l, out->trace_state));
    lumen__ts_free(&l);
    return LUMEN_OK;
}

static const char hexd[] = "0123456789abcdef";

void lumen__hex_encode(char *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hexd[p[i] >> 4];
        o[2 * i + 1] = hexd[p[i] & 15];
    }
}

int lumen_traceparent_format(char out[LUMEN_TRACEPARENT_SIZE], const lumen_span_context *sc)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    out[0] = '\0';
    if (!lumen_span_context_is_valid(sc))
        return LUMEN_EINVAL;
    memcpy(out, "00-", 3);
    lumen__hex_encode(out + 3, sc->trace_id, 16);
    out[35] = '-';
    lumen__hex_encode(out + 36, sc->span_id, 8);
    out[52] = '-';
    /* The sampled and random bits (Level 2); the others are reserved and
     * must be sent as zero. */
    uint8_t f = sc->trace_flags & (LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);
    lumen__hex_encode(out + 53, &f, 1);
    out[55] = '\0';
    return LUMEN_OK;
}
