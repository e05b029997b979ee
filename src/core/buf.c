/*
 * core/buf.c: growable buffer and locale-independent number formatting.
 *
 * Numbers: a Prometheus or OTLP-JSON consumer must read back exactly the
 * double we hold, and LC_NUMERIC must not turn "1.5" into "1,5". We format
 * with the thread's locale switched to "C" (uselocale only swaps a
 * thread-local pointer), trying 15, 16 and 17 significant digits and keeping
 * the first that reads back exactly: the shortest round-trip form in all
 * but rare cases, and always a correct one.
 */
#include "core/buf.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"

void lumen__buf_fixed(lumen__buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    b->max = 0;
    b->oom = cap == 0;
    b->fixed = true;
    if (cap)
        mem[0] = '\0';
}

void lumen__buf_free(lumen__buf *b)
{
    if (!b->fixed)
        lumen__free(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

bool lumen__buf_grow(lumen__buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX / 2 - b->len)
        goto fail;
    size_t need = b->len + extra + 1;
    if (b->max && need > b->max + 1)
        goto fail;
    if (need <= b->cap)
        return true;
    if (b->fixed)
        goto fail;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (b->max && cap > b->max + 1)
        cap = b->max + 1;
    char *p = lumen__realloc(b->p, b->cap, cap);
    if (p == NULL)
        goto fail;
    b->p = p;
    b->cap = cap;
    p[b->len] = '\0'; /* keep the invariant for a first, still empty, allocation */
    return true;
fail:
    b->oom = true;
    return false;
}

char *lumen__buf_steal(lumen__buf *b, size_t *len)
{
    if (b->p == NULL && !lumen__buf_grow(b, 0))
        return NULL;
    char *p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

const char lumen__digits2[200] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";

static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

void lumen__buf_u64(lumen__buf *b, uint64_t v)
{
    char tmp[24];
    lumen__buf_add(b, tmp, fmt_u64(tmp, v));
}

void lumen__buf_i64(lumen__buf *b, int64_t v)
{
    if (v < 0) {
        lumen__buf_putc(b, '-');
        lumen__buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        lumen__buf_u64(b, (uint64_t)v);
    }
}

static locale_t c_locale(void)
{
    static _Atomic(locale_t) loc;
    locale_t l = atomic_load_explicit(&loc, memory_order_acquire);
    if (l == (locale_t)0) {
        locale_t n = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        locale_t expected = (locale_t)0;
        if (atomic_compare_exchange_strong(&loc, &expected, n))
            l = n;
        else {
            freelocale(n);
            l = expected;
        }
    }
    return l;
}

bool lumen__parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return false;
    locale_t old = uselocale(c_locale());
    char *end;
    double v = strtod(s, &end);
    uselocale(old);
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

/* Shortest of %.15g/%.16g/%.17g that reads back as v. */
static size_t fmt_g(char *out, double v)
{
    locale_t old = uselocale(c_locale());
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, LUMEN__DBL_MAX, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            break;
    }
    uselocale(old);
    return (size_t)n;
}

size_t lumen__fmt_double(char *out, double v)
{
    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    /* Integral values, the common case for counters, skip snprintf. */
    /* The range check comes first: converting an out-of-range double to an
     * integer is undefined behaviour. */
    if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
        if (v == 0 && signbit(v)) {
            memcpy(out, "-0", 3);
            return 2;
        }
        int64_t i = (int64_t)v;
        if (i < 0) {
            out[0] = '-';
            return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)i);
        }
        return fmt_u64(out, (uint64_t)i);
    }
    return fmt_g(out, v);
}

size_t lumen__fmt_double_go(char *out, double v)
{
    if (isnan(v) || isinf(v) || v == 0)
        return lumen__fmt_double(out, v);
    /* Shortest digits in exponent form, then lay them out as Go does. */
    char e[LUMEN__DBL_MAX];
    locale_t old = uselocale(c_locale());
    for (int prec = 14; prec <= 16; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, v);
        if (prec == 16 || strtod(e, NULL) == v)
            break;
    }
    uselocale(old);
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    if (exp < -4 || exp >= 6) {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        n += (size_t)snprintf(out + n, 8, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return n;
    }
    if (exp < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = -1; i > exp; i--)
            out[n++] = '0';
        memcpy(out + n, digits, nd);
        n += nd;
    } else {
        for (int i = 0; i <= exp; i++)
            out[n++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)exp + 1 < nd) {
            out[n++] = '.';
            memcpy(out + n, digits + exp + 1, nd - (size_t)exp - 1);
            n += nd - (size_t)exp - 1;
        }
    }
    out[n] = '\0';
    return n;
}

size_t lumen__fmt_double_canonical(char *out, double v)
{
    if (isnan(v) || isinf(v))
        return lumen__fmt_double(out, v);
    size_t n = lumen__fmt_double_go(out, v);
    if (strpbrk(out, ".eEn") == NULL) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    return n;
}

void lumen__buf_double(lumen__buf *b, double v)
{
    char tmp[LUMEN__DBL_MAX];
    lumen__buf_add(b, tmp, lumen__fmt_double(tmp, v));
}
