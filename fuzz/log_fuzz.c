/*
 * fuzz/log_fuzz.c: the log formatters on arbitrary messages, keys and
 * values. Every JSON line must pass a strict validator (RFC 8259 object of
 * members, valid UTF-8, no raw control characters, one final '\n', none
 * of the lumen preset's own keys twice at the top level), and
 * every logfmt or text line must be one line of valid UTF-8.
 *
 * Input: byte 0 picks the handler (format, preset, value limit); the rest
 * is cut at 0xFF bytes into the message, then (type byte + key, value)
 * pairs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>

#include "core/escape.h"
#include "lumen/log.h"

/* strndup without reading past n (the input is not NUL-terminated). */
static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static bool failed_line;
static int cur_format;

/* ---- a strict JSON validator ------------------------------------------------ */

typedef struct {
    const unsigned char *p, *e;
} cur;

static void ws(cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static bool str(cur *c)
{
    if (c->p >= c->e || *c->p != '"')
        return false;
    c->p++;
    while (c->p < c->e) {
        unsigned char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->e)
                return false;
            unsigned char x = *c->p++;
            if (x == 'u') {
                for (int i = 0; i < 4; i++, c->p++)
                    if (c->p >= c->e || !strchr("0123456789abcdefABCDEF", *c->p) || !*c->p)
                        return false;
            } else if (!strchr("\"\\/bfnrt", x) || x == 0) {
                return false;
            }
            continue;
        }
        if (ch >= 0x80) {
            size_t l = lumen__utf8_seq(c->p, (size_t)(c->e - c->p));
            if (l == 0)
                return false;
            c->p += l;
            continue;
        }
        c->p++;
    }
    return false;
}

static bool num(cur *c)
{
    const unsigned char *s = c->p;
    if (c->p < c->e && *c->p == '-')
        c->p++;
    if (c->p >= c->e)
        return false;
    if (*c->p == '0')
        c->p++;
    else if (*c->p >= '1' && *c->p <= '9')
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    else
        return false;
    if (c->p < c->e && *c->p == '.') {
        c->p++;
        if (c->p >= c->e || *c->p < '0' || *c->p > '9')
            return false;
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->e && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->e && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->e || *c->p < '0' || *c->p > '9')
            return false;
        while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    return c->p > s;
}

static bool lit(cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool value(cur *c, int depth);

/* The lumen preset's own keys, counted at the top level of a line: each
 * must appear at most once, whatever keys the fields have. */
static const char *const OWN[] = {"ts",       "level",   "logger",      "msg",
                                  "trace_id", "span_id", "trace_flags", "request_id",
                                  "file",     "line",    "func",        "suppressed"};
static int own_seen[sizeof OWN / sizeof OWN[0]];

static void count_own(const unsigned char *k, size_t n)
{
    for (size_t i = 0; i < sizeof OWN / sizeof OWN[0]; i++)
        if (strlen(OWN[i]) == n && memcmp(OWN[i], k, n) == 0)
            own_seen[i]++;
}

static bool object(cur *c, int depth)
{
    c->p++; /* '{' */
    ws(c);
    if (c->p < c->e && *c->p == '}') {
        c->p++;
        return true;
    }
    for (;;) {
        ws(c);
        const unsigned char *k = c->p;
        if (!str(c))
            return false;
        if (depth == 0)
            count_own(k + 1, (size_t)(c->p - k) - 2);
        ws(c);
        if (c->p >= c->e || *c->p++ != ':')
            return false;
        if (!value(c, depth + 1))
            return false;
        ws(c);
        if (c->p < c->e && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->e && *c->p == '}') {
            c->p++;
            return true;
        }
        return false;
    }
}

static bool value(cur *c, int depth)
{
    if (depth > 16)
        return false;
    ws(c);
    if (c->p >= c->e)
        return false;
    switch (*c->p) {
    case '{':
        return object(c, depth);
    case '"':
        return str(c);
    case 't':
        return lit(c, "true");
    case 'f':
        return lit(c, "false");
    case 'n':
        return lit(c, "null");
    default:
        return num(c);
    }
}

static bool valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = lumen__utf8_seq(p + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

static void on_line(lumen_log_level level, const char *line, size_t len, void *ud)
{
    (void)level;
    bool lumen_preset = ud != NULL;
    const unsigned char *p = (const unsigned char *)line;
    if (len == 0 || p[len - 1] != '\n' || memchr(p, '\n', len - 1) != NULL || !valid_utf8(p, len))
        failed_line = true;
    if (getenv("LOG_FUZZ_SHOW"))
        fprintf(stderr, "%.*s", (int)len, line);
    if (cur_format == LUMEN_LOG_FORMAT_JSON) {
        memset(own_seen, 0, sizeof own_seen);
        cur c = {p, p + len - 1};
        ws(&c);
        if (c.p >= c.e || *c.p != '{' || !object(&c, 0))
            failed_line = true;
        ws(&c);
        if (c.p != c.e)
            failed_line = true;
        /* No field forges one of the record's own keys. */
        for (size_t i = 0; lumen_preset && i < sizeof OWN / sizeof OWN[0]; i++)
            if (own_seen[i] > 1)
                failed_line = true;
    }
}

/* ---- the target ---------------------------------------------------------------- */

#define NH 7
static lumen_logger *loggers[NH];
static int devnull;
static int formats[NH];

static void setup(void)
{
    devnull = open("/dev/null", O_WRONLY);
    static const struct {
        int format, preset;
        size_t max;
    } cfg[NH] = {
        {LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 0},
        {LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_OTEL, 0},
        {LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_ECS, 0},
        {LUMEN_LOG_FORMAT_JSON, LUMEN_LOG_PRESET_LUMEN, 7},
        {LUMEN_LOG_FORMAT_LOGFMT, LUMEN_LOG_PRESET_LUMEN, 0},
        {LUMEN_LOG_FORMAT_LOGFMT, LUMEN_LOG_PRESET_ECS, 5},
        {LUMEN_LOG_FORMAT_TEXT, LUMEN_LOG_PRESET_LUMEN, 3},
    };
    for (int i = 0; i < NH; i++) {
        lumen_log_handler_options o = LUMEN_LOG_HANDLER_OPTIONS_INIT;
        o.sink = LUMEN_LOG_SINK_CALLBACK;
        o.callback = on_line;
        o.callback_ud = cfg[i].preset == LUMEN_LOG_PRESET_LUMEN ? (void *)&formats : NULL;
        o.format = (lumen_log_format)cfg[i].format;
        o.preset = (lumen_log_preset)cfg[i].preset;
        o.max_value_bytes = cfg[i].max;
        o.flags = LUMEN_LOG_SOURCE | (i == NH - 1 ? LUMEN_LOG_COLOR : 0);
        lumen_log_handler *h;
        if (lumen_log_handler_new(&h, &o) != LUMEN_OK)
            abort();
        char name[32] = "fz.\"h\xff\n";
        name[7] = (char)('0' + i);
        loggers[i] = lumen_logger_get(name);
        lumen_logger_set_handlers(loggers[i], &h, 1);
        lumen_logger_set_level(loggers[i], LUMEN_LOG_TRACE);
        formats[i] = cfg[i].format;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size == 0)
        return 0;
    int hi = data[0] % NH;
    cur_format = formats[hi];
    const char *p = (const char *)data + 1, *e = (const char *)data + size;
    /* Pieces split at 0xFF; keys need a NUL, so copy them. */
    const char *piece[17];
    size_t plen[17];
    int np = 0;
    while (np < 17) {
        const char *q = memchr(p, 0xFF, (size_t)(e - p));
        piece[np] = p;
        plen[np] = q ? (size_t)(q - p) : (size_t)(e - p);
        np++;
        if (!q)
            break;
        p = q + 1;
    }
    char *msg = dupn(piece[0], plen[0]);
    char *keys[8] = {0};
    lumen_field f[8];
    int nf = 0;
    for (int i = 1; i + 1 < np && nf < 8; i += 2, nf++) {
        int type = plen[i] > 0 ? (unsigned char)piece[i][0] % 8 : 1;
        keys[nf] = dupn(plen[i] > 0 ? piece[i] + 1 : "", plen[i] > 0 ? plen[i] - 1 : 0);
        const char *v = piece[i + 1];
        size_t vl = plen[i + 1];
        uint64_t bits = 0;
        memcpy(&bits, v, vl < 8 ? vl : 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        switch (type) {
        case 0:
            f[nf] = lumen_field_strn(keys[nf], v, vl);
            break;
        case 1:
            f[nf] = lumen_field_strn(keys[nf], v, vl);
            break;
        case 2:
            f[nf] = lumen_field_int(keys[nf], (int64_t)bits);
            break;
        case 3:
            f[nf] = lumen_field_uint(keys[nf], bits);
            break;
        case 4:
            f[nf] = lumen_field_float(keys[nf], d);
            break;
        case 5:
            f[nf] = lumen_field_bool(keys[nf], (int)(bits & 1));
            break;
        case 6:
            f[nf] = lumen_field_bytes(keys[nf], v, vl);
            break;
        default:
            f[nf] = lumen_field_status(keys[nf], (int)(int8_t)bits);
            break;
        }
    }
    failed_line = false;
    /* Through a child logger half the time, so bound fields are covered. */
    lumen_logger *lg = loggers[hi], *child = NULL;
    if ((data[0] & 0x80) && nf > 0 && lumen_logger_with(&child, lg, f, 1) == LUMEN_OK)
        lumen_log_write(child, LUMEN_LOG_WARN, NULL, msg, f + 1, (size_t)nf - 1, data[0] & 3);
    else
        lumen_log_write(lg, (lumen_log_level)(1 + data[0] % 24), NULL, msg, f, (size_t)nf, 0);
    lumen_logger_free(child);
    lumen_log_raw(devnull, LUMEN_LOG_INFO, msg);
    lumen_log_level lv;
    (void)lumen_log_level_parse(&lv, msg);
    for (int i = 0; i < nf; i++)
        free(keys[i]);
    free(msg);
    if (failed_line)
        abort();
    return 0;
}
