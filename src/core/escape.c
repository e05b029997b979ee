/*
 * core/escape.c: see escape.h. The loops copy runs of bytes that need no
 * escaping in one memcpy; a table marks the bytes that end a run.
 */
#include "core/escape.h"

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
                lumen__buf_add(b, LUMEN__UTF8_REPLACEMENT, 3);
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

static unsigned char label_cls[256];
static unsigned char help_cls[256];
static unsigned char help_om_cls[256];
static unsigned char json_cls[256];
static unsigned char json_html_cls[256];
static unsigned char logfmt_cls[256];

__attribute__((constructor)) static void init_tables(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char utf = c >= 0x80 ? C_UTF8 : C_COPY;
        label_cls[c] = help_cls[c] = help_om_cls[c] = utf;
        json_cls[c] = json_html_cls[c] = utf;
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
