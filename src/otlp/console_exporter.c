/*
 * otlp/console_exporter.c: the console exporter, which writes each span as
 * one line of OTLP/JSON (json.h) to a file descriptor, whole lines in one
 * write where the pipe allows it. An exporter like any other
 * (lumen_span_exporter_new); the trace layer does not know it.
 */

#include "core/alloc.h"
#include "core/buf.h"
#include "core/sigpipe.h"
#include "core/versioned.h"
#include "otlp/json.h"

typedef struct con_exp {
    int fd;
    lumen__buf buf;
} con_exp;

static int con_export(void *ud, const lumen_span *const *spans, size_t n, int64_t dl)
{
    con_exp *c = ud;
    (void)dl;
    c->buf.len = 0;
    c->buf.oom = false;
    for (size_t i = 0; i < n; i++) {
        lumen__otlp_json_span_line(&c->buf, spans[i]);
        lumen__buf_putc(&c->buf, '\n');
    }
    if (c->buf.oom)
        return LUMEN_ENOMEM;
    /* Whole lines in one write where the pipe allows it. */
    struct iovec iov = {c->buf.p, c->buf.len};
    return lumen__write_guarded(c->fd, &iov, 1);
}

static void con_destroy(void *ud)
{
    con_exp *c = ud;
    lumen__buf_free(&c->buf);
    lumen__free(c, sizeof *c);
}

static const size_t console_sizes[] = {0, sizeof(lumen_console_exporter_options)};

int lumen_console_exporter_options_init(lumen_console_exporter_options *opts, unsigned int version)
{
    return lumen__versioned_init(opts, version, console_sizes, LUMEN__VERSIONS(console_sizes));
}

int lumen_console_exporter_new(lumen_span_exporter **out,
                               const lumen_console_exporter_options *opts)
{
    lumen_span_exporter_ops ops = LUMEN_SPAN_EXPORTER_OPS_INIT;
    ops.export_spans = con_export;
    ops.destroy = con_destroy;
    if (out == NULL)
        return LUMEN_EINVAL;
    *out = NULL;
    lumen_console_exporter_options o;
    int rc = lumen__versioned_in(&o, sizeof o, opts, console_sizes, LUMEN__VERSIONS(console_sizes));
    if (rc != LUMEN_OK)
        return rc;
    if (o.fd < 0)
        return LUMEN_EINVAL;
    con_exp *c = lumen__calloc(1, sizeof *c);
    if (c == NULL)
        return LUMEN_ENOMEM;
    c->fd = o.fd != 0 ? o.fd : 1; /* 0: standard output */
    c->buf = (lumen__buf)LUMEN__BUF_INIT;
    rc = lumen_span_exporter_new(out, &ops, c);
    if (rc != LUMEN_OK) {
        lumen__free(c, sizeof *c);
        return rc;
    }
    return LUMEN_OK;
}
