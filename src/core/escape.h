/*
 * core/escape.h: escaping of untrusted strings for each output syntax.
 * Every function appends to a buffer, never fails except by the buffer's
 * sticky oom flag, and turns invalid UTF-8 into U+FFFD (core/utf8.h) so
 * that output is always valid UTF-8 whatever bytes arrive. Stateless:
 * liblumen-http has its own copy.
 */
#ifndef LUMEN_CORE_ESCAPE_H
#define LUMEN_CORE_ESCAPE_H

#include "core/buf.h"
/* The UTF-8 and hex helpers these files once declared, for their callers. */
#include "core/hex.h"
#include "core/utf8.h"

/* Prometheus and OpenMetrics label value: \ " and line feed escaped. */
void lumen__esc_label_value(lumen__buf *b, const char *s, size_t n);

/* HELP text. Text 0.0.4 escapes \ and line feed; OpenMetrics also ". */
void lumen__esc_help(lumen__buf *b, const char *s, size_t n, bool openmetrics);

enum {
    /* Also escape < > & as \u003c \u003e \u0026, so that JSON embedded in
     * an HTML page cannot close a <script> element. */
    LUMEN__JSON_HTML_SAFE = 1u << 0
};

/* The inside of a JSON string (no quotes): " \ and control characters
 * escaped, U+2028 and U+2029 escaped for JavaScript consumers. */
void lumen__esc_json(lumen__buf *b, const char *s, size_t n, unsigned flags);

/* A JSON string with its quotes. */
void lumen__json_str(lumen__buf *b, const char *s, size_t n);

/* A logfmt value: bare when it has no space, '=', '"', control character or
 * non-ASCII byte and is not empty; otherwise quoted with \ " \n \r \t,
 * \u00XX, \u2028 and \u2029 escapes (as JSON's). */
void lumen__esc_logfmt(lumen__buf *b, const char *s, size_t n);

#endif
