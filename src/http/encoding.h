/*
 * http/encoding.h: response compression for /metrics: whether the client
 * accepts gzip, and gzip itself (zlib, through lumen's allocator).
 */
#ifndef LUMEN_HTTP_ENCODING_H
#define LUMEN_HTTP_ENCODING_H

#include "core/buf.h"
#include "core/common.h"

/* True when an Accept-Encoding header value allows gzip: a "gzip" (or
 * "x-gzip") coding, or "*", with a nonzero q and not refused by an
 * explicit "gzip;q=0". NULL or empty: false. */
bool lumen__http_accepts_gzip(const char *accept_encoding);

/* gzip in[0..n) into out (appended). Returns LUMEN_OK, LUMEN_ENOMEM, or
 * LUMEN_ETOOBIG beyond 1 GiB. */
int lumen__gzip(const char *in, size_t n, lumen__buf *out);

#endif
