/* tests/trace/test_trace_propagation.c: table tests for every propagation
 * rule (W3C traceparent and tracestate, including the cases of the W3C
 * test suite, B3 single and multi, W3C Baggage), extract and inject. */
#include "support/support.h"

#include "trace/span_context.h"
#include "trace/tracestate.h"
#include "trace/helpers.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define SID "b7ad6b7169203331"
#define TP(v) v "-" TID "-" SID "-01"

typedef struct tp_case {
    const char *tp[3]; /* traceparent lines */
    bool valid;
    const char *trace_id; /* when valid (NULL: TID) */
    uint8_t flags;
} tp_case;

static const tp_case tp_cases[] = {
    {{TP("00")}, true, NULL, 1},
    {{"00-" TID "-" SID "-00"}, true, NULL, 0},
    {{"00-" TID "-" SID "-09"}, true, NULL, 9}, /* unknown flag bits are read, masked on output */
    {{" \t" TP("00") " \t"}, true, NULL, 1},    /* OWS around the value */
    {{TP("00"), TP("00")}, false},              /* two traceparent headers */
    {{TP("00") "."}, false},                    /* version 00 with trailing data */
    {{TP("00") "-what-the-future-will-be-like"}, false},
    {{TP("cc") "-what-the-future-will-be-like"}, true, NULL, 1}, /* future version */
    {{TP("cc")}, true, NULL, 1},
    {{TP("cc") ".what"}, false},
    {{TP("ff")}, false},
    {{TP("0")}, false},
    {{TP("000")}, false},
    {{TP("0000")}, false},
    {{TP("0x")}, false},
    {{TP("0A")}, false}, /* uppercase */
    {{"00-00000000000000000000000000000000-" SID "-01"}, false},
    {{"00-" TID "-0000000000000000-01"}, false},
    {{"00-0AF7651916CD43DD8448EB211C80319C-" SID "-01"}, false},
    {{"00-0af7651916cd43dd8448eb211c80319-" SID "-01"}, false},   /* 31 */
    {{"00-0af7651916cd43dd8448eb211c80319cc-" SID "-01"}, false}, /* 33 */
    {{"00-0af7651916cd43dd8448eb211c80319g-" SID "-01"}, false},
    {{"00-" TID "-b7ad6b716920333-01"}, false},
    {{"00-" TID "-b7ad6b71692033311-01"}, false},
    {{"00-" TID "-b7ad6b716920333x-01"}, false},
    {{"00-" TID "-" SID "-0"}, false},
    {{"00-" TID "-" SID "-001"}, false},
    {{"00-" TID "-" SID "-0g"}, false},
    {{"00_" TID "-" SID "-01"}, false},
    {{"00-" TID "_" SID "-01"}, false},
    {{""}, false},
    {{"garbage"}, false},
};

static void test_trace_propagation__traceparent_table(void **state)
{
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(tp_cases); i++) {
        const tp_case *c = &tp_cases[i];
        th_headers *h = calloc(1, sizeof *h);
        for (int k = 0; k < 3 && c->tp[k]; k++)
            th_add(h, k == 1 ? "TraceParent" : "traceparent", c->tp[k]);
        th_add(h, "tracestate", "foo=1");
        lumen_carrier car = th_carrier(h);
        lumen_span_context *sc = th_ctx();
        int rc = lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &car);
        if (rc != (c->valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("case %zu (%s): rc %d", i, c->tp[0], rc);
        if (c->valid) {
            char hex[33];
            th_hex(hex, sc->trace_id, 16);
            assert_string_equal(hex, c->trace_id ? c->trace_id : TID);
            th_hex(hex, sc->span_id, 8);
            assert_string_equal(hex, SID);
            assert_int_equal(sc->trace_flags, c->flags);
            assert_int_equal(sc->is_remote, 1);
            assert_string_equal(sc->trace_state, "foo=1");
        } else {
            assert_false(lumen_span_context_is_valid(sc));
            assert_int_equal(sc->trace_state_len, 0); /* not parsed without traceparent */
        }
        free(h);
    }
}

typedef struct ts_case {
    const char *ts[5];
    const char *want; /* NULL: discarded */
} ts_case;

#define K257                                                                                       \
    "k0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890" \
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012" \
    "3456789012345678901234567890123456789012345678901234567890123456789012345"
#define T241                                                                                       \
    "t0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890" \
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012" \
    "345678901234567890123456789012345678901234567890123456789"

static const ts_case ts_cases[] = {
#define K256                                                                                       \
    "k0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890" \
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012" \
    "345678901234567890123456789012345678901234567890123456789012345678901234"
    {{"foo=1,bar=2"}, "foo=1,bar=2"},
    {{"foo=1", "bar=2"}, "foo=1,bar=2"},
    {{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, "foo=1,bar=2,rojo=1,congo=2,baz=3"},
    {{"foo=1 \t , \t bar=2"}, "foo=1,bar=2"},
    {{"", "foo=1"}, "foo=1"},
    {{"foo=1", ""}, "foo=1"},
    {{" , ,foo=1,,"}, "foo=1"},
    {{"foo= bar"}, "foo= bar"}, /* a leading space belongs to the value */
    /* A duplicated key keeps its first member (Level 2; Level 1's suite
     * discarded the list). */
    {{"foo=1,foo=2"}, "foo=1"},
    {{"foo=1", "foo=2"}, "foo=1"},
    {{"foo=1,foo=1"}, "foo=1"},
    {{"foo=1,bar=2,baz=3,foo=4"}, "foo=1,bar=2,baz=3"},
    {{"foo=1,foo@tenant=2"}, "foo=1,foo@tenant=2"},
    {{"foo =1"}, NULL},
    {{"FOO=1"}, NULL},
    {{"foo.bar=1"}, NULL},
    /* Level 2 keys: '@' anywhere after the first character. */
    {{"foo@=1,bar=2"}, "foo@=1,bar=2"},
    {{"@foo=1,bar=2"}, NULL},
    {{"foo@@bar=1,bar=2"}, "foo@@bar=1,bar=2"},
    {{"foo@bar@baz=1,bar=2"}, "foo@bar@baz=1,bar=2"},
    {{"foo=bar=baz"}, NULL},
    {{"foo="}, NULL},
    {{"foo"}, NULL},
    {{"foo=1,bad key=2"}, NULL},
    {{"foo=\x7f"}, NULL},
    {{"1foo=1"}, "1foo=1"}, /* Level 2: a digit may start any key */
    {{"_foo=1"}, NULL},
    {{"1tenant@vendor=1"}, "1tenant@vendor=1"},
    {{"t@v1=1"}, "t@v1=1"},
    {{"t@1v=1"}, "t@1v=1"},
    {{K257 "=1"}, NULL},
    {{K256 "=1"}, K256 "=1"},
    {{T241 "@v=1"}, T241 "@v=1"},
    {{T241 "x@v=1"}, T241 "x@v=1"}, /* Level 1 capped the tenant at 241 */
    {{"t@abcdefghijklmn=1"}, "t@abcdefghijklmn=1"},
    {{"t@abcdefghijklmno=1"}, "t@abcdefghijklmno=1"}, /* and the system at 14 */
    {{T241 "@"
           "abcdefghijklmn"
           "=1"},
     T241 "@"
          "abcdefghijklmn"
          "=1"},
    {{"a-_*/09=a !\"#$%&'()*+-./09:;<>?@AZ[\\]^_`az{|}~"},
     "a-_*/09=a !\"#$%&'()*+-./09:;<>?@AZ[\\]^_`az{|}~"},
};

static void test_trace_propagation__tracestate_table(void **state)
{
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(ts_cases); i++) {
        const ts_case *c = &ts_cases[i];
        th_headers *h = calloc(1, sizeof *h);
        th_add(h, "traceparent", TP("00"));
        for (int k = 0; k < 5 && c->ts[k]; k++)
            th_add(h, k % 2 ? "TraceState" : "tracestate", c->ts[k]);
        lumen_carrier car = th_carrier(h);
        lumen_span_context *sc = th_ctx();
        assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &car),
                         LUMEN_OK);
        if (strcmp(sc->trace_state, c->want ? c->want : "") != 0)
            fail_msg("case %zu: got '%s' want '%s'", i, sc->trace_state, c->want ? c->want : "");
        assert_int_equal(sc->trace_state_len, strlen(sc->trace_state));
        free(h);
    }
}

static void test_trace_propagation__tracestate_member_count(void **state)
{
    char lines[4][256];
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", TP("00"));
    for (int l = 0; l < 4; l++) {
        lines[l][0] = '\0';
        for (int k = 0; k < 8; k++) {
            char m[16];
            snprintf(m, sizeof m, "%sk%d=%d", k ? "," : "", l * 8 + k, k);
            strcat(lines[l], m);
        }
        th_add(h, "tracestate", lines[l]);
    }
    lumen_carrier car = th_carrier(h);
    lumen_span_context *sc = th_ctx();
    lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &car);
    int members = 1;
    for (const char *p = sc->trace_state; *p; p++)
        members += *p == ',';
    assert_int_equal(members, 32);
    /* A 33rd member discards the list. */
    th_add(h, "tracestate", "one=more");
    lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &car);
    assert_int_equal(sc->trace_state_len, 0);
    free(h);
}

static void test_trace_propagation__tracestate_truncation(void **state)
{
    /* Over 512 characters: members longer than 128 go first, then from
     * the right. */
    char big[2048], out[LUMEN_TRACESTATE_MAX + 1];
    char v200[201], v100[101];
    memset(v200, 'x', 200);
    v200[200] = '\0';
    memset(v100, 'y', 100);
    v100[100] = '\0';
    snprintf(big, sizeof big, "a=%s,b=%s,c=%s,d=%s,e=%s,f=%s", v100, v200, v100, v100, v100, v100);
    int n = lumen__tracestate_parse(big, strlen(big), out);
    assert_true(n > 0 && n <= LUMEN_TRACESTATE_MAX);
    assert_null(strstr(out, "b="));
    assert_non_null(strstr(out, "a="));
    assert_non_null(strstr(out, "d="));
    assert_null(strstr(out, "f=")); /* 5 x 102 + 4 = 514 > 512: the rightmost goes */
    assert_int_equal(n, (int)strlen(out));
    /* Any amount of optional whitespace is still a valid list. */
    char *huge = malloc(100010);
    memset(huge, ' ', 100009);
    memcpy(huge, "a=1", 3);
    huge[100009] = '\0';
    assert_int_equal(lumen__tracestate_parse(huge, strlen(huge), out), 3);
    assert_string_equal(out, "a=1");
    free(huge);
}

static void test_trace_propagation__inject_roundtrip(void **state)
{
    th_headers *in = calloc(1, sizeof *in), *out = calloc(1, sizeof *out);
    th_add(in, "traceparent", "cc-" TID "-" SID "-0b-future");
    th_add(in, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    lumen_carrier ci = th_carrier(in), co = th_carrier(out);
    lumen_span_context *sc = th_ctx();
    assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &ci),
                     LUMEN_OK);
    assert_int_equal(lumen_propagation_inject(&co,
                                              LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 |
                                                  LUMEN_PROPAGATE_B3MULTI,
                                              sc, NULL),
                     LUMEN_OK);
    /* Re-emitted as version 00 with the sampled and random bits (0x0b:
     * sampled, random and the reserved 0x08, which is cleared). */
    assert_string_equal(th_find(out, "traceparent"), "00-" TID "-" SID "-03");
    assert_string_equal(th_find(out, "tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_string_equal(th_find(out, "b3"), TID "-" SID "-1");
    assert_string_equal(th_find(out, "X-B3-TraceId"), TID);
    assert_string_equal(th_find(out, "X-B3-SpanId"), SID);
    assert_string_equal(th_find(out, "X-B3-Sampled"), "1");
    /* An invalid context injects nothing. */
    th_headers *none = calloc(1, sizeof *none);
    lumen_carrier cn = th_carrier(none);
    lumen_span_context *zero = th_ctx();
    lumen_propagation_inject(&cn, LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3, zero, NULL);
    assert_int_equal(none->n, 0);
    char buf[56];
    assert_int_equal(lumen_traceparent_format(buf, zero), LUMEN_EINVAL);
    free(in);
    free(out);
    free(none);
}

typedef struct b3_case {
    const char *v;
    bool valid;
    const char *trace_id;
    uint8_t flags;
} b3_case;

static void test_trace_propagation__b3_single_table(void **state)
{
    static const b3_case cases[] = {
        {TID "-" SID "-1-" SID, true, TID, 1},
        {TID "-" SID "-1", true, TID, 1},
        {TID "-" SID "-d", true, TID, 1},
        {TID "-" SID "-0", true, TID, 0},
        {TID "-" SID, true, TID, 0},
        {"8448eb211c80319c-" SID "-1", true, "00000000000000008448eb211c80319c", 1},
        {"0", false},
        {"1", false},
        {"d", false},
        {"", false},
        {TID "-" SID "-2", false},
        {TID "-" SID "-1-abc", false},
        {TID "-" SID "-11", false},
        {"0AF7651916CD43DD8448EB211C80319C-" SID "-1", false},
        {"00000000000000000000000000000000-" SID "-1", false},
        {TID "-0000000000000000-1", false},
        {TID "-" SID "x-1", false},
        {"abc-" SID, false},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        th_headers *h = calloc(1, sizeof *h);
        th_add(h, "b3", cases[i].v);
        th_add(h, "traceparent", "garbage"); /* invalid: b3 is tried next */
        lumen_carrier c = th_carrier(h);
        lumen_span_context *sc = th_ctx();
        int rc = lumen_propagation_extract(sc, NULL,
                                           LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3, &c);
        if (rc != (cases[i].valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("b3 case %zu (%s): rc %d", i, cases[i].v, rc);
        if (cases[i].valid) {
            char hex[33];
            th_hex(hex, sc->trace_id, 16);
            assert_string_equal(hex, cases[i].trace_id);
            assert_int_equal(sc->trace_flags, cases[i].flags);
        }
        free(h);
    }
}

static void test_trace_propagation__b3_multi_table(void **state)
{
    static const struct {
        const char *t, *s, *smp, *flg;
        bool valid;
        uint8_t flags;
    } cases[] = {
        {TID, SID, "1", NULL, true, 1},       {TID, SID, "0", NULL, true, 0},
        {TID, SID, NULL, "1", true, 1},       {TID, SID, "true", NULL, true, 1},
        {TID, SID, NULL, NULL, true, 0},      {"8448eb211c80319c", SID, "1", NULL, true, 1},
        {TID, NULL, "1", NULL, false, 0},     {NULL, SID, "1", NULL, false, 0},
        {TID "00", SID, "1", NULL, false, 0}, {TID, "b7ad6b71692033", "1", NULL, false, 0},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        th_headers *h = calloc(1, sizeof *h);
        if (cases[i].t)
            th_add(h, "x-b3-traceid", cases[i].t);
        if (cases[i].s)
            th_add(h, "X-B3-SPANID", cases[i].s);
        if (cases[i].smp)
            th_add(h, "X-B3-Sampled", cases[i].smp);
        if (cases[i].flg)
            th_add(h, "X-B3-Flags", cases[i].flg);
        lumen_carrier c = th_carrier(h);
        lumen_span_context *sc = th_ctx();
        int rc = lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_B3MULTI, &c);
        if (rc != (cases[i].valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("b3multi case %zu: rc %d", i, rc);
        if (cases[i].valid)
            assert_int_equal(sc->trace_flags, cases[i].flags);
        free(h);
    }
}

static void test_trace_propagation__baggage_table(void **state)
{
    static const struct {
        const char *h;
        int rc;
        const char *k1, *v1, *k2, *v2;
        size_t count;
    } cases[] = {
        {"userId=alice,serverNode=DF%2028,isProduction=false", LUMEN_OK, "userId", "alice",
         "serverNode", "DF 28", 3},
        {" a = 1 ; prop ; p2=v , b=2", LUMEN_OK, "a", "1", "b", "2", 2},
        {"a=%E2%9C%93", LUMEN_OK, "a", "\xe2\x9c\x93", NULL, NULL, 1},
        {"a=x=y", LUMEN_OK, "a", "x=y", NULL, NULL, 1},
        {"a=", LUMEN_OK, "a", "", NULL, NULL, 1},
        {"a=1,a=2", LUMEN_OK, "a", "2", NULL, NULL, 1},
        {"bad key=1,b=2", LUMEN_EPARSE, "b", "2", NULL, NULL, 1},
        {"a=1,novalue,b=2", LUMEN_EPARSE, "a", "1", "b", "2", 2},
        {"a=\"q\",b=2", LUMEN_EPARSE, "b", "2", NULL, NULL, 1},
        {"a=%zz", LUMEN_EPARSE, NULL, NULL, NULL, NULL, 0},
        {"a=one two", LUMEN_EPARSE, NULL, NULL, NULL, NULL, 0},
        {"=1", LUMEN_EPARSE, NULL, NULL, NULL, NULL, 0},
        {"", LUMEN_OK, NULL, NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        lumen_baggage *b;
        assert_int_equal(lumen_baggage_new(&b), LUMEN_OK);
        int rc = lumen_baggage_parse(b, cases[i].h, strlen(cases[i].h));
        if (rc != cases[i].rc)
            fail_msg("baggage case %zu: rc %d", i, rc);
        assert_int_equal(lumen_baggage_count(b), cases[i].count);
        if (cases[i].k1)
            assert_string_equal(lumen_baggage_get(b, cases[i].k1), cases[i].v1);
        if (cases[i].k2)
            assert_string_equal(lumen_baggage_get(b, cases[i].k2), cases[i].v2);
        lumen_baggage_free(b);
    }
}

static void test_trace_propagation__baggage_limits_and_roundtrip(void **state)
{
    lumen_baggage *b;
    lumen_baggage_new(&b);
    char key[16];
    for (int i = 0; i < 180; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(lumen_baggage_set(b, key, "v", NULL), LUMEN_OK);
    }
    assert_int_equal(lumen_baggage_set(b, "one.more", "v", NULL), LUMEN_ELIMIT);
    assert_int_equal(lumen_baggage_set(b, "k1", "replaced", NULL), LUMEN_OK);
    assert_int_equal(lumen_baggage_set(b, "bad key", "v", NULL), LUMEN_EINVAL);
    lumen_baggage_free(b);

    lumen_baggage_new(&b);
    lumen_baggage_set(b, "user", "a b,c;d%\xe2\x9c\x93", "ttl=3");
    lumen_baggage_set(b, "plain", "x", NULL);
    char *hdr;
    assert_int_equal(lumen_baggage_format(&hdr, b), LUMEN_OK);
    assert_string_equal(hdr, "user=a%20b%2Cc%3Bd%25%E2%9C%93;ttl=3,plain=x");
    /* Through a carrier and back. */
    th_headers *h = calloc(1, sizeof *h);
    lumen_carrier c = th_carrier(h);
    lumen_span_context *sc = th_ctx();
    lumen_propagation_inject(&c, LUMEN_PROPAGATE_BAGGAGE, sc, b);
    assert_string_equal(th_find(h, "baggage"), hdr);
    lumen_baggage *b2;
    lumen_baggage_new(&b2);
    th_add(h, "baggage", "second=line");
    assert_int_equal(lumen_propagation_extract(sc, b2, LUMEN_PROPAGATE_BAGGAGE, &c), LUMEN_ENOENT);
    assert_string_equal(lumen_baggage_get(b2, "user"), "a b,c;d%\xe2\x9c\x93");
    assert_string_equal(lumen_baggage_get(b2, "second"), "line");
    lumen_free(hdr);
    lumen_baggage_free(b);
    lumen_baggage_free(b2);
    /* Too many bytes in all: refused. */
    lumen_baggage_new(&b);
    char *huge = malloc(9000);
    memset(huge, 'a', 8999);
    huge[0] = 'k';
    huge[1] = '=';
    huge[8999] = '\0';
    assert_int_equal(lumen_baggage_parse(b, huge, strlen(huge)), LUMEN_ELIMIT);
    assert_int_equal(lumen_baggage_count(b), 0);
    free(huge);
    free(h);
    lumen_baggage_free(b);
}

static void test_trace_propagation__otel_propagators_env(void **state)
{
    unsetenv("OTEL_PROPAGATORS");
    assert_int_equal(lumen_propagators_from_env(),
                     LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE);
    setenv("OTEL_PROPAGATORS", "b3, B3MULTI ,tracecontext,xray", 1);
    assert_int_equal(lumen_propagators_from_env(),
                     LUMEN_PROPAGATE_B3 | LUMEN_PROPAGATE_B3MULTI | LUMEN_PROPAGATE_TRACECONTEXT);
    setenv("OTEL_PROPAGATORS", "none", 1);
    assert_int_equal(lumen_propagators_from_env(), 0);
    setenv("OTEL_PROPAGATORS", "b3", 1);
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", TP("00"));
    lumen_carrier c = th_carrier(h);
    lumen_span_context *sc = th_ctx();
    assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_DEFAULT, &c),
                     LUMEN_ENOENT);
    unsetenv("OTEL_PROPAGATORS");
    assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_DEFAULT, &c), LUMEN_OK);
    free(h);
}

/* ---- W3C Baggage limits: every member up to 180 members / 8192 bytes ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sbuf_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static char *repeat(char c, size_t n)
{
    char *p = malloc(n + 1);
    memset(p, c, n);
    p[n] = '\0';
    return p;
}

static size_t members_in(const char *hdr)
{
    size_t n = *hdr != '\0';
    for (const char *p = hdr; *p; p++)
        n += *p == ',';
    return n;
}

static void test_trace_propagation__baggage_limit_counts_each_member_once(void **state)
{
    /* 64 members of 100 characters (about 6.7 kB): all kept, by parse and
     * by set. The old accounting counted values three times over. */
    char *v100 = repeat('v', 100);
    sbuf hdr = {0};
    for (int i = 0; i < 64; i++) {
        char m[160];
        snprintf(m, sizeof m, "%sk%02d=%s", i ? "," : "", i, v100);
        sbuf_add(&hdr, m);
    }
    lumen_baggage *b;
    lumen_baggage_new(&b);
    assert_int_equal(lumen_baggage_parse(b, hdr.p, hdr.len), LUMEN_OK);
    assert_int_equal(lumen_baggage_count(b), 64);
    char *out;
    assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
    assert_string_equal(out, hdr.p); /* sent on whole */
    lumen_free(out);
    lumen_baggage_free(b);
    lumen_baggage_new(&b);
    for (int i = 0; i < 64; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%02d", i);
        assert_int_equal(lumen_baggage_set(b, k, v100, NULL), LUMEN_OK);
    }
    assert_int_equal(lumen_baggage_count(b), 64);
    lumen_baggage_free(b);
    free(hdr.p);
    free(v100);

    /* Two 3,000-character values: both kept, and a second set of 3,000
     * bytes succeeds. */
    char *v3k = repeat('x', 3000);
    lumen_baggage_new(&b);
    assert_int_equal(lumen_baggage_set(b, "a", v3k, NULL), LUMEN_OK);
    assert_int_equal(lumen_baggage_set(b, "b", v3k, NULL), LUMEN_OK);
    assert_int_equal(lumen_baggage_count(b), 2);
    /* Replacing a value counts the new size only. */
    assert_int_equal(lumen_baggage_set(b, "b", v3k, "p=1"), LUMEN_OK);
    /* A third would make the header 9,000+ bytes: refused, the others kept. */
    assert_int_equal(lumen_baggage_set(b, "c", v3k, NULL), LUMEN_ELIMIT);
    assert_int_equal(lumen_baggage_count(b), 2);
    /* Exactly 8192 bytes fits: the W3C suite's long entry. */
    lumen_baggage_free(b);
    lumen_baggage_new(&b);
    char *v8190 = repeat('0', 8190);
    assert_int_equal(lumen_baggage_set(b, "a", v8190, NULL), LUMEN_OK);
    assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
    assert_int_equal(strlen(out), 8192);
    lumen_free(out);
    assert_int_equal(lumen_baggage_set(b, "b", "1", NULL), LUMEN_ELIMIT);
    lumen_baggage_free(b);
    /* Values that need percent-encoding count at their encoded size. */
    lumen_baggage_new(&b);
    char *sp = repeat(' ', 2731); /* 8193 bytes as %20 */
    assert_int_equal(lumen_baggage_set(b, "a", sp, NULL), LUMEN_ELIMIT);
    sp[2730] = '\0'; /* 2 + 8190 */
    assert_int_equal(lumen_baggage_set(b, "a", sp, NULL), LUMEN_OK);
    lumen_baggage_free(b);
    free(sp);
    free(v8190);
    free(v3k);
}

static void test_trace_propagation__baggage_oversized_drops_members_beyond(void **state)
{
    /* Three 3,000-byte members (9 kB): the first two are kept, the one
     * beyond the limit is dropped; the baggage is not dropped whole. */
    char *v3k = repeat('x', 3000);
    th_headers *h = calloc(1, sizeof *h);
    char line[6100];
    snprintf(line, sizeof line, "a=%s,b=%s", v3k, v3k);
    th_add(h, "baggage", line);
    snprintf(line, sizeof line, "c=%s", v3k);
    th_add(h, "baggage", line);
    th_add(h, "baggage", "small=1");
    lumen_carrier c = th_carrier(h);
    lumen_baggage *b;
    lumen_baggage_new(&b);
    lumen_span_context *sc = th_ctx();
    lumen_propagation_extract(sc, b, LUMEN_PROPAGATE_BAGGAGE, &c);
    assert_int_equal(lumen_baggage_count(b), 3);
    assert_non_null(lumen_baggage_get(b, "a"));
    assert_non_null(lumen_baggage_get(b, "b"));
    assert_null(lumen_baggage_get(b, "c"));
    assert_string_equal(lumen_baggage_get(b, "small"), "1");
    char *out;
    assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
    assert_true(strlen(out) <= 8192);
    assert_int_equal(members_in(out), 3);
    lumen_free(out);
    lumen_baggage_free(b);
    /* Parsed as one line: the same, and the return says a member went. */
    lumen_baggage_new(&b);
    char *all = malloc(10000);
    snprintf(all, 10000, "a=%s,b=%s,c=%s", v3k, v3k, v3k);
    assert_int_equal(lumen_baggage_parse(b, all, strlen(all)), LUMEN_ELIMIT);
    assert_int_equal(lumen_baggage_count(b), 2);
    lumen_baggage_free(b);
    /* 200 small members: the first 180 (the grammar's most) are kept. */
    lumen_baggage_new(&b);
    sbuf many = {0};
    for (int i = 0; i < 200; i++) {
        char m[16];
        snprintf(m, sizeof m, "%sm%d=1", i ? "," : "", i);
        sbuf_add(&many, m);
    }
    assert_int_equal(lumen_baggage_parse(b, many.p, many.len), LUMEN_ELIMIT);
    assert_int_equal(lumen_baggage_count(b), 180);
    assert_non_null(lumen_baggage_get(b, "m179"));
    assert_null(lumen_baggage_get(b, "m180"));
    lumen_baggage_free(b);
    free(many.p);
    free(all);
    free(h);
    free(v3k);
}

static void test_trace_propagation__baggage_properties_validated_and_escaped(void **state)
{
    lumen_baggage *b;
    lumen_baggage_new(&b);
    /* A property that would add a member or a header line. */
    assert_int_equal(lumen_baggage_set(b, "k", "v", "p,evil=1"), LUMEN_EINVAL);
    assert_int_equal(lumen_baggage_set(b, "k", "v", "p\r\nX-Evil: 1"), LUMEN_EINVAL);
    assert_int_equal(lumen_baggage_set(b, "k", "v", "bad key"), LUMEN_EINVAL);
    assert_int_equal(lumen_baggage_count(b), 0);
    /* Property values are escaped, so they cannot end the member or line. */
    assert_int_equal(lumen_baggage_set(b, "k", "v", "p=a,evil=1;q=x\r\ny; flag ; r = 2"), LUMEN_OK);
    char *out;
    assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
    assert_string_equal(out, "k=v;p=a%2Cevil=1;q=x%0D%0Ay;flag;r=2");
    /* And it parses back as one member with its properties. */
    lumen_baggage *b2;
    lumen_baggage_new(&b2);
    assert_int_equal(lumen_baggage_parse(b2, out, strlen(out)), LUMEN_OK);
    assert_int_equal(lumen_baggage_count(b2), 1);
    char *again;
    assert_int_equal(lumen_baggage_format(&again, b2), LUMEN_OK);
    assert_string_equal(again, out);
    lumen_free(again);
    lumen_free(out);
    lumen_baggage_free(b2);
    lumen_baggage_free(b);
    /* Incoming: a member with an invalid property is not passed on. */
    static const struct {
        const char *in, *want;
        int rc;
    } cases[] = {
        {"k=v;p=1,other=2", "k=v;p=1,other=2", LUMEN_OK},
        {"k=v ; p1 ; p2 = x\t, o=2", "k=v;p1;p2=x,o=2", LUMEN_OK},
        {"k=v;bad prop=1,other=2", "other=2", LUMEN_EPARSE},
        {"k=v;p=\"q\",other=2", "other=2", LUMEN_EPARSE},
        {"k=v;p=a\\b,other=2", "other=2", LUMEN_EPARSE},
        {"k=v;=1,other=2", "other=2", LUMEN_EPARSE},
        {"k=v;;p,other=2", "other=2", LUMEN_EPARSE},
        {"k=v;p=\xc3\xa9,other=2", "other=2", LUMEN_EPARSE},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        lumen_baggage_new(&b);
        int rc = lumen_baggage_parse(b, cases[i].in, strlen(cases[i].in));
        assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
        if (rc != cases[i].rc || strcmp(out, cases[i].want) != 0)
            fail_msg("baggage property case %zu: rc %d, '%s'", i, rc, out);
        lumen_free(out);
        lumen_baggage_free(b);
    }
}

static void test_trace_propagation__baggage_invalid_utf8_becomes_fffd(void **state)
{
    lumen_baggage *b;
    lumen_baggage_new(&b);
    const char *h = "a=%FF,b=ok%C3,c=%E2%9C%93,d=%ED%A0%80";
    assert_int_equal(lumen_baggage_parse(b, h, strlen(h)), LUMEN_OK);
    assert_string_equal(lumen_baggage_get(b, "a"), "\xEF\xBF\xBD");
    assert_string_equal(lumen_baggage_get(b, "b"), "ok\xEF\xBF\xBD");
    assert_string_equal(lumen_baggage_get(b, "c"), "\xE2\x9C\x93"); /* valid: kept */
    /* A surrogate (ED A0 80) is not UTF-8: each byte is replaced. */
    assert_string_equal(lumen_baggage_get(b, "d"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    /* Set repairs too, so what is sent decodes to valid UTF-8. */
    assert_int_equal(lumen_baggage_set(b, "e", "x\xC0y", NULL), LUMEN_OK);
    assert_string_equal(lumen_baggage_get(b, "e"), "x\xEF\xBF\xBDy");
    char *out;
    assert_int_equal(lumen_baggage_format(&out, b), LUMEN_OK);
    assert_non_null(strstr(out, "e=x%EF%BF%BDy"));
    lumen_free(out);
    lumen_baggage_free(b);
}

/* ---- traceparent and tracestate beyond the old input caps ---- */

static void test_trace_propagation__future_traceparent_any_length(void **state)
{
    /* A later version, 600 characters long: parsed by its 00 fields. */
    char tp[700];
    snprintf(tp, sizeof tp, "cc-" TID "-" SID "-01-");
    size_t n = strlen(tp);
    memset(tp + n, 'z', 600 - n);
    tp[600] = '\0';
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", tp);
    th_add(h, "tracestate", "foo=1");
    lumen_carrier c = th_carrier(h);
    lumen_span_context *sc = th_ctx();
    assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &c),
                     LUMEN_OK);
    char hex[33];
    th_hex(hex, sc->trace_id, 16);
    assert_string_equal(hex, TID);
    assert_string_equal(sc->trace_state, "foo=1");
    assert_int_equal(lumen_traceparent_parse(sc, tp, strlen(tp), NULL, NULL, 0), LUMEN_OK);
    /* Version 00 stays exact, whatever follows. */
    tp[0] = tp[1] = '0';
    assert_int_equal(lumen_traceparent_parse(sc, tp, strlen(tp), NULL, NULL, 0), LUMEN_EPARSE);
    free(h);
}

static void test_trace_propagation__tracestate_over_8k_cut_by_members(void **state)
{
    /* 32 valid members with 256-character values over four lines (about
     * 8.4 kB): kept, cut by whole members to 512 characters. The old
     * 8192-byte input cap dropped the whole list. */
    char *v256 = repeat('v', 256);
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", TP("00"));
    char line[4][2200];
    for (int l = 0; l < 4; l++) {
        line[l][0] = '\0';
        for (int k = 0; k < 8; k++) {
            char m[300];
            snprintf(m, sizeof m, "%sk%d=%s", k ? "," : "", l * 8 + k, v256);
            strcat(line[l], m);
        }
        th_add(h, "tracestate", line[l]);
    }
    th_add(h, "tracestate", "small=1, tiny=2");
    lumen_carrier c = th_carrier(h);
    lumen_span_context *sc = th_ctx();
    assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &c),
                     LUMEN_OK);
    /* 34 members: over the limit of 32, discarded (the grammar's rule). */
    assert_int_equal(sc->trace_state_len, 0);
    h->n--; /* drop the small line: 32 long members remain */
    th_add(h, "tracestate", "");
    lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &c);
    /* Every member is over 128 characters; each goes until one fits. */
    assert_true(sc->trace_state_len > 0 && sc->trace_state_len <= LUMEN_TRACESTATE_MAX);
    assert_int_equal(members_in(sc->trace_state), 1);
    assert_int_equal(strncmp(sc->trace_state, "k31=", 4), 0);
    assert_int_equal(strlen(sc->trace_state), 4 + 256);
    /* Long members first, then short ones from the right. */
    h->n = 1;
    th_add(h, "tracestate", line[0]); /* 8 x 261 bytes */
    char shorts[600] = "";
    for (int k = 0; k < 20; k++) {
        char m[32];
        snprintf(m, sizeof m, "%ss%02d=%s", k ? "," : "", k, "0123456789012345678");
        strcat(shorts, m);
    }
    th_add(h, "tracestate", shorts); /* 20 x 23 bytes */
    lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &c);
    assert_null(strstr(sc->trace_state, "k0="));
    assert_int_equal(strncmp(sc->trace_state, "s00=", 4), 0);
    assert_int_equal(members_in(sc->trace_state), 20); /* 20 x 24 - 1 = 479 */
    free(h);
    free(v256);
}

/* ---- W3C Trace Context Level 2: the random flag ---- */

static void test_trace_propagation__random_flag_round_trip(void **state)
{
    static const struct {
        const char *in, *out;
        uint8_t flags;
    } cases[] = {
        {"00-" TID "-" SID "-02", "00-" TID "-" SID "-02", 0x02},
        {"00-" TID "-" SID "-03", "00-" TID "-" SID "-03", 0x03},
        {"00-" TID "-" SID "-ff", "00-" TID "-" SID "-03", 0xff},
        {"00-" TID "-" SID "-fc", "00-" TID "-" SID "-00", 0xfc},
        {"cc-" TID "-" SID "-02-x", "00-" TID "-" SID "-02", 0x02},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        th_headers *in = calloc(1, sizeof *in), *out = calloc(1, sizeof *out);
        th_add(in, "traceparent", cases[i].in);
        lumen_carrier ci = th_carrier(in), co = th_carrier(out);
        lumen_span_context *sc = th_ctx();
        assert_int_equal(lumen_propagation_extract(sc, NULL, LUMEN_PROPAGATE_TRACECONTEXT, &ci),
                         LUMEN_OK);
        assert_int_equal(sc->trace_flags, cases[i].flags);
        lumen_propagation_inject(&co, LUMEN_PROPAGATE_TRACECONTEXT, sc, NULL);
        assert_string_equal(th_find(out, "traceparent"), cases[i].out);
        free(in);
        free(out);
    }
}

static void test_trace_propagation__new_traces_set_random_flag(void **state)
{
    th_env e;
    th_setup(&e, (lumen_sampler){LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON});
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.root = true;
    lumen_span *root = lumen_span_start(e.tracer, "root", &o);
    lumen_span_context *sc = th_ctx();
    lumen_span_get_context(sc, root);
    assert_int_equal(sc->trace_flags, LUMEN_TRACE_FLAG_SAMPLED | LUMEN_TRACE_FLAG_RANDOM);
    th_headers *out = calloc(1, sizeof *out);
    lumen_carrier co = th_carrier(out);
    lumen_propagation_inject(&co, LUMEN_PROPAGATE_TRACECONTEXT, sc, NULL);
    assert_string_equal(th_find(out, "traceparent") + 53, "03");
    /* A local child keeps it. */
    o.root = false;
    o.parent = root;
    lumen_span *child = lumen_span_start(e.tracer, "child", &o);
    lumen_span_get_context(sc, child);
    assert_int_equal(sc->trace_flags & LUMEN_TRACE_FLAG_RANDOM, LUMEN_TRACE_FLAG_RANDOM);
    lumen_span_end(child);
    lumen_span_end(root);
    /* Under a remote parent the flag is the parent's, both ways. */
    static const struct {
        const char *tp;
        uint8_t want;
    } remote[] = {{"00-" TID "-" SID "-01", 0x01},
                  {"00-" TID "-" SID "-03", 0x03},
                  {"00-" TID "-" SID "-02", 0x02}};
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(remote); i++) {
        lumen_span_context *parent = th_ctx();
        assert_int_equal(lumen_traceparent_parse(parent, remote[i].tp, 55, NULL, NULL, 0),
                         LUMEN_OK);
        lumen_span_options ro = LUMEN_SPAN_OPTIONS_INIT;
        ro.parent_context = parent;
        lumen_span *s = lumen_span_start(e.tracer, "server", &ro);
        lumen_span_get_context(sc, s);
        assert_int_equal(sc->trace_flags, remote[i].want);
        lumen_span_end(s);
    }
    free(out);
    th_teardown(&e);
}

/* ---- contexts the program fills: the setters check what they store ---- */

static void program_filled(lumen_span_context *sc)
{
    uint8_t tid[16], sid[8];
    memset(tid, 0x11, 16);
    memset(sid, 0x22, 8);
    assert_int_equal(lumen_span_context_set(sc, tid, sid, 1, false), LUMEN_OK);
}

static void test_trace_propagation__context_setters_check_tracestate(void **state)
{
    static const struct {
        const char *ts, *want; /* want NULL: refused, no tracestate header */
    } cases[] = {
        {"a=1\r\nX-Evil: 1", NULL},
        {"a=1\nb=2", NULL},
        {"a=\xc3\xa9", NULL},
        {"A=1", NULL},
        {"a=1,b", NULL},
        {"a=1 , b=2", "a=1,b=2"},
        {"a=1,a=2", "a=1"},
        {"congo=t61rcWkgMzE", "congo=t61rcWkgMzE"},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        lumen_span_context *sc = th_ctx();
        program_filled(sc);
        int rc = lumen_span_context_set_trace_state(sc, cases[i].ts, strlen(cases[i].ts));
        assert_int_equal(rc, cases[i].want ? LUMEN_OK : LUMEN_EPARSE);
        size_t len = 99;
        const char *kept = lumen_span_context_trace_state(&len, sc);
        assert_string_equal(kept, cases[i].want ? cases[i].want : "");
        assert_int_equal(len, strlen(kept));
        th_headers *out = calloc(1, sizeof *out);
        lumen_carrier co = th_carrier(out);
        assert_int_equal(lumen_propagation_inject(&co, LUMEN_PROPAGATE_TRACECONTEXT, sc, NULL),
                         LUMEN_OK);
        assert_non_null(th_find(out, "traceparent"));
        const char *got = th_find(out, "tracestate");
        if ((cases[i].want == NULL) != (got == NULL) || (got && strcmp(got, cases[i].want) != 0))
            fail_msg("inject case %zu: got '%s'", i, got ? got : "(none)");
        free(out);
    }
    /* A list past LUMEN_TRACESTATE_MAX is cut by whole members. */
    char big[20 * 32];
    size_t bl = 0;
    for (int k = 0; k < 20; k++) /* 20 members of 30 characters: 619 */
        bl += (size_t)snprintf(big + bl, sizeof big - bl, "%sk%02d=%026d", k ? "," : "", k, k);
    lumen_span_context *sc = th_ctx();
    program_filled(sc);
    assert_int_equal(lumen_span_context_set_trace_state(sc, big, bl), LUMEN_OK);
    size_t kl;
    lumen_span_context_trace_state(&kl, sc);
    assert_true(kl > 0 && kl <= LUMEN_TRACESTATE_MAX);
    /* NULL or empty clears; the other accessors. */
    assert_int_equal(lumen_span_context_set_trace_state(sc, NULL, 0), LUMEN_OK);
    lumen_span_context_trace_state(&kl, sc);
    assert_int_equal(kl, 0);
    assert_int_equal(lumen_span_context_set_trace_state(NULL, "a=1", 3), LUMEN_EINVAL);
    assert_int_equal(lumen_span_context_flags(sc), 1);
    assert_false(lumen_span_context_is_remote(sc));
    assert_true(lumen_span_context_is_valid(sc));
    uint8_t tid[16], sid[8];
    lumen_span_context_ids(tid, sid, sc);
    assert_int_equal(tid[15], 0x11);
    assert_int_equal(sid[7], 0x22);
    lumen_span_context *cp = th_ctx();
    assert_int_equal(lumen_span_context_set_trace_state(sc, "b=2 , a=1", 9), LUMEN_OK);
    assert_int_equal(lumen_span_context_copy(cp, sc), LUMEN_OK);
    assert_string_equal(lumen_span_context_trace_state(NULL, cp), "b=2,a=1");
    assert_int_equal(lumen_span_context_copy(NULL, sc), LUMEN_EINVAL);
    uint8_t zero[16] = {0};
    assert_int_equal(lumen_span_context_set(cp, zero, zero, 0, true), LUMEN_OK);
    assert_false(lumen_span_context_is_valid(cp));
    assert_true(lumen_span_context_is_remote(cp));
    assert_string_equal(lumen_span_context_trace_state(NULL, cp), ""); /* set clears it */
    assert_int_equal(lumen_span_context_set(cp, NULL, zero, 0, true), LUMEN_EINVAL);
    assert_string_equal(lumen_span_context_trace_state(NULL, NULL), "");
    assert_false(lumen_span_context_is_valid(NULL));
    lumen_span_context_free(NULL);

    /* A span under (or linked to) a context the program filled carries
     * only what the setter kept, in its injections and its export. */
    th_env e;
    th_setup(&e, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON});
    program_filled(sc);
    static const char evil[] = "a=1\r\nX-Evil: 1";
    assert_int_equal(lumen_span_context_set_trace_state(sc, evil, sizeof evil - 1), LUMEN_EPARSE);
    lumen_span_options o = LUMEN_SPAN_OPTIONS_INIT;
    o.parent_context = sc;
    lumen_span *s = lumen_span_start(e.tracer, "child", &o);
    lumen_span_context *got = th_ctx();
    lumen_span_get_context(got, s);
    assert_string_equal(lumen_span_context_trace_state(NULL, got), "");
    lumen_span_add_link(s, sc, NULL, 0);
    lumen_span_end(s);
    assert_int_equal(lumen_span_context_set_trace_state(sc, "b=2 , a=1", 9), LUMEN_OK);
    s = lumen_span_start(e.tracer, "child2", &o);
    lumen_span_get_context(got, s);
    assert_string_equal(lumen_span_context_trace_state(NULL, got), "b=2,a=1");
    lumen_span_end(s);
    assert_int_equal(lumen_memory_exporter_count(e.mem), 2);
    const lumen_span *spans[2] = {lumen_memory_exporter_get(e.mem, 0),
                                  lumen_memory_exporter_get(e.mem, 1)};
    char *json;
    size_t jl;
    assert_int_equal(lumen_otlp_encode_spans(&json, &jl, LUMEN_OTLP_JSON, spans, 2), LUMEN_OK);
    assert_null(strstr(json, "X-Evil"));
    assert_non_null(strstr(json, "b=2,a=1"));
    lumen_free(json);
    th_teardown(&e);
}

/* ---- what propagation drops is counted ---- */

static double dropped(const char *header, const char *reason)
{
    char *text, pat[160];
    size_t len;
    assert_int_equal(lumen_registry_render_string(&text, &len, NULL, LUMEN_FORMAT_PROMETHEUS),
                     LUMEN_OK);
    snprintf(pat, sizeof pat, "lumen_trace_propagation_dropped_total{header=\"%s\",reason=\"%s\"} ",
             header, reason);
    const char *p = strstr(text, pat);
    if (p == NULL)
        fail_msg("no %s in\n%s", pat, text);
    double v = strtod(p + strlen(pat), NULL);
    lumen_free(text);
    return v;
}

static void test_trace_propagation__drops_are_counted(void **state)
{
    th_env e;
    th_setup(&e, (lumen_sampler){LUMEN_SAMPLER_ALWAYS_ON}); /* publishes the trace metrics */
    double bi = dropped("baggage", "invalid"), bl = dropped("baggage", "limit");
    double ti = dropped("tracestate", "invalid"), tl = dropped("tracestate", "limit");
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", TP("00"));
    th_add(h, "tracestate", "FOO=1");
    char *x = repeat('x', 5000), line[5100];
    snprintf(line, sizeof line, "a=%s,bad key=1,c=%%zz", x);
    th_add(h, "baggage", line);
    snprintf(line, sizeof line, "b=%s", x);
    th_add(h, "baggage", line);
    lumen_carrier c = th_carrier(h);
    lumen_baggage *b;
    lumen_baggage_new(&b);
    lumen_span_context *sc = th_ctx();
    lumen_propagation_extract(sc, b, LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE, &c);
    assert_int_equal(lumen_baggage_count(b), 1);
    assert_true(dropped("baggage", "invalid") - bi == 2);
    assert_true(dropped("baggage", "limit") - bl == 1);
    assert_true(dropped("tracestate", "invalid") - ti == 1);
    /* Members cut to 512 characters, and a list the program sets. */
    char v200[201];
    memset(v200, 'v', 200);
    v200[200] = '\0';
    char big[1200];
    snprintf(big, sizeof big, "a=%s,b=%s,c=%s,d=1", v200, v200, v200);
    char out[LUMEN_TRACESTATE_MAX + 1];
    assert_true(lumen__tracestate_parse(big, strlen(big), out) > 0);
    assert_true(dropped("tracestate", "limit") - tl == 1);
    program_filled(sc);
    assert_int_equal(lumen_span_context_set_trace_state(sc, "a=\r\n", 4), LUMEN_EPARSE);
    assert_true(dropped("tracestate", "invalid") - ti == 2);
    free(x);
    free(h);
    lumen_baggage_free(b);
    th_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_propagation__traceparent_table),
        cmocka_unit_test(test_trace_propagation__tracestate_table),
        cmocka_unit_test(test_trace_propagation__tracestate_member_count),
        cmocka_unit_test(test_trace_propagation__tracestate_truncation),
        cmocka_unit_test(test_trace_propagation__inject_roundtrip),
        cmocka_unit_test(test_trace_propagation__b3_single_table),
        cmocka_unit_test(test_trace_propagation__b3_multi_table),
        cmocka_unit_test(test_trace_propagation__baggage_table),
        cmocka_unit_test(test_trace_propagation__baggage_limits_and_roundtrip),
        cmocka_unit_test(test_trace_propagation__otel_propagators_env),
        cmocka_unit_test(test_trace_propagation__baggage_limit_counts_each_member_once),
        cmocka_unit_test(test_trace_propagation__baggage_oversized_drops_members_beyond),
        cmocka_unit_test(test_trace_propagation__baggage_properties_validated_and_escaped),
        cmocka_unit_test(test_trace_propagation__baggage_invalid_utf8_becomes_fffd),
        cmocka_unit_test(test_trace_propagation__future_traceparent_any_length),
        cmocka_unit_test(test_trace_propagation__tracestate_over_8k_cut_by_members),
        cmocka_unit_test(test_trace_propagation__random_flag_round_trip),
        cmocka_unit_test(test_trace_propagation__new_traces_set_random_flag),
        cmocka_unit_test(test_trace_propagation__context_setters_check_tracestate),
        cmocka_unit_test(test_trace_propagation__drops_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
