/*
 * core/escape.c: see escape.h. The loops copy runs of bytes that need no
 * escaping in one memcpy; a table marks the bytes that end a run.
 */
#include "core/escape.h"

size_t lumen__utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t lumen__utf8_count(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < n; count++) {
        size_t l = lumen__utf8_seq(u + i, n - i);
        i += l ? l : 1;
    }
    return count;
}

size_t lumen__utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t m = max;
    /* Step back over continuation bytes to the start of a sequence. */
    while (m > 0 && ((unsigned char)s[m] & 0xC0) == 0x80)
        m--;
    return m;
}

size_t lumen__utf8_invalid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0, i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = lumen__utf8_seq(u + i, n - i);
        bad += l == 0;
        i += l ? l : 1;
    }
    return bad;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Classes: 0 copy as is, 1 escape (syntax-specific), 2 non-ASCII (check
 * UTF-8). */
enum { C_COPY = 0, C_ESC = 1, C_UTF8 = 2 };

/* Internal flag: escape U+2028 and U+2029, which JSON allows raw but
 * JavaScript string literals do not. */
#define ESC_JS_SEPARATORS 0x100u

typedef void (*esc_fn)(lumen__buf *b, unsigned char c, unsigned flags);

static inline void escape_loop(lumen__buf *b, const char *s, size_t n, const unsigned char cls[256],
                               esc_fn esc, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char k = cls[u[i]];
        if (LUMEN_LIKELY(k == C_COPY)) {
            i++;
            continue;
        }
        lumen__buf_add(b, s + run, i - run);
        if (k == C_ESC) {
            esc(b, u[i], flags);
            i++;
        } else {
            size_t l = lumen__utf8_seq(u + i, n - i);
            if (l == 0) {
                lumen__buf_add(b, REPLACEMENT, 3);
                i++;
            } else if (l == 3 && u[i] == 0xE2 && u[i + 1] == 0x80 &&
                       (u[i + 2] == 0xA8 || u[i + 2] == 0xA9) && (flags & ESC_JS_SEPARATORS)) {
                lumen__buf_puts(b, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
                i += 3;
            } else {
                lumen__buf_add(b, s + i, l);
                i += l;
            }
        }
        run = i;
    }
    lumen__buf_add(b, s + run, n - run);
}

/* ---- Prometheus label values and HELP ---------------------------------- */

static unsigned char utf8_cls[256];
static unsigned char label_cls[256];
static unsigned char help_cls[256];
static unsigned char help_om_cls[256];
static unsigned char json_cls[256];
static unsigned char json_html_cls[256];
static unsigned char logfmt_cls[256];
static unsigned char html_cls[256];

__attribute__((constructor)) static void init_tables(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char utf = c >= 0x80 ? C_UTF8 : C_COPY;
        utf8_cls[c] = label_cls[c] = help_cls[c] = help_om_cls[c] = utf;
        json_cls[c] = json_html_cls[c] = html_cls[c] = utf;
        logfmt_cls[c] = utf;
        if (c < 0x20 || c == 0x7F) {
            json_cls[c] = json_html_cls[c] = C_ESC;
            logfmt_cls[c] = C_ESC;
        }
    }
    label_cls['\\'] = label_cls['"'] = label_cls['\n'] = C_ESC;
    help_cls['\\'] = help_cls['\n'] = C_ESC;
    help_om_cls['\\'] = help_om_cls['"'] = help_om_cls['\n'] = C_ESC;
    json_cls['\\'] = json_cls['"'] = C_ESC;
    json_html_cls['\\'] = json_html_cls['"'] = C_ESC;
    json_html_cls['<'] = json_html_cls['>'] = json_html_cls['&'] = C_ESC;
    logfmt_cls['\\'] = logfmt_cls['"'] = C_ESC;
    html_cls['&'] = html_cls['<'] = html_cls['>'] = html_cls['"'] = html_cls['\''] = C_ESC;
}

static void esc_prom(lumen__buf *b, unsigned char c, unsigned flags)
{
    (void)flags;
    if (c == '\n')
        lumen__buf_add(b, "\\n", 2);
    else {
        char e[2] = {'\\', (char)c};
        lumen__buf_add(b, e, 2);
    }
}

/* Only non-ASCII bytes leave the fast copy, so the escaper is never
 * called: what remains is the UTF-8 check. */
void lumen__utf8_repair_buf(lumen__buf *b, const char *s, size_t n)
{
    escape_loop(b, s, n, utf8_cls, esc_prom, 0);
}

void lumen__esc_label_value(lumen__buf *b, const char *s, size_t n)
{
    escape_loop(b, s, n, label_cls, esc_prom, 0);
}

void lumen__esc_help(lumen__buf *b, const char *s, size_t n, bool openmetrics)
{
    escape_loop(b, s, n, openmetrics ? help_om_cls : help_cls, esc_prom, 0);
}

/* ---- JSON ---------------------------------------------------------------- */

static const char HEX[] = "0123456789abcdef";

static void esc_json_char(lumen__buf *b, unsigned char c, unsigned flags)
{
    (void)flags;
    switch (c) {
    case '"':
        lumen__buf_add(b, "\\\"", 2);
        return;
    case '\\':
        lumen__buf_add(b, "\\\\", 2);
        return;
    case '\n':
        lumen__buf_add(b, "\\n", 2);
        return;
    case '\r':
        lumen__buf_add(b, "\\r", 2);
        return;
    case '\t':
        lumen__buf_add(b, "\\t", 2);
        return;
    case '\b':
        lumen__buf_add(b, "\\b", 2);
        return;
    case '\f':
        lumen__buf_add(b, "\\f", 2);
        return;
    default: {
        char e[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 15]};
        lumen__buf_add(b, e, 6);
    }
    }
}

void lumen__esc_json(lumen__buf *b, const char *s, size_t n, unsigned flags)
{
    escape_loop(b, s, n, (flags & LUMEN__JSON_HTML_SAFE) ? json_html_cls : json_cls, esc_json_char,
                flags | ESC_JS_SEPARATORS);
}

void lumen__json_str(lumen__buf *b, const char *s, size_t n)
{
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, n, 0);
    lumen__buf_putc(b, '"');
}

/* ---- logfmt -------------------------------------------------------------- */

void lumen__esc_logfmt(lumen__buf *b, const char *s, size_t n)
{
    bool quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char c = (unsigned char)s[i];
        quote = c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7F;
    }
    if (!quote) {
        lumen__buf_add(b, s, n);
        return;
    }
    lumen__buf_putc(b, '"');
    /* U+2028 and U+2029 escaped as JSON escapes them: a logfmt line is
     * read by the same viewers and pipelines. */
    escape_loop(b, s, n, logfmt_cls, esc_json_char, ESC_JS_SEPARATORS);
    lumen__buf_putc(b, '"');
}

/* ---- HTML ---------------------------------------------------------------- */

static void esc_html_char(lumen__buf *b, unsigned char c, unsigned flags)
{
    (void)flags;
    switch (c) {
    case '&':
        lumen__buf_add(b, "&amp;", 5);
        return;
    case '<':
        lumen__buf_add(b, "&lt;", 4);
        return;
    case '>':
        lumen__buf_add(b, "&gt;", 4);
        return;
    case '"':
        lumen__buf_add(b, "&quot;", 6);
        return;
    default:
        lumen__buf_add(b, "&#39;", 5);
        return;
    }
}

void lumen__esc_html(lumen__buf *b, const char *s, size_t n)
{
    escape_loop(b, s, n, html_cls, esc_html_char, 0);
}

void lumen__buf_hex(lumen__buf *b, const void *data, size_t n)
{
    const unsigned char *d = data;
    if (!lumen__buf_reserve(b, 2 * n))
        return;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = HEX[d[i] >> 4];
        o[2 * i + 1] = HEX[d[i] & 15];
    }
    b->len += 2 * n;
    b->p[b->len] = '\0';
}
