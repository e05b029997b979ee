/*
 * http/console_peers.c: other consoles whose spans this console merges
 * into a trace. A request that crossed two services left spans in both
 * processes; when the console of one is told where the other's console is
 * (lumen_console_set_peers, or LUMEN_CONSOLE_PEERS), its trace view asks
 * the other for the same trace id and shows one tree.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/env.h"
#include "http/console.h"
#include "http/console_store.h"
#include "lumen/http_console.h"

#define MAX_PEERS LUMEN_CONSOLE_MAX_PEERS
#define MAX_PEER_BODY (4u << 20)

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_peers[MAX_PEERS];
static size_t g_npeers;
static bool g_env_read;

static void clear_locked(void)
{
    for (size_t i = 0; i < g_npeers; i++)
        lumen__free(g_peers[i], 0);
    g_npeers = 0;
}

int lumen_console_set_peers(const char *const *urls, size_t n)
{
    if (n > MAX_PEERS || (n > 0 && urls == NULL))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (urls[i] == NULL ||
            (strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0))
            return LUMEN_EINVAL;
    pthread_mutex_lock(&g_mu);
    clear_locked();
    g_env_read = true;
    int rc = LUMEN_OK;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(urls[i]);
        while (len > 0 && urls[i][len - 1] == '/')
            len--;
        g_peers[i] = lumen__strndup(urls[i], len);
        if (g_peers[i] == NULL) {
            rc = LUMEN_ENOMEM;
            break;
        }
        g_npeers++;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

/* LUMEN_CONSOLE_PEERS="http://127.0.0.1:9101,http://127.0.0.1:9102" */
static void read_env_locked(void)
{
    if (g_env_read)
        return;
    g_env_read = true;
    const char *v = lumen__env("LUMEN_CONSOLE_PEERS");
    while (v != NULL && *v && g_npeers < MAX_PEERS) {
        const char *comma = strchr(v, ',');
        size_t n = comma ? (size_t)(comma - v) : strlen(v);
        const char *s = lumen__trim(v, &n);
        while (n > 0 && s[n - 1] == '/')
            n--;
        if (n > 7 && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)) {
            char *p = lumen__strndup(s, n);
            if (p)
                g_peers[g_npeers++] = p;
        } else if (n > 0) {
            lumen__env_invalid("LUMEN_CONSOLE_PEERS", lumen__env("LUMEN_CONSOLE_PEERS"),
                               "every peer must be an http:// or https:// URL; the others are "
                               "ignored");
        }
        v = comma ? comma + 1 : NULL;
    }
}

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    lumen__buf *b = ud;
    size_t add = size * n;
    if (b->len + add > MAX_PEER_BODY)
        return 0;
    lumen__buf_add(b, data, add);
    return b->oom ? 0 : add;
}

/* The text between `"KEY":[` and the closing `]}` of a peer's answer
 * (another lumen console's, whose array is always its last member). */
static bool array_part(const lumen__buf *b, const char *key, const char **start, size_t *len)
{
    char pat[32];
    int n = snprintf(pat, sizeof pat, "\"%s\":[", key);
    const char *p = b->p ? memmem(b->p, b->len, pat, (size_t)n) : NULL;
    if (p == NULL || b->len < 2 || memcmp(b->p + b->len - 2, "]}", 2) != 0)
        return false;
    *start = p + n;
    const char *end = b->p + b->len - 2;
    if (end < *start)
        return false;
    *len = (size_t)(end - *start);
    return *len > 0;
}

size_t lumen__console_peer_array(const char *path_query, const char *key, size_t have,
                                 lumen__buf *out)
{
    char peers[MAX_PEERS][512];
    size_t n = 0;
    pthread_mutex_lock(&g_mu);
    read_env_locked();
    for (size_t i = 0; i < g_npeers; i++) {
        size_t len = strlen(g_peers[i]);
        if (len < sizeof peers[0])
            memcpy(peers[n++], g_peers[i], len + 1);
    }
    pthread_mutex_unlock(&g_mu);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        CURL *c = curl_easy_init();
        if (c == NULL)
            break;
        lumen__buf url = LUMEN__BUF_INIT;
        lumen__buf_puts(&url, peers[i]);
        lumen__buf_puts(&url, path_query);
        lumen__buf b = LUMEN__BUF_INIT;
        long status = 0;
        if (!url.oom) {
            curl_easy_setopt(c, CURLOPT_URL, url.p);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)LUMEN__PEER_TIMEOUT_MS);
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
            if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        }
        const char *part;
        size_t len;
        if (status == 200 && array_part(&b, key, &part, &len)) {
            if (have + got > 0)
                lumen__buf_putc(out, ',');
            /* A peer is another process: its answer gets the same < > &
             * escaping as this console's own. */
            lumen__console_json_html_safe(out, part, len);
            got++;
        }
        lumen__buf_free(&b);
        lumen__buf_free(&url);
        curl_easy_cleanup(c);
    }
    return got;
}
