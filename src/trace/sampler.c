/*
 * trace/sampler.c: the built-in samplers and OTEL_TRACES_SAMPLER.
 *
 * traceidratio follows the OpenTelemetry Go SDK exactly, so that a lumen
 * service and a Go service given the same ratio keep the same traces: the
 * last 8 bytes of the trace id read big-endian, shifted right by one, are
 * compared with ratio * 2^63 (a ratio >= 1 samples everything, <= 0
 * nothing).
 */
#include <string.h>

#include "core/env.h"
#include "trace/sampler.h"
#include "trace/span_context.h"

bool lumen__ratio_sampled(double ratio, const uint8_t trace_id[16])
{
    if (ratio >= 1.0)
        return true;
    if (!(ratio > 0.0))
        return false;
    uint64_t bound = (uint64_t)(ratio * 9223372036854775808.0); /* 2^63 */
    uint64_t x = 0;
    for (int i = 8; i < 16; i++)
        x = (x << 8) | trace_id[i];
    return (x >> 1) < bound;
}

static lumen_sampling_decision yes(bool b)
{
    return b ? LUMEN_SAMPLING_RECORD_AND_SAMPLE : LUMEN_SAMPLING_DROP;
}

lumen_sampling_decision lumen__sample(const lumen_sampler *s, const lumen_span_context *parent,
                                      const uint8_t trace_id[16], const char *name,
                                      lumen_span_kind kind)
{
    switch (s->kind) {
    case LUMEN_SAMPLER_ALWAYS_ON:
        return LUMEN_SAMPLING_RECORD_AND_SAMPLE;
    case LUMEN_SAMPLER_ALWAYS_OFF:
        return LUMEN_SAMPLING_DROP;
    case LUMEN_SAMPLER_TRACEIDRATIO:
        return yes(lumen__ratio_sampled(s->ratio, trace_id));
    case LUMEN_SAMPLER_CUSTOM:
        return s->fn != NULL ? s->fn(parent, trace_id, name, kind, s->ud) : LUMEN_SAMPLING_DROP;
    case LUMEN_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return parent != NULL ? yes(parent->trace_flags & LUMEN_TRACE_FLAG_SAMPLED)
                              : LUMEN_SAMPLING_DROP;
    case LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return parent != NULL ? yes(parent->trace_flags & LUMEN_TRACE_FLAG_SAMPLED)
                              : yes(lumen__ratio_sampled(s->ratio, trace_id));
    case LUMEN_SAMPLER_DEFAULT:
    case LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON:
    default:
        return parent != NULL ? yes(parent->trace_flags & LUMEN_TRACE_FLAG_SAMPLED)
                              : LUMEN_SAMPLING_RECORD_AND_SAMPLE;
    }
}

int lumen__sampler_from_env(lumen_sampler *out)
{
    static const struct {
        const char *name;
        lumen_sampler_kind kind;
    } names[] = {
        {"always_on", LUMEN_SAMPLER_ALWAYS_ON},
        {"always_off", LUMEN_SAMPLER_ALWAYS_OFF},
        {"traceidratio", LUMEN_SAMPLER_TRACEIDRATIO},
        {"parentbased_always_on", LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON},
        {"parentbased_always_off", LUMEN_SAMPLER_PARENTBASED_ALWAYS_OFF},
        {"parentbased_traceidratio", LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO},
    };
    memset(out, 0, sizeof *out);
    out->kind = LUMEN_SAMPLER_PARENTBASED_ALWAYS_ON;
    out->ratio = 1.0;
    const char *raw = lumen__env("OTEL_TRACES_SAMPLER");
    if (raw == NULL)
        return LUMEN_OK;
    size_t n = strlen(raw);
    const char *v = lumen__trim(raw, &n);
    size_t i;
    for (i = 0; i < LUMEN_ARRAY_LEN(names); i++)
        if (lumen__strieq(v, n, names[i].name))
            break;
    if (i == LUMEN_ARRAY_LEN(names)) {
        lumen__env_invalid("OTEL_TRACES_SAMPLER", raw,
                           "expected always_on, always_off, traceidratio, parentbased_always_on, "
                           "parentbased_always_off or parentbased_traceidratio; using "
                           "parentbased_always_on");
        return LUMEN_ECONFIG;
    }
    out->kind = names[i].kind;
    if (out->kind == LUMEN_SAMPLER_TRACEIDRATIO ||
        out->kind == LUMEN_SAMPLER_PARENTBASED_TRACEIDRATIO) {
        double r = lumen__env_double("OTEL_TRACES_SAMPLER_ARG", 1.0);
        if (!(r >= 0.0 && r <= 1.0)) {
            lumen__env_invalid("OTEL_TRACES_SAMPLER_ARG", lumen__env("OTEL_TRACES_SAMPLER_ARG"),
                               "expected a ratio from 0 to 1; using 1.0");
            r = 1.0;
        }
        out->ratio = r;
    }
    return LUMEN_OK;
}
