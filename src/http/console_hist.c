/*
 * http/console_hist.c: see console_hist.h.
 *
 * Layout: a ring of `points` timestamps shared by all series; each series
 * owns a ring of values aligned with it (NaN where the series was absent).
 * Series are found by a hash of their sample name and label text in an
 * open-addressing table that only grows. Families are kept in order of
 * first appearance, which is the registry's (sorted) order.
 */
#include "http/console_hist.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/escape.h"
#include "core/hash.h"

typedef struct family {
    char *name;
    char *type;
    char *help;
    size_t nseries;
} family;

typedef struct series {
    char *key; /* sample name + label text as rendered: the identity */
    size_t keylen;
    size_t namelen; /* the sample name is key[0..namelen) */
    size_t fam;     /* index into families */
    char **labels;  /* unescaped name, value, name, value... */
    size_t nlabels; /* pairs */
    double *values; /* ring aligned with the timestamps */
} series;

struct lumen__mhist {
    pthread_mutex_t mu;
    size_t points, max_series;
    int64_t *ts;
    size_t head, count; /* next slot to write; slots filled */
    family *fams;
    size_t nfams, capfams;
    series *ser;
    size_t nser;
    size_t *table; /* index+1 into ser, 0 empty */
    size_t tabcap;
    uint64_t untracked, bad_lines;
};

int lumen__mhist_new(lumen__mhist **out, size_t max_series, size_t points)
{
    if (out == NULL || max_series == 0 || points < 2)
        return LUMEN_EINVAL;
    lumen__mhist *h = lumen__calloc(1, sizeof *h);
    if (h == NULL)
        return LUMEN_ENOMEM;
    h->points = points;
    h->max_series = max_series;
    h->ts = lumen__calloc(points, sizeof *h->ts);
    h->ser = lumen__calloc(max_series, sizeof *h->ser);
    h->tabcap = 16;
    while (h->tabcap < max_series * 2)
        h->tabcap *= 2;
    h->table = lumen__calloc(h->tabcap, sizeof *h->table);
    if (h->ts == NULL || h->ser == NULL || h->table == NULL) {
        lumen__free(h->ts, 0);
        lumen__free(h->ser, 0);
        lumen__free(h->table, 0);
        lumen__free(h, sizeof *h);
        return LUMEN_ENOMEM;
    }
    pthread_mutex_init(&h->mu, NULL);
    *out = h;
    return LUMEN_OK;
}

void lumen__mhist_free(lumen__mhist *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nfams; i++) {
        lumen__free(h->fams[i].name, 0);
        lumen__free(h->fams[i].type, 0);
        lumen__free(h->fams[i].help, 0);
    }
    for (size_t i = 0; i < h->nser; i++) {
        series *s = &h->ser[i];
        for (size_t j = 0; j < 2 * s->nlabels; j++)
            lumen__free(s->labels[j], 0);
        lumen__free(s->labels, 0);
        lumen__free(s->key, 0);
        lumen__free(s->values, 0);
    }
    lumen__free(h->fams, 0);
    lumen__free(h->ser, 0);
    lumen__free(h->table, 0);
    lumen__free(h->ts, 0);
    pthread_mutex_destroy(&h->mu);
    lumen__free(h, sizeof *h);
}

/* ---- parsing --------------------------------------------------------------- */

/* Unescape a label value or HELP text (\\, \", \n) into a new string. */
static char *unescape(const char *s, size_t n)
{
    char *d = lumen__malloc(n + 1);
    if (d == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            d[o++] = s[i] == 'n' ? '\n' : s[i];
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    return d;
}

static size_t find_family(lumen__mhist *h, const char *name, size_t n)
{
    for (size_t i = h->nfams; i-- > 0;)
        if (strlen(h->fams[i].name) == n && memcmp(h->fams[i].name, name, n) == 0)
            return i;
    return SIZE_MAX;
}

static size_t add_family(lumen__mhist *h, const char *name, size_t n)
{
    size_t i = find_family(h, name, n);
    if (i != SIZE_MAX)
        return i;
    if (h->nfams == h->capfams) {
        size_t cap = h->capfams ? 2 * h->capfams : 32;
        family *f = lumen__realloc(h->fams, h->capfams * sizeof *f, cap * sizeof *f);
        if (f == NULL)
            return SIZE_MAX;
        h->fams = f;
        h->capfams = cap;
    }
    family *f = &h->fams[h->nfams];
    memset(f, 0, sizeof *f);
    f->name = lumen__strndup(name, n);
    f->type = lumen__strdup("untyped");
    f->help = lumen__strdup("");
    if (f->name == NULL || f->type == NULL || f->help == NULL) {
        lumen__free(f->name, 0);
        lumen__free(f->type, 0);
        lumen__free(f->help, 0);
        return SIZE_MAX;
    }
    return h->nfams++;
}

/* Parse `{a="x",b="y"}` at s[0..n) into unescaped pairs. Returns the
 * number of bytes consumed, or 0 when malformed. */
static size_t parse_labels(const char *s, size_t n, char ***out, size_t *npairs)
{
    size_t i = 1, cap = 0, np = 0;
    char **pairs = NULL;
    while (i < n && s[i] != '}') {
        size_t ks = i;
        while (i < n && s[i] != '=')
            i++;
        if (i + 1 >= n || s[i + 1] != '"')
            goto bad;
        size_t ke = i;
        i += 2;
        size_t vs = i;
        while (i < n && s[i] != '"') {
            if (s[i] == '\\')
                i++;
            i++;
        }
        if (i >= n)
            goto bad;
        if (np == cap) {
            size_t nc = cap ? 2 * cap : 4;
            char **p = lumen__realloc(pairs, 2 * cap * sizeof *p, 2 * nc * sizeof *p);
            if (p == NULL)
                goto bad;
            pairs = p;
            cap = nc;
        }
        pairs[2 * np] = lumen__strndup(s + ks, ke - ks);
        pairs[2 * np + 1] = unescape(s + vs, i - vs);
        np++;
        if (pairs[2 * np - 2] == NULL || pairs[2 * np - 1] == NULL)
            goto bad;
        i++;
        if (i < n && s[i] == ',')
            i++;
    }
    if (i >= n)
        goto bad;
    *out = pairs;
    *npairs = np;
    return i + 1;
bad:
    for (size_t j = 0; j < 2 * np; j++)
        lumen__free(pairs[j], 0);
    lumen__free(pairs, 0);
    return 0;
}

static void free_pairs(char **pairs, size_t np)
{
    for (size_t j = 0; j < 2 * np; j++)
        lumen__free(pairs[j], 0);
    lumen__free(pairs, 0);
}

static series *lookup(lumen__mhist *h, const char *key, size_t keylen, size_t *slot)
{
    uint64_t hv = lumen__hash(key, keylen, 0);
    size_t mask = h->tabcap - 1;
    for (size_t i = hv & mask;; i = (i + 1) & mask) {
        size_t e = h->table[i];
        if (e == 0) {
            *slot = i;
            return NULL;
        }
        series *s = &h->ser[e - 1];
        if (s->keylen == keylen && memcmp(s->key, key, keylen) == 0)
            return s;
    }
}

static void parse_sample(lumen__mhist *h, const char *line, size_t n, size_t cur_fam,
                         size_t slot_now)
{
    size_t i = 0;
    while (i < n && line[i] != '{' && line[i] != ' ')
        i++;
    size_t namelen = i;
    char **pairs = NULL;
    size_t np = 0;
    if (i < n && line[i] == '{') {
        size_t used = parse_labels(line + i, n - i, &pairs, &np);
        if (used == 0) {
            h->bad_lines++;
            return;
        }
        i += used;
    }
    size_t keylen = i;
    while (i < n && line[i] == ' ')
        i++;
    size_t vs = i;
    while (i < n && line[i] != ' ')
        i++;
    char num[64];
    size_t vl = i - vs;
    double v;
    if (namelen == 0 || vl == 0 || vl >= sizeof num) {
        h->bad_lines++;
        free_pairs(pairs, np);
        return;
    }
    memcpy(num, line + vs, vl);
    num[vl] = '\0';
    if (!lumen__parse_double(num, &v)) {
        h->bad_lines++;
        free_pairs(pairs, np);
        return;
    }
    size_t slot;
    series *s = lookup(h, line, keylen, &slot);
    if (s == NULL) {
        if (h->nser == h->max_series) {
            h->untracked++;
            free_pairs(pairs, np);
            return;
        }
        size_t fam = cur_fam;
        if (fam == SIZE_MAX || strncmp(h->fams[fam].name, line, strlen(h->fams[fam].name)) != 0)
            fam = add_family(h, line, namelen);
        double *vals = lumen__malloc(h->points * sizeof *vals);
        char *key = lumen__strndup(line, keylen);
        if (fam == SIZE_MAX || vals == NULL || key == NULL) {
            lumen__free(vals, 0);
            lumen__free(key, 0);
            free_pairs(pairs, np);
            return;
        }
        for (size_t k = 0; k < h->points; k++)
            vals[k] = NAN;
        s = &h->ser[h->nser];
        *s = (series){key, keylen, namelen, fam, pairs, np, vals};
        h->table[slot] = ++h->nser;
        h->fams[fam].nseries++;
    } else {
        free_pairs(pairs, np);
    }
    s->values[slot_now] = v;
}

int lumen__mhist_add(lumen__mhist *h, int64_t ts_ms, const char *text, size_t len)
{
    if (text == NULL) /* an empty render leaves its buffer unallocated */
        text = "", len = 0;
    pthread_mutex_lock(&h->mu);
    size_t slot = h->head;
    h->ts[slot] = ts_ms;
    for (size_t i = 0; i < h->nser; i++)
        h->ser[i].values[slot] = NAN;
    size_t cur = SIZE_MAX;
    if (text == NULL) /* an empty render: no text at all, and no arithmetic on NULL */
        text = "", len = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 7 && memcmp(p, "# TYPE ", 7) == 0) {
            const char *nm = p + 7, *sp = memchr(nm, ' ', n - 7);
            if (sp) {
                cur = add_family(h, nm, (size_t)(sp - nm));
                if (cur != SIZE_MAX) {
                    char *t = lumen__strndup(sp + 1, (size_t)(p + n - sp - 1));
                    if (t) {
                        lumen__free(h->fams[cur].type, 0);
                        h->fams[cur].type = t;
                    }
                }
            }
        } else if (n > 7 && memcmp(p, "# HELP ", 7) == 0) {
            const char *nm = p + 7, *sp = memchr(nm, ' ', n - 7);
            if (sp) {
                size_t f = add_family(h, nm, (size_t)(sp - nm));
                if (f != SIZE_MAX) {
                    char *t = unescape(sp + 1, (size_t)(p + n - sp - 1));
                    if (t) {
                        lumen__free(h->fams[f].help, 0);
                        h->fams[f].help = t;
                    }
                }
            }
        } else if (n > 0 && p[0] != '#') {
            parse_sample(h, p, n, cur, slot);
        }
        p += n + 1;
    }
    h->head = (slot + 1) % h->points;
    if (h->count < h->points)
        h->count++;
    pthread_mutex_unlock(&h->mu);
    return LUMEN_OK;
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_s(lumen__buf *b, const char *s)
{
    lumen__buf_putc(b, '"');
    lumen__esc_json(b, s, strlen(s), LUMEN__JSON_HTML_SAFE);
    lumen__buf_putc(b, '"');
}

void lumen__mhist_families_json(lumen__mhist *h, lumen__buf *b)
{
    pthread_mutex_lock(&h->mu);
    lumen__buf_puts(b, "{\"families\":[");
    for (size_t i = 0; i < h->nfams; i++) {
        family *f = &h->fams[i];
        if (f->nseries == 0)
            continue;
        if (b->p[b->len - 1] != '[')
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"name\":");
        json_s(b, f->name);
        lumen__buf_puts(b, ",\"type\":");
        json_s(b, f->type);
        lumen__buf_puts(b, ",\"help\":");
        json_s(b, f->help);
        lumen__buf_puts(b, ",\"series\":");
        lumen__buf_u64(b, f->nseries);
        lumen__buf_putc(b, '}');
    }
    lumen__buf_puts(b, "],\"untracked\":");
    lumen__buf_u64(b, h->untracked);
    lumen__buf_puts(b, ",\"bad_lines\":");
    lumen__buf_u64(b, h->bad_lines);
    lumen__buf_putc(b, '}');
    pthread_mutex_unlock(&h->mu);
}

static bool wanted(lumen__mhist *h, size_t fam, const char *const *fams, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->fams[fam].name, fams[i]) == 0)
            return true;
    return false;
}

void lumen__mhist_series_json(lumen__mhist *h, const char *const *fams, size_t n, size_t limit,
                              size_t families_ignored, lumen__buf *b)
{
    pthread_mutex_lock(&h->mu);
    size_t first = (h->head + h->points - h->count) % h->points;
    lumen__buf_puts(b, "{\"timestamps\":[");
    for (size_t k = 0; k < h->count; k++) {
        if (k)
            lumen__buf_putc(b, ',');
        lumen__buf_i64(b, h->ts[(first + k) % h->points]);
    }
    lumen__buf_puts(b, "],\"series\":[");
    size_t emitted = 0, cut = 0;
    for (size_t i = 0; i < h->nser; i++) {
        series *s = &h->ser[i];
        if (!wanted(h, s->fam, fams, n))
            continue;
        if (emitted == limit) {
            cut++;
            continue;
        }
        if (emitted++)
            lumen__buf_putc(b, ',');
        lumen__buf_puts(b, "{\"family\":");
        json_s(b, h->fams[s->fam].name);
        lumen__buf_puts(b, ",\"type\":");
        json_s(b, h->fams[s->fam].type);
        lumen__buf_puts(b, ",\"name\":\"");
        lumen__esc_json(b, s->key, s->namelen, LUMEN__JSON_HTML_SAFE);
        lumen__buf_puts(b, "\",\"labels\":{");
        for (size_t j = 0; j < s->nlabels; j++) {
            if (j)
                lumen__buf_putc(b, ',');
            json_s(b, s->labels[2 * j]);
            lumen__buf_putc(b, ':');
            json_s(b, s->labels[2 * j + 1]);
        }
        lumen__buf_puts(b, "},\"values\":[");
        for (size_t k = 0; k < h->count; k++) {
            double v = s->values[(first + k) % h->points];
            if (k)
                lumen__buf_putc(b, ',');
            if (isfinite(v))
                lumen__buf_double(b, v);
            else
                lumen__buf_puts(b, "null");
        }
        lumen__buf_puts(b, "]}");
    }
    lumen__buf_puts(b, "],\"series_cut\":");
    lumen__buf_u64(b, cut);
    lumen__buf_puts(b, ",\"families_ignored\":");
    lumen__buf_u64(b, families_ignored);
    lumen__buf_putc(b, '}');
    pthread_mutex_unlock(&h->mu);
}
