/*
 * metrics/negotiate.c: picking the exposition format from an HTTP Accept
 * header. The Prometheus protobuf exposition is served when the header
 * names application/vnd.google.protobuf with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited and a
 * nonzero q at least that of OpenMetrics (Prometheus asks for it so only
 * when its native histograms are enabled); else OpenMetrics 1.0.0 when
 * the header names application/openmetrics-text with a nonzero q (any
 * version: OpenMetrics says to default to 1.0.0 when no newer version is
 * asked for); text 0.0.4 otherwise, including for no header at all.
 */
#include <string.h>

#include "core/env.h"
#include "core/buf.h"
#include "lumen/metrics.h"

static const char CT_TEXT[] = "text/plain; version=0.0.4; charset=utf-8";
static const char CT_OM[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";
static const char CT_PB[] = "application/vnd.google.protobuf; "
                            "proto=io.prometheus.client.MetricFamily; encoding=delimited";

LUMEN_API const char *lumen_format_content_type(lumen_format format)
{
    return format == LUMEN_FORMAT_OPENMETRICS ? CT_OM
           : format == LUMEN_FORMAT_PROTOBUF  ? CT_PB
                                              : CT_TEXT;
}

/* Does a parameter list (";a=b;c=d") hold name=value (case-insensitive,
 * the value maybe quoted)? */
static bool has_param(const char *p, const char *end, const char *name, const char *value)
{
    size_t nl = strlen(name);
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        size_t n = (size_t)(e - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > nl && p[nl] == '=' && lumen__strieq(p, nl, name)) {
            const char *v = p + nl + 1;
            size_t k = n - nl - 1;
            if (k >= 2 && v[0] == '"' && v[k - 1] == '"')
                v++, k -= 2;
            if (lumen__strieq(v, k, value))
                return true;
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

/* q of one media range's parameters ("version=1.0.0;q=0.5"); 1 if absent. */
static double q_of(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        size_t n;
        const char *t = p;
        while (t < e && (*t == ' ' || *t == '\t'))
            t++;
        n = (size_t)(e - t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        if (n >= 2 && (t[0] == 'q' || t[0] == 'Q') && t[1] == '=') {
            char tmp[16];
            size_t k = n - 2 < sizeof tmp - 1 ? n - 2 : sizeof tmp - 1;
            memcpy(tmp, t + 2, k);
            tmp[k] = '\0';
            double q;
            return lumen__parse_double(tmp, &q) ? q : 0;
        }
        p = semi ? semi + 1 : end;
    }
    return 1;
}

LUMEN_API lumen_format lumen_format_negotiate(const char **out_content_type, const char *accept)
{
    lumen_format f = LUMEN_FORMAT_PROMETHEUS;
    double q_pb = 0, q_om = 0;
    for (const char *p = accept; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *mt_end = semi ? semi : end;
        while (p < mt_end && (*p == ' ' || *p == '\t'))
            p++;
        size_t n = (size_t)(mt_end - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        double q = semi == NULL ? 1 : q_of(semi + 1, end);
        if (lumen__strieq(p, n, "application/openmetrics-text") && q > q_om)
            q_om = q;
        if (lumen__strieq(p, n, "application/vnd.google.protobuf") && semi != NULL &&
            has_param(semi + 1, end, "proto", "io.prometheus.client.MetricFamily") &&
            has_param(semi + 1, end, "encoding", "delimited") && q > q_pb)
            q_pb = q;
        p = comma ? comma + 1 : end;
    }
    if (q_pb > 0 && q_pb >= q_om)
        f = LUMEN_FORMAT_PROTOBUF;
    else if (q_om > 0)
        f = LUMEN_FORMAT_OPENMETRICS;
    if (out_content_type != NULL)
        *out_content_type = lumen_format_content_type(f);
    return f;
}
