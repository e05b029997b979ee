/*
 * fuzz/sql_strip_fuzz.c: liblumen-sqlite's literal stripper
 * (src/sqlite/strip.c, compiled into this target: it depends on nothing,
 * so the target builds whether or not liblumen-sqlite is). Two checks:
 *
 * 1. The input as SQL, with and without LUMEN__SQL_DQ_STRINGS: the output
 *    is never longer than the input, and stripping it again changes
 *    nothing (it holds no literal or comment left to strip).
 * 2. The input as a recipe for a statement: each byte picks a token, the
 *    bytes after it fill the token. Strings ('...' with the body's quotes
 *    doubled, "..." with DQ on), blobs, numbers and comments each carry a
 *    marker ("SECRET", hex 5EC0DE, digits 7771) and arbitrary fuzz bytes;
 *    identifiers, parameters and operators come from lists without the
 *    markers. No marker may come out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/strip.c"

static void check_raw(const uint8_t *data, size_t size, unsigned flags)
{
    char *out = malloc(size + 1), *again = malloc(size + 1);
    size_t n = lumen__sql_strip(out, size + 1, (const char *)data, size, flags, NULL);
    if (n > size || strlen(out) != n)
        abort();
    size_t m = lumen__sql_strip(again, size + 1, out, n, flags, NULL);
    if (m != n || memcmp(out, again, n) != 0)
        abort();
    free(out);
    free(again);
}

typedef struct recipe {
    const uint8_t *p, *end;
    char *s;
    size_t n, cap;
} recipe;

static void put(recipe *r, const char *s, size_t n)
{
    if (r->n + n + 1 > r->cap) {
        r->cap = (r->n + n + 1) * 2;
        r->s = realloc(r->s, r->cap);
    }
    memcpy(r->s + r->n, s, n);
    r->n += n;
    r->s[r->n] = '\0';
}

static void puts_(recipe *r, const char *s)
{
    put(r, s, strlen(s));
}

/* The next up to 15 fuzz bytes, as the body of a token. */
static size_t body(recipe *r, const uint8_t **out)
{
    size_t k = r->p < r->end ? *r->p++ % 16 : 0;
    if (k > (size_t)(r->end - r->p))
        k = (size_t)(r->end - r->p);
    *out = r->p;
    r->p += k;
    return k;
}

static void check_recipe(const uint8_t *data, size_t size)
{
    static const char *const idents[] = {"t1", "col2e5", "a$b", "_9",     "x",
                                         "e5", "[a b]",  "`c`", "SELECT", "FROM"};
    static const char *const others[] = {"?", "?3", ":p", "@q", "$r", "(",  ")",  ",", "=",
                                         "-", "+",  ".",  "*",  ";",  "||", "<>", "/", "\n"};
    recipe r = {data, data + size, NULL, 0, 0};
    bool dq = size > 0 && (data[0] & 1);
    while (r.p < r.end) {
        uint8_t t = *r.p++;
        const uint8_t *b;
        size_t k = body(&r, &b);
        put(&r, " ", 1);
        switch (t % 8) {
        case 0: /* a string: its quotes doubled */
            puts_(&r, "'SECRET");
            for (size_t i = 0; i < k; i++)
                put(&r, b[i] == '\'' ? "''" : (const char *)&b[i], b[i] == '\'' ? 2 : 1);
            puts_(&r, "'");
            break;
        case 1: /* a blob */
            puts_(&r, (t & 8) ? "X'5EC0DE" : "x'5EC0DE");
            for (size_t i = 0; i < k; i++) {
                char h[2] = {"0123456789abcdef"[b[i] >> 4], "0123456789abcdef"[b[i] & 15]};
                put(&r, h, 2);
            }
            puts_(&r, "'");
            break;
        case 2: { /* a number */
            static const char *const tails[] = {"", ".5", "e-5", "E+07", ".", "e3", "1", "0"};
            puts_(&r, (t & 8) ? "0x7771" : "7771");
            if (!(t & 8))
                puts_(&r, tails[(t >> 4) & 7]);
            break;
        }
        case 3: /* a line comment: no newline in its body */
            puts_(&r, "--SECRET");
            for (size_t i = 0; i < k; i++)
                if (b[i] != '\n')
                    put(&r, (const char *)&b[i], 1);
            puts_(&r, "\n");
            break;
        case 4: /* a block comment: no end inside */
            puts_(&r, "/*SECRET");
            for (size_t i = 0; i < k; i++)
                if (!(b[i] == '/' && i > 0 && b[i - 1] == '*') && b[i] != '*')
                    put(&r, (const char *)&b[i], 1);
            puts_(&r, "*/");
            break;
        case 5: /* a double-quoted token: a string only with DQ */
            if (dq) {
                puts_(&r, "\"SECRET");
                for (size_t i = 0; i < k; i++)
                    put(&r, b[i] == '"' ? "\"\"" : (const char *)&b[i], b[i] == '"' ? 2 : 1);
                puts_(&r, "\"");
            } else {
                puts_(&r, "\"name\"");
            }
            break;
        case 6:
            puts_(&r, idents[t / 8 % 10]);
            break;
        default:
            puts_(&r, others[t / 8 % 18]);
            break;
        }
    }
    if (r.s == NULL)
        return;
    char *out = malloc(r.n + 1);
    lumen__sql_strip(out, r.n + 1, r.s, r.n, dq ? LUMEN__SQL_DQ_STRINGS : 0, NULL);
    if (strstr(out, "SECRET") || strstr(out, "5EC0DE") || strstr(out, "7771"))
        abort();
    free(out);
    free(r.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_raw(data, size, 0);
    check_raw(data, size, LUMEN__SQL_DQ_STRINGS);
    check_recipe(data, size);
    return 0;
}
