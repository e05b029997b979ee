/*
 * http/curl.c: the libcurl adapter (lumen/http_curl.h). It uses liblumen's
 * public API, and the monotonic clock of core.
 *
 * The propagation headers are a curl_slist of the adapter's, made by the
 * carrier's `set` during lumen_propagation_inject; its last node is
 * linked to the program's list while the request runs, so the handle
 * sends both without a copy of the program's strings, and unlinked at
 * end. The span is never made current: with the multi interface one
 * thread runs many requests at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "lumen/http_curl.h"

#define NMETHODS 10
#define OTHER (NMETHODS - 1)
#define REQ_MAGIC 0x6c637271u

static const char *const methods[NMETHODS] = {"CONNECT", "DELETE", "GET", "HEAD",  "OPTIONS",
                                              "PATCH",   "POST",   "PUT", "TRACE", "_OTHER"};

/* The conventions' default boundaries of http.client.request.duration. */
static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                          0.5,   0.75, 1,     2.5,  5,     7.5, 10};

struct lumen_curl_instrument {
    lumen_registry *reg;
    lumen_family *duration;
    lumen_tracer *tracer;
    uint32_t propagators;
};

struct lumen_curl_request {
    uint32_t magic;
    int method;
    lumen_curl_instrument *ins;
    CURL *easy;
    lumen_span *span;
    struct curl_slist *mine;   /* the propagation headers (the adapter's) */
    struct curl_slist *theirs; /* the program's list, borrowed */
    int64_t start_mono;
    int oom; /* curl_slist_append failed during inject */
};

static int method_index(const char *m)
{
    if (m == NULL)
        return 2; /* GET, libcurl's default */
    for (int i = 0; i < OTHER; i++)
        if (strcmp(m, methods[i]) == 0)
            return i;
    return OTHER;
}

#define E(x) [x] = #x
static const char *const error_names[] = {
    E(CURLE_UNSUPPORTED_PROTOCOL),
    E(CURLE_FAILED_INIT),
    E(CURLE_URL_MALFORMAT),
    E(CURLE_NOT_BUILT_IN),
    E(CURLE_COULDNT_RESOLVE_PROXY),
    E(CURLE_COULDNT_RESOLVE_HOST),
    E(CURLE_COULDNT_CONNECT),
    E(CURLE_WEIRD_SERVER_REPLY),
    E(CURLE_REMOTE_ACCESS_DENIED),
    E(CURLE_HTTP2),
    E(CURLE_PARTIAL_FILE),
    E(CURLE_HTTP_RETURNED_ERROR),
    E(CURLE_WRITE_ERROR),
    E(CURLE_UPLOAD_FAILED),
    E(CURLE_READ_ERROR),
    E(CURLE_OUT_OF_MEMORY),
    E(CURLE_OPERATION_TIMEDOUT),
    E(CURLE_RANGE_ERROR),
    E(CURLE_HTTP_POST_ERROR),
    E(CURLE_SSL_CONNECT_ERROR),
    E(CURLE_BAD_DOWNLOAD_RESUME),
    E(CURLE_FILE_COULDNT_READ_FILE),
    E(CURLE_FUNCTION_NOT_FOUND),
    E(CURLE_ABORTED_BY_CALLBACK),
    E(CURLE_BAD_FUNCTION_ARGUMENT),
    E(CURLE_INTERFACE_FAILED),
    E(CURLE_TOO_MANY_REDIRECTS),
    E(CURLE_UNKNOWN_OPTION),
    E(CURLE_GOT_NOTHING),
    E(CURLE_SSL_ENGINE_NOTFOUND),
    E(CURLE_SSL_ENGINE_SETFAILED),
    E(CURLE_SEND_ERROR),
    E(CURLE_RECV_ERROR),
    E(CURLE_SSL_CERTPROBLEM),
    E(CURLE_SSL_CIPHER),
    E(CURLE_PEER_FAILED_VERIFICATION),
    E(CURLE_BAD_CONTENT_ENCODING),
    E(CURLE_FILESIZE_EXCEEDED),
    E(CURLE_USE_SSL_FAILED),
    E(CURLE_SEND_FAIL_REWIND),
    E(CURLE_SSL_ENGINE_INITFAILED),
    E(CURLE_LOGIN_DENIED),
    E(CURLE_REMOTE_FILE_NOT_FOUND),
    E(CURLE_SSL_CACERT_BADFILE),
    E(CURLE_SSL_SHUTDOWN_FAILED),
    E(CURLE_AGAIN),
    E(CURLE_SSL_CRL_BADFILE),
    E(CURLE_SSL_ISSUER_ERROR),
    E(CURLE_CHUNK_FAILED),
    E(CURLE_NO_CONNECTION_AVAILABLE),
    E(CURLE_SSL_PINNEDPUBKEYNOTMATCH),
    E(CURLE_SSL_INVALIDCERTSTATUS),
    E(CURLE_HTTP2_STREAM),
    E(CURLE_RECURSIVE_API_CALL),
};
#undef E

const char *lumen_curl_error_name(CURLcode code)
{
    if (code == CURLE_OK)
        return NULL;
    if ((unsigned)code < sizeof error_names / sizeof error_names[0] && error_names[code] != NULL)
        return error_names[code];
    return "_OTHER";
}

int lumen_curl_instrument_options_init(lumen_curl_instrument_options *opts, unsigned int version)
{
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > LUMEN_CURL_INSTRUMENT_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return LUMEN_OK;
}

int lumen_curl_request_options_init(lumen_curl_request_options *opts, unsigned int version)
{
    if (opts == NULL)
        return LUMEN_EINVAL;
    if (version == 0 || version > LUMEN_CURL_REQUEST_OPTIONS_VERSION)
        return LUMEN_EVERSION;
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return LUMEN_OK;
}

int lumen_curl_instrument_new(lumen_curl_instrument **out,
                              const lumen_curl_instrument_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_curl_instrument_options o = LUMEN_CURL_INSTRUMENT_OPTIONS_INIT;
    if (opts != NULL) {
        if (opts->version == 0 || opts->version > LUMEN_CURL_INSTRUMENT_OPTIONS_VERSION)
            return LUMEN_EVERSION;
        o = *opts;
    }
    lumen_curl_instrument *ins = lumen__calloc(1, sizeof *ins);
    if (ins == NULL)
        return LUMEN_ENOMEM;
    ins->reg = o.registry != NULL ? o.registry : lumen_registry_default();
    ins->tracer = o.tracer != NULL ? o.tracer : lumen_tracer_get("lumen.http.client", NULL);
    ins->propagators = o.propagators != 0 ? o.propagators : LUMEN_PROPAGATE_DEFAULT;
    if (!o.no_metrics) {
        static const char *const labels[] = {"http_request_method", "server_address", "server_port",
                                             "http_response_status_code", "error_type"};
        lumen_family_options fo = LUMEN_FAMILY_OPTIONS_INIT;
        fo.help = "Duration of HTTP client requests.";
        fo.unit = "seconds";
        fo.label_names = labels;
        fo.label_count = 5;
        fo.series_limit = o.series_limit;
        fo.buckets = duration_buckets;
        fo.bucket_count = sizeof duration_buckets / sizeof duration_buckets[0];
        fo.flags = LUMEN_FAMILY_EXEMPLARS_FROM_TRACE;
        int rc = lumen_family_new(&ins->duration, ins->reg, LUMEN_METRIC_HISTOGRAM,
                                  "http_client_request_duration_seconds", &fo);
        if (rc != LUMEN_OK) {
            lumen__free(ins, sizeof *ins);
            return rc;
        }
    }
    *out = ins;
    return LUMEN_OK;
}

void lumen_curl_instrument_free(lumen_curl_instrument *ins)
{
    if (ins == NULL)
        return;
    if (ins->duration != NULL)
        lumen_registry_unregister(ins->reg, "http_client_request_duration_seconds");
    lumen__free(ins, sizeof *ins);
}

uint64_t lumen_curl_instrument_overflows(const lumen_curl_instrument *ins)
{
    return ins != NULL && ins->duration != NULL ? lumen_family_overflows(ins->duration) : 0;
}

/* ---- the carrier ---------------------------------------------------------- */

/* Whether the program's list has a header named `name`. */
static bool has_header(const struct curl_slist *l, const char *name)
{
    size_t n = strlen(name);
    for (; l != NULL; l = l->next)
        if (l->data != NULL && strncasecmp(l->data, name, n) == 0 &&
            (l->data[n] == ':' || l->data[n] == ';'))
            return true;
    return false;
}

static void carrier_set(void *carrier, const char *name, const char *value)
{
    lumen_curl_request *r = carrier;
    if (has_header(r->theirs, name))
        return; /* the program's own value wins */
    /* A baggage header can be long (W3C: up to 8192 bytes): a line past
     * the stack buffer is built on the heap. */
    char small[1024], *line = small;
    size_t nl = strlen(name), vl = strlen(value), n = nl + 2 + vl + 1;
    if (n > sizeof small && (line = lumen__malloc(n)) == NULL) {
        r->oom = 1;
        return;
    }
    memcpy(line, name, nl);
    memcpy(line + nl, ": ", 2);
    memcpy(line + nl + 2, value, vl + 1);
    struct curl_slist *l = curl_slist_append(r->mine, line);
    if (line != small)
        lumen__free(line, n);
    if (l == NULL)
        r->oom = 1;
    else
        r->mine = l;
}

static void carrier_get(void *carrier, const char *name, lumen_carrier_emit_fn emit, void *ctx)
{
    (void)carrier, (void)name, (void)emit, (void)ctx; /* inject only */
}

/* ---- begin and end --------------------------------------------------------- */

int lumen_curl_begin(lumen_curl_request **out, lumen_curl_instrument *ins, CURL *easy,
                     const char *method, const lumen_curl_request_options *opts)
{
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    if (ins == NULL || easy == NULL)
        return LUMEN_EINVAL;
    lumen_curl_request_options o = LUMEN_CURL_REQUEST_OPTIONS_INIT;
    if (opts != NULL) {
        if (opts->version == 0 || opts->version > LUMEN_CURL_REQUEST_OPTIONS_VERSION)
            return LUMEN_EVERSION;
        o = *opts;
    }
    lumen_curl_request *r = lumen__calloc(1, sizeof *r);
    if (r == NULL)
        return LUMEN_ENOMEM;
    r->ins = ins;
    r->easy = easy;
    r->theirs = o.headers;
    r->method = method_index(method);
    r->start_mono = lumen__mono_ns();

    lumen_span_options so = LUMEN_SPAN_OPTIONS_INIT;
    so.kind = LUMEN_SPAN_CLIENT;
    r->span = lumen_span_start(ins->tracer, r->method == OTHER ? "HTTP" : methods[r->method], &so);
    if (lumen_span_is_recording(r->span)) {
        lumen_span_set_str(r->span, "http.request.method", methods[r->method]);
        if (r->method == OTHER && method != NULL)
            lumen_span_set_str(r->span, "http.request.method_original", method);
    }
    lumen_span_context *sc = NULL;
    if (lumen_span_context_new(&sc) != LUMEN_OK) {
        r->oom = 1;
    } else {
        lumen_span_get_context(sc, r->span);
        lumen_carrier c = LUMEN_CARRIER_INIT;
        c.get = carrier_get;
        c.set = carrier_set;
        c.carrier = r;
        lumen_propagation_inject(&c, ins->propagators, sc, o.baggage);
        lumen_span_context_free(sc);
    }
    if (r->oom) { /* leave the handle as it was */
        curl_slist_free_all(r->mine);
        lumen_span_end(r->span);
        lumen__free(r, sizeof *r);
        return LUMEN_ENOMEM;
    }
    struct curl_slist *tail = r->mine;
    while (tail != NULL && tail->next != NULL)
        tail = tail->next;
    if (tail != NULL)
        tail->next = r->theirs; /* unlinked at end */
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->mine != NULL ? r->mine : r->theirs);
    r->magic = REQ_MAGIC;
    *out = r;
    return LUMEN_OK;
}

lumen_span *lumen_curl_request_span(const lumen_curl_request *req)
{
    return req != NULL && req->magic == REQ_MAGIC ? req->span : NULL;
}

/* url.full without user name and password, server.address (an IPv6
 * address without its brackets) and server.port (the scheme's default
 * when the URL has none), from the handle's effective URL. Each out
 * pointer is set to a string of curl's (curl_free) or NULL. */
static void url_parts(CURL *easy, char **full, char **host, char **port)
{
    *full = *host = *port = NULL;
    char *eff = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK || eff == NULL ||
        eff[0] == '\0')
        return;
    CURLU *u = curl_url();
    if (u == NULL)
        return;
    if (curl_url_set(u, CURLUPART_URL, eff, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_get(u, CURLUPART_URL, full, 0);
        curl_url_get(u, CURLUPART_HOST, host, 0);
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT);
    }
    curl_url_cleanup(u);
}

void lumen_curl_end(lumen_curl_request *req, CURLcode result)
{
    if (req == NULL || req->magic != REQ_MAGIC)
        return;
    lumen_curl_request *r = req;
    int64_t ns = lumen__mono_ns() - r->start_mono;
    if (ns < 0)
        ns = 0;
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    char status[8] = "";
    bool known = code >= 100 && code <= 599;
    if (known)
        snprintf(status, sizeof status, "%ld", code);
    /* error.type: the status code of a 4xx or 5xx, else the curl error. */
    const char *err = known && code >= 400 ? status : lumen_curl_error_name(result);

    char *full, *host, *port;
    url_parts(r->easy, &full, &host, &port);
    const char *addr = host;
    char addr_buf[256];
    if (host != NULL && host[0] == '[') { /* [::1] -> ::1 */
        size_t n = strlen(host);
        if (n >= 2 && n - 2 < sizeof addr_buf) {
            memcpy(addr_buf, host + 1, n - 2);
            addr_buf[n - 2] = '\0';
            addr = addr_buf;
        }
    }

    lumen_span *s = r->span;
    if (r->ins->duration != NULL) {
        const char *values[5] = {methods[r->method], addr != NULL ? addr : "",
                                 port != NULL ? port : "", status, err != NULL ? err : ""};
        lumen_histogram *h;
        if (lumen_family_histogram(&h, r->ins->duration, values, 5) == LUMEN_OK) {
            lumen_span_enter(s); /* the exemplar carries the request's trace */
            lumen_histogram_observe(h, (double)ns / 1e9);
            lumen_span_leave(s);
        }
    }
    if (lumen_span_is_recording(s)) {
        if (full != NULL)
            lumen_span_set_str(s, "url.full", full);
        if (addr != NULL)
            lumen_span_set_str(s, "server.address", addr);
        if (port != NULL) {
            long p = strtol(port, NULL, 10);
            if (p > 0 && p <= 65535)
                lumen_span_set_int(s, "server.port", p);
        }
        if (known)
            lumen_span_set_int(s, "http.response.status_code", code);
        if (err != NULL) {
            lumen_span_set_str(s, "error.type", err);
            lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR,
                                  result != CURLE_OK ? curl_easy_strerror(result) : err);
        }
    }
    lumen_span_end(s);
    curl_free(full);
    curl_free(host);
    curl_free(port);

    /* Give the handle back its own list, and free the adapter's nodes. */
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->theirs);
    struct curl_slist *tail = r->mine;
    while (tail != NULL && tail->next != r->theirs)
        tail = tail->next;
    if (tail != NULL)
        tail->next = NULL;
    curl_slist_free_all(r->mine);
    r->magic = 0;
    lumen__free(r, sizeof *r);
}
