/*
 * log/otel.c: log records as exporters see them (lumen_log_record), and
 * the exporter object that wraps a program's callbacks
 * (lumen_log_exporter).
 *
 * A record is copied on the logging thread into one block sized in a
 * first pass (lumen__log_record_plan): a slot of the batch handler's queue
 * when it fits, else one allocation. The block holds the struct, the fields (the logger's bound
 * fields, the call's, then lumen's own: request_id, suppressed, code.* when the handler asks for
 * the call site), then every key and string value, NUL-terminated and with invalid UTF-8 repaired
 * (OTLP strings must be UTF-8: a protobuf decoder rejects anything else).
 * Bytes values are copied as they are. The scope is the nearest named
 * logger, which lives for the process, so the record points at it.
 */
#include "log/otel.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/diag.h"
#include "core/tctx.h"
#include "core/utf8.h"
#include "core/versioned.h"

/* lumen's own fields, as OpenTelemetry's semantic conventions name them
 * where they have a name. */
static const char k_request_id[] = "request_id";
static const char k_suppressed[] = "suppressed";
static const char k_file[] = "code.filepath";
static const char k_line[] = "code.lineno";
static const char k_func[] = "code.function";

static size_t text_size(const char *s, size_t n)
{
    if (s == NULL)
        return 1;
    return n + 2 * (lumen__ascii(s, n) ? 0 : lumen__utf8_invalid(s, n)) + 1;
}

/* Keys and most values are a few bytes: fixed-size moves (overlapping for
 * lengths between the sizes) instead of a call to memcpy. */
static inline void copy_bytes(char *d, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        memcpy(d, s, n);
    }
}

/* Copy s[0..n) repaired and NUL-terminated to *at; returns its length. */
static size_t text_copy(char **at, const char *s, size_t n)
{
    char *d = *at;
    size_t m = 0;
    if (s != NULL && n > 0) {
        if (lumen__ascii(s, n)) {
            copy_bytes(d, s, n);
            m = n;
        } else {
            m = lumen__utf8_repair_to(d, n + 2 * lumen__utf8_invalid(s, n), s, n);
        }
    }
    d[m] = '\0';
    *at = d + m + 1;
    return m;
}

/* A value longer than LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES is cut there (on
 * a character boundary), as a line handler cuts it by default: one record
 * cannot take the memory of a whole queue. */
static inline size_t cut(const char *s, size_t n)
{
    if (LUMEN_LIKELY(n <= LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES) || s == NULL)
        return n;
    return lumen__utf8_cut(s, n, LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES);
}

static inline size_t bytes_len(const lumen_field *f)
{
    return f->len <= LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES ? f->len : LUMEN_LOG_DEFAULT_MAX_VALUE_BYTES;
}

static bool has_text(const lumen_field *f)
{
    return f->type == LUMEN_FIELD_STR;
}

static size_t field_size(const lumen_field *f)
{
    size_t k = text_size(f->key, f->key ? strlen(f->key) : 0);
    if (has_text(f))
        return k + text_size(f->v.s, f->v.s ? cut(f->v.s, f->len) : 0);
    if (f->type == LUMEN_FIELD_BYTES)
        return k + bytes_len(f) + 1;
    return k;
}

/* At least field_size(f), without reading the text: a repair at most
 * triples a string (each invalid byte becomes three). The key's length is
 * kept in *klen (255: look again) for the copy. */
static size_t field_bound(const lumen_field *f, uint8_t *klen)
{
    size_t kl = f->key ? strlen(f->key) : 0;
    *klen = kl < 255 ? (uint8_t)kl : 255;
    size_t k = kl * 3 + 1;
    if (has_text(f))
        return k + (f->v.s ? cut(f->v.s, f->len) : 0) * 3 + 1;
    if (f->type == LUMEN_FIELD_BYTES)
        return k + bytes_len(f) + 1;
    return k;
}

static void field_copy(lumen_field *d, const lumen_field *f, char **at, unsigned klen)
{
    *d = *f;
    char *k = *at;
    text_copy(at, f->key, klen < 255 ? klen : f->key ? strlen(f->key) : 0);
    d->key = k;
    if (has_text(f)) {
        char *v = *at;
        d->len = text_copy(at, f->v.s, f->v.s ? cut(f->v.s, f->len) : 0);
        d->v.s = v;
    } else if (f->type == LUMEN_FIELD_BYTES) {
        char *v = *at;
        d->len = bytes_len(f);
        if (d->len > 0 && f->v.p != NULL)
            memcpy(v, f->v.p, d->len);
        else
            d->len = 0;
        v[d->len] = '\0';
        *at = v + d->len + 1;
        d->v.p = v;
    }
}

void lumen__log_record_plan(lumen__log_plan *p, const lumen__log_rec *r, bool source)
{
    const lumen_logger *lg = r->lg;
    const lumen__log_bound *bound = &lg->bound;
    const lumen__tctx *ctx = r->ctx;
    size_t nx = 0;
    if (ctx != NULL && ctx->request_id_len > 0)
        p->extra[nx++] = lumen_field_strn(k_request_id, ctx->request_id, ctx->request_id_len);
    if (r->suppressed > 0)
        p->extra[nx++] = lumen_field_uint(k_suppressed, r->suppressed);
    if (source && r->src != NULL) {
        if (r->src->file != NULL)
            p->extra[nx++] = lumen_field_str(k_file, r->src->file);
        if (r->src->line > 0)
            p->extra[nx++] = lumen_field_int(k_line, r->src->line);
        if (r->src->func != NULL)
            p->extra[nx++] = lumen_field_str(k_func, r->src->func);
    }
    p->nx = nx;
    size_t n = bound->n + r->n + nx;
    size_t bytes = sizeof(lumen_log_record) + n * sizeof(lumen_field);
    /* The common record fits a queue slot by a bound that reads no text;
     * only a record near or over the slot's size is measured exactly. */
    size_t msg_len = cut(r->msg, r->msg_len);
    size_t quick = bytes + msg_len * 3 + 1;
    uint8_t scratch;
    size_t j = 0;
    for (size_t i = 0; i < bound->n; i++, j++)
        quick += field_bound(&bound->f[i], j < LUMEN__LOG_PLAN_KEYS ? &p->klen[j] : &scratch);
    for (size_t i = 0; i < r->n; i++, j++)
        quick += field_bound(&r->f[i], j < LUMEN__LOG_PLAN_KEYS ? &p->klen[j] : &scratch);
    for (size_t i = 0; i < nx; i++, j++)
        quick += field_bound(&p->extra[i], j < LUMEN__LOG_PLAN_KEYS ? &p->klen[j] : &scratch);
    quick = (quick + 15) & ~(size_t)15;
    if (quick <= p->fits) {
        p->bytes = quick;
        return;
    }
    bytes += text_size(r->msg, msg_len);
    for (size_t i = 0; i < bound->n; i++)
        bytes += field_size(&bound->f[i]);
    for (size_t i = 0; i < r->n; i++)
        bytes += field_size(&r->f[i]);
    for (size_t i = 0; i < nx; i++)
        bytes += field_size(&p->extra[i]);
    /* Keep the next record in a slot aligned for its struct. */
    p->bytes = (bytes + 15) & ~(size_t)15;
}

lumen_log_record *lumen__log_record_write(void *mem, bool heap, const lumen__log_plan *p,
                                          const lumen__log_rec *r)
{
    const lumen_logger *lg = r->lg;
    const lumen__log_bound *bound = &lg->bound;
    const lumen_logger *scope = lg;
    while (scope->is_child && scope->parent != NULL)
        scope = scope->parent;
    const lumen__tctx *ctx = r->ctx;
    size_t n = bound->n + r->n + p->nx;
    lumen_log_record *rec = mem;
    rec->level = r->level;
    rec->ts_ns = r->ts_ns;
    rec->scope = scope;
    rec->f = (lumen_field *)(rec + 1);
    rec->n = n;
    rec->bytes = heap ? p->bytes : 0;
    char *at = (char *)(rec->f + n);
    rec->msg = at;
    rec->msg_len = text_copy(&at, r->msg, cut(r->msg, r->msg_len));
    size_t j = 0;
#define KLEN(j) ((j) < LUMEN__LOG_PLAN_KEYS ? p->klen[j] : 255u)
    for (size_t i = 0; i < bound->n; i++, j++)
        field_copy(&rec->f[j], &bound->f[i], &at, KLEN(j));
    for (size_t i = 0; i < r->n; i++, j++)
        field_copy(&rec->f[j], &r->f[i], &at, KLEN(j));
    for (size_t i = 0; i < p->nx; i++, j++)
        field_copy(&rec->f[j], &p->extra[i], &at, KLEN(j));
#undef KLEN
    rec->has_span = ctx != NULL && ctx->has_span;
    if (rec->has_span) {
        memcpy(rec->trace_id, ctx->trace_id, 16);
        memcpy(rec->span_id, ctx->span_id, 8);
        rec->trace_flags = ctx->trace_flags;
    } else {
        memset(rec->trace_id, 0, 16);
        memset(rec->span_id, 0, 8);
        rec->trace_flags = 0;
    }
    return rec;
}

void lumen__log_record_free(lumen_log_record *rec)
{
    if (rec != NULL && rec->bytes > 0)
        lumen__free(rec, rec->bytes);
}

/* ---- readers ----------------------------------------------------------- */

lumen_log_level lumen_log_record_get_level(const lumen_log_record *r)
{
    return r != NULL ? (lumen_log_level)r->level : LUMEN_LOG_INHERIT;
}

int64_t lumen_log_record_get_time_ns(const lumen_log_record *r)
{
    return r != NULL ? r->ts_ns : 0;
}

const char *lumen_log_record_get_logger(const lumen_log_record *r)
{
    return r != NULL ? r->scope->name : "";
}

const char *lumen_log_record_get_message(size_t *out_len, const lumen_log_record *r)
{
    if (out_len != NULL)
        *out_len = r != NULL ? r->msg_len : 0;
    return r != NULL ? r->msg : "";
}

size_t lumen_log_record_get_field_count(const lumen_log_record *r)
{
    return r != NULL ? r->n : 0;
}

bool lumen_log_record_get_field(lumen_field *out, const lumen_log_record *r, size_t i)
{
    if (out == NULL || r == NULL || i >= r->n)
        return false;
    *out = r->f[i];
    return true;
}

bool lumen_log_record_get_trace(uint8_t out_trace_id[16], uint8_t out_span_id[8],
                                uint8_t *out_flags, const lumen_log_record *r)
{
    bool has = r != NULL && r->has_span;
    if (out_trace_id != NULL) {
        if (has)
            memcpy(out_trace_id, r->trace_id, 16);
        else
            memset(out_trace_id, 0, 16);
    }
    if (out_span_id != NULL) {
        if (has)
            memcpy(out_span_id, r->span_id, 8);
        else
            memset(out_span_id, 0, 8);
    }
    if (out_flags != NULL)
        *out_flags = has ? r->trace_flags : 0;
    return has;
}

/* ---- exporters ----------------------------------------------------------- */

static const size_t ops_sizes[] = {0, sizeof(lumen_log_exporter_ops)};

int lumen_log_exporter_ops_init(lumen_log_exporter_ops *ops, unsigned int version)
{
    return lumen__versioned_init(ops, version, ops_sizes, LUMEN__VERSIONS(ops_sizes));
}

int lumen_log_exporter_new(lumen_log_exporter **out, const lumen_log_exporter_ops *ops, void *ud)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (ops == NULL)
        return LUMEN_EINVAL;
    lumen_log_exporter_ops full;
    int vrc = lumen__versioned_in(&full, sizeof full, ops, ops_sizes, LUMEN__VERSIONS(ops_sizes));
    if (vrc != LUMEN_OK)
        return vrc;
    if (full.export_records == NULL)
        return LUMEN_EINVAL;
    lumen_log_exporter *e = lumen__calloc(1, sizeof *e);
    if (e == NULL)
        return LUMEN_ENOMEM;
    e->ops = full;
    e->ud = ud;
    *out = e;
    return LUMEN_OK;
}

int lumen_log_exporter_user_data(void **out, const lumen_log_exporter *exp,
                                 int (*export_records)(void *, const lumen_log_record *const *,
                                                       size_t, int64_t))
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (exp == NULL || export_records == NULL || exp->ops.export_records != export_records)
        return LUMEN_EINVAL;
    *out = exp->ud;
    return LUMEN_OK;
}

int lumen__log_exporter_export(lumen_log_exporter *e, const lumen_log_record *const *recs, size_t n,
                               int64_t deadline_ns)
{
    if (atomic_load(&e->shut))
        return LUMEN_ESHUTDOWN;
    int rc = e->ops.export_records(e->ud, recs, n, deadline_ns);
    if (rc > 0) {
        lumen__diag(LUMEN_DIAG_WARN, "log exporter returned a positive status %d", rc);
        rc = LUMEN_EINVAL;
    }
    return rc;
}

int lumen__log_exporter_shutdown(lumen_log_exporter *e, int64_t deadline_ns)
{
    if (atomic_exchange(&e->shut, true))
        return LUMEN_OK;
    return e->ops.shutdown != NULL ? e->ops.shutdown(e->ud, deadline_ns) : LUMEN_OK;
}

void lumen_log_exporter_free(lumen_log_exporter *exp)
{
    if (exp == NULL)
        return;
    lumen__log_exporter_shutdown(exp, lumen__mono_ns() +
                                          (int64_t)LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS * 1000000);
    if (exp->ops.destroy != NULL)
        exp->ops.destroy(exp->ud);
    lumen__free(exp, sizeof *exp);
}
