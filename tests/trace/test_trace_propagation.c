/* tests/trace/test_trace_propagation.c: table tests for every propagation
 * rule (W3C traceparent and tracestate, including the cases of the W3C
 * test suite, B3 single and multi, W3C Baggage), extract and inject. */
#include "support/support.h"

#include "trace/propagation.h"
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
        lumen_span_context sc;
        int rc = lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT, &car, &sc, NULL);
        if (rc != (c->valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("case %zu (%s): rc %d", i, c->tp[0], rc);
        if (c->valid) {
            char hex[33];
            th_hex(hex, sc.trace_id, 16);
            assert_string_equal(hex, c->trace_id ? c->trace_id : TID);
            th_hex(hex, sc.span_id, 8);
            assert_string_equal(hex, SID);
            assert_int_equal(sc.trace_flags, c->flags);
            assert_int_equal(sc.is_remote, 1);
            assert_string_equal(sc.trace_state, "foo=1");
        } else {
            assert_false(lumen_span_context_is_valid(&sc));
            assert_int_equal(sc.trace_state_len, 0); /* not parsed without traceparent */
        }
        free(h);
    }
}

typedef struct ts_case {
    const char *ts[5];
    const char *want; /* NULL: discarded */
} ts_case;

#define K257 "k0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
#define T241 "t012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"

static const ts_case ts_cases[] = {
    {{"foo=1,bar=2"}, "foo=1,bar=2"},
    {{"foo=1", "bar=2"}, "foo=1,bar=2"},
    {{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, "foo=1,bar=2,rojo=1,congo=2,baz=3"},
    {{"foo=1 \t , \t bar=2"}, "foo=1,bar=2"},
    {{"", "foo=1"}, "foo=1"},
    {{"foo=1", ""}, "foo=1"},
    {{" , ,foo=1,,"}, "foo=1"},
    {{"foo= bar"}, "foo= bar"}, /* a leading space belongs to the value */
    {{"foo=1,foo=2"}, NULL},
    {{"foo=1", "foo=2"}, NULL},
    {{"foo =1"}, NULL},
    {{"FOO=1"}, NULL},
    {{"foo.bar=1"}, NULL},
    {{"foo@=1"}, NULL},
    {{"@foo=1"}, NULL},
    {{"foo@@bar=1"}, NULL},
    {{"foo@bar@baz=1"}, NULL},
    {{"foo=bar=baz"}, NULL},
    {{"foo="}, NULL},
    {{"foo"}, NULL},
    {{"foo=1,bad key=2"}, NULL},
    {{"foo=\x7f"}, NULL},
    {{"1foo=1"}, NULL},
    {{"1tenant@vendor=1"}, "1tenant@vendor=1"},
    {{"t@v1=1"}, "t@v1=1"},
    {{"t@1v=1"}, NULL}, /* the system part starts with a letter */
    {{K257 "=1"}, NULL},
    {{T241 "@v=1"}, T241 "@v=1"},
    {{T241 "x@v=1"}, NULL},
    {{"t@abcdefghijklmn=1"}, "t@abcdefghijklmn=1"},
    {{"t@abcdefghijklmno=1"}, NULL},
    {{"a-_*/09=a !\"#$%&'()*+-./09:;<>?@AZ[\\]^_`az{|}~"}, "a-_*/09=a !\"#$%&'()*+-./09:;<>?@AZ[\\]^_`az{|}~"},
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
        lumen_span_context sc;
        assert_int_equal(lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT, &car, &sc, NULL), LUMEN_OK);
        if (strcmp(sc.trace_state, c->want ? c->want : "") != 0)
            fail_msg("case %zu: got '%s' want '%s'", i, sc.trace_state, c->want ? c->want : "");
        assert_int_equal(sc.trace_state_len, strlen(sc.trace_state));
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
    lumen_span_context sc;
    lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT, &car, &sc, NULL);
    int members = 1;
    for (const char *p = sc.trace_state; *p; p++)
        members += *p == ',';
    assert_int_equal(members, 32);
    /* A 33rd member discards the list. */
    th_add(h, "tracestate", "one=more");
    lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT, &car, &sc, NULL);
    assert_int_equal(sc.trace_state_len, 0);
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
    /* Over the raw input cap: discarded. */
    char *huge = malloc(LUMEN__TRACESTATE_INPUT_MAX + 10);
    memset(huge, ' ', LUMEN__TRACESTATE_INPUT_MAX + 9);
    memcpy(huge, "a=1", 3);
    huge[LUMEN__TRACESTATE_INPUT_MAX + 9] = '\0';
    assert_int_equal(lumen__tracestate_parse(huge, strlen(huge), out), -1);
    free(huge);
}

static void test_trace_propagation__inject_roundtrip(void **state)
{
    th_headers *in = calloc(1, sizeof *in), *out = calloc(1, sizeof *out);
    th_add(in, "traceparent", "cc-" TID "-" SID "-0b-future");
    th_add(in, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    lumen_carrier ci = th_carrier(in), co = th_carrier(out);
    lumen_span_context sc;
    assert_int_equal(lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT, &ci, &sc, NULL), LUMEN_OK);
    assert_int_equal(lumen_propagation_inject(LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3 |
                                                  LUMEN_PROPAGATE_B3MULTI,
                                              &sc, NULL, &co),
                     LUMEN_OK);
    /* Re-emitted as version 00 with reserved flag bits cleared. */
    assert_string_equal(th_find(out, "traceparent"), "00-" TID "-" SID "-01");
    assert_string_equal(th_find(out, "tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_string_equal(th_find(out, "b3"), TID "-" SID "-1");
    assert_string_equal(th_find(out, "X-B3-TraceId"), TID);
    assert_string_equal(th_find(out, "X-B3-SpanId"), SID);
    assert_string_equal(th_find(out, "X-B3-Sampled"), "1");
    /* An invalid context injects nothing. */
    th_headers *none = calloc(1, sizeof *none);
    lumen_carrier cn = th_carrier(none);
    lumen_span_context zero;
    memset(&zero, 0, sizeof zero);
    lumen_propagation_inject(LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3, &zero, NULL, &cn);
    assert_int_equal(none->n, 0);
    char buf[56];
    assert_int_equal(lumen_traceparent_format(&zero, buf), LUMEN_EINVAL);
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
        {"0", false}, {"1", false}, {"d", false}, {"", false},
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
        lumen_span_context sc;
        int rc = lumen_propagation_extract(LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_B3, &c, &sc, NULL);
        if (rc != (cases[i].valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("b3 case %zu (%s): rc %d", i, cases[i].v, rc);
        if (cases[i].valid) {
            char hex[33];
            th_hex(hex, sc.trace_id, 16);
            assert_string_equal(hex, cases[i].trace_id);
            assert_int_equal(sc.trace_flags, cases[i].flags);
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
        {TID, SID, "1", NULL, true, 1},
        {TID, SID, "0", NULL, true, 0},
        {TID, SID, NULL, "1", true, 1},
        {TID, SID, "true", NULL, true, 1},
        {TID, SID, NULL, NULL, true, 0},
        {"8448eb211c80319c", SID, "1", NULL, true, 1},
        {TID, NULL, "1", NULL, false, 0},
        {NULL, SID, "1", NULL, false, 0},
        {TID "00", SID, "1", NULL, false, 0},
        {TID, "b7ad6b71692033", "1", NULL, false, 0},
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
        lumen_span_context sc;
        int rc = lumen_propagation_extract(LUMEN_PROPAGATE_B3MULTI, &c, &sc, NULL);
        if (rc != (cases[i].valid ? LUMEN_OK : LUMEN_ENOENT))
            fail_msg("b3multi case %zu: rc %d", i, rc);
        if (cases[i].valid)
            assert_int_equal(sc.trace_flags, cases[i].flags);
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
        {"userId=alice,serverNode=DF%2028,isProduction=false", LUMEN_OK, "userId", "alice", "serverNode", "DF 28", 3},
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
    assert_int_equal(lumen_baggage_format(b, &hdr), LUMEN_OK);
    assert_string_equal(hdr, "user=a%20b%2Cc%3Bd%25%E2%9C%93;ttl=3,plain=x");
    /* Through a carrier and back. */
    th_headers *h = calloc(1, sizeof *h);
    lumen_carrier c = th_carrier(h);
    lumen_span_context sc;
    memset(&sc, 0, sizeof sc);
    lumen_propagation_inject(LUMEN_PROPAGATE_BAGGAGE, &sc, b, &c);
    assert_string_equal(th_find(h, "baggage"), hdr);
    lumen_baggage *b2;
    lumen_baggage_new(&b2);
    th_add(h, "baggage", "second=line");
    assert_int_equal(lumen_propagation_extract(LUMEN_PROPAGATE_BAGGAGE, &c, &sc, b2), LUMEN_ENOENT);
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
    assert_int_equal(lumen_propagators_from_env(), LUMEN_PROPAGATE_TRACECONTEXT | LUMEN_PROPAGATE_BAGGAGE);
    setenv("OTEL_PROPAGATORS", "b3, B3MULTI ,tracecontext,xray", 1);
    assert_int_equal(lumen_propagators_from_env(),
                     LUMEN_PROPAGATE_B3 | LUMEN_PROPAGATE_B3MULTI | LUMEN_PROPAGATE_TRACECONTEXT);
    setenv("OTEL_PROPAGATORS", "none", 1);
    assert_int_equal(lumen_propagators_from_env(), 0);
    setenv("OTEL_PROPAGATORS", "b3", 1);
    th_headers *h = calloc(1, sizeof *h);
    th_add(h, "traceparent", TP("00"));
    lumen_carrier c = th_carrier(h);
    lumen_span_context sc;
    assert_int_equal(lumen_propagation_extract(LUMEN_PROPAGATE_DEFAULT, &c, &sc, NULL), LUMEN_ENOENT);
    unsetenv("OTEL_PROPAGATORS");
    assert_int_equal(lumen_propagation_extract(LUMEN_PROPAGATE_DEFAULT, &c, &sc, NULL), LUMEN_OK);
    free(h);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
