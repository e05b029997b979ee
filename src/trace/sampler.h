/*
 * trace/sampler.h: the sampling decision (sampler.c).
 */
#ifndef LUMEN_TRACE_SAMPLER_H
#define LUMEN_TRACE_SAMPLER_H

#include "core/common.h"
#include "lumen/trace.h"

lumen_sampling_decision lumen__sample(const lumen_sampler *s, const lumen_span_context *parent,
                                      const uint8_t trace_id[16], const char *name,
                                      lumen_span_kind kind);
int lumen__sampler_from_env(lumen_sampler *out);
bool lumen__ratio_sampled(double ratio, const uint8_t trace_id[16]);

#endif
