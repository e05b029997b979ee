/*
 * lumen/http_mhd.h: the libmicrohttpd adapter of the server
 * instrumentation (lumen/instrument.h), in liblumen-http. A program keeps
 * its access handler and hands MHD the adapter's four callbacks instead:
 *
 *     lumen_mhd_options mo = LUMEN_MHD_OPTIONS_INIT;
 *     mo.instrument = ins;                  // from lumen_server_instrument_new
 *     mo.handler = my_handler;              // the program's own
 *     lumen_mhd *m;
 *     lumen_mhd_new(&m, &mo);
 *     struct MHD_Daemon *d = MHD_start_daemon(flags, port, NULL, NULL,
 *         lumen_mhd_access_handler, m,
 *         MHD_OPTION_URI_LOG_CALLBACK, lumen_mhd_uri_log, m,
 *         MHD_OPTION_NOTIFY_CONNECTION, lumen_mhd_connection, m,
 *         MHD_OPTION_NOTIFY_COMPLETED, lumen_mhd_completed, m,
 *         MHD_OPTION_END);
 *
 * A request begins when MHD has read its request line (the URI log
 * callback: the duration starts there) and its headers (the first call of
 * the access handler: the method, path, HTTP version, trace parent,
 * X-Request-Id, User-Agent, Host (name and port) and the client's address
 * are read then), and ends when
 * MHD reports it complete, with the status code the handler queued
 * (MHD_CONNECTION_INFO_HTTP_STATUS) and, for a request that did not
 * complete normally, an error type: "timeout", "client_abort",
 * "daemon_shutdown", "read_error" or "error". The request is current on
 * the thread while the program's handler runs (every call of it), in every
 * MHD threading mode. Each connection has one request slot, allocated when
 * MHD accepts it and freed when it closes: requests allocate nothing of
 * the adapter's. The adapter owns MHD's socket context
 * (MHD_CONNECTION_INFO_SOCKET_CONTEXT) and the requests' first `*req_cls`:
 * the program's handler gets its own `*req_cls`, NULL at the first call of
 * each request, and its completed callback (the options) gets it back.
 * A request MHD answers by itself (headers too large, a malformed
 * header) before the handler runs is not recorded but counted
 * (lumen_mhd_unrecorded), as are the requests of a connection whose slot
 * could not be allocated (reported once through the diagnostics hook).
 */
#ifndef LUMEN_HTTP_MHD_H
#define LUMEN_HTTP_MHD_H

#include <microhttpd.h>

#include "lumen/http.h"
#include "lumen/instrument.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The adapter of one or more MHD daemons to one instrument. */
typedef struct lumen_mhd lumen_mhd;

/** Options of lumen_mhd_new (a versioned struct, docs/api.md: start from
 * LUMEN_MHD_OPTIONS_INIT). The instrument is borrowed for the life of the
 * adapter. */
typedef struct lumen_mhd_options {
    unsigned int version;                /**< LUMEN_MHD_OPTIONS_VERSION */
    lumen_server_instrument *instrument; /**< required */
    MHD_AccessHandlerCallback handler;   /**< required: the program's access handler */
    void *handler_cls;                   /**< its first argument */
    /** Optional: called after the adapter when a request the handler saw
     * completes, with the handler's `*req_cls`. */
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
} lumen_mhd_options;

#define LUMEN_MHD_OPTIONS_VERSION 1
#define LUMEN_MHD_OPTIONS_INIT LUMEN__VERSIONED_INIT(lumen_mhd_options, LUMEN_MHD_OPTIONS_VERSION)

/** Zero *opts and set its version. Returns LUMEN_OK, LUMEN_EINVAL (opts
 * NULL) or LUMEN_EVERSION. Thread-safe. */
LUMEN_API int lumen_mhd_options_init(lumen_mhd_options *opts, unsigned int version);

/** Create an adapter into *out (freed with lumen_mhd_free). Returns
 * LUMEN_OK, LUMEN_EINVAL (out, opts, the instrument or the handler NULL),
 * LUMEN_EVERSION or LUMEN_ENOMEM. Thread-safe. */
LUMEN_API int lumen_mhd_new(lumen_mhd **out, const lumen_mhd_options *opts);

/** Free the adapter. NULL is a no-op. Not thread-safe: call it after
 * MHD_stop_daemon of every daemon that uses it. */
LUMEN_API void lumen_mhd_free(lumen_mhd *m);

/**
 * The callbacks to give MHD, each with the adapter as its closure: the
 * access handler (MHD_start_daemon's `dh`, `dh_cls`), the URI log callback
 * (MHD_OPTION_URI_LOG_CALLBACK), the connection notification
 * (MHD_OPTION_NOTIFY_CONNECTION) and the completion notification
 * (MHD_OPTION_NOTIFY_COMPLETED). All four are needed; without the URI log
 * or the connection callback requests pass through unrecorded. MHD calls
 * them on its threads. Thread-safe (MHD never calls two of them at once
 * for one connection).
 */
LUMEN_API enum MHD_Result lumen_mhd_access_handler(void *cls, struct MHD_Connection *connection,
                                                   const char *url, const char *method,
                                                   const char *version, const char *upload_data,
                                                   size_t *upload_data_size, void **req_cls);
LUMEN_API void *lumen_mhd_uri_log(void *cls, const char *uri, struct MHD_Connection *connection);
LUMEN_API void lumen_mhd_connection(void *cls, struct MHD_Connection *connection,
                                    void **socket_context, enum MHD_ConnectionNotificationCode toe);
LUMEN_API void lumen_mhd_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                                   enum MHD_RequestTerminationCode toe);

/** Requests the adapter saw start (its URI log callback ran) but did not
 * record: MHD answered them before the handler ran, or their connection
 * had no slot (out of memory, or MHD_OPTION_NOTIFY_CONNECTION not given
 * the adapter's callback). 0 for NULL. Thread-safe. */
LUMEN_API uint64_t lumen_mhd_unrecorded(const lumen_mhd *m);

/** The request in flight on `connection` (borrowed until it completes),
 * for lumen_server_request_set_route and the other setters, or NULL (no
 * request, or the adapter not installed). Safe on distinct objects (connections):
 * call it from the connection's access handler. */
LUMEN_API lumen_server_request *lumen_mhd_request(struct MHD_Connection *connection);

/** The header carrier of an MHD connection (its request headers; `set`
 * does nothing), for lumen_propagation_extract in a program's own code.
 * Fills *out. Returns LUMEN_OK or LUMEN_EINVAL (a NULL argument).
 * Safe on distinct objects (connections). */
LUMEN_API int lumen_mhd_carrier(lumen_carrier *out, struct MHD_Connection *connection);

#ifdef __cplusplus
}
#endif

#endif /* LUMEN_HTTP_MHD_H */
