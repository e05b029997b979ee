/*
 * log/format_text.c: the readable text formatter for terminals: time,
 * level (coloured when the handler says so), logger: message, then the
 * key=value tail logfmt writes (format_logfmt.c).
 */
#include "log/format_text.h"

#include "core/clock.h"
#include "core/escape.h"
#include "log/format.h"
#include "log/format_logfmt.h"
#include "log/level.h"

static const char *const COLORS[] = {"\x1b[90m", "\x1b[36m", "\x1b[32m",
                                     "\x1b[33m", "\x1b[31m", "\x1b[35;1m"};

void lumen__log_format_text(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b)
{
    char ts[32];
    lumen__rfc3339_us(ts, r->ts_ns);
    lumen__buf_add(b, ts, 27);
    lumen__buf_putc(b, ' ');
    int idx = (r->level - 1) / 4;
    if (idx < 0 || idx > 5)
        idx = 5;
    if (h->color)
        lumen__buf_puts(b, COLORS[idx]);
    const char *lv = lumen__log_level_upper(r->level);
    lumen__buf_puts(b, lv);
    if (h->color)
        LIT(b, "\x1b[0m");
    for (size_t i = strlen(lv); i < 6; i++)
        lumen__buf_putc(b, ' ');
    if (r->lg->name_len > 0) {
        /* The name and message are escaped like a JSON string's inside
         * (control characters, including ESC, become \u00XX), so a value
         * cannot move the cursor or forge a line on a terminal. */
        lumen__esc_json(b, r->lg->name, r->lg->name_len, 0);
        LIT(b, ": ");
    }
    size_t k = lumen__log_cut_len(r->msg, r->msg_len, h->max_value);
    lumen__esc_json(b, r->msg, k, 0);
    if (k < r->msg_len)
        lumen__log_put_marker(b, r->msg_len - k);
    lumen__log_kv_tail(h, r, b, F_TEXT);
}
