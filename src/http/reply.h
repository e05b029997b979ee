/*
 * http/reply.h: the server's small fixed answers (404, 405, 429, 503 ...),
 * used by the router (server.c) and the scrape (scrape.c).
 */
#ifndef LUMEN_HTTP_REPLY_H
#define LUMEN_HTTP_REPLY_H

#include <microhttpd.h>

#include "core/common.h"

/* Queue `body` (static storage, text/plain) with `status`; an Allow header
 * when `allow` is not NULL, and Retry-After: 1 on 429 and 503. */
enum MHD_Result lumen__http_reply(struct MHD_Connection *c, unsigned status, const char *body,
                                  const char *allow);

#endif
