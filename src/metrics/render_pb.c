/*
 * metrics/render_pb.c: the Prometheus protobuf exposition (render_pb.h),
 * the one format that carries native histograms.
 *
 * Messages are written straight into the output buffer: a nested
 * message's body is written first and its length varint then inserted
 * before it (a memmove of the body), so no size pass is needed and every
 * varint is minimal. Field numbers are those of client_model's
 * metrics.proto (io.prometheus.client).
 *
 * What maps to what: counters are COUNTER families named with `_total`
 * (as client_golang names them), gauges GAUGE, info metrics GAUGE
 * families `x_info` of value 1, histograms HISTOGRAM (classic buckets
 * without +Inf, which sample_count stands for; native buckets as spans
 * and deltas), summaries SUMMARY, collected untyped families UNTYPED.
 * Exemplars and _created are not written.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "metrics/exphist.h"
#include "metrics/family.h"
#include "metrics/render_pb.h"
#include "metrics/summary.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };
/* MetricType */
enum { PB_COUNTER = 0, PB_GAUGE = 1, PB_SUMMARY = 2, PB_UNTYPED = 3, PB_HISTOGRAM = 4 };

static void varint(lumen__buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] = (char)(tmp[n] | 0x80);
        n++;
    } while (v);
    lumen__buf_add(b, tmp, n);
}

static void tag(lumen__buf *b, unsigned field, unsigned wt)
{
    varint(b, (uint64_t)field << 3 | wt);
}

static void f_varint(lumen__buf *b, unsigned field, uint64_t v)
{
    tag(b, field, WT_VARINT);
    varint(b, v);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void f_double(lumen__buf *b, unsigned field, double v)
{
    uint64_t u = lumen__f64_bits(v);
    char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (char)(u >> (8 * i));
    tag(b, field, WT_I64);
    lumen__buf_add(b, le, 8);
}

static void f_string(lumen__buf *b, unsigned field, const char *s)
{
    size_t n = strlen(s);
    tag(b, field, WT_LEN);
    varint(b, n);
    lumen__buf_add(b, s, n);
}

/* Begin a length-delimited body (after its tag, if any): its start. */
static size_t body_begin(lumen__buf *b)
{
    return b->len;
}

/* End the body begun at `start`: insert its length before it. */
static void body_end(lumen__buf *b, size_t start)
{
    if (b->oom)
        return;
    size_t n = b->len - start;
    char tmp[10];
    size_t k = 0;
    uint64_t v = n;
    do {
        tmp[k] = (char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[k] = (char)(tmp[k] | 0x80);
        k++;
    } while (v);
    if (!lumen__buf_reserve(b, k)) {
        b->oom = true;
        return;
    }
    memmove(b->p + start + k, b->p + start, n);
    memcpy(b->p + start, tmp, k);
    b->len += k;
    b->p[b->len] = '\0';
}

static size_t msg_begin(lumen__buf *b, unsigned field)
{
    tag(b, field, WT_LEN);
    return body_begin(b);
}

static void label_pair(lumen__buf *b, const char *name, const char *value)
{
    size_t m = msg_begin(b, 1); /* Metric.label */
    f_string(b, 1, name);
    f_string(b, 2, value);
    body_end(b, m);
}

/* MetricFamily header: the family's body starts at the returned offset. */
static size_t family_begin(lumen__buf *b, const char *name, const char *sfx, const char *help,
                           int type)
{
    size_t start = body_begin(b);
    size_t n = strlen(name), k = strlen(sfx);
    tag(b, 1, WT_LEN);
    varint(b, n + k);
    lumen__buf_add(b, name, n);
    lumen__buf_add(b, sfx, k);
    if (help != NULL && help[0] != '\0')
        f_string(b, 2, help);
    f_varint(b, 3, (uint64_t)type);
    return start;
}

/* A family's and a child's labels, as Metric.label. */
static void child_labels(lumen__buf *b, const lumen__family *f, const lumen__child *ch)
{
    for (size_t i = 0; i < f->nconst; i++)
        label_pair(b, f->const_names[i], f->const_values[i]);
    const char *v = ch->values;
    for (size_t i = 0; i < f->nlabels; i++) {
        label_pair(b, f->label_names[i], v);
        v += strlen(v) + 1;
    }
}

/* A one-double message (Gauge, Counter, Untyped value) as field `field`. */
static void value_msg(lumen__buf *b, unsigned field, double v)
{
    size_t m = msg_begin(b, field);
    f_double(b, 1, v);
    body_end(b, m);
}

/* The spans and deltas of one sign's buckets (non-cumulative counts of
 * buckets off..off+n-1, no leading or trailing zero): runs of zeros
 * longer than two end a span (a zero inside a span costs one byte, a new
 * span about four). */
static void native_side(lumen__buf *b, unsigned span_field, unsigned delta_field, int32_t off,
                        const uint64_t *c, uint32_t n)
{
    int64_t prev_end = 0; /* index after the previous span */
    bool first = true;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1, zeros = 0;
        while (j < n) {
            if (c[j] == 0) {
                zeros++;
            } else if (zeros > 2) {
                break;
            } else {
                zeros = 0;
            }
            j++;
        }
        uint32_t end = j - (j < n ? zeros : 0); /* the span is [i, end) */
        int64_t start = (int64_t)off + i;
        size_t m = msg_begin(b, span_field);
        tag(b, 1, WT_VARINT);
        varint(b, zigzag(first ? start : start - prev_end));
        f_varint(b, 2, end - i);
        body_end(b, m);
        first = false;
        prev_end = (int64_t)off + end;
        i = end;
        while (i < n && c[i] == 0)
            i++;
    }
    if (n == 0)
        return;
    /* Deltas, packed. */
    size_t m = msg_begin(b, delta_field);
    int64_t prev = 0;
    for (uint32_t i = 0; i < n;) {
        /* The same runs as above: skip the gaps the spans skipped. */
        uint32_t j = i + 1, zeros = 0;
        while (j < n) {
            if (c[j] == 0) {
                zeros++;
            } else if (zeros > 2) {
                break;
            } else {
                zeros = 0;
            }
            j++;
        }
        uint32_t end = j - (j < n ? zeros : 0);
        for (uint32_t k = i; k < end; k++) {
            varint(b, zigzag((int64_t)c[k] - prev));
            prev = (int64_t)c[k];
        }
        i = end;
        while (i < n && c[i] == 0)
            i++;
    }
    body_end(b, m);
}

/* One histogram series: classic cells (cnt[nb + 1] counts, then the sum)
 * and native buckets when it has them. */
/* One histogram series: classic buckets (cnt[nb + 1] counts, then the
 * sum) and native buckets when it has them. */
static void histogram_metric(lumen__buf *b, const lumen__family *f, lumen__child *ch)
{
    size_t nb = f->nbuckets;
    uint64_t u[LUMEN__MAX_BUCKETS + 1];
    lumen__exphist_data d;
    bool native = ch->native != NULL;
    if (native && lumen__exphist_read_series(ch, &d) != LUMEN_OK) {
        b->oom = true;
        return;
    }
    lumen__cells_read_u64(ch->cell, (uint32_t)nb + 1, u);
    uint64_t total = 0;
    for (size_t i = 0; i <= nb; i++)
        total += u[i];
    double sum = lumen__cells_read_f64(ch->cell + (uint32_t)nb + 1);
    if (native) {
        /* The classic buckets were read after the native ones: the
         * total covers both. */
        total = d.total > total ? d.total : total;
        sum = d.sum;
    }
    size_t m = msg_begin(b, 7); /* Metric.histogram */
    f_varint(b, 1, total);
    f_double(b, 2, sum);
    if (f->hkind != LUMEN_HISTOGRAM_NATIVE) {
        uint64_t cum = 0;
        for (size_t i = 0; i < nb; i++) {
            cum += u[i];
            size_t k = msg_begin(b, 3);
            f_varint(b, 1, cum);
            f_double(b, 2, f->buckets[i]);
            body_end(b, k);
        }
    }
    if (native) {
        tag(b, 5, WT_VARINT);
        varint(b, zigzag(d.scale));
        f_double(b, 6, d.zero_threshold);
        f_varint(b, 7, d.zero_count);
        /* Prometheus numbers a bucket by its upper boundary, 2^(i*2^-s):
         * its index is OpenTelemetry's (by the lower one, exphist.h) + 1. */
        native_side(b, 9, 10, d.offset[1] + 1, d.counts[1], d.len[1]);
        native_side(b, 12, 13, d.offset[0] + 1, d.counts[0], d.len[0]);
        if (d.len[0] == 0 && d.len[1] == 0) {
            /* An empty span marks the histogram native even with no
             * bucket yet, as client_golang does. */
            size_t k = msg_begin(b, 12);
            body_end(b, k);
        }
        lumen__exphist_data_free(&d);
    }
    body_end(b, m);
}

static void summary_metric(lumen__buf *b, const lumen__family *f, lumen__child *ch)
{
    double q[LUMEN__MAX_QUANTILES];
    uint64_t count;
    double sum;
    lumen__summary_read(ch->u.sum, f, &count, &sum, q);
    size_t m = msg_begin(b, 4); /* Metric.summary */
    f_varint(b, 1, count);
    f_double(b, 2, sum);
    for (size_t i = 0; i < f->nquantiles; i++) {
        size_t k = msg_begin(b, 3);
        f_double(b, 1, f->quantiles[i]);
        f_double(b, 2, q[i]);
        body_end(b, k);
    }
    body_end(b, m);
}

void lumen__pb_family(lumen__buf *b, lumen__family *f)
{
    static const int type_of[] = {
        [LUMEN_METRIC_COUNTER] = PB_COUNTER,     [LUMEN_METRIC_GAUGE] = PB_GAUGE,
        [LUMEN_METRIC_HISTOGRAM] = PB_HISTOGRAM, [LUMEN_METRIC_SUMMARY] = PB_SUMMARY,
        [LUMEN_METRIC_INFO] = PB_GAUGE,          [LUMEN_METRIC_UNTYPED] = PB_UNTYPED};
    if ((unsigned)f->type >= LUMEN_ARRAY_LEN(type_of))
        return;
    const char *sfx = f->type == LUMEN_METRIC_COUNTER ? "_total"
                      : f->type == LUMEN_METRIC_INFO  ? "_info"
                                                      : "";
    size_t fam = family_begin(b, f->name, sfx, f->help, type_of[f->type]);
    if (f->fn != NULL) {
        size_t m = msg_begin(b, 4);
        for (size_t i = 0; i < f->nconst; i++)
            label_pair(b, f->const_names[i], f->const_values[i]);
        value_msg(b, 2, f->fn(f->fn_ud));
        body_end(b, m);
        body_end(b, fam);
        return;
    }
    size_t n;
    lumen__child **ch = lumen__family_snapshot(f, &n);
    if (ch == NULL) {
        b->oom = true;
        return;
    }
    for (size_t k = 0; k < n && !b->oom; k++) {
        size_t m = msg_begin(b, 4); /* MetricFamily.metric */
        child_labels(b, f, ch[k]);
        switch (f->type) {
        case LUMEN_METRIC_COUNTER: {
            uint64_t u;
            lumen__cells_read_u64(ch[k]->cell, 1, &u);
            value_msg(b, 3, (double)u + lumen__cells_read_f64(ch[k]->cell + 1));
            break;
        }
        case LUMEN_METRIC_GAUGE:
            value_msg(b, 2,
                      lumen__bits_f64(atomic_load_explicit(&ch[k]->u.gauge, memory_order_relaxed)));
            break;
        case LUMEN_METRIC_HISTOGRAM:
            histogram_metric(b, f, ch[k]);
            break;
        case LUMEN_METRIC_SUMMARY:
            summary_metric(b, f, ch[k]);
            break;
        case LUMEN_METRIC_INFO:
            value_msg(b, 2, 1);
            break;
        default:
            break;
        }
        body_end(b, m);
    }
    lumen__family_snapshot_end(f, ch);
    body_end(b, fam);
}

/* ---- collected families ------------------------------------------------ */

/* Are samples x and y of one series (same labels but `le`/`quantile`)? */
static bool same_series(const lumen_collect_sink *s, const lumen__csample *x,
                        const lumen__csample *y)
{
    const char *p = s->arena.p + x->labels, *q = s->arena.p + y->labels;
    size_t i = 0, j = 0;
    for (;;) {
        while (i < x->nlabels && (strcmp(p, "le") == 0 || strcmp(p, "quantile") == 0)) {
            p += strlen(p) + 1;
            p += strlen(p) + 1;
            i++;
        }
        while (j < y->nlabels && (strcmp(q, "le") == 0 || strcmp(q, "quantile") == 0)) {
            q += strlen(q) + 1;
            q += strlen(q) + 1;
            j++;
        }
        if (i == x->nlabels || j == y->nlabels)
            return i == x->nlabels && j == y->nlabels;
        for (int k = 0; k < 2; k++) {
            if (strcmp(p, q) != 0)
                return false;
            p += strlen(p) + 1;
            q += strlen(q) + 1;
        }
        i++, j++;
    }
}

/* The labels of a sample but `le` and `quantile`. */
static void sample_labels(lumen__buf *b, const lumen_collect_sink *s, const lumen__csample *x)
{
    const char *p = s->arena.p + x->labels;
    for (size_t i = 0; i < x->nlabels; i++) {
        const char *ln = p;
        p += strlen(p) + 1;
        const char *lv = p;
        p += strlen(p) + 1;
        if (strcmp(ln, "le") != 0 && strcmp(ln, "quantile") != 0)
            label_pair(b, ln, lv);
    }
}

void lumen__pb_collected(lumen__buf *b, const lumen_collect_sink *s, const lumen__cfam *f)
{
    int type = f->type == LUMEN_METRIC_COUNTER     ? PB_COUNTER
               : f->type == LUMEN_METRIC_HISTOGRAM ? PB_HISTOGRAM
               : f->type == LUMEN_METRIC_SUMMARY   ? PB_SUMMARY
               : f->type == LUMEN_METRIC_UNTYPED   ? PB_UNTYPED
                                                   : PB_GAUGE;
    const char *sfx = f->type == LUMEN_METRIC_COUNTER ? "_total"
                      : f->type == LUMEN_METRIC_INFO  ? "_info"
                                                      : "";
    size_t fam =
        family_begin(b, lumen__sink_str(s, f->name), sfx, lumen__sink_str(s, f->help), type);
    /* A family with no sample (the sink may hold none at all). */
    const lumen__csample *x = f->n ? &s->samples[f->first] : NULL, *end = f->n ? x + f->n : NULL;
    while (x != NULL && x < end) {
        if (x->suffix == SFX_CREATED) {
            x++;
            continue;
        }
        size_t m = msg_begin(b, 4);
        sample_labels(b, s, x);
        if (type == PB_HISTOGRAM || type == PB_SUMMARY) {
            /* One series: the run of samples with its labels. */
            const lumen__csample *y = x;
            uint64_t count = 0;
            double sum = 0;
            while (y < end && same_series(s, x, y)) {
                if (y->suffix == SFX_COUNT)
                    count = (uint64_t)y->value;
                else if (y->suffix == SFX_SUM)
                    sum = y->value;
                y++;
            }
            size_t h = msg_begin(b, type == PB_HISTOGRAM ? 7 : 4);
            f_varint(b, 1, count);
            f_double(b, 2, sum);
            for (const lumen__csample *z = x; z < y; z++) {
                const char *xv = NULL;
                double bound;
                if (!(z->suffix == SFX_BUCKET || (type == PB_SUMMARY && z->suffix == SFX_NONE)))
                    continue;
                const char *q = s->arena.p + z->labels;
                for (size_t i = 0; i < z->nlabels; i++) {
                    const char *ln = q;
                    q += strlen(q) + 1;
                    if (strcmp(ln, "le") == 0 || strcmp(ln, "quantile") == 0)
                        xv = q;
                    q += strlen(q) + 1;
                }
                if (xv == NULL || !lumen__parse_double(xv, &bound) ||
                    (type == PB_HISTOGRAM && bound == INFINITY))
                    continue;
                size_t k = msg_begin(b, 3);
                if (type == PB_HISTOGRAM) {
                    f_varint(b, 1, (uint64_t)z->value);
                    f_double(b, 2, bound);
                } else {
                    f_double(b, 1, bound);
                    f_double(b, 2, z->value);
                }
                body_end(b, k);
            }
            body_end(b, h);
            x = y;
        } else {
            value_msg(b, type == PB_COUNTER ? 3 : type == PB_UNTYPED ? 5 : 2, x->value);
            x++;
        }
        body_end(b, m);
    }
    body_end(b, fam);
}

void lumen__pb_counter_family(lumen__buf *b, const char *name, const char *help, const char *label,
                              const char *const *values, const double *v, size_t n)
{
    size_t fam = family_begin(b, name, "_total", help, PB_COUNTER);
    for (size_t i = 0; i < n; i++) {
        size_t m = msg_begin(b, 4);
        label_pair(b, label, values[i]);
        value_msg(b, 3, v[i]);
        body_end(b, m);
    }
    body_end(b, fam);
}
