/*
 * http/auth.c: basic auth against bcrypt hashes (libxcrypt's crypt_rn).
 *
 * What it guarantees, after exporter-toolkit's handler and its CVE-2022-46146:
 * - A request without credentials is refused at once, without a hash.
 * - Timing does not tell known from unknown users, even when the users'
 *   hashes have different bcrypt costs: the user name is matched against
 *   every entry without an early exit, and every failed check does the work
 *   of one hash at the highest cost in the table. An unknown user's
 *   password is hashed against a decoy of that cost; a known user's wrong
 *   password, hashed at its own cost c, is followed by decoys of costs c,
 *   c+1, ..., max-1, whose 2^c + ... + 2^(max-1) rounds make up the
 *   difference (bcrypt's work doubles with each step of cost). Decoy
 *   results are ignored.
 * - bcrypt is slow on purpose, so at most one check hashes at a time: a
 *   flood of bad logins costs one core at most, and a check that cannot get
 *   the slot within a second (on the monotonic clock) is answered "busy"
 *   (429) instead of piling up server threads.
 * - A successful check is remembered for CACHE_NS so that a scraper does not
 *   pay a bcrypt per scrape. The cache holds, per user, the exact password
 *   bytes that verified (compared in constant time over a fixed width, with
 *   the length folded in): no concatenated key that two different inputs
 *   could share. Failures are never cached, and only passwords up to
 *   CACHE_PW bytes are. The cached bytes are wiped when the server stops.
 */
#include "core/common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef LUMEN_HAVE_XCRYPT
#include <crypt.h>
#endif

#include "core/alloc.h"
#include "core/diag.h"
#include "http/auth.h"

#define HASH_LEN 60                     /* "$2b$10$" + 22 salt + 31 hash */
#define CACHE_PW 128                    /* longest password cached */
#define CACHE_NS (300 * 1000000000LL)   /* a success is trusted for 5 min */
#define BUSY_WAIT_NS (1000 * 1000000LL) /* wait this long for the hash slot */

typedef struct user {
    char *name;
    size_t name_len;
    char hash[HASH_LEN + 1];
    int cost;
    /* guarded by lumen__http_auth.cache_mu */
    unsigned char cached_pw[CACHE_PW];
    size_t cached_len;
    int64_t cached_until; /* 0: nothing cached */
} user;

#define MIN_COST 4
#define MAX_COST 31

struct lumen__http_auth {
    user *users;
    size_t n;
    int max_cost;
    /* decoy[k]: a bcrypt setting of cost k (the first user's salt), for
     * k from the lowest cost in the table to max_cost. */
    char decoy[MAX_COST + 1][HASH_LEN + 1];
    pthread_mutex_t cache_mu;
    /* The hashing slot: busy while a check hashes; waiters wait on
     * slot_cv, which runs on the monotonic clock. */
    pthread_mutex_t slot_mu;
    pthread_cond_t slot_cv;
    bool slot_busy;
    bool sync_ready;
    /* For the tests: bcrypt rounds spent (the sum of 2^cost over every
     * hash) and the most hashes ever running at once. */
    atomic_uint_fast64_t work;
    atomic_uint hashing, max_hashing;
};

/* Equal in time that depends on the lengths only through n. */
static unsigned ct_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned)(a[i] ^ b[i]);
    return d;
}

static bool is_b64(char c)
{
    return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

/* "$2a$NN$" / "$2b$" / "$2y$", cost 04..31, then 53 characters of bcrypt's
 * base64. */
static int bcrypt_cost(const char *h)
{
    return (h[4] - '0') * 10 + (h[5] - '0');
}

static bool is_bcrypt(const char *h, size_t n)
{
    if (n != HASH_LEN || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
        return false;
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
        return false;
    int cost = bcrypt_cost(h);
    if (cost < MIN_COST || cost > MAX_COST)
        return false;
    for (size_t i = 7; i < n; i++)
        if (!is_b64(h[i]))
            return false;
    return true;
}

static int add_entry(lumen__http_auth *a, size_t *cap, const char *s, size_t n)
{
    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0 || s[0] == '#')
        return LUMEN_OK;
    const char *colon = memchr(s, ':', n);
    if (colon == NULL || colon == s) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: basic auth entry without 'user:'");
        return LUMEN_ECONFIG;
    }
    size_t name_len = (size_t)(colon - s), hash_len = n - name_len - 1;
    if (!is_bcrypt(colon + 1, hash_len)) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: basic auth user '%.*s': not a bcrypt hash",
                    (int)name_len, s);
        return LUMEN_ECONFIG;
    }
    if (a->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        user *u = lumen__realloc(a->users, *cap * sizeof *u, nc * sizeof *u);
        if (u == NULL)
            return LUMEN_ENOMEM;
        a->users = u;
        *cap = nc;
    }
    user *u = &a->users[a->n];
    memset(u, 0, sizeof *u);
    u->name = lumen__strndup(s, name_len);
    if (u->name == NULL)
        return LUMEN_ENOMEM;
    u->name_len = name_len;
    memcpy(u->hash, colon + 1, HASH_LEN);
    u->cost = bcrypt_cost(u->hash);
    a->n++;
    return LUMEN_OK;
}

static int add_text(lumen__http_auth *a, size_t *cap, const char *text, bool commas)
{
    while (*text) {
        size_t n = commas ? strcspn(text, "\n,") : strcspn(text, "\n");
        int rc = add_entry(a, cap, text, n);
        if (rc != LUMEN_OK)
            return rc;
        text += n;
        if (*text)
            text++;
    }
    return LUMEN_OK;
}

static int add_file(lumen__http_auth *a, size_t *cap, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: cannot open basic auth file '%s'", path);
        return LUMEN_ECONFIG;
    }
    char line[1024];
    int rc = LUMEN_OK;
    while (rc == LUMEN_OK && fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = LUMEN_ECONFIG; /* a line this long is no htpasswd line */
            break;
        }
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        rc = add_entry(a, cap, line, n);
    }
    fclose(f);
    return rc;
}

int lumen__http_auth_new(lumen__http_auth **out, const char *users, const char *file)
{
    *out = NULL;
    if (users == NULL && file == NULL)
        return LUMEN_OK;
#ifndef LUMEN_HAVE_XCRYPT
    lumen__diag(LUMEN_DIAG_ERROR, "http: basic auth needs libxcrypt, absent from this build");
    return LUMEN_ENOTSUP;
#else
    size_t cap = 0;
    int rc = LUMEN_ENOMEM;
    lumen__http_auth *a = lumen__calloc(1, sizeof *a);
    if (a == NULL)
        return LUMEN_ENOMEM;
    if (users != NULL && (rc = add_text(a, &cap, users, true)) != LUMEN_OK)
        goto fail;
    if (file != NULL && (rc = add_file(a, &cap, file)) != LUMEN_OK)
        goto fail;
    rc = LUMEN_ECONFIG;
    if (a->n == 0) {
        lumen__diag(LUMEN_DIAG_ERROR, "http: basic auth configured without any user");
        goto fail;
    }
    /* The decoys: the first user's salt at every cost from the lowest in
     * the table to the highest. */
    int min_cost = MAX_COST;
    for (size_t i = 0; i < a->n; i++) {
        a->max_cost = a->users[i].cost > a->max_cost ? a->users[i].cost : a->max_cost;
        min_cost = a->users[i].cost < min_cost ? a->users[i].cost : min_cost;
    }
    for (int k = min_cost; k <= a->max_cost; k++) {
        memcpy(a->decoy[k], a->users[0].hash, HASH_LEN + 1);
        a->decoy[k][4] = (char)('0' + k / 10);
        a->decoy[k][5] = (char)('0' + k % 10);
    }
    rc = LUMEN_ESYS;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    bool cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                   pthread_cond_init(&a->slot_cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cond_ok)
        goto fail;
    if (pthread_mutex_init(&a->cache_mu, NULL) != 0) {
        pthread_cond_destroy(&a->slot_cv);
        goto fail;
    }
    if (pthread_mutex_init(&a->slot_mu, NULL) != 0) {
        pthread_cond_destroy(&a->slot_cv);
        pthread_mutex_destroy(&a->cache_mu);
        goto fail;
    }
    a->sync_ready = true;
    *out = a;
    return LUMEN_OK;
fail:
    lumen__http_auth_free(a);
    return rc;
#endif
}

void lumen__http_auth_free(lumen__http_auth *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        lumen__free(a->users[i].name, a->users[i].name_len + 1);
        explicit_bzero(a->users[i].cached_pw, sizeof a->users[i].cached_pw);
    }
    lumen__free(a->users, a->n * sizeof *a->users);
    if (a->sync_ready) {
        pthread_mutex_destroy(&a->cache_mu);
        pthread_mutex_destroy(&a->slot_mu);
        pthread_cond_destroy(&a->slot_cv);
    }
    lumen__free(a, sizeof *a);
}

#ifdef LUMEN_HAVE_XCRYPT
/* bcrypt `password` with `hash`'s salt and cost (in cd, the caller's
 * scratch); true when it reproduces the hash. */
static bool bcrypt_matches(lumen__http_auth *a, struct crypt_data *cd, const char *password,
                           const char *hash)
{
    unsigned now = atomic_fetch_add(&a->hashing, 1) + 1;
    unsigned seen = atomic_load(&a->max_hashing);
    while (now > seen && !atomic_compare_exchange_weak(&a->max_hashing, &seen, now))
        ;
    const char *r = crypt_rn(password, hash, cd, (int)sizeof *cd);
    atomic_fetch_sub(&a->hashing, 1);
    atomic_fetch_add(&a->work, (uint_fast64_t)1 << bcrypt_cost(hash));
    return r != NULL && strlen(r) == HASH_LEN &&
           ct_diff((const unsigned char *)r, (const unsigned char *)hash, HASH_LEN) == 0;
}

static bool take_slot(lumen__http_auth *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + BUSY_WAIT_NS;
    ts.tv_sec += ns / 1000000000LL;
    ts.tv_nsec = ns % 1000000000LL;
    bool got = true;
    pthread_mutex_lock(&a->slot_mu);
    while (a->slot_busy && got)
        got = pthread_cond_timedwait(&a->slot_cv, &a->slot_mu, &ts) != ETIMEDOUT || !a->slot_busy;
    if (got)
        a->slot_busy = true;
    pthread_mutex_unlock(&a->slot_mu);
    return got;
}

static void give_slot(lumen__http_auth *a)
{
    pthread_mutex_lock(&a->slot_mu);
    a->slot_busy = false;
    pthread_cond_signal(&a->slot_cv);
    pthread_mutex_unlock(&a->slot_mu);
}

/* The hashing of one check: the user's own hash, then, when it fails, the
 * decoys that bring the work up to one hash at the highest cost. */
static bool hash_check(lumen__http_auth *a, const user *found, const char *password)
{
    struct crypt_data *cd = lumen__calloc(1, sizeof *cd);
    if (cd == NULL)
        return false;
    int done = found != NULL ? found->cost : a->max_cost;
    bool ok = bcrypt_matches(a, cd, password, found != NULL ? found->hash : a->decoy[done]);
    if (found == NULL)
        ok = false;
    if (!ok)
        for (int k = done; k < a->max_cost; k++)
            (void)bcrypt_matches(a, cd, password, a->decoy[k]);
    explicit_bzero(cd, sizeof *cd);
    lumen__free(cd, sizeof *cd);
    return ok;
}
#endif

void lumen__http_auth_stats(lumen__http_auth *a, uint64_t *work, unsigned *max_at_once)
{
#ifdef LUMEN_HAVE_XCRYPT
    *work = atomic_load(&a->work);
    *max_at_once = atomic_load(&a->max_hashing);
#else
    (void)a;
    *work = 0;
    *max_at_once = 0;
#endif
}

int lumen__http_auth_check(lumen__http_auth *a, const char *name, const char *password)
{
#ifndef LUMEN_HAVE_XCRYPT
    (void)a, (void)name, (void)password;
    return LUMEN__AUTH_DENIED;
#else
    /* No credentials at all: refuse at once. Timing tells the client only
     * what it already knows (that it sent none), and a request without an
     * Authorization header must not cost a bcrypt. */
    if (name == NULL)
        return LUMEN__AUTH_DENIED;
    if (password == NULL)
        password = "";
    size_t nlen = strlen(name), plen = strlen(password);

    /* Visit every entry; remember the match without branching on it early. */
    user *found = NULL;
    for (size_t i = 0; i < a->n; i++) {
        user *u = &a->users[i];
        size_t m = u->name_len < nlen ? u->name_len : nlen;
        unsigned d = ct_diff((const unsigned char *)u->name, (const unsigned char *)name, m);
        d |= (unsigned)(u->name_len != nlen);
        if (d == 0 && found == NULL)
            found = u;
    }

    if (found != NULL && plen <= CACHE_PW) {
        unsigned char pw[CACHE_PW] = {0};
        memcpy(pw, password, plen);
        int64_t now = lumen_monotonic_ns();
        pthread_mutex_lock(&a->cache_mu);
        unsigned d = ct_diff(found->cached_pw, pw, CACHE_PW);
        d |= (unsigned)(found->cached_len != plen);
        bool hit = found->cached_until > now && d == 0;
        pthread_mutex_unlock(&a->cache_mu);
        explicit_bzero(pw, sizeof pw);
        if (hit)
            return LUMEN__AUTH_OK;
    }

    if (!take_slot(a))
        return LUMEN__AUTH_BUSY;
    bool ok = hash_check(a, found, password);
    give_slot(a);
    if (!ok)
        return LUMEN__AUTH_DENIED;

    if (plen <= CACHE_PW) {
        pthread_mutex_lock(&a->cache_mu);
        memset(found->cached_pw, 0, CACHE_PW);
        memcpy(found->cached_pw, password, plen);
        found->cached_len = plen;
        found->cached_until = lumen_monotonic_ns() + CACHE_NS;
        pthread_mutex_unlock(&a->cache_mu);
    }
    return LUMEN__AUTH_OK;
#endif
}
