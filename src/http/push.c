/*
 * http/push.c: the Pushgateway client (libcurl): PUT replaces a group,
 * POST replaces the pushed metric names within it, DELETE removes it.
 *
 * Each call is one blocking request on its own easy handle (nothing is
 * shared between threads), bounded by timeout_ms as a whole. Every kind of
 * failure maps to its own status code, and what the gateway said is kept
 * in the caller's lumen_push_result; the body read is capped so a
 * misbehaving endpoint cannot make us buffer without end.
 */
#include "core/common.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/env.h"
#include "core/versioned.h"
#include "http/push_url.h"
#include "lumen/http.h"

#define MAX_ANSWER (1u << 20) /* bytes of answer read before giving up */

typedef struct answer {
    lumen_push_result *res;
    size_t kept;  /* bytes of message filled */
    size_t total; /* bytes received */
} answer;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    answer *a = ud;
    size_t n = size * nmemb;
    a->total += n;
    if (a->total > MAX_ANSWER)
        return 0; /* abort the transfer: CURLE_WRITE_ERROR */
    if (a->res != NULL) {
        size_t room = sizeof a->res->message - 1 - a->kept;
        size_t take = n < room ? n : room;
        memcpy(a->res->message + a->kept, p, take);
        a->kept += take;
        a->res->message[a->kept] = '\0';
    }
    return n;
}

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init;

static void curl_init_once(void)
{
    g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int map_curl_error(CURL *h, CURLcode cc)
{
    long os_errno = 0;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return LUMEN_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        return os_errno == ECONNREFUSED ? LUMEN_ECONNREFUSED : LUMEN_ECONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LUMEN_ECONNECT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return LUMEN_EINVAL;
    case CURLE_OUT_OF_MEMORY:
        return LUMEN_ENOMEM;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return LUMEN_ETLS;
    default:
        return LUMEN_EIO;
    }
}

static int buf_write(const char *data, size_t len, void *ud)
{
    lumen__buf *b = ud;
    lumen__buf_add(b, data, len);
    return b->oom ? 1 : 0;
}

static int render_body(const lumen_push_options *o, lumen__buf *body)
{
    lumen_registry *def[1];
    lumen_registry *const *regs = o->registries;
    size_t n = o->registry_count;
    if ((regs == NULL) != (n == 0))
        return LUMEN_EINVAL;
    if (regs == NULL) {
        def[0] = lumen_registry_default();
        if (def[0] == NULL)
            return LUMEN_ENOMEM;
        regs = def;
        n = 1;
    }
    int rc = lumen_registries_render(regs, n, LUMEN_FORMAT_PROMETHEUS, buf_write, body);
    if (rc == LUMEN_EIO && body->oom)
        rc = LUMEN_ENOMEM;
    return rc;
}

static const size_t options_sizes[] = {0, sizeof(lumen_push_options)};
static const size_t result_sizes[] = {0, sizeof(lumen_push_result)};

int lumen_push_options_init(lumen_push_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, options_sizes, LUMEN__VERSIONS(options_sizes));
}

int lumen_push_result_init(lumen_push_result *result, unsigned int version)
{
    return lumen__versioned_init(result, version, result_sizes, LUMEN__VERSIONS(result_sizes));
}

static int push(const char *method, const lumen_push_options *o, lumen_push_result *res);

/* The caller's versioned structs in, its result out (the fields of its
 * version), whatever happened in between. */
static int do_push(const char *method, const lumen_push_options *opts, lumen_push_result *out)
{
    int rc;
    if (out != NULL &&
        (rc = lumen__versioned_check(out, result_sizes, LUMEN__VERSIONS(result_sizes))) != LUMEN_OK)
        return rc;
    if (opts == NULL)
        return LUMEN_EINVAL;
    lumen_push_options o;
    if ((rc = lumen__versioned_in(&o, sizeof o, opts, options_sizes,
                                  LUMEN__VERSIONS(options_sizes))) != LUMEN_OK)
        return rc;
    lumen_push_result res = LUMEN_PUSH_RESULT_INIT;
    rc = push(method, &o, &res);
    if (out != NULL)
        lumen__versioned_out(out, &res, result_sizes, LUMEN__VERSIONS(result_sizes));
    return rc;
}

static int push(const char *method, const lumen_push_options *o, lumen_push_result *res)
{
    const char *base = o->url ? o->url : lumen__env("LUMEN_PUSHGATEWAY_URL");
    if (base == NULL)
        return LUMEN_EINVAL;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init != CURLE_OK)
        return LUMEN_ENOMEM;

    lumen__buf url = LUMEN__BUF_INIT, body = LUMEN__BUF_INIT;
    CURL *h = NULL;
    struct curl_slist *headers = NULL;
    int rc = lumen__push_url(&url, base, o->job, o->grouping, o->grouping_count);
    if (rc != LUMEN_OK)
        goto done;
    bool with_body = strcmp(method, "DELETE") != 0;
    if (with_body && (rc = render_body(o, &body)) != LUMEN_OK)
        goto done;

    rc = LUMEN_ENOMEM;
    if ((h = curl_easy_init()) == NULL)
        goto done;
    if (with_body) {
        headers = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
        if (headers == NULL)
            goto done;
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.p ? body.p : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    }
    answer ans = {res, 0, 0};
    long timeout = (long)(o->timeout_ms ? o->timeout_ms : LUMEN_PUSH_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_URL, url.p);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    /* Keep "/" and "%2F" and dot segments exactly as built. */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lumen/" LUMEN_VERSION_STRING);
    if (o->username != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
    }

    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    res->http_status = (int32_t)status;
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status != 0)) {
        rc = map_curl_error(h, cc);
        snprintf(res->message, sizeof res->message, "%s", curl_easy_strerror(cc));
        goto done;
    }
    rc = (status >= 200 && status < 300) ? LUMEN_OK : LUMEN_EHTTP;
    if (rc == LUMEN_OK)
        res->message[0] = '\0';
done:
    curl_slist_free_all(headers);
    if (h != NULL)
        curl_easy_cleanup(h);
    lumen__buf_free(&url);
    lumen__buf_free(&body);
    return rc;
}

int lumen_push(lumen_push_result *out, const lumen_push_options *opts)
{
    return do_push("PUT", opts, out);
}

int lumen_push_add(lumen_push_result *out, const lumen_push_options *opts)
{
    return do_push("POST", opts, out);
}

int lumen_push_delete(lumen_push_result *out, const lumen_push_options *opts)
{
    return do_push("DELETE", opts, out);
}
