/* tests/metrics/peer_util.h: handing an exposition to the real peers
 * (promtool, prometheus_client's text and OpenMetrics parsers) and
 * building the sample lines tests/metrics/parse_expo.py prints, so a test
 * can compare what a parser read with what was recorded. */
#ifndef LUMEN_TEST_PEER_UTIL_H
#define LUMEN_TEST_PEER_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/support.h"

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static inline void lines_add(lines *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static inline void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static inline int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A value as parse_expo.py prints it. */
static inline void peer_num(char *out, double v)
{
    if (isnan(v))
        strcpy(out, "NaN");
    else if (isinf(v))
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        sprintf(out, "%lld", (long long)v);
    else {
        for (int p = 15; p <= 17; p++) {
            sprintf(out, "%.*g", p, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

/* One expected sample: labels as name/value pairs (sorted here). */
static inline void peer_expect(lines *l, const char *name, const char *const *kv, size_t n,
                               double v, const char *exemplar)
{
    size_t idx[64];
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(kv[2 * idx[j]], kv[2 * idx[j - 1]]) < 0; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    size_t cap = strlen(name) + 64 + (exemplar ? strlen(exemplar) : 0);
    for (size_t i = 0; i < n; i++)
        cap += strlen(kv[2 * i]) + 2 * strlen(kv[2 * i + 1]) + 2;
    char *s = malloc(cap), *p = s;
    p += sprintf(p, "%s ", name);
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[2 * idx[i]];
        const unsigned char *val = (const unsigned char *)kv[2 * idx[i] + 1];
        p += sprintf(p, "%s%s=", i ? " " : "", k);
        for (; *val; val++)
            p += sprintf(p, "%02x", *val);
    }
    char num[40];
    peer_num(num, v);
    p += sprintf(p, " %s", num);
    if (exemplar)
        p += sprintf(p, " # %s", exemplar);
    lines_add(l, s);
}

/* Join sorted lines. */
static inline char *lines_join(lines *l)
{
    if (l->n > 0)
        qsort(l->v, l->n, sizeof *l->v, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    char *s = malloc(len), *p = s;
    for (size_t i = 0; i < l->n; i++)
        p += sprintf(p, "%s\n", l->v[i]);
    *p = '\0';
    return s;
}

static inline const char *parse_script(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/tests/metrics/parse_expo.py", lt_source_dir());
    return path;
}

/* Run a peer parser; returns its exit status and output in *out. */
static inline int peer_parse(const char *expo, size_t len, int openmetrics, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s %s", lt_python(), parse_script(),
             openmetrics ? "openmetrics" : "text");
    return lt_run(cmd, expo, len, out);
}

/* promtool check metrics: 0 clean, 1 parse error, 3 lint. */
static inline int peer_promtool(const char *expo, size_t len, char **out)
{
    return lt_run("promtool check metrics", expo, len, out);
}

#endif
