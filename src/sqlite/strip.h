/*
 * sqlite/strip.h: SQL text with its literals replaced by `?` (strip.c), so
 * that a statement's text can be recorded without the data in it.
 */
#ifndef LUMEN_SQLITE_STRIP_H
#define LUMEN_SQLITE_STRIP_H

#include <stdbool.h>
#include <stddef.h>

/* Flags of lumen__sql_strip. */
enum {
    /* "..." may be a string literal (SQLite's double-quoted string
     * misfeature, on unless SQLITE_DBCONFIG_DQS_DML turned it off): replace
     * it too, not only '...'. */
    LUMEN__SQL_DQ_STRINGS = 1u << 0
};

/*
 * Copy `sql` (n bytes) into out (cap bytes, cap > 0; always NUL-terminated)
 * with every string literal ('...', with '' inside), blob literal (x'...'),
 * numeric literal (12, 1.5e-3, .5, 0x1F) and, with LUMEN__SQL_DQ_STRINGS,
 * double-quoted token replaced by one `?`, and every comment (-- to the
 * end of the line, / * to * /) by one space. Identifiers (also [x] and `x`,
 * and names that contain digits such as t1 or col2e5), keywords, operators
 * and parameters (?, ?7, :name, @name, $name) are kept. An unterminated
 * literal, comment or quoted identifier is replaced to the end, and a
 * quoted identifier holding a control character is replaced too. Text that does not fit is cut
 * between tokens, never inside one. Returns the bytes written (without
 * the NUL); *out_cut (may be NULL) says whether the text was cut.
 */
size_t lumen__sql_strip(char *out, size_t cap, const char *sql, size_t n, unsigned flags,
                        bool *out_cut);

/*
 * The statement's operation: its first keyword in upper case ("SELECT",
 * "INSERT", ...) when it is one of SQLite's statement keywords, copied into
 * out (16 bytes); "" otherwise. Leading spaces, comments and parentheses
 * are skipped.
 */
void lumen__sql_operation(char out[16], const char *sql, size_t n);

#endif
