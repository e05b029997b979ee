/*
 * otlp/proto.h: OTLP protobuf for traces (proto.c).
 */
#ifndef LUMEN_OTLP_PROTO_H
#define LUMEN_OTLP_PROTO_H

#include "core/buf.h"
#include "lumen/trace.h"

/* Protobuf ExportTraceServiceRequest of spans[0..n) appended to b. */
void lumen__otlp_pb_request(lumen__buf *b, const lumen_span *const *spans, size_t n);

/* KeyValue messages of attributes a[0..n) as repeated field `field`. */
void lumen__otlp_pb_key_values(lumen__buf *b, unsigned field, const lumen_attr *a, size_t n);

#endif
