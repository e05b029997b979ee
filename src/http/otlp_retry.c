/* http/otlp_retry.c: see otlp_retry.h. */
#include "http/otlp_retry.h"

#include <curl/curl.h>

#include "core/alloc.h"
#include <stdlib.h>
#include <string.h>

bool lumen__otlp_retryable_status(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

int64_t lumen__otlp_retry_after_ms(const char *v, int64_t now_s, int64_t cap_ms)
{
    if (v == NULL)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == '\0')
        return -1;
    if (*v >= '0' && *v <= '9') {
        int64_t s = 0;
        for (; *v >= '0' && *v <= '9'; v++) {
            s = s * 10 + (*v - '0');
            if (s > cap_ms / 1000 + 1)
                return cap_ms;
        }
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        if (*v != '\0')
            return -1;
        return s * 1000 < cap_ms ? s * 1000 : cap_ms;
    }
    /* An HTTP date (RFC 9110 IMF-fixdate, or the obsolete forms libcurl
     * also reads). */
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t ms = ((int64_t)t - now_s) * 1000;
    if (ms < 0)
        ms = 0;
    return ms < cap_ms ? ms : cap_ms;
}

int64_t lumen__otlp_backoff_ms(unsigned attempt, uint32_t initial_ms, uint32_t max_ms, uint64_t rnd)
{
    int64_t b = initial_ms;
    for (unsigned i = 2; i < attempt && b < max_ms; i++)
        b *= 2;
    if (b > max_ms)
        b = max_ms;
    /* jitter factor 0.5 + rnd/2^64, in [0.5, 1.5) */
    double f = 0.5 + (double)(rnd >> 12) / 4503599627370496.0;
    return (int64_t)((double)b * f);
}

/* Minimal protobuf reading for ExportTracePartialSuccess. */
static bool varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        unsigned char c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80) {
            *v = r;
            return true;
        }
    }
    return false;
}

static bool skip(const unsigned char **p, const unsigned char *end, unsigned wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return varint(p, end, &v);
    case 1:
        if (end - *p < 8)
            return false;
        *p += 8;
        return true;
    case 5:
        if (end - *p < 4)
            return false;
        *p += 4;
        return true;
    case 2:
        if (!varint(p, end, &v) || v > (uint64_t)(end - *p))
            return false;
        *p += v;
        return true;
    default:
        return false;
    }
}

static int64_t pb_partial(const unsigned char *p, const unsigned char *end, char *msg, size_t cap)
{
    int64_t rejected = 0;
    while (p < end) {
        uint64_t tag, len;
        if (!varint(&p, end, &tag))
            return rejected;
        if (tag == ((1 << 3) | 2)) { /* partial_success */
            if (!varint(&p, end, &len) || len > (uint64_t)(end - p))
                return rejected;
            const unsigned char *q = p, *qe = p + len;
            p = qe;
            while (q < qe) {
                uint64_t t2, v;
                if (!varint(&q, qe, &t2))
                    break;
                if (t2 == ((1 << 3) | 0)) {
                    if (!varint(&q, qe, &v))
                        break;
                    rejected = (int64_t)v;
                } else if (t2 == ((2 << 3) | 2)) {
                    if (!varint(&q, qe, &v) || v > (uint64_t)(qe - q))
                        break;
                    size_t n = v < cap - 1 ? (size_t)v : cap - 1;
                    memcpy(msg, q, n);
                    msg[n] = '\0';
                    q += v;
                } else if (!skip(&q, qe, (unsigned)(t2 & 7))) {
                    break;
                }
            }
        } else if (!skip(&p, end, (unsigned)(tag & 7))) {
            return rejected;
        }
    }
    return rejected;
}

int64_t lumen__otlp_partial_success(const char *body, size_t n, bool json, char *msg, size_t cap)
{
    if (cap > 0)
        msg[0] = '\0';
    if (body == NULL || n == 0 || cap == 0)
        return 0;
    if (!json)
        return pb_partial((const unsigned char *)body, (const unsigned char *)body + n, msg, cap);
    /* JSON: {"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}},
     * "rejectedLogRecords" for logs, "rejectedDataPoints" for metrics. A full parser is not needed
     * to read two scalar members. */
    char *copy = lumen__malloc(n + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, body, n);
    copy[n] = '\0';
    int64_t r = 0;
    static const char *const keys[] = {"\"rejectedSpans\"", "\"rejectedLogRecords\"",
                                       "\"rejectedDataPoints\""};
    const char *k = NULL;
    for (size_t i = 0; i < 3 && k == NULL; i++)
        if ((k = strstr(copy, keys[i])) != NULL)
            k += strlen(keys[i]);
    if (k != NULL) {
        while (*k == ' ' || *k == ':' || *k == '"')
            k++;
        r = strtoll(k, NULL, 10);
    }
    const char *m = strstr(copy, "\"errorMessage\"");
    if (m != NULL) {
        m += strlen("\"errorMessage\"");
        while (*m == ' ' || *m == ':')
            m++;
        if (*m == '"') {
            m++;
            size_t i = 0;
            while (m[i] && m[i] != '"' && i + 1 < cap) {
                msg[i] = m[i];
                i++;
            }
            msg[i] = '\0';
        }
    }
    lumen__free(copy, n + 1);
    return r < 0 ? 0 : r;
}
