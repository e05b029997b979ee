/*
 * log/format_logfmt.h: the logfmt formatter and the key=value tail it
 * shares with the text formatter (format_logfmt.c).
 */
#ifndef LUMEN_LOG_FORMAT_LOGFMT_H
#define LUMEN_LOG_FORMAT_LOGFMT_H

#include "log/types.h"

/* One record as one logfmt line, appended to b. */
void lumen__log_format_logfmt(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);
/* What logfmt and text lines share after the message: trace context,
 * request id, source, suppressed count, bound and call fields as
 * key=value (values in the syntax `fmt`, F_LOGFMT or F_TEXT), and '\n'. */
void lumen__log_kv_tail(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b,
                        int fmt);

#endif
