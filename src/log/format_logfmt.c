/*
 * log/format_logfmt.c: the logfmt formatter (key=value, go-logfmt's
 * quoting rules), and the key=value tail of a line that the text
 * formatter shares.
 */
#include "log/format_logfmt.h"

#include "core/clock.h"
#include "core/escape.h"
#include "log/format.h"
#include "log/level.h"

static void kv_key(lumen__buf *b, const char *k)
{
    lumen__buf_putc(b, ' ');
    lumen__log_logfmt_key(b, k);
    lumen__buf_putc(b, '=');
}

/* A user field's key: as written (bytes that would break the syntax
 * dropped), then, when that is one of the record's own keys, moved right
 * to make room for the prefix. */
static void kv_field_key(lumen__buf *b, int preset, const char *k)
{
    lumen__buf_putc(b, ' ');
    size_t start = b->len;
    lumen__log_logfmt_key(b, k);
    size_t n = b->len - start;
    static const size_t pn = sizeof LUMEN__LOG_FIELD_PREFIX - 1;
    if (LUMEN_UNLIKELY(!b->oom && lumen__log_reserved(preset, b->p + start, n)) &&
        lumen__buf_reserve(b, pn)) {
        memmove(b->p + start + pn, b->p + start, n);
        memcpy(b->p + start, LUMEN__LOG_FIELD_PREFIX, pn);
        b->len += pn;
    }
    lumen__buf_putc(b, '=');
}

static void kv_fields(lumen__buf *b, int preset, const lumen_field *f, size_t n, int fmt,
                      size_t max)
{
    for (size_t i = 0; i < n; i++) {
        kv_field_key(b, preset, f[i].key);
        lumen__log_value(b, &f[i], fmt, max);
    }
}

void lumen__log_kv_tail(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b, int fmt)
{
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
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
        lumen__log_logfmt_val(b, c->request_id, c->request_id_len, LUMEN__REQUEST_ID_MAX);
    }
    if ((h->flags & LUMEN_LOG_SOURCE) && r->src != NULL) {
        kv_key(b, p->file);
        lumen__log_logfmt_val(b, r->src->file, strlen(r->src->file), LUMEN_LOG_SOURCE_MAX);
        kv_key(b, p->line);
        lumen__buf_i64(b, r->src->line);
        kv_key(b, p->func);
        lumen__log_logfmt_val(b, r->src->func, strlen(r->src->func), LUMEN_LOG_SOURCE_MAX);
    }
    if (r->suppressed > 0) {
        kv_key(b, p->suppressed);
        lumen__buf_u64(b, r->suppressed);
    }
    kv_fields(b, h->preset, r->lg->bound.f, r->lg->bound.n, fmt, h->max_value);
    kv_fields(b, h->preset, r->f, r->n, fmt, h->max_value);
    lumen__buf_putc(b, '\n');
}

void lumen__log_format_logfmt(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
    char ts[32];
    lumen__rfc3339_us(ts, r->ts_ns);
    lumen__log_logfmt_key(b, p->ts);
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
        lumen__log_logfmt_val(b, r->lg->name, r->lg->name_len, LUMEN_LOG_NAME_MAX);
    }
    kv_key(b, p->msg);
    lumen__log_logfmt_val(b, r->msg, r->msg_len, h->max_value);
    lumen__log_kv_tail(h, r, b, F_LOGFMT);
}
