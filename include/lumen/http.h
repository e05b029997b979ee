/*
 * lumen/http.h: liblumen-http's metrics side: the built-in /metrics
 * endpoint (libmicrohttpd) and the Pushgateway client (libcurl).
 *
 * One call serves the default registry to Prometheus:
 *
 *     lumen_http_server *srv;
 *     lumen_http_server_options o = LUMEN_HTTP_SERVER_OPTIONS_INIT;
 *     lumen_http_server_options_from_env(&o);  // optional: LUMEN_METRICS_*
 *     if (lumen_http_server_start(&srv, &o) == LUMEN_OK) ...
 *     lumen_http_server_stop(srv);
 *
 * and one call pushes it to a Pushgateway:
 *
 *     lumen_push_options p = LUMEN_PUSH_OPTIONS_INIT;
 *     p.url = "http://127.0.0.1:9091"; p.job = "nightly_backup";
 *     int rc = lumen_push(NULL, &p);
 *
 * liblumen-http's limits and defaults are here, as liblumen's are in
 * lumen/limits.h.
 *
 * Link with liblumen-http (pkg-config lumen-http, CMake lumen::http).
 */
#ifndef LUMEN_HTTP_H
#define LUMEN_HTTP_H

#include "lumen/common.h"
#include "lumen/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the /metrics server ------------------------------------------------- */

typedef struct lumen_http_server lumen_http_server;

/** The address the server binds when none is given: loopback only, so that
 * exposing metrics beyond the machine is an explicit choice. */
#define LUMEN_HTTP_DEFAULT_ADDR "127.0.0.1:9464"

/* The defaults of the limits (each used when its field is 0). */
#define LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS 128 /**< open connections in total */
#define LUMEN_HTTP_DEFAULT_MAX_PER_CLIENT 16   /**< open connections from one IP address */
/* At either limit a new connection closes the oldest one (of all, or of its
 * address) that has not sent a complete request. */
#define LUMEN_HTTP_DEFAULT_CONNECTION_TIMEOUT_MS 10000 /**< how long a connection may stay idle */
#define LUMEN_HTTP_DEFAULT_MAX_HEADER_BYTES 16384      /**< bytes of request line and headers */
#define LUMEN_HTTP_DEFAULT_MAX_SCRAPES 2               /**< /metrics renders at once; 503 beyond */
#define LUMEN_HTTP_DEFAULT_SCRAPE_TIMEOUT_MS 10000     /**< a render taking longer answers 503 */
#define LUMEN_HTTP_DEFAULT_THREADS 4                   /**< server threads */
#define LUMEN_HTTP_DEFAULT_HEADER_TIMEOUT_MS 10000     /**< time to send the request's headers */

/** Peer consoles one console merges (lumen_console_set_peers). */
#define LUMEN_CONSOLE_MAX_PEERS 8
/** A push's budget when its options give none. */
#define LUMEN_PUSH_DEFAULT_TIMEOUT_MS 10000
/** Bytes of lumen_push_result.message, with its NUL. */
#define LUMEN_PUSH_MESSAGE_MAX 512
/* The OTLP/HTTP exporter's defaults (lumen/http_otlp.h), each used when its
 * field and its OTEL_* variable are unset. */
#define LUMEN_OTLP_HTTP_DEFAULT_TIMEOUT_MS 10000         /**< one export, retries included */
#define LUMEN_OTLP_HTTP_DEFAULT_MAX_ATTEMPTS 5           /**< attempts of one export */
#define LUMEN_OTLP_HTTP_DEFAULT_INITIAL_BACKOFF_MS 1000  /**< the first retry's wait */
#define LUMEN_OTLP_HTTP_DEFAULT_MAX_BACKOFF_MS 30000     /**< the longest retry wait */
#define LUMEN_OTLP_HTTP_DEFAULT_MAX_RESPONSE_BYTES 65536 /**< bytes of a response read */

/** Flags for lumen_http_server_options.flags. */
enum {
    /** Do not expose the server's own lumen_http_* metrics. */
    LUMEN_HTTP_NO_SELF_METRICS = 1u << 0,
    /** Never compress responses, whatever Accept-Encoding says. */
    LUMEN_HTTP_NO_GZIP = 1u << 1,
    /** Require credentials for /healthz too (by default it is open so that
     * liveness probes need none). */
    LUMEN_HTTP_AUTH_HEALTHZ = 1u << 2,
    /** Also serve the live console: pages at /, /traces and /logs (assets
     * under /console/, data under /api/) that chart the registries' recent
     * values and show recent traces and logs (see lumen/http_console.h for
     * feeding them). Read-only, GET and HEAD only; behind the same basic
     * auth as /metrics; a strict Content-Security-Policy. Costs one render
     * of the registries every two seconds. */
    LUMEN_HTTP_CONSOLE = 1u << 3
};

/**
 * Options of the /metrics server (a versioned struct, docs/api.md). Start
 * from LUMEN_HTTP_SERVER_OPTIONS_INIT (every field zero: its default).
 * Strings are read during lumen_http_server_start and not kept.
 */
typedef struct lumen_http_server_options {
    unsigned int version; /**< LUMEN_HTTP_SERVER_OPTIONS_VERSION */
    /** "host:port", "[v6addr]:port" or ":port" (every interface, IPv6 and
     * IPv4). Port 0 picks a free port (see lumen_http_server_port). NULL:
     * LUMEN_HTTP_DEFAULT_ADDR. Host names are resolved once, at start. */
    const char *addr;
    /** The registries to expose, in order (a family name found in two is
     * served from the first). NULL: the default registry. Not copied
     * deeply: the registries must outlive the server. */
    lumen_registry *const *registries;
    size_t registry_count;
    uint32_t flags;                      /**< LUMEN_HTTP_* flags */
    uint32_t max_connections;            /**< 0: LUMEN_HTTP_DEFAULT_MAX_CONNECTIONS */
    uint32_t max_connections_per_client; /**< 0: LUMEN_HTTP_DEFAULT_MAX_PER_CLIENT */
    /** How long a connection may stay idle, rounded up to whole seconds; 0:
     * LUMEN_HTTP_DEFAULT_CONNECTION_TIMEOUT_MS. */
    uint32_t connection_timeout_ms;
    size_t max_header_bytes;         /**< 0: LUMEN_HTTP_DEFAULT_MAX_HEADER_BYTES; at least 1024 */
    uint32_t max_concurrent_scrapes; /**< 0: LUMEN_HTTP_DEFAULT_MAX_SCRAPES */
    uint32_t scrape_timeout_ms;      /**< 0: LUMEN_HTTP_DEFAULT_SCRAPE_TIMEOUT_MS */
    uint32_t threads;                /**< 0: LUMEN_HTTP_DEFAULT_THREADS */
    /** Basic auth users, htpasswd style: "user:bcrypt-hash" entries separated
     * by newlines or commas ("$2a$", "$2b$" or "$2y$" hashes, as
     * `htpasswd -nbB` prints them). NULL: no authentication unless
     * basic_auth_file is set. */
    const char *basic_auth_users;
    /** A file of "user:bcrypt-hash" lines (read once, at start). */
    const char *basic_auth_file;
    /** TLS: the server certificate chain and its private key, as PEM text
     * (tls_cert_pem/tls_key_pem) or as files. Both or neither. TLS 1.2 and
     * 1.3 only. */
    const char *tls_cert_file;
    const char *tls_key_file;
    const char *tls_cert_pem;
    const char *tls_key_pem;
    /** Milliseconds a connection may take, from its opening, to send its
     * request's line and headers, however many bytes it sends meanwhile;
     * then it is closed. 0: LUMEN_HTTP_DEFAULT_HEADER_TIMEOUT_MS. */
    uint32_t header_timeout_ms;
} lumen_http_server_options;

#define LUMEN_HTTP_SERVER_OPTIONS_VERSION 1
#define LUMEN_HTTP_SERVER_OPTIONS_INIT                                                             \
    LUMEN__VERSIONED_INIT(lumen_http_server_options, LUMEN_HTTP_SERVER_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_http_server_options_init(lumen_http_server_options *opts, unsigned int version);

/**
 * Override `opts` from the environment, for twelve-factor programs. Each
 * variable that is set and non-empty replaces its field:
 *   LUMEN_METRICS_ADDR, LUMEN_METRICS_MAX_CONNECTIONS,
 *   LUMEN_METRICS_MAX_CONNECTIONS_PER_CLIENT, LUMEN_METRICS_CONNECTION_TIMEOUT
 *   (seconds), LUMEN_METRICS_MAX_HEADER_BYTES, LUMEN_METRICS_MAX_SCRAPES,
 *   LUMEN_METRICS_SCRAPE_TIMEOUT (seconds, may be fractional),
 *   LUMEN_METRICS_THREADS, LUMEN_METRICS_HEADER_TIMEOUT (seconds, may be
 *   fractional), LUMEN_METRICS_BASIC_AUTH_FILE,
 *   LUMEN_METRICS_TLS_CERT_FILE, LUMEN_METRICS_TLS_KEY_FILE,
 *   LUMEN_METRICS_GZIP (false disables compression).
 * String fields then point into the environment: start the server before
 * changing it. Returns LUMEN_OK, LUMEN_EINVAL (opts NULL), LUMEN_EVERSION
 * or LUMEN_ECONFIG when a value is invalid (that field is left unchanged,
 * the others are applied, and the problem is reported once with its
 * value: on standard error, or to the hook of lumen_set_diag_hook).
 * Not thread-safe: no thread may call setenv() meanwhile.
 */
LUMEN_API int lumen_http_server_options_from_env(lumen_http_server_options *opts);

/**
 * Start serving `GET`/`HEAD /metrics` (content negotiation between
 * OpenMetrics and text 0.0.4, gzip when the client accepts it) and
 * `/healthz` on the server's own threads. `opts` NULL: every default.
 * *out is the caller's; stop it with lumen_http_server_stop.
 * Errors: LUMEN_EINVAL (out NULL, inconsistent options), LUMEN_EVERSION, LUMEN_ECONFIG (a
 * bad address, users list, hash or TLS file), LUMEN_ENOTSUP (TLS or bcrypt
 * not available in this build), LUMEN_ESYS (the address could not be
 * bound: in use, no permission), LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_http_server_start(lumen_http_server **out,
                                      const lumen_http_server_options *opts);

/** The port the server listens on (the chosen one when 0 was asked for).
 * Thread-safe. */
LUMEN_API uint16_t lumen_http_server_port(const lumen_http_server *srv);

/**
 * Stop the server: close the listening socket and every connection, wait
 * for renders in progress and the server's threads, free everything.
 * NULL is a no-op. Safe on distinct objects; must not be called from a
 * collector that the server itself is running.
 */
LUMEN_API void lumen_http_server_stop(lumen_http_server *srv);

/* ---- the Pushgateway client ------------------------------------------------ */

/** Options of a push (a versioned struct, docs/api.md). Start from
 * LUMEN_PUSH_OPTIONS_INIT. Strings are borrowed for the duration of the
 * call. */
typedef struct lumen_push_options {
    unsigned int version; /**< LUMEN_PUSH_OPTIONS_VERSION */
    /** The gateway's base URL ("http://host:9091", a path prefix allowed).
     * NULL: the environment variable LUMEN_PUSHGATEWAY_URL. */
    const char *url;
    /** The job name (required, any UTF-8; sent in @base64 form when needed). */
    const char *job;
    /** The grouping key besides job: label names must be valid label names,
     * values any UTF-8 (an empty value or one with '/' is sent base64). */
    const lumen_label *grouping;
    size_t grouping_count;
    /** The registries to push (as for the server). NULL: the default. */
    lumen_registry *const *registries;
    size_t registry_count;
    uint32_t timeout_ms;  /**< whole request; 0: LUMEN_PUSH_DEFAULT_TIMEOUT_MS */
    const char *username; /**< basic auth; NULL: none */
    const char *password;
} lumen_push_options;

#define LUMEN_PUSH_OPTIONS_VERSION 1
#define LUMEN_PUSH_OPTIONS_INIT                                                                    \
    LUMEN__VERSIONED_INIT(lumen_push_options, LUMEN_PUSH_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_push_options_init(lumen_push_options *opts, unsigned int version);

/** What the gateway answered, for the caller who wants more than a code (a
 * versioned struct that lumen fills, docs/api.md: start from
 * LUMEN_PUSH_RESULT_INIT). */
typedef struct lumen_push_result {
    unsigned int version; /**< LUMEN_PUSH_RESULT_VERSION */
    int32_t http_status;  /**< the HTTP status, 0 when there was no answer */
    /** The start of the gateway's answer body (NUL-terminated, truncated)
     * for a non-2xx status, else the transport error's text. */
    char message[LUMEN_PUSH_MESSAGE_MAX];
} lumen_push_result;

#define LUMEN_PUSH_RESULT_VERSION 1
#define LUMEN_PUSH_RESULT_INIT LUMEN__VERSIONED_INIT(lumen_push_result, LUMEN_PUSH_RESULT_VERSION)

/** Zero *result and set its version. Returns LUMEN_OK, LUMEN_EINVAL (result
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_push_result_init(lumen_push_result *result, unsigned int version);

/**
 * Replace the whole group (job + grouping key) with the metrics of the
 * registries (HTTP PUT). `out` may be NULL; when given, it is filled (the
 * fields of its version) whatever the outcome.
 * Errors: LUMEN_EINVAL (missing url or job, bad label name),
 * LUMEN_EVERSION (opts or out), LUMEN_ECONNREFUSED (nothing listens
 * there), LUMEN_ECONNECT (the host could not be resolved or reached),
 * LUMEN_ETIMEDOUT (timeout_ms passed), LUMEN_EHTTP (a non-2xx answer: see
 * out), LUMEN_ETLS, LUMEN_EIO, LUMEN_ENOMEM. Thread-safe.
 */
LUMEN_API int lumen_push(lumen_push_result *out, const lumen_push_options *opts);

/** As lumen_push, but replace only the metrics with the same names in the
 * group (HTTP POST). Thread-safe. */
LUMEN_API int lumen_push_add(lumen_push_result *out, const lumen_push_options *opts);

/** Delete the whole group from the gateway (HTTP DELETE); the registries
 * are not used. Errors as lumen_push. Thread-safe. */
LUMEN_API int lumen_push_delete(lumen_push_result *out, const lumen_push_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_HTTP_H */
