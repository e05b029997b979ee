/*
 * trace/error.c: lumen_span_record_error, an error recorded in the shape
 * of the OpenTelemetry semantic conventions (the `exception` event, the
 * `error.type` attribute, the ERROR status), on top of span.c's setters.
 */
#include "lumen/trace.h"

void lumen_span_record_error(lumen_span *s, const char *type, const char *message)
{
    if (s == NULL || !lumen_span_is_recording(s))
        return;
    bool has_type = type != NULL && type[0] != '\0';
    bool has_msg = message != NULL && message[0] != '\0';
    lumen_attr ev[2];
    size_t n = 0;
    if (has_type)
        ev[n++] = lumen_attr_str("exception.type", type);
    if (has_msg)
        ev[n++] = lumen_attr_str("exception.message", message);
    lumen_span_add_event(s, "exception", 0, ev, n);
    /* "_OTHER" is the conventions' value when no better one is known. */
    lumen_span_set_str(s, "error.type", has_type ? type : "_OTHER");
    lumen_span_set_status(s, LUMEN_SPAN_STATUS_ERROR, has_msg ? message : NULL);
}
