/*
 * http/push_url.h: the Pushgateway URL of a group: job and grouping key in
 * path segments, in the @base64 form where a plain segment cannot carry
 * the value.
 */
#ifndef LUMEN_HTTP_PUSH_URL_H
#define LUMEN_HTTP_PUSH_URL_H

#include "core/buf.h"
#include "core/common.h"
#include "lumen/metrics.h"

/*
 * Append base + "/metrics/job/<job>" + "/<name>/<value>"... to out.
 * Returns LUMEN_OK, LUMEN_EINVAL (empty job, bad label name, a grouping
 * label named "job" twice) or LUMEN_ENOMEM.
 */
int lumen__push_url(lumen__buf *out, const char *base, const char *job, const lumen_label *grouping,
                    size_t n);

/* URL-safe base64 (RFC 4648 section 5) with padding, appended to out. */
void lumen__base64url(lumen__buf *out, const unsigned char *p, size_t n);

#endif
