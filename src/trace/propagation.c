/*
 * trace/propagation.c: W3C Trace Context (traceparent, tracestate) and the
 * extract/inject entry points that combine the propagators.
 *
 * W3C Trace Context Level 2, which keeps Level 1's behaviour where the two
 * agree: lowercase hex only, all-zero ids and version ff invalid, version
 * 00 of exactly 55 characters, later versions (of any length) parsed by
 * their 00 prefix when the 56th character is '-' or the end. The sampled
 * and random flags are kept; other flag bits are read but sent as zero.
 * Two traceparent lines make the context invalid. An invalid traceparent
 * discards tracestate too; an invalid tracestate (bad key or value, more
 * than 32 members) is discarded whole and does not affect traceparent; a
 * duplicated key keeps its first member. Kept tracestate is cut by whole
 * members to 512 characters.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/versioned.h"
#include "trace/propagation.h"
#include "trace/span.h"

/* Lowercase hex digit values, X (0xff) for every other byte. A table:
 * there are 48 digits per traceparent, and a branch per digit showed in
 * profiles. */
#define X 0xff
static const uint8_t g_hex[256] = {
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X,  X,  X,  X,  X,  X,  X, X, X, X, X, X, X, X,
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

/* ---- traceparent ---- */

/* s[0..n) is the value with its OWS trimmed; only its first 56 bytes are
 * read (a later version's fields past the flags are not ours to parse, so
 * its length has no upper bound here: the spec asks to parse it). */
static int parse_traceparent(const char *s, size_t n, lumen_span_context *out)
{
    uint8_t ver;
    if (n < 55 || !lumen__hex_decode(s, 1, &ver) || ver == 0xff)
        return LUMEN_EPARSE;
    if (ver == 0 && n != 55)
        return LUMEN_EPARSE;
    if (n > 55 && s[55] != '-')
        return LUMEN_EPARSE;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return LUMEN_EPARSE;
    if (!lumen__hex_decode(s + 3, 16, out->trace_id) ||
        !lumen__hex_decode(s + 36, 8, out->span_id) ||
        !lumen__hex_decode(s + 53, 1, &out->trace_flags))
        return LUMEN_EPARSE;
    if (all_zero(out->trace_id, 16) || all_zero(out->span_id, 8))
        return LUMEN_EPARSE;
    out->is_remote = 1;
    return LUMEN_OK;
}

/* ---- tracestate ---- */

/* Level 2 key: ( lcalpha / DIGIT ) 0*255( keychar ), where keychar adds
 * "_" "-" "*" "/" and "@". Every Level 1 key (simple or tenant@system)
 * is also a Level 2 key. */
static const uint8_t g_keychar[256] = {
    ['a'] = 3, ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3, ['g'] = 3,
    ['h'] = 3, ['i'] = 3, ['j'] = 3, ['k'] = 3, ['l'] = 3, ['m'] = 3, ['n'] = 3,
    ['o'] = 3, ['p'] = 3, ['q'] = 3, ['r'] = 3, ['s'] = 3, ['t'] = 3, ['u'] = 3,
    ['v'] = 3, ['w'] = 3, ['x'] = 3, ['y'] = 3, ['z'] = 3, ['0'] = 3, ['1'] = 3,
    ['2'] = 3, ['3'] = 3, ['4'] = 3, ['5'] = 3, ['6'] = 3, ['7'] = 3, ['8'] = 3,
    ['9'] = 3, ['_'] = 1, ['-'] = 1, ['*'] = 1, ['/'] = 1, ['@'] = 1,
}; /* bit 0: keychar; bit 1: may also start a key */

static bool valid_key(const char *k, size_t n)
{
    if (n == 0 || n > LUMEN__TRACESTATE_KEY_MAX || !(g_keychar[(unsigned char)k[0]] & 2))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!g_keychar[(unsigned char)k[i]])
            return false;
    return true;
}

static bool valid_value(const char *v, size_t n)
{
    if (n == 0 || n > LUMEN__TRACESTATE_VALUE_MAX || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

/* A list being parsed, one header line at a time. Members are kept as
 * offsets into `base`: the parsed string itself, or (when lines arrive
 * through a carrier, whose values live only during the callback) a copy
 * of the normalized members, on the stack and, for lists longer than
 * TS_LOCAL, on the heap. A valid list never needs more than TS_STORE. */
#define TS_LOCAL 1024
#define TS_STORE                                                                                   \
    (LUMEN__TRACESTATE_MEMBERS * (LUMEN__TRACESTATE_KEY_MAX + 1 + LUMEN__TRACESTATE_VALUE_MAX))

typedef struct ts_member {
    uint32_t off;
    uint16_t len, keylen;
} ts_member;

typedef struct ts_list {
    ts_member m[LUMEN__TRACESTATE_MEMBERS];
    unsigned nm;   /* kept (a duplicated key keeps its first member) */
    unsigned seen; /* non-empty members, duplicates included */
    bool invalid;
    bool copy;
    const char *base;
    char *heap;
    size_t slen, scap;
    char local[TS_LOCAL];
} ts_list;

static void ts_init(ts_list *l, const char *base)
{
    l->nm = l->seen = 0;
    l->invalid = false;
    l->copy = base == NULL;
    l->base = base ? base : l->local;
    l->heap = NULL;
    l->slen = 0;
    l->scap = sizeof l->local;
}

static void ts_free(ts_list *l)
{
    if (l->heap != NULL)
        lumen__free(l->heap, TS_STORE);
    l->heap = NULL;
}

static bool ts_store(ts_list *l, const char *e, size_t len, uint32_t *off)
{
    if (l->slen + len > l->scap) {
        if (l->heap != NULL || l->slen + len > TS_STORE)
            return false; /* cannot happen for a valid list */
        l->heap = lumen__malloc(TS_STORE);
        if (l->heap == NULL) {
            lumen__diag(LUMEN_DIAG_WARN, "tracestate: out of memory, discarded");
            return false;
        }
        memcpy(l->heap, l->local, l->slen);
        l->base = l->heap;
        l->scap = TS_STORE;
    }
    memcpy(l->heap ? l->heap + l->slen : l->local + l->slen, e, len);
    *off = (uint32_t)l->slen;
    l->slen += len;
    return true;
}

/* One member, its OWS already trimmed. */
static void ts_member_add(ts_list *l, const char *e, size_t len)
{
    const char *eq = memchr(e, '=', len);
    if (eq == NULL || ++l->seen > LUMEN__TRACESTATE_MEMBERS) {
        l->invalid = true;
        return;
    }
    size_t kl = (size_t)(eq - e);
    if (!valid_key(e, kl) || !valid_value(eq + 1, len - kl - 1)) {
        l->invalid = true;
        return;
    }
    /* A duplicated key: the first member stands, later ones are dropped.
     * Level 2 lets a receiver keep or drop duplicates; discarding the
     * whole list (Level 1's test suite) loses every other vendor's
     * entry, and sending duplicates on would break the rule that a list
     * has one entry per key. The OpenTelemetry Go SDK does the same. */
    for (unsigned k = 0; k < l->nm; k++)
        if (l->m[k].keylen == kl && memcmp(l->base + l->m[k].off, e, kl) == 0)
            return;
    uint32_t off;
    if (l->copy) {
        if (!ts_store(l, e, len, &off)) {
            l->invalid = true;
            return;
        }
    } else if ((size_t)(e - l->base) <= UINT32_MAX) {
        off = (uint32_t)(e - l->base);
    } else {
        l->invalid = true;
        return;
    }
    l->m[l->nm++] = (ts_member){off, (uint16_t)len, (uint16_t)kl};
}

static void ts_add(ts_list *l, const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n && !l->invalid) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        const char *e = lumen__trim(s + i, &len);
        if (len > 0)
            ts_member_add(l, e, len);
        i = j + 1;
    }
}

/* The kept list into out[LUMEN_TRACESTATE_MAX+1], cut by whole members to
 * LUMEN_TRACESTATE_MAX: members longer than 128 characters go first, then
 * members from the right (the W3C truncation rule). Returns the length,
 * or -1 when the list was invalid. */
static int ts_finish(ts_list *l, char *out)
{
    out[0] = '\0';
    if (l->invalid) {
        lumen__trace_metric_add(LUMEN__TM_TRACESTATE_INVALID, 1);
        return -1;
    }
    bool keep[LUMEN__TRACESTATE_MEMBERS];
    size_t total = 0;
    for (unsigned k = 0; k < l->nm; k++) {
        keep[k] = true;
        total += l->m[k].len + (k ? 1 : 0);
    }
    for (unsigned k = 0; k < l->nm && total > LUMEN_TRACESTATE_MAX; k++) {
        if (l->m[k].len > 128) {
            keep[k] = false;
            total -= l->m[k].len + 1u;
        }
    }
    for (unsigned k = l->nm; k-- > 0 && total > LUMEN_TRACESTATE_MAX;) {
        if (keep[k]) {
            keep[k] = false;
            total -= l->m[k].len + 1u;
        }
    }
    size_t o = 0;
    unsigned cut = 0;
    for (unsigned k = 0; k < l->nm; k++) {
        if (!keep[k]) {
            cut++;
            continue;
        }
        if (o)
            out[o++] = ',';
        memcpy(out + o, l->base + l->m[k].off, l->m[k].len);
        o += l->m[k].len;
    }
    out[o] = '\0';
    if (cut > 0)
        lumen__trace_metric_add(LUMEN__TM_TRACESTATE_LIMIT, cut);
    return (int)o;
}

int lumen__tracestate_parse(const char *s, size_t n, char *out)
{
    ts_list l;
    ts_init(&l, s);
    ts_add(&l, s, n);
    return ts_finish(&l, out);
}

static void set_trace_state(lumen_span_context *out, int r)
{
    out->trace_state_len = r > 0 ? (uint16_t)r : 0;
    if (r <= 0)
        out->trace_state[0] = '\0';
}

int lumen_traceparent_parse(lumen_span_context *out, const char *tp, size_t len,
                            const char *const *ts, const size_t *ts_len, size_t lines)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    lumen__span_context_clear(out);
    size_t n = len;
    const char *v = tp ? lumen__trim(tp, &n) : NULL;
    if (v == NULL || parse_traceparent(v, n, out) != LUMEN_OK) {
        lumen__span_context_clear(out);
        return LUMEN_EPARSE;
    }
    if (ts == NULL || lines == 0)
        return LUMEN_OK;
    ts_list l;
    if (lines == 1 && ts[0] != NULL) {
        /* One line: parsed in place, nothing copied. */
        size_t n1 = ts_len ? ts_len[0] : strlen(ts[0]);
        ts_init(&l, ts[0]);
        ts_add(&l, ts[0], n1);
    } else {
        ts_init(&l, NULL);
        for (size_t i = 0; i < lines; i++)
            if (ts[i] != NULL)
                ts_add(&l, ts[i], ts_len ? ts_len[i] : strlen(ts[i]));
    }
    set_trace_state(out, ts_finish(&l, out->trace_state));
    ts_free(&l);
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

int lumen_traceparent_format(char out[LUMEN_TRACEPARENT_SIZE], const lumen_span_context *sc)
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
    /* The sampled and random bits (Level 2); the others are reserved and
     * must be sent as zero. */
    uint8_t f = sc->trace_flags & (LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);
    hex(out + 53, &f, 1);
    out[55] = '\0';
    return LUMEN_OK;
}

/* ---- extract and inject ---- */

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
        ts_add(ctx, v, n);
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
        if (f.lines == 1 && parse_traceparent(f.buf, f.len, out) == LUMEN_OK) {
            rc = LUMEN_OK;
            ts_list l;
            ts_init(&l, NULL);
            c->get(c->carrier, "tracestate", ts_emit, &l);
            set_trace_state(out, ts_finish(&l, out->trace_state));
            ts_free(&l);
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
