/*
 * lumen/instrument.h: HTTP server instrumentation, framework-neutral. A
 * server calls lumen_server_request_begin when a request starts and
 * lumen_server_request_end when its response is done; lumen records what
 * the OpenTelemetry HTTP semantic conventions name:
 * - the histogram `http.server.request.duration` in seconds, with the
 *   conventions' default buckets, exposed to Prometheus as
 *   `http_server_request_duration_seconds` with the labels
 *   `http_request_method`, `http_route`, `http_response_status_code` and
 *   `error_type` (empty when the request did not fail);
 * - the up-down gauge `http.server.active_requests` by method
 *   (`http_server_active_requests{http_request_method}`);
 * - a SERVER span named "METHOD route" (or "METHOD" without a route), its
 *   parent extracted from the request's headers, with the attributes
 *   http.request.method, url.path, url.scheme, http.route,
 *   http.response.status_code, server.address, server.port,
 *   user_agent.original, client.address and error.type; its status is
 *   ERROR for a 5xx or an error, unset otherwise (a 4xx is the client's);
 * - one access log line per request (method, route, path, status,
 *   duration in microseconds, bytes when known), INFO below 400, WARN for 4xx, ERROR for
 *   5xx and errors.
 * Between begin and end the request is current on the calling thread
 * (its span and its request id), so every line the thread logs carries
 * its trace, span and request ids.
 *
 *     lumen_server_instrument *ins;
 *     lumen_server_instrument_new(&ins, NULL);      // default registry, global tracer
 *     ...
 *     lumen_server_request rq;                      // on the stack: no allocation
 *     lumen_server_request_options ro = LUMEN_SERVER_REQUEST_OPTIONS_INIT;
 *     ro.method = "GET";
 *     ro.path = "/items/42";
 *     ro.headers = &carrier;                        // traceparent, X-Request-Id
 *     lumen_server_request_begin(&rq, ins, &ro);
 *     lumen_server_request_set_route(&rq, "/items/{id}");
 *     ...
 *     lumen_server_request_end(&rq, 200, NULL);
 */
#ifndef LUMEN_INSTRUMENT_H
#define LUMEN_INSTRUMENT_H

#include "lumen/log.h"
#include "lumen/metrics.h"
#include "lumen/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The instrumentation of one HTTP server: its metric families, tracer and
 * access logger. Made once, shared by every request. */
typedef struct lumen_server_instrument lumen_server_instrument;

/** Flags for lumen_server_instrument_options.flags: the signals to leave
 * out (all are on by default). */
enum {
    LUMEN_SERVER_INSTRUMENT_NO_METRICS = 1u << 0, /**< neither histogram nor gauge */
    LUMEN_SERVER_INSTRUMENT_NO_SPANS = 1u << 1,   /**< no span (the request id is still current) */
    LUMEN_SERVER_INSTRUMENT_NO_ACCESS_LOG = 1u << 2
};

/**
 * Options of lumen_server_instrument_new (a versioned struct, docs/api.md:
 * start from LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT). Zero fields take the
 * defaults. Strings are copied; the registry, tracer and logger are
 * borrowed for the life of the instrument.
 */
typedef struct lumen_server_instrument_options {
    unsigned int version;     /**< LUMEN_SERVER_INSTRUMENT_OPTIONS_VERSION */
    lumen_registry *registry; /**< NULL: the default registry */
    lumen_tracer *tracer;     /**< NULL: lumen_tracer_get("lumen.http.server", NULL) */
    lumen_logger *logger;     /**< NULL: lumen_logger_get("http.access") */
    uint32_t flags;           /**< LUMEN_SERVER_INSTRUMENT_* */
    uint32_t propagators;     /**< LUMEN_PROPAGATE_* bits; 0: LUMEN_PROPAGATE_DEFAULT */
    /** Series limit of each family; 0: LUMEN_DEFAULT_SERIES_LIMIT. Label
     * sets past it go to the family's overflow series and are counted
     * (lumen_family_overflows, lumen_server_instrument_overflows). */
    size_t series_limit;
    const char *scheme;         /**< url.scheme; NULL: "http" */
    const char *server_address; /**< server.address when the request has none; may be NULL */
    uint16_t server_port;       /**< server.port; 0: not recorded */
} lumen_server_instrument_options;

#define LUMEN_SERVER_INSTRUMENT_OPTIONS_VERSION 1
#define LUMEN_SERVER_INSTRUMENT_OPTIONS_INIT                                                       \
    LUMEN__VERSIONED_INIT(lumen_server_instrument_options, LUMEN_SERVER_INSTRUMENT_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_server_instrument_options_init(lumen_server_instrument_options *opts,
                                                   unsigned int version);

/**
 * Create the instrumentation into *out (freed with
 * lumen_server_instrument_free): registers `http_server_request_duration_seconds`
 * and `http_server_active_requests` in the registry (unless NO_METRICS).
 * NULL opts: every default. Returns LUMEN_OK, LUMEN_EINVAL (out NULL),
 * LUMEN_EVERSION, LUMEN_EEXIST (the registry already has one of the
 * families: one instrument per registry) or LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_server_instrument_new(lumen_server_instrument **out,
                                          const lumen_server_instrument_options *opts);

/** Unregister the families and free the instrument. NULL is a no-op. Not
 * thread-safe: no request of it may be between begin and end. */
LUMEN_API void lumen_server_instrument_free(lumen_server_instrument *ins);

/** Label sets that went to the overflow series of the duration histogram
 * (the series limit was reached). 0 for NULL. Thread-safe. */
LUMEN_API uint64_t lumen_server_instrument_overflows(const lumen_server_instrument *ins);

/**
 * One request in flight: opaque storage that the caller owns, on its stack
 * or in its per-connection state (a frozen value type, docs/api.md). It
 * needs no allocation and no free; it is valid from
 * lumen_server_request_begin to lumen_server_request_end.
 */
typedef struct lumen_server_request {
    uint64_t opaque_[64];
} lumen_server_request;

/**
 * Options of lumen_server_request_begin (a versioned struct, docs/api.md:
 * start from LUMEN_SERVER_REQUEST_OPTIONS_INIT). Every string is borrowed
 * for the call, except `route`, which is borrowed until the request ends
 * (a route template is usually a literal).
 */
typedef struct lumen_server_request_options {
    unsigned int version; /**< LUMEN_SERVER_REQUEST_OPTIONS_VERSION */
    const char *method;   /**< the request method; NULL: "_OTHER" */
    const char *path;     /**< url.path, without the query; may be NULL */
    const char *route;    /**< the route template ("/items/{id}") or NULL (not known yet) */
    /** The request's headers: the trace parent (the instrument's
     * propagators) and X-Request-Id are read from them. NULL: none. */
    const lumen_carrier *headers;
    /** The request id when the headers have no valid X-Request-Id; NULL: a
     * new random one (16 hex digits). */
    const char *request_id;
    const char *client_address;   /**< client.address; may be NULL */
    const char *user_agent;       /**< user_agent.original; may be NULL */
    const char *server_address;   /**< server.address (the Host header's name); may be NULL */
    int64_t start_ns;             /**< when the request started (lumen_now_ns clock); 0: now */
    uint16_t server_port;         /**< server.port (the Host header's port); 0: the instrument's */
    const char *protocol_version; /**< network.protocol.version ("1.1", "2"); may be NULL */
} lumen_server_request_options;

#define LUMEN_SERVER_REQUEST_OPTIONS_VERSION 1
#define LUMEN_SERVER_REQUEST_OPTIONS_INIT                                                          \
    LUMEN__VERSIONED_INIT(lumen_server_request_options, LUMEN_SERVER_REQUEST_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_server_request_options_init(lumen_server_request_options *opts,
                                                unsigned int version);

/**
 * Begin a request into *out: starts its SERVER span (under the parent the
 * headers carry), takes its request id (a valid X-Request-Id header of at
 * most LUMEN_LOG_REQUEST_ID_MAX printable ASCII characters, else
 * opts->request_id, else a random one), adds it to the active requests and
 * makes it current on the calling thread (lumen_server_request_enter).
 * Allocates nothing beyond what lumen_span_start does. Returns LUMEN_OK,
 * LUMEN_EINVAL (out, ins or opts NULL) or LUMEN_EVERSION (opts); on an
 * error *out is inert (end and the setters do nothing). Safe on distinct
 * objects (requests); any number of threads may begin requests of one instrument.
 */
LUMEN_API int lumen_server_request_begin(lumen_server_request *out, lumen_server_instrument *ins,
                                         const lumen_server_request_options *opts);

/** Set the route template once routing knows it (borrowed until the
 * request ends); renames the span. NULL req or route: no-op. Safe on
 * distinct objects (requests). */
LUMEN_API void lumen_server_request_set_route(lumen_server_request *req, const char *route);

/** Record the response body size, for the access line. Safe on distinct
 * objects (requests). */
LUMEN_API void lumen_server_request_set_response_bytes(lumen_server_request *req, uint64_t bytes);

/**
 * Make the request current on the calling thread (its span, and its
 * request id for log lines) and stop it being current. begin enters and
 * end leaves by itself; a server that moves a request between threads, or
 * interleaves requests on one thread, leaves it before switching and
 * enters it where it resumes. Enter and leave nest in LIFO order with
 * other spans; leave restores no earlier request id (the thread's is
 * cleared). Safe on distinct objects: one thread at a time per request.
 */
LUMEN_API void lumen_server_request_enter(lumen_server_request *req);
LUMEN_API void lumen_server_request_leave(lumen_server_request *req);

/** The request id (borrowed until the request ends; "" for an inert
 * request or NULL). Safe on distinct objects (requests). */
LUMEN_API const char *lumen_server_request_id(const lumen_server_request *req);

/** The request's span (borrowed until the request ends), for attributes
 * and events of the program's own, or NULL without spans. Safe on distinct
 * objects (requests). */
LUMEN_API lumen_span *lumen_server_request_span(const lumen_server_request *req);

/**
 * End the request: `status` is the response's status code (0: no response
 * was sent), `error_type` NULL, or the name of the error that ended it
 * (the error.type attribute; for a 5xx without one, the status code is the
 * error type). Observes the duration, leaves the request if it is current
 * on this thread, writes the access line (while the ids are still
 * current), ends the span and decrements the active requests. Allocates
 * nothing of its own (the label values come from tables and the request);
 * the metrics layer allocates a label set's series, and a bucket's
 * exemplar slot (the histogram keeps the trace of the request as an
 * exemplar), once, the first time. *req is
 * inert afterwards. NULL or inert req: no-op. Safe on distinct objects (requests).
 */
LUMEN_API void lumen_server_request_end(lumen_server_request *req, int status,
                                        const char *error_type);

/** The conventions' form of a method: one of CONNECT, DELETE, GET, HEAD,
 * OPTIONS, PATCH, POST, PUT, TRACE (case-sensitive, as HTTP methods are),
 * else "_OTHER". NULL: "_OTHER". The result is a static string.
 * Thread-safe. */
LUMEN_API const char *lumen_http_method_normalize(const char *method);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_INSTRUMENT_H */
