/* tests/core/test_core.c: status codes, versioned structs, buffers,
 * escaping, UTF-8 repair, hex and percent decoding, numbers, clock, random
 * ids, environment parsing, the allocator and the diagnostics hook. */
#include "support/support.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/escape.h"
#include "core/fastclock.h"
#include "core/hex.h"
#include "core/rand.h"
#include "core/utf8.h"
#include "core/versioned.h"

static void test_core_status__names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(lumen_status_name(LUMEN_EINVAL), "LUMEN_EINVAL");
    assert_string_equal(lumen_strerror(LUMEN_OK), "success");
    assert_string_equal(lumen_strerror(12345), "unknown status");
    assert_string_equal(lumen_status_name(-999), "LUMEN_UNKNOWN");
    for (int s = 0; s >= LUMEN_EVERSION; s--)
        assert_string_not_equal(lumen_status_name(s), "LUMEN_UNKNOWN");
    assert_string_equal(lumen_status_name(-28), "LUMEN_EVERSION");
    assert_string_equal(lumen_status_name(LUMEN_EVERSION - 1), "LUMEN_UNKNOWN");
}

/* A struct at version 2 of a made-up API: v1 callers know `a` and `b`, v2
 * callers also `c` and `d`. */
typedef struct vstruct {
    unsigned int version;
    uint64_t a;
    uint32_t b;
    uint64_t c;
    uint32_t d;
} vstruct;
static const size_t vsizes[] = {0, offsetof(vstruct, c), sizeof(vstruct)};

static void test_core_versioned__init_and_check(void **state)
{
    (void)state;
    unsigned n = LUMEN__VERSIONS(vsizes);
    assert_int_equal(n, 2);
    vstruct v;
    memset(&v, 0xAA, sizeof v);
    assert_int_equal(lumen__versioned_init(&v, 1, vsizes, n), LUMEN_OK);
    assert_int_equal(v.version, 1);
    assert_int_equal(v.a, 0);
    assert_int_equal(v.b, 0);
    /* A v1 caller's struct ends before c: init must not write there. */
    assert_int_equal(v.c, 0xAAAAAAAAAAAAAAAAull);
    assert_int_equal(lumen__versioned_init(&v, 0, vsizes, n), LUMEN_EVERSION);
    assert_int_equal(lumen__versioned_init(&v, 99, vsizes, n), LUMEN_EVERSION);
    assert_int_equal(lumen__versioned_init(NULL, 1, vsizes, n), LUMEN_EINVAL);
    assert_int_equal(lumen__versioned_init(&v, 2, vsizes, n), LUMEN_OK);
    assert_int_equal(v.c, 0);
    assert_int_equal(v.d, 0);
    assert_int_equal(lumen__versioned_check(&v, vsizes, n), LUMEN_OK);
    v.version = 0;
    assert_int_equal(lumen__versioned_check(&v, vsizes, n), LUMEN_EVERSION);
    v.version = 99;
    assert_int_equal(lumen__versioned_check(&v, vsizes, n), LUMEN_EVERSION);
    assert_int_equal(lumen__versioned_check(NULL, vsizes, n), LUMEN_EINVAL);
}

static void test_core_versioned__in_defaults_what_the_caller_lacks(void **state)
{
    (void)state;
    unsigned n = LUMEN__VERSIONS(vsizes);
    /* An old (v1) caller's options: only a and b exist; what follows in
     * memory is someone else's and must not be read as c and d. */
    struct {
        vstruct head;
        char guard[8];
    } mem;
    memset(&mem, 0x55, sizeof mem);
    vstruct *old = &mem.head;
    old->version = 1;
    old->a = 7;
    old->b = 8;
    vstruct full;
    memset(&full, 0xAA, sizeof full);
    assert_int_equal(lumen__versioned_in(&full, sizeof full, old, vsizes, n), LUMEN_OK);
    assert_int_equal(full.version, 2);
    assert_int_equal(full.a, 7);
    assert_int_equal(full.b, 8);
    assert_int_equal(full.c, 0);
    assert_int_equal(full.d, 0);
    /* A current caller's fields all arrive. */
    vstruct cur = {2, 1, 2, 3, 4};
    assert_int_equal(lumen__versioned_in(&full, sizeof full, &cur, vsizes, n), LUMEN_OK);
    assert_int_equal(full.c, 3);
    assert_int_equal(full.d, 4);
    /* NULL: every default. */
    assert_int_equal(lumen__versioned_in(&full, sizeof full, NULL, vsizes, n), LUMEN_OK);
    assert_int_equal(full.a, 0);
    assert_int_equal(full.version, 2);
    /* Version 0 (a struct never initialised) and a newer one are refused. */
    cur.version = 0;
    assert_int_equal(lumen__versioned_in(&full, sizeof full, &cur, vsizes, n), LUMEN_EVERSION);
    cur.version = 3;
    assert_int_equal(lumen__versioned_in(&full, sizeof full, &cur, vsizes, n), LUMEN_EVERSION);
}

static void test_core_versioned__out_stops_at_the_callers_size(void **state)
{
    (void)state;
    unsigned n = LUMEN__VERSIONS(vsizes);
    vstruct full = {2, 11, 12, 13, 14};
    struct {
        vstruct head;
        char guard[8];
    } mem;
    memset(&mem, 0x55, sizeof mem);
    mem.head.version = 1;
    assert_int_equal(lumen__versioned_out(&mem.head, &full, vsizes, n), LUMEN_OK);
    assert_int_equal(mem.head.version, 1);
    assert_int_equal(mem.head.a, 11);
    assert_int_equal(mem.head.b, 12);
    /* Past a v1 caller's struct nothing is written. */
    const unsigned char *p = (const unsigned char *)&mem + offsetof(vstruct, c);
    for (size_t i = 0; i < sizeof mem - offsetof(vstruct, c); i++)
        assert_int_equal(p[i], 0x55);
    vstruct cur = {2, 0, 0, 0, 0};
    assert_int_equal(lumen__versioned_out(&cur, &full, vsizes, n), LUMEN_OK);
    assert_int_equal(cur.d, 14);
    cur.version = 7;
    cur.a = 0;
    assert_int_equal(lumen__versioned_out(&cur, &full, vsizes, n), LUMEN_EVERSION);
    assert_int_equal(cur.a, 0);
    assert_int_equal(lumen__versioned_out(NULL, &full, vsizes, n), LUMEN_EINVAL);
}

static void test_core_version__matches_macros(void **state)
{
    (void)state;
    assert_string_equal(lumen_version(), LUMEN_VERSION_STRING);
    assert_int_equal(lumen_version_number(), LUMEN_VERSION_NUMBER);
}

static char *fmt(double v)
{
    static char out[LUMEN__DBL_MAX];
    lumen__fmt_double(out, v);
    return out;
}

static void test_core_buf__doubles_shortest_roundtrip(void **state)
{
    (void)state;
    assert_string_equal(fmt(0), "0");
    assert_string_equal(fmt(-0.0), "-0");
    assert_string_equal(fmt(1), "1");
    assert_string_equal(fmt(-17), "-17");
    assert_string_equal(fmt(0.1), "0.1");
    assert_string_equal(fmt(1.5), "1.5");
    assert_string_equal(fmt(1e-5), "1e-05");
    assert_string_equal(fmt(NAN), "NaN");
    assert_string_equal(fmt(INFINITY), "+Inf");
    assert_string_equal(fmt(-INFINITY), "-Inf");
    assert_string_equal(fmt(0.1 + 0.2), "0.30000000000000004");
    assert_string_equal(fmt(9007199254740993.0), "9007199254740992");
    /* Every value reads back exactly. */
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = lumen__rand64();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (isnan(v))
            continue;
        char out[LUMEN__DBL_MAX];
        lumen__fmt_double(out, v);
        double back;
        assert_true(lumen__parse_double(isinf(v) ? (v > 0 ? "inf" : "-inf") : out, &back));
        assert_memory_equal(&back, &v, sizeof v);
    }
}

static void test_core_buf__doubles_ignore_locale(void **state)
{
    (void)state;
    /* de_DE may not be installed; any locale with a comma works. */
    const char *locs[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"};
    for (size_t i = 0; i < 3; i++)
        if (setlocale(LC_NUMERIC, locs[i]))
            break;
    assert_string_equal(fmt(1.5), "1.5");
    char out[LUMEN__DBL_MAX];
    lumen__fmt_double_canonical(out, 1);
    assert_string_equal(out, "1.0");
    lumen__fmt_double_canonical(out, 0.25);
    assert_string_equal(out, "0.25");
    lumen__fmt_double_canonical(out, 1e6);
    assert_string_equal(out, "1e+06");
    lumen__fmt_double_canonical(out, 100000);
    assert_string_equal(out, "100000.0");
    lumen__fmt_double_canonical(out, 1e-5);
    assert_string_equal(out, "1e-05");
    lumen__fmt_double_canonical(out, 0.0001);
    assert_string_equal(out, "0.0001");
    lumen__fmt_double_go(out, 1234567);
    assert_string_equal(out, "1.234567e+06");
    lumen__fmt_double_go(out, 2.5);
    assert_string_equal(out, "2.5");
    lumen__fmt_double_canonical(out, INFINITY);
    assert_string_equal(out, "+Inf");
    setlocale(LC_NUMERIC, "C");
}

static void test_core_buf__grows_and_sticky_oom(void **state)
{
    (void)state;
    lumen__buf b = LUMEN__BUF_INIT;
    for (int i = 0; i < 10000; i++)
        lumen__buf_puts(&b, "abc");
    assert_int_equal(b.len, 30000);
    assert_false(b.oom);
    lumen__buf_free(&b);

    char mem[8];
    lumen__buf_fixed(&b, mem, sizeof mem);
    lumen__buf_puts(&b, "1234567");
    assert_false(b.oom);
    lumen__buf_puts(&b, "8");
    assert_true(b.oom);
    assert_string_equal(mem, "1234567");
}

static char *esc(void (*f)(lumen__buf *, const char *, size_t), const char *s, size_t n)
{
    static lumen__buf b = LUMEN__BUF_INIT;
    b.len = 0;
    f(&b, s, n);
    lumen__buf_putc(&b, '\0');
    return b.p;
}

static void label(lumen__buf *b, const char *s, size_t n)
{
    lumen__esc_label_value(b, s, n);
}
static void json(lumen__buf *b, const char *s, size_t n)
{
    lumen__esc_json(b, s, n, 0);
}
static void json_html(lumen__buf *b, const char *s, size_t n)
{
    lumen__esc_json(b, s, n, LUMEN__JSON_HTML_SAFE);
}
static void logfmt(lumen__buf *b, const char *s, size_t n)
{
    lumen__esc_logfmt(b, s, n);
}

static void test_core_escape__each_syntax(void **state)
{
    (void)state;
    assert_string_equal(esc(label, "a\"b\\c\nd\te", 10), "a\\\"b\\\\c\\nd\te");
    assert_string_equal(esc(json, "a\"b\\c\nd\x01", 8), "a\\\"b\\\\c\\nd\\u0001");
    assert_string_equal(esc(json, "\xe2\x80\xa8", 3), "\\u2028");
    assert_string_equal(esc(json_html, "</script>", 9), "\\u003c/script\\u003e");
    assert_string_equal(esc(logfmt, "plain", 5), "plain");
    assert_string_equal(esc(logfmt, "", 0), "\"\"");
    assert_string_equal(esc(logfmt, "a b=c\n", 6), "\"a b=c\\n\"");
}

static void test_core_escape__invalid_utf8_replaced(void **state)
{
    (void)state;
    /* Lone continuation, overlong, surrogate, truncated, above U+10FFFF. */
    assert_string_equal(esc(label, "a\x80z", 3), "a\xef\xbf\xbdz");
    assert_string_equal(esc(json, "\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(esc(json, "\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(esc(json, "\xe2\x82", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(esc(json, "\xf4\x90\x80\x80", 4),
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(esc(json, "\xe2\x82\xac", 3), "\xe2\x82\xac");
    assert_int_equal(lumen__utf8_count("\xe2\x82\xac"
                                       "a\x80",
                                       5),
                     3);
    assert_int_equal(lumen__utf8_cut("ab\xe2\x82\xac", 5, 4), 2);
}

static void test_core_utf8__repair_to_bounded(void **state)
{
    (void)state;
    /* Lone continuation, overlong, surrogate, truncated, above U+10FFFF,
     * and valid 2-, 3- and 4-byte sequences kept as they are. */
    static const struct {
        const char *in;
        size_t n;
        const char *out;
        size_t bad;
    } cases[] = {
        {"abc", 3, "abc", 0},
        {"a\x80z", 3, "a\xef\xbf\xbdz", 1},
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 2},
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3},
        {"x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd", 2},
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0},
    };
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(cases); i++) {
        char out[64];
        memset(out, 'Z', sizeof out);
        size_t want = strlen(cases[i].out);
        assert_int_equal(lumen__utf8_invalid(cases[i].in, cases[i].n), cases[i].bad);
        assert_int_equal(cases[i].n + 2 * cases[i].bad, want);
        assert_int_equal(lumen__utf8_repair_to(out, sizeof out, cases[i].in, cases[i].n), want);
        assert_memory_equal(out, cases[i].out, want);
        assert_int_equal(out[want], 'Z'); /* no NUL, nothing past */
        /* Too little room: it stops before a sequence that does not fit
         * whole, and writes nothing past cap. */
        for (size_t cap = 0; cap < want; cap++) {
            memset(out, 'Z', sizeof out);
            size_t got = lumen__utf8_repair_to(out, cap, cases[i].in, cases[i].n);
            assert_true(got <= cap);
            assert_true(cap - got < 4);
            assert_memory_equal(out, cases[i].out, got);
            assert_int_equal(out[cap], 'Z');
            assert_int_equal(lumen__utf8_invalid(out, got), 0);
        }
    }
    /* The buffer and heap forms. */
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__buf_puts(&b, "k=");
    lumen__utf8_repair_buf(&b, "v\xff!", 3);
    assert_string_equal(b.p, "k=v\xef\xbf\xbd!");
    lumen__buf_free(&b);
    bool oom = false;
    assert_null(lumen__utf8_repair_dup("valid \xc3\xa9", 8, &oom));
    assert_false(oom);
    char *d = lumen__utf8_repair_dup("a\xc3", 2, &oom);
    assert_non_null(d);
    assert_string_equal(d, "a\xef\xbf\xbd");
    lumen__free(d, 0);
    assert_true(lumen__ascii("plain ascii text", 16));
    assert_false(lumen__ascii("plain ascii t\xc3\xa9xt", 17));
}

static void test_core_hex__unhex_and_case(void **state)
{
    (void)state;
    uint8_t out[8];
    assert_true(lumen__unhex("00f067aa0ba902b7", 8, out, LUMEN__HEX_LOWER_ONLY));
    static const uint8_t want[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    assert_memory_equal(out, want, 8);
    /* Uppercase: refused for ids, accepted otherwise. */
    assert_false(lumen__unhex("00F067AA0BA902B7", 8, out, LUMEN__HEX_LOWER_ONLY));
    assert_true(lumen__unhex("00F067AA0BA902B7", 8, out, 0));
    assert_memory_equal(out, want, 8);
    /* Every byte that is not a digit fails, in either position. */
    for (int c = 0; c < 256; c++) {
        bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        bool upper = c >= 'A' && c <= 'F';
        char s[2] = {'a', (char)c};
        assert_int_equal(lumen__unhex(s, 1, out, LUMEN__HEX_LOWER_ONLY), digit);
        assert_int_equal(lumen__unhex(s, 1, out, 0), digit || upper);
        char r[2] = {(char)c, '0'};
        assert_int_equal(lumen__unhex(r, 1, out, LUMEN__HEX_LOWER_ONLY), digit);
        assert_int_equal(lumen__hexval((char)c) >= 0, digit || upper);
    }
    /* Round trip with the encoder. */
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__buf_hex(&b, want, 8);
    assert_string_equal(b.p, "00f067aa0ba902b7");
    lumen__buf_free(&b);
    /* Every byte value, at every length 0..40 and every offset in the
     * 8-byte runs the encoder takes at once, round-trips; nothing is
     * written past 2n digits. */
    uint8_t all[256 + 40];
    for (int i = 0; i < (int)sizeof all; i++)
        all[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (size_t n = 0; n <= 40; n++) {
        for (size_t off = 0; off + n <= sizeof all; off += n ? n : 1) {
            char digits[96];
            memset(digits, '#', sizeof digits);
            lumen__hex(digits, all + off, n);
            assert_int_equal(digits[2 * n], '#');
            for (size_t i = 0; i < n; i++) {
                static const char hd[] = "0123456789abcdef";
                assert_int_equal(digits[2 * i], hd[all[off + i] >> 4]);
                assert_int_equal(digits[2 * i + 1], hd[all[off + i] & 15]);
            }
            uint8_t back[40];
            assert_true(lumen__unhex(digits, n, back, LUMEN__HEX_LOWER_ONLY));
            assert_memory_equal(back, all + off, n);
        }
    }
}

/* lumen__stamp (an instrumented request's duration): an interval it
 * measures lies between the CLOCK_MONOTONIC intervals read just inside and
 * just outside it, within the TSC rate's error, before the TSC is
 * calibrated (CLOCK_MONOTONIC) and after (the TSC where fastclock uses it). */
static void stamp_round(int64_t busy_ns)
{
    int64_t m0 = lumen__mono_ns();
    lumen__stamp s = lumen__stamp_now();
    int64_t m1 = lumen__mono_ns();
    while (lumen__mono_ns() - m1 < busy_ns)
        (void)lumen__now_fast(); /* also lets fastclock calibrate */
    int64_t m2 = lumen__mono_ns();
    int64_t e = lumen__stamp_elapsed(s);
    int64_t m3 = lumen__mono_ns();
    int64_t slack = (m3 - m0) / 100 + 50000; /* 1% + 50 us */
    assert_true(e >= m2 - m1 - slack);
    assert_true(e <= m3 - m0 + slack);
}

static void test_core_fastclock__stamp_interval(void **state)
{
    (void)state;
    stamp_round(30000000);
    stamp_round(30000000);
    stamp_round(5000000);
    /* A stamp never reads as negative time. */
    assert_true(lumen__stamp_elapsed(lumen__stamp_now()) >= 0);
    print_message("lumen__stamp from the %s\n",
                  lumen__fclock_tsc_in_use() ? "TSC" : "CLOCK_MONOTONIC");
}

static const char *pct(const char *s, unsigned flags, bool *ok)
{
    static char mem[64];
    lumen__buf b;
    lumen__buf_fixed(&b, mem, sizeof mem);
    *ok = lumen__pct_decode(&b, s, strlen(s), flags);
    return mem;
}

static void test_core_hex__percent_decode_flags(void **state)
{
    (void)state;
    bool ok;
    assert_string_equal(pct("a%20b%2Cc%2cd", 0, &ok), "a b,c,d");
    assert_true(ok);
    /* '+' is a space only in query strings. */
    assert_string_equal(pct("a+b", 0, &ok), "a+b");
    assert_string_equal(pct("a+b%2B", LUMEN__PCT_PLUS_SPACE, &ok), "a b+");
    /* A bad escape: copied as is, or refused under STRICT. */
    const char *bad[] = {"50%", "50%2", "%zz", "%g0", "%%41"};
    const char *kept[] = {"50%", "50%2", "%zz", "%g0", "%A"};
    for (size_t i = 0; i < LUMEN_ARRAY_LEN(bad); i++) {
        assert_string_equal(pct(bad[i], 0, &ok), kept[i]);
        assert_true(ok);
        pct(bad[i], LUMEN__PCT_STRICT, &ok);
        assert_false(ok);
    }
    assert_string_equal(pct("%41%42", LUMEN__PCT_STRICT, &ok), "AB");
    assert_true(ok);
    /* A fixed buffer keeps what fits, byte by byte. */
    char small[4];
    lumen__buf b;
    lumen__buf_fixed(&b, small, sizeof small);
    assert_true(lumen__pct_decode(&b, "%41%42%43%44", 12, 0));
    assert_true(b.oom);
    assert_string_equal(small, "ABC");
}

static void test_core_clock__rfc3339(void **state)
{
    (void)state;
    char out[28];
    assert_int_equal(lumen__rfc3339_us(out, 1700000000123456789LL), 27);
    assert_string_equal(out, "2023-11-14T22:13:20.123456Z");
    lumen__rfc3339_us(out, 0);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
    lumen__rfc3339_us(out, -1);
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    /* The ends of the range (which the cache cannot hold) and steps back
     * into the previous second read as the uncached form does. */
    const int64_t edge[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 999999999,
                            0,         1000000000,    999999999, -1000000000,   -1000000001};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char a[28];
        lumen__rfc3339_us_safe(a, edge[i]);
        lumen__rfc3339_us(out, edge[i]);
        assert_string_equal(out, a);
    }
    /* Both forms agree with gmtime_r from 1970 to 2262 (the int64 range
     * of nanoseconds), leap days included, and the cached form stays right
     * across second changes. */
    for (int i = 0; i < 20000; i++) {
        int64_t ns = (int64_t)(lumen__rand64() % 9000000000000000000ULL);
        if (i % 2)
            ns = 1700000000000000000LL + (int64_t)(lumen__rand64() % 5000000000ULL);
        char a[28], c[28], g[32];
        lumen__rfc3339_us_safe(a, ns);
        lumen__rfc3339_us(c, ns);
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(g, sizeof g, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(g + n, sizeof g - n, ".%06dZ", (int)(ns % 1000000000 / 1000));
        assert_string_equal(a, g);
        assert_string_equal(c, g);
    }
    int64_t a = lumen__mono_ns(), b = lumen__mono_ns();
    assert_true(b >= a);
    assert_true(lumen_now_ns() > 1700000000000000000LL);
}

static void test_core_rand__distinct_nonzero(void **state)
{
    (void)state;
    uint8_t id[16], prev[16] = {0};
    for (int i = 0; i < 1000; i++) {
        uint64_t hi = lumen__rand64(), lo = lumen__rand64();
        memcpy(id, &hi, 8);
        memcpy(id + 8, &lo, 8);
        uint8_t zero[16] = {0};
        assert_memory_not_equal(id, zero, 16);
        assert_memory_not_equal(id, prev, 16);
        memcpy(prev, id, 16);
    }
}

static void test_core_env__parsing(void **state)
{
    (void)state;
    setenv("LUMEN_T_INT", "42", 1);
    setenv("LUMEN_T_BAD", "4x", 1);
    setenv("LUMEN_T_EMPTY", "", 1);
    setenv("LUMEN_T_BOOL", " TRUE ", 1);
    assert_int_equal(lumen__env_int("LUMEN_T_INT", 7), 42);
    assert_int_equal(lumen__env_int("LUMEN_T_BAD", 7), 7);
    assert_int_equal(lumen__env_int("LUMEN_T_EMPTY", 7), 7);
    assert_null(lumen__env("LUMEN_T_EMPTY"));
    assert_true(lumen__env_bool("LUMEN_T_BOOL", false));
    assert_true(lumen__env_double("LUMEN_T_INT", 0.5) == 42.0);
}

static int diag_calls;
static char diag_last[256];
static void diag_hook(lumen_diag_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    diag_calls++;
    snprintf(diag_last, sizeof diag_last, "%s", msg);
}

static void test_core_diag__hook_filters_and_limits(void **state)
{
    (void)state;
    lumen__diag(LUMEN_DIAG_ERROR, "silent by default");
    assert_int_equal(diag_calls, 0);
    lumen_set_diag_hook(LUMEN_DIAG_WARN, diag_hook, NULL);
    lumen__diag(LUMEN_DIAG_INFO, "below level");
    assert_int_equal(diag_calls, 0);
    lumen__diag(LUMEN_DIAG_WARN, "value %d", 5);
    assert_int_equal(diag_calls, 1);
    assert_string_equal(diag_last, "value 5");
    for (int i = 0; i < 1000; i++)
        lumen__diag(LUMEN_DIAG_ERROR, "flood");
    assert_true(diag_calls >= 2 && diag_calls < 40);
    assert_string_equal(diag_last, "flood");
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, NULL, NULL);
}

static void noisy_site(void)
{
    lumen__diag(LUMEN_DIAG_ERROR, "noisy site");
}

static void quiet_site(void)
{
    lumen__diag(LUMEN_DIAG_ERROR, "quiet site");
}

/* The budget is per call site (common.h): a site flooding the hook is
 * throttled, another site still gets through, and the noisy site's next
 * message, once its budget refills, says how many of its own it lost. */
static void test_core_diag__rate_limit_per_call_site(void **state)
{
    (void)state;
    diag_calls = 0;
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, diag_hook, NULL);
    for (int i = 0; i < 1000; i++)
        noisy_site();
    int noisy = diag_calls;
    assert_true(noisy >= 1 && noisy <= 20);
    quiet_site();
    assert_int_equal(diag_calls, noisy + 1);
    assert_string_equal(diag_last, "quiet site");
    /* Its budget refills at 5 messages a second: poll, with a deadline. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        noisy_site();
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (diag_calls == noisy + 1 && t.tv_sec - t0.tv_sec < 10);
    assert_int_equal(diag_calls, noisy + 2);
    assert_non_null(strstr(diag_last, "noisy site ("));
    assert_non_null(strstr(diag_last, " more from here suppressed)"));
    lumen_set_diag_hook(LUMEN_DIAG_DEBUG, NULL, NULL);
}

static int ctx_calls;
static void *malloc_ctx(void *ctx, size_t n)
{
    ++*(int *)ctx;
    return malloc(n);
}
static void *realloc_ctx(void *ctx, void *p, size_t old, size_t n)
{
    (void)old;
    ++*(int *)ctx;
    return realloc(p, n);
}
static void free_ctx(void *ctx, void *p, size_t n)
{
    (void)n;
    if (ctx != NULL)
        ++*(int *)ctx;
    free(p);
}

static void test_core_alloc__hook_and_failure(void **state)
{
    (void)state;
    lt_failalloc_install();
    lt_failalloc_arm(0);
    lumen__buf b = LUMEN__BUF_INIT;
    lumen__buf_puts(&b, "x");
    assert_true(b.oom);
    assert_true(lt_failalloc_triggered());
    lt_failalloc_disarm();
    lumen__buf_free(&b);
    assert_int_equal(lt_failalloc_live(), 0);
    lt_failalloc_uninstall();
    /* A table without functions is refused, and so is one whose version
     * is 0 (never initialised) or newer than the library. */
    lumen_allocator bad = LUMEN_ALLOCATOR_INIT;
    assert_int_equal(bad.version, LUMEN_ALLOCATOR_VERSION);
    assert_int_equal(lumen_set_allocator(&bad), LUMEN_EINVAL);
    lumen_allocator zero;
    memset(&zero, 0, sizeof zero);
    zero.malloc = malloc_ctx;
    zero.realloc = realloc_ctx;
    zero.free = free_ctx;
    assert_int_equal(lumen_set_allocator(&zero), LUMEN_EVERSION);
    zero.version = LUMEN_ALLOCATOR_VERSION + 1;
    assert_int_equal(lumen_set_allocator(&zero), LUMEN_EVERSION);
    assert_int_equal(lumen_allocator_init(&zero, 0), LUMEN_EVERSION);
    assert_int_equal(lumen_allocator_init(NULL, LUMEN_ALLOCATOR_VERSION), LUMEN_EINVAL);
    assert_int_equal(lumen_allocator_init(&zero, LUMEN_ALLOCATOR_VERSION), LUMEN_OK);
    assert_null(zero.malloc);
    /* A valid table is used: every allocation goes through it. */
    zero.malloc = malloc_ctx;
    zero.realloc = realloc_ctx;
    zero.free = free_ctx;
    zero.ctx = &ctx_calls;
    ctx_calls = 0;
    assert_int_equal(lumen_set_allocator(&zero), LUMEN_OK);
    lumen__buf b2 = LUMEN__BUF_INIT;
    lumen__buf_puts(&b2, "y");
    lumen__buf_free(&b2);
    assert_int_equal(lumen_set_allocator(NULL), LUMEN_OK);
    assert_true(ctx_calls >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_fastclock__stamp_interval),
        cmocka_unit_test(test_core_status__names_and_messages),
        cmocka_unit_test(test_core_version__matches_macros),
        cmocka_unit_test(test_core_versioned__init_and_check),
        cmocka_unit_test(test_core_versioned__in_defaults_what_the_caller_lacks),
        cmocka_unit_test(test_core_versioned__out_stops_at_the_callers_size),
        cmocka_unit_test(test_core_buf__doubles_shortest_roundtrip),
        cmocka_unit_test(test_core_buf__doubles_ignore_locale),
        cmocka_unit_test(test_core_buf__grows_and_sticky_oom),
        cmocka_unit_test(test_core_escape__each_syntax),
        cmocka_unit_test(test_core_escape__invalid_utf8_replaced),
        cmocka_unit_test(test_core_utf8__repair_to_bounded),
        cmocka_unit_test(test_core_hex__unhex_and_case),
        cmocka_unit_test(test_core_hex__percent_decode_flags),
        cmocka_unit_test(test_core_clock__rfc3339),
        cmocka_unit_test(test_core_rand__distinct_nonzero),
        cmocka_unit_test(test_core_env__parsing),
        cmocka_unit_test(test_core_diag__hook_filters_and_limits),
        cmocka_unit_test(test_core_diag__rate_limit_per_call_site),
        cmocka_unit_test(test_core_alloc__hook_and_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
