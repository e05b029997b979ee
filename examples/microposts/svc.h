/*
 * examples/microposts/svc.h: the small HTTP service framework both demo
 * services share: a libmicrohttpd server with a route table, request
 * bodies gathered into memory, JSON responses, and lumen's libmicrohttpd
 * adapter in front of it, so that every route gets the same metrics, logs
 * and spans without repeating itself.
 */
#ifndef MICROPOSTS_SVC_H
#define MICROPOSTS_SVC_H

#include <stddef.h>
#include <stdint.h>

typedef struct svc_req svc_req;

typedef struct svc_resp {
    int status;
    char *body; /* malloc'd JSON, or NULL for an empty body */
} svc_resp;

/* A handler: fills resp. `params` holds the path parameters matched by
 * the route (":id" segments), in order. */
typedef void (*svc_handler)(svc_req *req, const char *const *params, size_t nparams, svc_resp *resp,
                            void *ud);

typedef struct svc_route {
    const char *method;
    const char *pattern; /* "/users/:id/posts" */
    const char *name;    /* route label for metrics, e.g. "/users/:id/posts" */
    svc_handler fn;
} svc_route;

typedef struct svc svc;

/* Start serving `routes` on 127.0.0.1:port (0 picks a free port). */
svc *svc_start(const char *service_name, int port, const svc_route *routes, size_t nroutes,
               void *ud);
int svc_port(const svc *s);
void svc_stop(svc *s);
/* Start the metrics endpoint, announce the service (a log line, and
 * "api=PORT admin=PORT" in ready_file if not NULL), serve until SIGINT or
 * SIGTERM, then stop it and shut the instrumentation down. */
void svc_serve(svc *s, const char *ready_file);

/* Request accessors, valid during the handler. */
const char *svc_req_body(const svc_req *r, size_t *len);
const char *svc_req_header(const svc_req *r, const char *name);
const char *svc_req_query(const svc_req *r, const char *name);
/* The request id: the caller's X-Request-Id, or a new one. */
const char *svc_req_id(const svc_req *r);

/* Response helpers. */
void svc_json(svc_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void svc_error(svc_resp *resp, int status, const char *message);

/* JSON helpers. json_get_string copies the string field `key` of a flat
 * JSON object into out (unescaped); json_get_int reads an integer field.
 * json_escape returns a malloc'd quoted JSON string. */
int json_get_string(const char *json, size_t len, const char *key, char *out, size_t cap);
int json_get_int(const char *json, size_t len, const char *key, long long *out);
char *json_escape(const char *s);

#endif
