/*
 * otlp/encode.c: the public encoder, lumen_otlp_encode_spans: checks its
 * arguments and hands the spans to the protobuf (proto.c) or JSON (json.c)
 * request writer.
 */
#include "core/alloc.h"
#include "core/buf.h"
#include "lumen/otlp.h"
#include "otlp/json.h"
#include "otlp/proto.h"
#include "trace/record.h"

int lumen_otlp_encode_spans(char **out, size_t *len, lumen_otlp_format fmt,
                            const lumen_span *const *spans, size_t n)
{
    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (out == NULL || len == NULL || (spans == NULL && n > 0) ||
        (fmt != LUMEN_OTLP_PROTOBUF && fmt != LUMEN_OTLP_JSON))
        return LUMEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (spans[i] == NULL || !spans[i]->recording)
            return LUMEN_EINVAL;
    lumen__buf b = LUMEN__BUF_INIT;
    if (!lumen__buf_reserve(&b, n * 256 + 256))
        return LUMEN_ENOMEM;
    if (fmt == LUMEN_OTLP_PROTOBUF)
        lumen__otlp_pb_request(&b, spans, n);
    else
        lumen__otlp_json_request(&b, spans, n);
    if (b.oom) {
        lumen__buf_free(&b);
        return LUMEN_ENOMEM;
    }
    *out = lumen__buf_steal(&b, len);
    return *out != NULL ? LUMEN_OK : LUMEN_ENOMEM;
}
