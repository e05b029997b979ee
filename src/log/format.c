/*
 * log/format.c: the three formatters (JSON lines, logfmt, text) and the
 * field-name presets (lumen, OpenTelemetry flat names, ECS).
 *
 * Invariant: every byte that comes from the program (message, logger name,
 * keys, values, request id) passes through core/escape.c or the key
 * filter below, so a line always ends with exactly one '\n', contains no
 * other line feed, and is valid UTF-8. Strings longer than the handler's
 * max_value are cut on a UTF-8 boundary and marked, inside the quotes, so
 * the line stays valid.
 */
#include "log/log_int.h"

#include <math.h>
#include <string.h>

#include "core/clock.h"
#include "core/escape.h"

#define LIT(b, s) lumen__buf_add((b), (s), sizeof(s) - 1)

typedef struct preset {
    const char *ts, *level, *logger, *msg, *trace_id, *span_id, *trace_flags, *request_id;
    const char *file, *line, *func, *sevnum, *suppressed;
    bool upper;          /* level text in capitals */
    const char *prefix;  /* constant JSON members after the first three */
} preset;

static const preset PRESETS[3] = {
    [LUMEN_LOG_PRESET_LUMEN] = {"ts", "level", "logger", "msg", "trace_id", "span_id",
                                "trace_flags", "request_id", "file", "line", "func", NULL,
                                "suppressed", false, NULL},
    [LUMEN_LOG_PRESET_OTEL] = {"timestamp", "severity_text", "scope", "body", "trace_id",
                               "span_id", "trace_flags", "request_id", "code.filepath",
                               "code.lineno", "code.function", "severity_number",
                               "suppressed", true, NULL},
    [LUMEN_LOG_PRESET_ECS] = {"@timestamp", "log.level", "log.logger", "message", "trace.id",
                              "span.id", NULL, "http.request.id", "log.origin.file.name",
                              "log.origin.file.line", "log.origin.function", NULL,
                              "suppressed", false, "\"ecs.version\":\"8.11.0\""},
};

const char *lumen__log_level_upper(int level)
{
    switch (level) {
    case LUMEN_LOG_TRACE: return "TRACE";
    case LUMEN_LOG_DEBUG: return "DEBUG";
    case LUMEN_LOG_INFO: return "INFO";
    case LUMEN_LOG_WARN: return "WARN";
    case LUMEN_LOG_ERROR: return "ERROR";
    case LUMEN_LOG_FATAL: return "FATAL";
    default: return "UNKNOWN";
    }
}

/* ---- numbers ----------------------------------------------------------------- */

static const double POW10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* Shortest decimal with few fractional digits that reads back as v: find
 * the smallest k with round(v * 10^k) / 10^k == v exactly. Both sides are
 * exact integers and exact powers of ten below 2^53 and 1e22, so the
 * division is correctly rounded: the printed digits parse back to v. This
 * avoids snprintf("%.17g") (hundreds of ns) for the usual measured values;
 * anything else falls back to the core's shortest formatting. `out` needs
 * 32 bytes. */
static size_t fmt_float(char *out, double v)
{
    double a = fabs(v);
    if (a < 1e15 && a >= 1e-6) {
        for (int k = 1; k <= 17; k++) {
            double m = a * POW10[k];
            if (m >= 0x1p52)
                break;
            /* Round to the nearest integer with two additions: for
             * 0 <= m < 2^52, adding 2^52 leaves no fraction bits. Shorter
             * latency than a round trip through an integer register. */
            double r = (m + 0x1p52) - 0x1p52; /* not folded without -ffast-math */
            /* Cheap filter before the division: m must be within a few
             * ulps of an integer for k to be a candidate. */
            if (fabs(m - r) > m * 0x1p-49)
                continue;
            if (r / POW10[k] != a)
                continue;
            /* Written right to left straight into out (a bounce through
             * a local would stall on store forwarding): the digits of r,
             * the point after k of them, "0" before the point for values
             * below 1. */
            uint64_t u = (uint64_t)r;
            size_t nd = 1;
            for (uint64_t p10 = 10; nd < 17 && u >= p10; p10 *= 10)
                nd++;
            size_t intd = nd > (size_t)k ? nd - (size_t)k : 1;
            size_t len = (v < 0) + intd + 1 + (size_t)k;
            char *d = out + len;
            for (int i = 0; i < k; i++) {
                *--d = (char)('0' + u % 10);
                u /= 10;
            }
            *--d = '.';
            do {
                *--d = (char)('0' + u % 10);
                u /= 10;
            } while (u != 0);
            if (v < 0)
                *--d = '-';
            return len;
        }
    }
    return lumen__fmt_double(out, v);
}

/* Decimal digits straight into reserved room. */
static inline void put_u64(lumen__buf *b, uint64_t v, bool neg)
{
    if (!lumen__buf_reserve(b, 21))
        return;
    char tmp[24];
    char *e = tmp + sizeof tmp, *d = e;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (neg)
        *--d = '-';
    /* Copy a fixed 24 bytes (one or two vector moves) and keep what
     * counts; the room was reserved above. */
    char *o = b->p + b->len;
    size_t n = (size_t)(e - d);
    for (size_t i = 0; i < n; i++)
        o[i] = d[i];
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void put_i64(lumen__buf *b, int64_t v)
{
    if (v < 0)
        put_u64(b, (uint64_t)0 - (uint64_t)v, true);
    else
        put_u64(b, (uint64_t)v, false);
}

/* A fragment of at most 63 bytes stored in a 64-byte (or 32-byte) array:
 * copied with a fixed-size move into reserved room. */
static inline void put_frag(lumen__buf *b, const char *frag, size_t n, size_t size)
{
    if (!lumen__buf_reserve(b, 64))
        return;
    if (size == 32)
        memcpy(b->p + b->len, frag, 32);
    else
        memcpy(b->p + b->len, frag, 64);
    b->len += n;
    b->p[b->len] = '\0';
}

/* ---- strings -------------------------------------------------------------------- */

/* Bytes of s kept under the limit, on a UTF-8 boundary. */
static size_t cut_len(const char *s, size_t n, size_t max)
{
    return n <= max ? n : lumen__utf8_cut(s, n, max);
}

static void put_marker(lumen__buf *b, size_t dropped)
{
    LIT(b, "...[truncated ");
    lumen__buf_u64(b, dropped);
    LIT(b, " bytes]");
}

/* Bytes that end the fast copy: controls, '"', '\\', DEL and non-ASCII
 * (which must be checked as UTF-8). NUL is among them, which lets the key
 * loop find the end of a C string in the same pass. */
static const unsigned char SLOW[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Whether any of the 8 bytes in x needs the full escaper: a control
 * character (< 0x20), '"', '\\', DEL or a non-ASCII byte. The classic
 * "has a zero byte" test, applied to x itself and to x XOR each special
 * byte. */
static inline bool slow8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
#define HASZERO(v) (((v) - ones) & ~(v) & high)
    uint64_t ctl = (x - ones * 0x20) & ~x & high; /* a byte below 0x20 */
    return ((x & high) | ctl | HASZERO(x ^ (ones * '"')) | HASZERO(x ^ (ones * '\\')) |
            HASZERO(x ^ (ones * 0x7F))) != 0;
#undef HASZERO
}

/* Copy s[0..n) to o if no byte needs escaping, 8 bytes at a time; returns
 * false at the first word (or byte) that does. */
static inline bool copy_clean(char *o, const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (LUMEN_UNLIKELY(slow8(x)))
            return false;
        memcpy(o + i, &x, 8);
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (LUMEN_UNLIKELY(SLOW[c]))
            return false;
        o[i] = (char)c;
    }
    return true;
}

/* The common case of a short printable-ASCII string, copied straight into
 * reserved room with its quotes: no call per piece. Returns false (having
 * written nothing that counts) when the string needs the full escaper. */
static inline bool json_str_fast(lumen__buf *b, const char *s, size_t n)
{
    if (n > 256 || !lumen__buf_reserve(b, n + 2))
        return false;
    char *o = b->p + b->len;
    if (!copy_clean(o + 1, s, n))
        return false;
    o[0] = '"';
    o[n + 1] = '"';
    b->len += n + 2;
    b->p[b->len] = '\0';
    return true;
}

/* A JSON string value with quotes, cut and marked when too long. */
static void json_val(lumen__buf *b, const char *s, size_t n, size_t max)
{
    if (LUMEN_LIKELY(n <= max) && json_str_fast(b, s, n))
        return;
    size_t k = cut_len(s, n, max);
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, k, 0);
    if (k < n)
        put_marker(b, n - k);
    lumen__buf_putc(b, '"');
}

/* A logfmt value: bare when safe, else quoted; a cut value is always
 * quoted because the marker has spaces. The quoted form's escapes equal
 * JSON's (\" \\ \n \r \t \uXXXX), which go-logfmt decodes. */
static void logfmt_val(lumen__buf *b, const char *s, size_t n, size_t max)
{
    size_t k = cut_len(s, n, max);
    if (k == n) {
        lumen__esc_logfmt(b, s, n);
        return;
    }
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, k, 0);
    put_marker(b, n - k);
    lumen__buf_putc(b, '"');
}

/* A logfmt key: go-logfmt's rule drops bytes <= ' ', '=', '"', DEL and
 * invalid UTF-8; an empty result becomes "_". */
static void logfmt_key(lumen__buf *b, const char *k)
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
            if (l > 0)
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

enum { F_JSON, F_LOGFMT, F_TEXT };

static void value(lumen__buf *b, const lumen_field *f, int fmt, size_t max)
{
    char tmp[LUMEN__DBL_MAX + 8];
    switch (f->type) {
    case LUMEN_FIELD_STR:
        if (fmt == F_JSON)
            json_val(b, f->v.s, f->len, max);
        else
            logfmt_val(b, f->v.s, f->len, max);
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
            b->len += fmt_float(b->p + b->len, f->v.d);
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
            put_marker(b, n - keep);
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

static void json_key(lumen__buf *b, const char *k)
{
    /* Fast path: a short clean key copied in words. */
    size_t n = strlen(k);
    if (LUMEN_LIKELY(n <= 64) && lumen__buf_reserve(b, n + 4)) {
        char *o = b->p + b->len;
        if (copy_clean(o + 2, k, n)) {
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

static void json_fields(lumen__buf *b, const lumen_field *f, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        json_key(b, f[i].key ? f[i].key : "");
        value(b, &f[i], F_JSON, max);
    }
}

static void frag(char *dst, size_t size, uint8_t *len, lumen__buf *tmp)
{
    size_t n = tmp->len < size ? tmp->len : size - 1;
    memset(dst, 0, size);
    memcpy(dst, tmp->p, n);
    *len = (uint8_t)n;
    tmp->len = 0;
}

void lumen__log_frags(lumen_log_handler *h)
{
    const preset *p = &PRESETS[h->preset];
    char mem[128];
    lumen__buf t;
    lumen__buf_fixed(&t, mem, sizeof mem);
    LIT(&t, "{\"");
    lumen__buf_puts(&t, p->ts);
    LIT(&t, "\":\"");
    frag(h->frag_head, sizeof h->frag_head, &h->frag_head_len, &t);
    for (int i = 0; i < 6; i++) {
        int level = i * 4 + 1;
        LIT(&t, "\",\"");
        lumen__buf_puts(&t, p->level);
        LIT(&t, "\":\"");
        lumen__buf_puts(&t, p->upper ? lumen__log_level_upper(level)
                                     : lumen_log_level_name((lumen_log_level)level));
        lumen__buf_putc(&t, '"');
        if (p->sevnum != NULL) {
            LIT(&t, ",\"");
            lumen__buf_puts(&t, p->sevnum);
            LIT(&t, "\":");
            lumen__buf_i64(&t, level);
        }
        frag(h->frag_level[i], sizeof h->frag_level[i], &h->frag_level_len[i], &t);
    }
    LIT(&t, ",\"");
    lumen__buf_puts(&t, p->logger);
    LIT(&t, "\":");
    frag(h->frag_logger, sizeof h->frag_logger, &h->frag_logger_len, &t);
    LIT(&t, ",\"");
    lumen__buf_puts(&t, p->msg);
    LIT(&t, "\":");
    frag(h->frag_msg, sizeof h->frag_msg, &h->frag_msg_len, &t);
}

static void format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    const preset *p = &PRESETS[h->preset];
    if (!lumen__buf_reserve(b, 512))
        return;
    put_frag(b, h->frag_head, h->frag_head_len, 32);
    lumen__rfc3339_us(b->p + b->len, r->ts_ns);
    b->len += 27;
    int idx = (r->level - 1) / 4;
    put_frag(b, h->frag_level[idx], h->frag_level_len[idx], 64);
    if (h->preset == LUMEN_LOG_PRESET_ECS) {
        /* ECS wants @timestamp, log.level, message first. */
        put_frag(b, h->frag_msg, h->frag_msg_len, 32);
        json_val(b, r->msg, r->msg_len, h->max_value);
        lumen__buf_putc(b, ',');
        lumen__buf_puts(b, p->prefix);
    }
    if (r->lg->name_len > 0) {
        put_frag(b, h->frag_logger, h->frag_logger_len, 32);
        lumen__buf_add(b, r->lg->name_json, r->lg->name_json_len);
    }
    if (h->preset != LUMEN_LOG_PRESET_ECS) {
        put_frag(b, h->frag_msg, h->frag_msg_len, 32);
        json_val(b, r->msg, r->msg_len, h->max_value);
    }
    const lumen__tctx *c = r->ctx;
    if (c->has_span) {
        json_key(b, p->trace_id);
        lumen__buf_putc(b, '"');
        lumen__buf_hex(b, c->trace_id, 16);
        lumen__buf_putc(b, '"');
        json_key(b, p->span_id);
        lumen__buf_putc(b, '"');
        lumen__buf_hex(b, c->span_id, 8);
        lumen__buf_putc(b, '"');
        if (p->trace_flags != NULL) {
            json_key(b, p->trace_flags);
            lumen__buf_putc(b, '"');
            lumen__buf_hex(b, &c->trace_flags, 1);
            lumen__buf_putc(b, '"');
        }
    }
    if (c->request_id_len > 0) {
        json_key(b, p->request_id);
        json_val(b, c->request_id, c->request_id_len, LUMEN__REQUEST_ID_MAX);
    }
    if ((h->flags & LUMEN_LOG_SOURCE) && r->src != NULL) {
        json_key(b, p->file);
        json_val(b, r->src->file, strlen(r->src->file), 4096);
        json_key(b, p->line);
        lumen__buf_i64(b, r->src->line);
        json_key(b, p->func);
        json_val(b, r->src->func, strlen(r->src->func), 4096);
    }
    if (r->suppressed > 0) {
        json_key(b, p->suppressed);
        lumen__buf_u64(b, r->suppressed);
    }
    json_fields(b, r->lg->bound.f, r->lg->bound.n, h->max_value);
    json_fields(b, r->f, r->n, h->max_value);
    LIT(b, "}\n");
}

/* ---- logfmt and text -------------------------------------------------------------- */

static void kv_key(lumen__buf *b, const char *k)
{
    lumen__buf_putc(b, ' ');
    logfmt_key(b, k);
    lumen__buf_putc(b, '=');
}

static void kv_fields(lumen__buf *b, const lumen_field *f, size_t n, int fmt, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        kv_key(b, f[i].key);
        value(b, &f[i], fmt, max);
    }
}

/* The parts logfmt and text share after the message. */
static void kv_tail(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b, int fmt)
{
    const preset *p = &PRESETS[h->preset];
    const lumen__tctx *c = r->ctx;
    if (c->has_span) {
        kv_key(b, p->trace_id);
        lumen__buf_hex(b, c->trace_id, 16);
        kv_key(b, p->span_id);
        lumen__buf_hex(b, c->span_id, 8);
        if (p->trace_flags != NULL) {
            kv_key(b, p->trace_flags);
            lumen__buf_hex(b, &c->trace_flags, 1);
        }
    }
    if (c->request_id_len > 0) {
        kv_key(b, p->request_id);
        logfmt_val(b, c->request_id, c->request_id_len, LUMEN__REQUEST_ID_MAX);
    }
    if ((h->flags & LUMEN_LOG_SOURCE) && r->src != NULL) {
        kv_key(b, p->file);
        logfmt_val(b, r->src->file, strlen(r->src->file), 4096);
        kv_key(b, p->line);
        lumen__buf_i64(b, r->src->line);
        kv_key(b, p->func);
        logfmt_val(b, r->src->func, strlen(r->src->func), 4096);
    }
    if (r->suppressed > 0) {
        kv_key(b, p->suppressed);
        lumen__buf_u64(b, r->suppressed);
    }
    kv_fields(b, r->lg->bound.f, r->lg->bound.n, fmt, h->max_value);
    kv_fields(b, r->f, r->n, fmt, h->max_value);
    lumen__buf_putc(b, '\n');
}

static void format_logfmt(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    const preset *p = &PRESETS[h->preset];
    char ts[32];
    lumen__rfc3339_us(ts, r->ts_ns);
    logfmt_key(b, p->ts);
    lumen__buf_putc(b, '=');
    lumen__buf_add(b, ts, 27);
    kv_key(b, p->level);
    lumen__buf_puts(b, p->upper ? lumen__log_level_upper(r->level)
                                : lumen_log_level_name((lumen_log_level)r->level));
    if (p->sevnum != NULL) {
        kv_key(b, p->sevnum);
        lumen__buf_i64(b, r->level);
    }
    if (r->lg->name_len > 0) {
        kv_key(b, p->logger);
        logfmt_val(b, r->lg->name, r->lg->name_len, LUMEN__LOG_NAME_MAX);
    }
    kv_key(b, p->msg);
    logfmt_val(b, r->msg, r->msg_len, h->max_value);
    kv_tail(h, r, b, F_LOGFMT);
}

static const char *const COLORS[] = {"\x1b[90m", "\x1b[36m", "\x1b[32m", "\x1b[33m",
                                     "\x1b[31m", "\x1b[35;1m"};

static void format_text(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    char ts[32];
    lumen__rfc3339_us(ts, r->ts_ns);
    lumen__buf_add(b, ts, 27);
    lumen__buf_putc(b, ' ');
    int idx = (r->level - 1) / 4;
    if (idx < 0 || idx > 5)
        idx = 5;
    if (h->color)
        lumen__buf_puts(b, COLORS[idx]);
    const char *lv = lumen__log_level_upper(r->level);
    lumen__buf_puts(b, lv);
    if (h->color)
        LIT(b, "\x1b[0m");
    for (size_t i = strlen(lv); i < 6; i++)
        lumen__buf_putc(b, ' ');
    if (r->lg->name_len > 0) {
        /* The name and message are escaped like a JSON string's inside
         * (control characters, including ESC, become \u00XX), so a value
         * cannot move the cursor or forge a line on a terminal. */
        lumen__esc_json(b, r->lg->name, r->lg->name_len, 0);
        LIT(b, ": ");
    }
    size_t k = cut_len(r->msg, r->msg_len, h->max_value);
    lumen__esc_json(b, r->msg, k, 0);
    if (k < r->msg_len)
        put_marker(b, r->msg_len - k);
    kv_tail(h, r, b, F_TEXT);
}

void lumen__log_format(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    switch (h->format) {
    case LUMEN_LOG_FORMAT_LOGFMT: format_logfmt(h, r, b); break;
    case LUMEN_LOG_FORMAT_TEXT: format_text(h, r, b); break;
    default: format_json(h, r, b); break;
    }
}
