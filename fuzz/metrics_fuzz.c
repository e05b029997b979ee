/*
 * fuzz/metrics_fuzz.c: arbitrary metric names, label names, label values
 * and numbers through validation, recording and both renderings; the
 * output must pass a small line checker of the exposition grammar (names,
 * label syntax and escapes, numbers, UTF-8, family contiguity, # EOF).
 *
 * Input: fields separated by NUL bytes. Field 0 is a metric name, field 1
 * a label name, fields 2.. label values; the last 8 bytes (when present)
 * seed the numbers recorded.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/escape.h"
#include "lumen/metrics.h"

#define MAX_FIELDS 16

static void check(int ok)
{
    if (!ok)
        abort();
}

static int name_char(char c, int first, int colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
        return 1;
    return !first && c >= '0' && c <= '9';
}

/* Length of a name at p (metric names allow ':'), 0 if none. */
static size_t name_len(const char *p, const char *end, int colon)
{
    size_t n = 0;
    while (p + n < end && name_char(p[n], n == 0, colon))
        n++;
    return n;
}

static const char *parse_labels(const char *p, const char *end)
{
    check(p < end && *p == '{');
    p++;
    if (p < end && *p == '}')
        return p + 1;
    for (;;) {
        size_t n = name_len(p, end, 0);
        check(n > 0);
        p += n;
        check(p + 1 < end && p[0] == '=' && p[1] == '"');
        p += 2;
        while (p < end && *p != '"') {
            check(*p != '\n');
            if (*p == '\\') {
                check(p + 1 < end && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'));
                p += 2;
            } else {
                p++;
            }
        }
        check(p < end);
        p++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        check(p < end && *p == '}');
        return p + 1;
    }
}

static const char *parse_number(const char *p, const char *end)
{
    char tmp[64];
    size_t n = 0;
    while (p + n < end && p[n] != ' ' && n < sizeof tmp - 1) {
        tmp[n] = p[n];
        n++;
    }
    tmp[n] = '\0';
    check(n > 0);
    double d;
    check(lumen__parse_double(tmp, &d));
    return p + n;
}

/* Check one whole exposition. */
static void check_exposition(const char *s, size_t len, int om)
{
    /* Valid UTF-8 throughout. */
    for (size_t i = 0; i < len;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = lumen__utf8_seq((const unsigned char *)s + i, len - i);
        check(k > 0);
        i += k;
    }
    check(len == 0 || s[len - 1] == '\n');
    char fam[256] = "";
    char seen[64][256];
    size_t nseen = 0;
    int eof = 0;
    for (const char *p = s, *end = s + len; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        check(e != NULL);
        check(!eof); /* nothing after # EOF */
        if (p[0] == '#') {
            if (e - p == 5 && memcmp(p, "# EOF", 5) == 0) {
                eof = 1;
            } else {
                check(e - p > 7 && (memcmp(p, "# HELP ", 7) == 0 || memcmp(p, "# TYPE ", 7) == 0 ||
                                    (om && memcmp(p, "# UNIT ", 7) == 0)));
                size_t n = name_len(p + 7, e, 1);
                check(n > 0 && n < sizeof fam && (p + 7 + n == e || p[7 + n] == ' '));
                if (n != strlen(fam) || memcmp(fam, p + 7, n) != 0) {
                    /* A new family: never one seen before (contiguity). */
                    memcpy(fam, p + 7, n);
                    fam[n] = '\0';
                    for (size_t i = 0; i < nseen; i++)
                        check(strcmp(seen[i], fam) != 0);
                    if (nseen < 64)
                        strcpy(seen[nseen++], fam);
                }
            }
        } else {
            size_t n = name_len(p, e, 1);
            check(n > 0);
            /* Samples belong to the current family. */
            size_t fl = strlen(fam);
            check(fl > 0 && n >= fl && memcmp(p, fam, fl) == 0);
            const char *q = p + n;
            if (q < e && *q == '{')
                q = parse_labels(q, e);
            check(q < e && *q == ' ');
            q = parse_number(q + 1, e);
            if (q < e) {
                check(om && e - q > 3 && memcmp(q, " # ", 3) == 0);
                q = parse_labels(q + 3, e);
                check(q < e && *q == ' ');
                q = parse_number(q + 1, e);
                check(q < e && *q == ' ');
                q = parse_number(q + 1, e);
                check(q == e);
            }
        }
        p = e + 1;
    }
    check(eof == om);
}

static int collect(lumen_collect_sink *s, void *ud)
{
    const char *const *f = ud;
    if (lumen_collect_family(s, LUMEN_METRIC_GAUGE, f[0], f[2], NULL) == LUMEN_OK) {
        lumen_label l[] = {{f[1], f[3]}};
        lumen_collect_sample(s, "", l, 1, 1);
    }
    lumen_collect_family(s, LUMEN_METRIC_COUNTER, "fuzz_collected_total", f[3], NULL);
    lumen_label l2[] = {{"v", f[2]}};
    lumen_collect_sample(s, "", l2, 1, 2);
    return LUMEN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    double nums[4] = {1, 0.5, -1, 1e300};
    if (size >= 8) {
        memcpy(&nums[0], data + size - 8, 8);
        nums[1] = (double)data[size - 1] * 0.01;
    }
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *f[MAX_FIELDS];
    size_t nf = 0;
    for (size_t i = 0; i <= size && nf < MAX_FIELDS;) {
        f[nf++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    while (nf < 4)
        f[nf++] = "";

    lumen_metric_name_check(f[0]);
    lumen_label_name_check(f[1]);
    lumen_registry *r;
    if (lumen_registry_new(&r) != LUMEN_OK) {
        free(buf);
        return 0;
    }
    static const lumen_metric_type types[] = {LUMEN_METRIC_COUNTER, LUMEN_METRIC_GAUGE,
                                              LUMEN_METRIC_HISTOGRAM, LUMEN_METRIC_SUMMARY};
    const char *lnames[] = {f[1], "fixed"};
    lumen_label cl[] = {{"const", f[2]}};
    double q[] = {0.5, 0.9};
    for (size_t t = 0; t < 4; t++) {
        lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
        o.help = f[3];
        o.label_names = lnames;
        o.label_count = 2;
        o.const_labels = cl;
        o.const_label_count = 1;
        o.series_limit = 4;
        o.quantiles = q;
        o.quantile_count = 2;
        if (types[t] == LUMEN_METRIC_HISTOGRAM) {
            /* Native buckets beside the classic ones, few enough that
             * the input's values halve the scale. */
            o.histogram_kind = LUMEN_HISTOGRAM_BOTH;
            o.native_max_buckets = 8;
        }
        char name[300];
        snprintf(name, sizeof name, "%.250s%s", f[0],
                 t == 0   ? ""
                 : t == 1 ? "_g"
                 : t == 2 ? "_h"
                          : "_s");
        lumen_family *fam;
        if (lumen_family_new(&fam, r, types[t], name, &o) != LUMEN_OK)
            continue;
        for (size_t i = 2; i < nf; i++) {
            const char *vals[] = {f[i], f[(i + 1) % nf]};
            void *child;
            int rc = types[t] == LUMEN_METRIC_COUNTER
                         ? lumen_family_counter((lumen_counter **)&child, fam, vals, 2)
                     : types[t] == LUMEN_METRIC_GAUGE
                         ? lumen_family_gauge((lumen_gauge **)&child, fam, vals, 2)
                     : types[t] == LUMEN_METRIC_HISTOGRAM
                         ? lumen_family_histogram((lumen_histogram **)&child, fam, vals, 2)
                         : lumen_family_summary((lumen_summary **)&child, fam, vals, 2);
            if (rc != LUMEN_OK)
                continue;
            lumen_label el[] = {{f[1], f[i]}};
            for (int k = 0; k < 4; k++) {
                switch (types[t]) {
                case LUMEN_METRIC_COUNTER:
                    lumen_counter_add(child, nums[k]);
                    lumen_counter_add_exemplar(child, nums[k], el, 1);
                    break;
                case LUMEN_METRIC_GAUGE:
                    lumen_gauge_add(child, nums[k]);
                    break;
                case LUMEN_METRIC_HISTOGRAM:
                    lumen_histogram_observe_exemplar(child, nums[k], el, 1);
                    break;
                default:
                    lumen_summary_observe(child, nums[k]);
                    break;
                }
            }
        }
        if (nf > 3) {
            const char *vals[] = {f[2], f[3]};
            lumen_family_remove(fam, vals, 2);
        }
    }
    lumen_label il[] = {{f[1], f[2]}};
    lumen_info_new(NULL, r, f[0], f[3], il, 1);
    lumen_registry_add_collector(NULL, r, NULL, collect, (void *)f);
    lumen_format_negotiate(NULL, f[3]);
    /* The protobuf exposition: length-delimited messages that tile it. */
    char *pb;
    size_t pblen;
    if (lumen_registry_render_string(&pb, &pblen, r, LUMEN_FORMAT_PROTOBUF) == LUMEN_OK) {
        size_t p = 0;
        while (p < pblen) {
            uint64_t n = 0;
            int sh = 0;
            unsigned char b;
            do {
                b = (unsigned char)pb[p++];
                n |= (uint64_t)(b & 0x7f) << sh;
                sh += 7;
            } while ((b & 0x80) && p < pblen && sh < 64);
            check(n > 0 && n <= pblen - p && pb[p] == 0x0a);
            p += n;
        }
        lumen_free(pb);
    }
    for (int om = 0; om < 2; om++) {
        char *s;
        size_t len;
        if (lumen_registry_render_string(
                &s, &len, r, om ? LUMEN_FORMAT_OPENMETRICS : LUMEN_FORMAT_PROMETHEUS) == LUMEN_OK) {
            check(strlen(s) == len);
            check_exposition(s, len, om);
            lumen_free(s);
        }
    }
    lumen_registry_free(r);
    free(buf);
    return 0;
}
