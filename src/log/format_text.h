/*
 * log/format_text.h: the readable text formatter (format_text.c).
 */
#ifndef LUMEN_LOG_FORMAT_TEXT_H
#define LUMEN_LOG_FORMAT_TEXT_H

#include "log/types.h"

/* One record as one text line (time, level, logger: message, key=value),
 * coloured when the handler says so, appended to b. */
void lumen__log_format_text(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);

#endif
