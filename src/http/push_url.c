/*
 * http/push_url.c: building a Pushgateway group URL.
 *
 * A value travels as a plain path segment only when it is made of RFC 3986
 * unreserved characters and is not "." or ".." (which path normalisation
 * would eat). Anything else, including the empty value and any '/',
 * goes as "<name>@base64/<url-safe base64>", which the Pushgateway (1.x)
 * decodes; an empty value is "<name>@base64/=" as client_python sends it.
 */
#include "core/common.h"

#include <string.h>

#include "http/push_url.h"

void lumen__base64url(lumen__buf *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        lumen__buf_add(out, q, 4);
    }
}

static bool plain_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

static void segment(lumen__buf *out, const char *name, const char *value)
{
    lumen__buf_putc(out, '/');
    lumen__buf_puts(out, name);
    if (plain_ok(value)) {
        lumen__buf_putc(out, '/');
        lumen__buf_puts(out, value);
    } else if (*value == '\0') {
        lumen__buf_puts(out, "@base64/=");
    } else {
        lumen__buf_puts(out, "@base64/");
        lumen__base64url(out, (const unsigned char *)value, strlen(value));
    }
}

int lumen__push_url(lumen__buf *out, const char *base, const char *job, const lumen_label *grouping,
                    size_t n)
{
    if (base == NULL || *base == '\0' || job == NULL || *job == '\0')
        return LUMEN_EINVAL;
    if (n > 0 && grouping == NULL)
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (grouping[i].name == NULL || grouping[i].value == NULL ||
            lumen_label_name_check(grouping[i].name) != LUMEN_OK ||
            strcmp(grouping[i].name, "job") == 0)
            return LUMEN_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(grouping[i].name, grouping[j].name) == 0)
                return LUMEN_EINVAL;
    }
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    lumen__buf_add(out, base, blen);
    lumen__buf_puts(out, "/metrics");
    segment(out, "job", job);
    for (size_t i = 0; i < n; i++)
        segment(out, grouping[i].name, grouping[i].value);
    return out->oom ? LUMEN_ENOMEM : LUMEN_OK;
}
