/*
 * otlp/logs.c: OTLP logs, protobuf and OTLP/JSON, and the public encoder
 * lumen_otlp_encode_logs. Field numbers from opentelemetry-proto
 * logs/v1/logs.proto, collector/logs/v1/logs_service.proto and
 * common/v1/common.proto.
 *
 * One ResourceLogs (the resource of the tracer provider given, the one
 * traces carry), one ScopeLogs per logger (the nearest named logger is the
 * instrumentation scope, in first-seen order), one LogRecord per record:
 * time_unix_nano and observed_time_unix_nano (lumen takes the time once,
 * when the record is logged, so both carry it), severity number (a lumen
 * level is its SeverityNumber) and text, the message as a string body, the
 * fields as attributes with their types, and the trace context.
 *
 * Field types: STR is a string, INT an int, UINT an int when it fits in
 * int64 and otherwise its decimal text (OTLP has no unsigned 64-bit
 * value), FLOAT a double, BOOL a bool, BYTES bytes (base64 in OTLP/JSON,
 * as proto3 JSON writes bytes), STATUS the status's name as a string.
 * Strings were repaired to UTF-8 when the record was copied.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/escape.h"
#include "core/hex.h"
#include "core/utf8.h"
#include "log/otel.h"
#include "lumen/otlp.h"
#include "otlp/json.h"
#include "otlp/pb.h"
#include "otlp/proto.h"
#include "trace/provider.h"

static const char *severity_text(int level)
{
    static const char *const names[6] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    int i = (level - 1) / 4;
    return i >= 0 && i < 6 ? names[i] : "";
}

/* Records grouped by scope, first-seen order: scopes[0..ns) and, for
 * each, its records in order (order[], with starts[] into it). */
typedef struct groups {
    const lumen_logger **scopes;
    size_t *starts;
    const lumen_log_record **order;
    size_t ns;
} groups;

static bool group(groups *g, const lumen_log_record *const *recs, size_t n)
{
    g->scopes = lumen__malloc(n * sizeof *g->scopes);
    g->starts = lumen__malloc((n + 1) * sizeof *g->starts);
    g->order = lumen__malloc(n * sizeof *g->order);
    g->ns = 0;
    if (g->scopes == NULL || g->starts == NULL || g->order == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        while (s < g->ns && g->scopes[s] != recs[i]->scope)
            s++;
        if (s == g->ns)
            g->scopes[g->ns++] = recs[i]->scope;
    }
    size_t k = 0;
    for (size_t s = 0; s < g->ns; s++) {
        g->starts[s] = k;
        for (size_t i = 0; i < n; i++)
            if (recs[i]->scope == g->scopes[s])
                g->order[k++] = recs[i];
    }
    g->starts[g->ns] = k;
    return true;
}

static void groups_free(groups *g, size_t n)
{
    lumen__free(g->scopes, n * sizeof *g->scopes);
    lumen__free(g->starts, (n + 1) * sizeof *g->starts);
    lumen__free(g->order, n * sizeof *g->order);
}

/* ---- protobuf -------------------------------------------------------------- */

static void pb_field_value(lumen__buf *b, const lumen_field *f)
{
    size_t m = begin(b, 2); /* KeyValue.value: AnyValue */
    switch (f->type) {
    case LUMEN_FIELD_STR:
        bytes_field(b, 1, f->v.s, f->len);
        break;
    case LUMEN_FIELD_INT:
        tag(b, 3, WT_VARINT);
        varint(b, (uint64_t)f->v.i);
        break;
    case LUMEN_FIELD_UINT:
        if (f->v.u <= (uint64_t)INT64_MAX) {
            tag(b, 3, WT_VARINT);
            varint(b, f->v.u);
        } else {
            char d[24];
            int k = snprintf(d, sizeof d, "%" PRIu64, f->v.u);
            bytes_field(b, 1, d, (size_t)k);
        }
        break;
    case LUMEN_FIELD_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &f->v.d, 8);
        fixed64_field(b, 4, bits);
        break;
    }
    case LUMEN_FIELD_BOOL:
        tag(b, 2, WT_VARINT);
        varint(b, f->v.b ? 1 : 0);
        break;
    case LUMEN_FIELD_BYTES:
        bytes_field(b, 7, f->v.p, f->len);
        break;
    case LUMEN_FIELD_STATUS: {
        const char *name = lumen_status_name((int)f->v.i);
        bytes_field(b, 1, name, strlen(name));
        break;
    }
    default:
        break; /* an unknown type: an empty AnyValue */
    }
    end(b, m);
}

static void pb_record(lumen__buf *b, const lumen_log_record *r)
{
    size_t m = begin(b, 2); /* ScopeLogs.log_records */
    fixed64_field(b, 1, (uint64_t)r->ts_ns);
    uint_field(b, 2, (uint64_t)r->level);
    str_field(b, 3, severity_text(r->level));
    size_t body = begin(b, 5);
    bytes_field(b, 1, r->msg, r->msg_len);
    end(b, body);
    for (size_t i = 0; i < r->n; i++) {
        const lumen_field *f = &r->f[i];
        size_t kv = begin(b, 6);
        str_field(b, 1, f->key);
        pb_field_value(b, f);
        end(b, kv);
    }
    if (r->has_span) {
        fixed32_field(b, 8, r->trace_flags);
        bytes_field(b, 9, r->trace_id, 16);
        bytes_field(b, 10, r->span_id, 8);
    }
    fixed64_field(b, 11, (uint64_t)r->ts_ns);
    end(b, m);
}

/* A logger's name is any bytes; an OTLP string must be UTF-8. */
static void scope_name(lumen__buf *b, const lumen_logger *lg)
{
    if (lumen__utf8_invalid(lg->name, lg->name_len) == 0) {
        bytes_field(b, 1, lg->name, lg->name_len);
        return;
    }
    bool oom = false;
    char *fixed = lumen__utf8_repair_dup(lg->name, lg->name_len, &oom);
    if (fixed == NULL) {
        b->oom = true;
        return;
    }
    bytes_field(b, 1, fixed, strlen(fixed));
    lumen__free(fixed, 0);
}

static void pb_request(lumen__buf *b, const groups *g, const lumen_tracer_provider *tp)
{
    size_t rl = begin(b, 1);  /* ExportLogsServiceRequest.resource_logs */
    size_t res = begin(b, 1); /* ResourceLogs.resource */
    if (tp != NULL)
        lumen__otlp_pb_key_values(b, 1, tp->resource, tp->nresource);
    end(b, res);
    for (size_t s = 0; s < g->ns; s++) {
        size_t sl = begin(b, 2); /* ResourceLogs.scope_logs */
        size_t sc = begin(b, 1); /* ScopeLogs.scope */
        scope_name(b, g->scopes[s]);
        end(b, sc);
        for (size_t i = g->starts[s]; i < g->starts[s + 1]; i++)
            pb_record(b, g->order[i]);
        end(b, sl);
    }
    end(b, rl);
}

/* ---- OTLP/JSON ------------------------------------------------------------- */

static void base64(lumen__buf *b, const unsigned char *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {a[(v >> 18) & 63], a[(v >> 12) & 63], i + 1 < n ? a[(v >> 6) & 63] : '=',
                     i + 2 < n ? a[v & 63] : '='};
        lumen__buf_add(b, q, 4);
    }
}

static void json_field_value(lumen__buf *b, const lumen_field *f)
{
    switch (f->type) {
    case LUMEN_FIELD_STR:
        lumen__buf_puts(b, "{\"stringValue\":");
        lumen__json_str(b, f->v.s, f->len);
        break;
    case LUMEN_FIELD_INT:
        lumen__buf_puts(b, "{\"intValue\":\"");
        lumen__buf_i64(b, f->v.i);
        lumen__buf_putc(b, '"');
        break;
    case LUMEN_FIELD_UINT:
        lumen__buf_puts(b,
                        f->v.u <= (uint64_t)INT64_MAX ? "{\"intValue\":\"" : "{\"stringValue\":\"");
        lumen__buf_u64(b, f->v.u);
        lumen__buf_putc(b, '"');
        break;
    case LUMEN_FIELD_FLOAT:
        lumen__buf_puts(b, "{\"doubleValue\":");
        lumen__otlp_json_double(b, f->v.d);
        break;
    case LUMEN_FIELD_BOOL:
        lumen__buf_puts(b, f->v.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case LUMEN_FIELD_BYTES:
        lumen__buf_puts(b, "{\"bytesValue\":\"");
        base64(b, f->v.p, f->len);
        lumen__buf_putc(b, '"');
        break;
    case LUMEN_FIELD_STATUS: {
        const char *name = lumen_status_name((int)f->v.i);
        lumen__buf_puts(b, "{\"stringValue\":");
        lumen__json_str(b, name, strlen(name));
        break;
    }
    default:
        lumen__buf_putc(b, '{');
    }
    lumen__buf_putc(b, '}');
}

static void json_record(lumen__buf *b, const lumen_log_record *r)
{
    lumen__buf_puts(b, "{\"timeUnixNano\":\"");
    lumen__buf_i64(b, r->ts_ns);
    lumen__buf_puts(b, "\",\"observedTimeUnixNano\":\"");
    lumen__buf_i64(b, r->ts_ns);
    lumen__buf_puts(b, "\",\"severityNumber\":");
    lumen__buf_u64(b, (uint64_t)r->level);
    lumen__buf_puts(b, ",\"severityText\":\"");
    lumen__buf_puts(b, severity_text(r->level));
    lumen__buf_puts(b, "\",\"body\":{\"stringValue\":");
    lumen__json_str(b, r->msg, r->msg_len);
    lumen__buf_puts(b, "},\"attributes\":[");
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"key\":");
        lumen__json_str(b, r->f[i].key, strlen(r->f[i].key));
        lumen__buf_puts(b, ",\"value\":");
        json_field_value(b, &r->f[i]);
        lumen__buf_putc(b, '}');
    }
    lumen__buf_putc(b, ']');
    if (r->has_span) {
        lumen__buf_puts(b, ",\"flags\":");
        lumen__buf_u64(b, r->trace_flags);
        lumen__buf_puts(b, ",\"traceId\":\"");
        lumen__buf_hex(b, r->trace_id, 16);
        lumen__buf_puts(b, "\",\"spanId\":\"");
        lumen__buf_hex(b, r->span_id, 8);
        lumen__buf_putc(b, '"');
    }
    lumen__buf_putc(b, '}');
}

static void json_request(lumen__buf *b, const groups *g, const lumen_tracer_provider *tp)
{
    lumen__buf_puts(b, "{\"resourceLogs\":[{\"resource\":{");
    if (tp != NULL)
        lumen__otlp_json_attributes(b, tp->resource, tp->nresource);
    lumen__buf_puts(b, "},\"scopeLogs\":[");
    for (size_t s = 0; s < g->ns; s++) {
        if (s)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"scope\":{\"name\":");
        lumen__json_str(b, g->scopes[s]->name, g->scopes[s]->name_len);
        lumen__buf_puts(b, "},\"logRecords\":[");
        for (size_t i = g->starts[s]; i < g->starts[s + 1]; i++) {
            if (i > g->starts[s])
                lumen__buf_putc(b, ',');
            json_record(b, g->order[i]);
        }
        lumen__buf_puts(b, "]}");
    }
    lumen__buf_puts(b, "]}]}");
}

int lumen_otlp_encode_logs(char **out, size_t *out_len, lumen_otlp_format fmt,
                           const lumen_log_record *const *records, size_t n,
                           const lumen_tracer_provider *resource_from)
{
    if (out != NULL)
        *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    if (out == NULL || out_len == NULL || (records == NULL && n > 0) ||
        (fmt != LUMEN_OTLP_PROTOBUF && fmt != LUMEN_OTLP_JSON))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (records[i] == NULL)
            return LUMEN_EINVAL;
    lumen__buf b = LUMEN__BUF_INIT;
    if (!lumen__buf_reserve(&b, n * 256 + 256))
        return LUMEN_ENOMEM;
    groups g;
    if (n > 0 && !group(&g, records, n)) {
        groups_free(&g, n);
        lumen__buf_free(&b);
        return LUMEN_ENOMEM;
    }
    if (n == 0) {
        if (fmt == LUMEN_OTLP_JSON)
            lumen__buf_puts(&b, "{\"resourceLogs\":[]}");
    } else if (fmt == LUMEN_OTLP_PROTOBUF) {
        pb_request(&b, &g, resource_from);
    } else {
        json_request(&b, &g, resource_from);
    }
    if (n > 0)
        groups_free(&g, n);
    if (b.oom) {
        lumen__buf_free(&b);
        return LUMEN_ENOMEM;
    }
    *out = lumen__buf_steal(&b, out_len);
    return *out != NULL ? LUMEN_OK : LUMEN_ENOMEM;
}
