/*
 * log/format_int.h: what the formatter files share: the field-name
 * presets, the escaping value writers (format.c) and fixed-size fragment
 * copies. format.c holds values and strings, format_json.c JSON lines,
 * format_kv.c logfmt and text.
 */
#ifndef LUMEN_LOG_FORMAT_INT_H
#define LUMEN_LOG_FORMAT_INT_H

#include "log/log_int.h"

#include <string.h>

#define LIT(b, s) lumen__buf_add((b), (s), sizeof(s) - 1)

/* Names of the record's own fields in one preset (NULL: not written). */
typedef struct lumen__log_preset {
    const char *ts, *level, *logger, *msg, *trace_id, *span_id, *trace_flags, *request_id;
    const char *file, *line, *func, *sevnum, *suppressed;
    bool upper;          /* level text in capitals */
    const char *prefix;  /* constant JSON members after the first three */
} lumen__log_preset;

extern const lumen__log_preset lumen__log_presets[3];

enum { F_JSON, F_LOGFMT, F_TEXT };

/* A field's value in the syntax `fmt`, strings cut at `max` bytes. */
void lumen__log_value(lumen__buf *b, const lumen_field *f, int fmt, size_t max);
/* A JSON string with quotes, cut and marked when longer than max. */
void lumen__log_json_val(lumen__buf *b, const char *s, size_t n, size_t max);
/* `,"key":` with the key escaped. */
void lumen__log_json_key(lumen__buf *b, const char *k);

/*
 * The record's own keys cannot be forged: a user field (bound to a child
 * logger or given to the call) whose key, as written, is one of the
 * handler's preset's own keys (ts, level, logger, msg, trace_id, ... or
 * the preset's names for them) is written with this prefix instead, in
 * every format: {"msg":"lumen's","fields.msg":"the program's"}. It is
 * logrus's rule. The set is the preset's whole set, whether or not this
 * line has that key.
 */
#define LUMEN__LOG_FIELD_PREFIX "fields."
/* Whether k[0..n) is one of preset `preset`'s own keys. */
bool lumen__log_reserved(int preset, const char *k, size_t n);
/* A logfmt value: bare when safe, else quoted; cut values are quoted. */
void lumen__log_logfmt_val(lumen__buf *b, const char *s, size_t n, size_t max);
/* A logfmt key: bytes that would break the syntax dropped; "" becomes "_". */
void lumen__log_logfmt_key(lumen__buf *b, const char *k);
/* The JSON formatter (format_json.c). */
void lumen__log_format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);
/* "...[truncated N bytes]" */
void lumen__log_put_marker(lumen__buf *b, size_t dropped);
/* Bytes of s kept under the limit, on a UTF-8 boundary. */
size_t lumen__log_cut_len(const char *s, size_t n, size_t max);

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


#endif
