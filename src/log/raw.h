/*
 * log/raw.h: the async-signal-safe JSON string escaper of lumen_log_raw
 * (raw.c), shared with the crash handler (crash.c).
 */
#ifndef LUMEN_LOG_RAW_H
#define LUMEN_LOG_RAW_H

#include <stddef.h>

/* Escape n bytes of u as the inside of a JSON string into out, which has
 * room for 6 * n bytes; invalid UTF-8 becomes U+FFFD. Returns the bytes
 * written. No lock, no allocation: async-signal-safe. */
size_t lumen__raw_json_escape(char *out, const unsigned char *u, size_t n);

#endif
