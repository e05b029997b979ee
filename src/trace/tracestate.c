/*
 * trace/tracestate.c: W3C tracestate lists: members checked against the
 * Level 2 grammar, normalised (OWS and empty members removed, a duplicated
 * key's later members dropped) and cut by whole members to 512
 * characters. An invalid list (bad key or value, more than 32 members) is
 * discarded whole. What is discarded or cut is counted
 * (lumen_trace_propagation_dropped_total{header="tracestate"}).
 */
#include <string.h>

#include "core/alloc.h"
#include "core/diag.h"
#include "core/env.h"
#include "trace/selfmetrics.h"
#include "trace/tracestate.h"

/* Level 2 key: ( lcalpha / DIGIT ) 0*255( keychar ), where keychar adds
 * "_" "-" "*" "/" and "@". Every Level 1 key (simple or tenant@system)
 * is also a Level 2 key. */
static const uint8_t g_keychar[256] = {
    ['a'] = 3, ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3, ['g'] = 3,
    ['h'] = 3, ['i'] = 3, ['j'] = 3, ['k'] = 3, ['l'] = 3, ['m'] = 3, ['n'] = 3,
    ['o'] = 3, ['p'] = 3, ['q'] = 3, ['r'] = 3, ['s'] = 3, ['t'] = 3, ['u'] = 3,
    ['v'] = 3, ['w'] = 3, ['x'] = 3, ['y'] = 3, ['z'] = 3, ['0'] = 3, ['1'] = 3,
    ['2'] = 3, ['3'] = 3, ['4'] = 3, ['5'] = 3, ['6'] = 3, ['7'] = 3, ['8'] = 3,
    ['9'] = 3, ['_'] = 1, ['-'] = 1, ['*'] = 1, ['/'] = 1, ['@'] = 1,
}; /* bit 0: keychar; bit 1: may also start a key */

static bool valid_key(const char *k, size_t n)
{
    if (n == 0 || n > LUMEN__TRACESTATE_KEY_MAX || !(g_keychar[(unsigned char)k[0]] & 2))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!g_keychar[(unsigned char)k[i]])
            return false;
    return true;
}

static bool valid_value(const char *v, size_t n)
{
    if (n == 0 || n > LUMEN__TRACESTATE_VALUE_MAX || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

void lumen__ts_init(lumen__ts_list *l, const char *base)
{
    l->nm = l->seen = 0;
    l->invalid = false;
    l->copy = base == NULL;
    l->base = base ? base : l->local;
    l->heap = NULL;
    l->slen = 0;
    l->scap = sizeof l->local;
}

void lumen__ts_free(lumen__ts_list *l)
{
    if (l->heap != NULL)
        lumen__free(l->heap, LUMEN__TS_STORE);
    l->heap = NULL;
}

static bool store(lumen__ts_list *l, const char *e, size_t len, uint32_t *off)
{
    if (l->slen + len > l->scap) {
        if (l->heap != NULL || l->slen + len > LUMEN__TS_STORE)
            return false; /* cannot happen for a valid list */
        l->heap = lumen__malloc(LUMEN__TS_STORE);
        if (l->heap == NULL) {
            lumen__diag(LUMEN_DIAG_WARN, "tracestate: out of memory, discarded");
            return false;
        }
        memcpy(l->heap, l->local, l->slen);
        l->base = l->heap;
        l->scap = LUMEN__TS_STORE;
    }
    memcpy(l->heap ? l->heap + l->slen : l->local + l->slen, e, len);
    *off = (uint32_t)l->slen;
    l->slen += len;
    return true;
}

/* One member, its OWS already trimmed. */
static void member_add(lumen__ts_list *l, const char *e, size_t len)
{
    const char *eq = memchr(e, '=', len);
    if (eq == NULL || ++l->seen > LUMEN__TRACESTATE_MEMBERS) {
        l->invalid = true;
        return;
    }
    size_t kl = (size_t)(eq - e);
    if (!valid_key(e, kl) || !valid_value(eq + 1, len - kl - 1)) {
        l->invalid = true;
        return;
    }
    /* A duplicated key: the first member stands, later ones are dropped.
     * Level 2 lets a receiver keep or drop duplicates; discarding the
     * whole list (Level 1's test suite) loses every other vendor's
     * entry, and sending duplicates on would break the rule that a list
     * has one entry per key. The OpenTelemetry Go SDK does the same. */
    for (unsigned k = 0; k < l->nm; k++)
        if (l->m[k].keylen == kl && memcmp(l->base + l->m[k].off, e, kl) == 0)
            return;
    uint32_t off;
    if (l->copy) {
        if (!store(l, e, len, &off)) {
            l->invalid = true;
            return;
        }
    } else if ((size_t)(e - l->base) <= UINT32_MAX) {
        off = (uint32_t)(e - l->base);
    } else {
        l->invalid = true;
        return;
    }
    l->m[l->nm++] = (lumen__ts_member){off, (uint16_t)len, (uint16_t)kl};
}

void lumen__ts_add(lumen__ts_list *l, const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n && !l->invalid) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        const char *e = lumen__trim(s + i, &len);
        if (len > 0)
            member_add(l, e, len);
        i = j + 1;
    }
}

/* The kept list into out[LUMEN_TRACESTATE_MAX+1], cut by whole members to
 * LUMEN_TRACESTATE_MAX: members longer than 128 characters go first, then
 * members from the right (the W3C truncation rule). Returns the length,
 * or -1 when the list was invalid. */
int lumen__ts_finish(lumen__ts_list *l, char *out)
{
    out[0] = '\0';
    if (l->invalid) {
        lumen__trace_metric_add(LUMEN__TM_TRACESTATE_INVALID, 1);
        return -1;
    }
    bool keep[LUMEN__TRACESTATE_MEMBERS];
    size_t total = 0;
    for (unsigned k = 0; k < l->nm; k++) {
        keep[k] = true;
        total += l->m[k].len + (k ? 1 : 0);
    }
    for (unsigned k = 0; k < l->nm && total > LUMEN_TRACESTATE_MAX; k++) {
        if (l->m[k].len > 128) {
            keep[k] = false;
            total -= l->m[k].len + 1u;
        }
    }
    for (unsigned k = l->nm; k-- > 0 && total > LUMEN_TRACESTATE_MAX;) {
        if (keep[k]) {
            keep[k] = false;
            total -= l->m[k].len + 1u;
        }
    }
    size_t o = 0;
    unsigned cut = 0;
    for (unsigned k = 0; k < l->nm; k++) {
        if (!keep[k]) {
            cut++;
            continue;
        }
        if (o)
            out[o++] = ',';
        memcpy(out + o, l->base + l->m[k].off, l->m[k].len);
        o += l->m[k].len;
    }
    out[o] = '\0';
    if (cut > 0)
        lumen__trace_metric_add(LUMEN__TM_TRACESTATE_LIMIT, cut);
    return (int)o;
}

int lumen__tracestate_parse(const char *s, size_t n, char *out)
{
    lumen__ts_list l;
    lumen__ts_init(&l, s);
    lumen__ts_add(&l, s, n);
    return lumen__ts_finish(&l, out);
}
