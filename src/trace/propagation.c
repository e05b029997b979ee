/*
 * trace/propagation.c: the extract/inject entry points that combine the
 * propagators (W3C Trace Context in tracecontext.c and tracestate.c, B3 in
 * b3.c, W3C Baggage in baggage.c), and the choice of propagators from
 * OTEL_PROPAGATORS. Two traceparent lines make the context invalid.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"
#include "trace/b3.h"
#include "trace/span_context.h"
#include "trace/tracecontext.h"
#include "trace/tracestate.h"

/* The first line of a single-valued header: its OWS-trimmed length and
 * up to FIRST_KEEP of its bytes (what the parsers read), and how many
 * lines there were. */
#define FIRST_KEEP 128

typedef struct first_line {
    char buf[FIRST_KEEP];
    size_t len;
    unsigned lines;
} first_line;

static void first_emit(const char *v, size_t n, void *ctx)
{
    first_line *f = ctx;
    if (f->lines++ > 0 || v == NULL)
        return;
    v = lumen__trim(v, &n);
    f->len = n;
    memcpy(f->buf, v, n < FIRST_KEEP ? n : FIRST_KEEP);
}

static void get_first(const lumen_carrier *c, const char *name, first_line *f)
{
    f->len = 0;
    f->lines = 0;
    c->get(c->carrier, name, first_emit, f);
}

static void ts_emit(const char *v, size_t n, void *ctx)
{
    if (v != NULL)
        lumen__ts_add(ctx, v, n);
}

/* Each baggage line is parsed as it arrives: lines combine with ',', and
 * a member never spans two lines, so no joined copy is needed and no
 * length cap on the raw header drops the whole baggage. */
static void baggage_emit(const char *v, size_t n, void *ctx)
{
    if (v != NULL)
        lumen_baggage_parse(ctx, v, n);
}

static const size_t carrier_sizes[] = {0, sizeof(lumen_carrier)};

int lumen_carrier_init(lumen_carrier *c, unsigned int version)
{
    return lumen__versioned_init(c, version, carrier_sizes, LUMEN__VERSIONS(carrier_sizes));
}

int lumen_propagation_extract(lumen_span_context *out, lumen_baggage *baggage, uint32_t which,
                              const lumen_carrier *carrier)
{
    if (out == NULL || carrier == NULL)
        return LUMEN_EINVAL;
    lumen__span_context_clear(out);
    lumen_carrier cc;
    const lumen_carrier *c = &cc;
    int vrc =
        lumen__versioned_in(&cc, sizeof cc, carrier, carrier_sizes, LUMEN__VERSIONS(carrier_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    if (c->get == NULL)
        return LUMEN_EINVAL;
    if (which & LUMEN_PROPAGATE_DEFAULT)
        which = lumen_propagators_from_env();
    first_line f;
    int rc = LUMEN_ENOENT;
    if (which & LUMEN_PROPAGATE_TRACECONTEXT) {
        get_first(c, "traceparent", &f);
        /* Two traceparent lines: the spec's test suite treats the context
         * as invalid rather than guessing which one to trust. */
        if (f.lines == 1 && lumen__traceparent_parse_value(f.buf, f.len, out) == LUMEN_OK) {
            rc = LUMEN_OK;
            lumen__ts_list l;
            lumen__ts_init(&l, NULL);
            c->get(c->carrier, "tracestate", ts_emit, &l);
            lumen__span_context_set_ts_len(out, lumen__ts_finish(&l, out->trace_state));
            lumen__ts_free(&l);
        } else {
            lumen__span_context_clear(out);
        }
    }
    if (rc != LUMEN_OK && (which & LUMEN_PROPAGATE_B3)) {
        get_first(c, "b3", &f);
        if (f.lines >= 1 && f.len < FIRST_KEEP &&
            lumen__b3_parse_single(f.buf, f.len, out) == LUMEN_OK)
            rc = LUMEN_OK;
    }
    if (rc != LUMEN_OK && (which & LUMEN_PROPAGATE_B3MULTI)) {
        char tid[33], sid[17], smp[8], flg[8];
        size_t tn = 0, sn = 0, smn = 0, fn = 0;
        static const struct {
            const char *name;
            size_t cap;
        } hs[4] = {
            {"X-B3-TraceId", 33}, {"X-B3-SpanId", 17}, {"X-B3-Sampled", 8}, {"X-B3-Flags", 8}};
        char *dst[4] = {tid, sid, smp, flg};
        size_t *dn[4] = {&tn, &sn, &smn, &fn};
        for (int i = 0; i < 4; i++) {
            get_first(c, hs[i].name, &f);
            if (f.lines >= 1 && f.len < hs[i].cap) {
                memcpy(dst[i], f.buf, f.len);
                *dn[i] = f.len;
            } else if (f.lines >= 1) {
                *dn[i] = hs[i].cap; /* too long: invalid */
            }
        }
        if (tn > 0 && lumen__b3_parse_multi(tid, tn, sid, sn, smp, smn, flg, fn, out) == LUMEN_OK)
            rc = LUMEN_OK;
    }
    if (baggage != NULL && (which & LUMEN_PROPAGATE_BAGGAGE))
        c->get(c->carrier, "baggage", baggage_emit, baggage);
    return rc;
}

int lumen_propagation_inject(const lumen_carrier *carrier, uint32_t which,
                             const lumen_span_context *sc, const lumen_baggage *baggage)
{
    if (carrier == NULL)
        return LUMEN_EINVAL;
    lumen_carrier cc;
    const lumen_carrier *c = &cc;
    int vrc =
        lumen__versioned_in(&cc, sizeof cc, carrier, carrier_sizes, LUMEN__VERSIONS(carrier_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    if (c->set == NULL)
        return LUMEN_EINVAL;
    if (which & LUMEN_PROPAGATE_DEFAULT)
        which = lumen_propagators_from_env();
    bool valid = lumen_span_context_is_valid(sc);
    if (valid && (which & LUMEN_PROPAGATE_TRACECONTEXT)) {
        char tp[LUMEN_TRACEPARENT_SIZE];
        lumen_traceparent_format(tp, sc);
        c->set(c->carrier, "traceparent", tp);
        /* The setters check a tracestate as an incoming one is checked;
         * it is checked again here, so that no byte the grammar forbids
         * (CR, LF, non-ASCII) can reach a header whatever built the
         * context. An invalid one is not sent. */
        if (sc->trace_state_len > 0) {
            char ts[LUMEN_TRACESTATE_MAX + 1];
            int r = sc->trace_state_len <= LUMEN_TRACESTATE_MAX
                        ? lumen__tracestate_parse(sc->trace_state, sc->trace_state_len, ts)
                        : -1;
            if (r > 0)
                c->set(c->carrier, "tracestate", ts);
            else if (r < 0)
                lumen__diag(LUMEN_DIAG_WARN, "lumen_propagation_inject: the context's tracestate "
                                             "is not valid W3C tracestate; not sent");
        }
    }
    if (valid && (which & LUMEN_PROPAGATE_B3)) {
        char b3[32 + 1 + 16 + 2 + 1];
        lumen__hex_encode(b3, sc->trace_id, 16);
        b3[32] = '-';
        lumen__hex_encode(b3 + 33, sc->span_id, 8);
        b3[49] = '-';
        b3[50] = (sc->trace_flags & LUMEN_TRACE_FLAG_SAMPLED) ? '1' : '0';
        b3[51] = '\0';
        c->set(c->carrier, "b3", b3);
    }
    if (valid && (which & LUMEN_PROPAGATE_B3MULTI)) {
        char t[33], s[17];
        lumen__hex_encode(t, sc->trace_id, 16);
        t[32] = '\0';
        lumen__hex_encode(s, sc->span_id, 8);
        s[16] = '\0';
        c->set(c->carrier, "X-B3-TraceId", t);
        c->set(c->carrier, "X-B3-SpanId", s);
        c->set(c->carrier, "X-B3-Sampled",
               (sc->trace_flags & LUMEN_TRACE_FLAG_SAMPLED) ? "1" : "0");
    }
    if (baggage != NULL && (which & LUMEN_PROPAGATE_BAGGAGE) && lumen_baggage_count(baggage) > 0) {
        char *v = NULL;
        if (lumen_baggage_format(&v, baggage) == LUMEN_OK && v != NULL && *v != '\0')
            c->set(c->carrier, "baggage", v);
        lumen_free(v);
    }
    return LUMEN_OK;
}

uint32_t lumen_propagators_from_env(void)
{
    const char *v = lumen__env("OTEL_PROPAGATORS");
    if (v == NULL)
        return LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE;
    uint32_t which = 0;
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
