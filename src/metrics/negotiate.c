/*
 * metrics/negotiate.c: picking the exposition format from an HTTP Accept
 * header. OpenMetrics 1.0.0 is served when the header names
 * application/openmetrics-text with a nonzero q (any version: OpenMetrics
 * says to default to 1.0.0 when no newer version is asked for); text
 * 0.0.4 otherwise, including for no header at all.
 */
#include <string.h>

#include "core/env.h"
#include "core/buf.h"
#include "lumen/metrics.h"

static const char CT_TEXT[] = "text/plain; version=0.0.4; charset=utf-8";
static const char CT_OM[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";

LUMEN_API const char *lumen_format_content_type(lumen_format format)
{
    return format == LUMEN_FORMAT_OPENMETRICS ? CT_OM : CT_TEXT;
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
        if (lumen__strieq(p, n, "application/openmetrics-text") &&
            (semi == NULL || q_of(semi + 1, end) > 0)) {
            f = LUMEN_FORMAT_OPENMETRICS;
            break;
        }
        p = comma ? comma + 1 : end;
    }
    if (out_content_type != NULL)
        *out_content_type = lumen_format_content_type(f);
    return f;
}
