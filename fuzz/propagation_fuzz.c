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
#include "trace/propagation.h"

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
            emit(ctx, l->p[i], l->n[i]);
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
        (strcmp(name, "baggage") == 0 && n > LUMEN__BAGGAGE_MAX_TOTAL))
        abort();
}

static void check_traceparent(const char *s, size_t n, lines *l)
{
    lumen_span_context sc, again;
    const char *ts[7];
    size_t tsn[7];
    for (int i = 1; i < l->count; i++) {
        ts[i - 1] = l->p[i];
        tsn[i - 1] = l->n[i];
    }
    size_t first = l->count > 0 ? l->n[0] : n;
    if (lumen_traceparent_parse(s, first, ts, tsn, l->count > 0 ? (size_t)(l->count - 1) : 0, &sc) != LUMEN_OK)
        return;
    if (!lumen_span_context_is_valid(&sc))
        abort();
    char out[56];
    if (lumen_traceparent_format(&sc, out) != LUMEN_OK || strlen(out) != 55)
        abort();
    const char *tsp = sc.trace_state;
    size_t tsl = sc.trace_state_len;
    if (tsl > LUMEN_TRACESTATE_MAX || strlen(sc.trace_state) != tsl)
        abort();
    if (lumen_traceparent_parse(out, 55, &tsp, &tsl, 1, &again) != LUMEN_OK ||
        memcmp(again.trace_id, sc.trace_id, 16) != 0 || memcmp(again.span_id, sc.span_id, 8) != 0 ||
        strcmp(again.trace_state, sc.trace_state) != 0)
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
    if (lumen_baggage_format(b, &hdr) == LUMEN_OK && hdr != NULL) {
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
    lumen_span_context sc;
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
        lumen__b3_parse_single(s, n, &sc);
        break;
    case 4:
        if (l.count >= 2)
            lumen__b3_parse_multi(l.p[0], l.n[0], l.p[1], l.n[1], l.count > 2 ? l.p[2] : NULL,
                                  l.count > 2 ? l.n[2] : 0, l.count > 3 ? l.p[3] : NULL,
                                  l.count > 3 ? l.n[3] : 0, &sc);
        break;
    default: {
        lumen_carrier c = {carrier_get, carrier_set, &l};
        lumen_baggage *b = NULL;
        lumen_baggage_new(&b);
        if (lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 |
                                          LUMEN_PROPAGATE_B3MULTI | LUMEN_PROPAGATE_BAGGAGE,
                                      &c, &sc, b) == LUMEN_OK &&
            !lumen_span_context_is_valid(&sc))
            abort();
        lumen_propagation_inject(LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 | LUMEN_PROPAGATE_BAGGAGE,
                                 &sc, b, &c);
        /* The same context with its tracestate filled by hand from the
         * input: inject must check it too. */
        size_t tn = n < LUMEN_TRACESTATE_MAX ? n : LUMEN_TRACESTATE_MAX;
        memcpy(sc.trace_state, s, tn);
        sc.trace_state[tn] = '\0';
        sc.trace_state_len = (uint16_t)tn;
        memset(sc.trace_id, 1, 16);
        memset(sc.span_id, 2, 8);
        lumen_propagation_inject(LUMEN_PROPAGATE_TRACECONTEXT, &sc, NULL, &c);
        lumen_baggage_free(b);
    }
    }
    free(s);
    return 0;
}
