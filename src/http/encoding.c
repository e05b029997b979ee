/*
 * http/encoding.c: Accept-Encoding parsing and gzip.
 *
 * The header is a comma-separated list of codings with optional
 * parameters; only q matters. A coding listed with q=0 is refused even if
 * "*" would allow it (RFC 9110 12.5.3).
 */
#include "core/common.h"

#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/env.h"
#include "http/encoding.h"

/* q=0, q=0.0, q=0.000 mean "not acceptable"; anything else accepts. */
static bool q_is_zero(const char *p, size_t n)
{
    p = lumen__trim(p, &n);
    if (n < 1 || p[0] != '0')
        return false;
    if (n == 1)
        return true;
    if (p[1] != '.')
        return false;
    for (size_t i = 2; i < n; i++)
        if (p[i] != '0')
            return false;
    return true;
}

bool lumen__http_accepts_gzip(const char *h)
{
    if (h == NULL)
        return false;
    int gzip = -1, star = -1; /* -1 not named, 0 refused, 1 accepted */
    while (*h) {
        size_t n = strcspn(h, ",");
        const char *item = h;
        h += n;
        if (*h)
            h++;
        size_t tn = strcspn(item, ";");
        if (tn > n)
            tn = n;
        size_t cn = tn;
        const char *coding = lumen__trim(item, &cn);
        bool accepted = true;
        /* Look for a q parameter among the item's parameters. */
        const char *params = item + tn;
        size_t pn = n - tn;
        while (pn > 0) {
            params++, pn--; /* skip ';' */
            size_t one = 0;
            while (one < pn && params[one] != ';')
                one++;
            size_t kn = one;
            const char *kv = lumen__trim(params, &kn);
            if (kn >= 2 && (kv[0] == 'q' || kv[0] == 'Q') && kv[1] == '=')
                accepted = !q_is_zero(kv + 2, kn - 2);
            params += one;
            pn -= one;
        }
        if (lumen__strieq(coding, cn, "gzip") || lumen__strieq(coding, cn, "x-gzip"))
            gzip = accepted;
        else if (cn == 1 && coding[0] == '*')
            star = accepted;
    }
    if (gzip >= 0)
        return gzip == 1;
    return star == 1;
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return lumen__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    lumen__free(p, 0);
}

int lumen__gzip(const char *in, size_t n, lumen__buf *out)
{
    /* zlib counts in 32-bit uInt; no exposition comes near 1 GiB. */
    if (n > (1u << 30))
        return LUMEN_ETOOBIG;
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    /* Level 1: exposition text compresses about 10:1 even at the fastest
     * level, and a scrape should cost the program as little as possible.
     * windowBits 15 + 16 asks zlib for the gzip wrapper. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return LUMEN_ENOMEM;
    int rc = LUMEN_ENOMEM;
    uLong bound = deflateBound(&z, (uLong)n);
    if (!lumen__buf_reserve(out, bound))
        goto done;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->p + out->len;
    z.avail_out = (uInt)(out->cap - out->len - 1);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        goto done;
    out->len += z.total_out;
    out->p[out->len] = '\0';
    rc = LUMEN_OK;
done:
    deflateEnd(&z);
    return rc;
}
