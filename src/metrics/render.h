/*
 * metrics/render.h: the exposition writer of render.c, for the families
 * whose values render.c does not read itself: a pre-forked family's
 * shared families (metrics/prefork_render.c), rendered in name order
 * among the others with the same bytes a single process would write.
 * Every call appends to the exposition being rendered; errors stick.
 */
#ifndef LUMEN_METRICS_RENDER_H
#define LUMEN_METRICS_RENDER_H

#include "core/common.h"
#include "lumen/metrics.h"

typedef struct lumen__rctx lumen__rctx;

/* Is it OpenMetrics (else text 0.0.4)? */
bool lumen__rctx_om(const lumen__rctx *c);
/* HELP, TYPE (and UNIT in OpenMetrics) of a family. */
void lumen__rctx_header(lumen__rctx *c, lumen_metric_type t, const char *name, const char *help,
                        const char *unit);
/* The labels of the samples that follow, escaped. */
void lumen__rctx_labels(lumen__rctx *c, const lumen_label *l, size_t n);
/* A sample line: name and suffix, the current labels and one more pair
 * when xname is set, and the value. */
void lumen__rctx_sample(lumen__rctx *c, const char *name, const char *sfx, const char *xname,
                        const char *xval, double v);
void lumen__rctx_sample_u64(lumen__rctx *c, const char *name, const char *sfx, const char *xname,
                            const char *xval, uint64_t v);
/* A _created sample (OpenMetrics only). */
void lumen__rctx_created(lumen__rctx *c, const char *name, int64_t ns);
/* Hand what is buffered to the writer when enough is; the error so far. */
int lumen__rctx_next(lumen__rctx *c);
void lumen__rctx_fail(lumen__rctx *c, int err);

#endif
