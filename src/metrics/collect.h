/*
 * metrics/collect.h: the sink that custom collectors write into at scrape
 * time. What a collector writes is validated as it arrives and kept in a
 * compact form (strings in one arena) until the render lays it out in
 * either format. It calls nothing in the registry: the registered
 * families it must not repeat come from the render that runs it.
 */
#ifndef LUMEN_METRICS_COLLECT_H
#define LUMEN_METRICS_COLLECT_H

#include "metrics/internal.h"

enum { SFX_NONE, SFX_TOTAL, SFX_CREATED, SFX_BUCKET, SFX_SUM, SFX_COUNT, SFX_INFO };

typedef struct lumen__csample {
    uint8_t suffix;
    uint8_t nlabels;
    size_t labels; /* arena offset: name\0value\0 pairs */
    double value;
} lumen__csample;

typedef struct lumen__cfam {
    lumen_metric_type type;
    size_t name, help, unit; /* arena offsets; SIZE_MAX: none */
    size_t first, n;         /* samples */
} lumen__cfam;

struct lumen_collect_sink {
    lumen__family *const *regfams; /* the families the render lists, by name */
    size_t nregfams;
    lumen__buf arena;
    lumen__cfam *fams;
    size_t nfams, cap;
    lumen__csample *samples;
    size_t nsamples, scap;
    bool open; /* a family is begun and accepts samples */
    bool oom;
};

void lumen__sink_init(lumen_collect_sink *s);
void lumen__sink_free(lumen_collect_sink *s);
static inline const char *lumen__sink_str(const lumen_collect_sink *s, size_t off)
{
    return off == SIZE_MAX ? NULL : s->arena.p + off;
}
/* The suffix text for SFX_*. */
const char *lumen__sfx_text(int sfx);
/* Run the registry's collectors into the sink. `fams` (sorted by name) are
 * the registry's families the same render lists: a collected family that
 * clashes with one of them, or with one collected before it, is refused. */
void lumen__sink_collect(lumen_collect_sink *s, lumen__registry *r, lumen__family *const *fams,
                         size_t nfams);

#endif
