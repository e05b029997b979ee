/*
 * log/format_json.c: the JSON-lines formatter: one object per line, the
 * preset's own fields first (from fragments built once per handler), then
 * the trace context, the request id, the source location, the bound
 * fields and the call's fields.
 */
#include "log/format_int.h"

#include "core/clock.h"
#include "core/escape.h"

static void json_fields(lumen__buf *b, int preset, const lumen_field *f, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = f[i].key ? f[i].key : "";
        if (LUMEN_UNLIKELY(lumen__log_reserved(preset, k, strlen(k)))) {
            /* One of the record's own keys: written as fields.<key>. */
            LIT(b, ",\"" LUMEN__LOG_FIELD_PREFIX);
            lumen__esc_json(b, k, strlen(k), 0);
            LIT(b, "\":");
        } else {
            lumen__log_json_key(b, k);
        }
        lumen__log_value(b, &f[i], F_JSON, max);
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
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
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

void lumen__log_format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
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
        lumen__log_json_val(b, r->msg, r->msg_len, h->max_value);
        lumen__buf_putc(b, ',');
        lumen__buf_puts(b, p->prefix);
    }
    if (r->lg->name_len > 0) {
        put_frag(b, h->frag_logger, h->frag_logger_len, 32);
        lumen__buf_add(b, r->lg->name_json, r->lg->name_json_len);
    }
    if (h->preset != LUMEN_LOG_PRESET_ECS) {
        put_frag(b, h->frag_msg, h->frag_msg_len, 32);
        lumen__log_json_val(b, r->msg, r->msg_len, h->max_value);
    }
    const lumen__tctx *c = r->ctx;
    if (c->has_span) {
        lumen__log_json_key(b, p->trace_id);
        lumen__buf_putc(b, '"');
        lumen__buf_hex(b, c->trace_id, 16);
        lumen__buf_putc(b, '"');
        lumen__log_json_key(b, p->span_id);
        lumen__buf_putc(b, '"');
        lumen__buf_hex(b, c->span_id, 8);
        lumen__buf_putc(b, '"');
        if (p->trace_flags != NULL) {
            lumen__log_json_key(b, p->trace_flags);
            lumen__buf_putc(b, '"');
            lumen__buf_hex(b, &c->trace_flags, 1);
            lumen__buf_putc(b, '"');
        }
    }
    if (c->request_id_len > 0) {
        lumen__log_json_key(b, p->request_id);
        lumen__log_json_val(b, c->request_id, c->request_id_len, LUMEN__REQUEST_ID_MAX);
    }
    if ((h->flags & LUMEN_LOG_SOURCE) && r->src != NULL) {
        lumen__log_json_key(b, p->file);
        lumen__log_json_val(b, r->src->file, strlen(r->src->file), 4096);
        lumen__log_json_key(b, p->line);
        lumen__buf_i64(b, r->src->line);
        lumen__log_json_key(b, p->func);
        lumen__log_json_val(b, r->src->func, strlen(r->src->func), 4096);
    }
    if (r->suppressed > 0) {
        lumen__log_json_key(b, p->suppressed);
        lumen__buf_u64(b, r->suppressed);
    }
    json_fields(b, h->preset, r->lg->bound.f, r->lg->bound.n, h->max_value);
    json_fields(b, h->preset, r->f, r->n, h->max_value);
    LIT(b, "}\n");
}

