/*
 * tests/http/http_test.h: what the HTTP tests share: an HTTP client
 * (libcurl) that returns status, headers and body; raw socket exchanges
 * for malformed requests; free ports; starting and stopping a real peer
 * program (prometheus, prometheus-pushgateway) with a deadline.
 */
#ifndef LUMEN_TESTS_HTTP_TEST_H
#define LUMEN_TESTS_HTTP_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "support/support.h"

typedef struct th_resp {
    long status;   /* 0: no answer */
    int curl_code; /* CURLcode */
    char *headers; /* raw header block (malloc'd) */
    char *body;    /* malloc'd, NUL-terminated */
    size_t body_len;
} th_resp;

/*
 * One request with libcurl. `headers` is a NULL-terminated list of
 * "Name: value" lines (may be NULL); `userpwd` "user:pass" or NULL;
 * `body` NULL for none. Returns the status (0 on transport error).
 */
long th_http(const char *method, const char *url, const char *const *headers, const char *userpwd,
             const char *body, long timeout_ms, th_resp *out);
void th_resp_free(th_resp *r);
/* A header's value in a raw header block (case-insensitive name), copied
 * into out; false when absent. */
int th_header(const char *block, const char *name, char *out, size_t cap);

/* gunzip in[0..n) into a malloc'd NUL-terminated string; NULL on error. */
char *th_gunzip(const char *in, size_t n, size_t *out_len);

/*
 * Send raw bytes to 127.0.0.1:port from source address `src` (NULL: any)
 * and read the answer until the peer closes or timeout_ms passes. Returns
 * the status code of the first response line, 0 when the connection was
 * closed without an answer, -1 on a socket error or timeout.
 */
int th_raw(uint16_t port, const char *src, const char *data, size_t len, int timeout_ms,
           char **answer);

/* A connected TCP socket to 127.0.0.1:port from `src` (NULL: any), or -1. */
int th_connect(uint16_t port, const char *src);

/* A port that was free a moment ago on 127.0.0.1. */
uint16_t th_free_port(void);

/* Start argv[0] with argv, stdout+stderr to `log`; returns the pid or -1.
 * The child dies with the test process (PR_SET_PDEATHSIG). */
pid_t th_spawn(char *const argv[], const char *log);
/* SIGTERM, wait up to 5 s, then SIGKILL. */
void th_stop(pid_t pid);

/* Poll `url` until it answers 200 or timeout_ms passes; returns 1 on 200. */
int th_wait_ready(const char *url, long timeout_ms);

/* Monotonic milliseconds. */
int64_t th_now_ms(void);

#endif
