/* core/env.c: typed settings from the environment; see env.h. */
#include "core/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"

int64_t lumen__env_int_range(const char *name, int64_t def, int64_t min, int64_t max)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    while (*end == ' ')
        end++;
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
        lumen__env_invalid(name, v, "expected a whole number from %lld to %lld; using %lld",
                           (long long)min, (long long)max, (long long)def);
        return def;
    }
    return (int64_t)n;
}

int64_t lumen__env_int(const char *name, int64_t def)
{
    return lumen__env_int_range(name, def, 0, INT64_MAX);
}

double lumen__env_double(const char *name, double def)
{
    const char *v = lumen__env(name);
    double d;
    if (v == NULL)
        return def;
    if (!lumen__parse_double(v, &d)) {
        lumen__env_invalid(name, v, "expected a number; using %g", def);
        return def;
    }
    return d;
}

bool lumen__env_bool(const char *name, bool def)
{
    const char *v = lumen__env(name);
    if (v == NULL)
        return def;
    size_t n = strlen(v);
    const char *t = lumen__trim(v, &n);
    if (lumen__strieq(t, n, "true"))
        return true;
    if (lumen__strieq(t, n, "false"))
        return false;
    lumen__env_invalid(name, v, "expected true or false; using %s", def ? "true" : "false");
    return def;
}
