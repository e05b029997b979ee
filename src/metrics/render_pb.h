/*
 * metrics/render_pb.h: the Prometheus protobuf exposition
 * (application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
 * encoding=delimited): each family one MetricFamily message, preceded by
 * its length as a varint. render.c decides the order and calls these for
 * LUMEN_FORMAT_PROTOBUF; they append to `out` (its oom flag reports a
 * failed allocation).
 */
#ifndef LUMEN_METRICS_RENDER_PB_H
#define LUMEN_METRICS_RENDER_PB_H

#include "core/buf.h"
#include "metrics/collect.h"
#include "metrics/internal.h"

/* A registered family, read as render.c reads it. */
void lumen__pb_family(lumen__buf *out, lumen__family *f);
/* A family a collector wrote into sink s. */
void lumen__pb_collected(lumen__buf *out, const lumen_collect_sink *s, const lumen__cfam *f);
/* A counter family of one sample per label pair (name, value): the
 * overflow family. */
void lumen__pb_counter_family(lumen__buf *out, const char *name, const char *help,
                              const char *label, const char *const *values, const double *v,
                              size_t n);

#endif
