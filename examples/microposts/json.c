/*
 * examples/microposts/json.c: just enough JSON for the demo's flat request
 * objects ({"name": "...", "user_id": 3}). Not a general parser: it finds a
 * top-level key and reads its string or integer value, and it rejects
 * what it does not understand instead of guessing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Reads a JSON string at p (which points at the opening quote) into out;
 * returns the position after the closing quote or NULL. */
static const char *read_string(const char *p, const char *end, char *out, size_t cap)
{
    size_t o = 0;
    if (p >= end || *p != '"')
        return NULL;
    for (p++; p < end && *p != '"'; p++) {
        char c = *p;
        if ((unsigned char)c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= end)
                return NULL;
            switch (*p) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '/':
            case '\\':
            case '"':
                c = *p;
                break;
            case 'u': {
                if (end - p < 5)
                    return NULL;
                char hex[5] = {p[1], p[2], p[3], p[4], 0};
                char *e;
                long cp = strtol(hex, &e, 16);
                if (*e != '\0')
                    return NULL;
                p += 4;
                /* UTF-8 encode the BMP code point (surrogates become '?'). */
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = '?';
                if (cp < 0x80) {
                    c = (char)cp;
                } else {
                    char u[3];
                    size_t n;
                    if (cp < 0x800) {
                        u[0] = (char)(0xC0 | (cp >> 6));
                        u[1] = (char)(0x80 | (cp & 0x3F));
                        n = 2;
                    } else {
                        u[0] = (char)(0xE0 | (cp >> 12));
                        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                        u[2] = (char)(0x80 | (cp & 0x3F));
                        n = 3;
                    }
                    if (o + n >= cap)
                        return NULL;
                    memcpy(out + o, u, n);
                    o += n;
                    continue;
                }
                break;
            }
            default:
                return NULL;
            }
        }
        if (o + 1 >= cap)
            return NULL;
        out[o++] = c;
    }
    if (p >= end)
        return NULL;
    out[o] = '\0';
    return p + 1;
}

/* Finds the value of top-level `key`; returns a pointer to it or NULL. */
static const char *find_key(const char *json, size_t len, const char *key)
{
    const char *p = json, *end = json + len;
    char name[128];
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}')
            return NULL;
        p = read_string(p, end, name, sizeof name);
        if (p == NULL)
            return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        if (strcmp(name, key) == 0)
            return p;
        /* Skip a string, number, true/false/null value. */
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}')
                p++;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
        else
            return NULL;
    }
}

int json_get_string(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    const char *v = find_key(json, len, key);
    return v != NULL && read_string(v, json + len, out, cap) != NULL;
}

int json_get_int(const char *json, size_t len, const char *key, long long *out)
{
    const char *v = find_key(json, len, key);
    if (v == NULL)
        return 0;
    char num[32];
    size_t n = 0;
    const char *end = json + len;
    while (v < end && n + 1 < sizeof num && (*v == '-' || (*v >= '0' && *v <= '9')))
        num[n++] = *v++;
    num[n] = '\0';
    if (n == 0)
        return 0;
    char *e;
    *out = strtoll(num, &e, 10);
    return *e == '\0';
}

char *json_escape(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(6 * n + 3);
    size_t k = 0;
    o[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            o[k++] = '\\';
            o[k++] = (char)*p;
        } else if (*p < 0x20) {
            k += (size_t)sprintf(o + k, "\\u%04x", *p);
        } else {
            o[k++] = (char)*p;
        }
    }
    o[k++] = '"';
    o[k] = '\0';
    return o;
}
