/*
 * examples/microposts/api.c: microposts-api, the demo's public JSON REST
 * API. Every operation is a call to microposts-store over HTTP, carrying
 * the trace context, so one request shows up as one trace across both
 * services.
 *
 *   microposts-api --store URL [--port N] [--ready-file PATH]
 *
 *   POST /api/users               {"name": "..."}
 *   POST /api/users/:id/posts     {"text": "..."}
 *   GET  /api/users/:id/posts     ?limit=N
 *   GET  /api/posts/:id
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumen/http_curl.h"
#include "obs.h"
#include "svc.h"

typedef struct api {
    const char *store;
    lumen_curl_instrument *curl; /* the calls' spans, metrics and traceparent */
} api;

typedef struct body {
    char *p;
    size_t len;
} body;

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t add = size * n;
    if (b->len + add > 1 << 20)
        return 0; /* a store answer over 1 MiB is an error */
    char *p = realloc(b->p, b->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, data, add);
    b->p = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

/* One keep-alive connection per server thread, cleaned up when the thread
 * exits (MHD_stop_daemon joins them). */
static pthread_key_t curl_key;

static void free_handle(void *c)
{
    curl_easy_cleanup(c);
}

/* Call the store and relay its answer. The curl adapter makes the call a
 * child span of the request's and sends its traceparent; the request id
 * goes along too. */
static void call_store(api *a, svc_req *req, const char *method, const char *path,
                       const char *req_body, svc_resp *resp)
{
    CURL *c = pthread_getspecific(curl_key);
    if (c == NULL && (c = curl_easy_init()) != NULL && pthread_setspecific(curl_key, c) != 0) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    if (c == NULL) {
        svc_error(resp, 500, "out of memory");
        return;
    }
    curl_easy_reset(c);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", a->store, path);
    body b = {NULL, 0};
    char id[160];
    snprintf(id, sizeof id, "X-Request-Id: %s", svc_req_id(req));
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, id);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (req_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req_body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req_body));
    }
    lumen_curl_request_options ro = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    ro.headers = headers;
    lumen_curl_request *call = NULL;
    if (lumen_curl_begin(&call, a->curl, c, method, &ro) != LUMEN_OK)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers); /* uninstrumented */
    CURLcode rc = curl_easy_perform(c);
    lumen_curl_end(call, rc);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        obs_event("store call failed", curl_easy_strerror(rc));
        svc_error(resp, 502, "store unavailable");
    } else if (status >= 500) {
        /* The store's failure is ours too, but its details stay inside. */
        svc_error(resp, 502, "store error");
    } else {
        resp->status = (int)status;
        resp->body = b.p;
        b.p = NULL;
    }
    free(b.p);
}

static void create_user(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)p;
    (void)np;
    size_t len;
    const char *b = svc_req_body(req, &len);
    char name[256];
    if (!json_get_string(b, len, "name", name, sizeof name) || name[0] == '\0') {
        svc_error(resp, 400, "body must be {\"name\": \"...\"}");
        return;
    }
    char *n = json_escape(name);
    char *out;
    if (asprintf(&out, "{\"name\":%s}", n) < 0)
        out = NULL;
    free(n);
    call_store(ud, req, "POST", "/users", out, resp);
    free(out);
}

static int valid_id(const char *s)
{
    if (*s == '\0' || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static void create_post(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)np;
    if (!valid_id(p[0])) {
        svc_error(resp, 400, "user id must be a number");
        return;
    }
    size_t len;
    const char *b = svc_req_body(req, &len);
    char text[1024];
    if (!json_get_string(b, len, "text", text, sizeof text) || text[0] == '\0') {
        svc_error(resp, 400, "body must be {\"text\": \"...\"}");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/users/%s/posts", p[0]);
    char *t = json_escape(text);
    char *out;
    if (asprintf(&out, "{\"text\":%s}", t) < 0)
        out = NULL;
    free(t);
    call_store(ud, req, "POST", path, out, resp);
    free(out);
}

static void list_posts(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)np;
    if (!valid_id(p[0])) {
        svc_error(resp, 400, "user id must be a number");
        return;
    }
    const char *lim = svc_req_query(req, "limit");
    char path[96];
    snprintf(path, sizeof path, "/users/%s/posts?limit=%d", p[0], lim ? atoi(lim) : 20);
    call_store(ud, req, "GET", path, NULL, resp);
}

static void get_post(svc_req *req, const char *const *p, size_t np, svc_resp *resp, void *ud)
{
    (void)np;
    if (!valid_id(p[0])) {
        svc_error(resp, 400, "post id must be a number");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/posts/%s", p[0]);
    call_store(ud, req, "GET", path, NULL, resp);
}

static const svc_route routes[] = {
    {"POST", "/api/users", "/api/users", create_user},
    {"POST", "/api/users/:id/posts", "/api/users/:id/posts", create_post},
    {"GET", "/api/users/:id/posts", "/api/users/:id/posts", list_posts},
    {"GET", "/api/posts/:id", "/api/posts/:id", get_post},
};

int main(int argc, char **argv)
{
    api a = {NULL, NULL};
    const char *ready = NULL;
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--store") == 0)
            a.store = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ready-file") == 0)
            ready = argv[i + 1];
    }
    if (a.store == NULL) {
        fprintf(stderr, "usage: microposts-api --store URL [--port N] [--ready-file PATH]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&curl_key, free_handle);
    if (obs_init("microposts-api") != 0)
        return 1;
    if (lumen_curl_instrument_new(&a.curl, NULL) != LUMEN_OK) {
        obs_fatal("cannot instrument libcurl", NULL);
        return 1;
    }
    svc *s = svc_start("microposts-api", port, routes, sizeof routes / sizeof routes[0], &a);
    if (s == NULL) {
        obs_fatal("cannot listen", "127.0.0.1");
        return 1;
    }
    svc_serve(s, ready);
    lumen_curl_instrument_free(a.curl);
    curl_global_cleanup();
    return 0;
}
