/*
 * http/scrape.c: one /metrics scrape: negotiate the format, render the
 * registries into a buffer, gzip it when the client allows, and hand the
 * bytes to libmicrohttpd; plus the endpoint's own metrics.
 *
 * Invariants: at most max_scrapes renders run at once (the rest get 503 at
 * once, as client_golang's MaxRequestsInFlight does); a render that passes
 * the scrape timeout is abandoned at its next chunk and answered 503; the
 * render itself takes no lock that an update takes (lumen_registries_render
 * promises that), so scrapes never slow the instrumented threads down.
 */
#include "core/common.h"

#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/diag.h"
#include "http/encoding.h"
#include "http/reply.h"
#include "http/scrape.h"

/* ---- the endpoint's own metrics ------------------------------------------- */

static int labelled(lumen_family *fam, const char *value, lumen_counter **out)
{
    const char *v[1] = {value};
    return lumen_family_counter(out, fam, v, 1);
}

int lumen__http_self_init(lumen__http_self *s)
{
    int rc = lumen_registry_new(&s->reg);
    if (rc != LUMEN_OK)
        return rc;

    static const char *const code[] = {"code"};
    lumen_family_options o = LUMEN_FAMILY_OPTIONS_INIT;
    o.help = "Scrapes of /metrics answered, by HTTP status code.";
    o.label_names = code;
    o.label_count = 1;
    if ((rc = lumen_family_new(&s->scrapes, s->reg, LUMEN_METRIC_COUNTER, "lumen_http_scrapes",
                               &o)) != LUMEN_OK ||
        (rc = labelled(s->scrapes, "200", &s->code_200)) != LUMEN_OK ||
        (rc = labelled(s->scrapes, "401", &s->code_401)) != LUMEN_OK ||
        (rc = labelled(s->scrapes, "429", &s->code_429)) != LUMEN_OK ||
        (rc = labelled(s->scrapes, "500", &s->code_500)) != LUMEN_OK ||
        (rc = labelled(s->scrapes, "503", &s->code_503)) != LUMEN_OK)
        return rc;

    static const char *const cause[] = {"cause"};
    lumen_family_options e = LUMEN_FAMILY_OPTIONS_INIT;
    e.help = "Scrapes of /metrics that failed, by cause: render (a collector or an "
             "allocation failed), timeout (the scrape timeout passed), overload (too "
             "many scrapes at once), auth (missing or wrong credentials).";
    e.label_names = cause;
    e.label_count = 1;
    if ((rc = lumen_family_new(&s->errors, s->reg, LUMEN_METRIC_COUNTER, "lumen_http_scrape_errors",
                               &e)) != LUMEN_OK ||
        (rc = labelled(s->errors, "render", &s->err_render)) != LUMEN_OK ||
        (rc = labelled(s->errors, "timeout", &s->err_timeout)) != LUMEN_OK ||
        (rc = labelled(s->errors, "overload", &s->err_overload)) != LUMEN_OK ||
        (rc = labelled(s->errors, "auth", &s->err_auth)) != LUMEN_OK)
        return rc;

    static const char *const reason[] = {"reason"};
    lumen_family_options k = LUMEN_FAMILY_OPTIONS_INIT;
    k.help = "Connections the server closed before they sent a complete request, by "
             "reason: header_timeout (the request's headers did not arrive within the "
             "header deadline), evicted (closed to make room for a new connection), "
             "refused (a new connection closed at once: every slot of its address, or of "
             "all, held a request in progress).";
    k.label_names = reason;
    k.label_count = 1;
    if ((rc = lumen_family_new(&s->conns_closed, s->reg, LUMEN_METRIC_COUNTER,
                               "lumen_http_connections_closed", &k)) != LUMEN_OK ||
        (rc = labelled(s->conns_closed, "header_timeout", &s->closed_timeout)) != LUMEN_OK ||
        (rc = labelled(s->conns_closed, "evicted", &s->closed_evicted)) != LUMEN_OK ||
        (rc = labelled(s->conns_closed, "refused", &s->closed_refused)) != LUMEN_OK)
        return rc;
    if ((rc = lumen_gauge_new(&s->conns_open, s->reg, "lumen_http_connections_open",
                              "Connections open now (the scrape that reads it counts "
                              "its own).")) != LUMEN_OK)
        return rc;

    if ((rc = lumen_gauge_new(&s->in_flight, s->reg, "lumen_http_scrapes_in_flight",
                              "Scrapes of /metrics being rendered now.")) != LUMEN_OK)
        return rc;
    static const double b[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                               0.1,    0.25,  0.5,    1,     2.5,  10};
    return lumen_histogram_new(&s->duration, s->reg, "lumen_http_scrape_duration_seconds",
                               "Time to render and compress a /metrics answer.", b,
                               LUMEN_ARRAY_LEN(b));
}

void lumen__http_self_free(lumen__http_self *s)
{
    lumen_registry_free(s->reg);
    memset(s, 0, sizeof *s);
}

/* The counters are NULL when self metrics are off; lumen_counter_inc
 * accepts NULL, but the gauge and histogram calls are guarded here. */
static void count(lumen_counter *c)
{
    if (c != NULL)
        lumen_counter_inc(c);
}

/* ---- rendering ------------------------------------------------------------- */

#define DEADLINE_EVERY (64 * 1024) /* check the clock once per 64 KiB rendered */

typedef struct render_sink {
    lumen__buf buf;
    int64_t deadline;
    size_t next_check;
    bool timed_out;
} render_sink;

static int sink_write(const char *data, size_t len, void *ud)
{
    render_sink *s = ud;
    lumen__buf_add(&s->buf, data, len);
    if (s->buf.oom)
        return 1;
    if (s->buf.len >= s->next_check) {
        s->next_check = s->buf.len + DEADLINE_EVERY;
        if (lumen_monotonic_ns() > s->deadline) {
            s->timed_out = true;
            return 1;
        }
    }
    return 0;
}

/* A response body that libmicrohttpd frees through lumen's allocator. */
typedef struct body {
    char *p;
    size_t cap;
} body;

static void body_free(void *cls)
{
    body *b = cls;
    lumen__free(b->p, b->cap);
    lumen__free(b, sizeof *b);
}

static enum MHD_Result queue_body(struct MHD_Connection *c, lumen__buf *buf,
                                  const char *content_type, bool gzipped)
{
    body *b = lumen__malloc(sizeof *b);
    if (b == NULL)
        return MHD_NO;
    b->p = buf->p;
    b->cap = buf->cap;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback_cls(buf->len, buf->p, body_free, b);
    if (r == NULL) {
        lumen__free(b, sizeof *b);
        return MHD_NO;
    }
    *buf = (lumen__buf)LUMEN__BUF_INIT; /* owned by the response now */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
    if (gzipped)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result lumen__http_scrape(lumen__http_scraper *sc, struct MHD_Connection *c)
{
    lumen__http_self *self = &sc->self;
    unsigned now = atomic_fetch_add_explicit(&sc->scrapes_now, 1, memory_order_relaxed);
    if (now >= sc->max_scrapes) {
        atomic_fetch_sub_explicit(&sc->scrapes_now, 1, memory_order_relaxed);
        count(self->code_503);
        count(self->err_overload);
        return lumen__http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "Limit of concurrent scrapes reached, try again later.\n", NULL);
    }
    if (self->in_flight)
        lumen_gauge_inc(self->in_flight);

    int64_t t0 = lumen_monotonic_ns();
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const char *content_type = NULL;
    lumen_format fmt = lumen_format_negotiate(&content_type, accept);
    if (content_type == NULL)
        content_type = lumen_format_content_type(fmt);
    bool gzip = sc->gzip && lumen__http_accepts_gzip(MHD_lookup_connection_value(
                                c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));

    render_sink s = {LUMEN__BUF_INIT, t0 + (int64_t)sc->scrape_timeout_ms * 1000000, 0, false};
    s.next_check = DEADLINE_EVERY;
    size_t hint = atomic_load_explicit(&sc->last_size, memory_order_relaxed);
    if (hint > 0)
        lumen__buf_reserve(&s.buf, hint + hint / 8);
    int rc = lumen_registries_render(sc->regs, sc->nregs, fmt, sink_write, &s);
    if (rc == LUMEN_ENOTSUP && fmt == LUMEN_FORMAT_PROTOBUF) {
        /* A pre-forked family's registry has no protobuf form (it fails
         * before writing anything): serve text, which every scraper that
         * asks for protobuf also accepts. */
        fmt = LUMEN_FORMAT_PROMETHEUS;
        content_type = lumen_format_content_type(fmt);
        rc = lumen_registries_render(sc->regs, sc->nregs, fmt, sink_write, &s);
    }
    if (rc == LUMEN_OK && s.buf.oom)
        rc = LUMEN_ENOMEM;
    if (rc == LUMEN_OK && lumen_monotonic_ns() > s.deadline)
        s.timed_out = true;

    enum MHD_Result ret;
    if (s.timed_out) {
        count(self->code_503);
        count(self->err_timeout);
        lumen__diag(LUMEN_DIAG_WARN, "http: /metrics render passed the %u ms scrape timeout",
                    sc->scrape_timeout_ms);
        ret = lumen__http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "The scrape timeout passed while rendering.\n", NULL);
    } else if (rc != LUMEN_OK) {
        count(self->code_500);
        count(self->err_render);
        lumen__diag(LUMEN_DIAG_ERROR, "http: /metrics render failed: %s", lumen_strerror(rc));
        ret = lumen__http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "Rendering the metrics failed.\n", NULL);
    } else {
        atomic_store_explicit(&sc->last_size, s.buf.len, memory_order_relaxed);
        if (gzip) {
            lumen__buf z = LUMEN__BUF_INIT;
            if (lumen__gzip(s.buf.p, s.buf.len, &z) == LUMEN_OK) {
                lumen__buf_free(&s.buf);
                s.buf = z;
            } else {
                lumen__buf_free(&z); /* serve it uncompressed */
                gzip = false;
            }
        }
        if (self->duration)
            lumen_histogram_observe(self->duration, (double)(lumen_monotonic_ns() - t0) / 1e9);
        count(self->code_200);
        ret = queue_body(c, &s.buf, content_type, gzip);
    }
    lumen__buf_free(&s.buf);
    if (self->in_flight)
        lumen_gauge_dec(self->in_flight);
    atomic_fetch_sub_explicit(&sc->scrapes_now, 1, memory_order_relaxed);
    return ret;
}
