/*
 * http/auth.h: HTTP basic authentication against bcrypt hashes for the
 * /metrics server.
 */
#ifndef LUMEN_HTTP_AUTH_H
#define LUMEN_HTTP_AUTH_H

#include "core/common.h"

typedef struct lumen__http_auth lumen__http_auth;

/* The outcome of a check. */
enum {
    LUMEN__AUTH_OK = 0,
    LUMEN__AUTH_DENIED = 1,
    LUMEN__AUTH_BUSY = 2 /* too many checks in progress: answer 429 */
};

/*
 * Build the user table from htpasswd-style text ("user:hash" entries
 * separated by newlines or commas) and/or a file of such lines. Both NULL
 * gives *out NULL (no authentication) and LUMEN_OK. Errors:
 * LUMEN_ECONFIG (unreadable file, malformed entry, a hash that is not
 * bcrypt, no users at all), LUMEN_ENOTSUP (no bcrypt in this build),
 * LUMEN_ENOMEM.
 */
int lumen__http_auth_new(lumen__http_auth **out, const char *users, const char *file);
void lumen__http_auth_free(lumen__http_auth *a);

/*
 * Check credentials (either may be NULL: missing). Takes as long for an
 * unknown user as for a known one with a wrong password, whatever the
 * users' bcrypt costs (every failure does the work of one hash at the
 * highest cost); no user name at all is refused without hashing.
 * Thread-safe.
 */
int lumen__http_auth_check(lumen__http_auth *a, const char *user, const char *password);

/* For the tests: the bcrypt rounds spent so far (the sum of 2^cost over
 * every hash computed) and the most hashes that ever ran at once. */
void lumen__http_auth_stats(lumen__http_auth *a, uint64_t *work, unsigned *max_at_once);

#endif
