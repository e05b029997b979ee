/*
 * log/format_json.c: the JSON-lines formatter: one object per line, the
 * preset's own fields first (from fragments built once per handler), then
 * the trace context, the request id, the source location, the bound
 * fields and the call's fields.
 *
 * Why it looks the way it does: this is the hot path of every emitted
 * line. The line is written through a cursor kept in registers (the
 * buffer's length and NUL are stored once, at the end); keys and values
 * that need no escaping, integers and the usual floats are written inline;
 * everything else (escaping, cut values, markers, bytes, status names)
 * goes through the same out-of-line writers as before, on the buffer
 * itself, so each byte of output is what those writers produce.
 */
#include "log/format_int.h"

#include <math.h>

#include "core/clock.h"
#include "core/escape.h"

/* A write cursor over a buffer: `o` is where the line goes on, `end` the
 * last byte before the NUL the buffer keeps. */
typedef struct jw {
    lumen__buf *b;
    char *o;
    char *end;
} jw;

static inline void jw_load(jw *w)
{
    w->o = w->b->p + w->b->len;
    w->end = w->b->p + w->b->cap - 1;
}

static inline void jw_sync(jw *w)
{
    w->b->len = (size_t)(w->o - w->b->p);
}

/* Room for n more bytes: grows a heap buffer; a fixed one that is full is
 * marked oom (the caller then formats the line elsewhere). */
static __attribute__((noinline)) bool jw_grow(jw *w, size_t n)
{
    jw_sync(w);
    if (!lumen__buf_reserve(w->b, n))
        return false;
    jw_load(w);
    return true;
}

static inline bool jw_room(jw *w, size_t n)
{
    return LUMEN_LIKELY((size_t)(w->end - w->o) >= n) || jw_grow(w, n);
}

/* A JSON string value with quotes; false when it needs the full writer
 * (escapes, or longer than max) and nothing that counts was written. */
static inline bool jw_str(jw *w, const char *s, size_t n, size_t max)
{
    if (LUMEN_UNLIKELY(n > max || n > 4096) || !jw_room(w, n + 2))
        return false;
    char *o = w->o;
    if (LUMEN_UNLIKELY(!lumen__log_copy_clean(o + 1, s, n)))
        return false;
    o[0] = '"';
    o[n + 1] = '"';
    w->o = o + n + 2;
    return true;
}

static __attribute__((noinline)) void str_slow(jw *w, const char *s, size_t n, size_t max)
{
    jw_sync(w);
    lumen__log_json_val(w->b, s, n, max);
    jw_load(w);
}

static __attribute__((noinline)) void key_slow(jw *w, int preset, const char *k, size_t n)
{
    lumen__buf *b = w->b;
    jw_sync(w);
    if (lumen__log_reserved(preset, k, n)) {
        /* One of the record's own keys: written as fields.<key>. */
        LIT(b, ",\"" LUMEN__LOG_FIELD_PREFIX);
        lumen__esc_json(b, k, n, 0);
        LIT(b, "\":");
    } else {
        lumen__log_json_key(b, k);
    }
    jw_load(w);
}

static __attribute__((noinline)) void value_slow(jw *w, const lumen_field *f, size_t max)
{
    jw_sync(w);
    lumen__log_value(w->b, f, F_JSON, max);
    jw_load(w);
}

static void json_fields(jw *w, int preset, const lumen_field *f, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = f[i].key ? f[i].key : "";
        size_t kn = strlen(k);
        char *o = w->o;
        if (LUMEN_LIKELY(kn <= 64 && !lumen__log_reserved_maybe(preset, k, kn)) &&
            jw_room(w, kn + 4) && (o = w->o, lumen__log_copy_clean(o + 2, k, kn))) {
            o[0] = ',';
            o[1] = '"';
            o[kn + 2] = '"';
            o[kn + 3] = ':';
            w->o = o + kn + 4;
        } else {
            key_slow(w, preset, k, kn);
        }
        switch (f[i].type) {
        case LUMEN_FIELD_STR:
            if (!jw_str(w, f[i].v.s, f[i].len, max))
                str_slow(w, f[i].v.s, f[i].len, max);
            break;
        case LUMEN_FIELD_INT:
            if (LUMEN_LIKELY(jw_room(w, 21)))
                w->o += lumen__log_fmt_i64(w->o, f[i].v.i);
            break;
        case LUMEN_FIELD_UINT:
            if (LUMEN_LIKELY(jw_room(w, 21)))
                w->o += lumen__log_fmt_u64(w->o, f[i].v.u);
            break;
        case LUMEN_FIELD_FLOAT:
            if (LUMEN_LIKELY(isfinite(f[i].v.d)) && LUMEN_LIKELY(jw_room(w, 40))) {
                w->o += lumen__log_fmt_float(w->o, f[i].v.d);
                break;
            }
            value_slow(w, &f[i], max);
            break;
        default:
            value_slow(w, &f[i], max);
            break;
        }
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

/* The parts of a line that most lines lack: trace context, request id,
 * source location, suppressed count; and the ECS prefix. */
static __attribute__((noinline)) void json_extras(const lumen_log_handler *h,
                                                  const lumen__log_rec *r, lumen__buf *b)
{
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
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
}

void lumen__log_format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    /* The head below (fragments copied with fixed-size moves, the
     * timestamp) takes at most 32 + 28 + 64 + 32 bytes. */
    if (!lumen__buf_reserve(b, 512))
        return;
    jw w = {b, NULL, NULL};
    jw_load(&w);
    char *o = w.o;
    memcpy(o, h->frag_head, 32);
    o += h->frag_head_len;
    o += lumen__rfc3339_us(o, r->ts_ns);
    int idx = (r->level - 1) / 4;
    memcpy(o, h->frag_level[idx], 64);
    o += h->frag_level_len[idx];
    w.o = o;
    bool ecs = h->preset == LUMEN_LOG_PRESET_ECS;
    if (LUMEN_UNLIKELY(ecs)) {
        /* ECS wants @timestamp, log.level, message first. */
        memcpy(w.o, h->frag_msg, 32);
        w.o += h->frag_msg_len;
        if (!jw_str(&w, r->msg, r->msg_len, h->max_value))
            str_slow(&w, r->msg, r->msg_len, h->max_value);
        jw_sync(&w);
        lumen__buf_putc(b, ',');
        lumen__buf_puts(b, lumen__log_presets[h->preset].prefix);
        if (!lumen__buf_reserve(b, 64))
            return;
        jw_load(&w);
    }
    size_t nl = r->lg->name_json_len;
    if (nl > 2) {
        /* The name as a JSON string, padded (logger.c) so that it is
         * copied in 16-byte moves. */
        if (!jw_room(&w, 32 + nl + LUMEN__LOG_NAME_PAD))
            return;
        o = w.o;
        memcpy(o, h->frag_logger, 32);
        o += h->frag_logger_len;
        const char *s = r->lg->name_json;
        for (size_t i = 0; i < nl; i += 16)
            memcpy(o + i, s + i, 16);
        w.o = o + nl;
    }
    if (LUMEN_LIKELY(!ecs)) {
        if (!jw_room(&w, 32))
            return;
        memcpy(w.o, h->frag_msg, 32);
        w.o += h->frag_msg_len;
        if (!jw_str(&w, r->msg, r->msg_len, h->max_value))
            str_slow(&w, r->msg, r->msg_len, h->max_value);
    }
    const lumen__tctx *c = r->ctx;
    if (LUMEN_UNLIKELY(c->has_span || c->request_id_len > 0 || (h->flags & LUMEN_LOG_SOURCE) ||
                       r->suppressed > 0)) {
        jw_sync(&w);
        json_extras(h, r, b);
        jw_load(&w);
    }
    if (LUMEN_UNLIKELY(r->lg->bound.n > 0))
        json_fields(&w, h->preset, r->lg->bound.f, r->lg->bound.n, h->max_value);
    json_fields(&w, h->preset, r->f, r->n, h->max_value);
    if (!jw_room(&w, 2))
        return;
    w.o[0] = '}';
    w.o[1] = '\n';
    w.o += 2;
    jw_sync(&w);
    b->p[b->len] = '\0';
}
