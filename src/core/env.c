/* core/env.c: see env.h. */
#include "core/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"

const char *lumen__env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : NULL;
}

int64_t lumen__env_int(const char *name, int64_t def)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    while (*end == ' ')
        end++;
    if (errno != 0 || end == v || *end != '\0' || n < 0) {
        lumen__diag(LUMEN_DIAG_WARN, "invalid integer in %s; using the default", name);
        return def;
    }
    return (int64_t)n;
}

double lumen__env_double(const char *name, double def)
{
    const char *v = lumen__env(name);
    double d;
    if (v == NULL)
        return def;
    if (!lumen__parse_double(v, &d)) {
        lumen__diag(LUMEN_DIAG_WARN, "invalid number in %s; using the default", name);
        return def;
    }
    return d;
}

bool lumen__strieq(const char *s, size_t n, const char *w)
{
    size_t m = strlen(w);
    if (m != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = w[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

const char *lumen__trim(const char *s, size_t *n)
{
    size_t len = *n;
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    *n = len;
    return s;
}

bool lumen__env_bool(const char *name, bool def)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return def;
    size_t n = strlen(v);
    v = lumen__trim(v, &n);
    if (lumen__strieq(v, n, "true"))
        return true;
    if (lumen__strieq(v, n, "false"))
        return false;
    lumen__diag(LUMEN_DIAG_WARN, "invalid boolean in %s; using the default", name);
    return def;
}
