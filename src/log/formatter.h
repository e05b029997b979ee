/*
 * log/formatter.h: the dispatch of a record to its handler's formatter
 * (JSON, logfmt or text).
 *
 * Why a header alone: the dispatch is a switch on the handler's format,
 * done for every line that is not formatted straight into a batch. Inline
 * here, the caller reaches the formatter with one call, as it did when the
 * dispatcher sat in the same file as the logfmt and text formatters; an
 * out-of-line dispatcher would add a second call per line.
 */
#ifndef LUMEN_LOG_FORMATTER_H
#define LUMEN_LOG_FORMATTER_H

#include "log/format_json.h"
#include "log/format_logfmt.h"
#include "log/format_text.h"

/* One record in the handler's format, appended to b (b->oom when it could
 * not grow). */
static inline void lumen__log_format(const lumen_log_handler *h, const lumen__log_rec *r,
                                     lumen__buf *b)
{
    switch (h->format) {
    case LUMEN_LOG_FORMAT_LOGFMT:
        lumen__log_format_logfmt(h, r, b);
        break;
    case LUMEN_LOG_FORMAT_TEXT:
        lumen__log_format_text(h, r, b);
        break;
    default:
        lumen__log_format_json(h, r, b);
        break;
    }
}

#endif
