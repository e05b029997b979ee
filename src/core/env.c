/* core/env.c: see env.h. */
#include "core/env.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/diag.h"
#include "core/hash.h"

const char *lumen__env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : NULL;
}

/* Reported name=value pairs, by hash. Settings are read a handful of times
 * (each provider, processor or handler created reads its own), so a small
 * table suffices; past it, reports fall back to a per-site budget. */
#define SEEN_MAX 128
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seen[SEEN_MAX];
static size_t nseen;

/* true when name=value was not reported yet (and now counts as reported),
 * or when the table is full (*unlimited then says false). */
static bool first_time(const char *name, const char *value, bool *unlimited)
{
    size_t nl = strlen(name), vl = strlen(value);
    uint64_t h = lumen__hash(value, vl, lumen__hash(name, nl, 0x6c756d656eULL) ^ nl);
    bool fresh = true;
    *unlimited = true;
    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < nseen; i++)
        if (seen[i] == h)
            fresh = false;
    if (fresh) {
        if (nseen < SEEN_MAX)
            seen[nseen++] = h;
        else
            *unlimited = false;
    }
    pthread_mutex_unlock(&seen_mu);
    return fresh;
}

/* The value as the report shows it: printable ASCII as is, " and \
 * escaped, other bytes as \xHH, cut at 100 input bytes. */
static void show(char *out, size_t cap, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; v[i] != '\0' && i < 100 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (v[i] != '\0' && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void lumen__env_invalid(const char *name, const char *value, const char *fmt, ...)
{
    static lumen__diag_site site;
    bool unlimited;
    if (value == NULL)
        value = "";
    if (!first_time(name, value, &unlimited))
        return;
    char shown[512], why[256];
    show(shown, sizeof shown, value);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    lumen__diag_at(&site, LUMEN__DIAG_NOTICE | (unlimited ? LUMEN__DIAG_UNLIMITED : 0u),
                   LUMEN_DIAG_WARN, "invalid %s=\"%s\": %s", name, shown, why);
}

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
    const char *t = lumen__trim(v, &n);
    if (lumen__strieq(t, n, "true"))
        return true;
    if (lumen__strieq(t, n, "false"))
        return false;
    lumen__env_invalid(name, v, "expected true or false; using %s", def ? "true" : "false");
    return def;
}
