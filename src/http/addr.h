/*
 * http/addr.h: turning "host:port" text into a socket address for the
 * server to bind.
 */
#ifndef LUMEN_HTTP_ADDR_H
#define LUMEN_HTTP_ADDR_H

#include <sys/socket.h>

#include "core/common.h"

typedef struct lumen__http_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool ipv6;       /* ss holds a sockaddr_in6 */
    bool dual_stack; /* ":port": every interface, IPv6 and IPv4 */
} lumen__http_addr;

/*
 * Parse "host:port", "[v6]:port" or ":port" (port 0..65535). The host may
 * be a numeric address or a name, resolved here once. Returns LUMEN_OK or
 * LUMEN_ECONFIG.
 */
int lumen__http_addr_parse(const char *text, lumen__http_addr *out);

#endif
