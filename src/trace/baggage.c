/*
 * trace/baggage.c: W3C Baggage: entries (key, decoded value, raw
 * properties), the header parser and writer.
 *
 * Grammar: list-member = key OWS "=" OWS value *(OWS ";" OWS property);
 * the key is an RFC 7230 token, the value baggage-octets percent-encoded.
 * An invalid member is skipped (the others are kept), and the limits
 * (180 members, 4096 bytes per member, 8192 bytes in all) are enforced
 * on input and output.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/env.h"
#include "core/escape.h"
#include "trace/propagation.h"

typedef struct entry {
    char *key, *value, *meta;
} entry;

struct lumen_baggage {
    entry *e;
    size_t n, cap;
};

int lumen_baggage_new(lumen_baggage **out)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = lumen__calloc(1, sizeof **out);
    return *out ? LUMEN_OK : LUMEN_ENOMEM;
}

static void entry_free(entry *e)
{
    lumen__free(e->key, 0);
    lumen__free(e->value, 0);
    lumen__free(e->meta, 0);
}

void lumen_baggage_free(lumen_baggage *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        entry_free(&b->e[i]);
    lumen__free(b->e, b->cap * sizeof *b->e);
    lumen__free(b, sizeof *b);
}

static bool tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!tchar((unsigned char)s[i]))
            return false;
    return true;
}

static bool boctet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static size_t entry_size(const char *k, const char *v, const char *m)
{
    return strlen(k) + 1 + strlen(v) * 3 + (m ? strlen(m) + 1 : 0);
}

static size_t total_size(const lumen_baggage *b)
{
    size_t t = 0;
    for (size_t i = 0; i < b->n; i++)
        t += entry_size(b->e[i].key, b->e[i].value, b->e[i].meta) + 1;
    return t;
}

static int set(lumen_baggage *b, const char *k, size_t kn, const char *v, size_t vn, const char *m,
               size_t mn)
{
    if (!token(k, kn))
        return LUMEN_EINVAL;
    size_t i;
    for (i = 0; i < b->n; i++)
        if (strlen(b->e[i].key) == kn && memcmp(b->e[i].key, k, kn) == 0)
            break;
    if (i == b->n) {
        if (b->n >= LUMEN__BAGGAGE_MAX_MEMBERS)
            return LUMEN_ELIMIT;
        if (total_size(b) + kn + vn + mn + 2 > LUMEN__BAGGAGE_MAX_TOTAL)
            return LUMEN_ELIMIT;
    }
    entry ne = {lumen__strndup(k, kn), lumen__strndup(v, vn), m ? lumen__strndup(m, mn) : NULL};
    if (ne.key == NULL || ne.value == NULL || (m != NULL && ne.meta == NULL)) {
        entry_free(&ne);
        return LUMEN_ENOMEM;
    }
    if (i < b->n) {
        entry_free(&b->e[i]);
        b->e[i] = ne;
        return LUMEN_OK;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        entry *e = lumen__realloc(b->e, b->cap * sizeof *e, cap * sizeof *e);
        if (e == NULL) {
            entry_free(&ne);
            return LUMEN_ENOMEM;
        }
        b->e = e;
        b->cap = cap;
    }
    b->e[b->n++] = ne;
    return LUMEN_OK;
}

int lumen_baggage_set(lumen_baggage *b, const char *key, const char *value, const char *metadata)
{
    if (b == NULL || key == NULL || value == NULL)
        return LUMEN_EINVAL;
    return set(b, key, strlen(key), value, strlen(value), metadata, metadata ? strlen(metadata) : 0);
}

const char *lumen_baggage_get(const lumen_baggage *b, const char *key)
{
    for (size_t i = 0; b != NULL && key != NULL && i < b->n; i++)
        if (strcmp(b->e[i].key, key) == 0)
            return b->e[i].value;
    return NULL;
}

size_t lumen_baggage_count(const lumen_baggage *b)
{
    return b ? b->n : 0;
}

/* Decode a baggage value into out (at least n bytes); false when invalid. */
static bool decode(const char *v, size_t n, char *out, size_t *on)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!boctet(c))
            return false;
        if (c == '%') {
            int h, l;
            if (i + 2 >= n || (h = lumen__hexval(v[i + 1])) < 0 || (l = lumen__hexval(v[i + 2])) < 0)
                return false;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = (char)c;
        }
    }
    *on = o;
    return true;
}

int lumen_baggage_parse(lumen_baggage *b, const char *s, size_t n)
{
    if (b == NULL || (s == NULL && n > 0))
        return LUMEN_EINVAL;
    int rc = LUMEN_OK;
    if (n > LUMEN__BAGGAGE_MAX_TOTAL)
        return LUMEN_ELIMIT;
    char val[LUMEN__BAGGAGE_MAX_MEMBER];
    size_t i = 0, members = 0;
    while (i <= n && n > 0) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        const char *m = lumen__trim(s + i, &len);
        i = j + 1;
        if (len == 0)
            continue;
        if (++members > LUMEN__BAGGAGE_MAX_MEMBERS || len > LUMEN__BAGGAGE_MAX_MEMBER) {
            rc = LUMEN_ELIMIT;
            continue;
        }
        const char *semi = memchr(m, ';', len);
        size_t kvn = semi ? (size_t)(semi - m) : len;
        const char *eq = memchr(m, '=', kvn);
        if (eq == NULL) {
            rc = LUMEN_EPARSE;
            continue;
        }
        size_t kn = (size_t)(eq - m), vn = kvn - kn - 1, dn;
        const char *k = lumen__trim(m, &kn);
        const char *v = lumen__trim(eq + 1, &vn);
        const char *meta = NULL;
        size_t mn = 0;
        if (semi != NULL) {
            mn = len - kvn - 1;
            meta = lumen__trim(semi + 1, &mn);
        }
        if (!token(k, kn) || !decode(v, vn, val, &dn)) {
            rc = LUMEN_EPARSE;
            continue;
        }
        int r = set(b, k, kn, val, dn, meta, mn);
        if (r == LUMEN_ENOMEM)
            return r;
        if (r != LUMEN_OK)
            rc = r == LUMEN_EINVAL ? LUMEN_EPARSE : r;
    }
    return rc;
}

int lumen_baggage_format(const lumen_baggage *b, char **out)
{
    if (b == NULL || out == NULL)
        return LUMEN_EINVAL;
    static const char hx[] = "0123456789ABCDEF";
    lumen__buf o = LUMEN__BUF_INIT;
    lumen__buf_puts(&o, "");
    for (size_t i = 0; i < b->n; i++) {
        size_t start = o.len;
        if (o.len)
            lumen__buf_putc(&o, ',');
        lumen__buf_puts(&o, b->e[i].key);
        lumen__buf_putc(&o, '=');
        for (const unsigned char *p = (const unsigned char *)b->e[i].value; *p; p++) {
            if (boctet(*p) && *p != '%') {
                lumen__buf_putc(&o, (char)*p);
            } else {
                char e[3] = {'%', hx[*p >> 4], hx[*p & 15]};
                lumen__buf_add(&o, e, 3);
            }
        }
        if (b->e[i].meta != NULL && b->e[i].meta[0] != '\0') {
            lumen__buf_putc(&o, ';');
            lumen__buf_puts(&o, b->e[i].meta);
        }
        /* Members that would break the total limit are not sent. */
        if (o.len > LUMEN__BAGGAGE_MAX_TOTAL || o.len - start > LUMEN__BAGGAGE_MAX_MEMBER + 1) {
            o.len = start;
            if (o.p)
                o.p[o.len] = '\0';
        }
    }
    if (o.oom) {
        lumen__buf_free(&o);
        return LUMEN_ENOMEM;
    }
    size_t len;
    *out = lumen__buf_steal(&o, &len);
    return *out ? LUMEN_OK : LUMEN_ENOMEM;
}
