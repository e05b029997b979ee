/*
 * trace/processor.c: the processor interface's public entry points
 * (stats, force flush, free), over the entries each kind of processor
 * fills in (processor.h: simple.c, batch.c).
 */
#include "core/clock.h"
#include "core/versioned.h"
#include "trace/processor.h"

static const size_t stats_sizes[] = {0, sizeof(lumen_span_processor_stats)};

int lumen_span_processor_stats_init(lumen_span_processor_stats *stats, unsigned int version)
{
    return lumen__versioned_init(stats, version, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

int lumen_span_processor_get_stats(lumen_span_processor_stats *out, lumen_span_processor *p)
{
    if (p == NULL || out == NULL)
        return LUMEN_EINVAL;
    int rc = lumen__versioned_check(out, stats_sizes, LUMEN__VERSIONS(stats_sizes));
    if (rc != LUMEN_OK)
        return rc;
    lumen_span_processor_stats full = LUMEN_SPAN_PROCESSOR_STATS_INIT;
    p->stats(p, &full);
    return lumen__versioned_out(out, &full, stats_sizes, LUMEN__VERSIONS(stats_sizes));
}

int lumen_span_processor_force_flush(lumen_span_processor *p, uint32_t timeout_ms)
{
    if (p == NULL)
        return LUMEN_EINVAL;
    return p->force_flush(p, lumen__deadline(timeout_ms, p->export_timeout_ms));
}

void lumen_span_processor_free(lumen_span_processor *p)
{
    if (p == NULL)
        return;
    p->shutdown(p, lumen__deadline(0, LUMEN_DEFAULT_SHUTDOWN_TIMEOUT_MS));
    p->destroy(p);
}
