/*
 * trace/propagation.c: W3C Trace Context (traceparent, tracestate) and the
 * extract/inject entry points that combine the propagators.
 *
 * Strictness follows the W3C Recommendation and its test suite (level 2):
 * lowercase hex only, all-zero ids and version ff invalid, version 00 of
 * exactly 55 characters, later versions parsed by their 00 prefix when the
 * 56th character is '-' or the end. Two traceparent lines make the context
 * invalid. An invalid traceparent discards tracestate too; an invalid
 * tracestate (bad key or value, duplicate key, more than 32 members)
 * is discarded whole and does not affect traceparent.
 */
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/env.h"
#include "trace/propagation.h"

/* Lowercase hex digit values, X (0xff) for every other byte. A table:
 * there are 48 digits per traceparent, and a branch per digit showed in
 * profiles. */
#define X 0xff
static const uint8_t g_hex[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

bool lumen__hex_decode(const char *s, size_t n, uint8_t *out)
{
    const uint8_t *t = g_hex;
    uint8_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h = t[(unsigned char)s[2 * i]], l = t[(unsigned char)s[2 * i + 1]];
        bad |= h | l;
        out[i] = (uint8_t)(h << 4 | (l & 15));
    }
    return (bad & 0xf0) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static const char *trim_ows(const char *s, size_t *n)
{
    return lumen__trim(s, n);
}

static int parse_traceparent(const char *s, size_t n, lumen_span_context *out)
{
    s = trim_ows(s, &n);
    uint8_t ver;
    if (n < 55 || n > LUMEN__TRACEPARENT_INPUT_MAX || !lumen__hex_decode(s, 1, &ver) || ver == 0xff)
        return LUMEN_EPARSE;
    if (ver == 0 && n != 55)
        return LUMEN_EPARSE;
    if (n > 55 && s[55] != '-')
        return LUMEN_EPARSE;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return LUMEN_EPARSE;
    if (!lumen__hex_decode(s + 3, 16, out->trace_id) || !lumen__hex_decode(s + 36, 8, out->span_id) ||
        !lumen__hex_decode(s + 53, 1, &out->trace_flags))
        return LUMEN_EPARSE;
    if (all_zero(out->trace_id, 16) || all_zero(out->span_id, 8))
        return LUMEN_EPARSE;
    out->is_remote = 1;
    return LUMEN_OK;
}

/* ---- tracestate ---- */

static bool keychar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
           c == '/';
}

static bool valid_key(const char *k, size_t n)
{
    if (n == 0)
        return false;
    const char *at = memchr(k, '@', n);
    if (at == NULL) {
        if (n > 256 || !(k[0] >= 'a' && k[0] <= 'z'))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!keychar(k[i]))
                return false;
        return true;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn == 0 || tn > 241 || sn == 0 || sn > 14)
        return false;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
        return false;
    for (size_t i = 1; i < tn; i++)
        if (!keychar(k[i]))
            return false;
    if (!(at[1] >= 'a' && at[1] <= 'z'))
        return false;
    for (size_t i = 1; i < sn; i++)
        if (!keychar(at[1 + i]))
            return false;
    return true;
}

static bool valid_value(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

typedef struct member {
    const char *p; /* key=value, OWS removed */
    size_t n, keylen;
} member;

int lumen__tracestate_parse(const char *s, size_t n, char *out)
{
    member m[32];
    size_t nm = 0;
    if (n > LUMEN__TRACESTATE_INPUT_MAX)
        return -1;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        const char *e = trim_ows(s + i, &len);
        if (len > 0) {
            const char *eq = memchr(e, '=', len);
            if (eq == NULL || nm == 32)
                return -1;
            size_t kl = (size_t)(eq - e);
            if (!valid_key(e, kl) || !valid_value(eq + 1, len - kl - 1))
                return -1;
            for (size_t k = 0; k < nm; k++)
                if (m[k].keylen == kl && memcmp(m[k].p, e, kl) == 0)
                    return -1;
            m[nm++] = (member){e, len, kl};
        }
        i = j + 1;
    }
    /* Keep what fits in LUMEN_TRACESTATE_MAX: drop members longer than
     * 128 characters first, then from the right (W3C truncation rule). */
    bool keep[32];
    size_t total = 0;
    for (size_t k = 0; k < nm; k++) {
        keep[k] = true;
        total += m[k].n + (k ? 1 : 0);
    }
    for (size_t k = 0; k < nm && total > LUMEN_TRACESTATE_MAX; k++) {
        if (m[k].n > 128) {
            keep[k] = false;
            total -= m[k].n + 1;
        }
    }
    for (size_t k = nm; k-- > 0 && total > LUMEN_TRACESTATE_MAX;) {
        if (keep[k]) {
            keep[k] = false;
            total -= m[k].n + 1;
        }
    }
    size_t o = 0;
    for (size_t k = 0; k < nm; k++) {
        if (!keep[k])
            continue;
        if (o)
            out[o++] = ',';
        memcpy(out + o, m[k].p, m[k].n);
        o += m[k].n;
    }
    out[o] = '\0';
    return (int)o;
}

int lumen_traceparent_parse(const char *tp, size_t len, const char *const *ts, const size_t *ts_len,
                            size_t lines, lumen_span_context *out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    memset(out, 0, offsetof(lumen_span_context, trace_state) + 1);
    if (tp == NULL || parse_traceparent(tp, len, out) != LUMEN_OK) {
        memset(out, 0, offsetof(lumen_span_context, trace_state) + 1);
        return LUMEN_EPARSE;
    }
    char joined[LUMEN__TRACESTATE_INPUT_MAX + 1];
    size_t jn = 0;
    for (size_t i = 0; i < lines && ts != NULL; i++) {
        if (ts[i] == NULL)
            continue;
        size_t l = ts_len ? ts_len[i] : strlen(ts[i]);
        if (jn + l + 1 > LUMEN__TRACESTATE_INPUT_MAX) {
            jn = (size_t)-1;
            break;
        }
        if (jn)
            joined[jn++] = ',';
        memcpy(joined + jn, ts[i], l);
        jn += l;
    }
    if (jn != (size_t)-1 && jn > 0) {
        int r = lumen__tracestate_parse(joined, jn, out->trace_state);
        out->trace_state_len = r > 0 ? (uint16_t)r : 0;
        if (r < 0)
            out->trace_state[0] = '\0';
    }
    return LUMEN_OK;
}

static const char hexd[] = "0123456789abcdef";

static void hex(char *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hexd[p[i] >> 4];
        o[2 * i + 1] = hexd[p[i] & 15];
    }
}

int lumen_traceparent_format(const lumen_span_context *sc, char out[56])
{
    if (out == NULL)
        return LUMEN_EINVAL;
    out[0] = '\0';
    if (!lumen_span_context_is_valid(sc))
        return LUMEN_EINVAL;
    memcpy(out, "00-", 3);
    hex(out + 3, sc->trace_id, 16);
    out[35] = '-';
    hex(out + 36, sc->span_id, 8);
    out[52] = '-';
    /* Only the sampled bit: we speak version 00, whose other bits are
     * reserved and must be sent as zero. */
    uint8_t f = sc->trace_flags & LUMEN_TRACE_FLAG_SAMPLED;
    hex(out + 53, &f, 1);
    out[55] = '\0';
    return LUMEN_OK;
}

/* ---- extract and inject ---- */

typedef struct line_collect {
    char buf[LUMEN__TRACESTATE_INPUT_MAX + 1];
    size_t len;
    unsigned lines;
    bool overflow;
    bool join; /* join lines with ',' (tracestate, baggage) or keep the first */
} line_collect;

static void collect(void *ctx, const char *v, size_t n)
{
    line_collect *c = ctx;
    c->lines++;
    if (!c->join && c->lines > 1)
        return;
    if (v == NULL)
        return;
    if (c->len + n + 1 > LUMEN__TRACESTATE_INPUT_MAX) {
        c->overflow = true;
        return;
    }
    if (c->len)
        c->buf[c->len++] = ',';
    memcpy(c->buf + c->len, v, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

static void get(const lumen_carrier *c, const char *name, line_collect *lc, bool join)
{
    lc->len = 0;
    lc->lines = 0;
    lc->overflow = false;
    lc->join = join;
    lc->buf[0] = '\0';
    c->get(c->carrier, name, collect, lc);
}

int lumen_propagation_extract(unsigned which, const lumen_carrier *c, lumen_span_context *out,
                              lumen_baggage *baggage)
{
    if (c == NULL || c->get == NULL || out == NULL)
        return LUMEN_EINVAL;
    if (which & LUMEN_PROPAGATE_DEFAULT)
        which = lumen_propagators_from_env();
    memset(out, 0, offsetof(lumen_span_context, trace_state) + 1);
    line_collect lcs;
    line_collect *lc = &lcs;
    int rc = LUMEN_ENOENT;
    if (which & LUMEN_PROPAGATE_TRACECONTEXT) {
        get(c, "traceparent", lc, false);
        /* Two traceparent lines: the spec's test suite treats the context
         * as invalid rather than guessing which one to trust. */
        if (lc->lines == 1 && !lc->overflow &&
            parse_traceparent(lc->buf, lc->len, out) == LUMEN_OK) {
            rc = LUMEN_OK;
            get(c, "tracestate", lc, true);
            if (lc->lines > 0 && !lc->overflow) {
                int r = lumen__tracestate_parse(lc->buf, lc->len, out->trace_state);
                out->trace_state_len = r > 0 ? (uint16_t)r : 0;
                if (r < 0)
                    out->trace_state[0] = '\0';
            }
        } else {
            memset(out, 0, offsetof(lumen_span_context, trace_state) + 1);
        }
    }
    if (rc != LUMEN_OK && (which & LUMEN_PROPAGATE_B3)) {
        get(c, "b3", lc, false);
        if (lc->lines >= 1 && lumen__b3_parse_single(lc->buf, lc->len, out) == LUMEN_OK)
            rc = LUMEN_OK;
    }
    if (rc != LUMEN_OK && (which & LUMEN_PROPAGATE_B3MULTI)) {
        char tid[33], sid[17], smp[8], flg[8];
        size_t tn = 0, sn = 0, smn = 0, fn = 0;
        static const struct {
            const char *name;
            size_t cap;
        } hs[4] = {{"X-B3-TraceId", 33}, {"X-B3-SpanId", 17}, {"X-B3-Sampled", 8}, {"X-B3-Flags", 8}};
        char *dst[4] = {tid, sid, smp, flg};
        size_t *dn[4] = {&tn, &sn, &smn, &fn};
        for (int i = 0; i < 4; i++) {
            get(c, hs[i].name, lc, false);
            size_t l = lc->len;
            const char *v = trim_ows(lc->buf, &l);
            if (lc->lines >= 1 && l < hs[i].cap) {
                memcpy(dst[i], v, l);
                *dn[i] = l;
            } else if (lc->lines >= 1) {
                *dn[i] = hs[i].cap; /* too long: invalid */
            }
        }
        if (tn > 0 && lumen__b3_parse_multi(tid, tn, sid, sn, smp, smn, flg, fn, out) == LUMEN_OK)
            rc = LUMEN_OK;
    }
    if (baggage != NULL && (which & LUMEN_PROPAGATE_BAGGAGE)) {
        get(c, "baggage", lc, true);
        if (lc->lines > 0 && !lc->overflow)
            lumen_baggage_parse(baggage, lc->buf, lc->len);
    }
    return rc;
}

int lumen_propagation_inject(unsigned which, const lumen_span_context *sc, const lumen_baggage *baggage,
                             const lumen_carrier *c)
{
    if (c == NULL || c->set == NULL)
        return LUMEN_EINVAL;
    if (which & LUMEN_PROPAGATE_DEFAULT)
        which = lumen_propagators_from_env();
    bool valid = lumen_span_context_is_valid(sc);
    if (valid && (which & LUMEN_PROPAGATE_TRACECONTEXT)) {
        char tp[56];
        lumen_traceparent_format(sc, tp);
        c->set(c->carrier, "traceparent", tp);
        if (sc->trace_state_len > 0 && sc->trace_state_len <= LUMEN_TRACESTATE_MAX &&
            sc->trace_state[sc->trace_state_len] == '\0')
            c->set(c->carrier, "tracestate", sc->trace_state);
    }
    if (valid && (which & LUMEN_PROPAGATE_B3)) {
        char b3[32 + 1 + 16 + 2 + 1];
        hex(b3, sc->trace_id, 16);
        b3[32] = '-';
        hex(b3 + 33, sc->span_id, 8);
        b3[49] = '-';
        b3[50] = (sc->trace_flags & LUMEN_TRACE_FLAG_SAMPLED) ? '1' : '0';
        b3[51] = '\0';
        c->set(c->carrier, "b3", b3);
    }
    if (valid && (which & LUMEN_PROPAGATE_B3MULTI)) {
        char t[33], s[17];
        hex(t, sc->trace_id, 16);
        t[32] = '\0';
        hex(s, sc->span_id, 8);
        s[16] = '\0';
        c->set(c->carrier, "X-B3-TraceId", t);
        c->set(c->carrier, "X-B3-SpanId", s);
        c->set(c->carrier, "X-B3-Sampled", (sc->trace_flags & LUMEN_TRACE_FLAG_SAMPLED) ? "1" : "0");
    }
    if (baggage != NULL && (which & LUMEN_PROPAGATE_BAGGAGE) && lumen_baggage_count(baggage) > 0) {
        char *v = NULL;
        if (lumen_baggage_format(baggage, &v) == LUMEN_OK && v != NULL && *v != '\0')
            c->set(c->carrier, "baggage", v);
        lumen_free(v);
    }
    return LUMEN_OK;
}

unsigned lumen_propagators_from_env(void)
{
    const char *v = lumen__env("OTEL_PROPAGATORS");
    if (v == NULL)
        return LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE;
    unsigned which = 0;
    while (*v) {
        const char *e = strchr(v, ',');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        const char *w = lumen__trim(v, &n);
        if (lumen__strieq(w, n, "tracecontext"))
            which |= LUMEN_PROPAGATE_TRACECONTEXT;
        else if (lumen__strieq(w, n, "baggage"))
            which |= LUMEN_PROPAGATE_BAGGAGE;
        else if (lumen__strieq(w, n, "b3"))
            which |= LUMEN_PROPAGATE_B3;
        else if (lumen__strieq(w, n, "b3multi"))
            which |= LUMEN_PROPAGATE_B3MULTI;
        else if (lumen__strieq(w, n, "none"))
            ;
        else if (n > 0)
            lumen__diag(LUMEN_DIAG_WARN, "OTEL_PROPAGATORS: unknown propagator ignored");
        if (e == NULL)
            break;
        v = e + 1;
    }
    return which;
}
