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
 * With a lumen_otlp_metrics_state (delta or lowmemory), the counters and
 * histograms it makes delta are the differences from its copy of the
 * previous encoding's values (the "delta state" section below).
 *
 *   counter            Sum, monotonic, cumulative, as_double; its exemplar
 *   gauge, untyped     Gauge, as_double
 *   info (x_info)      Sum, not monotonic, cumulative, as_int 1 (the OTel
 *                      Prometheus compatibility rule for Info)
 *   histogram          Histogram, cumulative: explicit bounds, a count per
 *                      bucket (+Inf last), sum; the buckets' exemplars
 *   native histogram   ExponentialHistogram, cumulative: scale, zero count
 *                      and threshold, positive and negative offset + counts,
 *                      the exemplars
 *   summary            Summary: count, sum, quantile values
 *
 * Labels (constant ones first) become string attributes. Exemplars carry
 * their labels as filtered attributes, trace_id and span_id as the ids.
 * Families written by custom collectors follow the registered ones, each
 * as its type says (a histogram's cumulative `le` buckets turned into
 * per-bucket counts), without start times. Not exported: the overflow
 * family, and the registries of a pre-forked family (LUMEN_ENOTSUP).
 *
 * Protobuf, the reader's usual encoding, is written for speed (a request
 * of 10k series costs less than their text exposition): per family and
 * export, the constant labels' KeyValues and each label's KeyValue.key
 * are encoded once (tmpl_for); a series' NumberDataPoint without an
 * exemplar has its length computed before it is written, in one pass;
 * a Metric's length keeps the width of its estimated size. The bytes
 * are those of the plain writers (shortest varints, the same field order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/hex.h"
#include "core/utf8.h"
#include "lumen/otlp.h"
#include "metrics/collect.h"
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
enum { DELTA = 1, CUMULATIVE = 2 };

typedef struct mctx {
    lumen__buf *b;
    bool json;
    int64_t now;
    size_t points;
    /* Delta temporality: the reader's state, and whether the metric being
     * encoded is sent as deltas. */
    lumen_otlp_metrics_state *dl;
    bool delta;
    /* A collected series: its labels (but le and quantile) are the
     * attributes, instead of a registered family's. */
    const lumen_collect_sink *cs;
    const lumen__csample *cx;
    /* Protobuf: the bytes of a registered family's points that are the
     * same for each of its series (tmpl_for). */
    const lumen__family *tf;
    unsigned tfield;
    lumen__buf tb;
    size_t tconst;                        /* tb[0..tconst): the constant labels' KeyValues */
    uint32_t koff[LUMEN__MAX_LABELS + 1]; /* label i's KeyValue.key: tb[koff[i]..koff[i+1]) */
    unsigned char now_le[8];              /* m->now, little-endian */
    size_t w_mm, w_data;                  /* the open Metric's and its data's length widths */
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

/* A nested message whose length varint is expected to take `w` bytes
 * (pb.h's begin keeps three): a data point keeps one, so that the usual
 * point (under 128 bytes) needs no shift when it ends; a Metric keeps the
 * width of its estimated size. A wrong guess costs a shift, never a
 * different encoding: the length is always the shortest varint. */
static size_t begin_w(lumen__buf *b, unsigned field, size_t w)
{
    tag(b, field, WT_LEN);
    if (!lumen__buf_reserve(b, w))
        return 0;
    b->len += w;
    return b->len;
}

static void end_w(lumen__buf *b, size_t body, size_t w)
{
    if (b->oom || body == 0)
        return;
    size_t n = b->len - body;
    size_t k = varint_len(n);
    if (k > w && !lumen__buf_reserve(b, k - w))
        return;
    if (k != w) {
        memmove(b->p + body - w + k, b->p + body, n);
        b->len = b->len + k - w;
    }
    size_t save = b->len;
    b->len = body - w;
    varint(b, n);
    b->len = save;
    b->p[b->len] = '\0';
}

static size_t begin1(lumen__buf *b, unsigned field)
{
    return begin_w(b, field, 1);
}

static void end1(lumen__buf *b, size_t body)
{
    end_w(b, body, 1);
}

/* s[0..*n) as valid UTF-8, as OTLP strings must be: s itself, or a
 * repaired copy (U+FFFD for each invalid sequence) left in *tmp for
 * lumen__free. For what lumen did not repair when it was recorded: what
 * collectors write, exemplar labels, help texts. */
static const char *utf8_ok(lumen__buf *b, const char *s, size_t *n, char **tmp)
{
    *tmp = NULL;
    if (s == NULL || lumen__utf8_invalid(s, *n) == 0)
        return s;
    bool oom = false;
    *tmp = lumen__utf8_repair_dup(s, *n, &oom);
    if (*tmp == NULL) {
        b->oom = true;
        return s;
    }
    *n = strlen(*tmp);
    return *tmp;
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

static unsigned char *put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

/* memcpy for the short strings of labels: fixed-size moves the compiler
 * inlines (two that overlap cover any length in a range), where a call
 * to memcpy costs more than the copy. Reads and writes only [0, n). */
static inline unsigned char *put_bytes(unsigned char *p, const void *src, size_t n)
{
    const unsigned char *s = src;
    if (n >= 8 && n <= 16) {
        memcpy(p, s, 8);
        memcpy(p + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(p, s, 4);
        memcpy(p + n - 4, s + n - 4, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            p[i] = s[i];
    } else {
        memcpy(p, s, n);
    }
    return p + n;
}

/* The constant parts of family f's points' attributes (repeated field
 * `field`), made once per family and export rather than once per series:
 * the constant labels' KeyValues whole, each label's KeyValue.key. */
static void tmpl_make(mctx *m, const lumen__family *f, unsigned field)
{
    lumen__buf *t = &m->tb;
    t->len = 0;
    for (size_t i = 0; i < f->nconst; i++)
        pb_kv(t, field, f->const_names[i], f->const_values[i], strlen(f->const_values[i]));
    m->tconst = t->len;
    for (size_t i = 0; i < f->nlabels; i++) {
        m->koff[i] = (uint32_t)t->len;
        size_t kl = strlen(f->label_names[i]);
        tag(t, 1, WT_LEN); /* KeyValue.key, written even when empty as pb_kv does */
        varint(t, kl);
        lumen__buf_add(t, f->label_names[i], kl);
    }
    m->koff[f->nlabels] = (uint32_t)t->len;
    if (t->oom) {
        m->b->oom = true;
        m->tf = NULL;
        return;
    }
    m->tf = f;
    m->tfield = field;
}

static inline void tmpl_for(mctx *m, const lumen__family *f, unsigned field)
{
    if (m->tf != f || m->tfield != field)
        tmpl_make(m, f, field);
}

/* The encoded size of a registered series' attributes (the family's
 * template made), its label values' lengths into vl. */
static size_t pb_attrs_len(const mctx *m, size_t nl, const char *v, size_t *vl)
{
    size_t n = m->tconst;
    for (size_t i = 0; i < nl; i++) {
        vl[i] = strlen(v);
        v += vl[i] + 1;
        size_t av = 1 + varint_len(vl[i]) + vl[i];
        size_t kv = m->koff[i + 1] - m->koff[i] + 1 + varint_len(av) + av;
        n += 1 + varint_len(kv) + kv;
    }
    return n;
}

/* Writes those attributes at p (room made), as pb_kv would. */
static unsigned char *pb_attrs_put(const mctx *m, unsigned char *p, unsigned field, size_t nl,
                                   const char *v, const size_t *vl)
{
    const unsigned char *t = (const unsigned char *)m->tb.p;
    if (m->tconst > 0) /* else tb may not be allocated yet */
        p = put_bytes(p, t, m->tconst);
    for (size_t i = 0; i < nl; i++) {
        size_t kl = m->koff[i + 1] - m->koff[i];
        size_t av = 1 + varint_len(vl[i]) + vl[i];
        *p++ = (unsigned char)(field << 3 | WT_LEN);
        p = put_varint(p, kl + 1 + varint_len(av) + av);
        p = put_bytes(p, t + m->koff[i], kl);
        *p++ = 2 << 3 | WT_LEN; /* KeyValue.value */
        p = put_varint(p, av);
        *p++ = 1 << 3 | WT_LEN; /* AnyValue.string_value */
        p = put_varint(p, vl[i]);
        p = put_bytes(p, v, vl[i]);
        v += vl[i] + 1;
    }
    return p;
}

/* A registered series' attributes (ch NULL: the constant labels only). */
static void pb_attrs(mctx *m, unsigned field, const lumen__family *f, const lumen__child *ch)
{
    tmpl_for(m, f, field);
    if (m->tf != f)
        return;
    size_t vl[LUMEN__MAX_LABELS];
    size_t nl = ch != NULL ? f->nlabels : 0;
    const char *v = ch != NULL ? ch->values : NULL;
    size_t n = pb_attrs_len(m, nl, v, vl);
    lumen__buf *b = m->b;
    if (!lumen__buf_reserve(b, n))
        return;
    unsigned char *p = pb_attrs_put(m, (unsigned char *)b->p + b->len, field, nl, v, vl);
    b->len = (size_t)(p - (unsigned char *)b->p);
    b->p[b->len] = '\0';
}

/* A series' labels: the family's constant ones, then its own. */
static void attributes(mctx *m, unsigned field, const lumen__family *f, const lumen__child *ch)
{
    lumen__buf *b = m->b;
    if (m->json)
        lumen__buf_puts(b, "\"attributes\":[");
    size_t k = 0;
    if (m->cs != NULL) {
        const char *p = m->cs->arena.p + m->cx->labels;
        for (size_t i = 0; i < m->cx->nlabels; i++) {
            const char *ln = p;
            p += strlen(p) + 1;
            const char *lv = p;
            size_t vl = strlen(lv);
            p += vl + 1;
            if (strcmp(ln, "le") == 0 || strcmp(ln, "quantile") == 0)
                continue;
            char *tmp;
            lv = utf8_ok(b, lv, &vl, &tmp);
            if (m->json)
                json_kv(b, k++ > 0, ln, lv, vl);
            else
                pb_kv(b, field, ln, lv, vl);
            lumen__free(tmp, 0);
        }
        if (m->json)
            lumen__buf_putc(b, ']');
        return;
    }
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
        char *tmp;
        const char *v = utf8_ok(b, val, &vl, &tmp);
        if (m->json)
            json_kv(b, k++ > 0, name, v, vl);
        else
            pb_kv(b, 7, name, v, vl);
        lumen__free(tmp, 0);
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

/* ---- delta state ------------------------------------------------------------- */

/* One series' previous cumulative values. */
typedef struct dent {
    struct dent *next; /* in its hash chain */
    char *key;
    size_t klen;
    uint64_t hash, gen;
    int64_t created, last; /* the series' creation (0: unknown), the previous export */
    double value;          /* counter value, or histogram sum */
    uint64_t total;
    uint64_t *u; /* classic buckets, or [zero, positive..., negative...] of a native one */
    uint32_t nu;
    int32_t scale, off[2];
    uint32_t len[2];
} dent;

struct lumen_otlp_metrics_state {
    int pref;
    int64_t born;
    uint64_t gen;
    dent **tab;
    size_t ntab, n;
    char *kb; /* the key being built */
    size_t klen, kcap;
    bool oom;
};

int lumen_otlp_metrics_state_new(lumen_otlp_metrics_state **out, lumen_otlp_temporality t)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if ((int)t < LUMEN_OTLP_TEMPORALITY_DEFAULT || t > LUMEN_OTLP_TEMPORALITY_LOWMEMORY)
        return LUMEN_EINVAL;
    lumen_otlp_metrics_state *d = lumen__calloc(1, sizeof *d);
    if (d == NULL)
        return LUMEN_ENOMEM;
    d->pref = t == LUMEN_OTLP_TEMPORALITY_DEFAULT ? LUMEN_OTLP_TEMPORALITY_CUMULATIVE : (int)t;
    d->born = lumen__wall_ns();
    d->ntab = 64;
    if ((d->tab = lumen__calloc(d->ntab, sizeof *d->tab)) == NULL) {
        lumen__free(d, sizeof *d);
        return LUMEN_ENOMEM;
    }
    *out = d;
    return LUMEN_OK;
}

static void dent_free(dent *e)
{
    lumen__free(e->key, e->klen);
    lumen__free(e->u, (size_t)e->nu * sizeof *e->u);
    lumen__free(e, sizeof *e);
}

void lumen_otlp_metrics_state_free(lumen_otlp_metrics_state *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->ntab; i++)
        for (dent *e = d->tab[i], *nx; e != NULL; e = nx) {
            nx = e->next;
            dent_free(e);
        }
    lumen__free(d->tab, d->ntab * sizeof *d->tab);
    lumen__free(d->kb, d->kcap);
    lumen__free(d, sizeof *d);
}

size_t lumen_otlp_metrics_state_series(const lumen_otlp_metrics_state *d)
{
    return d != NULL ? d->n : 0;
}

static void key_add(lumen_otlp_metrics_state *d, const char *s, size_t n)
{
    if (d->klen + n > d->kcap) {
        size_t cap = d->kcap ? d->kcap : 256;
        while (cap < d->klen + n)
            cap *= 2;
        char *k = lumen__realloc(d->kb, d->kcap, cap);
        if (k == NULL) {
            d->oom = true;
            return;
        }
        d->kb = k;
        d->kcap = cap;
    }
    memcpy(d->kb + d->klen, s, n);
    d->klen += n;
}

/* The key of the series being encoded: its family's name and its labels
 * (a collected one's without le and quantile). */
static void key_build(mctx *m, const char *name, const lumen__family *f, const lumen__child *ch)
{
    lumen_otlp_metrics_state *d = m->dl;
    d->klen = 0;
    key_add(d, name, strlen(name) + 1);
    if (m->cs != NULL) {
        const char *p = m->cs->arena.p + m->cx->labels;
        for (size_t i = 0; i < m->cx->nlabels; i++) {
            const char *ln = p;
            size_t nl = strlen(p) + 1;
            p += nl;
            size_t vl = strlen(p) + 1;
            if (strcmp(ln, "le") != 0 && strcmp(ln, "quantile") != 0) {
                key_add(d, ln, nl);
                key_add(d, p, vl);
            }
            p += vl;
        }
        return;
    }
    const char *v = ch != NULL ? ch->values : NULL;
    for (size_t i = 0; ch != NULL && i < f->nlabels; i++) {
        size_t vl = strlen(v) + 1;
        key_add(d, v, vl);
        v += vl;
    }
}

/* The entry of the key built (*fresh: created now); NULL: no memory. */
static dent *dent_get(lumen_otlp_metrics_state *d, bool *fresh)
{
    *fresh = false;
    if (d->oom)
        return NULL;
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < d->klen; i++)
        h = (h ^ (unsigned char)d->kb[i]) * 1099511628211u;
    for (dent *e = d->tab[h % d->ntab]; e != NULL; e = e->next)
        if (e->hash == h && e->klen == d->klen && memcmp(e->key, d->kb, d->klen) == 0) {
            e->gen = d->gen;
            return e;
        }
    if (d->n >= d->ntab * 2) {
        size_t nt = d->ntab * 4;
        dent **t = lumen__calloc(nt, sizeof *t);
        if (t != NULL) {
            for (size_t i = 0; i < d->ntab; i++)
                for (dent *e = d->tab[i], *nx; e != NULL; e = nx) {
                    nx = e->next;
                    e->next = t[e->hash % nt];
                    t[e->hash % nt] = e;
                }
            lumen__free(d->tab, d->ntab * sizeof *d->tab);
            d->tab = t;
            d->ntab = nt;
        }
    }
    dent *e = lumen__calloc(1, sizeof *e);
    if (e == NULL || (e->key = lumen__malloc(d->klen)) == NULL) {
        lumen__free(e, sizeof *e);
        d->oom = true;
        return NULL;
    }
    memcpy(e->key, d->kb, d->klen);
    e->klen = d->klen;
    e->hash = h;
    e->gen = d->gen;
    e->next = d->tab[h % d->ntab];
    d->tab[h % d->ntab] = e;
    d->n++;
    *fresh = true;
    return e;
}

/* Forget the series this export did not hold. */
static void delta_sweep(lumen_otlp_metrics_state *d)
{
    for (size_t i = 0; i < d->ntab; i++)
        for (dent **p = &d->tab[i]; *p != NULL;) {
            dent *e = *p;
            if (e->gen != d->gen) {
                *p = e->next;
                dent_free(e);
                d->n--;
            } else {
                p = &e->next;
            }
        }
}

/* The start of a delta point of entry e, and whether its previous values
 * are to be subtracted (false: a new series, or one reset). */
static bool delta_start(mctx *m, dent *e, bool fresh, int64_t created, bool reset, int64_t *start)
{
    if (fresh || reset || e->created != created) {
        *start = created != 0 ? created : fresh ? m->dl->born : e->last;
        return false;
    }
    *start = e->last;
    return true;
}

static bool u_keep(dent *e, const uint64_t *u, uint32_t n)
{
    if (e->nu != n) {
        uint64_t *nu = lumen__realloc(e->u, (size_t)e->nu * sizeof *e->u, (size_t)n * sizeof *nu);
        if (nu == NULL && n > 0)
            return false;
        e->u = nu;
        e->nu = n;
    }
    if (n > 0)
        memcpy(e->u, u, (size_t)n * sizeof *u);
    return true;
}

/* A counter's value as a delta: *v becomes the increase, *start its start. */
static void delta_counter(mctx *m, const char *name, const lumen__family *f, const lumen__child *ch,
                          int64_t created, double *v, int64_t *start)
{
    key_build(m, name, f, ch);
    bool fresh;
    dent *e = dent_get(m->dl, &fresh);
    if (e == NULL) {
        m->b->oom = true;
        return;
    }
    double cur = *v;
    if (delta_start(m, e, fresh, created, cur < e->value, start))
        *v = cur - e->value;
    e->value = cur;
    e->created = created;
    e->last = m->now;
}

/* A classic histogram as a delta: u[n] (per bucket), *total and *sum. */
static void delta_hist(mctx *m, const char *name, const lumen__family *f, const lumen__child *ch,
                       int64_t created, uint64_t *u, uint32_t n, uint64_t *total, double *sum,
                       int64_t *start)
{
    key_build(m, name, f, ch);
    bool fresh;
    dent *e = dent_get(m->dl, &fresh);
    if (e == NULL) {
        m->b->oom = true;
        return;
    }
    bool reset = *total < e->total || e->nu != n;
    for (uint32_t i = 0; !reset && i < n; i++)
        reset = u[i] < e->u[i];
    uint64_t cur_total = *total;
    double cur_sum = *sum;
    bool sub = delta_start(m, e, fresh, created, reset, start);
    uint64_t keep[LUMEN__MAX_BUCKETS + 2];
    memcpy(keep, u, (size_t)n * sizeof *u);
    if (sub) {
        for (uint32_t i = 0; i < n; i++)
            u[i] -= e->u[i];
        *total -= e->total;
        *sum -= e->value;
    }
    if (!u_keep(e, keep, n)) {
        m->b->oom = true;
        return;
    }
    e->total = cur_total;
    e->value = cur_sum;
    e->created = created;
    e->last = m->now;
}

/* A native histogram as a delta, in place in *x (at x's scale). */
static void delta_exp(mctx *m, const lumen__family *f, const lumen__child *ch,
                      lumen__exphist_data *x, int64_t *start)
{
    key_build(m, f->name, f, ch);
    bool fresh;
    dent *e = dent_get(m->dl, &fresh);
    if (e == NULL) {
        m->b->oom = true;
        return;
    }
    uint32_t n = 1 + x->len[0] + x->len[1];
    uint64_t *keep = lumen__malloc((size_t)n * sizeof *keep);
    if (keep == NULL) {
        m->b->oom = true;
        return;
    }
    keep[0] = x->zero_count;
    for (int s = 0; s < 2; s++)
        if (x->len[s] > 0)
            memcpy(keep + 1 + (s ? x->len[0] : 0), x->counts[s], x->len[s] * sizeof *keep);
    /* A scale that grew, a count that fell: the series was reset. */
    bool reset = fresh || e->nu != 1 + e->len[0] + e->len[1] || x->scale > e->scale ||
                 x->total < e->total || x->zero_count < e->u[0];
    /* The previous buckets folded down to the current scale, laid out as
     * the current ones (prev[1 + k] positive, then negative). */
    uint64_t *prev = reset ? NULL : lumen__calloc(n, sizeof *prev);
    if (!reset && prev == NULL) {
        lumen__free(keep, (size_t)n * sizeof *keep);
        m->b->oom = true;
        return;
    }
    for (int s = 0; s < 2 && !reset; s++) {
        const uint64_t *pc = e->u + 1 + (s ? e->len[0] : 0);
        uint64_t *fc = prev + 1 + (s ? x->len[0] : 0);
        for (uint32_t k = 0; k < e->len[s] && !reset; k++) {
            if (pc[k] == 0)
                continue;
            int64_t i = ((int64_t)e->off[s] + k) >> (e->scale - x->scale);
            /* a previous bucket outside the current range: a reset */
            reset = i < x->offset[s] || i >= (int64_t)x->offset[s] + x->len[s];
            if (!reset)
                fc[i - x->offset[s]] += pc[k];
        }
        for (uint32_t k = 0; k < x->len[s] && !reset; k++)
            reset = x->counts[s][k] < fc[k];
    }
    uint64_t cur_total = x->total;
    double cur_sum = x->sum;
    if (delta_start(m, e, fresh, ch->created_ns, reset, start)) {
        for (int s = 0; s < 2; s++)
            for (uint32_t k = 0; k < x->len[s]; k++)
                x->counts[s][k] -= prev[1 + (s ? x->len[0] : 0) + k];
        x->zero_count -= e->u[0];
        x->total -= e->total;
        x->sum -= e->value;
    }
    lumen__free(prev, (size_t)n * sizeof *prev);
    lumen__free(e->u, (size_t)e->nu * sizeof *e->u);
    e->u = keep;
    e->nu = n;
    e->scale = x->scale;
    for (int s = 0; s < 2; s++) {
        e->off[s] = x->offset[s];
        e->len[s] = x->len[s];
    }
    e->total = cur_total;
    e->value = cur_sum;
    e->created = ch->created_ns;
    e->last = m->now;
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
    if (m->cs == NULL)
        pb_attrs(m, attr_field, f, ch);
    else
        attributes(m, attr_field, f, ch);
    if (!lumen__buf_reserve(b, 18))
        return p;
    unsigned char *q = (unsigned char *)b->p + b->len;
    if (start != 0) {
        *q++ = 2 << 3 | WT_I64; /* start_time_unix_nano */
        q = put_le64(q, (uint64_t)start);
    }
    *q++ = 3 << 3 | WT_I64; /* time_unix_nano */
    memcpy(q, m->now_le, 8);
    b->len = (size_t)(q + 8 - (unsigned char *)b->p);
    b->p[b->len] = '\0';
    return p;
}

static void point_end(mctx *m, size_t p)
{
    if (m->json)
        lumen__buf_putc(m->b, '}');
    else
        end1(m->b, p);
}

/* A registered series' NumberDataPoint without an exemplar: its length
 * is known before it is written, so it is written in one pass. */
static void number_point_pb(mctx *m, const lumen__family *f, const lumen__child *ch, int64_t start,
                            double v, bool is_int)
{
    lumen__buf *b = m->b;
    tmpl_for(m, f, 7);
    if (m->tf != f)
        return;
    m->points++;
    size_t vl[LUMEN__MAX_LABELS];
    size_t nl = ch != NULL ? f->nlabels : 0;
    const char *lv = ch != NULL ? ch->values : NULL;
    size_t body = pb_attrs_len(m, nl, lv, vl) + (start != 0 ? 9 : 0) + 18;
    if (!lumen__buf_reserve(b, 1 + 10 + body))
        return;
    unsigned char *p = (unsigned char *)b->p + b->len;
    *p++ = 1 << 3 | WT_LEN; /* <Data>.data_points */
    p = put_varint(p, body);
    p = pb_attrs_put(m, p, 7, nl, lv, vl);
    if (start != 0) {
        *p++ = 2 << 3 | WT_I64; /* start_time_unix_nano */
        p = put_le64(p, (uint64_t)start);
    }
    *p++ = 3 << 3 | WT_I64; /* time_unix_nano */
    memcpy(p, m->now_le, 8);
    p += 8;
    if (is_int) {
        *p++ = 6 << 3 | WT_I64; /* as_int (sfixed64) */
        p = put_le64(p, (uint64_t)(int64_t)v);
    } else {
        *p++ = 4 << 3 | WT_I64; /* as_double */
        p = put_le64(p, lumen__f64_bits(v));
    }
    b->len = (size_t)(p - (unsigned char *)b->p);
    b->p[b->len] = '\0';
}

/* A NumberDataPoint: a double (is_int: an int) and the slot's exemplar. */
static void number_point(mctx *m, const lumen__family *f, const lumen__child *ch, int64_t start,
                         double v, bool is_int, _Atomic(lumen__exemplar *) *slot, bool comma)
{
    lumen__buf *b = m->b;
    if (!m->json && m->cs == NULL &&
        (slot == NULL || atomic_load_explicit(slot, memory_order_acquire) == NULL)) {
        number_point_pb(m, f, ch, start, v, is_int);
        return;
    }
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

/* A HistogramDataPoint's values: count, sum, per-bucket (not cumulative)
 * counts u[nb + 1] (+Inf last), bounds[nb], and the buckets' exemplars
 * (hex NULL: none). */
static void histogram_values(mctx *m, uint64_t total, double sum, const uint64_t *u,
                             const double *bounds, size_t nb, _Atomic(lumen__exemplar *) *hex)
{
    lumen__buf *b = m->b;
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
            lumen__otlp_json_double(b, bounds[i]);
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
                uint64_t bits = lumen__f64_bits(bounds[i]);
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
}

static void histogram_point(mctx *m, const lumen__family *f, lumen__child *ch, bool comma)
{
    size_t nb = f->nbuckets;
    uint64_t u[LUMEN__MAX_BUCKETS + 1];
    lumen__cells_read_u64(ch->cell, (uint32_t)nb + 1, u);
    uint64_t total = 0;
    for (size_t i = 0; i <= nb; i++)
        total += u[i];
    double sum = lumen__cells_read_f64(ch->cell + (uint32_t)nb + 1);
    int64_t start = ch->created_ns;
    if (m->delta)
        delta_hist(m, f->name, f, ch, ch->created_ns, u, (uint32_t)nb + 1, &total, &sum, &start);
    size_t p = point_begin(m, 9, f, ch, start, comma);
    histogram_values(m, total, sum, u, f->buckets, nb,
                     atomic_load_explicit(&ch->u.hex, memory_order_acquire));
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
    int64_t start = ch->created_ns;
    if (m->delta)
        delta_exp(m, f, ch, &d, &start);
    size_t p = point_begin(m, 1, f, ch, start, comma);
    /* Exemplars: one slot per classic bucket (one for a native-only
     * histogram), as the observations recorded them. */
    _Atomic(lumen__exemplar *) *hex = atomic_load_explicit(&ch->u.hex, memory_order_acquire);
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
        bool first = true;
        for (size_t i = 0; hex != NULL && i <= f->nbuckets; i++) {
            if (first)
                lumen__buf_putc(b, ',');
            size_t at = b->len;
            exemplar(m, 11, &hex[i], &first);
            if (first)
                b->len = at - 1;
        }
        if (!first)
            lumen__buf_putc(b, ']');
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
        bool first = true;
        for (size_t i = 0; hex != NULL && i <= f->nbuckets; i++)
            exemplar(m, 11, &hex[i], &first);
    }
    lumen__exphist_data_free(&d);
    point_end(m, p);
}

static void summary_values(mctx *m, uint64_t count, double sum, const double *qs, const double *q,
                           size_t n)
{
    lumen__buf *b = m->b;
    if (m->json) {
        lumen__buf_puts(b, ",\"count\":\"");
        lumen__buf_u64(b, count);
        lumen__buf_puts(b, "\",\"sum\":");
        lumen__otlp_json_double(b, sum);
        lumen__buf_puts(b, ",\"quantileValues\":[");
        for (size_t i = 0; i < n; i++) {
            lumen__buf_puts(b, i ? ",{\"quantile\":" : "{\"quantile\":");
            lumen__otlp_json_double(b, qs[i]);
            lumen__buf_puts(b, ",\"value\":");
            lumen__otlp_json_double(b, q[i]);
            lumen__buf_putc(b, '}');
        }
        lumen__buf_putc(b, ']');
    } else {
        fixed64_field(b, 4, count);
        pb_double(b, 5, sum);
        for (size_t i = 0; i < n; i++) {
            size_t s = begin(b, 6);
            pb_double(b, 1, qs[i]);
            pb_double(b, 2, q[i]);
            end(b, s);
        }
    }
}

static void summary_point(mctx *m, const lumen__family *f, lumen__child *ch, bool comma)
{
    double q[LUMEN__MAX_QUANTILES];
    uint64_t count;
    double sum;
    lumen__summary_read(ch->u.sum, f, &count, &sum, q);
    size_t p = point_begin(m, 7, f, ch, ch->created_ns, comma);
    summary_values(m, count, sum, f->quantiles, q, f->nquantiles);
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

static int kind_of(lumen_metric_type t, lumen_histogram_kind hk)
{
    switch (t) {
    case LUMEN_METRIC_COUNTER:
    case LUMEN_METRIC_INFO:
        return M_SUM;
    case LUMEN_METRIC_HISTOGRAM:
        return hk == LUMEN_HISTOGRAM_CLASSIC ? M_HISTOGRAM : M_EXPHIST;
    case LUMEN_METRIC_SUMMARY:
        return M_SUMMARY;
    default:
        return M_GAUGE;
    }
}

/* A Metric's header, up to its points: *mm and *data are the open
 * messages for metric_end. An info family's name gets its _info (OTLP
 * has no info type). */
static void metric_begin(mctx *m, const char *name, bool info, const char *help, const char *unit,
                         int kind, size_t est, bool comma, size_t *mm, size_t *data)
{
    lumen__buf *b = m->b;
    size_t nlen = strlen(name);
    size_t hlen = help ? strlen(help) : 0, ulen = unit ? strlen(unit) : 0;
    char *htmp, *utmp;
    help = utf8_ok(b, help, &hlen, &htmp);
    unit = utf8_ok(b, unit, &ulen, &utmp);
    if (m->json) {
        lumen__buf_puts(b, comma ? ",{\"name\":" : "{\"name\":");
        if (info) {
            char *full = lumen__malloc(nlen + 6);
            if (full == NULL) {
                b->oom = true; /* the request fails; the rest is wasted work */
            } else {
                memcpy(full, name, nlen);
                memcpy(full + nlen, "_info", 6);
                lumen__json_str(b, full, nlen + 5);
                lumen__free(full, nlen + 6);
            }
        } else {
            lumen__json_str(b, name, nlen);
        }
        lumen__buf_puts(b, ",\"description\":");
        lumen__json_str(b, help ? help : "", hlen);
        lumen__buf_puts(b, ",\"unit\":");
        lumen__json_str(b, unit ? unit : "", ulen);
        lumen__buf_puts(b, ",\"");
        lumen__buf_puts(b, json_data_key(kind));
        lumen__buf_puts(b, "\":{\"dataPoints\":[");
        lumen__free(htmp, 0);
        lumen__free(utmp, 0);
        return;
    }
    /* The lengths' widths: from the points' estimated size est (0:
     * unknown, three bytes as pb.h's begin keeps). */
    size_t hdr = nlen + hlen + ulen + 3 * 4 + 5;
    m->w_data = est != 0 ? varint_len(est) : RESERVE;
    m->w_mm = est != 0 ? varint_len(est + hdr) : RESERVE;
    *mm = begin_w(b, 2, m->w_mm); /* ScopeMetrics.metrics */
    tag(b, 1, WT_LEN);
    varint(b, nlen + (info ? 5 : 0));
    lumen__buf_add(b, name, nlen);
    if (info)
        lumen__buf_add(b, "_info", 5);
    if (hlen > 0)
        bytes_field(b, 2, help, hlen);
    if (ulen > 0)
        bytes_field(b, 3, unit, ulen);
    lumen__free(htmp, 0);
    lumen__free(utmp, 0);
    *data = begin_w(b, (unsigned)kind, m->w_data);
}

static void metric_end(mctx *m, int kind, bool monotonic, size_t mm, size_t data)
{
    lumen__buf *b = m->b;
    bool temporality = kind == M_SUM || kind == M_HISTOGRAM || kind == M_EXPHIST;
    if (m->json) {
        lumen__buf_putc(b, ']');
        if (temporality)
            lumen__buf_puts(b, m->delta ? ",\"aggregationTemporality\":1"
                                        : ",\"aggregationTemporality\":2");
        if (kind == M_SUM)
            lumen__buf_puts(b, monotonic ? ",\"isMonotonic\":true" : ",\"isMonotonic\":false");
        lumen__buf_puts(b, "}}");
    } else {
        if (temporality)
            uint_field(b, 2, m->delta ? DELTA : CUMULATIVE);
        if (kind == M_SUM)
            uint_field(b, 3, monotonic);
        end_w(b, data, m->w_data);
        end_w(b, mm, m->w_mm);
    }
}

/* The protobuf size of a registered family's n points ch[0..n),
 * estimated as n times the first one's without exemplars, for the width
 * of the Metric's length; 0 when not estimated. */
static size_t points_size(mctx *m, const lumen__family *f, int kind, lumen__child *const *ch,
                          size_t n)
{
    if (m->json || n == 0 || (kind != M_SUM && kind != M_GAUGE && kind != M_HISTOGRAM))
        return 0;
    unsigned field = kind == M_HISTOGRAM ? 9 : 7;
    tmpl_for(m, f, field);
    if (m->tf != f)
        return 0;
    size_t vl[LUMEN__MAX_LABELS];
    size_t one = pb_attrs_len(m, f->nlabels, ch[0]->values, vl) + 27; /* times, value */
    if (kind == M_HISTOGRAM) /* count, sum, the buckets' counts and bounds */
        one += 9 + 2 + varint_len(8 * (f->nbuckets + 1)) + 8 * (f->nbuckets + 1) +
               (f->nbuckets ? 2 + varint_len(8 * f->nbuckets) + 8 * f->nbuckets : 0);
    return n * (1 + varint_len(one) + one);
}

/* One registered family as one Metric. */
static void metric(mctx *m, lumen__family *f, bool comma)
{
    lumen__buf *b = m->b;
    int kind = f->fn != NULL ? M_GAUGE : kind_of(f->type, f->hkind);
    size_t mm = 0, data = 0;
    /* Registered counters and histograms are synchronous instruments:
     * deltas under both delta and lowmemory. */
    m->delta = m->dl != NULL && f->fn == NULL &&
               (f->type == LUMEN_METRIC_COUNTER || f->type == LUMEN_METRIC_HISTOGRAM);
    size_t n = 0;
    lumen__child **ch = NULL;
    if (f->fn == NULL && (ch = lumen__family_snapshot(f, &n)) == NULL) {
        b->oom = true;
        return;
    }
    metric_begin(m, f->name, f->type == LUMEN_METRIC_INFO, f->help, f->unit, kind,
                 points_size(m, f, kind, ch, n), comma, &mm, &data);
    if (f->fn != NULL) {
        number_point(m, f, NULL, 0, f->fn(f->fn_ud), false, NULL, false);
    } else {
        for (size_t k = 0; k < n && !b->oom; k++) {
            lumen__child *c = ch[k];
            bool cm = k > 0;
            switch (f->type) {
            case LUMEN_METRIC_COUNTER: {
                uint64_t u;
                lumen__cells_read_u64(c->cell, 1, &u);
                double v = (double)u + lumen__cells_read_f64(c->cell + 1);
                int64_t start = c->created_ns;
                if (m->delta)
                    delta_counter(m, f->name, f, c, c->created_ns, &v, &start);
                number_point(m, f, c, start, v, false, &c->u.ex, cm);
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
    metric_end(m, kind, f->type == LUMEN_METRIC_COUNTER, mm, data);
    m->delta = false;
}

/* ---- collected families ------------------------------------------------------ */

/* Are samples x and y of one series (the same labels but le and quantile)? */
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

/* The value of label `name` of sample z, as a double; false when absent
 * or not a number. */
static bool label_double(const lumen_collect_sink *s, const lumen__csample *z, const char *name,
                         double *out)
{
    const char *p = s->arena.p + z->labels;
    for (size_t i = 0; i < z->nlabels; i++) {
        const char *ln = p;
        p += strlen(p) + 1;
        if (strcmp(ln, name) == 0)
            return lumen__parse_double(p, out);
        p += strlen(p) + 1;
    }
    return false;
}

/* One series of a collected histogram or summary: samples x..y. */
static void collected_series(mctx *m, const lumen_collect_sink *s, const lumen__cfam *cf,
                             const lumen__csample *x, const lumen__csample *y, bool comma)
{
    uint64_t count = 0;
    double sum = 0;
    double bounds[LUMEN__MAX_BUCKETS + 1], vals[LUMEN__MAX_BUCKETS + 1];
    uint64_t u[LUMEN__MAX_BUCKETS + 2];
    size_t n = 0;
    for (const lumen__csample *z = x; z < y; z++) {
        double v;
        if (z->suffix == SFX_COUNT) {
            count = z->value >= 0 && z->value < 1.8e19 ? (uint64_t)z->value : 0;
        } else if (z->suffix == SFX_SUM) {
            sum = z->value;
        } else if (n < LUMEN__MAX_BUCKETS &&
                   ((cf->type == LUMEN_METRIC_HISTOGRAM && z->suffix == SFX_BUCKET &&
                     label_double(s, z, "le", &v) && v != INFINITY) ||
                    (cf->type == LUMEN_METRIC_SUMMARY && z->suffix == SFX_NONE &&
                     label_double(s, z, "quantile", &v)))) {
            bounds[n] = v;
            vals[n++] = z->value;
        }
    }
    m->cs = s;
    m->cx = x;
    int64_t start = 0;
    if (cf->type == LUMEN_METRIC_HISTOGRAM) {
        /* Prometheus buckets are cumulative, OTLP's are not; the +Inf
         * bucket is the count. */
        double prev = 0;
        for (size_t i = 0; i < n; i++) {
            double d = vals[i] - prev;
            u[i] = d > 0 ? (uint64_t)d : 0;
            prev = vals[i];
        }
        u[n] = (double)count > prev ? (uint64_t)((double)count - prev) : 0;
        if (m->delta)
            delta_hist(m, lumen__sink_str(s, cf->name), NULL, NULL, 0, u, (uint32_t)n + 1, &count,
                       &sum, &start);
    }
    size_t p = point_begin(m, cf->type == LUMEN_METRIC_HISTOGRAM ? 9 : 7, NULL, NULL, start, comma);
    if (cf->type == LUMEN_METRIC_SUMMARY)
        summary_values(m, count, sum, bounds, vals, n);
    else
        histogram_values(m, count, sum, u, bounds, n, NULL);
    point_end(m, p);
    m->cs = NULL;
    m->cx = NULL;
}

/* A family a collector wrote, as one Metric: values as their registered
 * kind, no start time (a collector's _created is not read). */
static void collected_metric(mctx *m, const lumen_collect_sink *s, const lumen__cfam *cf,
                             bool comma)
{
    int kind = kind_of(cf->type, LUMEN_HISTOGRAM_CLASSIC);
    size_t mm = 0, data = 0;
    /* A collector's families are asynchronous: deltas only under "delta"
     * (an asynchronous counter; a histogram is one whatever writes it). */
    m->delta = m->dl != NULL && m->dl->pref == LUMEN_OTLP_TEMPORALITY_DELTA &&
               (cf->type == LUMEN_METRIC_COUNTER || cf->type == LUMEN_METRIC_HISTOGRAM);
    metric_begin(m, lumen__sink_str(s, cf->name), cf->type == LUMEN_METRIC_INFO,
                 lumen__sink_str(s, cf->help), lumen__sink_str(s, cf->unit), kind, 0, comma, &mm,
                 &data);
    const lumen__csample *x = cf->n ? &s->samples[cf->first] : NULL, *end = x ? x + cf->n : NULL;
    bool cm = false;
    while (x != NULL && x < end && !m->b->oom) {
        if (x->suffix == SFX_CREATED) {
            x++;
            continue;
        }
        if (kind == M_HISTOGRAM || kind == M_SUMMARY) {
            const lumen__csample *y = x;
            while (y < end && same_series(s, x, y))
                y++;
            collected_series(m, s, cf, x, y, cm);
            x = y;
        } else {
            m->cs = s;
            m->cx = x;
            double v = cf->type == LUMEN_METRIC_INFO ? 1 : x->value;
            int64_t start = 0;
            if (m->delta)
                delta_counter(m, lumen__sink_str(s, cf->name), NULL, NULL, 0, &v, &start);
            number_point(m, NULL, NULL, start, v, cf->type == LUMEN_METRIC_INFO, NULL, cm);
            m->cs = NULL;
            m->cx = NULL;
            x++;
        }
        cm = true;
    }
    metric_end(m, kind, cf->type == LUMEN_METRIC_COUNTER, mm, data);
    m->delta = false;
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
                    const size_t *nf, const lumen_collect_sink *sinks,
                    const lumen_tracer_provider *tp, const char *scope)
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
    for (size_t r = 0; r < nregs && !b->oom; r++)
        for (size_t i = 0; i < sinks[r].nfams && !b->oom; i++) {
            collected_metric(m, &sinks[r], &sinks[r].fams[i], comma);
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
                  const lumen_tracer_provider *resource_from, const char *scope,
                  lumen_otlp_metrics_state *dl)
{
    for (size_t i = 0; i < nregs; i++)
        if (regs[i]->prefork != NULL)
            return LUMEN_ENOTSUP;
    lumen__family **fams[LUMEN_RENDER_MAX_REGISTRIES] = {0};
    size_t nf[LUMEN_RENDER_MAX_REGISTRIES] = {0};
    lumen_collect_sink *sinks = lumen__calloc(nregs, sizeof *sinks);
    if (sinks == NULL)
        return LUMEN_ENOMEM;
    bool sinks_oom = false;
    for (size_t r = 0; r < nregs; r++)
        lumen__sink_init(&sinks[r]);
    lumen__buf b = LUMEN__BUF_INIT;
    if (dl != NULL && dl->pref == LUMEN_OTLP_TEMPORALITY_CUMULATIVE)
        dl = NULL;
    mctx m = {.b = &b, .json = fmt == LUMEN_OTLP_JSON, .now = lumen__wall_ns(), .dl = dl};
    put_le64(m.now_le, (uint64_t)m.now);
    if (dl != NULL) {
        dl->gen++;
        dl->oom = false;
    }
    int rc = LUMEN_OK;
    if (!lumen__buf_reserve(&b, 4096))
        rc = LUMEN_ENOMEM;
    for (size_t r = 0; r < nregs && rc == LUMEN_OK; r++) {
        if ((fams[r] = lumen__registry_families(regs[r], &nf[r])) == NULL) {
            rc = LUMEN_ENOMEM;
            break;
        }
        /* A registry given twice: its collectors run once. */
        bool again = false;
        for (size_t j = 0; j < r; j++)
            again = again || regs[j] == regs[r];
        if (!again)
            lumen__sink_collect(&sinks[r], regs[r], fams[r], nf[r]);
    }
    if (rc == LUMEN_OK)
        request(&m, regs, nregs, fams, nf, sinks, resource_from,
                scope != NULL && *scope != '\0' ? scope : "lumen");
    for (size_t r = 0; r < nregs; r++) {
        for (size_t i = 0; fams[r] && i < nf[r]; i++)
            lumen__family_unref(fams[r][i]);
        if (fams[r] != NULL)
            lumen__free(fams[r], (nf[r] ? nf[r] : 1) * sizeof **fams);
        sinks_oom = sinks_oom || sinks[r].oom;
        lumen__sink_free(&sinks[r]);
    }
    lumen__free(sinks, nregs * sizeof *sinks);
    lumen__buf_free(&m.tb);
    if (rc == LUMEN_OK && sinks_oom)
        rc = LUMEN_ENOMEM;
    if (rc == LUMEN_OK && (b.oom || (dl != NULL && dl->oom)))
        rc = LUMEN_ENOMEM;
    if (rc == LUMEN_OK && dl != NULL)
        delta_sweep(dl);
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
    return lumen_otlp_encode_metrics_delta(out, out_len, out_points, fmt, regs, n, resource_from,
                                           scope_name, NULL);
}

int lumen_otlp_encode_metrics_delta(char **out, size_t *out_len, size_t *out_points,
                                    lumen_otlp_format fmt, lumen_registry *const *regs, size_t n,
                                    const lumen_tracer_provider *resource_from,
                                    const char *scope_name, lumen_otlp_metrics_state *dl)
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
        rc = encode(out, out_len, out_points, fmt, r, n, resource_from, scope_name, dl);
    for (size_t i = 0; i < got; i++)
        lumen__registry_put(r[i]);
    return rc;
}
