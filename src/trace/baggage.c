/*
 * trace/baggage.c: W3C Baggage: entries (key, decoded value, properties),
 * the header parser and writer.
 *
 * Grammar: list-member = key OWS "=" OWS value *(OWS ";" OWS property),
 * property = key OWS "=" OWS value / key OWS; keys are RFC 7230 tokens,
 * values baggage-octets, percent-encoded UTF-8.
 *
 * Invariants: every entry's key is a token, its value valid UTF-8 (decoded
 * bytes that are not become U+FFFD) and its properties valid header syntax
 * without OWS; `bytes` is exactly the length of the header the entries
 * format to, which never passes LUMEN_BAGGAGE_MAX_BYTES, and there are at
 * most LUMEN_BAGGAGE_MAX_MEMBERS entries. So every member is kept while
 * both limits hold (the spec's floor is 64 members and 8192 bytes), each
 * member counted once at its encoded size, and formatting never cuts.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/env.h"
#include "core/escape.h"
#include "core/hex.h"
#include "lumen/trace.h"
#include "trace/selfmetrics.h"

typedef struct entry {
    char *key, *value, *meta; /* meta: NULL or "k1=v1;k2" */
    size_t wire;              /* bytes of "key=encoded-value[;meta]" */
} entry;

struct lumen_baggage {
    entry *e;
    size_t n, cap;
    size_t bytes; /* the formatted header's length */
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

/* baggage-octet: printable ASCII but for space, '"', ',', ';' and '\\'. */
static bool boctet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool octets(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!boctet((unsigned char)s[i]))
            return false;
    return true;
}

static const char HX[] = "0123456789ABCDEF";

/* A decoded value as the header carries it: '%' and every byte that is not
 * a baggage-octet percent-encoded. */
static size_t encoded_len(const char *v)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        n += (boctet(*p) && *p != '%') ? 1 : 3;
    return n;
}

static void encode(lumen__buf *o, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (boctet(*p) && *p != '%') {
            lumen__buf_putc(o, (char)*p);
        } else {
            char e[3] = {'%', HX[*p >> 4], HX[*p & 15]};
            lumen__buf_add(o, e, 3);
        }
    }
}

/*
 * Properties into their normal form ("k1=v1;k2", no OWS) in *out, or NULL
 * when there are none. From a header (`strict`), a property must match the
 * grammar as it stands. From lumen_baggage_set, keys must be tokens, and a
 * value's bytes that are not baggage-octets are percent-encoded: the
 * caller's text can then neither end the member (',') nor the header line
 * (CR, LF). Returns LUMEN_OK, LUMEN_EINVAL or LUMEN_ENOMEM.
 */
static int properties(const char *m, size_t mn, bool strict, char **out)
{
    *out = NULL;
    lumen__buf o = LUMEN__BUF_INIT;
    size_t i = 0;
    while (i <= mn && mn > 0) {
        size_t j = i;
        while (j < mn && m[j] != ';')
            j++;
        size_t pn = j - i;
        const char *p = lumen__trim(m + i, &pn);
        i = j + 1;
        const char *eq = memchr(p, '=', pn);
        size_t kn = eq ? (size_t)(eq - p) : pn;
        const char *k = lumen__trim(p, &kn);
        if (!token(k, kn))
            goto invalid;
        if (o.len)
            lumen__buf_putc(&o, ';');
        lumen__buf_add(&o, k, kn);
        if (eq == NULL)
            continue;
        size_t vn = pn - (size_t)(eq - p) - 1;
        const char *v = lumen__trim(eq + 1, &vn);
        lumen__buf_putc(&o, '=');
        if (strict) {
            if (!octets(v, vn))
                goto invalid;
            lumen__buf_add(&o, v, vn);
        } else {
            for (size_t x = 0; x < vn; x++) {
                unsigned char c = (unsigned char)v[x];
                if (boctet(c)) {
                    lumen__buf_putc(&o, (char)c);
                } else {
                    char e[3] = {'%', HX[c >> 4], HX[c & 15]};
                    lumen__buf_add(&o, e, 3);
                }
            }
        }
    }
    if (o.oom) {
        lumen__buf_free(&o);
        return LUMEN_ENOMEM;
    }
    if (o.len > 0)
        *out = lumen__buf_steal(&o, NULL);
    return LUMEN_OK;
invalid:
    lumen__buf_free(&o);
    return LUMEN_EINVAL;
}

/* `value` (valid UTF-8) and `meta` (normal form) are taken on success. */
static int put(lumen_baggage *b, const char *k, size_t kn, char *value, char *meta)
{
    size_t wire = kn + 1 + encoded_len(value) + (meta ? 1 + strlen(meta) : 0);
    size_t i;
    for (i = 0; i < b->n; i++)
        if (strlen(b->e[i].key) == kn && memcmp(b->e[i].key, k, kn) == 0)
            break;
    size_t bytes = i < b->n ? b->bytes - b->e[i].wire + wire : b->bytes + wire + (b->n ? 1 : 0);
    if ((i == b->n && b->n >= LUMEN_BAGGAGE_MAX_MEMBERS) || bytes > LUMEN_BAGGAGE_MAX_BYTES)
        return LUMEN_ELIMIT;
    if (i == b->n && b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        entry *e = lumen__realloc(b->e, b->cap * sizeof *e, cap * sizeof *e);
        if (e == NULL)
            return LUMEN_ENOMEM;
        b->e = e;
        b->cap = cap;
    }
    char *key = i < b->n ? NULL : lumen__strndup(k, kn);
    if (i == b->n && key == NULL)
        return LUMEN_ENOMEM;
    if (i < b->n) {
        key = b->e[i].key;
        b->e[i].key = NULL;
        entry_free(&b->e[i]);
    } else {
        b->n++;
    }
    b->e[i] = (entry){key, value, meta, wire};
    b->bytes = bytes;
    return LUMEN_OK;
}

/* A copy of s[0..n) with invalid UTF-8 repaired, or NULL. */
static char *text_copy(const char *s, size_t n)
{
    if (lumen__utf8_invalid(s, n) == 0)
        return lumen__strndup(s, n);
    lumen__buf o = LUMEN__BUF_INIT;
    lumen__utf8_repair_buf(&o, s, n);
    if (o.oom || o.p == NULL) {
        lumen__buf_free(&o);
        return NULL;
    }
    return lumen__buf_steal(&o, NULL);
}

static int set(lumen_baggage *b, const char *k, size_t kn, const char *v, size_t vn, const char *m,
               size_t mn, bool strict)
{
    if (!token(k, kn))
        return LUMEN_EINVAL;
    char *meta;
    int rc = properties(m ? m : "", m ? mn : 0, strict, &meta);
    if (rc != LUMEN_OK)
        return rc;
    char *value = text_copy(v, vn);
    if (value == NULL) {
        lumen__free(meta, 0);
        return LUMEN_ENOMEM;
    }
    rc = put(b, k, kn, value, meta);
    if (rc != LUMEN_OK) {
        lumen__free(value, 0);
        lumen__free(meta, 0);
    }
    return rc;
}

int lumen_baggage_set(lumen_baggage *b, const char *key, const char *value, const char *metadata)
{
    if (b == NULL || key == NULL || value == NULL)
        return LUMEN_EINVAL;
    return set(b, key, strlen(key), value, strlen(value), metadata, metadata ? strlen(metadata) : 0,
               false);
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

/* Percent-decode a value into out (room for n + 1 bytes); false when it is
 * not baggage-octets or a '%' is not followed by two hex digits. */
static bool decode(const char *v, size_t n, char *out, size_t *on)
{
    for (size_t i = 0; i < n; i++)
        if (!boctet((unsigned char)v[i]))
            return false;
    lumen__buf b;
    lumen__buf_fixed(&b, out, n + 1);
    if (!lumen__pct_decode(&b, v, n, LUMEN__PCT_STRICT))
        return false;
    *on = b.len;
    return true;
}

/* One member, its OWS trimmed. Returns LUMEN_OK, LUMEN_EPARSE (invalid),
 * LUMEN_ELIMIT (dropped for the limits) or LUMEN_ENOMEM. */
static int member(lumen_baggage *b, const char *m, size_t len)
{
    const char *semi = memchr(m, ';', len);
    size_t kvn = semi ? (size_t)(semi - m) : len;
    const char *eq = memchr(m, '=', kvn);
    if (eq == NULL)
        return LUMEN_EPARSE;
    size_t kn = (size_t)(eq - m), vn = kvn - kn - 1, dn;
    const char *k = lumen__trim(m, &kn);
    const char *v = lumen__trim(eq + 1, &vn);
    if (!token(k, kn))
        return LUMEN_EPARSE;
    /* A member that cannot fit is not decoded: the raw text is at least
     * as long as the key and the encoded value it would send. */
    if (kn + 1 + vn > LUMEN_BAGGAGE_MAX_BYTES)
        return octets(v, vn) ? LUMEN_ELIMIT : LUMEN_EPARSE;
    char small[256];
    char *val = vn < sizeof small ? small : lumen__malloc(vn + 1);
    if (val == NULL)
        return LUMEN_ENOMEM;
    int r = LUMEN_EPARSE;
    if (decode(v, vn, val, &dn))
        r = set(b, k, kn, val, dn, semi ? semi + 1 : NULL, semi ? len - kvn - 1 : 0, true);
    if (val != small)
        lumen__free(val, vn + 1);
    return r == LUMEN_EINVAL ? LUMEN_EPARSE : r;
}

int lumen_baggage_parse(lumen_baggage *b, const char *s, size_t n)
{
    if (b == NULL || (s == NULL && n > 0))
        return LUMEN_EINVAL;
    bool invalid = false, dropped = false;
    size_t i = 0;
    while (i <= n && n > 0) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        const char *m = lumen__trim(s + i, &len);
        i = j + 1;
        if (len == 0)
            continue;
        int r = member(b, m, len);
        if (r == LUMEN_ENOMEM)
            return r;
        invalid |= r == LUMEN_EPARSE;
        dropped |= r == LUMEN_ELIMIT;
        /* Counted (lumen_trace_propagation_dropped_total): a caller of
         * extract never sees the return code. */
        if (r == LUMEN_EPARSE || r == LUMEN_ELIMIT)
            lumen__trace_metric_add(
                r == LUMEN_EPARSE ? LUMEN__TM_BAGGAGE_INVALID : LUMEN__TM_BAGGAGE_LIMIT, 1);
    }
    return invalid ? LUMEN_EPARSE : dropped ? LUMEN_ELIMIT : LUMEN_OK;
}

int lumen_baggage_format(char **out, const lumen_baggage *b)
{
    if (b == NULL || out == NULL)
        return LUMEN_EINVAL;
    lumen__buf o = LUMEN__BUF_INIT;
    lumen__buf_puts(&o, "");
    for (size_t i = 0; i < b->n; i++) {
        if (o.len)
            lumen__buf_putc(&o, ',');
        lumen__buf_puts(&o, b->e[i].key);
        lumen__buf_putc(&o, '=');
        encode(&o, b->e[i].value);
        if (b->e[i].meta != NULL) {
            lumen__buf_putc(&o, ';');
            lumen__buf_puts(&o, b->e[i].meta);
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
