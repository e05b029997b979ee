/*
 * otlp/metrics.c: OTLP metrics, protobuf and OTLP/JSON, and the public
 * encoder lumen_otlp_encode_metrics. Field numbers from opentelemetry-proto
 * metrics/v1/metrics.proto, collector/metrics/v1/metrics_service.proto and
 * common/v1/common.proto.
 *
 * The registries' families are read as a render reads them (a snapshot
 * of each family's series, their cells read with relaxed loads): an
 * export costs the updating threads nothing, and a registry that is both
 * scraped and exported is read twice, never updated twice.
 *
 * One ResourceMetrics (the resource of the tracer provider given, as
 * traces and logs carry it), one ScopeMetrics (the scope name given, else
 * "lumen", and lumen's version), one Metric per family, in name order
 * (a name in two registries: the first one's). Temporality is cumulative:
 * every point starts at its series' creation (`_created`) and ends now.
 *
 *   counter            Sum, monotonic, cumulative, as_double; its exemplar
 *   gauge, untyped     Gauge, as_double
 *   info (x_info)      Sum, not monotonic, cumulative, as_int 1 (the OTel
 *                      Prometheus compatibility rule for Info)
 *   histogram          Histogram, cumulative: explicit bounds, a count per
 *                      bucket (+Inf last), sum; the buckets' exemplars
 *   native histogram   ExponentialHistogram, cumulative: scale, zero count
 *                      and threshold, positive and negative offset + counts
 *   summary            Summary: count, sum, quantile values
 *
 * Labels (constant ones first) become string attributes. Exemplars carry
 * their labels as filtered attributes, trace_id and span_id as the ids.
 * Not exported: families written by custom collectors, the overflow
 * family, and the registries of a pre-forked family (LUMEN_ENOTSUP).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/hex.h"
#include "lumen/otlp.h"
#include "metrics/exemplar.h"
#include "metrics/exphist.h"
#include "metrics/family.h"
#include "metrics/registry.h"
#include "metrics/summary.h"
#include "otlp/json.h"
#include "otlp/pb.h"
#include "otlp/proto.h"
#include "trace/provider.h"

/* Metric.data fields, and the points' fields that differ by type. */
enum { M_GAUGE = 5, M_SUM = 7, M_HISTOGRAM = 9, M_EXPHIST = 10, M_SUMMARY = 11 };
enum { CUMULATIVE = 2 };

typedef struct mctx {
    lumen__buf *b;
    bool json;
    int64_t now;
    size_t points;
} mctx;

static uint64_t zigzag32(int32_t v)
{
    return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static void pb_double(lumen__buf *b, unsigned field, double v)
{
    fixed64_field(b, field, lumen__f64_bits(v));
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A nested message expected to be short (a data point): one byte kept
 * for its length, where pb.h's begin keeps three, so that the usual point
 * (under 128 bytes) needs no shift when it ends. */
static size_t begin1(lumen__buf *b, unsigned field)
{
    tag(b, field, WT_LEN);
    if (!lumen__buf_reserve(b, 1))
        return 0;
    b->len += 1;
    return b->len;
}

static void end1(lumen__buf *b, size_t body)
{
    if (b->oom || body == 0)
        return;
    size_t n = b->len - body;
    size_t k = varint_len(n);
    if (k > 1) {
        if (!lumen__buf_reserve(b, k - 1))
            return;
        memmove(b->p + body + k - 1, b->p + body, n);
        b->len += k - 1;
    }
    size_t save = b->len;
    b->len = body - 1;
    varint(b, n);
    b->len = save;
    b->p[b->len] = '\0';
}

/* ---- attributes ------------------------------------------------------------ */

/* KeyValue{key, AnyValue{string_value}}: the lengths are known, so it is
 * written in one pass with no length to insert afterwards (a series'
 * labels are most of a request). */
static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static void pb_kv(lumen__buf *b, unsigned field, const char *k, const char *v, size_t vlen)
{
    size_t klen = strlen(k);
    size_t av = 1 + varint_len(vlen) + vlen;
    size_t kv = 1 + varint_len(klen) + klen + 1 + varint_len(av) + av;
    if (!lumen__buf_reserve(b, kv + 16))
        return;
    unsigned char *p = (unsigned char *)b->p + b->len;
    p = put_varint(p, (uint64_t)field << 3 | WT_LEN);
    p = put_varint(p, kv);
    *p++ = 1 << 3 | WT_LEN; /* KeyValue.key */
    p = put_varint(p, klen);
    memcpy(p, k, klen);
    p += klen;
    *p++ = 2 << 3 | WT_LEN; /* KeyValue.value */
    p = put_varint(p, av);
    *p++ = 1 << 3 | WT_LEN; /* AnyValue.string_value: an empty string stays a string */
    p = put_varint(p, vlen);
    memcpy(p, v, vlen);
    p += vlen;
    b->len = (size_t)(p - (unsigned char *)b->p);
    b->p[b->len] = '\0';
}

static void json_kv(lumen__buf *b, bool comma, const char *k, const char *v, size_t vlen)
{
    if (comma)
        lumen__buf_putc(b, ',');
    lumen__buf_puts(b, "{\"key\":");
    lumen__json_str(b, k, strlen(k));
    lumen__buf_puts(b, ",\"value\":{\"stringValue\":");
    lumen__json_str(b, v, vlen);
    lumen__buf_puts(b, "}}");
}

/* A series' labels: the family's constant ones, then its own. */
static void attributes(mctx *m, unsigned field, const lumen__family *f, const lumen__child *ch)
{
    lumen__buf *b = m->b;
    if (m->json)
        lumen__buf_puts(b, "\"attributes\":[");
    size_t k = 0;
    for (size_t i = 0; i < f->nconst; i++, k++) {
        const char *v = f->const_values[i];
        if (m->json)
            json_kv(b, k > 0, f->const_names[i], v, strlen(v));
        else
            pb_kv(b, field, f->const_names[i], v, strlen(v));
    }
    const char *v = ch != NULL ? ch->values : NULL;
    for (size_t i = 0; ch != NULL && i < f->nlabels; i++, k++) {
        if (m->json)
            json_kv(b, k > 0, f->label_names[i], v, strlen(v));
        else
            pb_kv(b, field, f->label_names[i], v, strlen(v));
        v += strlen(v) + 1;
    }
    if (m->json)
        lumen__buf_putc(b, ']');
}

/* ---- exemplars --------------------------------------------------------------- */

/* The next `name="value"` of an exemplar's label text (escaped as the
 * text exposition escapes: \\, \" and \n): the name at *n (length *nl),
 * the unescaped value into val (cap bytes). Advances *p; false at the end. */
static bool next_label(const char **p, const char *end, const char **n, size_t *nl, char *val,
                       size_t cap, size_t *vl)
{
    const char *s = *p;
    if (s < end && *s == ',')
        s++;
    const char *eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL || eq + 1 >= end || eq[1] != '"')
        return false;
    *n = s;
    *nl = (size_t)(eq - s);
    size_t k = 0;
    for (s = eq + 2; s < end && *s != '"'; s++) {
        char c = *s;
        if (c == '\\' && s + 1 < end) {
            c = *++s;
            if (c == 'n')
                c = '\n';
        }
        if (k < cap)
            val[k++] = c;
    }
    *vl = k;
    *p = s < end ? s + 1 : end;
    return true;
}

/* One exemplar (the slot's, if it holds one) as repeated field `field`. */
static void exemplar(mctx *m, unsigned field, _Atomic(lumen__exemplar *) *slot, bool *first)
{
    lumen__exemplar e;
    if (slot == NULL || !lumen__exemplar_read(slot, &e))
        return;
    lumen__buf *b = m->b;
    uint8_t tid[16], sid[8];
    bool has_t = false, has_s = false;
    char val[LUMEN__EXEMPLAR_BYTES], name[LUMEN__EXEMPLAR_BYTES];
    const char *p = e.labels, *lim = e.labels + e.len, *n;
    size_t nl, vl;
    size_t msg = 0;
    if (m->json) {
        lumen__buf_puts(b, *first ? "\"exemplars\":[{" : ",{");
        lumen__buf_puts(b, "\"filteredAttributes\":[");
    } else {
        msg = begin(b, field);
    }
    *first = false;
    size_t k = 0;
    while (next_label(&p, lim, &n, &nl, val, sizeof val, &vl)) {
        if (nl == 8 && memcmp(n, "trace_id", 8) == 0 && vl == 32 && lumen__unhex(val, 16, tid, 0)) {
            has_t = true;
            continue;
        }
        if (nl == 7 && memcmp(n, "span_id", 7) == 0 && vl == 16 && lumen__unhex(val, 8, sid, 0)) {
            has_s = true;
            continue;
        }
        memcpy(name, n, nl);
        name[nl] = '\0';
        if (m->json)
            json_kv(b, k++ > 0, name, val, vl);
        else
            pb_kv(b, 7, name, val, vl);
    }
    if (m->json) {
        lumen__buf_puts(b, "],\"timeUnixNano\":\"");
        lumen__buf_i64(b, e.ts_ns);
        lumen__buf_puts(b, "\",\"asDouble\":");
        lumen__otlp_json_double(b, e.value);
        if (has_s) {
            lumen__buf_puts(b, ",\"spanId\":\"");
            lumen__buf_hex(b, sid, 8);
            lumen__buf_putc(b, '"');
        }
        if (has_t) {
            lumen__buf_puts(b, ",\"traceId\":\"");
            lumen__buf_hex(b, tid, 16);
            lumen__buf_putc(b, '"');
        }
        lumen__buf_putc(b, '}');
    } else {
        fixed64_field(b, 2, (uint64_t)e.ts_ns);
        pb_double(b, 3, e.value);
        if (has_s)
            bytes_field(b, 4, sid, 8);
        if (has_t)
            bytes_field(b, 5, tid, 16);
        end(b, msg);
    }
}

/* ---- points ------------------------------------------------------------------ */

/* The start of a point: its attributes and times (start 0: none). */
static size_t point_begin(mctx *m, unsigned attr_field, const lumen__family *f,
                          const lumen__child *ch, int64_t start, bool comma)
{
    lumen__buf *b = m->b;
    m->points++;
    if (m->json) {
        lumen__buf_puts(b, comma ? ",{" : "{");
        attributes(m, attr_field, f, ch);
        if (start != 0) {
            lumen__buf_puts(b, ",\"startTimeUnixNano\":\"");
            lumen__buf_i64(b, start);
            lumen__buf_putc(b, '"');
        }
        lumen__buf_puts(b, ",\"timeUnixNano\":\"");
        lumen__buf_i64(b, m->now);
        lumen__buf_putc(b, '"');
        return 0;
    }
    size_t p = begin1(b, 1); /* <Data>.data_points */
    attributes(m, attr_field, f, ch);
    if (start != 0)
        fixed64_field(b, 2, (uint64_t)start);
    fixed64_field(b, 3, (uint64_t)m->now);
    return p;
}

static void point_end(mctx *m, size_t p)
{
    if (m->json)
        lumen__buf_putc(m->b, '}');
    else
        end1(m->b, p);
}

/* A NumberDataPoint: a double (is_int: an int) and the slot's exemplar. */
static void number_point(mctx *m, const lumen__family *f, const lumen__child *ch, int64_t start,
                         double v, bool is_int, _Atomic(lumen__exemplar *) *slot, bool comma)
{
    lumen__buf *b = m->b;
    size_t p = point_begin(m, 7, f, ch, start, comma);
    bool first = true;
    if (m->json) {
        if (is_int) {
            lumen__buf_puts(b, ",\"asInt\":\"");
            lumen__buf_i64(b, (int64_t)v);
            lumen__buf_putc(b, '"');
        } else {
            lumen__buf_puts(b, ",\"asDouble\":");
            lumen__otlp_json_double(b, v);
        }
        lumen__buf_putc(b, ',');
        size_t at = b->len;
        exemplar(m, 5, slot, &first);
        if (first)
            b->len = at - 1; /* no exemplar: take the comma back */
        else
            lumen__buf_putc(b, ']');
    } else {
        if (is_int)
            fixed64_field(b, 6, (uint64_t)(int64_t)v);
        else
            pb_double(b, 4, v);
        exemplar(m, 5, slot, &first);
    }
    point_end(m, p);
}

static void packed_u64(mctx *m, unsigned field, const uint64_t *c, size_t n, bool fixed)
{
    lumen__buf *b = m->b;
    if (m->json) {
        for (size_t i = 0; i < n; i++) {
            lumen__buf_puts(b, i ? ",\"" : "\"");
            lumen__buf_u64(b, c[i]);
            lumen__buf_putc(b, '"');
        }
        return;
    }
    if (n == 0)
        return;
    size_t s = begin(b, field);
    for (size_t i = 0; i < n; i++) {
        if (fixed) {
            unsigned char le[8];
            for (int k = 0; k < 8; k++)
                le[k] = (unsigned char)(c[i] >> (8 * k));
            lumen__buf_add(b, le, 8);
        } else {
            varint(b, c[i]);
        }
    }
    end(b, s);
}

static void histogram_point(mctx *m, const lumen__family *f, lumen__child *ch, bool comma)
{
    lumen__buf *b = m->b;
    size_t nb = f->nbuckets;
    uint64_t u[LUMEN__MAX_BUCKETS + 1];
    lumen__cells_read_u64(ch->cell, (uint32_t)nb + 1, u);
    uint64_t total = 0;
    for (size_t i = 0; i <= nb; i++)
        total += u[i];
    double sum = lumen__cells_read_f64(ch->cell + (uint32_t)nb + 1);
    size_t p = point_begin(m, 9, f, ch, ch->created_ns, comma);
    _Atomic(lumen__exemplar *) *hex = atomic_load_explicit(&ch->u.hex, memory_order_acquire);
    bool first = true;
    if (m->json) {
        lumen__buf_puts(b, ",\"count\":\"");
        lumen__buf_u64(b, total);
        lumen__buf_puts(b, "\",\"sum\":");
        lumen__otlp_json_double(b, sum);
        lumen__buf_puts(b, ",\"bucketCounts\":[");
        packed_u64(m, 6, u, nb + 1, true);
        lumen__buf_puts(b, "],\"explicitBounds\":[");
        for (size_t i = 0; i < nb; i++) {
            if (i)
                lumen__buf_putc(b, ',');
            lumen__otlp_json_double(b, f->buckets[i]);
        }
        lumen__buf_putc(b, ']');
        for (size_t i = 0; hex != NULL && i <= nb; i++) {
            if (first)
                lumen__buf_putc(b, ',');
            size_t at = b->len;
            exemplar(m, 8, &hex[i], &first);
            if (first)
                b->len = at - 1;
        }
        if (!first)
            lumen__buf_putc(b, ']');
    } else {
        fixed64_field(b, 4, total);
        pb_double(b, 5, sum);
        packed_u64(m, 6, u, nb + 1, true);
        if (nb > 0) {
            size_t s = begin(b, 7);
            for (size_t i = 0; i < nb; i++) {
                uint64_t bits = lumen__f64_bits(f->buckets[i]);
                unsigned char le[8];
                for (int k = 0; k < 8; k++)
                    le[k] = (unsigned char)(bits >> (8 * k));
                lumen__buf_add(b, le, 8);
            }
            end(b, s);
        }
        for (size_t i = 0; hex != NULL && i <= nb; i++)
            exemplar(m, 8, &hex[i], &first);
    }
    point_end(m, p);
}

static void exp_buckets(mctx *m, unsigned field, const char *key, int32_t off, const uint64_t *c,
                        uint32_t n)
{
    lumen__buf *b = m->b;
    if (m->json) {
        lumen__buf_puts(b, key);
        lumen__buf_puts(b, ":{\"offset\":");
        lumen__buf_i64(b, off);
        lumen__buf_puts(b, ",\"bucketCounts\":[");
        packed_u64(m, 2, c, n, false);
        lumen__buf_puts(b, "]}");
        return;
    }
    size_t s = begin(b, field);
    if (off != 0) {
        tag(b, 1, WT_VARINT);
        varint(b, zigzag32(off));
    }
    packed_u64(m, 2, c, n, false);
    end(b, s);
}

static void exphist_point(mctx *m, const lumen__family *f, lumen__child *ch, bool comma)
{
    lumen__buf *b = m->b;
    lumen__exphist_data d;
    if (lumen__exphist_read_series(ch, &d) != LUMEN_OK) {
        b->oom = true;
        return;
    }
    size_t p = point_begin(m, 1, f, ch, ch->created_ns, comma);
    if (m->json) {
        lumen__buf_puts(b, ",\"count\":\"");
        lumen__buf_u64(b, d.total);
        lumen__buf_puts(b, "\",\"sum\":");
        lumen__otlp_json_double(b, d.sum);
        lumen__buf_puts(b, ",\"scale\":");
        lumen__buf_i64(b, d.scale);
        lumen__buf_puts(b, ",\"zeroCount\":\"");
        lumen__buf_u64(b, d.zero_count);
        lumen__buf_puts(b, "\",");
        exp_buckets(m, 8, "\"positive\"", d.offset[0], d.counts[0], d.len[0]);
        lumen__buf_putc(b, ',');
        exp_buckets(m, 9, "\"negative\"", d.offset[1], d.counts[1], d.len[1]);
        lumen__buf_puts(b, ",\"zeroThreshold\":");
        lumen__otlp_json_double(b, d.zero_threshold);
    } else {
        fixed64_field(b, 4, d.total);
        pb_double(b, 5, d.sum);
        if (d.scale != 0) {
            tag(b, 6, WT_VARINT);
            varint(b, zigzag32(d.scale));
        }
        fixed64_field(b, 7, d.zero_count);
        exp_buckets(m, 8, NULL, d.offset[0], d.counts[0], d.len[0]);
        exp_buckets(m, 9, NULL, d.offset[1], d.counts[1], d.len[1]);
        pb_double(b, 14, d.zero_threshold);
    }
    lumen__exphist_data_free(&d);
    point_end(m, p);
}

static void summary_point(mctx *m, const lumen__family *f, lumen__child *ch, bool comma)
{
    lumen__buf *b = m->b;
    double q[LUMEN__MAX_QUANTILES];
    uint64_t count;
    double sum;
    lumen__summary_read(ch->u.sum, f, &count, &sum, q);
    size_t p = point_begin(m, 7, f, ch, ch->created_ns, comma);
    if (m->json) {
        lumen__buf_puts(b, ",\"count\":\"");
        lumen__buf_u64(b, count);
        lumen__buf_puts(b, "\",\"sum\":");
        lumen__otlp_json_double(b, sum);
        lumen__buf_puts(b, ",\"quantileValues\":[");
        for (size_t i = 0; i < f->nquantiles; i++) {
            lumen__buf_puts(b, i ? ",{\"quantile\":" : "{\"quantile\":");
            lumen__otlp_json_double(b, f->quantiles[i]);
            lumen__buf_puts(b, ",\"value\":");
            lumen__otlp_json_double(b, q[i]);
            lumen__buf_putc(b, '}');
        }
        lumen__buf_putc(b, ']');
    } else {
        fixed64_field(b, 4, count);
        pb_double(b, 5, sum);
        for (size_t i = 0; i < f->nquantiles; i++) {
            size_t s = begin(b, 6);
            pb_double(b, 1, f->quantiles[i]);
            pb_double(b, 2, q[i]);
            end(b, s);
        }
    }
    point_end(m, p);
}

/* ---- metrics ----------------------------------------------------------------- */

static const char *json_data_key(int kind)
{
    switch (kind) {
    case M_GAUGE:
        return "gauge";
    case M_SUM:
        return "sum";
    case M_HISTOGRAM:
        return "histogram";
    case M_EXPHIST:
        return "exponentialHistogram";
    default:
        return "summary";
    }
}

/* One family as one Metric. */
static void metric(mctx *m, lumen__family *f, bool comma)
{
    lumen__buf *b = m->b;
    int kind;
    switch (f->type) {
    case LUMEN_METRIC_COUNTER:
    case LUMEN_METRIC_INFO:
        kind = M_SUM;
        break;
    case LUMEN_METRIC_HISTOGRAM:
        kind = f->hkind == LUMEN_HISTOGRAM_CLASSIC ? M_HISTOGRAM : M_EXPHIST;
        break;
    case LUMEN_METRIC_SUMMARY:
        kind = M_SUMMARY;
        break;
    default:
        kind = M_GAUGE;
    }
    if (f->fn != NULL)
        kind = M_GAUGE;
    /* The name: an info family's with its _info (OTLP has no info type). */
    size_t nlen = strlen(f->name);
    char *name = lumen__malloc(nlen + 6);
    if (name == NULL) {
        b->oom = true;
        return;
    }
    memcpy(name, f->name, nlen);
    name[nlen] = '\0';
    if (f->type == LUMEN_METRIC_INFO)
        memcpy(name + nlen, "_info", 6);
    size_t mm = 0, data = 0;
    if (m->json) {
        lumen__buf_puts(b, comma ? ",{\"name\":" : "{\"name\":");
        lumen__json_str(b, name, strlen(name));
        lumen__buf_puts(b, ",\"description\":");
        lumen__json_str(b, f->help ? f->help : "", f->help ? strlen(f->help) : 0);
        lumen__buf_puts(b, ",\"unit\":");
        lumen__json_str(b, f->unit ? f->unit : "", f->unit ? strlen(f->unit) : 0);
        lumen__buf_puts(b, ",\"");
        lumen__buf_puts(b, json_data_key(kind));
        lumen__buf_puts(b, "\":{\"dataPoints\":[");
    } else {
        mm = begin(b, 2); /* ScopeMetrics.metrics */
        str_field(b, 1, name);
        str_field(b, 2, f->help);
        str_field(b, 3, f->unit);
        data = begin(b, (unsigned)kind);
    }
    lumen__free(name, nlen + 6);
    if (f->fn != NULL) {
        number_point(m, f, NULL, 0, f->fn(f->fn_ud), false, NULL, false);
    } else {
        size_t n;
        lumen__child **ch = lumen__family_snapshot(f, &n);
        if (ch == NULL) {
            b->oom = true;
            return;
        }
        for (size_t k = 0; k < n && !b->oom; k++) {
            lumen__child *c = ch[k];
            bool cm = k > 0;
            switch (f->type) {
            case LUMEN_METRIC_COUNTER: {
                uint64_t u;
                lumen__cells_read_u64(c->cell, 1, &u);
                number_point(m, f, c, c->created_ns, (double)u + lumen__cells_read_f64(c->cell + 1),
                             false, &c->u.ex, cm);
                break;
            }
            case LUMEN_METRIC_INFO:
                number_point(m, f, c, c->created_ns, 1, true, NULL, cm);
                break;
            case LUMEN_METRIC_HISTOGRAM:
                if (kind == M_HISTOGRAM)
                    histogram_point(m, f, c, cm);
                else
                    exphist_point(m, f, c, cm);
                break;
            case LUMEN_METRIC_SUMMARY:
                summary_point(m, f, c, cm);
                break;
            default:
                number_point(
                    m, f, c, 0,
                    lumen__bits_f64(atomic_load_explicit(&c->u.gauge, memory_order_relaxed)), false,
                    NULL, cm);
            }
        }
        lumen__family_snapshot_end(f, ch);
    }
    bool temporality = kind == M_SUM || kind == M_HISTOGRAM || kind == M_EXPHIST;
    if (m->json) {
        lumen__buf_putc(b, ']');
        if (temporality)
            lumen__buf_puts(b, ",\"aggregationTemporality\":2");
        if (kind == M_SUM)
            lumen__buf_puts(b, f->type == LUMEN_METRIC_COUNTER ? ",\"isMonotonic\":true"
                                                               : ",\"isMonotonic\":false");
        lumen__buf_puts(b, "}}");
    } else {
        if (temporality)
            uint_field(b, 2, CUMULATIVE);
        if (kind == M_SUM)
            uint_field(b, 3, f->type == LUMEN_METRIC_COUNTER);
        end(b, data);
        end(b, mm);
    }
}

/* ---- the request ------------------------------------------------------------- */

static int cmp_fam(const void *a, const void *b)
{
    const lumen__family *x = *(lumen__family *const *)a, *y = *(lumen__family *const *)b;
    return strcmp(x->name, y->name);
}

static bool seen_before(lumen__family ***fams, const size_t *nf, size_t r, const lumen__family *f)
{
    for (size_t j = 0; j < r; j++)
        if (fams[j] != NULL && bsearch(&f, fams[j], nf[j], sizeof *fams[j], cmp_fam) != NULL)
            return true;
    return false;
}

static void request(mctx *m, lumen__registry *const *regs, size_t nregs, lumen__family ***fams,
                    const size_t *nf, const lumen_tracer_provider *tp, const char *scope)
{
    lumen__buf *b = m->b;
    size_t rm = 0, res = 0, sm = 0, sc = 0;
    if (m->json) {
        lumen__buf_puts(b, "{\"resourceMetrics\":[{\"resource\":{");
        if (tp != NULL)
            lumen__otlp_json_attributes(b, tp->resource, tp->nresource);
        lumen__buf_puts(b, "},\"scopeMetrics\":[{\"scope\":{\"name\":");
        lumen__json_str(b, scope, strlen(scope));
        lumen__buf_puts(b, ",\"version\":");
        lumen__json_str(b, lumen_version(), strlen(lumen_version()));
        lumen__buf_puts(b, "},\"metrics\":[");
    } else {
        rm = begin(b, 1);  /* ExportMetricsServiceRequest.resource_metrics */
        res = begin(b, 1); /* ResourceMetrics.resource */
        if (tp != NULL)
            lumen__otlp_pb_key_values(b, 1, tp->resource, tp->nresource);
        end(b, res);
        sm = begin(b, 2); /* ResourceMetrics.scope_metrics */
        sc = begin(b, 1); /* ScopeMetrics.scope */
        str_field(b, 1, scope);
        str_field(b, 2, lumen_version());
        end(b, sc);
    }
    bool comma = false;
    for (size_t r = 0; r < nregs && !b->oom; r++)
        for (size_t i = 0; i < nf[r] && !b->oom; i++) {
            if (seen_before(fams, nf, r, fams[r][i]))
                continue;
            metric(m, fams[r][i], comma);
            comma = true;
        }
    if (m->json) {
        lumen__buf_puts(b, "]}]}]}");
    } else {
        end(b, sm);
        end(b, rm);
    }
}

static int encode(char **out, size_t *out_len, size_t *points, lumen_otlp_format fmt,
                  lumen__registry *const *regs, size_t nregs,
                  const lumen_tracer_provider *resource_from, const char *scope)
{
    for (size_t i = 0; i < nregs; i++)
        if (regs[i]->prefork != NULL)
            return LUMEN_ENOTSUP;
    lumen__family **fams[LUMEN_RENDER_MAX_REGISTRIES] = {0};
    size_t nf[LUMEN_RENDER_MAX_REGISTRIES] = {0};
    lumen__buf b = LUMEN__BUF_INIT;
    mctx m = {.b = &b, .json = fmt == LUMEN_OTLP_JSON, .now = lumen__wall_ns()};
    int rc = LUMEN_OK;
    if (!lumen__buf_reserve(&b, 4096))
        rc = LUMEN_ENOMEM;
    for (size_t r = 0; r < nregs && rc == LUMEN_OK; r++)
        if ((fams[r] = lumen__registry_families(regs[r], &nf[r])) == NULL)
            rc = LUMEN_ENOMEM;
    if (rc == LUMEN_OK)
        request(&m, regs, nregs, fams, nf, resource_from,
                scope != NULL && *scope != '\0' ? scope : "lumen");
    for (size_t r = 0; r < nregs; r++) {
        for (size_t i = 0; fams[r] && i < nf[r]; i++)
            lumen__family_unref(fams[r][i]);
        if (fams[r] != NULL)
            lumen__free(fams[r], (nf[r] ? nf[r] : 1) * sizeof **fams);
    }
    if (rc == LUMEN_OK && b.oom)
        rc = LUMEN_ENOMEM;
    if (rc != LUMEN_OK) {
        lumen__buf_free(&b);
        return rc;
    }
    if (points != NULL)
        *points = m.points;
    *out = lumen__buf_steal(&b, out_len);
    return *out != NULL ? LUMEN_OK : LUMEN_ENOMEM;
}

int lumen_otlp_encode_metrics(char **out, size_t *out_len, size_t *out_points,
                              lumen_otlp_format fmt, lumen_registry *const *regs, size_t n,
                              const lumen_tracer_provider *resource_from, const char *scope_name)
{
    if (out != NULL)
        *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    if (out_points != NULL)
        *out_points = 0;
    lumen_registry *def = NULL;
    if (n == 0) {
        regs = &def; /* the default registry */
        n = 1;
    }
    if (out == NULL || out_len == NULL || regs == NULL || n > LUMEN_RENDER_MAX_REGISTRIES ||
        (fmt != LUMEN_OTLP_PROTOBUF && fmt != LUMEN_OTLP_JSON))
        return LUMEN_EINVAL;
    lumen__registry *r[LUMEN_RENDER_MAX_REGISTRIES];
    size_t got = 0;
    int rc = LUMEN_OK;
    for (; got < n; got++)
        if ((r[got] = lumen__registry_get(regs[got])) == NULL) {
            rc = LUMEN_ENOENT;
            break;
        }
    if (rc == LUMEN_OK)
        rc = encode(out, out_len, out_points, fmt, r, n, resource_from, scope_name);
    for (size_t i = 0; i < got; i++)
        lumen__registry_put(r[i]);
    return rc;
}
