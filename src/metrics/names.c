/*
 * metrics/names.c: the name grammar of the Prometheus data model, the
 * sample names each family type exposes (label values are repaired with
 * core/utf8.h). See names.h.
 *
 * Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]*; names beginning with "__" are reserved for
 * Prometheus' internal use. Label values may hold any bytes: they are
 * stored with invalid UTF-8 replaced by U+FFFD, so that two distinct
 * stored values never render alike.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/escape.h"
#include "metrics/names.h"

static inline bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool lumen__valid_metric_name(const char *s, size_t n)
{
    if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == ':'))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && c != ':')
            return false;
    }
    return true;
}

bool lumen__valid_label_name(const char *s, size_t n)
{
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c))
            return false;
    }
    return true;
}

LUMEN_API int lumen_metric_name_check(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (name == NULL || !lumen__valid_metric_name(name, n))
        return LUMEN_EBADNAME;
    if (name[0] == '_' && name[1] == '_')
        return LUMEN_ERESERVED;
    if (n > LUMEN_METRIC_NAME_MAX)
        return LUMEN_ETOOBIG;
    return LUMEN_OK;
}

LUMEN_API int lumen_label_name_check(const char *name)
{
    if (name == NULL || !lumen__valid_label_name(name, strlen(name)))
        return LUMEN_EBADLABEL;
    if (name[0] == '_' && name[1] == '_')
        return LUMEN_ERESERVED;
    return LUMEN_OK;
}

size_t lumen__family_base_len(lumen_metric_type type, const char *name)
{
    size_t n = strlen(name);
    const char *suf = type == LUMEN_METRIC_COUNTER ? "_total"
                      : type == LUMEN_METRIC_INFO  ? "_info"
                                                   : NULL;
    if (suf != NULL) {
        size_t k = strlen(suf);
        if (n > k && memcmp(name + n - k, suf, k) == 0)
            return n - k;
    }
    return n;
}

size_t lumen__family_sample_names(lumen_metric_type type, const char *base, lumen__sample_names out)
{
    static const char *const counter[] = {"", "_total", "_created", NULL};
    static const char *const plain[] = {"", NULL};
    static const char *const histogram[] = {"", "_bucket", "_sum", "_count", "_created", NULL};
    static const char *const summary[] = {"", "_sum", "_count", "_created", NULL};
    static const char *const info[] = {"", "_info", NULL};
    /* The histogram's list is the longest, "_created" the longest suffix. */
    _Static_assert(LUMEN_ARRAY_LEN(histogram) - 1 <= LUMEN__SAMPLE_NAMES_MAX, "sample names");
    _Static_assert(sizeof "_created" >= sizeof "_bucket" && sizeof "_created" >= sizeof "_count",
                   "longest suffix");
    const char *const *s = type == LUMEN_METRIC_COUNTER     ? counter
                           : type == LUMEN_METRIC_HISTOGRAM ? histogram
                           : type == LUMEN_METRIC_SUMMARY   ? summary
                           : type == LUMEN_METRIC_INFO      ? info
                                                            : plain;
    size_t k = 0;
    for (; s[k] != NULL; k++)
        snprintf(out[k], LUMEN__SAMPLE_NAME_CAP, "%s%s", base, s[k]);
    return k;
}
