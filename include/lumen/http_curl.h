/*
 * lumen/http_curl.h: the libcurl adapter of lumen's HTTP instrumentation,
 * in liblumen-http. It instruments one request of an easy handle, made
 * with the easy interface (curl_easy_perform) or the multi interface:
 *
 *     lumen_curl_instrument *ci;
 *     lumen_curl_instrument_new(&ci, NULL);      // default registry, global tracer
 *     ...
 *     curl_easy_setopt(easy, CURLOPT_URL, "http://svc:8080/items/42");
 *     lumen_curl_request *rq;
 *     lumen_curl_begin(&rq, ci, easy, "GET", NULL);  // instead of CURLOPT_HTTPHEADER
 *     CURLcode rc = curl_easy_perform(easy);     // or curl_multi_add_handle ...
 *     lumen_curl_end(rq, rc);                    // ... and this on CURLMSG_DONE
 *
 * It records what the OpenTelemetry HTTP client conventions name:
 * - a CLIENT span named after the method ("GET"; "HTTP" for another
 *   method), a child of the span current on the thread that calls begin,
 *   with http.request.method, url.full (the effective URL without its
 *   user name and password; the query is kept), server.address,
 *   server.port, http.response.status_code and error.type; its status is
 *   ERROR for a status of 400 or more and for a curl error;
 * - its context (traceparent, tracestate) and the given baggage injected
 *   into the request's headers with the instrument's propagators;
 * - the histogram `http.client.request.duration` in seconds with the
 *   conventions' default buckets, exposed to Prometheus as
 *   `http_client_request_duration_seconds` with the labels
 *   `http_request_method`, `server_address`, `server_port`,
 *   `http_response_status_code` (empty without a response) and
 *   `error_type` (empty when the request did not fail: the status code
 *   for a status of 400 or more, else the curl error's enum name, such as
 *   "CURLE_COULDNT_CONNECT", or "_OTHER" for a code this table lacks).
 *
 * Headers: libcurl cannot give back a handle's CURLOPT_HTTPHEADER list, so
 * the program hands its own list to begin (the options' `headers`)
 * instead of setting it. begin sets CURLOPT_HTTPHEADER to the adapter's
 * propagation headers followed by the program's list (linked, not copied:
 * the program's list and its order are unchanged, and it stays the
 * program's to free, after end); a header the program's list already has
 * (by name, case-insensitive) is not injected. end puts the program's list
 * back as CURLOPT_HTTPHEADER (NULL when it gave none) and frees the
 * adapter's headers, so the handle can be reused. The span is not made
 * current: a multi-interface program runs many requests on one thread.
 *
 * Unlike the server instrumentation, the adapter allocates per request:
 * begin the request and its header lines (libcurl's curl_slist), end the
 * URL's parts (libcurl's URL API), next to libcurl's own allocations for
 * the transfer.
 */
#ifndef LUMEN_HTTP_CURL_H
#define LUMEN_HTTP_CURL_H

#include <curl/curl.h>

#include "lumen/http.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The instrumentation of a program's HTTP client requests: the histogram
 * family, the tracer and the propagators. Made once, shared by every
 * request. */
typedef struct lumen_curl_instrument lumen_curl_instrument;

/** Options of lumen_curl_instrument_new (a versioned struct, docs/api.md:
 * start from LUMEN_CURL_INSTRUMENT_OPTIONS_INIT). Zero fields take the
 * defaults; the registry and tracer are borrowed for the life of the
 * instrument. */
typedef struct lumen_curl_instrument_options {
    unsigned int version;     /**< LUMEN_CURL_INSTRUMENT_OPTIONS_VERSION */
    lumen_registry *registry; /**< NULL: the default registry */
    lumen_tracer *tracer;     /**< NULL: lumen_tracer_get("lumen.http.client", NULL) */
    uint32_t propagators;     /**< LUMEN_PROPAGATE_* bits; 0: LUMEN_PROPAGATE_DEFAULT */
    /** Series limit of the histogram; 0: LUMEN_DEFAULT_SERIES_LIMIT. Label
     * sets past it go to the overflow series and are counted
     * (lumen_curl_instrument_overflows). */
    size_t series_limit;
    bool no_metrics; /**< true: no histogram (spans and headers only) */
} lumen_curl_instrument_options;

#define LUMEN_CURL_INSTRUMENT_OPTIONS_VERSION 1
#define LUMEN_CURL_INSTRUMENT_OPTIONS_INIT                                                         \
    LUMEN__VERSIONED_INIT(lumen_curl_instrument_options, LUMEN_CURL_INSTRUMENT_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_curl_instrument_options_init(lumen_curl_instrument_options *opts,
                                                 unsigned int version);

/** Create the instrumentation into *out (freed with
 * lumen_curl_instrument_free): registers
 * `http_client_request_duration_seconds` in the registry (unless
 * no_metrics). NULL opts: every default. Returns LUMEN_OK, LUMEN_EINVAL
 * (out NULL), LUMEN_EVERSION, LUMEN_EEXIST (the registry has the family
 * already: one instrument per registry) or LUMEN_ENOMEM. Thread-safe. */
LUMEN_API int lumen_curl_instrument_new(lumen_curl_instrument **out,
                                        const lumen_curl_instrument_options *opts);

/** Unregister the family and free the instrument. NULL is a no-op. Not
 * thread-safe: no request of it may be between begin and end. */
LUMEN_API void lumen_curl_instrument_free(lumen_curl_instrument *ins);

/** Label sets that went to the histogram's overflow series. 0 for NULL.
 * Thread-safe. */
LUMEN_API uint64_t lumen_curl_instrument_overflows(const lumen_curl_instrument *ins);

/** One instrumented request, from lumen_curl_begin to lumen_curl_end
 * (which frees it). */
typedef struct lumen_curl_request lumen_curl_request;

/** Options of lumen_curl_begin (a versioned struct, docs/api.md: start
 * from LUMEN_CURL_REQUEST_OPTIONS_INIT). */
typedef struct lumen_curl_request_options {
    unsigned int version; /**< LUMEN_CURL_REQUEST_OPTIONS_VERSION */
    /** The program's own request headers, or NULL: borrowed until
     * lumen_curl_end, never freed by lumen (see the file's comment). */
    struct curl_slist *headers;
    /** Baggage to send (the baggage propagator), or NULL: read during
     * begin. */
    const lumen_baggage *baggage;
} lumen_curl_request_options;

#define LUMEN_CURL_REQUEST_OPTIONS_VERSION 1
#define LUMEN_CURL_REQUEST_OPTIONS_INIT                                                            \
    LUMEN__VERSIONED_INIT(lumen_curl_request_options, LUMEN_CURL_REQUEST_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_curl_request_options_init(lumen_curl_request_options *opts,
                                              unsigned int version);

/**
 * Begin a request of `easy` into *out: starts its CLIENT span (a child of
 * the thread's current span, or a new trace), sets the handle's
 * CURLOPT_HTTPHEADER to the propagation headers and opts->headers, and
 * starts the duration. `method` is the method the handle sends (the
 * program sets CURLOPT_CUSTOMREQUEST, CURLOPT_POST... itself; NULL:
 * "GET"). Call it after CURLOPT_URL is set and before curl_easy_perform
 * or curl_multi_add_handle; every begin that returns LUMEN_OK needs its
 * lumen_curl_end. NULL opts: no headers of the program's, no baggage.
 * Returns LUMEN_OK, LUMEN_EINVAL (out, ins or easy NULL), LUMEN_EVERSION
 * (opts) or LUMEN_ENOMEM (then the handle is unchanged and *out NULL).
 * Safe on distinct objects (easy handles); any number of threads may
 * begin requests of one instrument.
 */
LUMEN_API int lumen_curl_begin(lumen_curl_request **out, lumen_curl_instrument *ins, CURL *easy,
                               const char *method, const lumen_curl_request_options *opts);

/**
 * End the request with the result of the transfer (curl_easy_perform's
 * return, or the CURLMsg's data.result on CURLMSG_DONE): reads the
 * response code and the effective URL from the handle, observes the
 * duration, ends the span, restores the program's CURLOPT_HTTPHEADER and
 * frees the request. Call it before the handle is cleaned up. NULL: no-op.
 * Safe on distinct objects (requests).
 */
LUMEN_API void lumen_curl_end(lumen_curl_request *req, CURLcode result);

/** The request's span (borrowed until lumen_curl_end), for attributes and
 * events of the program's own, or NULL. Safe on distinct objects. */
LUMEN_API lumen_span *lumen_curl_request_span(const lumen_curl_request *req);

/** The name of a curl error code as error.type gives it
 * ("CURLE_COULDNT_CONNECT"); NULL for CURLE_OK, "_OTHER" for a code the
 * adapter does not know. A static string. Thread-safe. */
LUMEN_API const char *lumen_curl_error_name(CURLcode code);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_HTTP_CURL_H */
