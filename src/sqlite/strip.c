/*
 * sqlite/strip.c: a tokenizer of SQLite's SQL that keeps the shape of a
 * statement and drops its data. It follows SQLite's own token rules
 * (tokenize.c as documented in lang_expr.html and lang_keywords.html):
 * strings in single quotes with '' as the quote, blobs x'..', numbers
 * (decimal, exponent, hex), identifiers that may contain digits and $,
 * quoted identifiers "..", [..] and `..`, comments -- and / * * /.
 *
 * The invariant that matters: no byte of a literal or a comment reaches
 * the output. Every byte of the input is consumed by exactly one token,
 * and only identifier, keyword, operator, parameter and space tokens are
 * copied; everything else becomes `?` or a space. Where a token cannot be
 * classified it is treated as data.
 */
#include "sqlite/strip.h"

#include <string.h>

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Characters that continue an identifier (SQLite also allows $). */
static bool is_idchar(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '$';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* End of a quoted token starting at s[i] (an opening quote, closed by
 * `close`; a doubled close is an escaped one when `doubling`). Returns
 * the index after the closing quote, or n when it is unterminated (then
 * *open is set, when given). */
static size_t quoted_end(const char *s, size_t i, size_t n, char close, bool doubling, bool *open)
{
    for (i++; i < n; i++) {
        if (s[i] == close) {
            if (doubling && i + 1 < n && s[i + 1] == close) {
                i++;
                continue;
            }
            return i + 1;
        }
    }
    if (open != NULL)
        *open = true;
    return n;
}

/* A quoted identifier is kept only when it is closed and holds no control
 * character: an unterminated one runs over the rest of the statement
 * (literals included), and SQLite would not have prepared it anyway. */
static bool keep_quoted(const char *s, size_t from, size_t to, bool open)
{
    if (open)
        return false;
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return false;
    }
    return true;
}

/* End of a numeric literal starting at s[i] (a digit, or '.' then a
 * digit). SQLite reads digits, one '.', an exponent with its sign, and
 * 0x hex; whatever identifier characters follow are part of the same
 * (malformed) token, and data all the same. */
static size_t number_end(const char *s, size_t i, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[i] == '0' && i + 2 < n && (u[i + 1] == 'x' || u[i + 1] == 'X') && is_hex(u[i + 2])) {
        i += 2;
        while (i < n && is_hex(u[i]))
            i++;
    } else {
        while (i < n && (is_digit(u[i]) || u[i] == '_'))
            i++;
        if (i < n && u[i] == '.') {
            i++;
            while (i < n && (is_digit(u[i]) || u[i] == '_'))
                i++;
        }
        if (i < n && (u[i] == 'e' || u[i] == 'E')) {
            size_t j = i + 1;
            if (j < n && (u[j] == '+' || u[j] == '-'))
                j++;
            if (j < n && is_digit(u[j])) {
                i = j;
                while (i < n && is_digit(u[i]))
                    i++;
            }
        }
    }
    /* "12abc": still one token, still data. */
    while (i < n && is_idchar(u[i]))
        i++;
    return i;
}

size_t lumen__sql_strip(char *out, size_t cap, const char *sql, size_t n, unsigned flags,
                        bool *out_cut)
{
    const unsigned char *u = (const unsigned char *)sql;
    size_t o = 0, i = 0;
    bool cut = false;
    /* Emit `len` bytes of a token whole, or stop: never half a token. */
#define EMIT(p, len)                                                                               \
    do {                                                                                           \
        if (o + (len) > cap - 1) {                                                                 \
            cut = true;                                                                            \
            goto done;                                                                             \
        }                                                                                          \
        memcpy(out + o, (p), (len));                                                               \
        o += (len);                                                                                \
    } while (0)
    while (i < n) {
        unsigned char c = u[i];
        size_t e;
        bool open = false;
        if (c == '\'') {
            i = quoted_end(sql, i, n, '\'', true, NULL);
            EMIT("?", 1);
        } else if ((c == 'x' || c == 'X') && i + 1 < n && u[i + 1] == '\'') {
            i = quoted_end(sql, i + 1, n, '\'', true, NULL);
            EMIT("?", 1);
        } else if (c == '"' || c == '[' || c == '`') {
            e = quoted_end(sql, i, n, c == '[' ? ']' : (char)c, c != '[', &open);
            if ((c == '"' && (flags & LUMEN__SQL_DQ_STRINGS)) || !keep_quoted(sql, i, e, open))
                EMIT("?", 1);
            else
                EMIT(sql + i, e - i);
            i = e;
        } else if (c == '-' && i + 1 < n && u[i + 1] == '-') {
            while (i < n && u[i] != '\n')
                i++;
            EMIT(" ", 1);
        } else if (c == '/' && i + 1 < n && u[i + 1] == '*') {
            const char *end = NULL;
            for (size_t j = i + 2; j + 1 < n; j++) {
                if (sql[j] == '*' && sql[j + 1] == '/') {
                    end = sql + j + 2;
                    break;
                }
            }
            i = end != NULL ? (size_t)(end - sql) : n;
            EMIT(" ", 1);
        } else if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(u[i + 1]))) {
            i = number_end(sql, i, n);
            EMIT("?", 1);
        } else if (is_alpha(c)) {
            for (e = i + 1; e < n && is_idchar(u[e]);)
                e++;
            EMIT(sql + i, e - i);
            i = e;
        } else if (c == '?' || c == ':' || c == '@' || c == '$' || c == '#') {
            /* A parameter: its number or name is the program's, not data. */
            for (e = i + 1; e < n && is_idchar(u[e]);)
                e++;
            EMIT(sql + i, e - i);
            i = e;
        } else if (c < 0x20 || c == 0x7F) {
            /* Control characters (newlines, tabs) become one space. */
            i++;
            if (o == 0 || out[o - 1] != ' ')
                EMIT(" ", 1);
        } else {
            EMIT(sql + i, 1);
            i++;
        }
    }
done:
#undef EMIT
    out[o] = '\0';
    if (out_cut != NULL)
        *out_cut = cut;
    return o;
}

void lumen__sql_operation(char out[16], const char *sql, size_t n)
{
    static const char *const OPS[] = {
        "ALTER",    "ANALYZE",   "ATTACH",  "BEGIN",  "COMMIT", "CREATE",  "DELETE",  "DETACH",
        "DROP",     "END",       "EXPLAIN", "INSERT", "PRAGMA", "REINDEX", "RELEASE", "REPLACE",
        "ROLLBACK", "SAVEPOINT", "SELECT",  "UPDATE", "VACUUM", "VALUES",  "WITH"};
    const unsigned char *u = (const unsigned char *)sql;
    size_t i = 0;
    out[0] = '\0';
    for (;;) {
        while (i < n && (u[i] == ' ' || u[i] == '(' || (u[i] >= 9 && u[i] <= 13)))
            i++;
        if (i + 1 < n && u[i] == '-' && u[i + 1] == '-') {
            while (i < n && u[i] != '\n')
                i++;
        } else if (i + 1 < n && u[i] == '/' && u[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(u[i] == '*' && u[i + 1] == '/'))
                i++;
            i = i + 2 < n ? i + 2 : n;
        } else {
            break;
        }
    }
    char w[16];
    size_t k = 0;
    while (i < n && k < sizeof w - 1 &&
           ((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z'))) {
        w[k++] = (char)(u[i] >= 'a' ? u[i] - 32 : u[i]);
        i++;
    }
    w[k] = '\0';
    if (i < n && is_idchar(u[i]))
        return; /* longer than any statement keyword, or not a word */
    for (size_t j = 0; j < sizeof OPS / sizeof OPS[0]; j++) {
        if (strcmp(w, OPS[j]) == 0) {
            memcpy(out, w, k + 1);
            return;
        }
    }
}
