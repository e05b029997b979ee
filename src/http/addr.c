/*
 * http/addr.c: "host:port" parsing for the server's listen address. The
 * text comes from the program or the environment (LUMEN_METRICS_ADDR), so
 * every malformed form is refused with LUMEN_ECONFIG rather than guessed.
 */
#include "core/common.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "http/addr.h"

static bool parse_port(const char *s, uint16_t *out)
{
    if (*s == '\0' || strlen(s) > 5)
        return false;
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

int lumen__http_addr_parse(const char *text, lumen__http_addr *out)
{
    char host[256];
    const char *port_s;
    bool bracketed = false;

    memset(out, 0, sizeof *out);
    if (text == NULL || *text == '\0')
        return LUMEN_ECONFIG;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host)
            return LUMEN_ECONFIG;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        port_s = end + 2;
        bracketed = true;
    } else {
        const char *colon = strrchr(text, ':');
        /* A bare IPv6 address without brackets is ambiguous: refuse it. */
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL ||
            (size_t)(colon - text) >= sizeof host)
            return LUMEN_ECONFIG;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port_s = colon + 1;
    }
    uint16_t port;
    if (!parse_port(port_s, &port))
        return LUMEN_ECONFIG;

    if (host[0] == '\0' && !bracketed) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons(port);
        out->len = sizeof *a6;
        out->ipv6 = true;
        out->dual_stack = true;
        return LUMEN_OK;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | (bracketed ? AI_NUMERICHOST : 0);
    int rc = getaddrinfo(host, port_s, &hints, &res);
    if (rc != 0 || res == NULL) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: cannot resolve listen address '%s': %s", text,
                    gai_strerror(rc));
        return LUMEN_ECONFIG;
    }
    /* Prefer the first IPv4 answer for a name such as "localhost", which
     * is what clients that resolve it also try first. */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    if (pick->ai_addrlen > sizeof out->ss ||
        (pick->ai_family != AF_INET && pick->ai_family != AF_INET6)) {
        freeaddrinfo(res);
        return LUMEN_ECONFIG;
    }
    memcpy(&out->ss, pick->ai_addr, pick->ai_addrlen);
    out->len = (socklen_t)pick->ai_addrlen;
    out->ipv6 = pick->ai_family == AF_INET6;
    freeaddrinfo(res);
    return LUMEN_OK;
}
