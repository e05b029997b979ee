/*
 * fuzz/propagation_fuzz.c: the parsers of propagated context, which read
 * headers from the network: traceparent, tracestate, baggage, B3 single
 * and multi, and extraction through a carrier. The first byte picks the
 * parser; the rest is the header value ('\n' separates header lines).
 * Besides not crashing, each parser's output must hold up: a parsed
 * traceparent formats and parses back to the same ids; a parsed tracestate
 * is within the limits and parses back to itself; formatted baggage parses
 * back without error; every injected header is printable ASCII within its
 * limit, also from a context whose tracestate was filled from the input.
 */
#include <stdlib.h>
#include <string.h>

#include "lumen/trace.h"
#include "trace/b3.h"
#include "trace/span_context.h"
#include "trace/tracestate.h"

typedef struct lines {
    const char *p[8];
    size_t n[8];
    int count;
} lines;

static void split(const char *s, size_t n, lines *l)
{
    l->count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n && l->count < 8; i++) {
        if (i == n || s[i] == '\n') {
            l->p[l->count] = s + start;
            l->n[l->count] = i - start;
            l->count++;
            start = i + 1;
        }
    }
}

static void carrier_get(void *c, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    lines *l = c;
    /* Every line answers to every name: exercises multi-line joining. */
    for (int i = 0; i < l->count; i++)
        if (name[0] != 'X' || (i & 1))
            emit(l->p[i], l->n[i], ctx);
}

/* Whatever came in, what goes out is one header line of printable ASCII
 * (no CR, LF or other control, nothing above 0x7e), within its limits. */
static void carrier_set(void *c, const char *name, const char *value)
{
    (void)c;
    size_t n = strlen(value);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
            abort();
    if ((strcmp(name, "tracestate") == 0 && n > LUMEN_TRACESTATE_MAX) ||
        (strcmp(name, "baggage") == 0 && n > LUMEN_BAGGAGE_MAX_BYTES))
        abort();
}

/* Contexts made once and reused by every input (kept reachable, so that
 * leak checkers stay quiet). */
static lumen_span_context *ctx(int i)
{
    static lumen_span_context *c[2];
    if (c[i] == NULL && lumen_span_context_new(&c[i]) != LUMEN_OK)
        abort();
    return c[i];
}

static void check_traceparent(const char *s, size_t n, lines *l)
{
    lumen_span_context *sc = ctx(0), *again = ctx(1);
    const char *ts[7];
    size_t tsn[7];
    for (int i = 1; i < l->count; i++) {
        ts[i - 1] = l->p[i];
        tsn[i - 1] = l->n[i];
    }
    size_t first = l->count > 0 ? l->n[0] : n;
    if (lumen_traceparent_parse(sc, s, first, ts, tsn, l->count > 0 ? (size_t)(l->count - 1) : 0) !=
        LUMEN_OK)
        return;
    if (!lumen_span_context_is_valid(sc))
        abort();
    char out[LUMEN_TRACEPARENT_SIZE];
    if (lumen_traceparent_format(out, sc) != LUMEN_OK || strlen(out) != 55)
        abort();
    size_t tsl;
    const char *tsp = lumen_span_context_trace_state(&tsl, sc);
    if (tsl > LUMEN_TRACESTATE_MAX || strlen(tsp) != tsl)
        abort();
    uint8_t t1[16], s1[8], t2[16], s2[8];
    lumen_span_context_ids(t1, s1, sc);
    if (lumen_traceparent_parse(again, out, 55, &tsp, &tsl, 1) != LUMEN_OK)
        abort();
    lumen_span_context_ids(t2, s2, again);
    if (memcmp(t1, t2, 16) != 0 || memcmp(s1, s2, 8) != 0 ||
        strcmp(lumen_span_context_trace_state(NULL, again), tsp) != 0)
        abort();
}

static void check_tracestate(const char *s, size_t n)
{
    char out[LUMEN_TRACESTATE_MAX + 1], again[LUMEN_TRACESTATE_MAX + 1];
    int r = lumen__tracestate_parse(s, n, out);
    if (r < 0)
        return;
    if (r > LUMEN_TRACESTATE_MAX || strlen(out) != (size_t)r)
        abort();
    int r2 = lumen__tracestate_parse(out, (size_t)r, again);
    if (r2 != r || strcmp(out, again) != 0)
        abort();
}

static void check_baggage(const char *s, size_t n)
{
    lumen_baggage *b;
    if (lumen_baggage_new(&b) != LUMEN_OK)
        return;
    lumen_baggage_parse(b, s, n);
    char *hdr = NULL;
    if (lumen_baggage_format(&hdr, b) == LUMEN_OK && hdr != NULL) {
        carrier_set(NULL, "baggage", hdr);
        lumen_baggage *b2;
        if (lumen_baggage_new(&b2) == LUMEN_OK) {
            int rc = lumen_baggage_parse(b2, hdr, strlen(hdr));
            if (rc != LUMEN_OK && rc != LUMEN_ELIMIT)
                abort();
            lumen_baggage_free(b2);
        }
        lumen_free(hdr);
    }
    lumen_baggage_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 20000)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    size_t n = size - 1;
    lines l;
    split(s, n, &l);
    lumen_span_context *sc = ctx(0);
    switch (data[0] % 6) {
    case 0:
        check_traceparent(s, n, &l);
        break;
    case 1:
        check_tracestate(s, n);
        break;
    case 2:
        check_baggage(s, n);
        break;
    case 3:
        lumen__b3_parse_single(s, n, sc);
        break;
    case 4:
        if (l.count >= 2)
            lumen__b3_parse_multi(l.p[0], l.n[0], l.p[1], l.n[1], l.count > 2 ? l.p[2] : NULL,
                                  l.count > 2 ? l.n[2] : 0, l.count > 3 ? l.p[3] : NULL,
                                  l.count > 3 ? l.n[3] : 0, sc);
        break;
    default: {
        lumen_carrier c = LUMEN_CARRIER_INIT;
        c.get = carrier_get;
        c.set = carrier_set;
        c.carrier = &l;
        lumen_baggage *b = NULL;
        lumen_baggage_new(&b);
        if (lumen_propagation_extract(sc, b,
                                      LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 |
                                          LUMEN_PROPAGATE_B3MULTI | LUMEN_PROPAGATE_BAGGAGE,
                                      &c) == LUMEN_OK &&
            !lumen_span_context_is_valid(sc))
            abort();
        lumen_propagation_inject(
            &c, LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 | LUMEN_PROPAGATE_BAGGAGE, sc, b);
        /* A context the program fills, its tracestate from the input: the
         * setter checks it, and what it keeps injects cleanly. */
        uint8_t tid[16], sid[8];
        memset(tid, 1, 16);
        memset(sid, 2, 8);
        lumen_span_context_set(sc, tid, sid, 1, false);
        int rc = lumen_span_context_set_trace_state(sc, s, n);
        size_t kept;
        lumen_span_context_trace_state(&kept, sc);
        if ((rc != LUMEN_OK && kept != 0) || kept > LUMEN_TRACESTATE_MAX)
            abort();
        lumen_propagation_inject(&c, LUMEN_PROPAGATE_TRACECONTEXT, sc, NULL);
        lumen_baggage_free(b);
    }
    }
    free(s);
    return 0;
}
