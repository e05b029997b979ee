/*
 * fuzz/http_parse_fuzz.c: liblumen-http's parsers of outside text: the
 * Accept-Encoding header (from any client), basic-auth user lists (from a
 * file or the environment) and Pushgateway group URLs (job and grouping
 * values from the program). The first byte picks the parser; the rest is
 * its input. Listen addresses are left out: parsing them may resolve a
 * host name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/auth.h"
#include "http/encoding.h"
#include "http/push_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        (void)lumen__http_accepts_gzip(s);
        break;
    case 1: {
        /* Parsing only: a valid entry of cost 31 would take hours to check. */
        lumen__http_auth *a = NULL;
        if (lumen__http_auth_new(&a, s, NULL) == 0 && a == NULL)
            abort(); /* a non-NULL text either fails or yields users */
        lumen__http_auth_free(a);
        break;
    }
    default: {
        /* Lines: the job, then name and value lines of the grouping key. */
        char *tok[9];
        size_t nt = 0;
        for (char *p = s; nt < 9;) {
            tok[nt++] = p;
            p = strchr(p, '\n');
            if (p == NULL)
                break;
            *p++ = '\0';
        }
        lumen_label g[4];
        size_t n = 0;
        for (size_t i = 1; i + 1 < nt; i += 2, n++) {
            g[n].name = tok[i];
            g[n].value = tok[i + 1];
        }
        lumen__buf b = LUMEN__BUF_INIT;
        (void)lumen__push_url(&b, "http://gw:9091", tok[0], g, n);
        lumen__buf_free(&b);
        break;
    }
    }
    free(s);
    return 0;
}
