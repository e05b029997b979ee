/*
 * log/format_json.h: the JSON-lines formatter (format_json.c).
 */
#ifndef LUMEN_LOG_FORMAT_JSON_H
#define LUMEN_LOG_FORMAT_JSON_H

#include "log/types.h"

/* One record as one JSON object and '\n', appended to b. */
void lumen__log_format_json(const lumen_log_handler *h, const lumen__log_rec *r, lumen__buf *b);
/* Build the handler's JSON fragments from its preset (once, at creation). */
void lumen__log_frags(lumen_log_handler *h);

#endif
