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
#include "log/format_json.h"

#include <math.h>

#include "core/clock.h"
#include "core/escape.h"
#include "log/format.h"
#include "log/level.h"

/*
 * A write cursor over a buffer: `o` is where the line goes on, `end` the
 * last byte before the NUL the buffer keeps. A jw lives in a local that is
 * only ever handed to inline functions, so it stays in registers and the
 * compiler knows that the line's byte stores cannot change it; the
 * out-of-line writers get the buffer and the cursor by value and return
 * the new cursor.
 */
typedef struct jw {
    lumen__buf *b;
    char *o;
    char *end;
} jw;

/* The buffer's length brought up to o, for the writers that append to it. */
static inline lumen__buf *jw_sync(lumen__buf *b, char *o)
{
    b->len = (size_t)(o - b->p);
    return b;
}

/* Back from such a writer: the cursor at the buffer's new end. */
static inline void jw_load(jw *w)
{
    w->o = w->b->p + w->b->len;
    w->end = w->b->p + w->b->cap - 1;
}

/* Room for n more bytes: grows a heap buffer; a fixed one that is full is
 * marked oom (the caller then formats the line elsewhere). */
static __attribute__((noinline)) bool grow(lumen__buf *b, char *o, size_t n)
{
    return lumen__buf_reserve(jw_sync(b, o), n);
}

static inline bool jw_room(jw *w, size_t n)
{
    if (LUMEN_LIKELY((size_t)(w->end - w->o) >= n))
        return true;
    if (!grow(w->b, w->o, n))
        return false;
    jw_load(w);
    return true;
}

/* Strings longer than this, clean or not, go through the full writer
 * (lumen__log_json_val). */
#define JW_STR_FAST_MAX 4096

/* A JSON string value with quotes; false when it needs the full writer
 * (escapes, or longer than max) and nothing that counts was written. */
static inline bool jw_str(jw *w, const char *s, size_t n, size_t max)
{
    if (LUMEN_UNLIKELY(n > max || n > JW_STR_FAST_MAX) || !jw_room(w, n + 2))
        return false;
    char *o = w->o;
    if (LUMEN_UNLIKELY(!lumen__log_copy_clean(o + 1, s, n)))
        return false;
    o[0] = '"';
    o[n + 1] = '"';
    w->o = o + n + 2;
    return true;
}

static __attribute__((noinline)) void str_slow(lumen__buf *b, char *o, const char *s, size_t n,
                                               size_t max)
{
    lumen__log_json_val(jw_sync(b, o), s, n, max);
}

static __attribute__((noinline)) void key_slow(lumen__buf *b, char *o, int preset, const char *k)
{
    jw_sync(b, o);
    size_t n = strlen(k);
    if (lumen__log_reserved(preset, k, n)) {
        /* One of the record's own keys: written as fields.<key>. */
        LIT(b, ",\"" LUMEN__LOG_FIELD_PREFIX);
        lumen__esc_json(b, k, n, 0);
        LIT(b, "\":");
    } else {
        lumen__log_json_key(b, k);
    }
}

static __attribute__((noinline)) void value_slow(lumen__buf *b, char *o, const lumen_field *f,
                                                 size_t max)
{
    lumen__log_value(jw_sync(b, o), f, F_JSON, max);
}

/* `,"key":` for a key of at most 64 bytes that needs no escaping and is
 * none of the preset's own keys; false (nothing written that counts)
 * otherwise. */
static inline bool jw_key(jw *w, int preset, const char *k)
{
#if defined(__SSE2__)
    size_t n = lumen__log_clean_key_len(k);
    if (LUMEN_UNLIKELY(n == SIZE_MAX || lumen__log_reserved_maybe(preset, k, n)) ||
        !jw_room(w, n + 4))
        return false;
    char *o = w->o;
    lumen__log_copy_short(o + 2, k, n);
#else
    size_t n = strlen(k);
    if (LUMEN_UNLIKELY(n > 64 || lumen__log_reserved_maybe(preset, k, n)) || !jw_room(w, n + 4))
        return false;
    char *o = w->o;
    if (!lumen__log_copy_clean(o + 2, k, n))
        return false;
#endif
    o[0] = ',';
    o[1] = '"';
    o[n + 2] = '"';
    o[n + 3] = ':';
    w->o = o + n + 4;
    return true;
}

static void json_fields(jw *wp, int preset, const lumen_field *f, size_t n, size_t max)
{
    /* A local copy, so that it stays in registers (see jw). */
    jw local = *wp, *w = &local;
    for (size_t i = 0; i < n; i++) {
        lumen_field fi = f[i]; /* in registers, whatever the stores do */
        const char *k = fi.key ? fi.key : "";
        if (!jw_key(w, preset, k)) {
            key_slow(w->b, w->o, preset, k);
            jw_load(w);
        }
        switch (fi.type) {
        case LUMEN_FIELD_STR:
            if (!jw_str(w, fi.v.s, fi.len, max)) {
                str_slow(w->b, w->o, fi.v.s, fi.len, max);
                jw_load(w);
            }
            break;
        case LUMEN_FIELD_INT:
            if (LUMEN_LIKELY(jw_room(w, 21)))
                w->o += lumen__log_fmt_i64(w->o, fi.v.i);
            break;
        case LUMEN_FIELD_UINT:
            if (LUMEN_LIKELY(jw_room(w, 21)))
                w->o += lumen__log_fmt_u64(w->o, fi.v.u);
            break;
        case LUMEN_FIELD_FLOAT:
            if (LUMEN_LIKELY(isfinite(fi.v.d)) && LUMEN_LIKELY(jw_room(w, 40))) {
                w->o += lumen__log_fmt_float(w->o, fi.v.d);
                break;
            }
            value_slow(w->b, w->o, &fi, max);
            jw_load(w);
            break;
        default:
            value_slow(w->b, w->o, &fi, max);
            jw_load(w);
            break;
        }
    }
    *wp = local;
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
    LIT(&t, ",\"");
    lumen__buf_puts(&t, p->trace_id);
    LIT(&t, "\":\"");
    frag(h->frag_trace, sizeof h->frag_trace, &h->frag_trace_len, &t);
    LIT(&t, "\",\"");
    lumen__buf_puts(&t, p->span_id);
    LIT(&t, "\":\"");
    frag(h->frag_span, sizeof h->frag_span, &h->frag_span_len, &t);
    if (p->trace_flags != NULL) {
        LIT(&t, "\",\"");
        lumen__buf_puts(&t, p->trace_flags);
        LIT(&t, "\":\"");
    }
    frag(h->frag_flags, sizeof h->frag_flags, &h->frag_flags_len, &t);
    LIT(&t, ",\"");
    lumen__buf_puts(&t, p->request_id);
    LIT(&t, "\":");
    frag(h->frag_rid, sizeof h->frag_rid, &h->frag_rid_len, &t);
}

/* The parts of a line that most lines lack: trace context, request id,
 * source location, suppressed count; and the ECS prefix. */
static __attribute__((noinline)) void json_extras(const lumen_log_handler *h,
                                                  const lumen__log_rec *r, lumen__buf *b)
{
    const lumen__log_preset *p = &lumen__log_presets[h->preset];
    const lumen__tctx *c = r->ctx;
    /* The ids with their keys from fragments built once (lumen__log_frags):
     * at most 4 x 32 + 32 + 16 + 2 + 1 bytes. */
    if (c->has_span && lumen__buf_reserve(b, 192)) {
        char *o = b->p + b->len;
        memcpy(o, h->frag_trace, 32);
        o += h->frag_trace_len;
        lumen__hex(o, c->trace_id, 16);
        o += 32;
        memcpy(o, h->frag_span, 32);
        o += h->frag_span_len;
        lumen__hex(o, c->span_id, 8);
        o += 16;
        if (p->trace_flags != NULL) {
            memcpy(o, h->frag_flags, 32);
            o += h->frag_flags_len;
            lumen__hex(o, &c->trace_flags, 1);
            o += 2;
        }
        *o++ = '"';
        b->len = (size_t)(o - b->p);
        b->p[b->len] = '\0';
    }
    if (c->request_id_len > 0) {
        if (lumen__buf_reserve(b, 32)) {
            memcpy(b->p + b->len, h->frag_rid, 32);
            b->len += h->frag_rid_len;
        }
        lumen__log_json_val(b, c->request_id, c->request_id_len, LUMEN__REQUEST_ID_MAX);
    }
    if ((h->flags & LUMEN_LOG_SOURCE) && r->src != NULL) {
        lumen__log_json_key(b, p->file);
        lumen__log_json_val(b, r->src->file, strlen(r->src->file), LUMEN_LOG_SOURCE_MAX);
        lumen__log_json_key(b, p->line);
        lumen__buf_i64(b, r->src->line);
        lumen__log_json_key(b, p->func);
        lumen__log_json_val(b, r->src->func, strlen(r->src->func), LUMEN_LOG_SOURCE_MAX);
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
    /* Read before the line's byte stores, which the compiler must assume
     * could change *h and *r. */
    const lumen_logger *lg = r->lg;
    const char *msg = r->msg;
    size_t msg_len = r->msg_len, max = h->max_value, nl = lg->name_json_len;
    int preset = h->preset;
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
    if (LUMEN_UNLIKELY(preset == LUMEN_LOG_PRESET_ECS)) {
        /* ECS wants @timestamp, log.level, message first. */
        memcpy(w.o, h->frag_msg, 32);
        w.o += h->frag_msg_len;
        if (!jw_str(&w, msg, msg_len, max))
            str_slow(b, w.o, msg, msg_len, max);
        else
            jw_sync(b, w.o);
        lumen__buf_putc(b, ',');
        lumen__buf_puts(b, lumen__log_presets[preset].prefix);
        jw_load(&w);
    }
    if (nl > 2) {
        /* The name as a JSON string, padded (logger.c) so that it is
         * copied in 16-byte moves. */
        if (!jw_room(&w, 32 + nl + LUMEN__LOG_NAME_PAD))
            return;
        o = w.o;
        memcpy(o, h->frag_logger, 32);
        o += h->frag_logger_len;
        const char *s = lg->name_json;
        for (size_t i = 0; i < nl; i += 16)
            memcpy(o + i, s + i, 16);
        w.o = o + nl;
    }
    if (LUMEN_LIKELY(preset != LUMEN_LOG_PRESET_ECS)) {
        if (!jw_room(&w, 32))
            return;
        memcpy(w.o, h->frag_msg, 32);
        w.o += h->frag_msg_len;
        if (!jw_str(&w, msg, msg_len, max)) {
            str_slow(b, w.o, msg, msg_len, max);
            jw_load(&w);
        }
    }
    const lumen__tctx *c = r->ctx;
    if (LUMEN_UNLIKELY(c->has_span || c->request_id_len > 0 || (h->flags & LUMEN_LOG_SOURCE) ||
                       r->suppressed > 0)) {
        json_extras(h, r, jw_sync(b, w.o));
        jw_load(&w);
    }
    if (LUMEN_UNLIKELY(lg->bound.n > 0))
        json_fields(&w, preset, lg->bound.f, lg->bound.n, max);
    json_fields(&w, preset, r->f, r->n, max);
    if (!jw_room(&w, 2))
        return;
    w.o[0] = '}';
    w.o[1] = '\n';
    w.o[2] = '\0';
    jw_sync(b, w.o + 2);
}
