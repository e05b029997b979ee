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
 * anything else falls back to the core's shortest formatting. */
static size_t fmt_float(char *out, double v)
{
    double a = fabs(v);
    if (a < 1e15 && a >= 1e-6 && isfinite(v)) {
        for (int k = 1; k <= 17; k++) {
            double m = a * POW10[k];
            if (m >= 9007199254740992.0)
                break;
            double r = nearbyint(m);
            if (r / POW10[k] == a) {
                uint64_t u = (uint64_t)r;
                char dig[24];
                size_t nd = lumen__fmt_u64(dig, u);
                size_t o = 0;
                if (v < 0)
                    out[o++] = '-';
                if (nd <= (size_t)k) {
                    out[o++] = '0';
                    out[o++] = '.';
                    for (size_t z = nd; z < (size_t)k; z++)
                        out[o++] = '0';
                    memcpy(out + o, dig, nd);
                    o += nd;
                } else {
                    memcpy(out + o, dig, nd - (size_t)k);
                    o += nd - (size_t)k;
                    out[o++] = '.';
                    memcpy(out + o, dig + nd - (size_t)k, (size_t)k);
                    o += (size_t)k;
                }
                /* Drop trailing zeros of the fraction (k is minimal, so
                 * there are none unless the value is integral). */
                return o;
            }
        }
    }
    return lumen__fmt_double(out, v);
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

/* A JSON string value with quotes, cut and marked when too long. */
static void json_val(lumen__buf *b, const char *s, size_t n, size_t max)
{
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
        lumen__buf_i64(b, f->v.i);
        return;
    case LUMEN_FIELD_UINT:
        lumen__buf_u64(b, f->v.u);
        return;
    case LUMEN_FIELD_FLOAT: {
        size_t n = fmt_float(tmp, f->v.d);
        /* JSON has no NaN or infinities: write them as strings. */
        bool q = fmt == F_JSON && !isfinite(f->v.d);
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
    LIT(b, ",\"");
    lumen__esc_json(b, k, strlen(k), 0);
    LIT(b, "\":");
}

static void json_fields(lumen__buf *b, const lumen_field *f, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        json_key(b, f[i].key ? f[i].key : "");
        value(b, &f[i], F_JSON, max);
    }
}

static void format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    const preset *p = &PRESETS[h->preset];
    char ts[32];
    lumen__rfc3339_us(ts, r->ts_ns);
    if (!lumen__buf_reserve(b, 256))
        return;
    LIT(b, "{\"");
    lumen__buf_puts(b, p->ts);
    LIT(b, "\":\"");
    lumen__buf_add(b, ts, 27);
    LIT(b, "\",\"");
    lumen__buf_puts(b, p->level);
    LIT(b, "\":\"");
    lumen__buf_puts(b, p->upper ? lumen__log_level_upper(r->level)
                                : lumen_log_level_name((lumen_log_level)r->level));
    lumen__buf_putc(b, '"');
    if (h->preset == LUMEN_LOG_PRESET_ECS) {
        /* ECS wants @timestamp, log.level, message first. */
        LIT(b, ",\"message\":");
        json_val(b, r->msg, r->msg_len, h->max_value);
        lumen__buf_putc(b, ',');
        lumen__buf_puts(b, p->prefix);
    }
    if (p->sevnum != NULL) {
        json_key(b, p->sevnum);
        lumen__buf_i64(b, r->level);
    }
    if (r->lg->name_len > 0) {
        json_key(b, p->logger);
        json_val(b, r->lg->name, r->lg->name_len, LUMEN__LOG_NAME_MAX);
    }
    if (h->preset != LUMEN_LOG_PRESET_ECS) {
        json_key(b, p->msg);
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
