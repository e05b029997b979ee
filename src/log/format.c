/*
 * log/format.c: what the three formatters share: the field-name presets
 * (lumen, OpenTelemetry flat names, ECS) and the writers of values and
 * strings (numbers without snprintf, strings through the escapers).
 *
 * Invariant: every byte that comes from the program (message, logger name,
 * keys, values, request id) passes through core/escape.c, the clean-ASCII
 * fast copy (which takes only bytes that need no escaping) or the logfmt
 * key filter, so a line always ends with exactly one '\n', contains no
 * other line feed, and is valid UTF-8. Strings longer than the handler's
 * max_value are cut on a UTF-8 boundary and marked, inside the quotes, so
 * the line stays valid.
 */
#include "log/format.h"

#include <math.h>

#include "core/escape.h"

const lumen__log_preset lumen__log_presets[3] = {
    [LUMEN_LOG_PRESET_LUMEN] = {"ts", "level", "logger", "msg", "trace_id", "span_id",
                                "trace_flags", "request_id", "file", "line", "func", NULL,
                                "suppressed", false, NULL},
    [LUMEN_LOG_PRESET_OTEL] = {"timestamp", "severity_text", "scope", "body", "trace_id", "span_id",
                               "trace_flags", "request_id", "code.filepath", "code.lineno",
                               "code.function", "severity_number", "suppressed", true, NULL},
    [LUMEN_LOG_PRESET_ECS] = {"@timestamp", "log.level", "log.logger", "message", "trace.id",
                              "span.id", NULL, "http.request.id", "log.origin.file.name",
                              "log.origin.file.line", "log.origin.function", NULL, "suppressed",
                              false, "\"ecs.version\":\"8.11.0\""},
};

/* Per preset, for each first byte, a mask of the lengths (below 32) of the
 * preset's own keys that start with it: a user key is compared with the
 * keys only when its first byte and length both match one. Built once. */
uint32_t lumen__log_reserved_len[3][256];

static const char *const *preset_keys(int preset, const char *keys[16])
{
    const lumen__log_preset *p = &lumen__log_presets[preset];
    const char *all[] = {p->ts,          p->level,
                         p->logger,      p->msg,
                         p->trace_id,    p->span_id,
                         p->trace_flags, p->request_id,
                         p->file,        p->line,
                         p->func,        p->sevnum,
                         p->suppressed,  preset == LUMEN_LOG_PRESET_ECS ? "ecs.version" : NULL};
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] != NULL)
            keys[n++] = all[i];
    keys[n] = NULL;
    return keys;
}

__attribute__((constructor)) static void init_reserved(void)
{
    for (int p = 0; p < 3; p++) {
        const char *keys[16];
        for (const char *const *k = preset_keys(p, keys); *k; k++) {
            size_t n = strlen(*k);
            if (n < 32)
                lumen__log_reserved_len[p][(unsigned char)(*k)[0]] |= 1u << n;
        }
    }
}

bool lumen__log_reserved(int preset, const char *k, size_t n)
{
    if (LUMEN_LIKELY(!lumen__log_reserved_maybe(preset, k, n)))
        return false;
    const char *keys[16];
    for (const char *const *r = preset_keys(preset, keys); *r; r++)
        if (strlen(*r) == n && memcmp(*r, k, n) == 0)
            return true;
    return false;
}

/* ---- numbers ----------------------------------------------------------------- */

static const double POW10[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* "ip.fff": v's sign, the integer part ip and the k digits of fp (k >= 1,
 * fp < 10^k), straight into out (a bounce through a local would stall on
 * store forwarding), the fraction right to left, two digits per step. */
static inline size_t put_decimal(char *out, bool neg, uint64_t ip, uint64_t fp, int k)
{
    char *d = out;
    if (neg)
        *d++ = '-';
    d += lumen__log_fmt_u64(d, ip);
    *d = '.';
    char *e = d + 1 + k;
    d = e;
    int i = k;
    for (; i >= 2; i -= 2) {
        uint64_t q = fp / 100;
        d -= 2;
        memcpy(d, lumen__digits2 + 2 * (fp - q * 100), 2);
        fp = q;
    }
    if (i > 0)
        d[-1] = (char)('0' + fp);
    return (size_t)(e - out);
}

/*
 * Shortest decimal with few fractional digits that reads back as v: the
 * smallest k >= 1 with round(v * 10^k) / 10^k == v exactly. Both sides are
 * exact integers and exact powers of ten below 2^53 and 1e22, so the
 * division is correctly rounded: the printed digits parse back to v. This
 * avoids snprintf("%.17g") (hundreds of ns) for the usual measured values;
 * anything else falls back to the core's shortest formatting. `out` needs
 * 40 bytes.
 *
 * Why the fast path finds the same k as the search below it. Write a for
 * |v|. If some k0 <= K passes the test with the integer u0, then
 * |a - u0 / 10^k0| <= a * 2^-53, so a * 10^K, computed, is within
 * a * 10^K * 2^-52 of the integer u0 * 10^(K - k0): below 0.5 when
 * a * 10^K < 2^51, so that integer is exactly round(a * 10^K). Taking K
 * as large as that allows and dropping the trailing zeros of
 * round(a * 10^K) (down to k = 1) therefore leaves k <= k0 for every
 * passing k0; a k that then passes the test is the smallest that does,
 * with the same integer as the search's (the same bound at k). When it
 * does not pass, the search decides.
 */
size_t lumen__log_fmt_float(char *out, double v)
{
    double a = fabs(v);
    if (!(a < 1e15 && a >= 1e-6))
        return lumen__fmt_double(out, v);
    /* a < 2^(e+1); with K <= (50 - e) * log10(2), a * 10^K < 2^51.
     * 1233 / 4096 is just below log10(2). a >= 1e-6 is normal. */
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e = (int)(bits >> 52) - 1023;
    int K = ((50 - e) * 1233) >> 12;
    if (K > 17)
        K = 17;
    if (K >= 1) {
        double m = a * POW10[K];
        /* Round to the nearest integer with two additions: for
         * 0 <= m < 2^52, adding 2^52 leaves no fraction bits. */
        double r = (m + 0x1p52) - 0x1p52; /* not folded without -ffast-math */
        /* Conversions through int64_t: one instruction, where one to
         * uint64_t needs a branch (every value here is below 2^53). */
        uint64_t u = (uint64_t)(int64_t)r;
        int k = K;
        /* Drop min(trailing zeros, K - 1) zeros: at most 15, in steps
         * of 8, 4, 2 and 1. */
        if (k > 8 && u % 100000000 == 0) {
            u /= 100000000;
            k -= 8;
        }
        if (k > 4 && u % 10000 == 0) {
            u /= 10000;
            k -= 4;
        }
        if (k > 2 && u % 100 == 0) {
            u /= 100;
            k -= 2;
        }
        if (k > 1 && u % 10 == 0) {
            u /= 10;
            k -= 1;
        }
        if ((double)(int64_t)u / POW10[k] == a) {
            /* The integer part of v is that of u / 10^k: v is within
             * u / 10^k * 2^-53 < 0.5 / 10^k of it, less than the
             * quotient's distance to any integer it is not. (10^k up to
             * 1e17 is exact.) */
            uint64_t ip = (uint64_t)(int64_t)a;
            return put_decimal(out, v < 0, ip, u - ip * (uint64_t)(int64_t)POW10[k], k);
        }
    }
    for (int k = 1; k <= 17; k++) {
        double m = a * POW10[k];
        if (m >= 0x1p52)
            break;
        double r = (m + 0x1p52) - 0x1p52;
        /* Cheap filter before the division: m must be within a few ulps
         * of an integer for k to be a candidate. */
        if (fabs(m - r) > m * 0x1p-49)
            continue;
        if (r / POW10[k] != a)
            continue;
        uint64_t u = (uint64_t)(int64_t)r, ip = (uint64_t)(int64_t)a;
        return put_decimal(out, v < 0, ip, u - ip * (uint64_t)(int64_t)POW10[k], k);
    }
    return lumen__fmt_double(out, v);
}

/* Decimal digits straight into reserved room. */
static inline void put_u64(lumen__buf *b, uint64_t v, bool neg)
{
    if (!lumen__buf_reserve(b, 21))
        return;
    char *o = b->p + b->len;
    if (neg)
        *o++ = '-';
    b->len += neg + lumen__log_fmt_u64(o, v);
    b->p[b->len] = '\0';
}

static inline void put_i64(lumen__buf *b, int64_t v)
{
    if (v < 0)
        put_u64(b, (uint64_t)0 - (uint64_t)v, true);
    else
        put_u64(b, (uint64_t)v, false);
}

/* ---- strings -------------------------------------------------------------------- */

/* Bytes of s kept under the limit, on a UTF-8 boundary. */
size_t lumen__log_cut_len(const char *s, size_t n, size_t max)
{
    return n <= max ? n : lumen__utf8_cut(s, n, max);
}

void lumen__log_put_marker(lumen__buf *b, size_t dropped)
{
    LIT(b, "...[truncated ");
    lumen__buf_u64(b, dropped);
    LIT(b, " bytes]");
}

/* The common case of a short printable-ASCII string, copied straight into
 * reserved room with its quotes: no call per piece. Returns false (having
 * written nothing that counts) when the string needs the full escaper. */
static inline bool json_str_fast(lumen__buf *b, const char *s, size_t n)
{
    if (n > 256 || !lumen__buf_reserve(b, n + 2))
        return false;
    char *o = b->p + b->len;
    if (!lumen__log_copy_clean(o + 1, s, n))
        return false;
    o[0] = '"';
    o[n + 1] = '"';
    b->len += n + 2;
    b->p[b->len] = '\0';
    return true;
}

/* A JSON string value with quotes, cut and marked when too long. */
void lumen__log_json_val(lumen__buf *b, const char *s, size_t n, size_t max)
{
    if (LUMEN_LIKELY(n <= max) && json_str_fast(b, s, n))
        return;
    size_t k = lumen__log_cut_len(s, n, max);
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, k, 0);
    if (k < n)
        lumen__log_put_marker(b, n - k);
    lumen__buf_putc(b, '"');
}

/* A logfmt value: bare when safe, else quoted; a cut value is always
 * quoted because the marker has spaces. The quoted form's escapes equal
 * JSON's (\" \\ \n \r \t \uXXXX), which go-logfmt decodes. */
void lumen__log_logfmt_val(lumen__buf *b, const char *s, size_t n, size_t max)
{
    size_t k = lumen__log_cut_len(s, n, max);
    if (k == n) {
        lumen__esc_logfmt(b, s, n);
        return;
    }
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, k, 0);
    lumen__log_put_marker(b, n - k);
    lumen__buf_putc(b, '"');
}

/* A logfmt key: go-logfmt's rule drops bytes <= ' ', '=', '"', DEL and
 * invalid UTF-8, and lumen also drops U+2028 and U+2029 (a key cannot be
 * quoted, and JavaScript and some viewers end a line there); an empty
 * result becomes "_". */
void lumen__log_logfmt_key(lumen__buf *b, const char *k)
{
    const unsigned char *u = (const unsigned char *)(k ? k : "");
    size_t n = strlen((const char *)u);
    size_t start = b->len;
    size_t run = 0, i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c > ' ' && c != '=' && c != '"' && c < 0x7F) {
            i++;
            continue;
        }
        lumen__buf_add(b, u + run, i - run);
        if (c >= 0x80) {
            size_t l = lumen__utf8_seq(u + i, n - i);
            bool sep =
                l == 3 && c == 0xE2 && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9);
            if (l > 0 && !sep)
                lumen__buf_add(b, u + i, l);
            i += l ? l : 1;
        } else {
            i++;
        }
        run = i;
    }
    lumen__buf_add(b, u + run, n - run);
    if (b->len == start)
        lumen__buf_putc(b, '_');
}

/* ---- values ---------------------------------------------------------------------- */

void lumen__log_value(lumen__buf *b, const lumen_field *f, int fmt, size_t max)
{
    char tmp[LUMEN__DBL_MAX + 8];
    switch (f->type) {
    case LUMEN_FIELD_STR:
        if (fmt == F_JSON)
            lumen__log_json_val(b, f->v.s, f->len, max);
        else
            lumen__log_logfmt_val(b, f->v.s, f->len, max);
        return;
    case LUMEN_FIELD_INT:
        put_i64(b, f->v.i);
        return;
    case LUMEN_FIELD_UINT:
        put_u64(b, f->v.u, false);
        return;
    case LUMEN_FIELD_FLOAT: {
        if (LUMEN_LIKELY(isfinite(f->v.d))) {
            if (!lumen__buf_reserve(b, 40))
                return;
            b->len += lumen__log_fmt_float(b->p + b->len, f->v.d);
            b->p[b->len] = '\0';
            return;
        }
        /* JSON has no NaN or infinities: write them as strings. */
        size_t n = lumen__fmt_double(tmp, f->v.d);
        bool q = fmt == F_JSON;
        if (q)
            lumen__buf_putc(b, '"');
        lumen__buf_add(b, tmp, n);
        if (q)
            lumen__buf_putc(b, '"');
        return;
    }
    case LUMEN_FIELD_BOOL:
        if (f->v.b)
            LIT(b, "true");
        else
            LIT(b, "false");
        return;
    case LUMEN_FIELD_BYTES: {
        size_t n = f->len, keep = n <= max / 2 ? n : max / 2;
        bool q = fmt == F_JSON || keep < n;
        if (q)
            lumen__buf_putc(b, '"');
        if (n == 0 && !q)
            LIT(b, "\"\"");
        lumen__buf_hex(b, f->v.p, keep);
        if (keep < n)
            lumen__log_put_marker(b, n - keep);
        if (q)
            lumen__buf_putc(b, '"');
        return;
    }
    case LUMEN_FIELD_STATUS: {
        const char *s = lumen_status_name((int)f->v.i);
        if (fmt == F_JSON)
            lumen__json_str(b, s, strlen(s));
        else
            lumen__buf_puts(b, s);
        return;
    }
    default:
        /* An unknown type (a hand-built field) is written as null rather
         * than guessed at. */
        if (fmt == F_JSON)
            LIT(b, "null");
        else
            LIT(b, "\"\"");
        return;
    }
}

/* ---- JSON ------------------------------------------------------------------------- */

void lumen__log_json_key(lumen__buf *b, const char *k)
{
    /* Fast path: a short clean key copied in words. */
    size_t n = strlen(k);
    if (LUMEN_LIKELY(n <= 64) && lumen__buf_reserve(b, n + 4)) {
        char *o = b->p + b->len;
        if (lumen__log_copy_clean(o + 2, k, n)) {
            o[0] = ',';
            o[1] = '"';
            o[n + 2] = '"';
            o[n + 3] = ':';
            b->len += n + 4;
            b->p[b->len] = '\0';
            return;
        }
    }
    LIT(b, ",\"");
    lumen__esc_json(b, k, n, 0);
    LIT(b, "\":");
}
